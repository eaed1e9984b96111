#include "services/registry/registry.h"

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/services/registry/registry_fixture.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/status_matchers.h"

namespace expertise::registry {
namespace {

using ::expertise::testing::BadFields;
using ::expertise::testing::IsOk;
using ::expertise::testing::StatusIs;
using ::expertise::testing::ValidSpecialist;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

v1::CreateSpecialistRequest CreateRequest(const v1::Specialist& s, const std::string& id = "") {
  v1::CreateSpecialistRequest req;
  req.set_parent("regions/north-east");
  *req.mutable_specialist() = s;
  req.set_specialist_id(id);
  return req;
}

TEST_F(RegistryTest, CreateFillsOutputOnlyFields) {
  ASSERT_OK_AND_ASSIGN(v1::Specialist s, registry_->specialists().Create(CreateRequest(ValidSpecialist())));
  EXPECT_EQ(s.name(), "regions/north-east/specialists/s-0001");
  EXPECT_FALSE(s.etag().empty());
  EXPECT_EQ(s.create_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_EQ(s.update_time().seconds(), s.create_time().seconds());
  EXPECT_DOUBLE_EQ(s.capacity().available_hours_per_week(), 7.5);
  EXPECT_EQ(s.location_source(), v1::LOCATION_SOURCE_EXPLICIT);
  ASSERT_OK_AND_ASSIGN(v1::Specialist got, registry_->specialists().Get([&] {
    v1::GetSpecialistRequest r;
    r.set_name(s.name());
    return r;
  }()));
  EXPECT_EQ(got.DebugString(), s.DebugString());
}

TEST_F(RegistryTest, CreateIgnoresClientOutputOnlyFields) {
  v1::Specialist in = ValidSpecialist();
  in.set_name("regions/north-east/specialists/forged");
  in.set_etag("forged");
  in.mutable_capacity()->set_available_hours_per_week(99);
  ASSERT_OK_AND_ASSIGN(v1::Specialist s, registry_->specialists().Create(CreateRequest(in)));
  EXPECT_EQ(s.name(), "regions/north-east/specialists/s-0001");
  EXPECT_NE(s.etag(), "forged");
  EXPECT_DOUBLE_EQ(s.capacity().available_hours_per_week(), 7.5);
}

TEST_F(RegistryTest, MissingLocationUsesTheAuthorityCentre) {
  v1::Specialist in = ValidSpecialist();
  in.clear_base_location();
  ASSERT_OK_AND_ASSIGN(v1::Specialist s, registry_->specialists().Create(CreateRequest(in)));
  EXPECT_EQ(s.location_source(), v1::LOCATION_SOURCE_AUTHORITY_CENTRE);
  const AuthorityInfo* hartlepool = ReferenceData::Get().FindAuthority("E06000001");
  EXPECT_DOUBLE_EQ(s.base_location().latitude(), hartlepool->latitude);
}

TEST_F(RegistryTest, AvailableHoursAreNeverNegative) {
  v1::Specialist in = ValidSpecialist();
  in.mutable_capacity()->set_committed_hours_per_week(35);
  ASSERT_OK_AND_ASSIGN(v1::Specialist s, registry_->specialists().Create(CreateRequest(in)));
  EXPECT_DOUBLE_EQ(s.capacity().available_hours_per_week(), 0);
}

TEST_F(RegistryTest, CreateRejectsDuplicates) {
  ASSERT_THAT(registry_->specialists().Create(CreateRequest(ValidSpecialist("a"), "chosen-id")), IsOk());
  EXPECT_THAT(registry_->specialists().Create(CreateRequest(ValidSpecialist("b"), "chosen-id")),
              StatusIs(absl::StatusCode::kAlreadyExists));
  auto same_key = registry_->specialists().Create(CreateRequest(ValidSpecialist("a")));
  EXPECT_THAT(same_key, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(ErrorReason(same_key.status()), "DUPLICATE_SOURCE_RECORD");
  EXPECT_EQ(registry_->size(), 1u);
}

TEST_F(RegistryTest, CreateRejectsBadInputWithEveryField) {
  v1::Specialist in = ValidSpecialist();
  in.set_role("wizard");
  in.mutable_age_range()->set_max_age(30);
  auto req = CreateRequest(in, "X");
  req.set_parent("regions/north-east");
  auto result = registry_->specialists().Create(req);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BadFields(result.status()),
              UnorderedElementsAre("specialist_id", "specialist.role", "specialist.age_range.max_age"));
  EXPECT_EQ(registry_->size(), 0u);
}

TEST_F(RegistryTest, WrongOrMalformedParentAndNames) {
  auto req = CreateRequest(ValidSpecialist());
  req.set_parent("regions/london");
  EXPECT_THAT(registry_->specialists().Create(req), StatusIs(absl::StatusCode::kNotFound));
  req.set_parent("nonsense");
  EXPECT_THAT(registry_->specialists().Create(req), StatusIs(absl::StatusCode::kInvalidArgument));
  v1::GetSpecialistRequest get;
  get.set_name("regions/north-east/oops/s-1");
  EXPECT_THAT(registry_->specialists().Get(get), StatusIs(absl::StatusCode::kInvalidArgument));
  get.set_name("regions/london/specialists/s-0001");
  EXPECT_THAT(registry_->specialists().Get(get), StatusIs(absl::StatusCode::kNotFound));
  get.set_name("regions/north-east/specialists/s-9999");
  EXPECT_THAT(registry_->specialists().Get(get), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RegistryTest, WildcardRegionReachesThisRegistry) {
  ASSERT_OK_AND_ASSIGN(v1::Specialist s, registry_->specialists().Create(CreateRequest(ValidSpecialist())));
  v1::GetSpecialistRequest get;
  get.set_name("regions/-/specialists/s-0001");
  ASSERT_OK_AND_ASSIGN(v1::Specialist got, registry_->specialists().Get(get));
  EXPECT_EQ(got.name(), s.name());
}

class UpdateTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    auto created = registry_->specialists().Create(CreateRequest(ValidSpecialist()));
    ASSERT_TRUE(created.ok());
    original_ = *created;
    clock_.Advance(absl::Minutes(5));
  }
  v1::Specialist original_;
};

TEST_F(UpdateTest, MaskChangesOnlyNamedFields) {
  v1::UpdateSpecialistRequest req;
  req.mutable_specialist()->set_name(original_.name());
  req.mutable_specialist()->set_display_name("Renamed");
  req.mutable_specialist()->set_role("wizard");  // not in the mask: ignored
  req.mutable_update_mask()->add_paths("display_name");
  ASSERT_OK_AND_ASSIGN(v1::Specialist s, registry_->specialists().Update(req));
  EXPECT_EQ(s.display_name(), "Renamed");
  EXPECT_EQ(s.role(), original_.role());
  EXPECT_NE(s.etag(), original_.etag());
  EXPECT_EQ(s.create_time().seconds(), original_.create_time().seconds());
  EXPECT_GT(s.update_time().seconds(), original_.update_time().seconds());
  EXPECT_EQ(s.capacity().update_time().seconds(), original_.capacity().update_time().seconds());
}

TEST_F(UpdateTest, NestedCapacityPathAndRepeatedReplacement) {
  v1::UpdateSpecialistRequest req;
  req.mutable_specialist()->set_name(original_.name());
  req.mutable_specialist()->mutable_capacity()->set_committed_hours_per_week(30);
  req.mutable_specialist()->add_settings("secondary");
  req.mutable_update_mask()->add_paths("capacity.committed_hours_per_week");
  req.mutable_update_mask()->add_paths("settings");
  ASSERT_OK_AND_ASSIGN(v1::Specialist s, registry_->specialists().Update(req));
  EXPECT_DOUBLE_EQ(s.capacity().committed_hours_per_week(), 30);
  EXPECT_DOUBLE_EQ(s.capacity().contracted_hours_per_week(), 30);
  EXPECT_DOUBLE_EQ(s.capacity().available_hours_per_week(), 0);
  EXPECT_THAT(s.settings(), ElementsAre("secondary"));
  EXPECT_EQ(s.capacity().update_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
}

TEST_F(UpdateTest, EmptyMaskMeansPopulatedFields) {
  v1::UpdateSpecialistRequest req;
  req.mutable_specialist()->set_name(original_.name());
  req.mutable_specialist()->set_travel_radius_km(75);
  ASSERT_OK_AND_ASSIGN(v1::Specialist s, registry_->specialists().Update(req));
  EXPECT_DOUBLE_EQ(s.travel_radius_km(), 75);
  EXPECT_EQ(s.display_name(), original_.display_name());
}

TEST_F(UpdateTest, StaleEtagIsRefusedAndChangesNothing) {
  v1::UpdateSpecialistRequest first;
  first.mutable_specialist()->set_name(original_.name());
  first.mutable_specialist()->set_etag(original_.etag());
  first.mutable_specialist()->set_display_name("First");
  first.mutable_update_mask()->add_paths("display_name");
  ASSERT_THAT(registry_->specialists().Update(first), IsOk());
  v1::UpdateSpecialistRequest second = first;  // same, now stale, etag
  second.mutable_specialist()->set_display_name("Second");
  auto result = registry_->specialists().Update(second);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ErrorReason(result.status()), "ETAG_MISMATCH");
  v1::GetSpecialistRequest get;
  get.set_name(original_.name());
  EXPECT_EQ(registry_->specialists().Get(get)->display_name(), "First");
}

TEST_F(UpdateTest, RefusesImmutableAndUnknownFields) {
  v1::UpdateSpecialistRequest req;
  req.mutable_specialist()->set_name(original_.name());
  req.mutable_specialist()->set_owning_authority("E06000002");
  req.mutable_update_mask()->add_paths("owning_authority");
  EXPECT_THAT(registry_->specialists().Update(req), StatusIs(absl::StatusCode::kInvalidArgument));
  req.mutable_update_mask()->set_paths(0, "no_such_field");
  auto result = registry_->specialists().Update(req);
  EXPECT_THAT(BadFields(result.status()), ElementsAre("update_mask.paths[0]"));
}

TEST_F(UpdateTest, InvalidResultIsRefusedAndNothingIsWritten) {
  v1::UpdateSpecialistRequest req;
  req.mutable_specialist()->set_name(original_.name());
  req.mutable_update_mask()->add_paths("role");  // clears the role
  auto result = registry_->specialists().Update(req);
  EXPECT_THAT(BadFields(result.status()), ElementsAre("specialist.role"));
  Reopen();  // what is on disk is unchanged
  v1::GetSpecialistRequest get;
  get.set_name(original_.name());
  EXPECT_EQ(registry_->specialists().Get(get)->etag(), original_.etag());
}

TEST_F(UpdateTest, NoOpUpdateKeepsTheEtag) {
  v1::UpdateSpecialistRequest req;
  *req.mutable_specialist() = original_;
  req.mutable_update_mask()->add_paths("*");
  ASSERT_OK_AND_ASSIGN(v1::Specialist s, registry_->specialists().Update(req));
  EXPECT_EQ(s.etag(), original_.etag());
}

TEST_F(UpdateTest, UpdateCapacityWithMaskAndEtag) {
  v1::UpdateCapacityRequest req;
  req.set_name(original_.name());
  req.set_etag(original_.etag());
  req.mutable_capacity()->set_committed_hours_per_week(10);
  req.mutable_capacity()->set_contracted_hours_per_week(999);  // not in the mask
  req.mutable_update_mask()->add_paths("committed_hours_per_week");
  ASSERT_OK_AND_ASSIGN(v1::Specialist s, registry_->specialists().UpdateCapacity(req));
  EXPECT_DOUBLE_EQ(s.capacity().contracted_hours_per_week(), 30);
  EXPECT_DOUBLE_EQ(s.capacity().available_hours_per_week(), 20);
  EXPECT_TRUE(s.capacity().accepting_external_requests());
  EXPECT_THAT(registry_->specialists().UpdateCapacity(req), StatusIs(absl::StatusCode::kFailedPrecondition));
  req.clear_etag();
  req.mutable_capacity()->set_committed_hours_per_week(-3);
  EXPECT_THAT(BadFields(registry_->specialists().UpdateCapacity(req).status()),
              ElementsAre("capacity.committed_hours_per_week"));
}

TEST_F(UpdateTest, CapacityMaskOfOnlyOutputFieldsChangesNothing) {
  v1::UpdateCapacityRequest req;
  req.set_name(original_.name());
  req.mutable_update_mask()->add_paths("available_hours_per_week");
  req.mutable_capacity()->set_available_hours_per_week(99);  // contracted etc. are 0 here
  ASSERT_OK_AND_ASSIGN(v1::Specialist s, registry_->specialists().UpdateCapacity(req));
  EXPECT_DOUBLE_EQ(s.capacity().contracted_hours_per_week(), 30);
  EXPECT_DOUBLE_EQ(s.capacity().available_hours_per_week(), 7.5);
  EXPECT_EQ(s.etag(), original_.etag());
}

TEST_F(UpdateTest, DeleteWithEtagThenGone) {
  v1::DeleteSpecialistRequest del;
  del.set_name(original_.name());
  del.set_etag("0-stale");
  EXPECT_THAT(registry_->specialists().Delete(del), StatusIs(absl::StatusCode::kFailedPrecondition));
  del.set_etag(original_.etag());
  ASSERT_THAT(registry_->specialists().Delete(del), IsOk());
  EXPECT_THAT(registry_->specialists().Delete(del), StatusIs(absl::StatusCode::kNotFound));
  Reopen();
  EXPECT_EQ(registry_->size(), 0u);
}

v1::BatchUpsertSpecialistsRequest Batch(int n, int first = 0) {
  v1::BatchUpsertSpecialistsRequest req;
  req.set_parent("regions/north-east");
  for (int i = first; i < first + n; ++i) *req.add_specialists() = ValidSpecialist("ext-" + std::to_string(i));
  return req;
}

TEST_F(RegistryTest, BatchUpsertIsIdempotent) {
  ASSERT_OK_AND_ASSIGN(auto first, registry_->specialists().BatchUpsert(Batch(20)));
  EXPECT_EQ(first.created_count(), 20);
  clock_.Advance(absl::Hours(1));
  ASSERT_OK_AND_ASSIGN(auto again, registry_->specialists().BatchUpsert(Batch(20)));
  EXPECT_EQ(again.unchanged_count(), 20);
  EXPECT_EQ(again.created_count() + again.updated_count(), 0);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(again.specialists(i).name(), first.specialists(i).name());
    EXPECT_EQ(again.specialists(i).etag(), first.specialists(i).etag());
  }
  auto changed = Batch(20);
  changed.mutable_specialists(3)->set_display_name("Changed");
  ASSERT_OK_AND_ASSIGN(auto third, registry_->specialists().BatchUpsert(changed));
  EXPECT_EQ(third.updated_count(), 1);
  EXPECT_EQ(third.unchanged_count(), 19);
  EXPECT_EQ(third.specialists(3).name(), first.specialists(3).name());
  EXPECT_EQ(registry_->size(), 20u);
}

TEST_F(RegistryTest, BatchUpsertWithoutCapacityIsIdempotent) {
  auto req = Batch(3);
  for (auto& s : *req.mutable_specialists()) s.clear_capacity();
  ASSERT_OK_AND_ASSIGN(auto first, registry_->specialists().BatchUpsert(req));
  ASSERT_OK_AND_ASSIGN(auto again, registry_->specialists().BatchUpsert(req));
  EXPECT_EQ(again.unchanged_count(), 3);
  EXPECT_EQ(again.specialists(0).etag(), first.specialists(0).etag());
}

TEST_F(RegistryTest, BatchUpsertIsAllOrNothing) {
  auto req = Batch(10);
  req.mutable_specialists(7)->set_role("wizard");
  *req.add_specialists() = ValidSpecialist("ext-2");  // repeats record 2's key
  auto result = registry_->specialists().BatchUpsert(req);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BadFields(result.status()),
              UnorderedElementsAre("specialists[7].role", "specialists[10].external_id"));
  EXPECT_EQ(registry_->size(), 0u);
  auto too_many = Batch(1001);
  EXPECT_THAT(registry_->specialists().BatchUpsert(too_many), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RegistryTest, ListWalksEveryRecordOnceInNameOrder) {
  ASSERT_THAT(registry_->specialists().BatchUpsert(Batch(57)), IsOk());
  v1::ListSpecialistsRequest req;
  req.set_parent("regions/north-east");
  req.set_page_size(10);
  std::vector<std::string> names;
  int pages = 0;
  do {
    ASSERT_OK_AND_ASSIGN(auto page, registry_->specialists().List(req));
    EXPECT_EQ(page.total_size(), 57);
    for (const auto& s : page.specialists()) names.push_back(s.name());
    req.set_page_token(page.next_page_token());
    ++pages;
  } while (!req.page_token().empty());
  EXPECT_EQ(pages, 6);
  ASSERT_EQ(names.size(), 57u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 57u);
}

TEST_F(RegistryTest, PageTokensAreCheckedAndSizesCoerced) {
  ASSERT_THAT(registry_->specialists().BatchUpsert(Batch(5)), IsOk());
  v1::ListSpecialistsRequest req;
  req.set_parent("regions/north-east");
  req.set_page_size(2);
  ASSERT_OK_AND_ASSIGN(auto page, registry_->specialists().List(req));
  req.set_page_token(page.next_page_token());
  req.set_owning_authority("E06000002");  // changed filter with an old token
  EXPECT_THAT(BadFields(registry_->specialists().List(req).status()), ElementsAre("page_token"));
  req.clear_owning_authority();
  req.set_page_token("garbage!");
  EXPECT_THAT(BadFields(registry_->specialists().List(req).status()), ElementsAre("page_token"));
  req.clear_page_token();
  req.set_page_size(-1);
  EXPECT_THAT(BadFields(registry_->specialists().List(req).status()), ElementsAre("page_size"));
  req.set_page_size(1000000);
  ASSERT_OK_AND_ASSIGN(auto all, registry_->specialists().List(req));
  EXPECT_EQ(all.specialists_size(), 5);
}

TEST_F(RegistryTest, CapacityOutsideItsWindowCountsAsZero) {
  v1::Specialist term_time = ValidSpecialist("t");
  auto* c = term_time.mutable_capacity();
  c->mutable_valid_from()->set_year(2026); c->mutable_valid_from()->set_month(9); c->mutable_valid_from()->set_day(1);
  c->mutable_valid_to()->set_year(2027); c->mutable_valid_to()->set_month(7); c->mutable_valid_to()->set_day(22);
  ASSERT_THAT(registry_->specialists().Create(CreateRequest(term_time)), IsOk());
  v1::SearchSpecialistsRequest search;
  search.set_parent("regions/north-east");
  search.set_min_available_hours(5);
  ASSERT_OK_AND_ASSIGN(auto in_term, registry_->queries().Search(search));
  EXPECT_EQ(in_term.results_size(), 1);
  clock_.Set(absl::FromCivil(absl::CivilSecond(2027, 8, 10, 9, 0, 0), absl::UTCTimeZone()));
  ASSERT_OK_AND_ASSIGN(auto holidays, registry_->queries().Search(search));
  EXPECT_EQ(holidays.results_size(), 0);
  search.mutable_available_on()->set_year(2026);
  search.mutable_available_on()->set_month(10);
  search.mutable_available_on()->set_day(1);
  ASSERT_OK_AND_ASSIGN(auto explicit_day, registry_->queries().Search(search));
  EXPECT_EQ(explicit_day.results_size(), 1);
}

TEST_F(RegistryTest, CapacitySummaryMatchesHandComputedFigures) {
  // Hartlepool: two QToDs (30/22.5 and 20/25, the second over-committed) and
  // one SLT (37.5/30); Middlesbrough: one QToD (10/4).
  std::vector<v1::Specialist> records = {ValidSpecialist("a"), ValidSpecialist("b"),
                                         ValidSpecialist("c"), ValidSpecialist("d", "E06000002")};
  records[1].mutable_capacity()->set_contracted_hours_per_week(20);
  records[1].mutable_capacity()->set_committed_hours_per_week(25);
  records[1].mutable_capacity()->set_accepting_external_requests(false);
  records[2].set_role("speech-language-therapist");
  records[2].mutable_capacity()->set_contracted_hours_per_week(37.5);
  records[2].mutable_capacity()->set_committed_hours_per_week(30);
  records[3].mutable_capacity()->set_contracted_hours_per_week(10);
  records[3].mutable_capacity()->set_committed_hours_per_week(4);
  records[3].clear_covered_authorities();
  v1::BatchUpsertSpecialistsRequest batch;
  batch.set_parent("regions/north-east");
  for (auto& r : records) *batch.add_specialists() = r;
  ASSERT_THAT(registry_->specialists().BatchUpsert(batch), IsOk());

  v1::GetCapacitySummaryRequest req;
  req.set_parent("regions/north-east");
  ASSERT_OK_AND_ASSIGN(auto summary, registry_->queries().GetCapacitySummary(req));
  ASSERT_EQ(summary.rows_size(), 3);
  EXPECT_EQ(summary.rows(0).authority(), "E06000001");
  EXPECT_EQ(summary.rows(0).role(), "qualified-teacher-deaf");
  EXPECT_EQ(summary.rows(0).headcount(), 2);
  EXPECT_DOUBLE_EQ(summary.rows(0).contracted_hours_per_week(), 50);
  EXPECT_DOUBLE_EQ(summary.rows(0).committed_hours_per_week(), 47.5);
  EXPECT_DOUBLE_EQ(summary.rows(0).available_hours_per_week(), 7.5);  // 7.5 + 0, never negative
  EXPECT_EQ(summary.rows(0).accepting_external_count(), 1);
  EXPECT_EQ(summary.rows(1).role(), "speech-language-therapist");
  EXPECT_DOUBLE_EQ(summary.rows(1).available_hours_per_week(), 7.5);
  EXPECT_EQ(summary.rows(2).authority(), "E06000002");
  ASSERT_EQ(summary.authority_totals_size(), 2);
  EXPECT_EQ(summary.authority_totals(0).headcount(), 3);
  EXPECT_DOUBLE_EQ(summary.authority_totals(0).available_hours_per_week(), 15);
  EXPECT_EQ(summary.total().headcount(), 4);
  EXPECT_DOUBLE_EQ(summary.total().contracted_hours_per_week(), 97.5);
  EXPECT_DOUBLE_EQ(summary.total().available_hours_per_week(), 21);
  EXPECT_EQ(summary.as_of().year(), 2026);

  req.add_roles("speech-language-therapist");
  ASSERT_OK_AND_ASSIGN(auto slt, registry_->queries().GetCapacitySummary(req));
  EXPECT_EQ(slt.total().headcount(), 1);
  req.clear_roles();
  req.add_authorities("E06000002");
  ASSERT_OK_AND_ASSIGN(auto middlesbrough, registry_->queries().GetCapacitySummary(req));
  EXPECT_EQ(middlesbrough.total().headcount(), 1);
  req.add_authorities("nope");
  EXPECT_THAT(BadFields(registry_->queries().GetCapacitySummary(req).status()), ElementsAre("authorities[1]"));
}

TEST_F(RegistryTest, ListFiltersByFormerAuthorityCode) {
  // Sheffield changed its GSS code (E08000019 -> E08000039); the old code still finds it.
  auto store = SqliteStore::Open(dir_.File("yorkshire.db"));
  ASSERT_TRUE(store.ok());
  auto yorkshire = Registry::Open({.region = "yorkshire-and-the-humber", .clock = &clock_},
                                  *std::move(store));
  ASSERT_TRUE(yorkshire.ok());
  const AuthorityInfo* sheffield = ReferenceData::Get().FindAuthority("E08000039");
  ASSERT_NE(sheffield, nullptr);
  ASSERT_FALSE(sheffield->former_code.empty());
  v1::CreateSpecialistRequest create;
  create.set_parent("regions/yorkshire-and-the-humber");
  *create.mutable_specialist() = testing::ValidSpecialist("y1", sheffield->code);
  create.mutable_specialist()->clear_covered_authorities();
  create.mutable_specialist()->clear_base_location();
  ASSERT_THAT((*yorkshire)->specialists().Create(create), IsOk());
  v1::ListSpecialistsRequest list;
  list.set_parent("regions/yorkshire-and-the-humber");
  list.set_owning_authority(sheffield->former_code);
  ASSERT_OK_AND_ASSIGN(auto page, (*yorkshire)->specialists().List(list));
  EXPECT_EQ(page.specialists_size(), 1);
}

TEST_F(RegistryTest, UnknownStoredRoleStopsStartUp) {
  registry_.reset();
  {
    auto store = SqliteStore::Open(dir_.File("registry.db"));
    ASSERT_TRUE(store.ok());
    v1::Specialist s = testing::ValidSpecialist();
    s.set_name("regions/north-east/specialists/s-9999");
    s.set_role("retired-role");
    ASSERT_THAT((*store)->Commit(WriteBatch{{&s}, {}}), IsOk());
  }
  auto store = SqliteStore::Open(dir_.File("registry.db"));
  ASSERT_TRUE(store.ok());
  auto reopened = Registry::Open({.region = "north-east"}, *std::move(store));
  EXPECT_THAT(reopened, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(reopened.status().message()), ::testing::HasSubstr("retired-role"));
}

TEST_F(RegistryTest, ReferenceListings) {
  v1::ListTaxonomyTermsRequest tax;
  tax.set_kind(v1::TAXONOMY_KIND_SETTING);
  EXPECT_EQ(registry_->queries().ListTaxonomyTerms(tax).terms_size(), 10);
  EXPECT_EQ(registry_->queries().ListTaxonomyTerms(tax).taxonomy_version(), "2026-11-1");
  v1::ListLocalAuthoritiesRequest las;
  ASSERT_OK_AND_ASSIGN(auto all, registry_->queries().ListLocalAuthorities(las));
  EXPECT_EQ(all.local_authorities_size(), 153);
  las.set_parent("regions/london");
  ASSERT_OK_AND_ASSIGN(auto london, registry_->queries().ListLocalAuthorities(las));
  EXPECT_EQ(london.local_authorities_size(), 33);
  las.set_parent("regions/atlantis");
  EXPECT_THAT(registry_->queries().ListLocalAuthorities(las), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(registry_->queries().ListRegions().regions_size(), 9);
}

TEST_F(RegistryTest, ReopenRestoresEverything) {
  ASSERT_OK_AND_ASSIGN(auto batch, registry_->specialists().BatchUpsert(Batch(30)));
  Reopen();
  EXPECT_EQ(registry_->size(), 30u);
  v1::GetSpecialistRequest get;
  get.set_name(batch.specialists(12).name());
  ASSERT_OK_AND_ASSIGN(auto s, registry_->specialists().Get(get));
  EXPECT_EQ(s.DebugString(), batch.specialists(12).DebugString());
}

}  // namespace
}  // namespace expertise::registry
