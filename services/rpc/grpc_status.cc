#include "services/rpc/grpc_status.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/common/errors.h"

namespace expertise {
namespace {

std::string CodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  absl::AsciiStrToUpper(&name);
  for (char& c : name) {
    if (c == ' ') c = '_';
  }
  return name;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status, std::string_view domain) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(std::string(status.message()));

  google::rpc::ErrorInfo info;
  if (auto payload = status.GetPayload(kErrorInfoTypeUrl)) {
    info.ParseFromString(std::string(*payload));
  }
  if (info.reason().empty()) info.set_reason(CodeName(status.code()));
  // A status received from another service (FromGrpcStatus) and passed on
  // keeps the domain of the service that decided it.
  if (info.domain().empty()) info.set_domain(std::string(domain));
  rpc_status.add_details()->PackFrom(info);

  if (auto payload = status.GetPayload(kBadRequestTypeUrl)) {
    google::rpc::BadRequest bad_request;
    if (bad_request.ParseFromString(std::string(*payload))) {
      rpc_status.add_details()->PackFrom(bad_request);
    }
  }
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()), rpc_status.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
  google::rpc::Status rpc_status;
  if (!status.error_details().empty() && rpc_status.ParseFromString(status.error_details())) {
    for (const auto& any : rpc_status.details()) {
      if (any.Is<google::rpc::ErrorInfo>()) {
        result.SetPayload(kErrorInfoTypeUrl, absl::Cord(any.value()));
      } else if (any.Is<google::rpc::BadRequest>()) {
        result.SetPayload(kBadRequestTypeUrl, absl::Cord(any.value()));
      }
    }
  }
  return result;
}

}  // namespace expertise
