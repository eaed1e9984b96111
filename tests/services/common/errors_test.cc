#include "services/common/errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testutil/status_matchers.h"

namespace expertise {
namespace {

using ::expertise::testing::BadFields;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FieldViolationsTest, EmptyIsOk) { EXPECT_TRUE(FieldViolations().ToStatus().ok()); }

TEST(FieldViolationsTest, ListsEveryFieldInDetailsAndMessage) {
  FieldViolations v;
  v.Add("specialist.role", "is required");
  v.Add("specialist.age_range.max_age", "must be between 0 and 25");
  absl::Status s = v.ToStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(BadFields(s), ElementsAre("specialist.role", "specialist.age_range.max_age"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("specialist.role: is required"));
  EXPECT_EQ(ErrorReason(s), "INVALID_FIELDS");
}

// Import rejects are classified by kind, never by the description's text,
// which may quote input (a value such as "unknown" must not make a value
// problem look like a reference problem).
TEST(FieldViolationsTest, KeepsEachViolationsKind) {
  FieldViolations v;
  v.Add("a", "'unknown' is listed twice");
  v.Add("b", "is required", FieldViolations::Kind::kRequired);
  v.Add("c", "'x' is not a known code", FieldViolations::Kind::kReference);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v.kind(0), FieldViolations::Kind::kValue);
  EXPECT_EQ(v.kind(1), FieldViolations::Kind::kRequired);
  EXPECT_EQ(v.kind(2), FieldViolations::Kind::kReference);
}

TEST(ErrorsTest, WithReasonAttachesErrorInfo) {
  absl::Status s = WithReason(absl::FailedPreconditionError("stale"), "ETAG_MISMATCH");
  EXPECT_EQ(ErrorReason(s), "ETAG_MISMATCH");
  EXPECT_EQ(ErrorReason(absl::InternalError("x")), "");
}

}  // namespace
}  // namespace expertise
