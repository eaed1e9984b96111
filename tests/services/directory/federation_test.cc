// The directory's merge and paging logic against in-process regions: real
// Registry objects (the same code a registry process runs) stand in for the
// regional services, so "what a region answers" is exact, and a region that
// is down is simply not asked or its answer dropped.

#include "services/directory/federation.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/common/reference/reference_data.h"
#include "services/registry/page_token.h"
#include "services/registry/registry.h"
#include "services/sampledata/sample_data.h"
#include "services/registry/sqlite_store.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::directory {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using registry::Registry;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 2, 10, 0, 0), absl::UTCTimeZone());

// Three neighbouring regions (the North West borders both others), each a
// real registry with generated data.
class FederationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    clock_ = new testing::FakeClock(kNow);
    regions_ = new std::vector<std::string>();
    registries_ = new std::vector<std::unique_ptr<Registry>>();
    int seed = 1;
    for (const char* id : {"north-east", "north-west", "yorkshire-and-the-humber"}) {
      const RegionInfo* region = ReferenceData::Get().FindRegion(id);
      auto store = registry::SqliteStore::Open(dir_->File(std::string(id) + ".db"));
      ASSERT_TRUE(store.ok()) << store.status();
      auto opened = Registry::Open({.region = id, .clock = clock_}, *std::move(store));
      ASSERT_TRUE(opened.ok()) << opened.status();
      sampledata::SampleOptions options;
      options.count = 400;
      options.seed = seed++;
      options.now = kNow;
      v1::BatchUpsertSpecialistsRequest batch;
      batch.set_parent(region->resource_name());
      int in_batch = 0;
      for (auto& s : sampledata::GenerateSpecialists(*region, options)) {
        *batch.add_specialists() = std::move(s);
        if (++in_batch == 200) {
          ASSERT_TRUE((*opened)->specialists().BatchUpsert(batch).ok());
          batch.clear_specialists();
          in_batch = 0;
        }
      }
      regions_->push_back(region->resource_name());
      registries_->push_back(*std::move(opened));
    }
  }
  static void TearDownTestSuite() {
    delete registries_;
    delete regions_;
    delete clock_;
    delete dir_;
  }

  // Walks every page of a national search. `down(page, region)` says which
  // regions do not answer on which page. Returns the results in page order.
  static std::vector<v1::SearchResult> WalkSearch(
      v1::SearchSpecialistsRequest request,
      const std::function<bool(int, size_t)>& down = [](int, size_t) { return false; },
      std::vector<v1::SearchSpecialistsResponse>* pages = nullptr) {
    std::vector<v1::SearchResult> out;
    request.set_parent("regions/-");
    for (int page = 0; page < 10000; ++page) {
      absl::StatusOr<FederatedSearch> search = FederatedSearch::Begin(request, *regions_, clock_->Now());
      EXPECT_TRUE(search.ok()) << search.status();
      if (!search.ok()) break;
      std::vector<v1::SearchSpecialistsResponse> answers(regions_->size());
      std::vector<const v1::SearchSpecialistsResponse*> pointers(regions_->size(), nullptr);
      for (size_t r = 0; r < regions_->size(); ++r) {
        if (!search->request(r).has_value() || down(page, r)) continue;
        auto answer = (*registries_)[r]->queries().Search(*search->request(r));
        EXPECT_TRUE(answer.ok()) << answer.status();
        answers[r] = *answer;
        pointers[r] = &answers[r];
      }
      v1::SearchSpecialistsResponse merged = search->Merge(pointers);
      EXPECT_LE(merged.results_size(), request.page_size() == 0 ? kDefaultPageSize : request.page_size());
      for (const auto& result : merged.results()) out.push_back(result);
      if (pages) pages->push_back(merged);
      if (merged.next_page_token().empty()) return out;
      request.set_page_token(merged.next_page_token());
    }
    ADD_FAILURE() << "the walk did not end";
    return out;
  }

  // Every match of every region (each region asked directly, all pages),
  // sorted as the directory must return them.
  static std::vector<v1::SearchResult> BruteForce(const v1::SearchSpecialistsRequest& request,
                                                  const std::set<size_t>& skip = {}) {
    std::vector<v1::SearchResult> all;
    for (size_t r = 0; r < registries_->size(); ++r) {
      if (skip.count(r)) continue;
      v1::SearchSpecialistsRequest one = request;
      one.set_parent("regions/-");
      one.set_page_size(1000);
      one.clear_page_token();
      *one.mutable_available_on() = Today();
      while (true) {
        auto page = (*registries_)[r]->queries().Search(one);
        EXPECT_TRUE(page.ok()) << page.status();
        for (const auto& result : page->results()) all.push_back(result);
        if (page->next_page_token().empty()) break;
        one.set_page_token(page->next_page_token());
      }
    }
    const MergeOrder order = EffectiveOrder(request);
    std::sort(all.begin(), all.end(), [order](const v1::SearchResult& a, const v1::SearchResult& b) {
      return std::make_tuple(SortKey(order, a), a.specialist().name()) <
             std::make_tuple(SortKey(order, b), b.specialist().name());
    });
    return all;
  }

  static google::type::Date Today() {
    google::type::Date date;
    date.set_year(2026);
    date.set_month(11);
    date.set_day(2);
    return date;
  }

  static std::vector<std::string> Names(const std::vector<v1::SearchResult>& results) {
    std::vector<std::string> names;
    for (const auto& r : results) names.push_back(r.specialist().name());
    return names;
  }

  static testing::TempDir* dir_;
  static testing::FakeClock* clock_;
  static std::vector<std::string>* regions_;
  static std::vector<std::unique_ptr<Registry>>* registries_;
};

testing::TempDir* FederationTest::dir_ = nullptr;
testing::FakeClock* FederationTest::clock_ = nullptr;
std::vector<std::string>* FederationTest::regions_ = nullptr;
std::vector<std::unique_ptr<Registry>>* FederationTest::registries_ = nullptr;

struct WalkCase {
  std::string name;
  std::function<void(v1::SearchSpecialistsRequest*)> build;
  int page_size;
};

class FederatedWalkTest : public FederationTest, public ::testing::WithParamInterface<WalkCase> {};

// The merged walk equals a brute-force search over the union, in order,
// each match exactly once, whatever the page size.
TEST_P(FederatedWalkTest, WalkingAllPagesEqualsBruteForceOverTheUnion) {
  v1::SearchSpecialistsRequest request;
  GetParam().build(&request);
  request.set_page_size(GetParam().page_size);
  const std::vector<v1::SearchResult> expected = BruteForce(request);
  ASSERT_FALSE(expected.empty());
  const std::vector<v1::SearchResult> walked = WalkSearch(request);
  EXPECT_THAT(Names(walked), ElementsAreArray(Names(expected)));
  for (size_t i = 0; i < std::min(walked.size(), expected.size()); ++i) {
    EXPECT_DOUBLE_EQ(walked[i].distance_km(), expected[i].distance_km());
    EXPECT_DOUBLE_EQ(walked[i].available_hours_per_week(), expected[i].available_hours_per_week());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FederatedWalkTest,
    ::testing::Values(
        // Cumberland borders the North East: distance decides, not region.
        WalkCase{"NearBorderByDistance",
                 [](v1::SearchSpecialistsRequest* r) {
                   r->set_near_authority("E06000063");
                   r->set_within_km(120);
                 },
                 7},
        WalkCase{"AllByAvailableHours",
                 [](v1::SearchSpecialistsRequest* r) { r->set_order_by(v1::SEARCH_ORDER_AVAILABLE_HOURS); }, 50},
        WalkCase{"AllByName", [](v1::SearchSpecialistsRequest* r) { r->set_order_by(v1::SEARCH_ORDER_NAME); },
                 333},
        WalkCase{"RoleWithHoursOnePerPage",
                 [](v1::SearchSpecialistsRequest* r) {
                   r->add_roles("educational-psychologist");
                   r->set_min_available_hours(2);
                   r->set_near_authority("E08000035");  // Leeds
                 },
                 1},
        WalkCase{"DefaultPageSize",
                 [](v1::SearchSpecialistsRequest* r) {
                   r->set_near_authority("E06000047");  // County Durham
                   r->set_order_by(v1::SEARCH_ORDER_DISTANCE);
                 },
                 0}),
    [](const auto& test_info) { return test_info.param.name; });

TEST_F(FederationTest, TheRegionsAnsweringOnAPageAreCountedInTotalSize) {
  v1::SearchSpecialistsRequest request;
  request.set_near_authority("E06000063");
  request.set_page_size(5);
  std::vector<v1::SearchSpecialistsResponse> pages;
  WalkSearch(request, [](int, size_t) { return false; }, &pages);
  ASSERT_FALSE(pages.empty());
  EXPECT_EQ(pages[0].total_size(), static_cast<int>(BruteForce(request).size()));
  EXPECT_THAT(pages[0].unreachable(), ::testing::IsEmpty());
}

// A region that is down on one page is named in `unreachable` and asked
// again on the next: nothing is lost or repeated, only late.
TEST_F(FederationTest, ARegionDownForOnePageIsListedAndItsResultsComeLater) {
  v1::SearchSpecialistsRequest request;
  request.set_order_by(v1::SEARCH_ORDER_NAME);
  request.set_page_size(100);
  std::vector<v1::SearchSpecialistsResponse> pages;
  const auto walked = WalkSearch(request, [](int page, size_t region) { return page == 0 && region == 1; }, &pages);
  ASSERT_GE(pages.size(), 2u);
  EXPECT_THAT(pages[0].unreachable(), ElementsAreArray({"regions/north-west"}));
  EXPECT_THAT(pages[1].unreachable(), ::testing::IsEmpty());
  std::vector<std::string> got = Names(walked), want = Names(BruteForce(request));
  std::sort(got.begin(), got.end());
  EXPECT_THAT(got, ElementsAreArray(want));  // BruteForce is name-ordered here
}

// A region down for the whole walk: the others' results, each once, and the
// walk still ends.
TEST_F(FederationTest, ARegionDownThroughoutGivesTheOthersAndTheWalkEnds) {
  v1::SearchSpecialistsRequest request;
  request.set_near_authority("E06000063");
  request.set_page_size(40);
  std::vector<v1::SearchSpecialistsResponse> pages;
  const auto walked = WalkSearch(request, [](int, size_t region) { return region == 2; }, &pages);
  EXPECT_THAT(Names(walked), ElementsAreArray(Names(BruteForce(request, {2}))));
  for (const auto& page : pages) {
    EXPECT_THAT(page.unreachable(), ElementsAreArray({"regions/yorkshire-and-the-humber"}));
  }
}

TEST_F(FederationTest, PagesKeepTheFirstPagesCapacityDay) {
  v1::SearchSpecialistsRequest request;
  request.set_order_by(v1::SEARCH_ORDER_AVAILABLE_HOURS);
  request.set_page_size(10);
  auto first = FederatedSearch::Begin(request, *regions_, kNow);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->request(0)->available_on().day(), 2);
  std::vector<v1::SearchSpecialistsResponse> answers(regions_->size());
  std::vector<const v1::SearchSpecialistsResponse*> pointers;
  for (size_t r = 0; r < regions_->size(); ++r) {
    answers[r] = *(*registries_)[r]->queries().Search(*first->request(r));
    pointers.push_back(&answers[r]);
  }
  request.set_page_token(first->Merge(pointers).next_page_token());
  // The next page is asked for two days later: it still counts 2 November.
  auto second = FederatedSearch::Begin(request, *regions_, kNow + absl::Hours(48));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->request(0)->available_on().day(), 2);
}

struct BadTokenCase {
  std::string name;
  std::function<void(v1::SearchSpecialistsRequest*)> change;
  std::string message;
};

class FederatedBadRequestTest : public FederationTest, public ::testing::WithParamInterface<BadTokenCase> {};

TEST_P(FederatedBadRequestTest, IsRefusedNamingTheField) {
  v1::SearchSpecialistsRequest request;
  request.set_near_authority("E06000063");
  request.set_page_size(5);
  std::vector<v1::SearchSpecialistsResponse> pages;
  auto first = FederatedSearch::Begin(request, *regions_, kNow);
  ASSERT_TRUE(first.ok());
  std::vector<v1::SearchSpecialistsResponse> answers(regions_->size());
  std::vector<const v1::SearchSpecialistsResponse*> pointers;
  for (size_t r = 0; r < regions_->size(); ++r) {
    answers[r] = *(*registries_)[r]->queries().Search(*first->request(r));
    pointers.push_back(&answers[r]);
  }
  request.set_page_token(first->Merge(pointers).next_page_token());
  GetParam().change(&request);
  std::vector<std::string> regions = *regions_;
  if (GetParam().name == "RegionsChanged") regions.pop_back();
  auto next = FederatedSearch::Begin(request, regions, kNow);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(next.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FederatedBadRequestTest,
    ::testing::Values(
        BadTokenCase{"OtherFilters", [](v1::SearchSpecialistsRequest* r) { r->set_within_km(10); },
                     "other parameters"},
        BadTokenCase{"Garbage", [](v1::SearchSpecialistsRequest* r) { r->set_page_token("not-a-token"); },
                     "not a page token"},
        BadTokenCase{"Tampered",
                     [](v1::SearchSpecialistsRequest* r) {
                       std::string token = r->page_token();
                       token[token.size() / 2] = token[token.size() / 2] == 'A' ? 'B' : 'A';
                       r->set_page_token(token);
                     },
                     "not a page token"},
        BadTokenCase{"RegistryToken",
                     [](v1::SearchSpecialistsRequest* r) {
                       // A token a registry made is never a directory's, whatever it holds.
                       registry::PageCursor cursor;
                       cursor.fingerprint = registry::RequestFingerprint(*r);
                       cursor.last_name = "regions/north-east/specialists/x";
                       r->set_page_token(registry::EncodePageToken(cursor));
                     },
                     "not a page token"},
        BadTokenCase{"Truncated",
                     [](v1::SearchSpecialistsRequest* r) {
                       r->set_page_token(r->page_token().substr(0, r->page_token().size() - 3));
                     },
                     "not a page token"},
        BadTokenCase{"RegionsChanged", [](v1::SearchSpecialistsRequest*) {}, "regions changed"},
        BadTokenCase{"NegativePageSize", [](v1::SearchSpecialistsRequest* r) { r->set_page_size(-1); },
                     "page_size"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST_F(FederationTest, AnImpossibleDateIsRefusedNotNormalised) {
  v1::SearchSpecialistsRequest request;
  request.mutable_available_on()->set_year(2026);
  request.mutable_available_on()->set_month(2);
  request.mutable_available_on()->set_day(31);
  auto search = FederatedSearch::Begin(request, *regions_, kNow);
  ASSERT_FALSE(search.ok());
  EXPECT_THAT(std::string(search.status().message()), HasSubstr("available_on"));
}

TEST_F(FederationTest, NationalListWalksEveryRecordOnceInNameOrder) {
  std::vector<std::string> expected;
  for (const auto& registry : *registries_) {
    v1::ListSpecialistsRequest one;
    one.set_parent("regions/-");
    one.set_page_size(1000);
    auto page = registry->specialists().List(one);
    ASSERT_TRUE(page.ok());
    ASSERT_TRUE(page->next_page_token().empty());
    for (const auto& s : page->specialists()) expected.push_back(s.name());
  }
  std::sort(expected.begin(), expected.end());

  v1::ListSpecialistsRequest request;
  request.set_parent("regions/-");
  request.set_page_size(77);
  std::vector<std::string> walked;
  for (int page = 0; page < 1000; ++page) {
    auto list = FederatedList::Begin(request, *regions_);
    ASSERT_TRUE(list.ok()) << list.status();
    std::vector<v1::ListSpecialistsResponse> answers(regions_->size());
    std::vector<const v1::ListSpecialistsResponse*> pointers(regions_->size(), nullptr);
    for (size_t r = 0; r < regions_->size(); ++r) {
      if (!list->request(r)) continue;
      auto answer = (*registries_)[r]->specialists().List(*list->request(r));
      ASSERT_TRUE(answer.ok()) << answer.status();
      answers[r] = *answer;
      pointers[r] = &answers[r];
    }
    auto merged = list->Merge(pointers);
    EXPECT_EQ(merged.total_size() > 0, true);
    for (const auto& s : merged.specialists()) walked.push_back(s.name());
    if (merged.next_page_token().empty()) break;
    request.set_page_token(merged.next_page_token());
  }
  EXPECT_THAT(walked, ElementsAreArray(expected));
}

v1::CapacitySummaryRow Row(const std::string& authority, const std::string& role, int headcount,
                           double contracted, double committed) {
  v1::CapacitySummaryRow row;
  row.set_authority(authority);
  row.set_role(role);
  row.set_headcount(headcount);
  row.set_contracted_hours_per_week(contracted);
  row.set_committed_hours_per_week(committed);
  row.set_available_hours_per_week(contracted - committed);
  row.set_accepting_external_count(headcount / 2);
  return row;
}

// Hand-computed: two regions answer, one does not.
TEST(MergeCapacityTest, SumsByRegionAndRoleAndNamesTheRegionThatDidNotAnswer) {
  v1::CapacitySummary north_east;
  *north_east.add_rows() = Row("E06000047", "audiologist", 2, 60, 50);
  *north_east.add_rows() = Row("E06000047", "educational-psychologist", 3, 90, 80);
  *north_east.add_rows() = Row("E08000021", "audiologist", 1, 30, 10);
  *north_east.add_authority_totals() = Row("E06000047", "", 5, 150, 130);
  *north_east.add_authority_totals() = Row("E08000021", "", 1, 30, 10);
  *north_east.mutable_total() = Row("", "", 6, 180, 140);
  v1::CapacitySummary london;
  *london.add_rows() = Row("E09000001", "audiologist", 4, 100, 40);
  *london.add_authority_totals() = Row("E09000001", "", 4, 100, 40);
  *london.mutable_total() = Row("", "", 4, 100, 40);

  v1::GetCapacitySummaryRequest request;
  request.add_roles("audiologist");
  const v1::GetCapacitySummaryRequest region_request = RegionCapacityRequest(request, kNow);
  EXPECT_EQ(region_request.parent(), "regions/-");
  EXPECT_EQ(region_request.as_of().day(), 2);

  const std::vector<std::string> regions = {"regions/north-east", "regions/north-west", "regions/london"};
  v1::CapacitySummary merged = MergeCapacity(region_request, regions, {&north_east, nullptr, &london});
  EXPECT_THAT(merged.unreachable(), ElementsAreArray({"regions/north-west"}));
  EXPECT_EQ(merged.total().headcount(), 10);
  EXPECT_DOUBLE_EQ(merged.total().contracted_hours_per_week(), 280);
  EXPECT_DOUBLE_EQ(merged.total().available_hours_per_week(), 100);
  ASSERT_EQ(merged.rows_size(), 4);
  EXPECT_EQ(merged.rows(3).authority(), "E09000001");
  EXPECT_EQ(merged.rows(3).region(), "regions/london");
  // london: audiologist, total; north-east: audiologist, educational-psychologist, total.
  std::vector<std::tuple<std::string, std::string, int, double>> region_totals;
  for (const auto& row : merged.region_totals()) {
    region_totals.emplace_back(row.region(), row.role(), row.headcount(), row.available_hours_per_week());
  }
  EXPECT_THAT(region_totals,
              ElementsAreArray(std::vector<std::tuple<std::string, std::string, int, double>>{
                  {"regions/london", "audiologist", 4, 60},
                  {"regions/london", "", 4, 60},
                  {"regions/north-east", "audiologist", 3, 30},
                  {"regions/north-east", "educational-psychologist", 3, 10},
                  {"regions/north-east", "", 6, 40}}));
}

TEST(CallerErrorTest, OnlyTheCallersOwnMistakesFailTheWholeCall) {
  for (int code : {3, 7, 9, 11, 16}) EXPECT_TRUE(IsCallerError(code)) << code;
  for (int code : {1, 2, 4, 5, 8, 10, 12, 13, 14, 15}) EXPECT_FALSE(IsCallerError(code)) << code;
}

}  // namespace
}  // namespace expertise::directory
