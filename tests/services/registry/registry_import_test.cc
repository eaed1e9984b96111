// Registry::ImportSpecialists: policies, the snapshot withdrawal guard,
// idempotent retries, per-authority isolation, cursors and rejects.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/registry/registry.h"
#include "tests/services/registry/registry_fixture.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/status_matchers.h"

namespace expertise::registry {
namespace {

using ::expertise::testing::StatusIs;
using ::expertise::testing::ValidSpecialist;

class RegistryImportTest : public RegistryTest {
 protected:
  // An import of `ids` (valid records) for Hartlepool from source hr-export.
  Registry::ImportStream Stream(const std::string& import_id, const std::vector<std::string>& ids,
                                v1::ImportMode mode = v1::IMPORT_MODE_SNAPSHOT) {
    Registry::ImportStream s;
    s.header.set_parent("regions/north-east");
    s.header.set_import_id(import_id);
    s.header.set_authority("E06000001");
    s.header.set_source("hr-export");
    s.header.set_mode(mode);
    for (size_t i = 0; i < ids.size(); ++i) {
      v1::ImportedRecord& r = s.records.emplace_back();
      *r.mutable_specialist() = ValidSpecialist(ids[i]);
      r.mutable_location()->set_file("hr.csv");
      r.mutable_location()->set_row(i + 2);
    }
    return s;
  }
  std::vector<std::string> Ids(int n, int from = 1) {
    std::vector<std::string> ids;
    for (int i = from; i < from + n; ++i) ids.push_back(absl::StrCat("e-", i));
    return ids;
  }
  size_t CountFrom(const std::string& authority) {
    v1::ListSpecialistsRequest req;
    req.set_parent("regions/north-east");
    req.set_owning_authority(authority);
    req.set_page_size(1000);
    auto page = registry_->specialists().List(req);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? static_cast<size_t>(page->specialists_size()) : 0;
  }
};

TEST_F(RegistryImportTest, SnapshotCreatesThenRetryChangesNothing) {
  ASSERT_OK_AND_ASSIGN(v1::Import first, registry_->imports().Import(Stream("imp-one", Ids(5))));
  EXPECT_EQ(first.state(), v1::Import::SUCCEEDED);
  EXPECT_EQ(first.created_count(), 5);
  EXPECT_EQ(first.name(), "regions/north-east/imports/imp-one");
  const size_t before = registry_->size();
  // Same id again, even with different content: the stored result, no change.
  ASSERT_OK_AND_ASSIGN(v1::Import again, registry_->imports().Import(Stream("imp-one", Ids(2))));
  EXPECT_EQ(again.DebugString(), first.DebugString());
  EXPECT_EQ(registry_->size(), before);
  // A new import of the same data: everything unchanged.
  ASSERT_OK_AND_ASSIGN(v1::Import same, registry_->imports().Import(Stream("imp-two", Ids(5))));
  EXPECT_EQ(same.unchanged_count(), 5);
  EXPECT_EQ(same.created_count(), 0);
}

TEST_F(RegistryImportTest, ImportIdReusedForAnotherAuthorityIsRefused) {
  ASSERT_TRUE(registry_->imports().Import(Stream("imp-one", Ids(1))).status().ok());
  Registry::ImportStream other = Stream("imp-one", {});
  other.header.set_authority("E06000002");
  EXPECT_THAT(registry_->imports().Import(other).status(), StatusIs(absl::StatusCode::kAlreadyExists));
}

struct PolicyCase {
  std::string name;
  v1::RejectPolicy::Kind kind;
  double percent;
  int bad;  // of 10 records
  v1::Import::State want;
};

class RegistryImportPolicyTest : public RegistryImportTest, public ::testing::WithParamInterface<PolicyCase> {};

TEST_P(RegistryImportPolicyTest, PolicyDecidesTheOutcome) {
  const PolicyCase& c = GetParam();
  Registry::ImportStream s = Stream("imp-policy", Ids(10));
  for (int i = 0; i < c.bad; ++i) s.records[i].mutable_specialist()->set_role("not-a-role");
  s.header.mutable_reject_policy()->set_kind(c.kind);
  s.header.mutable_reject_policy()->set_max_reject_percent(c.percent);
  ASSERT_OK_AND_ASSIGN(v1::Import result, registry_->imports().Import(s));
  EXPECT_EQ(result.state(), c.want) << result.failure_reason();
  EXPECT_EQ(result.reject_count(), c.bad);
  EXPECT_EQ(CountFrom("E06000001"), c.want == v1::Import::FAILED ? 0u : static_cast<size_t>(10 - c.bad));
}

INSTANTIATE_TEST_SUITE_P(
    Policies, RegistryImportPolicyTest,
    ::testing::Values(PolicyCase{"FailDefaultClean", v1::RejectPolicy::KIND_UNSPECIFIED, 0, 0, v1::Import::SUCCEEDED},
                      PolicyCase{"FailDefaultOneBad", v1::RejectPolicy::KIND_UNSPECIFIED, 0, 1, v1::Import::FAILED},
                      PolicyCase{"FailOneBad", v1::RejectPolicy::FAIL, 0, 1, v1::Import::FAILED},
                      PolicyCase{"SkipThreeBad", v1::RejectPolicy::SKIP, 0, 3, v1::Import::SUCCEEDED_WITH_REJECTS},
                      PolicyCase{"SkipUpToWithin", v1::RejectPolicy::SKIP_UP_TO, 20, 2,
                                 v1::Import::SUCCEEDED_WITH_REJECTS},
                      PolicyCase{"SkipUpToOver", v1::RejectPolicy::SKIP_UP_TO, 20, 3, v1::Import::FAILED}),
    [](const auto& test_info) { return test_info.param.name; });

TEST_F(RegistryImportTest, RejectsAreStoredWithLocationsAndListable) {
  Registry::ImportStream s = Stream("imp-rejects", Ids(4));
  s.records[1].mutable_specialist()->set_role("not-a-role");
  s.records[3].mutable_specialist()->clear_display_name();
  v1::ImportReject& early = s.rejects.emplace_back();
  early.set_reason(v1::ImportReject::PARSE);
  early.mutable_location()->set_file("hr.csv");
  early.mutable_location()->set_row(9);
  early.set_message("unterminated quote");
  s.header.mutable_reject_policy()->set_kind(v1::RejectPolicy::SKIP);
  ASSERT_OK_AND_ASSIGN(v1::Import result, registry_->imports().Import(s));
  EXPECT_EQ(result.reject_count(), 3);
  EXPECT_EQ(result.records_received(), 5);
  v1::ListImportRejectsRequest list;
  list.set_parent(result.name());
  list.set_page_size(2);
  std::vector<v1::ImportReject> all;
  do {
    ASSERT_OK_AND_ASSIGN(v1::ListImportRejectsResponse page, registry_->imports().ListRejects(list));
    for (const auto& r : page.rejects()) all.push_back(r);
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].location().row(), 9u);  // client rejects first, then the registry's
  EXPECT_EQ(all[1].reason(), v1::ImportReject::REFERENCE);
  EXPECT_EQ(all[1].location().row(), 3u);
  EXPECT_EQ(all[1].field(), "role");
  EXPECT_EQ(all[1].external_id(), "e-2");
  EXPECT_EQ(all[2].reason(), v1::ImportReject::REQUIRED);
  EXPECT_EQ(all[2].field(), "display_name");
}

TEST_F(RegistryImportTest, SnapshotWithdrawsMissingRecordsWithinTheGuard) {
  ASSERT_TRUE(registry_->imports().Import(Stream("imp-full", Ids(10))).status().ok());
  // 9 of 10 remain: one (10%) withdrawn, under the 20% default.
  ASSERT_OK_AND_ASSIGN(v1::Import result, registry_->imports().Import(Stream("imp-nine", Ids(9))));
  EXPECT_EQ(result.state(), v1::Import::SUCCEEDED);
  EXPECT_EQ(result.withdrawn_count(), 1);
  EXPECT_EQ(CountFrom("E06000001"), 9u);
}

TEST_F(RegistryImportTest, TruncatedSnapshotIsRefusedUnlessForced) {
  ASSERT_TRUE(registry_->imports().Import(Stream("imp-full", Ids(10))).status().ok());
  ASSERT_OK_AND_ASSIGN(v1::Import refused, registry_->imports().Import(Stream("imp-trunc", Ids(5))));
  EXPECT_EQ(refused.state(), v1::Import::FAILED);
  EXPECT_THAT(refused.failure_reason(), ::testing::HasSubstr("--force"));
  EXPECT_EQ(CountFrom("E06000001"), 10u);
  Registry::ImportStream forced = Stream("imp-forced", Ids(5));
  forced.header.set_force(true);
  ASSERT_OK_AND_ASSIGN(v1::Import done, registry_->imports().Import(forced));
  EXPECT_EQ(done.withdrawn_count(), 5);
  EXPECT_EQ(CountFrom("E06000001"), 5u);
  // A custom limit: 60% allowed.
  Registry::ImportStream wide = Stream("imp-wide", Ids(2));
  wide.header.set_max_withdraw_fraction(0.6);
  ASSERT_OK_AND_ASSIGN(v1::Import wide_result, registry_->imports().Import(wide));
  EXPECT_EQ(wide_result.withdrawn_count(), 3);
}

TEST_F(RegistryImportTest, RejectedRowsAreNotWithdrawn) {
  ASSERT_TRUE(registry_->imports().Import(Stream("imp-full", Ids(5))).status().ok());
  Registry::ImportStream s = Stream("imp-bad-row", Ids(5));
  s.records[2].mutable_specialist()->set_role("not-a-role");
  s.header.mutable_reject_policy()->set_kind(v1::RejectPolicy::SKIP);
  ASSERT_OK_AND_ASSIGN(v1::Import result, registry_->imports().Import(s));
  EXPECT_EQ(result.withdrawn_count(), 0);
  EXPECT_EQ(CountFrom("E06000001"), 5u);
}

TEST_F(RegistryImportTest, ImportTouchesOnlyItsAuthority) {
  // Darlington's record stays whatever Hartlepool's snapshot holds.
  v1::CreateSpecialistRequest create;
  create.set_parent("regions/north-east");
  *create.mutable_specialist() = ValidSpecialist("d-1", "E06000005");
  create.mutable_specialist()->set_source("hr-export");
  ASSERT_TRUE(registry_->specialists().Create(create).status().ok());
  Registry::ImportStream s = Stream("imp-la", Ids(3));
  *s.records[1].mutable_specialist() = ValidSpecialist("d-1", "E06000005");  // smuggled in
  s.header.mutable_reject_policy()->set_kind(v1::RejectPolicy::SKIP);
  ASSERT_OK_AND_ASSIGN(v1::Import result, registry_->imports().Import(s));
  EXPECT_EQ(result.reject_count(), 1);
  EXPECT_EQ(CountFrom("E06000005"), 1u);
  EXPECT_EQ(CountFrom("E06000001"), 2u);
}

TEST_F(RegistryImportTest, IncrementalSavesTheCursorWithTheRecords) {
  Registry::ImportStream s = Stream("imp-inc-1", Ids(3), v1::IMPORT_MODE_INCREMENTAL);
  s.end.set_cursor("2026-11-01T00:00:00Z");
  ASSERT_OK_AND_ASSIGN(v1::Import first, registry_->imports().Import(s));
  EXPECT_EQ(first.cursor(), "2026-11-01T00:00:00Z");
  v1::GetImportCursorRequest get;
  get.set_name("regions/north-east/importCursors/E06000001.hr-export");
  ASSERT_OK_AND_ASSIGN(v1::ImportCursor cursor, registry_->imports().GetCursor(get));
  EXPECT_EQ(cursor.cursor(), "2026-11-01T00:00:00Z");
  // Incremental imports never withdraw.
  Registry::ImportStream next = Stream("imp-inc-2", Ids(1, 10), v1::IMPORT_MODE_INCREMENTAL);
  next.header.set_expected_cursor("2026-11-01T00:00:00Z");
  next.end.set_cursor("2026-11-02T00:00:00Z");
  ASSERT_OK_AND_ASSIGN(v1::Import second, registry_->imports().Import(next));
  EXPECT_EQ(second.withdrawn_count(), 0);
  EXPECT_EQ(CountFrom("E06000001"), 4u);
  // A run that read an old cursor is refused: another import moved it.
  Registry::ImportStream stale = Stream("imp-inc-3", Ids(1, 20), v1::IMPORT_MODE_INCREMENTAL);
  stale.header.set_expected_cursor("2026-11-01T00:00:00Z");
  EXPECT_THAT(registry_->imports().Import(stale).status(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RegistryImportTest, FailedIncrementalImportKeepsTheCursor) {
  Registry::ImportStream s = Stream("imp-inc-1", Ids(2), v1::IMPORT_MODE_INCREMENTAL);
  s.end.set_cursor("c1");
  ASSERT_TRUE(registry_->imports().Import(s).status().ok());
  Registry::ImportStream bad = Stream("imp-inc-2", Ids(2, 5), v1::IMPORT_MODE_INCREMENTAL);
  bad.header.set_expected_cursor("c1");
  bad.records[0].mutable_specialist()->set_role("nope");
  bad.end.set_cursor("c2");
  ASSERT_OK_AND_ASSIGN(v1::Import failed, registry_->imports().Import(bad));
  EXPECT_EQ(failed.state(), v1::Import::FAILED);
  v1::GetImportCursorRequest get;
  get.set_name("regions/north-east/importCursors/E06000001.hr-export");
  ASSERT_OK_AND_ASSIGN(v1::ImportCursor cursor, registry_->imports().GetCursor(get));
  EXPECT_EQ(cursor.cursor(), "c1");
}

TEST_F(RegistryImportTest, ValidateOnlyWritesNothing) {
  Registry::ImportStream s = Stream("imp-dry", Ids(4));
  s.header.set_validate_only(true);
  ASSERT_OK_AND_ASSIGN(v1::Import result, registry_->imports().Import(s));
  EXPECT_EQ(result.created_count(), 4);
  EXPECT_TRUE(result.validate_only());
  EXPECT_EQ(registry_->size(), 0u);
  v1::GetImportRequest get;
  get.set_name(result.name());
  EXPECT_THAT(registry_->imports().Get(get).status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RegistryImportTest, ImportsSurviveARestart) {
  ASSERT_OK_AND_ASSIGN(v1::Import result, registry_->imports().Import(Stream("imp-durable", Ids(3))));
  Reopen();
  v1::GetImportRequest get;
  get.set_name(result.name());
  ASSERT_OK_AND_ASSIGN(v1::Import stored, registry_->imports().Get(get));
  EXPECT_EQ(stored.created_count(), 3);
  EXPECT_EQ(registry_->size(), 3u);
}

TEST_F(RegistryImportTest, BadHeaderNamesEveryField) {
  Registry::ImportStream s;
  s.header.set_parent("regions/north-east");
  s.header.set_import_id("X");
  s.header.set_authority("E09000001");  // City of London: not in the North East
  s.header.set_source("Bad Source");
  EXPECT_THAT(::expertise::testing::BadFields(registry_->imports().Import(s).status()),
              ::testing::UnorderedElementsAre("header.import_id", "header.authority", "header.source",
                                              "header.mode"));
}

}  // namespace
}  // namespace expertise::registry
