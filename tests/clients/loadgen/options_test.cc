#include "clients/loadgen/options.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "expertise/registry/v1/registry_service.pb.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::loadgen {
namespace {

using ::expertise::testing::IsOk;
using ::expertise::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(MakeScenarioTest, HealthIsTheEmptyCall) {
  auto scenario = MakeScenario("health", "", "--request");
  ASSERT_THAT(scenario, IsOk());
  EXPECT_EQ(scenario->name, "health");
  EXPECT_EQ(scenario->method, "/grpc.health.v1.Health/Check");
  EXPECT_EQ(scenario->request, "");
}

TEST(MakeScenarioTest, SearchRequestIsParsedFromJson) {
  auto scenario = MakeScenario(
      "search", R"({"parent": "regions/north-west", "roles": ["educational-psychologist"], "page_size": 20})",
      "--request");
  ASSERT_THAT(scenario, IsOk());
  EXPECT_EQ(scenario->method, "/expertise.registry.v1.RegistryService/SearchSpecialists");
  registry::v1::SearchSpecialistsRequest request;
  ASSERT_TRUE(request.ParseFromString(scenario->request));
  EXPECT_EQ(request.parent(), "regions/north-west");
  EXPECT_THAT(request.roles(), ElementsAre("educational-psychologist"));
  EXPECT_EQ(request.page_size(), 20);
}

class MakeScenarioMethodNameTest : public ::testing::TestWithParam<const char*> {};

TEST_P(MakeScenarioMethodNameTest, AcceptsFullMethodNames) {
  auto scenario = MakeScenario(GetParam(), "", "--request");
  ASSERT_THAT(scenario, IsOk());
  EXPECT_EQ(scenario->name, "ListRegions");
  EXPECT_EQ(scenario->method, "/expertise.registry.v1.RegistryService/ListRegions");
}

INSTANTIATE_TEST_SUITE_P(Forms, MakeScenarioMethodNameTest,
                         ::testing::Values("expertise.registry.v1.RegistryService/ListRegions",
                                           "/expertise.registry.v1.RegistryService/ListRegions",
                                           "expertise.registry.v1.RegistryService.ListRegions"));

struct BadScenarioCase {
  const char* name;
  const char* call;
  const char* json;
  const char* message;  // expected in the error
};

void PrintTo(const BadScenarioCase& c, std::ostream* os) { *os << c.name; }

class MakeScenarioErrorTest : public ::testing::TestWithParam<BadScenarioCase> {};

TEST_P(MakeScenarioErrorTest, ExplainsWhatIsWrong) {
  auto scenario = MakeScenario(GetParam().call, GetParam().json, "--request");
  EXPECT_THAT(scenario, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Message(scenario.status()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MakeScenarioErrorTest,
    ::testing::Values(
        BadScenarioCase{"UnknownCall", "lookup", "", "unknown call \"lookup\""},
        BadScenarioCase{"UnknownMethod", "expertise.registry.v1.RegistryService/Nope", "", "unknown call"},
        BadScenarioCase{"Streaming", "expertise.registry.v1.RegistryService/ImportSpecialists", "",
                        "is a streaming method"},
        BadScenarioCase{"BrokenJson", "search", R"({"parent": )",
                        "--request: not a valid expertise.registry.v1.SearchSpecialistsRequest in proto3 JSON"},
        BadScenarioCase{"UnknownField", "search", R"({"parent": "regions/-", "colour": "red"})", "colour"},
        BadScenarioCase{"WrongType", "search", R"({"page_size": "many"})", "not a valid"},
        BadScenarioCase{"SearchWithoutRequest", "search", "  ", "search needs a request"}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(ParseScenarioTest, ReadsTheRequestFromAFile) {
  testing::TempDir dir;
  std::ofstream(dir.File("near.json")) << R"({"parent": "regions/-", "near_authority": "E08000003"})";
  auto scenario = ParseScenario("search=@" + dir.File("near.json"));
  ASSERT_THAT(scenario, IsOk());
  registry::v1::SearchSpecialistsRequest request;
  ASSERT_TRUE(request.ParseFromString(scenario->request));
  EXPECT_EQ(request.near_authority(), "E08000003");
}

TEST(ParseScenarioTest, TakesInlineJsonAndBareCalls) {
  EXPECT_THAT(ParseScenario(R"(search={"parent": "regions/-"})"), IsOk());
  EXPECT_THAT(ParseScenario("health"), IsOk());
}

TEST(ParseScenarioTest, NamesTheFileItCannotRead) {
  auto scenario = ParseScenario("search=@/nonexistent/near.json");
  EXPECT_THAT(scenario, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Message(scenario.status()), HasSubstr("cannot read /nonexistent/near.json"));
}

TEST(ParseScenarioTest, NamesTheFileWithBadJson) {
  testing::TempDir dir;
  std::ofstream(dir.File("bad.json")) << "{parent";
  auto scenario = ParseScenario("search=@" + dir.File("bad.json"));
  EXPECT_THAT(Message(scenario.status()), HasSubstr(dir.File("bad.json") + ": not a valid"));
}

struct TimeCase {
  const char* text;
  absl::Duration expected;
};

class ParseTimeFlagTest : public ::testing::TestWithParam<TimeCase> {};

TEST_P(ParseTimeFlagTest, Parses) {
  auto duration = ParseTimeFlag("--duration", GetParam().text);
  ASSERT_THAT(duration, IsOk());
  EXPECT_EQ(*duration, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, ParseTimeFlagTest,
                         ::testing::Values(TimeCase{"10s", absl::Seconds(10)},
                                           TimeCase{"250ms", absl::Milliseconds(250)},
                                           TimeCase{"1m30s", absl::Seconds(90)},
                                           TimeCase{"2.5", absl::Milliseconds(2500)},
                                           TimeCase{"1us", absl::Microseconds(1)}));

class ParseTimeFlagErrorTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ParseTimeFlagErrorTest, RefusesWithTheFlagName) {
  auto duration = ParseTimeFlag("--timeout", GetParam());
  EXPECT_THAT(duration, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Message(duration.status()), HasSubstr("--timeout"));
}

INSTANTIATE_TEST_SUITE_P(Cases, ParseTimeFlagErrorTest,
                         ::testing::Values("", "soon", "10x", "-1s", "0", "0s", "inf"));

TEST(ParseWarmupTest, IsACountOrATime) {
  ScheduleOptions by_count;
  ASSERT_THAT(ParseWarmup("100", &by_count), IsOk());
  EXPECT_EQ(by_count.warmup_requests, 100);
  EXPECT_EQ(by_count.warmup_duration, absl::ZeroDuration());
  ScheduleOptions by_time;
  ASSERT_THAT(ParseWarmup("2s", &by_time), IsOk());
  EXPECT_EQ(by_time.warmup_requests, 0);
  EXPECT_EQ(by_time.warmup_duration, absl::Seconds(2));
  ScheduleOptions bad;
  EXPECT_THAT(ParseWarmup("-5", &bad), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseWarmup("a while", &bad), StatusIs(absl::StatusCode::kInvalidArgument));
}

Flags HealthAndSearch() {
  Flags flags;
  flags.scenarios = {"health", R"(search={"parent": "regions/-"})", R"(search={"parent": "regions/x"})"};
  return flags;
}

TEST(BuildConfigTest, DefaultsToACountedClosedLoop) {
  Flags flags;
  flags.call = "health";
  auto config = BuildConfig(flags);
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->schedule.requests, kDefaultRequests);
  EXPECT_EQ(config->schedule.rate, 0);
  EXPECT_EQ(config->concurrency, 10);
  EXPECT_EQ(config->connections, 1);
  EXPECT_EQ(config->timeout, absl::Seconds(10));
  EXPECT_EQ(config->output, OutputFormat::kTable);
  EXPECT_FALSE(config->baseline.has_value());  // nothing to compare with
}

TEST(BuildConfigTest, ScenariosKeepTheirOrderWithDistinctNamesAndHealthAsBaseline) {
  Flags flags = HealthAndSearch();
  std::swap(flags.scenarios[0], flags.scenarios[1]);
  flags.duration = "3s";
  flags.warmup = "1s";
  flags.rate = 500;
  flags.output = "json";
  auto config = BuildConfig(flags);
  ASSERT_THAT(config, IsOk());
  ASSERT_EQ(config->scenarios.size(), 3u);
  EXPECT_EQ(config->scenarios[0].name, "search");
  EXPECT_EQ(config->scenarios[1].name, "health");
  EXPECT_EQ(config->scenarios[2].name, "search#2");
  EXPECT_EQ(config->baseline, 1u);
  EXPECT_EQ(config->schedule.requests, 0);
  EXPECT_EQ(config->schedule.duration, absl::Seconds(3));
  EXPECT_EQ(config->schedule.warmup_duration, absl::Seconds(1));
  EXPECT_EQ(config->schedule.rate, 500);
  EXPECT_EQ(config->output, OutputFormat::kJson);
}

TEST(BuildConfigTest, CallTakesItsRequestFromAFile) {
  testing::TempDir dir;
  std::ofstream(dir.File("req.json")) << R"({"parent": "regions/-"})";
  Flags flags;
  flags.call = "search";
  flags.request_file = dir.File("req.json");
  EXPECT_THAT(BuildConfig(flags), IsOk());
}

struct BadFlagsCase {
  const char* name;
  void (*change)(Flags*);
  const char* message;
};

void PrintTo(const BadFlagsCase& c, std::ostream* os) { *os << c.name; }

class BuildConfigErrorTest : public ::testing::TestWithParam<BadFlagsCase> {};

TEST_P(BuildConfigErrorTest, Refuses) {
  Flags flags = HealthAndSearch();
  GetParam().change(&flags);
  auto config = BuildConfig(flags);
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Message(config.status()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BuildConfigErrorTest,
    ::testing::Values(
        BadFlagsCase{"NothingToCall", [](Flags* f) { f->scenarios.clear(); }, "nothing to call"},
        BadFlagsCase{"CallAndScenario", [](Flags* f) { f->call = "health"; }, "not both"},
        BadFlagsCase{"RequestWithoutCall", [](Flags* f) { f->request = "{}"; }, "go with --call"},
        BadFlagsCase{"ZeroConcurrency", [](Flags* f) { f->concurrency = 0; }, "--concurrency"},
        BadFlagsCase{"MoreConnectionsThanCalls",
                     [](Flags* f) {
                       f->concurrency = 2;
                       f->connections = 3;
                     },
                     "--connections"},
        BadFlagsCase{"NegativeRequests", [](Flags* f) { f->requests = -1; }, "--requests"},
        BadFlagsCase{"BadDuration", [](Flags* f) { f->duration = "forever"; }, "--duration"},
        BadFlagsCase{"NegativeRate", [](Flags* f) { f->rate = -1; }, "--rate"},
        BadFlagsCase{"BadWarmup", [](Flags* f) { f->warmup = "lots"; }, "--warmup"},
        BadFlagsCase{"BadTimeout", [](Flags* f) { f->timeout = "0"; }, "--timeout"},
        BadFlagsCase{"BadOutput", [](Flags* f) { f->output = "xml"; }, "--output"},
        BadFlagsCase{"BadScenario", [](Flags* f) { f->scenarios.push_back("search={"); }, "not a valid"},
        BadFlagsCase{"MissingRequestFile",
                     [](Flags* f) {
                       f->scenarios.clear();
                       f->call = "search";
                       f->request_file = "/nonexistent.json";
                     },
                     "--request-file: cannot read /nonexistent.json"}),
    [](const auto& test_case) { return test_case.param.name; });

}  // namespace
}  // namespace expertise::loadgen
