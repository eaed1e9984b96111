#ifndef EXPERTISE_SERVICES_DIRECTORY_SHARING_SERVICE_H_
#define EXPERTISE_SERVICES_DIRECTORY_SHARING_SERVICE_H_

// Capacity sharing across regions, at the directory. Single-region calls
// are routed to the region named in the request; `regions/-` reports and
// lists fan out and merge (regions that do not answer are `unreachable`).
// Steps that span two regions are carried here, each half idempotent so a
// retry after an unknown outcome is safe:
//   - OfferSupport: the OFFERED commitment on the provider's specialist
//     (its id derived from the request and specialist), then the offer on the
//     request;
//   - AcceptOffer: the commitment confirmed in the provider's region (the
//     atomic, race-deciding step), then the acceptance recorded in the
//     requester's region (with the caller's request_id both times);
//   - Withdraw/Complete: the request first, then the commitment released.
// These steps block on the registries, so they run on the directory's own
// executor threads, never on gRPC's.

#include <memory>

#include "expertise/registry/v1/sharing_service.grpc.pb.h"
#include "services/common/executor.h"
#include "services/directory/directory_service.h"

namespace expertise::directory {

class DirectorySharingService final : public registry::v1::CapacitySharingService::CallbackService {
 public:
  // `directory` must outlive this service.
  explicit DirectorySharingService(const DirectoryService* directory, size_t threads = 8);
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
  class MergedWatch;
  using Backend = DirectoryService::Backend;
  // Refuses per the CallGate, else runs `work` on the executor and finishes
  // with its status.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* ctx,
                                std::function<grpc::Status()> work);
  // A backend by region resource name/part of a name; null with *error set.
  const Backend* ForName(const std::string& name, const char* field, grpc::Status* error) const;
  const Backend* ForParent(const std::string& parent, const char* field, grpc::Status* error) const;
  std::unique_ptr<grpc::ClientContext> Child(grpc::CallbackServerContext* ctx, bool fan_out) const;
  // Replaces a request named in any region (`regions/-/supportRequests/{id}`)
  // by its full name, asking every region; other names stay as they are.
  grpc::Status Resolve(grpc::CallbackServerContext* ctx, std::string* name) const;
  // Calls `call(backend, context, &responses[i])` on every region at once and
  // waits; statuses[i] per region.
  template <typename Response, typename Call>
  void FanOut(grpc::CallbackServerContext* ctx, Call call, std::vector<Response>* responses,
              std::vector<grpc::Status>* statuses) const;

  const DirectoryService* const directory_;
  Executor executor_;
};

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_SHARING_SERVICE_H_
