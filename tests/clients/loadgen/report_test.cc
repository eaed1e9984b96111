#include "clients/loadgen/report.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "services/common/csv.h"
#include "tests/testutil/status_matchers.h"

namespace expertise::loadgen {
namespace {

using ::expertise::testing::IsOk;
using ::expertise::testing::StatusIs;
using ::testing::HasSubstr;

ScenarioResult Scenario(const std::string& name, const std::string& method, int64_t scale, int ok,
                        std::map<std::string, int64_t> errors = {}) {
  ScenarioResult s;
  s.name = name;
  s.method = method;
  for (int i = 1; i <= ok; ++i) s.latencies.Record(i * scale);
  s.errors = std::move(errors);
  s.count = ok + s.error_count();
  s.duration = absl::Milliseconds(500);
  return s;
}

// A health baseline with latencies 1..100 us, and a search three times as slow.
Report TwoScenarios() {
  Report report;
  report.settings = {.server = "127.0.0.1:5000", .concurrency = 4, .connections = 2, .requests = 100,
                     .timeout = absl::Seconds(10)};
  report.scenarios.push_back(Scenario("health", "/grpc.health.v1.Health/Check", 1, 100));
  report.scenarios.push_back(Scenario("search", "/expertise.registry.v1.RegistryService/SearchSpecialists", 3,
                                      100, {{"UNAVAILABLE", 2}, {"DEADLINE_EXCEEDED", 1}}));
  report.baseline = 0;
  return report;
}

std::string Write(const Report& report, OutputFormat format) {
  std::ostringstream out;
  WriteReport(report, format, out);
  return out.str();
}

TEST(ScenarioResultTest, CountsAndRate) {
  const ScenarioResult s = TwoScenarios().scenarios[1];
  EXPECT_EQ(s.count, 103);
  EXPECT_EQ(s.error_count(), 3);
  EXPECT_EQ(s.ok_count(), 100);
  EXPECT_DOUBLE_EQ(s.achieved_rate(), 206);
  EXPECT_EQ(ScenarioResult().achieved_rate(), 0);
}

TEST(RatiosToBaselineTest, ComparesWithTheBaseline) {
  const Report report = TwoScenarios();
  auto ratios = RatiosToBaseline(report, 1);
  ASSERT_TRUE(ratios.has_value());
  EXPECT_EQ(ratios->baseline, "health");
  EXPECT_DOUBLE_EQ(ratios->mean, 3);
  EXPECT_DOUBLE_EQ(ratios->p50, 3);
  EXPECT_DOUBLE_EQ(ratios->p99, 3);
}

TEST(RatiosToBaselineTest, NoneForTheBaselineItselfOrWithoutOne) {
  Report report = TwoScenarios();
  EXPECT_FALSE(RatiosToBaseline(report, 0).has_value());
  report.baseline.reset();
  EXPECT_FALSE(RatiosToBaseline(report, 1).has_value());
  report.baseline = 0;
  report.scenarios[0].latencies = LatencyHistogram();  // every health call failed
  EXPECT_FALSE(RatiosToBaseline(report, 1).has_value());
}

TEST(WriteReportTest, JsonHasCountsPercentilesHistogramAndRatios) {
  const auto json = nlohmann::json::parse(Write(TwoScenarios(), OutputFormat::kJson));
  EXPECT_EQ(json["server"], "127.0.0.1:5000");
  EXPECT_EQ(json["baseline"], "health");
  ASSERT_EQ(json["scenarios"].size(), 2u);
  const auto& search = json["scenarios"][1];
  EXPECT_EQ(search["name"], "search");
  EXPECT_EQ(search["count"], 103);
  EXPECT_EQ(search["ok"], 100);
  EXPECT_EQ(search["error_count"], 3);
  EXPECT_EQ(search["unsent"], 0);
  EXPECT_EQ(search["errors"]["UNAVAILABLE"], 2);
  EXPECT_EQ(search["errors"]["DEADLINE_EXCEEDED"], 1);
  EXPECT_EQ(search["latency_us"]["min"], 3);
  EXPECT_EQ(search["latency_us"]["p50"], 150);
  EXPECT_EQ(search["latency_us"]["max"], 300);
  int64_t in_bins = 0;
  for (const auto& bin : search["histogram"]) in_bins += bin["count"].get<int64_t>();
  EXPECT_EQ(in_bins, 100);
  EXPECT_DOUBLE_EQ(search["vs_baseline"]["p99"].get<double>(), 3);
  EXPECT_FALSE(json["scenarios"][0].contains("vs_baseline"));
  EXPECT_TRUE(json["scenarios"][0]["errors"].is_object());
}

TEST(WriteReportTest, TableShowsLatenciesBarsErrorsAndSummary) {
  const std::string table = Write(TwoScenarios(), OutputFormat::kTable);
  EXPECT_THAT(table, HasSubstr("127.0.0.1:5000: 4 in flight on 2 connections, closed loop"));
  EXPECT_THAT(table, HasSubstr("p99.9 0.300, max 0.300"));
  EXPECT_THAT(table, HasSubstr("vs health  mean x3.00, p50 x3.00, p99 x3.00"));
  EXPECT_THAT(table, HasSubstr("100us - 200us |"));
  EXPECT_THAT(table, HasSubstr("  2us - 5us   |"));
  EXPECT_THAT(table, HasSubstr("########"));
  EXPECT_THAT(table, HasSubstr("errors     DEADLINE_EXCEEDED 1, UNAVAILABLE 2"));
  EXPECT_THAT(table, HasSubstr("mean/health"));
}

TEST(WriteReportTest, TableSaysWhenCallsWereLeftUnsent) {
  Report report = TwoScenarios();
  EXPECT_THAT(Write(report, OutputFormat::kTable), ::testing::Not(HasSubstr("never sent")));
  report.scenarios[1].unsent = 12;
  EXPECT_THAT(Write(report, OutputFormat::kTable), HasSubstr("behind     12 calls due were never sent"));
}

TEST(WriteReportTest, TableOfOneScenarioHasNoSummary) {
  Report report = TwoScenarios();
  report.scenarios.pop_back();
  report.baseline.reset();
  EXPECT_THAT(Write(report, OutputFormat::kTable), ::testing::Not(HasSubstr("summary")));
}

TEST(WriteReportTest, CsvHasAHeaderAndARowPerScenario) {
  auto rows = ParseCsv(Write(TwoScenarios(), OutputFormat::kCsv));
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 3u);
  const CsvRow& header = (*rows)[0];
  for (const CsvRow& row : *rows) EXPECT_EQ(row.size(), header.size());
  auto column = [&](const std::string& name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  EXPECT_EQ((*rows)[2][column("scenario")], "search");
  EXPECT_EQ((*rows)[2][column("count")], "103");
  EXPECT_EQ((*rows)[2][column("errors_by_code")], "DEADLINE_EXCEEDED=1;UNAVAILABLE=2");
  EXPECT_EQ((*rows)[2][column("p50_vs_baseline")], "3.00");
  EXPECT_EQ((*rows)[1][column("p50_vs_baseline")], "");
}

struct EdgeCase {
  int64_t micros;
  const char* text;
};

class FormatEdgeTest : public ::testing::TestWithParam<EdgeCase> {};

TEST_P(FormatEdgeTest, UsesTheLargestWholeUnit) { EXPECT_EQ(FormatEdge(GetParam().micros), GetParam().text); }

INSTANTIATE_TEST_SUITE_P(Cases, FormatEdgeTest,
                         ::testing::Values(EdgeCase{0, "0us"}, EdgeCase{1, "1us"}, EdgeCase{500, "500us"},
                                           EdgeCase{1000, "1ms"}, EdgeCase{1500, "1500us"},
                                           EdgeCase{200000, "200ms"}, EdgeCase{1000000, "1s"},
                                           EdgeCase{20000000, "20s"}));

TEST(ParseOutputFormatTest, KnowsThreeFormats) {
  EXPECT_EQ(*ParseOutputFormat("table"), OutputFormat::kTable);
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("csv"), OutputFormat::kCsv);
  EXPECT_THAT(ParseOutputFormat("xml"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace expertise::loadgen
