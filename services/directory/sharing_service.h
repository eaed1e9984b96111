#ifndef EXPERTISE_SERVICES_DIRECTORY_SHARING_SERVICE_H_
#define EXPERTISE_SERVICES_DIRECTORY_SHARING_SERVICE_H_

// Capacity sharing across regions, at the directory. Each handler takes one
// shape:
//   - routed to the region named in the request (Forwarder::Route);
//   - a `regions/-` report fanned out and merged by a gRPC-free plan
//     (sharing_federation.h);
//   - a step spanning regions (offer, accept, decline, withdraw, complete,
//     escalate; the national listing and suggestions), carried by the
//     gRPC-free CrossRegionSharing over GrpcRegionClients. Those steps
//     block on the registries, so they run on the service's own executor
//     threads, never on gRPC's.

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "expertise/registry/v1/sharing_service.grpc.pb.h"
#include "services/common/executor.h"
#include "services/directory/cross_region_sharing.h"
#include "services/directory/forwarding.h"
#include "services/directory/region_pool.h"

namespace expertise::directory {

class DirectorySharingService final : public registry::v1::CapacitySharingService::CallbackService {
 public:
  // `pool` must outlive this service.
  explicit DirectorySharingService(const RegionPool* pool, size_t threads = 8);
  ~DirectorySharingService() override;

  grpc::ServerUnaryReactor* CreateSupportRequest(
      grpc::CallbackServerContext* ctx, const registry::v1::CreateSupportRequestRequest* request,
      registry::v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* GetSupportRequest(grpc::CallbackServerContext* ctx,
                                              const registry::v1::GetSupportRequestRequest* request,
                                              registry::v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* ListSupportRequests(
      grpc::CallbackServerContext* ctx, const registry::v1::ListSupportRequestsRequest* request,
      registry::v1::ListSupportRequestsResponse* response) override;
  grpc::ServerUnaryReactor* SuggestProviders(grpc::CallbackServerContext* ctx,
                                             const registry::v1::SuggestProvidersRequest* request,
                                             registry::v1::SuggestProvidersResponse* response) override;
  grpc::ServerUnaryReactor* OfferSupport(grpc::CallbackServerContext* ctx,
                                         const registry::v1::OfferSupportRequest* request,
                                         registry::v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* AcceptOffer(grpc::CallbackServerContext* ctx,
                                        const registry::v1::AcceptOfferRequest* request,
                                        registry::v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* DeclineOffers(grpc::CallbackServerContext* ctx,
                                          const registry::v1::DeclineOffersRequest* request,
                                          registry::v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* WithdrawSupportRequest(
      grpc::CallbackServerContext* ctx, const registry::v1::WithdrawSupportRequestRequest* request,
      registry::v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* CompleteSupportRequest(
      grpc::CallbackServerContext* ctx, const registry::v1::CompleteSupportRequestRequest* request,
      registry::v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* EscalateSupportRequest(
      grpc::CallbackServerContext* ctx, const registry::v1::EscalateSupportRequestRequest* request,
      registry::v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* CreateCapacityCommitment(
      grpc::CallbackServerContext* ctx, const registry::v1::CreateCapacityCommitmentRequest* request,
      registry::v1::CapacityCommitment* response) override;
  grpc::ServerUnaryReactor* ConfirmCapacityCommitment(
      grpc::CallbackServerContext* ctx, const registry::v1::ConfirmCapacityCommitmentRequest* request,
      registry::v1::CapacityCommitment* response) override;
  grpc::ServerUnaryReactor* ReleaseCapacityCommitment(
      grpc::CallbackServerContext* ctx, const registry::v1::ReleaseCapacityCommitmentRequest* request,
      registry::v1::CapacityCommitment* response) override;
  grpc::ServerUnaryReactor* GetUnmetNeedReport(grpc::CallbackServerContext* ctx,
                                               const registry::v1::GetUnmetNeedReportRequest* request,
                                               registry::v1::UnmetNeedReport* response) override;
  grpc::ServerUnaryReactor* GetEquityReport(grpc::CallbackServerContext* ctx,
                                            const registry::v1::GetEquityReportRequest* request,
                                            registry::v1::EquityReport* response) override;
  grpc::ServerWriteReactor<registry::v1::CapacityUpdate>* WatchCapacity(
      grpc::CallbackServerContext* ctx, const registry::v1::WatchCapacityRequest* request) override;

 private:
  // Refuses per the CallGate, else runs `step` on the executor with the
  // regions as seen for this call, and finishes with its outcome.
  template <typename Response>
  grpc::ServerUnaryReactor* Step(grpc::CallbackServerContext* ctx, Response* response,
                                 std::function<absl::StatusOr<Response>(CrossRegionSharing&)> step);
  // Every region's suggestions for a support request (on the executor).
  absl::StatusOr<registry::v1::SuggestProvidersResponse> SuggestEverywhere(
      grpc::CallbackServerContext* ctx, CrossRegionSharing& sharing,
      const registry::v1::SuggestProvidersRequest& request) const;
  std::vector<const RegionInfo*> Regions() const;

  const RegionPool* const pool_;
  const Forwarder forward_;
  Executor executor_;
};

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_SHARING_SERVICE_H_
