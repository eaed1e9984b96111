// Two real expertise-registry processes serving one region from one
// PostgreSQL database (a throwaway local cluster), as deployed: the schema
// migrated once by `expertise-registry migrate`, the replicas started with
// --no-migrate-on-start. A write through either is visible to searches on
// the other within a second, and etags decide between them.

#include <signal.h>

#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/rpc/grpc_status.h"
#include "tests/testutil/credentials.h"
#include "tests/testutil/postgres_cluster.h"
#include "tests/testutil/registry_process.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/subprocess.h"
#include "tests/testutil/temp_dir.h"

namespace expertise {
namespace {

using registry::v1::RegistryService;
using ::testing::HasSubstr;

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

// A Blackburn QToD, placed at the authority's centre.
registry::v1::CreateSpecialistRequest CreateRequest(const std::string& external_id) {
  registry::v1::CreateSpecialistRequest create;
  create.set_parent("regions/north-west");
  *create.mutable_specialist() = testing::ValidSpecialist(external_id, "E06000008");
  create.mutable_specialist()->clear_base_location();
  create.mutable_specialist()->clear_covered_authorities();
  return create;
}

class ReplicaServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = testing::SharedPostgresCluster().CreateDatabase(
        absl::StrCat("north_west_", getpid(), "_", counter_++));
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
  }

  testing::CommandResult Migrate() {
    return testing::RunCommand({testing::BinaryPath("expertise-registry"), "migrate", "--region",
                                "north-west", "--store", "postgres", "--database-url", url_});
  }

  absl::StatusOr<std::unique_ptr<testing::RegistryProcess>> StartReplica(const std::string& name) {
    return testing::RegistryProcess::Start(
        "E12000002", dir_.File(name),
        {"--store", "postgres", "--database-url", url_, "--no-migrate-on-start",
         "--replica-poll-ms", "100", "--audit-log", dir_.File(name + ".audit.jsonl")});
  }

  static inline int counter_ = 0;
  testing::TempDir dir_;
  std::string url_;
};

TEST_F(ReplicaServerTest, ReplicasRefuseAnUnmigratedDatabaseUntilMigrateRuns) {
  const testing::CommandResult refused = testing::RunCommand(
      {testing::BinaryPath("expertise-registry"), "--region", "north-west", "--listen",
       "127.0.0.1:0", "--store", "postgres", "--database-url", url_, "--no-migrate-on-start",
       "--audit-log", dir_.File("x.audit.jsonl"), "--insecure-dev", "--api-keys",
       testing::KeyringPath()});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("expertise-registry migrate"));

  const testing::CommandResult migrated = Migrate();
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_THAT(migrated.out, HasSubstr("schema version 0 -> 1"));
  EXPECT_THAT(migrated.out, ::testing::Not(HasSubstr("password")));
  const testing::CommandResult again = Migrate();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("schema version 1 -> 1"));
}

TEST_F(ReplicaServerTest, BadStoreSettingsAreRefusedWithAPlainMessage) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--store", "postgres"}, 2, "--database-url"},
      {{"--store", "postgres", "--database-url", url_}, 2, "--audit-log"},
      {{"--store", "sqlite"}, 2, "--db"},
      {{"--store", "oracle", "--db", dir_.File("x.db")}, 105, "sqlite"},
      {{"--store", "postgres", "--audit-log", dir_.File("y.audit"), "--database-url",
        "postgresql://expertise@127.0.0.1:1/nowhere?connect_timeout=2"},
       1,
       "cannot connect"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {testing::BinaryPath("expertise-registry"), "--region",
                                     "north-west", "--listen", "127.0.0.1:0", "--insecure-dev",
                                     "--api-keys", testing::KeyringPath()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const testing::CommandResult result = testing::RunCommand(argv);
    SCOPED_TRACE(absl::StrJoin(c.args, " "));
    EXPECT_EQ(result.exit_code, c.exit_code) << result.err;
    EXPECT_THAT(result.err + result.out, HasSubstr(c.message));
  }
}

TEST_F(ReplicaServerTest, AWriteThroughOneReplicaIsSearchableOnTheOtherWithinOneSecond) {
  ASSERT_EQ(Migrate().exit_code, 0);
  auto a = StartReplica("a");
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = StartReplica("b");
  ASSERT_TRUE(b.ok()) << b.status();
  auto stub_a = (*a)->NewStub();
  auto stub_b = (*b)->NewStub();

  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    RegistryService::Stub& writer = round % 2 == 0 ? *stub_a : *stub_b;
    RegistryService::Stub& reader = round % 2 == 0 ? *stub_b : *stub_a;
    const registry::v1::CreateSpecialistRequest create =
        CreateRequest(absl::StrCat("replica-", round));
    registry::v1::Specialist created;
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(In(10));
      const grpc::Status status = writer.CreateSpecialist(&ctx, create, &created);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
    const auto written = std::chrono::steady_clock::now();
    // The acceptance bound of the issue: visible on the other replica within
    // one second of the writer's answer (replicas poll every 100 ms here,
    // leaving room for a loaded, sanitised test machine).
    bool found = false;
    while (!found && std::chrono::steady_clock::now() - written < std::chrono::seconds(1)) {
      registry::v1::SearchSpecialistsRequest search;
      search.set_parent("regions/north-west");
      search.add_roles("qualified-teacher-deaf");
      search.set_near_authority("E06000008");
      search.set_page_size(100);
      registry::v1::SearchSpecialistsResponse response;
      grpc::ClientContext ctx;
      ctx.set_deadline(In(5));
      ASSERT_TRUE(reader.SearchSpecialists(&ctx, search, &response).ok());
      for (const auto& r : response.results()) found |= r.specialist().name() == created.name();
      if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(found) << created.name() << " not searchable on the other replica within 1 s";
  }

  // Etags decide between replicas: B updates with the etag it read; A's
  // update with the same (now stale) etag is refused.
  registry::v1::ListSpecialistsRequest list;
  list.set_parent("regions/north-west");
  registry::v1::ListSpecialistsResponse listed;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    ASSERT_TRUE(stub_b->ListSpecialists(&ctx, list, &listed).ok());
  }
  ASSERT_EQ(listed.specialists_size(), 5);
  const registry::v1::Specialist& target = listed.specialists(0);
  registry::v1::UpdateCapacityRequest update;
  update.set_name(target.name());
  update.set_etag(target.etag());
  update.mutable_capacity()->set_committed_hours_per_week(10);
  update.mutable_update_mask()->add_paths("committed_hours_per_week");
  registry::v1::Specialist updated;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    const grpc::Status status = stub_b->UpdateCapacity(&ctx, update, &updated);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    registry::v1::Specialist ignored;
    const grpc::Status status = stub_a->UpdateCapacity(&ctx, update, &ignored);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  }

  // Connections killed under both replicas: they reconnect on their own.
  ASSERT_TRUE(testing::SharedPostgresCluster()
                  .Psql("postgres",
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'expertise-registry'")
                  .ok());
  registry::v1::Specialist after_kill;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    const grpc::Status status =
        stub_a->CreateSpecialist(&ctx, CreateRequest("after-kill"), &after_kill);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  grpc::Status got;
  do {
    registry::v1::GetSpecialistRequest get;
    get.set_name(after_kill.name());
    registry::v1::Specialist ignored;
    grpc::ClientContext ctx;
    ctx.set_deadline(In(5));
    got = stub_b->GetSpecialist(&ctx, get, &ignored);
    if (!got.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (!got.ok() && std::chrono::steady_clock::now() < deadline);
  EXPECT_TRUE(got.ok()) << got.error_message();
}

// The directory in front of a region's two replicas (a target naming both,
// as a headless Service resolves): calls are spread over them, and when one
// replica dies the region keeps answering through the other.
TEST_F(ReplicaServerTest, TheDirectoryKeepsAnsweringWhenOneReplicaDies) {
  ASSERT_EQ(Migrate().exit_code, 0);
  auto a = StartReplica("a");
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = StartReplica("b");
  ASSERT_TRUE(b.ok()) << b.status();
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    registry::v1::Specialist created;
    ASSERT_TRUE((*a)->NewStub()->CreateSpecialist(&ctx, CreateRequest("seen-via-directory"),
                                                  &created).ok());
  }
  auto directory = testing::DirectoryProcess::Start(
      dir_.path(), {{"north-west", absl::StrCat("ipv4:", (*a)->address(), ",", (*b)->address())}});
  ASSERT_TRUE(directory.ok()) << directory.status();
  auto stub = (*directory)->NewStub();
  auto search_ok = [&]() -> bool {
    registry::v1::SearchSpecialistsRequest search;
    search.set_parent("regions/north-west");
    search.add_roles("qualified-teacher-deaf");
    registry::v1::SearchSpecialistsResponse response;
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    const grpc::Status status = stub->SearchSpecialists(&ctx, search, &response);
    return status.ok() && response.unreachable().empty() && response.results_size() == 1;
  };
  // Both replicas have the record (B within its poll interval).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(search_ok()) << "call " << i;

  (*a)->process().Signal(SIGKILL);
  (*a)->process().Wait(std::chrono::seconds(10));
  // round_robin drops the dead replica as soon as its connection fails; the
  // first call may still be on its way to it.
  (void)search_ok();
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(search_ok()) << "call " << i << " after the kill";
}

}  // namespace
}  // namespace expertise
