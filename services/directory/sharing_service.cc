#include "services/directory/sharing_service.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/directory/grpc_region_clients.h"
#include "services/directory/merged_watch.h"
#include "services/directory/sharing_federation.h"

namespace expertise::directory {

namespace v1 = ::expertise::registry::v1;

DirectorySharingService::DirectorySharingService(const RegionPool* pool, size_t threads)
    : pool_(pool), forward_(pool), executor_(threads, 4096) {}

DirectorySharingService::~DirectorySharingService() = default;

template <typename Response>
grpc::ServerUnaryReactor* DirectorySharingService::Step(
    grpc::CallbackServerContext* ctx, Response* response,
    std::function<absl::StatusOr<Response>(CrossRegionSharing&)> step) {
  if (grpc::ServerUnaryReactor* refused = forward_.Refused(ctx)) return refused;
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool queued = executor_.Submit([this, ctx, reactor, response, step = std::move(step)]() {
    GrpcRegionClients regions(&forward_, ctx);
    CrossRegionSharing sharing(&regions);
    absl::StatusOr<Response> outcome = step(sharing);
    if (outcome.ok()) *response = *std::move(outcome);
    // A region's refusal keeps the region's name, reason and domain.
    reactor->Finish(outcome.ok() ? grpc::Status::OK : Error(outcome.status()));
  });
  if (!queued) {
    reactor->Finish(Error(absl::ResourceExhaustedError("the directory is overloaded; retry with backoff")));
  }
  return reactor;
}

std::vector<const RegionInfo*> DirectorySharingService::Regions() const {
  std::vector<const RegionInfo*> regions;
  for (size_t i = 0; i < pool_->size(); ++i) regions.push_back(pool_->region(i).info);
  return regions;
}

// ---------------------------------------------------------------------------
// Routed to one region.

grpc::ServerUnaryReactor* DirectorySharingService::CreateSupportRequest(
    grpc::CallbackServerContext* ctx, const v1::CreateSupportRequestRequest* request,
    v1::SupportRequest* response) {
  return forward_.Route(ctx, pool_->ForParent(request->parent(), "parent"), request, response,
                        &SharingAsync::CreateSupportRequest);
}

grpc::ServerUnaryReactor* DirectorySharingService::GetSupportRequest(
    grpc::CallbackServerContext* ctx, const v1::GetSupportRequestRequest* request,
    v1::SupportRequest* response) {
  constexpr absl::string_view kAnyRegion = "regions/-/supportRequests/";
  if (absl::StartsWith(request->name(), kAnyRegion)) {
    return forward_.Find(ctx, request->name(), request->name().substr(kAnyRegion.size()), "supportRequests",
                         &SharingAsync::GetSupportRequest, "GetSupportRequest", response);
  }
  return forward_.Route(ctx, pool_->ForName(request->name(), "name"), request, response,
                        &SharingAsync::GetSupportRequest);
}

grpc::ServerUnaryReactor* DirectorySharingService::CreateCapacityCommitment(
    grpc::CallbackServerContext* ctx, const v1::CreateCapacityCommitmentRequest* request,
    v1::CapacityCommitment* response) {
  return forward_.Route(ctx, pool_->ForName(request->parent(), "parent"), request, response,
                        &SharingAsync::CreateCapacityCommitment);
}

grpc::ServerUnaryReactor* DirectorySharingService::ConfirmCapacityCommitment(
    grpc::CallbackServerContext* ctx, const v1::ConfirmCapacityCommitmentRequest* /*request*/,
    v1::CapacityCommitment* /*response*/) {
  // Hours are committed only as the first step of an acceptance
  // (AcceptOffer), never on their own: a requester could otherwise hold
  // several providers' hours without accepting any.
  if (grpc::ServerUnaryReactor* refused = forward_.Refused(ctx)) return refused;
  return Forwarder::Finished(
      ctx, Error(WithReason(absl::FailedPreconditionError(
                                "commitments are confirmed by accepting the offer (AcceptOffer)"),
                            reasons::kUseAcceptOffer)));
}

grpc::ServerUnaryReactor* DirectorySharingService::ReleaseCapacityCommitment(
    grpc::CallbackServerContext* ctx, const v1::ReleaseCapacityCommitmentRequest* request,
    v1::CapacityCommitment* response) {
  return forward_.Route(ctx, pool_->ForName(request->name(), "name"), request, response,
                        &SharingAsync::ReleaseCapacityCommitment);
}

// ---------------------------------------------------------------------------
// Spanning regions: CrossRegionSharing on the executor.

grpc::ServerUnaryReactor* DirectorySharingService::OfferSupport(grpc::CallbackServerContext* ctx,
                                                                const v1::OfferSupportRequest* request,
                                                                v1::SupportRequest* response) {
  return Step<v1::SupportRequest>(ctx, response, [request](CrossRegionSharing& s) { return s.Offer(*request); });
}

grpc::ServerUnaryReactor* DirectorySharingService::AcceptOffer(grpc::CallbackServerContext* ctx,
                                                               const v1::AcceptOfferRequest* request,
                                                               v1::SupportRequest* response) {
  return Step<v1::SupportRequest>(ctx, response, [request](CrossRegionSharing& s) { return s.Accept(*request); });
}

grpc::ServerUnaryReactor* DirectorySharingService::DeclineOffers(grpc::CallbackServerContext* ctx,
                                                                 const v1::DeclineOffersRequest* request,
                                                                 v1::SupportRequest* response) {
  return Step<v1::SupportRequest>(ctx, response, [request](CrossRegionSharing& s) { return s.Decline(*request); });
}

grpc::ServerUnaryReactor* DirectorySharingService::WithdrawSupportRequest(
    grpc::CallbackServerContext* ctx, const v1::WithdrawSupportRequestRequest* request,
    v1::SupportRequest* response) {
  return Step<v1::SupportRequest>(ctx, response, [request](CrossRegionSharing& s) { return s.Withdraw(*request); });
}

grpc::ServerUnaryReactor* DirectorySharingService::CompleteSupportRequest(
    grpc::CallbackServerContext* ctx, const v1::CompleteSupportRequestRequest* request,
    v1::SupportRequest* response) {
  return Step<v1::SupportRequest>(ctx, response, [request](CrossRegionSharing& s) { return s.Complete(*request); });
}

grpc::ServerUnaryReactor* DirectorySharingService::EscalateSupportRequest(
    grpc::CallbackServerContext* ctx, const v1::EscalateSupportRequestRequest* request,
    v1::SupportRequest* response) {
  return Step<v1::SupportRequest>(ctx, response, [request](CrossRegionSharing& s) { return s.Escalate(*request); });
}

grpc::ServerUnaryReactor* DirectorySharingService::ListSupportRequests(
    grpc::CallbackServerContext* ctx, const v1::ListSupportRequestsRequest* request,
    v1::ListSupportRequestsResponse* response) {
  if (request->parent() != kAllRegions) {
    return forward_.Route(ctx, pool_->ForParent(request->parent(), "parent"), request, response,
                          &SharingAsync::ListSupportRequests);
  }
  return Step<v1::ListSupportRequestsResponse>(
      ctx, response, [request](CrossRegionSharing& s) { return s.ListEverywhere(*request); });
}

absl::StatusOr<v1::SuggestProvidersResponse> DirectorySharingService::SuggestEverywhere(
    grpc::CallbackServerContext* ctx, CrossRegionSharing& sharing, const v1::SuggestProvidersRequest& request) const {
  if (request.max_suggestions() < 0) return InvalidFieldError("max_suggestions", "must not be negative");
  absl::StatusOr<v1::SupportRequest> need = sharing.Get(request.name());
  if (!need.ok()) return need.status();
  v1::SuggestProvidersRequest one = request;
  one.set_name(need->name());
  *one.mutable_support_request() = *std::move(need);
  std::vector<std::optional<v1::SuggestProvidersResponse>> answers;
  grpc::Status caller_error;
  std::vector<std::string> unreachable;
  // Suggestions are best effort: a region that fails, for whatever reason,
  // is named, and the others still suggest.
  pool_->FanOutAndWait<SharingAsync, v1::SuggestProvidersRequest, v1::SuggestProvidersResponse>(
      ctx, std::vector<std::optional<v1::SuggestProvidersRequest>>(pool_->size(), one),
      &SharingAsync::SuggestProviders, {.method = "SuggestProviders", .caller_errors_end_the_call = false},
      &answers, &caller_error, &unreachable);
  std::vector<const v1::SuggestProvidersResponse*> heard;
  for (const auto& answer : answers) heard.push_back(answer ? &*answer : nullptr);
  return MergeSuggestions(heard, Regions(), request.max_suggestions());
}

grpc::ServerUnaryReactor* DirectorySharingService::SuggestProviders(grpc::CallbackServerContext* ctx,
                                                                    const v1::SuggestProvidersRequest* request,
                                                                    v1::SuggestProvidersResponse* response) {
  return Step<v1::SuggestProvidersResponse>(
      ctx, response, [this, ctx, request](CrossRegionSharing& s) { return SuggestEverywhere(ctx, s, *request); });
}

// ---------------------------------------------------------------------------
// National reports: fanned out and merged.

grpc::ServerUnaryReactor* DirectorySharingService::GetUnmetNeedReport(
    grpc::CallbackServerContext* ctx, const v1::GetUnmetNeedReportRequest* request,
    v1::UnmetNeedReport* response) {
  if (request->parent() != kAllRegions) {
    return forward_.Route(ctx, pool_->ForParent(request->parent(), "parent"), request, response,
                          &SharingAsync::GetUnmetNeedReport);
  }
  return forward_.Federated(
      ctx, "GetUnmetNeedReport",
      absl::StatusOr<FederatedUnmetNeed>(FederatedUnmetNeed(*request, Regions(), pool_->clock().Now())),
      &SharingAsync::GetUnmetNeedReport, response);
}

grpc::ServerUnaryReactor* DirectorySharingService::GetEquityReport(grpc::CallbackServerContext* ctx,
                                                                   const v1::GetEquityReportRequest* request,
                                                                   v1::EquityReport* response) {
  if (request->parent() != kAllRegions) {
    return forward_.Route(ctx, pool_->ForParent(request->parent(), "parent"), request, response,
                          &SharingAsync::GetEquityReport);
  }
  return forward_.Federated(ctx, "GetEquityReport",
                            absl::StatusOr<FederatedEquity>(FederatedEquity(*request, Regions())),
                            &SharingAsync::GetEquityReport, response);
}

grpc::ServerWriteReactor<v1::CapacityUpdate>* DirectorySharingService::WatchCapacity(
    grpc::CallbackServerContext* ctx, const v1::WatchCapacityRequest* request) {
  class Refusal final : public grpc::ServerWriteReactor<v1::CapacityUpdate> {
   public:
    explicit Refusal(const grpc::Status& status) { Finish(status); }
    void OnDone() override { delete this; }
  };
  const security::CallDecision decision = pool_->gate().Decision(ctx);
  if (!decision.status.ok()) return new Refusal(Error(decision.status));
  std::vector<const RegionPool::Region*> regions;
  if (request->parent() == kAllRegions) {
    for (size_t i = 0; i < pool_->size(); ++i) regions.push_back(&pool_->region(i));
  } else {
    absl::StatusOr<const RegionPool::Region*> region = pool_->ForParent(request->parent(), "parent");
    if (!region.ok()) return new Refusal(Error(region.status()));
    regions.push_back(*region);
  }
  return StartMergedWatch(pool_, ctx, *request, std::move(regions));
}

}  // namespace expertise::directory
