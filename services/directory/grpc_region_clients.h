#ifndef EXPERTISE_SERVICES_DIRECTORY_GRPC_REGION_CLIENTS_H_
#define EXPERTISE_SERVICES_DIRECTORY_GRPC_REGION_CLIENTS_H_

// The regions of a RegionPool as CrossRegionSharing sees them, for one
// incoming call: every outbound call carries that caller and its
// cancellation, is bounded as a step (CallKind::kStep), and blocks, so
// these run on the sharing service's executor threads, never on gRPC's.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "services/directory/cross_region_sharing.h"
#include "services/directory/forwarding.h"
#include "services/directory/region_pool.h"

namespace expertise::directory {

class GrpcRegionClients final : public RegionClients {
 public:
  GrpcRegionClients(const Forwarder* forwarder, grpc::CallbackServerContext* ctx);
  ~GrpcRegionClients() override;

  absl::StatusOr<RegionClient*> ForName(const std::string& name, std::string_view field) override;
  std::vector<RegionClient*> All() override;
  absl::Status ResolveSupportRequest(std::string* name) override;

 private:
  class Client;
  const Forwarder* forwarder_;
  grpc::CallbackServerContext* ctx_;
  std::vector<std::unique_ptr<Client>> clients_;  // one per region of the pool, in order
};

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_GRPC_REGION_CLIENTS_H_
