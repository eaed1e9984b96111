#include "services/rpc/grpc_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/common/errors.h"
#include "tests/testutil/status_matchers.h"

namespace expertise {
namespace {

using ::expertise::testing::BadFields;
using ::testing::ElementsAre;

google::rpc::Status Details(const grpc::Status& s) {
  google::rpc::Status details;
  EXPECT_TRUE(details.ParseFromString(s.error_details()));
  return details;
}

TEST(GrpcStatusTest, OkStaysOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus(), "d").ok()); }

TEST(GrpcStatusTest, EveryErrorCarriesErrorInfoWithDomain) {
  grpc::Status s = ToGrpcStatus(absl::NotFoundError("gone"), "registry.expertise");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "gone");
  google::rpc::Status details = Details(s);
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "NOT_FOUND");
  EXPECT_EQ(info.domain(), "registry.expertise");
}

TEST(GrpcStatusTest, BadRequestTravelsAndComesBack) {
  FieldViolations v;
  v.Add("a", "bad");
  v.Add("b.c", "worse");
  grpc::Status wire = ToGrpcStatus(v.ToStatus(), "d");
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Details(wire).details_size(), 2);  // ErrorInfo + BadRequest
  absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(BadFields(back), ElementsAre("a", "b.c"));
  EXPECT_EQ(ErrorReason(back), "INVALID_FIELDS");
}

// The directory passes a region's refusal on through gRPC-free code: the
// caller still learns which service decided, and why.
TEST(GrpcStatusTest, AStatusPassedOnKeepsTheDomainThatDecidedIt) {
  grpc::Status from_region = ToGrpcStatus(
      WithReason(absl::FailedPreconditionError("no hours left"), "INSUFFICIENT_CAPACITY"), "registry.expertise");
  grpc::Status passed_on = ToGrpcStatus(FromGrpcStatus(from_region), "directory.expertise");
  EXPECT_EQ(passed_on.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(passed_on.error_message(), "no hours left");
  google::rpc::Status details = Details(passed_on);
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "INSUFFICIENT_CAPACITY");
  EXPECT_EQ(info.domain(), "registry.expertise");
}

}  // namespace
}  // namespace expertise
