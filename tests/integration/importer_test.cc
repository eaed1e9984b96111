// The importer end to end: hostile plugins through the real sandboxed
// runner, and imports into a real registry process through expertctl.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <ostream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/importer/plugin_run.h"
#include "services/importer/record_decoder.h"
#include "tests/testutil/credentials.h"
#include "tests/testutil/registry_process.h"
#include "tests/testutil/subprocess.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::importer {
namespace {

using ::testing::HasSubstr;
using testing::RunCommand;
using Config = std::map<std::string, std::string>;

const std::string kPlugins = EXPERTISE_PLUGIN_DIR;
const std::string kTestPlugins = EXPERTISE_TEST_PLUGIN_DIR;
const std::string kSource = EXPERTISE_SOURCE_DIR;

std::string Hostile() { return kTestPlugins + "/expertise_importer_hostile.so"; }

// Collects what the plugin sends and checks records like the host does.
class Recorder : public RunObserver {
 public:
  explicit Recorder(Config config) : config_(std::move(config)) {}
  absl::Status OnHello(const v1::PluginDescription&, Isolation, v1::RunRequest* request) override {
    for (const auto& [k, v] : config_) (*request->mutable_config())[k] = v;
    request->set_sync_mode(1);
    return absl::OkStatus();
  }
  bool OnRecord(const v1::EmittedRecord& record) override {
    records.push_back(record.json());
    registry::v1::Specialist s;
    std::vector<RecordProblem> problems;
    std::string id;
    if (!DecodeRecord(record.json(), Context(), &s, &problems, &id)) ++host_rejects;
    return true;
  }
  bool OnReject(const v1::PluginReject& reject) override {
    plugin_rejects.push_back(reject);
    return true;
  }
  void OnLog(const v1::LogLine& line) override { logs.push_back(line.message()); }
  static DecodeContext Context() {
    DecodeContext c;
    c.authority = "E06000001";
    c.source = "hostile";
    c.now = absl::Now();
    return c;
  }
  std::vector<std::string> records;
  std::vector<v1::PluginReject> plugin_rejects;
  std::vector<std::string> logs;
  int host_rejects = 0;

 private:
  std::map<std::string, std::string> config_;
};

RunOptions Options() {
  RunOptions o;
  o.plugin_path = Hostile();
  o.timeout = absl::Seconds(20);
  o.cancel_grace = absl::Seconds(1);
  o.memory_mb = 256;
  return o;
}

RunResult RunHostile(const std::string& behaviour, Recorder* recorder, RunOptions options = Options()) {
  v1::RunRequest request;
  return RunPlugin(options, request, recorder);
}

struct FaultCase {
  std::string behaviour;
  RunEnd end;
  std::string cause;
};

// Names the case in test listings (instead of a byte dump).
void PrintTo(const FaultCase& c, std::ostream* os) { *os << c.behaviour; }

class HostilePluginTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(HostilePluginTest, IsContainedAndReported) {
  const FaultCase& c = GetParam();
  Recorder recorder(Config{{"behaviour", c.behaviour}});
  RunOptions options = Options();
  if (c.behaviour == "hang") options.timeout = absl::Seconds(2);
  const absl::Time start = absl::Now();
  RunResult result = RunHostile(c.behaviour, &recorder, options);
  EXPECT_EQ(result.end, c.end) << RunEndName(result.end) << ": " << DescribeRun(result);
  EXPECT_THAT(result.cause, HasSubstr(c.cause));
  // The report names the plugin, its version and the records done.
  const std::string report = DescribeRun(result);
  EXPECT_THAT(report, HasSubstr("plugin 'hostile' 0.0.1"));
  EXPECT_THAT(report, HasSubstr("after 2 records"));
  EXPECT_EQ(recorder.records.size(), 2u);
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
}

INSTANTIATE_TEST_SUITE_P(
    Faults, HostilePluginTest,
    ::testing::Values(FaultCase{"crash", RunEnd::kCrashed, "SIGSEGV"},
                      FaultCase{"abort", RunEnd::kCrashed, "SIGABRT"},
                      FaultCase{"exit", RunEnd::kExited, "exited with code 7"},
                      FaultCase{"hang", RunEnd::kTimedOut, "timed out after 2s"},
                      FaultCase{"memory", RunEnd::kMemoryLimit, "memory limit of 256 MiB"}),
    [](const auto& test_info) { return test_info.param.behaviour; });

TEST(HostilePluginTest, StdoutNeverReachesTheDataChannel) {
  Recorder recorder(Config{{"behaviour", "stdout"}});
  RunResult result = RunHostile("stdout", &recorder);
  ASSERT_TRUE(result.ok()) << DescribeRun(result);
  EXPECT_EQ(recorder.records.size(), 3u);
  for (const std::string& r : recorder.records) EXPECT_THAT(r, ::testing::Not(HasSubstr("injected")));
  const std::string output = absl::StrJoin(result.last_output, "\n");
  EXPECT_THAT(output, HasSubstr(R"({"externalId":"injected"})"));
  EXPECT_THAT(output, HasSubstr("plugin wrote to stderr"));
}

TEST(HostilePluginTest, GarbageRecordsAreRejectedNotTrusted) {
  Recorder recorder(Config{{"behaviour", "garbage"}});
  RunResult result = RunHostile("garbage", &recorder);
  ASSERT_TRUE(result.ok()) << DescribeRun(result);
  // 2 good records, then 6 malformed ones and one null record.
  EXPECT_EQ(recorder.records.size(), 9u);
  EXPECT_EQ(recorder.host_rejects, 7);
  ASSERT_EQ(recorder.plugin_rejects.size(), 1u);
  EXPECT_EQ(RejectReasonFromInt(recorder.plugin_rejects[0].reason()), RejectReason::kValue);
  EXPECT_THAT(absl::StrJoin(recorder.logs, "\n"), HasSubstr("checkpoint ignored"));
}

TEST(HostilePluginTest, NetworkIsUnreachableFromTheSandbox) {
  // A real listener on loopback that the plugin tries to reach.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  Recorder recorder(Config{{"behaviour", "network"}, {"port", std::to_string(port)}});
  RunResult result = RunHostile("network", &recorder);
  ASSERT_TRUE(result.ok()) << DescribeRun(result);
  EXPECT_GE(result.isolation, Isolation::kSeccomp);
  const std::string logs = absl::StrJoin(recorder.logs, "\n");
  EXPECT_THAT(logs, HasSubstr("network:"));
  EXPECT_THAT(logs, ::testing::Not(HasSubstr("CONNECTED")));
  // Nothing knocked.
  timeval tv{0, 100000};
  fd_set fds;
  FD_ZERO(&fds);
  FD_SET(listener, &fds);
  EXPECT_EQ(::select(listener + 1, &fds, nullptr, nullptr, &tv), 0);
  ::close(listener);
}

TEST(HostilePluginTest, ReportsTheIsolationActuallyAchieved) {
  Recorder recorder(Config{{"behaviour", "ok"}});
  RunResult result = RunHostile("ok", &recorder);
  ASSERT_TRUE(result.ok()) << DescribeRun(result);
  if (ProbeBwrap("/usr/bin/bwrap").ok()) {
    EXPECT_EQ(result.isolation, Isolation::kBwrap) << result.isolation_detail;
  } else {
    EXPECT_EQ(result.isolation, Isolation::kSeccomp) << result.isolation_detail;
    EXPECT_THAT(result.isolation_detail, HasSubstr("no bwrap"));
  }
  // Asking for more than the machine gives is refused, never degraded.
  RunOptions strict = Options();
  strict.min_isolation = Isolation::kBwrap;
  strict.bwrap_path = "/nonexistent/bwrap";
  Recorder second(Config{{"behaviour", "ok"}});
  RunResult refused = RunHostile("ok", &second, strict);
  EXPECT_EQ(refused.end, RunEnd::kIsolationRefused);
  EXPECT_TRUE(second.records.empty());
  RunOptions unsandboxed = Options();
  unsandboxed.no_sandbox = true;  // rlimits only, below the default minimum
  Recorder third(Config{{"behaviour", "ok"}});
  EXPECT_EQ(RunHostile("ok", &third, unsandboxed).end, RunEnd::kIsolationRefused);
  EXPECT_TRUE(third.records.empty());
}

TEST(HostilePluginTest, NewerAbiIsRefusedWithWhatToDo) {
  RunOptions options = Options();
  options.plugin_path = kTestPlugins + "/expertise_importer_future_abi.so";
  absl::StatusOr<v1::PluginDescription> d = DescribePlugin(options);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("needs plugin ABI 1.99; this host provides 1.0-1.0"));
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("Upgrade expertise-importer"));
}

// Imports into a real registry through the real expertctl.
class ImportEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = testing::RegistryProcess::Start("north-east", dir_.File("ne.db"));
    ASSERT_TRUE(started.ok()) << started.status();
    registry_ = *std::move(started);
    testing::UseCaller("coordinator/E12000001");
    std::ofstream(dir_.File("csv.json")) << R"({"value_map":["SALT=speech-language-therapist",)"
        R"("Speech and language therapist=speech-language-therapist","EP=educational-psychologist",)"
        R"("Educational psychologist=educational-psychologist","QToD=qualified-teacher-deaf",)"
        R"("SLCN=speech-language-communication","DLD=developmental-language-disorder",)"
        R"("Mainstream secondary=secondary","Early years PVI=early-years-pvi","Home=home-community"],)"
        R"("default_employer_type":"local_authority","default_visibility":"region",)"
        R"("default_delivery_modes":["in_person"]})";
  }
  testing::CommandResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {testing::BinaryPath("expertctl"), "-s", registry_->address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {{"EXPERTISE_IMPORTER_PATH", kPlugins}}, std::chrono::seconds(120));
  }
  testing::CommandResult ImportCsv(const std::string& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"import", "--plugin", "csv", "--authority", "E08000022", "--config",
                                     dir_.File("csv.json"), "--progress", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(kSource + "/plugins/csv/testdata/" + file);
    return Ctl(args);
  }
  int Count() {
    auto r = Ctl({"-o", "csv", "search", "--limit", "1000"});
    return static_cast<int>(std::count(r.out.begin(), r.out.end(), '\n')) - 1;
  }
  testing::TempDir dir_;
  std::unique_ptr<testing::RegistryProcess> registry_;
};

TEST_F(ImportEndToEndTest, ImportRetryAndReport) {
  testing::CommandResult first = ImportCsv("good.csv");
  ASSERT_EQ(first.exit_code, 0) << first.err << first.out;
  EXPECT_THAT(first.out, HasSubstr("SUCCEEDED"));
  EXPECT_THAT(first.out, ::testing::ContainsRegex("created +7"));
  EXPECT_EQ(Count(), 7);
  testing::CommandResult again = ImportCsv("good.csv");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("already imported"));
  EXPECT_EQ(Count(), 7);
}

TEST_F(ImportEndToEndTest, CrashingPluginChangesNothing) {
  ASSERT_EQ(ImportCsv("good.csv").exit_code, 0);
  std::ofstream(dir_.File("crash.json")) << R"({"behaviour":"crash","after_records":3})";
  std::ofstream(dir_.File("input.txt")) << "anything\n";
  testing::CommandResult crashed = Ctl({"import", "--plugin", Hostile(), "--authority", "E08000022", "--config",
                                        dir_.File("crash.json"), "--progress", "none", dir_.File("input.txt")});
  EXPECT_EQ(crashed.exit_code, 8) << crashed.err;
  EXPECT_THAT(crashed.err, HasSubstr("plugin 'hostile' 0.0.1 crashed with SIGSEGV"));
  EXPECT_THAT(crashed.err, HasSubstr("after 3 records"));
  EXPECT_THAT(crashed.err, HasSubstr("nothing was imported"));
  EXPECT_EQ(Count(), 7);
}

TEST_F(ImportEndToEndTest, RejectPoliciesAndListableRejects) {
  testing::CommandResult failed = ImportCsv("bad_date.csv");
  EXPECT_EQ(failed.exit_code, 7) << failed.err << failed.out;
  EXPECT_THAT(failed.out, HasSubstr("FAILED"));
  EXPECT_EQ(Count(), 0);
  testing::CommandResult skipped = ImportCsv("bad_date.csv", {"--on-record-error", "skip"});
  EXPECT_EQ(skipped.exit_code, 6) << skipped.err << skipped.out;
  EXPECT_THAT(skipped.out, HasSubstr("SUCCEEDED_WITH_REJECTS"));
  EXPECT_GT(Count(), 0);
  const std::string name = [&] {
    auto pos = skipped.out.find("regions/north-east/imports/");
    return skipped.out.substr(pos, skipped.out.find_first_of(" \n", pos) - pos);
  }();
  testing::CommandResult rejects = Ctl({"-o", "csv", "imports", "rejects", name});
  ASSERT_EQ(rejects.exit_code, 0) << rejects.err;
  EXPECT_THAT(rejects.out, HasSubstr("bad_date.csv"));
  EXPECT_THAT(rejects.out, HasSubstr("SCHEMA"));
}

TEST_F(ImportEndToEndTest, DryRunWritesNothing) {
  testing::CommandResult dry = ImportCsv("good.csv", {"--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("nothing was written"));
  EXPECT_EQ(Count(), 0);
}

TEST_F(ImportEndToEndTest, BadConfigNamesTheKey) {
  std::ofstream(dir_.File("typo.json")) << R"({"delimeter":";"})";
  testing::CommandResult bad = Ctl({"import", "--plugin", "csv", "--authority", "E08000022", "--config",
                                    dir_.File("typo.json"), "--progress", "none",
                                    kSource + "/plugins/csv/testdata/good.csv"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("config.delimeter"));
  testing::CommandResult check = Ctl({"plugins", "check", "csv", "--config", dir_.File("typo.json")});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_THAT(check.err, HasSubstr("config.delimeter"));
}

}  // namespace
}  // namespace expertise::importer
