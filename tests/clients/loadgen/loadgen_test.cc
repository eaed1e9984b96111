// The real expertise-loadgen binary against a real registry on loopback.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "services/common/csv.h"
#include "tests/testutil/credentials.h"
#include "tests/testutil/registry_process.h"
#include "tests/testutil/temp_dir.h"

namespace expertise {
namespace {

using testing::BinaryPath;
using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class LoadgenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    // expertctl and the load generator call as the North East's coordinator.
    testing::UseCaller("coordinator/E12000001");
    auto server = testing::RegistryProcess::Start("north-east", dir_->File("ne.db"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    // Some specialists, so searches have results to return.
    auto sample = testing::RunCommand({BinaryPath("expertise-sampledata"), "--region", "north-east",
                                       "--count", "300", "--seed", "7"});
    ASSERT_EQ(sample.exit_code, 0) << sample.err;
    std::ofstream(dir_->File("sample.jsonl")) << sample.out;
    auto upsert = testing::RunCommand({BinaryPath("expertctl"), "--server", server_->address(), "upsert",
                                       "-f", dir_->File("sample.jsonl")});
    ASSERT_EQ(upsert.exit_code, 0) << upsert.err;
    std::ofstream(dir_->File("search.json"))
        << R"({"parent": "regions/north-east", "near_authority": "E06000047", "within_km": 60, "page_size": 20})";
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  // Runs expertise-loadgen against the registry.
  static CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {EXPERTISE_LOADGEN_BIN, "--server", server_->address()});
    return testing::RunCommand(args, {}, std::chrono::seconds(120));
  }

  // Checks what every scenario of a clean run must satisfy.
  static void ExpectCleanScenario(const nlohmann::json& scenario, int64_t count) {
    SCOPED_TRACE(scenario["name"].get<std::string>());
    EXPECT_EQ(scenario["count"], count);
    EXPECT_EQ(scenario["ok"], count);
    EXPECT_EQ(scenario["error_count"], 0);
    EXPECT_EQ(scenario["errors"], nlohmann::json::object());
    const auto& latency = scenario["latency_us"];
    const std::vector<int64_t> ordered = {latency["min"], latency["p50"], latency["p90"],
                                          latency["p99"], latency["p99_9"], latency["max"]};
    EXPECT_TRUE(std::is_sorted(ordered.begin(), ordered.end())) << latency.dump();
    EXPECT_GT(latency["max"].get<int64_t>(), 0);
    EXPECT_GE(latency["mean"].get<double>(), latency["min"].get<double>());
    EXPECT_LE(latency["mean"].get<double>(), latency["max"].get<double>());
    int64_t in_bins = 0;
    for (const auto& bin : scenario["histogram"]) in_bins += bin["count"].get<int64_t>();
    EXPECT_EQ(in_bins, count);
    EXPECT_GT(scenario["duration_seconds"].get<double>(), 0);
    EXPECT_GT(scenario["rate_per_second"].get<double>(), 0);
  }

  static testing::TempDir* dir_;
  static testing::RegistryProcess* server_;
};
testing::TempDir* LoadgenTest::dir_ = nullptr;
testing::RegistryProcess* LoadgenTest::server_ = nullptr;

TEST_F(LoadgenTest, HealthAndSearchInOneRunWithTheEmptyCallAsBaseline) {
  auto r = Run({"--scenario", "health", "--scenario", "search=@" + dir_->File("search.json"), "-n", "300",
                "-c", "4", "--connections", "2", "--warmup", "20", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["baseline"], "health");
  EXPECT_EQ(report["concurrency"], 4);
  EXPECT_EQ(report["connections"], 2);
  ASSERT_EQ(report["scenarios"].size(), 2u);
  EXPECT_EQ(report["scenarios"][0]["method"], "/grpc.health.v1.Health/Check");
  EXPECT_EQ(report["scenarios"][1]["method"], "/expertise.registry.v1.RegistryService/SearchSpecialists");
  ExpectCleanScenario(report["scenarios"][0], 300);
  ExpectCleanScenario(report["scenarios"][1], 300);
  EXPECT_FALSE(report["scenarios"][0].contains("vs_baseline"));
  EXPECT_GT(report["scenarios"][1]["vs_baseline"]["p50"].get<double>(), 0);
}

TEST_F(LoadgenTest, SearchRequestInlineWithCall) {
  auto r = Run({"--call", "search", "--request", R"({"parent": "regions/-", "page_size": 5})", "-n", "50",
                "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectCleanScenario(nlohmann::json::parse(r.out)["scenarios"][0], 50);
}

TEST_F(LoadgenTest, OpenLoopKeepsToTheRate) {
  // 100 calls due every 5 ms: the last is due 495 ms after the first, so the
  // run cannot be shorter, nor (much) faster than 200 calls/s.
  auto r = Run({"--call", "health", "-r", "200", "-n", "100", "-c", "8", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["rate"], 200);
  const auto& scenario = report["scenarios"][0];
  ExpectCleanScenario(scenario, 100);
  EXPECT_GE(scenario["duration_seconds"].get<double>(), 0.495);
  EXPECT_LE(scenario["rate_per_second"].get<double>(), 202.1);
}

TEST_F(LoadgenTest, DurationBoundsTheRun) {
  const auto start = std::chrono::steady_clock::now();
  auto r = Run({"--call", "health", "-z", "300ms", "--warmup", "100ms", "-c", "2", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  const auto report = nlohmann::json::parse(r.out);
  const auto& scenario = report["scenarios"][0];
  EXPECT_GT(scenario["count"].get<int64_t>(), 0);
  EXPECT_EQ(scenario["error_count"], 0);
  EXPECT_GE(scenario["duration_seconds"].get<double>(), 0.29);
}

TEST_F(LoadgenTest, FailedCallsAreCountedByCodeNotFatal) {
  // Age must be 0 to 25: every call fails with INVALID_ARGUMENT.
  auto r = Run({"--scenario", R"(search={"parent": "regions/north-east", "age": 99})", "-n", "40", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  const auto& scenario = report["scenarios"][0];
  EXPECT_EQ(scenario["count"], 40);
  EXPECT_EQ(scenario["ok"], 0);
  EXPECT_EQ(scenario["errors"]["INVALID_ARGUMENT"], 40);
}

TEST_F(LoadgenTest, TableHasHistogramAndSummary) {
  auto r = Run({"--scenario", "health", "--scenario", "search=@" + dir_->File("search.json"), "-n", "200"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("histogram  (successful calls)"));
  EXPECT_THAT(r.out, HasSubstr("|#"));
  EXPECT_THAT(r.out, HasSubstr("vs health  mean x"));
  EXPECT_THAT(r.out, HasSubstr("p50/health"));
}

TEST_F(LoadgenTest, CsvHasARowPerScenario) {
  auto r = Run({"--scenario", "health", "--scenario", "health", "-n", "20", "-o", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = ParseCsv(r.out);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[1][0], "health");
  EXPECT_EQ((*rows)[2][0], "health#2");
  EXPECT_EQ((*rows)[2][2], "20");
}

TEST_F(LoadgenTest, BadRequestJsonExitsTwoWithAClearMessage) {
  auto r = Run({"--call", "search", "--request", R"({"parent": "regions/-", "rolez": ["x"]})"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--request: not a valid expertise.registry.v1.SearchSpecialistsRequest"));
  EXPECT_THAT(r.err, HasSubstr("rolez"));
  EXPECT_THAT(r.out, IsEmpty());

  auto broken = Run({"--scenario", "health", "--scenario", R"(search={"parent": )"});
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_THAT(broken.err, HasSubstr("not a valid expertise.registry.v1.SearchSpecialistsRequest in proto3 JSON"));
}

TEST_F(LoadgenTest, BadFlagsExitTwo) {
  EXPECT_EQ(Run({"--call", "health", "--concurrency", "many"}).exit_code, 2);
  EXPECT_EQ(Run({"--call", "health", "--duration", "soon"}).exit_code, 2);
  EXPECT_EQ(Run({"--call", "health", "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(Run({}).exit_code, 2);
}

TEST(LoadgenUnreachableTest, ExitsOneWhenTheServerCannotBeReached) {
  // A loopback port that was free a moment ago and has no listener.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t length = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  close(fd);

  auto r = testing::RunCommand(
      {EXPERTISE_LOADGEN_BIN, "--server", address, "--call", "health", "--connect-timeout", "500ms"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot reach " + address));
}

}  // namespace
}  // namespace expertise
