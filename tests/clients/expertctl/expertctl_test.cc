// The real expertctl binary against a real registry.

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
using ::testing::Not;

class ExpertctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    // expertctl calls as the North East's coordinator (EXPERTISE_TOKEN).
    testing::UseCaller("coordinator/E12000001");
    auto server = testing::RegistryProcess::Start("north-east", dir_->File("ne.db"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    auto sample = testing::RunCommand({BinaryPath("expertise-sampledata"), "--region", "north-east",
                                       "--count", "1500", "--seed", "4"});
    ASSERT_EQ(sample.exit_code, 0) << sample.err;
    std::ofstream(dir_->File("sample.jsonl")) << sample.out;
    auto upsert = Run({"upsert", "-f", dir_->File("sample.jsonl")});
    ASSERT_EQ(upsert.exit_code, 0) << upsert.err;
    ASSERT_THAT(upsert.out, HasSubstr("created 1500, updated 0, unchanged 0"));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  // Runs expertctl with --server from the environment variable.
  static CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), BinaryPath("expertctl"));
    return testing::RunCommand(args, {{"EXPERTCTL_SERVER", server_->address()}});
  }

  static testing::TempDir* dir_;
  static testing::RegistryProcess* server_;
};
testing::TempDir* ExpertctlTest::dir_ = nullptr;
testing::RegistryProcess* ExpertctlTest::server_ = nullptr;

TEST_F(ExpertctlTest, UpsertAgainChangesNothing) {
  auto again = Run({"upsert", "-f", dir_->File("sample.jsonl")});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.out, HasSubstr("created 0, updated 0, unchanged 1500"));
}

TEST_F(ExpertctlTest, SearchTableShowsDistancesNearestFirst) {
  auto r = Run({"search", "--role", "speech-language-therapist", "--near-authority", "E06000047",
                "--within-km", "30", "--min-hours", "1", "--limit", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("KM"));
  EXPECT_THAT(r.out, HasSubstr("speech-language-therapist"));
  EXPECT_THAT(r.out, HasSubstr("matches shown"));
}

TEST_F(ExpertctlTest, SearchJsonAndCsvAgree) {
  std::vector<std::string> query = {"search", "--specialism", "hearing-impairment", "--near",
                                    "54.97,-1.61", "--limit", "0"};
  auto json_args = query;
  json_args.insert(json_args.begin(), {"-o", "json"});
  auto csv_args = query;
  csv_args.insert(csv_args.begin(), {"-o", "csv"});
  auto json = Run(json_args);
  auto csv = Run(csv_args);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  auto parsed = nlohmann::json::parse(json.out);
  auto rows = ParseCsv(csv.out);
  ASSERT_TRUE(rows.ok());
  const auto& results = parsed["results"];
  ASSERT_GT(results.size(), 10u);
  ASSERT_EQ(rows->size(), results.size() + 1);  // header + every match (--limit 0)
  EXPECT_EQ(parsed["total_size"].get<int>(), static_cast<int>(results.size()));
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ((*rows)[i + 1][0], results[i]["specialist"]["name"].get<std::string>());
  }
}

TEST_F(ExpertctlTest, GetByIdShowsTheRecord) {
  auto csv = Run({"-o", "csv", "search", "--limit", "1"});
  ASSERT_EQ(csv.exit_code, 0);
  auto rows = ParseCsv(csv.out);
  ASSERT_TRUE(rows.ok());
  const std::string name = (*rows)[1][0];
  auto by_name = Run({"get", name});
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  EXPECT_THAT(by_name.out, HasSubstr(name));
  EXPECT_THAT(by_name.out, HasSubstr("hours_per_week"));
  auto by_id = Run({"-o", "json", "get", name.substr(name.rfind('/') + 1)});
  ASSERT_EQ(by_id.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(by_id.out)["name"], name);
}

TEST_F(ExpertctlTest, CapacityTaxonomyAuthoritiesRegions) {
  auto capacity = Run({"capacity", "--role", "qualified-teacher-deaf"});
  ASSERT_EQ(capacity.exit_code, 0) << capacity.err;
  EXPECT_THAT(capacity.out, HasSubstr("HEADCOUNT"));
  EXPECT_THAT(capacity.out, HasSubstr("regions/north-east"));
  auto taxonomy = Run({"taxonomy", "--kind", "role", "--definitions"});
  ASSERT_EQ(taxonomy.exit_code, 0);
  EXPECT_THAT(taxonomy.out, HasSubstr("Qualified Teacher of the Deaf"));
  EXPECT_THAT(taxonomy.out, HasSubstr("159026005"));
  auto authorities = Run({"-o", "csv", "authorities", "--region", "london"});
  ASSERT_EQ(authorities.exit_code, 0);
  EXPECT_EQ(ParseCsv(authorities.out)->size(), 34u);
  auto regions = Run({"-o", "json", "regions"});
  ASSERT_EQ(regions.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(regions.out)["regions"].size(), 9u);
}

struct ErrorCase {
  const char* name;
  std::vector<std::string> args;
  int exit_code;
  const char* message;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class ExpertctlErrorTest : public ExpertctlTest,
                           public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(ExpertctlErrorTest, PlainMessageAndExitCode) {
  auto r = Run(GetParam().args);
  EXPECT_EQ(r.exit_code, GetParam().exit_code) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr(GetParam().message));
  EXPECT_THAT(r.err, Not(HasSubstr("terminate called")));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExpertctlErrorTest,
    ::testing::Values(
        ErrorCase{"UnknownRole", {"search", "--role", "wizard"}, 2, "roles[0]: unknown code"},
        ErrorCase{"BadAge", {"search", "--age", "40"}, 2, "age: must be between 0 and 25"},
        ErrorCase{"BadNear", {"search", "--near", "north"}, 2, "--near must be LAT,LON"},
        ErrorCase{"DistanceWithoutPoint", {"search", "--within-km", "5"}, 2, "within_km"},
        ErrorCase{"NotFound", {"get", "s-doesnotexist"}, 4, "does not exist"},
        ErrorCase{"UnknownCommand", {"frobnicate"}, 2, "subcommand is required"},
        ErrorCase{"BadOutput", {"-o", "xml", "regions"}, 2, "xml"},
        ErrorCase{"BadDate", {"capacity", "--as-of", "2026-02-30"}, 2, "YYYY-MM-DD"},
        ErrorCase{"MissingFile", {"upsert", "-f", "/nonexistent/file.jsonl"}, 2, "cannot open"}),
    [](const auto& test_case) { return test_case.param.name; });

TEST_F(ExpertctlTest, MalformedUpsertFileWritesNothing) {
  std::ofstream(dir_->File("bad.jsonl")) << "{\"display_name\": \"ok\"}\n{not json\n";
  auto r = Run({"upsert", "-f", dir_->File("bad.jsonl")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("line 2"));
  std::ofstream(dir_->File("invalid.jsonl")) << "{\"display_name\": \"no role\"}\n";
  auto invalid = Run({"upsert", "-f", dir_->File("invalid.jsonl")});
  EXPECT_EQ(invalid.exit_code, 2);
  EXPECT_THAT(invalid.err, HasSubstr("specialists[0].role"));
  auto count = Run({"-o", "json", "search", "--limit", "1"});
  EXPECT_EQ(nlohmann::json::parse(count.out)["total_size"].get<int>(), 1500);
}

TEST_F(ExpertctlTest, UnreachableServerFailsClearly) {
  auto r = testing::RunCommand({BinaryPath("expertctl"), "--server", "127.0.0.1:1", "--timeout",
                                "2", "regions"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:1"));
}

TEST_F(ExpertctlTest, EveryCommandHasHelp) {
  for (const char* command :
       {"search", "get", "capacity", "taxonomy", "authorities", "regions", "upsert"}) {
    auto r = testing::RunCommand({BinaryPath("expertctl"), command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_THAT(r.out, HasSubstr("Usage")) << command;
  }
  auto top = testing::RunCommand({BinaryPath("expertctl"), "--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, HasSubstr("EXPERTCTL_SERVER"));
}

}  // namespace
}  // namespace expertise
