#include "services/registry/sqlite_store.h"

#include <sqlite3.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

v1::Specialist Named(const std::string& id, const std::string& external_id) {
  v1::Specialist s = ValidSpecialist(external_id);
  s.set_name("regions/north-east/specialists/" + id);
  s.set_etag("1-a");
  return s;
}

std::vector<v1::Specialist> LoadAll(SpecialistStore& store) {
  std::vector<v1::Specialist> out;
  EXPECT_THAT(store.LoadAll([&](v1::Specialist s) {
    out.push_back(std::move(s));
    return absl::OkStatus();
  }),
              IsOk());
  return out;
}

TEST(SqliteStoreTest, CreatesSchemaAndRoundTripsRecords) {
  TempDir dir;
  const std::string path = dir.File("r.db");
  {
    ASSERT_OK_AND_ASSIGN(auto store, SqliteStore::Open(path));
    EXPECT_EQ(store->schema_version(), SqliteLatestSchemaVersion());
    v1::Specialist a = Named("s-aaaa", "1"), b = Named("s-bbbb", "2");
    ASSERT_THAT(store->Commit(WriteBatch{{&a, &b}, {}}), IsOk());
  }
  ASSERT_OK_AND_ASSIGN(auto store, SqliteStore::Open(path));  // reopening migrates nothing
  auto loaded = LoadAll(*store);
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
  v1::Specialist a = Named("s-aaaa", "1");
  ASSERT_THAT(store->Commit(WriteBatch{{&a}, {}}), IsOk());
  // The second record repeats the first's (authority, source, external id):
  // the unique constraint fails and the first put of this batch rolls back too.
  v1::Specialist b = Named("s-bbbb", "2"), c = Named("s-cccc", "1");
  EXPECT_THAT(store->Commit(WriteBatch{{&b, &c}, {"s-aaaa"}}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  auto loaded = LoadAll(*store);
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
    v1::Specialist a = Named("s-aaaa", "1");
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
