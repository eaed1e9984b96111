#include "services/directory/grpc_region_clients.h"

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "services/rpc/grpc_status.h"

namespace expertise::directory {

namespace v1 = ::expertise::registry::v1;

class GrpcRegionClients::Client final : public RegionClient {
 public:
  Client(const RegionPool* pool, const RegionPool::Region* region, grpc::CallbackServerContext* ctx)
      : pool_(pool), region_(region), ctx_(ctx) {}

  const std::string& name() const override { return region_->name(); }

  absl::Status GetSpecialist(const v1::GetSpecialistRequest& request, v1::Specialist* response) override {
    return Call(region_->registry.get(), &v1::RegistryService::Stub::GetSpecialist, request, response);
  }
  absl::Status GetSupportRequest(const v1::GetSupportRequestRequest& request,
                                 v1::SupportRequest* response) override {
    return Call(region_->sharing.get(), &SharingStub::GetSupportRequest, request, response);
  }
  absl::Status ListSupportRequests(const v1::ListSupportRequestsRequest& request,
                                   v1::ListSupportRequestsResponse* response) override {
    return Call(region_->sharing.get(), &SharingStub::ListSupportRequests, request, response,
                CallKind::kFanOut);
  }
  absl::Status CreateCapacityCommitment(const v1::CreateCapacityCommitmentRequest& request,
                                        v1::CapacityCommitment* response) override {
    return Call(region_->sharing.get(), &SharingStub::CreateCapacityCommitment, request, response);
  }
  absl::Status ConfirmCapacityCommitment(const v1::ConfirmCapacityCommitmentRequest& request,
                                         v1::CapacityCommitment* response) override {
    return Call(region_->sharing.get(), &SharingStub::ConfirmCapacityCommitment, request, response);
  }
  absl::Status ReleaseCapacityCommitment(const v1::ReleaseCapacityCommitmentRequest& request,
                                         v1::CapacityCommitment* response) override {
    return Call(region_->sharing.get(), &SharingStub::ReleaseCapacityCommitment, request, response);
  }
  absl::Status OfferSupport(const v1::OfferSupportRequest& request, v1::SupportRequest* response) override {
    return Call(region_->sharing.get(), &SharingStub::OfferSupport, request, response);
  }
  absl::Status AcceptOffer(const v1::AcceptOfferRequest& request, v1::SupportRequest* response) override {
    return Call(region_->sharing.get(), &SharingStub::AcceptOffer, request, response);
  }
  absl::Status DeclineOffers(const v1::DeclineOffersRequest& request, v1::SupportRequest* response) override {
    return Call(region_->sharing.get(), &SharingStub::DeclineOffers, request, response);
  }
  absl::Status WithdrawSupportRequest(const v1::WithdrawSupportRequestRequest& request,
                                      v1::SupportRequest* response) override {
    return Call(region_->sharing.get(), &SharingStub::WithdrawSupportRequest, request, response);
  }
  absl::Status CompleteSupportRequest(const v1::CompleteSupportRequestRequest& request,
                                      v1::SupportRequest* response) override {
    return Call(region_->sharing.get(), &SharingStub::CompleteSupportRequest, request, response);
  }
  absl::Status EscalateSupportRequest(const v1::EscalateSupportRequestRequest& request,
                                      v1::SupportRequest* response) override {
    return Call(region_->sharing.get(), &SharingStub::EscalateSupportRequest, request, response);
  }

 private:
  using SharingStub = v1::CapacitySharingService::Stub;

  // One blocking call on behalf of the incoming one; a region's error keeps
  // its details and names the region.
  template <typename Stub, typename Request, typename Response>
  absl::Status Call(Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response, CallKind kind = CallKind::kStep) {
    std::unique_ptr<grpc::ClientContext> context = pool_->ChildContext(ctx_, kind);
    if (kind != CallKind::kStep) RegionPool::CapAsStep(context.get());
    return FromGrpcStatus(FromRegion(name(), (stub->*method)(context.get(), request, response)));
  }

  const RegionPool* pool_;
  const RegionPool::Region* region_;
  grpc::CallbackServerContext* ctx_;
};

GrpcRegionClients::GrpcRegionClients(const Forwarder* forwarder, grpc::CallbackServerContext* ctx)
    : forwarder_(forwarder), ctx_(ctx) {
  const RegionPool& pool = forwarder_->pool();
  for (size_t i = 0; i < pool.size(); ++i) {
    clients_.push_back(std::make_unique<Client>(&pool, &pool.region(i), ctx));
  }
}

GrpcRegionClients::~GrpcRegionClients() = default;

absl::StatusOr<RegionClient*> GrpcRegionClients::ForName(const std::string& name, std::string_view field) {
  absl::StatusOr<const RegionPool::Region*> region = forwarder_->pool().ForName(name, field);
  if (!region.ok()) return region.status();
  for (size_t i = 0; i < clients_.size(); ++i) {
    if (&forwarder_->pool().region(i) == *region) return clients_[i].get();
  }
  return absl::InternalError("a routed region is missing from the pool");
}

std::vector<RegionClient*> GrpcRegionClients::All() {
  std::vector<RegionClient*> all;
  for (const auto& client : clients_) all.push_back(client.get());
  return all;
}

absl::Status GrpcRegionClients::ResolveSupportRequest(std::string* name) {
  constexpr absl::string_view kAnyRegion = "regions/-/supportRequests/";
  if (!absl::StartsWith(*name, kAnyRegion)) return absl::OkStatus();
  absl::Notification finished;
  grpc::Status status;
  forwarder_->FindInAnyRegion<SharingAsync, v1::GetSupportRequestRequest, v1::SupportRequest>(
      ctx_, *name, name->substr(kAnyRegion.size()), "supportRequests", &SharingAsync::GetSupportRequest,
      {.method = "GetSupportRequest", .from_step = true},
      [&](const grpc::Status& found_status, const v1::SupportRequest* found) {
        status = found_status;
        if (found != nullptr) *name = found->name();
        finished.Notify();
      });
  finished.WaitForNotification();
  return FromGrpcStatus(status);
}

}  // namespace expertise::directory
