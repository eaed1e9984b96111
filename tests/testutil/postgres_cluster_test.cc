#include "tests/testutil/postgres_cluster.h"

#include <signal.h>

#include <cerrno>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testutil/status_matchers.h"
#include "tests/testutil/subprocess.h"

namespace expertise::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The output, or the error as text, so a failure shows what psql said.
std::string ValueOrError(const absl::StatusOr<std::string>& result) {
  return result.ok() ? *result : "error: " + result.status().ToString();
}

// Each TEST runs in its own process under ctest, and each process starts its
// own shared cluster (about two seconds), so the cases are few and broad.

TEST(PostgresClusterTest, SharedClusterCreatesDatabasesAndRunsSql) {
  PostgresCluster& cluster = SharedPostgresCluster();
  EXPECT_EQ(&cluster, &SharedPostgresCluster());
  EXPECT_GT(cluster.port(), 0);

  ASSERT_OK_AND_ASSIGN(const std::string url_a, cluster.CreateDatabase("store_a"));
  ASSERT_OK_AND_ASSIGN(const std::string url_b, cluster.CreateDatabase("store_b"));
  EXPECT_NE(url_a, url_b);
  EXPECT_EQ(url_a, "postgresql://expertise@127.0.0.1:" + std::to_string(cluster.port()) +
                       "/store_a?sslmode=disable&gssencmode=disable");
  EXPECT_EQ(url_a, cluster.Url("store_a"));
  EXPECT_THAT(cluster.CreateDatabase("store_a"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(cluster.CreateDatabase("Bad-Name"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(cluster.CreateDatabase(""), StatusIs(absl::StatusCode::kInvalidArgument));

  EXPECT_EQ(ValueOrError(cluster.Psql("store_a", "SELECT 1+1")), "2\n");
  ASSERT_THAT(cluster.Psql("store_a",
                           "CREATE TABLE t (id int PRIMARY KEY, name text);\n"
                           "INSERT INTO t VALUES (1, 'one'), (2, 'two');"),
              IsOk());
  EXPECT_EQ(ValueOrError(cluster.Psql("store_a", "SELECT id, name FROM t ORDER BY id")), "1|one\n2|two\n");
  // The databases are distinct: store_b has no table t.
  auto missing = cluster.Psql("store_b", "SELECT count(*) FROM t");
  EXPECT_THAT(missing, Not(IsOk()));
  EXPECT_THAT(missing.status().message(), HasSubstr("does not exist"));
  // ON_ERROR_STOP: the script stops at the first error.
  EXPECT_THAT(cluster.Psql("store_a", "INSERT INTO t VALUES (1, 'dup');\nINSERT INTO t VALUES (3, 'x');"),
              Not(IsOk()));
  EXPECT_EQ(ValueOrError(cluster.Psql("store_a", "SELECT count(*) FROM t")), "2\n");

  // The URL works with the ordinary client (Debian's /usr/bin/psql wrapper).
  const CommandResult plain = RunCommand({"/usr/bin/psql", url_b, "-X", "-A", "-t", "-c", "select 1"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "1\n");
}

TEST(PostgresClusterTest, SecondClusterRunsAlongsideAndIsRemovedOnDestruction) {
  PostgresCluster& shared = SharedPostgresCluster();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PostgresCluster> second, PostgresCluster::Start());
  EXPECT_NE(second->port(), shared.port());
  EXPECT_EQ(ValueOrError(second->Psql("postgres", "SELECT 40+2")), "42\n");
  EXPECT_EQ(ValueOrError(shared.Psql("postgres", "SELECT 6*7")), "42\n");
  EXPECT_THAT(second->log(), HasSubstr("ready to accept connections"));

  const std::string dir = second->directory();
  const pid_t pid = second->postmaster_pid();
  const int port = second->port();
  ASSERT_TRUE(std::filesystem::exists(dir + "/data/PG_VERSION"));
  ASSERT_EQ(kill(pid, 0), 0);
  second.reset();

  EXPECT_FALSE(std::filesystem::exists(dir));
  errno = 0;
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  const CommandResult gone = RunCommand({"/usr/lib/postgresql/15/bin/pg_isready", "-h", "127.0.0.1",
                                         "-p", std::to_string(port), "-t", "2"});
  EXPECT_NE(gone.exit_code, 0);
  // The shared one is unaffected.
  EXPECT_EQ(ValueOrError(shared.Psql("postgres", "SELECT 1")), "1\n");
}

}  // namespace
}  // namespace expertise::testing
