#ifndef EXPERTISE_TESTS_TESTUTIL_STATUS_MATCHERS_H_
#define EXPERTISE_TESTS_TESTUTIL_STATUS_MATCHERS_H_

// Abseil 20220623 ships no status matchers; these cover what the tests need.

#include <string>
#include <vector>

#include <gmock/gmock.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/rpc/error_details.pb.h"
#include "services/common/errors.h"

namespace expertise::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) { return s.status(); }

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s;
  return s.ok();
}

MATCHER_P(StatusIs, code, "has code " + absl::StatusCodeToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code;
}

// A StatusOr that is OK and whose value matches `matcher`.
MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

// Returns the field paths of the BadRequest attached to `status`.
inline std::vector<std::string> BadFields(const absl::Status& status) {
  std::vector<std::string> fields;
  auto payload = status.GetPayload(kBadRequestTypeUrl);
  if (!payload) return fields;
  google::rpc::BadRequest bad_request;
  bad_request.ParseFromString(std::string(*payload));
  for (const auto& v : bad_request.field_violations()) fields.push_back(v.field());
  return fields;
}

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                            \
  auto EXPERTISE_TEST_CONCAT(_r_, __LINE__) = (expr);              \
  ASSERT_TRUE(EXPERTISE_TEST_CONCAT(_r_, __LINE__).ok())           \
      << EXPERTISE_TEST_CONCAT(_r_, __LINE__).status();            \
  lhs = *std::move(EXPERTISE_TEST_CONCAT(_r_, __LINE__))
#define EXPERTISE_TEST_CONCAT_INNER(a, b) a##b
#define EXPERTISE_TEST_CONCAT(a, b) EXPERTISE_TEST_CONCAT_INNER(a, b)

}  // namespace expertise::testing

#endif  // EXPERTISE_TESTS_TESTUTIL_STATUS_MATCHERS_H_
