#include "services/registry/sqlite_store.h"

#include <sqlite3.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/services/registry/store_test_util.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/subprocess.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::registry {
namespace {

using ::expertise::testing::IsOk;
using ::expertise::testing::StatusIs;
using ::expertise::testing::TempDir;
using ::expertise::testing::ValidSpecialist;



TEST(SqliteStoreTest, CreatesSchemaAndRoundTripsRecords) {
  TempDir dir;
  const std::string path = dir.File("r.db");
  {
    ASSERT_OK_AND_ASSIGN(auto store, SqliteStore::Open(path));
    EXPECT_EQ(store->schema_version(), SqliteLatestSchemaVersion());
    v1::Specialist a = StoredSpecialist("s-aaaa", "1"), b = StoredSpecialist("s-bbbb", "2");
    ASSERT_THAT(store->Commit(WriteBatch{{&a, &b}, {}}), IsOk());
  }
  ASSERT_OK_AND_ASSIGN(auto store, SqliteStore::Open(path));  // reopening migrates nothing
  auto loaded = LoadAllRecords(*store);
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].name(), "regions/north-east/specialists/s-aaaa");
  EXPECT_EQ(loaded[1].display_name(), "Test Person 2");
}

TEST(SqliteStoreTest, UsesWalAndFullSync) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, SqliteStore::Open(dir.File("r.db")));
  store.reset();
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(dir.File("r.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(SqliteStoreTest, BatchIsAllOrNothing) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, SqliteStore::Open(dir.File("r.db")));
  v1::Specialist a = StoredSpecialist("s-aaaa", "1");
  ASSERT_THAT(store->Commit(WriteBatch{{&a}, {}}), IsOk());
  // The second record repeats the first's (authority, source, external id):
  // the unique constraint fails and the first put of this batch rolls back too.
  v1::Specialist b = StoredSpecialist("s-bbbb", "2"), c = StoredSpecialist("s-cccc", "1");
  EXPECT_THAT(store->Commit(WriteBatch{{&b, &c}, {"s-aaaa"}}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  auto loaded = LoadAllRecords(*store);
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].name(), a.name());
}

TEST(SqliteStoreTest, RefusesASecondProcessOnTheSameFile) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto first, SqliteStore::Open(dir.File("r.db")));
  EXPECT_THAT(SqliteStore::Open(dir.File("r.db")), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(SqliteStoreTest, RefusesANewerSchema) {
  TempDir dir;
  { ASSERT_OK_AND_ASSIGN(auto store, SqliteStore::Open(dir.File("r.db"))); }
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(dir.File("r.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto reopened = SqliteStore::Open(dir.File("r.db"));
  EXPECT_THAT(reopened, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(reopened.status().message()), ::testing::HasSubstr("newer"));
}

// A database written before revisions (schema 3, the issue-6 release) is
// upgraded in place: its records are kept and later commits are numbered.
TEST(SqliteStoreTest, UpgradesASchema3DatabaseKeepingItsRecords) {
  TempDir dir;
  v1::Specialist a = StoredSpecialist("s-aaaa", "1"), b = StoredSpecialist("s-bbbb", "2");
  {
    ASSERT_OK_AND_ASSIGN(auto store, SqliteStore::Open(dir.File("r.db")));
    ASSERT_THAT(store->Commit(WriteBatch{{&a, &b}, {}}), IsOk());
  }
  // Take migration 4 back out, as a schema-3 binary left the file.
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(dir.File("r.db").c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  ASSERT_EQ(sqlite3_exec(db, R"sql(
      DROP TABLE store_state;
      DROP TABLE deleted_specialists;
      DROP INDEX specialists_by_revision;
      DROP INDEX support_requests_by_revision;
      DROP INDEX imports_by_revision;
      ALTER TABLE specialists DROP COLUMN revision;
      ALTER TABLE support_requests DROP COLUMN revision;
      ALTER TABLE imports DROP COLUMN revision;
      DELETE FROM schema_migrations WHERE version = 4;)sql",
                         nullptr, nullptr, &error),
            SQLITE_OK)
      << (error ? error : "");
  sqlite3_close(db);

  EXPECT_THAT(SqliteStore::Open(dir.File("r.db"), /*migrate=*/false),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(auto store, SqliteStore::Open(dir.File("r.db")));
  EXPECT_EQ(store->schema_version_at_open(), 3);
  EXPECT_EQ(store->schema_version(), SqliteLatestSchemaVersion());
  EXPECT_EQ(LoadAllRecords(*store).size(), 2u);
  ASSERT_OK_AND_ASSIGN(int64_t revision, store->CurrentRevision());
  EXPECT_EQ(revision, 0);
  a.set_display_name("After the upgrade");
  ASSERT_OK_AND_ASSIGN(revision, store->Commit(WriteBatch{{&a}, {}}));
  EXPECT_EQ(revision, 1);
  ASSERT_OK_AND_ASSIGN(StoreChanges changes, store->ChangesSince(0));
  ASSERT_EQ(changes.specialists.size(), 1u);
  EXPECT_EQ(changes.specialists[0].display_name(), "After the upgrade");
}

TEST(SqliteStoreTest, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  FILE* f = fopen(dir.File("junk.db").c_str(), "w");
  fputs("this is not a database, just text that is long enough to matter ........", f);
  fclose(f);
  EXPECT_FALSE(SqliteStore::Open(dir.File("junk.db")).ok());
}

TEST(SqliteStoreTest, DeleteLeavesNoPersonalDataInTheFiles) {
  TempDir dir;
  const std::string marker = "Zebedee-Unmistakable-Surname";
  {
    ASSERT_OK_AND_ASSIGN(auto store, SqliteStore::Open(dir.File("r.db")));
    v1::Specialist a = StoredSpecialist("s-aaaa", "1");
    a.set_display_name(marker);
    a.mutable_work_contact()->set_email("zebedee@x.example.org");
    ASSERT_THAT(store->Commit(WriteBatch{{&a}, {}}), IsOk());
    v1::Specialist renamed = a;  // an older version of the record lingers in the WAL
    renamed.set_display_name("Renamed");
    ASSERT_THAT(store->Commit(WriteBatch{{&renamed}, {}}), IsOk());
    ASSERT_THAT(store->Commit(WriteBatch{{}, {"s-aaaa"}}), IsOk());
    // Checked while the store is still open: no checkpoint on close helps here.
    std::string bytes =
        testing::ReadFile(dir.File("r.db")) + testing::ReadFile(dir.File("r.db-wal"));
    EXPECT_EQ(bytes.find(marker), std::string::npos);
    EXPECT_EQ(bytes.find("zebedee@"), std::string::npos);
  }
}

}  // namespace
}  // namespace expertise::registry
