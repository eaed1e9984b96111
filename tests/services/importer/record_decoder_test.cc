// The host's check of every record a plugin emits.

#include "services/importer/record_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/time.h"

namespace expertise::importer {
namespace {

constexpr char kValid[] =
    R"({"externalId":"x-1","displayName":"Ada Example","role":"speech-language-therapist",)"
    R"("ageRange":{"minAge":0,"maxAge":19},"deliveryModes":["DELIVERY_MODE_IN_PERSON"],)"
    R"("employerType":"EMPLOYER_TYPE_NHS","visibility":"VISIBILITY_REGION",)"
    R"("capacity":{"contractedHoursPerWeek":20,"committedHoursPerWeek":12.5}})";

DecodeContext Context() {
  DecodeContext c;
  c.authority = "E06000001";
  c.source = "hr-export";
  c.now = absl::FromUnixSeconds(1795000000);
  return c;
}

TEST(RecordDecoderTest, ValidRecordBecomesASpecialistOfTheRunsAuthority) {
  registry::v1::Specialist s;
  std::vector<RecordProblem> problems;
  std::string id;
  ASSERT_TRUE(DecodeRecord(kValid, Context(), &s, &problems, &id)) << problems.front().message;
  EXPECT_EQ(id, "x-1");
  EXPECT_EQ(s.owning_authority(), "E06000001");
  EXPECT_EQ(s.source(), "hr-export");
  EXPECT_EQ(s.role(), "speech-language-therapist");
  EXPECT_DOUBLE_EQ(s.capacity().committed_hours_per_week(), 12.5);
}

struct BadCase {
  std::string name;
  std::string json;
  RejectReason reason;
  std::string field;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class RecordDecoderBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(RecordDecoderBadTest, IsRejectedWithReasonAndField) {
  const BadCase& c = GetParam();
  registry::v1::Specialist s;
  std::vector<RecordProblem> problems;
  std::string id;
  ASSERT_FALSE(DecodeRecord(c.json, Context(), &s, &problems, &id));
  ASSERT_FALSE(problems.empty());
  bool found = false;
  for (const auto& p : problems) found |= p.reason == c.reason && p.field == c.field;
  EXPECT_TRUE(found) << "first problem: " << RejectReasonName(problems[0].reason) << " " << problems[0].field
                     << ": " << problems[0].message;
}

std::string With(const std::string& from, const std::string& to) {
  std::string json = kValid;
  json.replace(json.find(from), from.size(), to);
  return json;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RecordDecoderBadTest,
    ::testing::Values(
        BadCase{"Empty", "", RejectReason::kParse, ""},
        BadCase{"NotJson", "hello", RejectReason::kParse, ""},
        BadCase{"Truncated", R"({"externalId":"x-1")", RejectReason::kParse, ""},
        BadCase{"NotUtf8", "{\"externalId\":\"\xff\"}", RejectReason::kParse, ""},
        BadCase{"UnknownField", With(R"("externalId":"x-1")", R"("externalId":"x-1","shoeSize":9)"),
                RejectReason::kSchema, ""},
        BadCase{"WrongType", With(R"("role":"speech-language-therapist")", R"("role":42)"), RejectReason::kSchema, ""},
        BadCase{"UnknownRole", With("speech-language-therapist", "wizard"), RejectReason::kReference, "role"},
        BadCase{"MissingName", With(R"("displayName":"Ada Example",)", ""), RejectReason::kRequired, "display_name"},
        BadCase{"MissingId", With(R"("externalId":"x-1",)", ""), RejectReason::kRequired, "external_id"},
        BadCase{"AgeOutOfRange", With(R"("maxAge":19)", R"("maxAge":40)"), RejectReason::kValue,
                "age_range.max_age"},
        BadCase{"OutputOnlyCapacity", With(R"("contractedHoursPerWeek":20)",
                                           R"("contractedHoursPerWeek":20,"availableHoursPerWeek":3)"),
                RejectReason::kSchema, "capacity"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(RecordDecoderTest, UnknownAuthorityIsAReference) {
  DecodeContext c = Context();
  c.authority = "E99999999";
  registry::v1::Specialist s;
  std::vector<RecordProblem> problems;
  std::string id;
  ASSERT_FALSE(DecodeRecord(kValid, c, &s, &problems, &id));
  EXPECT_EQ(problems[0].reason, RejectReason::kReference);
}

TEST(RecordDecoderTest, ReasonNamesRoundTrip) {
  for (int i = 1; i <= 6; ++i) {
    RejectReason parsed;
    ASSERT_TRUE(ParseRejectReason(RejectReasonName(static_cast<RejectReason>(i)), &parsed));
    EXPECT_EQ(static_cast<int>(parsed), i);
  }
  EXPECT_EQ(RejectReasonFromInt(999), RejectReason::kValue);
}

}  // namespace
}  // namespace expertise::importer
