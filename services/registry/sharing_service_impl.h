#ifndef EXPERTISE_SERVICES_REGISTRY_SHARING_SERVICE_IMPL_H_
#define EXPERTISE_SERVICES_REGISTRY_SHARING_SERVICE_IMPL_H_

#include <memory>

#include "absl/container/flat_hash_set.h"
#include "expertise/registry/v1/sharing_service.grpc.pb.h"
#include "services/common/mutex.h"
#include "services/registry/registry_calls.h"

namespace expertise::registry {

// The gRPC face of a registry's capacity sharing. Unary calls go through the
// registry service's Dispatch (decision first, executor, audit trail: every
// state change is an audited change). WatchCapacity streams from the
// registry's watch hub: never blocks gRPC's threads, one write in flight,
// coalesced updates for slow readers. Thread-safe.
class SharingServiceImpl final : public v1::CapacitySharingService::CallbackService {
 public:
  // `registry_service` must outlive this service.
  explicit SharingServiceImpl(RegistryCalls* calls);
  ~SharingServiceImpl() override;

  // Ends every open watch with UNAVAILABLE (the client resumes with its
  // token elsewhere or later); called before the server shuts down so
  // shutdown does not wait for streams.
  void EndWatches();

  grpc::ServerUnaryReactor* CreateSupportRequest(grpc::CallbackServerContext* ctx,
                                                 const v1::CreateSupportRequestRequest* request,
                                                 v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* GetSupportRequest(grpc::CallbackServerContext* ctx,
                                              const v1::GetSupportRequestRequest* request,
                                              v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* ListSupportRequests(grpc::CallbackServerContext* ctx,
                                                const v1::ListSupportRequestsRequest* request,
                                                v1::ListSupportRequestsResponse* response) override;
  grpc::ServerUnaryReactor* SuggestProviders(grpc::CallbackServerContext* ctx,
                                             const v1::SuggestProvidersRequest* request,
                                             v1::SuggestProvidersResponse* response) override;
  grpc::ServerUnaryReactor* OfferSupport(grpc::CallbackServerContext* ctx,
                                         const v1::OfferSupportRequest* request,
                                         v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* AcceptOffer(grpc::CallbackServerContext* ctx,
                                        const v1::AcceptOfferRequest* request,
                                        v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* DeclineOffers(grpc::CallbackServerContext* ctx,
                                          const v1::DeclineOffersRequest* request,
                                          v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* WithdrawSupportRequest(
      grpc::CallbackServerContext* ctx, const v1::WithdrawSupportRequestRequest* request,
      v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* CompleteSupportRequest(
      grpc::CallbackServerContext* ctx, const v1::CompleteSupportRequestRequest* request,
      v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* EscalateSupportRequest(
      grpc::CallbackServerContext* ctx, const v1::EscalateSupportRequestRequest* request,
      v1::SupportRequest* response) override;
  grpc::ServerUnaryReactor* CreateCapacityCommitment(
      grpc::CallbackServerContext* ctx, const v1::CreateCapacityCommitmentRequest* request,
      v1::CapacityCommitment* response) override;
  grpc::ServerUnaryReactor* ConfirmCapacityCommitment(
      grpc::CallbackServerContext* ctx, const v1::ConfirmCapacityCommitmentRequest* request,
      v1::CapacityCommitment* response) override;
  grpc::ServerUnaryReactor* ReleaseCapacityCommitment(
      grpc::CallbackServerContext* ctx, const v1::ReleaseCapacityCommitmentRequest* request,
      v1::CapacityCommitment* response) override;
  grpc::ServerUnaryReactor* GetUnmetNeedReport(grpc::CallbackServerContext* ctx,
                                               const v1::GetUnmetNeedReportRequest* request,
                                               v1::UnmetNeedReport* response) override;
  grpc::ServerUnaryReactor* GetEquityReport(grpc::CallbackServerContext* ctx,
                                            const v1::GetEquityReportRequest* request,
                                            v1::EquityReport* response) override;
  grpc::ServerWriteReactor<v1::CapacityUpdate>* WatchCapacity(
      grpc::CallbackServerContext* ctx, const v1::WatchCapacityRequest* request) override;

  class WatchReactor;

 private:
  friend class WatchReactor;
  void Forget(WatchReactor* reactor);

  RegistryCalls* const calls_;
  Mutex mu_;
  absl::flat_hash_set<WatchReactor*> watches_ ABSL_GUARDED_BY(mu_);
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SHARING_SERVICE_IMPL_H_
