// The store contract (services/registry/specialist_store.h), checked the
// same way against every implementation: SQLite on a temporary file and
// PostgreSQL on a throwaway local cluster (tests/testutil/postgres_cluster).

#include <sqlite3.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "services/registry/postgres_store.h"
#include "services/registry/sqlite_store.h"
#include "services/registry/store_factory.h"
#include "tests/testutil/postgres_cluster.h"
#include "tests/services/registry/store_test_util.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::registry {
namespace {

using ::expertise::testing::IsOk;
using ::expertise::testing::IsOkAndHolds;
using ::expertise::testing::SharedPostgresCluster;
using ::expertise::testing::StatusIs;
using ::expertise::testing::TempDir;
using ::expertise::testing::ValidSpecialist;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;


v1::SupportRequest Request(const std::string& id, v1::SupportRequestState state) {
  v1::SupportRequest r;
  r.set_name("regions/north-east/supportRequests/" + id);
  r.set_requesting_authority("E06000001");
  r.set_role("speech-and-language-therapist");
  r.set_state(state);
  r.set_hours_per_week(3);
  return r;
}

v1::Import MakeImport(const std::string& id, v1::Import::State state, bool validate_only = false) {
  v1::Import i;
  i.set_name("regions/north-east/imports/" + id);
  i.set_authority("E06000001");
  i.set_source("hr-export");
  i.set_state(state);
  i.set_validate_only(validate_only);
  return i;
}


std::vector<std::string> Names(const std::vector<v1::Specialist>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.name());
  return out;
}

// One store kind: opens stores on a fresh database per test.
class StoreConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    config_.kind = GetParam();
    if (config_.kind == "sqlite") {
      config_.sqlite_path = dir_.File("registry.db");
    } else {
      static std::atomic<int> counter{0};
      ASSERT_OK_AND_ASSIGN(config_.database_url,
                           SharedPostgresCluster().CreateDatabase(
                               absl::StrCat("conformance_", getpid(), "_", counter++)));
    }
  }

  absl::StatusOr<std::unique_ptr<SpecialistStore>> Open(bool migrate = true) {
    StoreConfig config = config_;
    config.migrate = migrate;
    return OpenStore(config);
  }

  int LatestSchema() const {
    return config_.kind == "sqlite" ? SqliteLatestSchemaVersion() : PostgresLatestSchemaVersion();
  }

  // Runs SQL on the database behind the store (with no store open: SQLite
  // is locked by its store).
  void ExecSql(const std::string& sql) {
    if (config_.kind == "sqlite") {
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open(config_.sqlite_path.c_str(), &db), SQLITE_OK);
      char* error = nullptr;
      const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
      const std::string message = error ? error : "";
      sqlite3_free(error);
      sqlite3_close(db);
      ASSERT_EQ(rc, SQLITE_OK) << message;
    } else {
      const std::string db = config_.database_url.substr(
          config_.database_url.rfind('/') + 1,
          config_.database_url.find('?') - config_.database_url.rfind('/') - 1);
      ASSERT_THAT(SharedPostgresCluster().Psql(db, sql), IsOk());
    }
  }

  TempDir dir_;
  StoreConfig config_;
};

TEST_P(StoreConformanceTest, FreshStoreIsEmptyAtTheLatestSchema) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  EXPECT_EQ(store->schema_version(), LatestSchema());
  EXPECT_THAT(LoadAllRecords(*store), IsEmpty());
  EXPECT_THAT(store->CurrentRevision(), IsOkAndHolds(0));
  ASSERT_OK_AND_ASSIGN(StoreChanges changes, store->ChangesSince(0));
  EXPECT_EQ(changes.revision, 0);
  EXPECT_THAT(changes.specialists, IsEmpty());
  EXPECT_THAT(store->LatestAppliedImport(), IsOkAndHolds(::testing::Eq(std::nullopt)));
  EXPECT_THAT(store->GetImport("nope"), IsOkAndHolds(::testing::Eq(std::nullopt)));
  EXPECT_THAT(store->GetImportCursor("E06000001", "hr"), IsOkAndHolds(::testing::Eq(std::nullopt)));
}

TEST_P(StoreConformanceTest, RecordsRoundTripAndSurviveReopening) {
  v1::Specialist a = StoredSpecialist("s-aaaa", "1"), b = StoredSpecialist("s-bbbb", "2");
  {
    ASSERT_OK_AND_ASSIGN(auto store, Open());
    EXPECT_THAT(store->Commit(WriteBatch{{&a, &b}, {}}), IsOkAndHolds(1));
  }
  ASSERT_OK_AND_ASSIGN(auto store, Open(/*migrate=*/false));  // nothing left to migrate
  std::vector<v1::Specialist> loaded = LoadAllRecords(*store);
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_TRUE(MessageDifferencer::Equals(loaded[0], a));
  EXPECT_TRUE(MessageDifferencer::Equals(loaded[1], b));
  EXPECT_THAT(store->CurrentRevision(), IsOkAndHolds(1));
}

TEST_P(StoreConformanceTest, ReplacesAndDeletesWithOneRevisionPerCommit) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  v1::Specialist a = StoredSpecialist("s-aaaa", "1"), b = StoredSpecialist("s-bbbb", "2");
  ASSERT_THAT(store->Commit(WriteBatch{{&a, &b}, {}}), IsOkAndHolds(1));
  a.set_display_name("Renamed");
  a.set_etag("2-b");
  ASSERT_THAT(store->Commit(WriteBatch{{&a}, {"s-bbbb"}}), IsOkAndHolds(2));
  std::vector<v1::Specialist> loaded = LoadAllRecords(*store);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].display_name(), "Renamed");
  EXPECT_EQ(loaded[0].etag(), "2-b");
  // An empty batch changes nothing and takes no revision.
  EXPECT_THAT(store->Commit(WriteBatch{}), IsOkAndHolds(2));
  // Deleting a record that is not there is not an error.
  EXPECT_THAT(store->Commit(WriteBatch{{}, {"s-none"}}), IsOkAndHolds(3));
}

TEST_P(StoreConformanceTest, ABatchThatFailsChangesNothing) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  v1::Specialist a = StoredSpecialist("s-aaaa", "1");
  ASSERT_THAT(store->Commit(WriteBatch{{&a}, {}}), IsOk());
  // Same (owning_authority, source, external_id) under another id.
  v1::Specialist b = StoredSpecialist("s-bbbb", "2"), clash = StoredSpecialist("s-cccc", "1");
  v1::SupportRequest r = Request("r-1", v1::SUPPORT_REQUEST_STATE_OPEN);
  WriteBatch batch{{&b, &clash}, {"s-aaaa"}};
  batch.support_requests.push_back(&r);
  EXPECT_THAT(store->Commit(batch), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(Names(LoadAllRecords(*store)), ElementsAre("regions/north-east/specialists/s-aaaa"));
  EXPECT_THAT(store->CurrentRevision(), IsOkAndHolds(1));
  int requests = 0;
  EXPECT_THAT(store->LoadSupportRequests([&](v1::SupportRequest) {
    ++requests;
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(requests, 0);
  // The store is still usable.
  EXPECT_THAT(store->Commit(WriteBatch{{&b}, {}}), IsOkAndHolds(2));
}

TEST_P(StoreConformanceTest, ImportsRejectsAndCursors) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  const v1::Import first = MakeImport("i-1", v1::Import::SUCCEEDED);
  std::vector<v1::ImportReject> rejects(5);
  for (int i = 0; i < 5; ++i) rejects[i].set_external_id(absl::StrCat("bad-", i));
  v1::ImportCursor cursor;
  cursor.set_cursor("2026-11-01T00:00:00Z");
  ImportWrite write{"i-1", &first, &rejects, &cursor, "E06000001", "hr-export"};
  WriteBatch batch;
  batch.import = write;
  ASSERT_THAT(store->Commit(batch), IsOk());

  EXPECT_THAT(store->GetImport("i-1"), IsOkAndHolds(::testing::Ne(std::nullopt)));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::ImportReject> page, store->ListImportRejects("i-1", 1, 3));
  ASSERT_EQ(page.size(), 3u);
  EXPECT_EQ(page[0].external_id(), "bad-1");
  EXPECT_EQ(page[2].external_id(), "bad-3");
  ASSERT_OK_AND_ASSIGN(page, store->ListImportRejects("i-1", 4, 10));
  EXPECT_EQ(page.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto saved, store->GetImportCursor("E06000001", "hr-export"));
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->cursor(), "2026-11-01T00:00:00Z");

  // A later import replaces the cursor; failed and validate-only imports are
  // not "applied".
  const v1::Import second = MakeImport("i-2", v1::Import::SUCCEEDED);
  cursor.set_cursor("2026-11-02T00:00:00Z");
  batch.import = ImportWrite{"i-2", &second, nullptr, &cursor, "E06000001", "hr-export"};
  ASSERT_THAT(store->Commit(batch), IsOk());
  const v1::Import failed = MakeImport("i-3", v1::Import::FAILED);
  batch.import = ImportWrite{"i-3", &failed, nullptr, nullptr, "", ""};
  ASSERT_THAT(store->Commit(batch), IsOk());
  const v1::Import dry = MakeImport("i-4", v1::Import::SUCCEEDED, /*validate_only=*/true);
  batch.import = ImportWrite{"i-4", &dry, nullptr, nullptr, "", ""};
  ASSERT_THAT(store->Commit(batch), IsOk());
  ASSERT_OK_AND_ASSIGN(auto latest, store->LatestAppliedImport());
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->name(), "regions/north-east/imports/i-2");
  ASSERT_OK_AND_ASSIGN(saved, store->GetImportCursor("E06000001", "hr-export"));
  EXPECT_EQ(saved->cursor(), "2026-11-02T00:00:00Z");

  // An import id is stored once; the whole batch fails with it.
  v1::Specialist a = StoredSpecialist("s-aaaa", "1");
  batch = WriteBatch{{&a}, {}};
  batch.import = ImportWrite{"i-1", &first, nullptr, nullptr, "", ""};
  EXPECT_THAT(store->Commit(batch), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(LoadAllRecords(*store), IsEmpty());
}

TEST_P(StoreConformanceTest, SupportRequestsAndSnapshots) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  v1::SupportRequest r1 = Request("r-1", v1::SUPPORT_REQUEST_STATE_OPEN);
  v1::SupportRequest r2 = Request("r-2", v1::SUPPORT_REQUEST_STATE_OPEN);
  WriteBatch batch;
  batch.support_requests = {&r1, &r2};
  batch.snapshots = {{100, "", 3, 90, 12.5}, {100, "speech-and-language-therapist", 1, 30, 2},
                     {101, "", 4, 120, 20}};
  ASSERT_THAT(store->Commit(batch), IsOk());
  r1.set_state(v1::SUPPORT_REQUEST_STATE_WITHDRAWN);
  batch = WriteBatch{};
  batch.support_requests = {&r1};
  batch.snapshots = {{101, "", 5, 150, 25}};  // the day's first row stays
  ASSERT_THAT(store->Commit(batch), IsOk());

  std::map<std::string, v1::SupportRequestState> states;
  ASSERT_THAT(store->LoadSupportRequests([&](v1::SupportRequest r) {
    states[r.name()] = r.state();
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_THAT(states, UnorderedElementsAre(
                          ::testing::Pair("regions/north-east/supportRequests/r-1",
                                          v1::SUPPORT_REQUEST_STATE_WITHDRAWN),
                          ::testing::Pair("regions/north-east/supportRequests/r-2",
                                          v1::SUPPORT_REQUEST_STATE_OPEN)));
  ASSERT_OK_AND_ASSIGN(std::vector<CapacitySnapshotRow> rows, store->ListCapacitySnapshots(101));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].specialists, 4);
  EXPECT_DOUBLE_EQ(rows[0].available_hours, 20);
  ASSERT_OK_AND_ASSIGN(rows, store->ListCapacitySnapshots(0));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].role, "");  // by day, then role
  EXPECT_EQ(rows[1].role, "speech-and-language-therapist");
  EXPECT_DOUBLE_EQ(rows[1].contracted_hours, 30);
}

TEST_P(StoreConformanceTest, ChangesSinceARevision) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  v1::Specialist a = StoredSpecialist("s-aaaa", "1"), b = StoredSpecialist("s-bbbb", "2"), c = StoredSpecialist("s-cccc", "3");
  ASSERT_THAT(store->Commit(WriteBatch{{&a, &b, &c}, {}}), IsOkAndHolds(1));
  // Revision 2: b changed, c deleted; 3: c created again; 4: a request and an import.
  b.set_display_name("B2");
  ASSERT_THAT(store->Commit(WriteBatch{{&b}, {"s-cccc"}}), IsOkAndHolds(2));
  ASSERT_THAT(store->Commit(WriteBatch{{&c}, {}}), IsOkAndHolds(3));
  v1::SupportRequest r = Request("r-1", v1::SUPPORT_REQUEST_STATE_OPEN);
  const v1::Import import = MakeImport("i-1", v1::Import::SUCCEEDED);
  WriteBatch batch;
  batch.support_requests = {&r};
  batch.import = ImportWrite{"i-1", &import, nullptr, nullptr, "", ""};
  ASSERT_THAT(store->Commit(batch), IsOkAndHolds(4));

  ASSERT_OK_AND_ASSIGN(StoreChanges since1, store->ChangesSince(1));
  EXPECT_EQ(since1.revision, 4);
  EXPECT_THAT(Names(since1.specialists), UnorderedElementsAre("regions/north-east/specialists/s-bbbb",
                                                              "regions/north-east/specialists/s-cccc"));
  // c was deleted and created again: in both lists (deletions apply first).
  EXPECT_THAT(since1.deleted_specialists, ElementsAre("s-cccc"));
  ASSERT_EQ(since1.support_requests.size(), 1u);
  ASSERT_TRUE(since1.latest_applied_import.has_value());
  EXPECT_EQ(since1.latest_applied_import->name(), "regions/north-east/imports/i-1");

  ASSERT_OK_AND_ASSIGN(StoreChanges since3, store->ChangesSince(3));
  EXPECT_THAT(since3.specialists, IsEmpty());
  EXPECT_THAT(since3.deleted_specialists, IsEmpty());
  EXPECT_EQ(since3.support_requests.size(), 1u);

  ASSERT_OK_AND_ASSIGN(StoreChanges none, store->ChangesSince(4));
  EXPECT_EQ(none.revision, 4);
  EXPECT_THAT(none.specialists, IsEmpty());
  EXPECT_FALSE(none.latest_applied_import.has_value());

  // Read inside an open write, the changes are the same.
  ASSERT_THAT(store->BeginWrite(), IsOkAndHolds(4));
  ASSERT_OK_AND_ASSIGN(StoreChanges inside, store->ChangesSince(1));
  EXPECT_EQ(inside.specialists.size(), 2u);
  store->AbortWrite();
}

TEST_P(StoreConformanceTest, AnAbortedWriteChangesNothing) {
  ASSERT_OK_AND_ASSIGN(auto store, Open());
  ASSERT_THAT(store->BeginWrite(), IsOkAndHolds(0));
  EXPECT_THAT(store->BeginWrite(), StatusIs(absl::StatusCode::kFailedPrecondition));
  store->AbortWrite();
  store->AbortWrite();  // no-op
  ASSERT_THAT(store->BeginWrite(), IsOkAndHolds(0));
  v1::Specialist a = StoredSpecialist("s-aaaa", "1");
  ASSERT_THAT(store->Commit(WriteBatch{{&a}, {}}), IsOkAndHolds(1));
  // After a commit the write is over: a new one can begin.
  ASSERT_THAT(store->BeginWrite(), IsOkAndHolds(1));
  store->AbortWrite();
  EXPECT_EQ(LoadAllRecords(*store).size(), 1u);
}

TEST_P(StoreConformanceTest, SchemaBehindIsRefusedWithoutMigrating) {
  EXPECT_THAT(Open(/*migrate=*/false), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(MigrationReport report, MigrateStore(config_));
  EXPECT_EQ(report.from, 0);
  EXPECT_EQ(report.to, LatestSchema());
  ASSERT_OK_AND_ASSIGN(report, MigrateStore(config_));  // idempotent
  EXPECT_EQ(report.from, LatestSchema());
  EXPECT_THAT(Open(/*migrate=*/false), IsOk());
}

TEST_P(StoreConformanceTest, SchemaNewerThanTheBinaryIsRefused) {
  { ASSERT_OK_AND_ASSIGN(auto store, Open()); }
  ExecSql("INSERT INTO schema_migrations(version, description, applied_at) "
          "VALUES (999, 'from the future', '2030-01-01T00:00:00Z')");
  absl::StatusOr<std::unique_ptr<SpecialistStore>> store = Open();
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store.status().message(), ::testing::HasSubstr("newer"));
}

struct RedactionCase {
  const char* name;
  std::string url;
  std::string expected;
};

class RedactedDatabaseUrlTest : public ::testing::TestWithParam<RedactionCase> {};

TEST_P(RedactedDatabaseUrlTest, ShowsNoSecret) {
  const std::string shown = RedactedDatabaseUrl(GetParam().url);
  EXPECT_EQ(shown, GetParam().expected);
  for (const char* secret : {"s3cr", "sekrit", "other", "pa/ss", "ss@", "zz"}) {
    EXPECT_THAT(shown, ::testing::Not(::testing::HasSubstr(secret))) << GetParam().url;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Urls, RedactedDatabaseUrlTest,
    ::testing::Values(
        RedactionCase{"UriWithoutPassword", "postgresql://expertise@127.0.0.1:5432/registry?sslmode=disable",
                      "postgresql://expertise@127.0.0.1:5432/registry?sslmode=disable"},
        RedactionCase{"UriPassword", "postgresql://alice:s3cr%40t@db.example:5432/expertise?sslmode=require",
                      "user=alice password=*** dbname=expertise host=db.example port=5432 sslmode=require"},
        RedactionCase{"QueryPassword", "postgres://db.example/expertise?password=sekrit",
                      "password=*** dbname=expertise host=db.example"},
        RedactionCase{"KeywordValues", "host=db user=alice password='sekrit word' sslpassword=other dbname='my db'",
                      "user=alice password=*** dbname='my db' host=db sslpassword=***"},
        RedactionCase{"KeywordValuesWithoutPassword", "host=/run/postgresql dbname=expertise",
                      "host=/run/postgresql dbname=expertise"},
        RedactionCase{"UnencodedAt", "postgresql://alice:pa@ss@db.example/expertise",
                      "postgresql:// (connection string not shown: an unencoded '@', '/', '?' or '#' in its "
                      "user info makes it ambiguous)"},
        RedactionCase{"UnencodedSlash", "postgresql://alice:pa/ss@db.example/expertise",
                      "postgresql:// (connection string not shown: an unencoded '@', '/', '?' or '#' in its "
                      "user info makes it ambiguous)"},
        RedactionCase{"UnparsableUri", "postgresql://alice:s3cr%zzt@db.example:5432/expertise",
                      "postgresql://db.example:5432 (connection string not shown: libpq cannot parse it)"},
        RedactionCase{"UnparsableKeywordValues", "host=db password=sekrit zz",
                      "(connection string not shown: libpq cannot parse it)"}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformanceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& test_info) { return test_info.param; });

}  // namespace
}  // namespace expertise::registry
