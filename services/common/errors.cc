#include "services/common/errors.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "services/common/error_reasons.h"

namespace expertise {

void FieldViolations::Add(std::string field, std::string description, Kind kind) {
  kinds_.push_back(kind);
  auto& v = violations_.emplace_back();
  v.set_field(std::move(field));
  v.set_description(std::move(description));
}

absl::Status FieldViolations::ToStatus(std::string_view summary) const {
  if (violations_.empty()) return absl::OkStatus();
  google::rpc::BadRequest bad_request;
  std::string message(summary);
  message += ": ";
  for (size_t i = 0; i < violations_.size(); ++i) {
    *bad_request.add_field_violations() = violations_[i];
    if (i > 0) message += "; ";
    absl::StrAppend(&message, violations_[i].field(), ": ", violations_[i].description());
  }
  absl::Status status(absl::StatusCode::kInvalidArgument, message);
  status.SetPayload(kBadRequestTypeUrl, absl::Cord(bad_request.SerializeAsString()));
  return WithReason(std::move(status), reasons::kInvalidFields);
}

absl::Status InvalidFieldError(std::string field, std::string description) {
  FieldViolations violations;
  violations.Add(std::move(field), std::move(description));
  return violations.ToStatus("invalid argument");
}

absl::Status WithReason(absl::Status status, std::string_view reason) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

std::string ErrorReason(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorInfoTypeUrl);
  if (!payload) return "";
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return "";
  return info.reason();
}

}  // namespace expertise
