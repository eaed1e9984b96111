#ifndef EXPERTISE_SERVICES_COMMON_ERRORS_H_
#define EXPERTISE_SERVICES_COMMON_ERRORS_H_

// Domain errors as absl::Status with google.rpc detail payloads, so that the
// gRPC edge can send AIP-193 errors without the domain code knowing gRPC.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"

namespace expertise {

// Payload type URLs: the same ones google.protobuf.Any uses.
inline constexpr char kBadRequestTypeUrl[] = "type.googleapis.com/google.rpc.BadRequest";
inline constexpr char kErrorInfoTypeUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";

// Collects every problem with a request, so a caller learns all of them at
// once rather than one per attempt. Not thread-safe.
class FieldViolations {
 public:
  // What a violation is, for callers that classify problems (an import's
  // reject reasons) without reading their text, which can quote input.
  enum class Kind { kValue, kRequired, kReference };

  // Records that `field` (a dotted path such as "specialist.age_range.min_age")
  // is bad for `description`.
  void Add(std::string field, std::string description, Kind kind = Kind::kValue);
  bool empty() const { return violations_.empty(); }
  size_t size() const { return violations_.size(); }
  const std::vector<google::rpc::BadRequest::FieldViolation>& violations() const {
    return violations_;
  }
  // The kind of violations()[i].
  Kind kind(size_t i) const { return kinds_[i]; }
  // Returns OK when nothing was added, otherwise INVALID_ARGUMENT with a
  // BadRequest payload listing every violation and a message naming them.
  absl::Status ToStatus(std::string_view summary = "request has invalid fields") const;

 private:
  std::vector<google::rpc::BadRequest::FieldViolation> violations_;
  std::vector<Kind> kinds_;  // parallel to violations_
};

// Returns INVALID_ARGUMENT for a single bad field, with BadRequest details.
absl::Status InvalidFieldError(std::string field, std::string description);

// Returns `status` with an ErrorInfo reason (UPPER_SNAKE_CASE) attached.
absl::Status WithReason(absl::Status status, std::string_view reason);

// Returns the ErrorInfo reason attached to `status`, or "" if none.
std::string ErrorReason(const absl::Status& status);

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_ERRORS_H_
