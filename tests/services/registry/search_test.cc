// Search results checked against a brute-force reference over generated data:
// filters, ordering, distances and pagination walks.

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/sampledata/sample_data.h"
#include "tests/services/registry/registry_fixture.h"
#include "tests/testutil/reference_search.h"

namespace expertise::registry {
namespace {

using ::expertise::testing::BadFields;
using ::expertise::testing::BruteForceSearch;
using ::expertise::testing::ExpectedHit;
using ::testing::ElementsAre;

class SearchTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    const RegionInfo& region = *ReferenceData::Get().FindRegion("north-east");
    auto generated = sampledata::GenerateSpecialists(region, {.count = 3000, .seed = 11, .now = clock_.Now()});
    for (size_t start = 0; start < generated.size(); start += 1000) {
      v1::BatchUpsertSpecialistsRequest batch;
      batch.set_parent("regions/north-east");
      for (size_t i = start; i < start + 1000 && i < generated.size(); ++i) {
        *batch.add_specialists() = generated[i];
      }
      auto response = registry_->specialists().BatchUpsert(batch);
      ASSERT_TRUE(response.ok()) << response.status();
      for (const auto& s : response->specialists()) stored_.push_back(s);
    }
  }

  // Walks every page of `request` and returns all results.
  std::vector<v1::SearchResult> WalkAll(v1::SearchSpecialistsRequest request, int page_size) {
    request.set_page_size(page_size);
    std::vector<v1::SearchResult> all;
    for (int guard = 0; guard < 10000; ++guard) {
      auto page = registry_->queries().Search(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      EXPECT_LE(page->results_size(), page_size);
      for (const auto& r : page->results()) all.push_back(r);
      if (page->next_page_token().empty()) break;
      request.set_page_token(page->next_page_token());
    }
    return all;
  }

  std::vector<v1::Specialist> stored_;
};

void ExpectSame(const std::vector<v1::SearchResult>& got, const std::vector<ExpectedHit>& want,
                const std::string& context) {
  ASSERT_EQ(got.size(), want.size()) << context;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].specialist().name(), want[i].name) << context << " at " << i;
    EXPECT_NEAR(got[i].distance_km(), want[i].distance_km, 1e-6) << context;
    EXPECT_DOUBLE_EQ(got[i].available_hours_per_week(), want[i].available_hours) << context;
  }
}

TEST_F(SearchTest, MatchesBruteForceForManyQueriesAndPageSizes) {
  const auto requests = testing::RandomSearchRequests("north-east", 150, 99);
  int nonempty = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto want = BruteForceSearch(stored_, requests[i], 2026, 11, 2);
    if (!want.empty()) ++nonempty;
    const int page_size = 1 + static_cast<int>(i % 4) * 17;  // 1, 18, 35, 52
    ExpectSame(WalkAll(requests[i], page_size), want, requests[i].ShortDebugString());
  }
  EXPECT_GT(nonempty, 75);  // the queries exercise real matches, not just empty sets
}

TEST_F(SearchTest, TypicalNearSearchReturnsDistancesInOrder) {
  v1::SearchSpecialistsRequest req;
  req.set_parent("regions/north-east");
  req.add_roles("speech-language-therapist");
  req.set_near_authority("E06000047");  // County Durham
  req.set_within_km(25);
  req.set_min_available_hours(2);
  auto all = WalkAll(req, 50);
  ASSERT_FALSE(all.empty());
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_LE(all[i - 1].distance_km(), all[i].distance_km());
  }
  for (const auto& r : all) {
    EXPECT_LE(r.distance_km(), 25);
    EXPECT_GE(r.available_hours_per_week(), 2);
    EXPECT_EQ(r.specialist().role(), "speech-language-therapist");
  }
}

TEST_F(SearchTest, PaginationIsStableAcrossConcurrentUnrelatedWrites) {
  v1::SearchSpecialistsRequest req;
  req.set_parent("regions/north-east");
  req.set_order_by(v1::SEARCH_ORDER_AVAILABLE_HOURS);
  req.set_page_size(100);
  std::set<std::string> seen;
  size_t total = 0;
  for (int page_number = 0;; ++page_number) {
    auto page = registry_->queries().Search(req);
    ASSERT_TRUE(page.ok());
    total = page->total_size();
    for (const auto& r : page->results()) EXPECT_TRUE(seen.insert(r.specialist().name()).second);
    if (page->next_page_token().empty()) break;
    req.set_page_token(page->next_page_token());
    if (page_number == 3) {  // a write lands between pages
      v1::CreateSpecialistRequest create;
      create.set_parent("regions/north-east");
      *create.mutable_specialist() = stored_[0];
      create.mutable_specialist()->set_external_id("late-arrival");
      ASSERT_TRUE(registry_->specialists().Create(create).ok());
    }
  }
  EXPECT_GE(seen.size(), 3000u);
  EXPECT_LE(seen.size(), total);
}

TEST_F(SearchTest, RejectsBadFiltersWithEveryField) {
  v1::SearchSpecialistsRequest req;
  req.set_parent("regions/north-east");
  req.add_roles("wizard");
  req.add_settings("school");
  req.set_age(30);
  req.add_languages("English");
  req.set_within_km(10);  // without a point
  req.set_min_available_hours(-1);
  req.set_order_by(v1::SEARCH_ORDER_DISTANCE);
  req.set_page_size(-5);
  auto result = registry_->queries().Search(req);
  EXPECT_THAT(BadFields(result.status()),
              ::testing::UnorderedElementsAre("roles[0]", "settings[0]", "age", "languages[0]",
                                              "within_km", "min_available_hours", "order_by",
                                              "page_size"));
}

TEST_F(SearchTest, OversizedFilterListsAreRefused) {
  v1::SearchSpecialistsRequest req;
  req.set_parent("regions/north-east");
  for (int i = 0; i < 201; ++i) req.add_authorities("E06000001");
  EXPECT_THAT(BadFields(registry_->queries().Search(req).status()), ElementsAre("authorities"));
}

TEST_F(SearchTest, TokenFromAnotherQueryIsRefused) {
  v1::SearchSpecialistsRequest req;
  req.set_parent("regions/north-east");
  req.set_page_size(5);
  auto page = registry_->queries().Search(req);
  ASSERT_TRUE(page.ok());
  req.set_page_token(page->next_page_token());
  req.add_roles("physiotherapist");
  EXPECT_THAT(BadFields(registry_->queries().Search(req).status()), ElementsAre("page_token"));
}

TEST_F(SearchTest, UnusedLanguageMatchesNothing) {
  v1::SearchSpecialistsRequest req;
  req.set_parent("regions/north-east");
  req.add_languages("xh");
  auto page = registry_->queries().Search(req);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_size(), 0);
}

}  // namespace
}  // namespace expertise::registry
