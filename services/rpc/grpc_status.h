#ifndef EXPERTISE_SERVICES_RPC_GRPC_STATUS_H_
#define EXPERTISE_SERVICES_RPC_GRPC_STATUS_H_

// The one place where absl::Status becomes grpc::Status (and back).

#include <string_view>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace expertise {

// Converts `status` to a grpc::Status whose details are a google.rpc.Status
// holding an ErrorInfo (always, per AIP-193: reason from the payload, or the
// code's name) in `domain` (unless the payload names its own: a status
// passed on from another service), and a BadRequest when the status
// carries one.
grpc::Status ToGrpcStatus(const absl::Status& status, std::string_view domain);

// Converts a grpc::Status received from a server back to absl::Status,
// keeping ErrorInfo and BadRequest details as payloads.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_RPC_GRPC_STATUS_H_
