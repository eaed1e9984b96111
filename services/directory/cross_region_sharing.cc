#include "services/directory/cross_region_sharing.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/fnv.h"
#include "services/common/logging.h"
#include "services/common/status_macros.h"
#include "services/directory/federation.h"
#include "services/registry/page_token.h"
#include "services/registry/resource_model.h"
#include "services/sharing/lifecycle.h"

namespace expertise::directory {

namespace v1 = ::expertise::registry::v1;

namespace {

// Every commitment of the request's offers in other regions than
// `region`, and whether it is to be completed (the accepted one, when the
// work is done) rather than released. Releasing is idempotent, so a retried
// step settles them all again, whatever the request's state is by then.
std::vector<std::pair<std::string, bool>> RemoteCommitments(const v1::SupportRequest& request,
                                                            const std::string& region,
                                                            bool complete_accepted) {
  std::vector<std::pair<std::string, bool>> out;
  for (const v1::SupportOffer& o : request.offers()) {
    if (absl::StartsWith(o.commitment(), region + "/")) continue;
    out.emplace_back(o.commitment(), complete_accepted && o.offer_id() == request.accepted_offer_id());
  }
  return out;
}

// A refusal that will not change on retry: the requester's region decided.
bool RefusedForGood(absl::StatusCode code) {
  return code == absl::StatusCode::kFailedPrecondition || code == absl::StatusCode::kNotFound ||
         code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kInvalidArgument;
}

}  // namespace

absl::StatusOr<v1::SupportRequest> CrossRegionSharing::Get(std::string name) {
  RETURN_IF_ERROR(regions_->ResolveSupportRequest(&name));
  ASSIGN_OR_RETURN(RegionClient * requester, regions_->ForName(name, "name"));
  v1::GetSupportRequestRequest get;
  get.set_name(name);
  v1::SupportRequest need;
  RETURN_IF_ERROR(requester->GetSupportRequest(get, &need));
  return need;
}

absl::StatusOr<v1::SupportRequest> CrossRegionSharing::Offer(v1::OfferSupportRequest request) {
  RETURN_IF_ERROR(regions_->ResolveSupportRequest(request.mutable_name()));
  ASSIGN_OR_RETURN(RegionClient * requester, regions_->ForName(request.name(), "name"));
  ASSIGN_OR_RETURN(RegionClient * provider, regions_->ForName(request.offer().specialist(), "offer.specialist"));
  v1::GetSupportRequestRequest get;
  get.set_name(request.name());
  v1::SupportRequest need;
  RETURN_IF_ERROR(requester->GetSupportRequest(get, &need));
  v1::GetSpecialistRequest get_specialist;
  get_specialist.set_name(request.offer().specialist());
  v1::Specialist specialist;
  RETURN_IF_ERROR(provider->GetSpecialist(get_specialist, &specialist));

  v1::CreateCapacityCommitmentRequest create;
  create.set_parent(specialist.name());
  v1::CapacityCommitment* c = create.mutable_commitment();
  c->set_support_request(need.name());
  c->set_requesting_authority(need.requesting_authority());
  c->set_hours_per_week(request.offer().hours_per_week() > 0 ? request.offer().hours_per_week()
                                                             : need.hours_per_week());
  *c->mutable_start_date() = need.start_date();
  *c->mutable_end_date() = sharing::PeriodEnd(need.start_date(), need.weeks());
  // A retry finds the same commitment: the id counts only the earlier,
  // closed offers of this specialist, so a new offer after one was
  // declined or withdrawn gets a new commitment.
  int closed = 0;
  for (const v1::SupportOffer& o : need.offers()) {
    if (o.specialist() != specialist.name()) continue;
    if (o.state() != v1::SupportOffer::CLOSED) return need;  // already offered and still open: a retry
    ++closed;
  }
  create.set_request_id(request.request_id().empty()
                            ? absl::StrFormat("offer-%016x-%d", Fnv1a64(specialist.name()), closed)
                            : request.request_id());
  v1::CapacityCommitment commitment;
  RETURN_IF_ERROR(provider->CreateCapacityCommitment(create, &commitment));

  request.set_commitment(commitment.name());
  request.mutable_offer()->set_specialist(specialist.name());
  request.mutable_offer()->set_provider_authority(specialist.owning_authority());
  request.mutable_offer()->set_hours_per_week(commitment.hours_per_week());
  v1::SupportRequest offered;
  RETURN_IF_ERROR(requester->OfferSupport(request, &offered));
  return offered;
}

absl::StatusOr<v1::SupportRequest> CrossRegionSharing::Accept(v1::AcceptOfferRequest request) {
  RETURN_IF_ERROR(regions_->ResolveSupportRequest(request.mutable_name()));
  ASSIGN_OR_RETURN(RegionClient * requester, regions_->ForName(request.name(), "name"));
  if (request.request_id().empty()) {
    return InvalidFieldError("request_id", "is required: a retry with the same id is then safe");
  }
  v1::GetSupportRequestRequest get;
  get.set_name(request.name());
  v1::SupportRequest need;
  RETURN_IF_ERROR(requester->GetSupportRequest(get, &need));
  const v1::SupportOffer* offer = nullptr;
  for (const v1::SupportOffer& o : need.offers()) {
    if (o.offer_id() == request.offer_id()) offer = &o;
  }
  if (offer == nullptr) {
    return WithReason(absl::NotFoundError(absl::StrCat(request.name(), " has no offer ", request.offer_id())),
                      reasons::kOfferNotFound);
  }
  ASSIGN_OR_RETURN(RegionClient * provider, regions_->ForName(offer->commitment(), "offer_id"));
  v1::SupportRequest accepted;
  if (provider == requester) {
    // Same region: the registry confirms and records in one call.
    RETURN_IF_ERROR(requester->AcceptOffer(request, &accepted));
    return accepted;
  }
  // The race is decided here, atomically, in the provider's region.
  v1::ConfirmCapacityCommitmentRequest confirm;
  confirm.set_name(offer->commitment());
  confirm.set_request_id(request.request_id());
  confirm.set_support_request(request.name());
  v1::CapacityCommitment committed;
  RETURN_IF_ERROR(provider->ConfirmCapacityCommitment(confirm, &committed));
  request.set_confirmed_commitment(committed.name());
  absl::Status status = requester->AcceptOffer(request, &accepted);
  if (status.ok()) return accepted;
  if (RefusedForGood(status.code())) {
    // The requester's region refused for good (another offer of the
    // request won, say): the hours just committed go back. Any other
    // failure leaves the outcome unknown, and a retry completes it.
    v1::ReleaseCapacityCommitmentRequest release;
    release.set_name(offer->commitment());
    v1::CapacityCommitment released;
    absl::Status undone = provider->ReleaseCapacityCommitment(release, &released);
    if (!undone.ok()) {
      LogEvent(*GetLogger("directory"), spdlog::level::err, "release_after_refusal_failed",
               {{"commitment", offer->commitment()}, {"error", std::string(undone.message())}});
    }
  }
  return status;
}

template <typename Request>
absl::StatusOr<v1::SupportRequest> CrossRegionSharing::Settle(
    Request request, absl::Status (RegionClient::*change)(const Request&, v1::SupportRequest*),
    bool complete_accepted) {
  RETURN_IF_ERROR(regions_->ResolveSupportRequest(request.mutable_name()));
  ASSIGN_OR_RETURN(RegionClient * requester, regions_->ForName(request.name(), "name"));
  v1::SupportRequest changed;
  RETURN_IF_ERROR((requester->*change)(request, &changed));
  for (const auto& [name, completed] : RemoteCommitments(changed, requester->name(), complete_accepted)) {
    ASSIGN_OR_RETURN(RegionClient * provider, regions_->ForName(name, "commitment"));
    v1::ReleaseCapacityCommitmentRequest release;
    release.set_name(name);
    release.set_completed(completed);
    v1::CapacityCommitment released;
    RETURN_IF_ERROR(provider->ReleaseCapacityCommitment(release, &released));
  }
  return changed;
}

absl::StatusOr<v1::SupportRequest> CrossRegionSharing::Decline(v1::DeclineOffersRequest request) {
  return Settle(std::move(request), &RegionClient::DeclineOffers, /*complete_accepted=*/false);
}

absl::StatusOr<v1::SupportRequest> CrossRegionSharing::Withdraw(v1::WithdrawSupportRequestRequest request) {
  return Settle(std::move(request), &RegionClient::WithdrawSupportRequest, /*complete_accepted=*/false);
}

absl::StatusOr<v1::SupportRequest> CrossRegionSharing::Complete(v1::CompleteSupportRequestRequest request) {
  return Settle(std::move(request), &RegionClient::CompleteSupportRequest, /*complete_accepted=*/true);
}

absl::StatusOr<v1::SupportRequest> CrossRegionSharing::Escalate(v1::EscalateSupportRequestRequest request) {
  return Settle(std::move(request), &RegionClient::EscalateSupportRequest, /*complete_accepted=*/false);
}

absl::StatusOr<v1::ListSupportRequestsResponse> CrossRegionSharing::ListEverywhere(
    const v1::ListSupportRequestsRequest& request) {
  if (request.page_size() < 0) return InvalidFieldError("page_size", "must not be negative");
  if (!request.page_token().empty() && !registry::DecodePageToken(request.page_token()).ok()) {
    return InvalidFieldError("page_token", "is not a token from this listing with these filters");
  }
  // Requests are few (a region's open business), so each region's whole
  // list is gathered and merged oldest first.
  std::vector<v1::SupportRequest> all;
  std::vector<std::string> unreachable;
  for (RegionClient* region : regions_->All()) {
    v1::ListSupportRequestsRequest one = request;
    one.set_parent(region->name());
    one.set_page_size(1000);
    one.clear_page_token();
    int gathered = 0;
    bool answered = true;
    do {
      v1::ListSupportRequestsResponse page;
      absl::Status status = region->ListSupportRequests(one, &page);
      if (!status.ok()) {
        if (IsCallerError(static_cast<int>(status.code()))) return status;  // the caller's, not the region's
        answered = false;
        break;
      }
      gathered += page.support_requests_size();
      for (auto& r : *page.mutable_support_requests()) all.push_back(std::move(r));
      one.set_page_token(page.next_page_token());
    } while (!one.page_token().empty() && gathered < kMaxListedPerRegion);
    // Named also when it holds more than a national listing gathers whole:
    // its list is incomplete, and the listing does not pretend otherwise.
    if (!answered || !one.page_token().empty()) unreachable.push_back(region->name());
  }
  const int page_size = request.page_size() == 0 ? 50 : std::min(request.page_size(), 1000);
  ASSIGN_OR_RETURN(v1::ListSupportRequestsResponse page,
                   registry::PageSupportRequests(std::move(all), request, page_size));
  for (std::string& name : unreachable) page.add_unreachable(std::move(name));
  return page;
}

}  // namespace expertise::directory
