#include "services/registry/offer_lifecycle.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/registry/resource_model.h"
#include "services/sharing/lifecycle.h"

namespace expertise::registry {
namespace {

using sharing::Transition;
using sharing_internal::CheckRequestId;
using sharing_internal::ClosePendingOffers;
using sharing_internal::CommitmentName;
using sharing_internal::CommitSharing;
using sharing_internal::ConfirmChange;
using sharing_internal::ParseCommitmentName;
using sharing_internal::ParseSupportRequestName;
using sharing_internal::PrepareCommitmentChange;
using sharing_internal::PrepareLocalReleases;
using sharing_internal::PrepareRequestChange;
using sharing_internal::SharingWrite;

bool IsSpecialistName(const std::string& name) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  return parts.size() == 4 && parts[0] == "regions" && parts[2] == "specialists" &&
         !parts[1].empty() && !parts[3].empty();
}

absl::Status ApplyTransition(v1::SupportRequest* request, Transition transition) {
  ASSIGN_OR_RETURN(v1::SupportRequestState next, sharing::NextState(request->state(), transition));
  request->set_state(next);
  return absl::OkStatus();
}

v1::SupportOffer* FindOffer(v1::SupportRequest* request, absl::string_view offer_id) {
  for (v1::SupportOffer& offer : *request->mutable_offers()) {
    if (offer.offer_id() == offer_id) return &offer;
  }
  return nullptr;
}

// Offer ids are made here ("o-1", "o-2", ...); anything else is refused
// before it can reach a message or the audit trail.
bool IsOfferId(absl::string_view id) {
  if (!absl::StartsWith(id, "o-") || id.size() < 3 || id.size() > 8) return false;
  return std::all_of(id.begin() + 2, id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

v1::GetSupportRequestRequest NameRequest(const std::string& name) {
  v1::GetSupportRequestRequest get;
  get.set_name(name);
  return get;
}

}  // namespace

absl::StatusOr<v1::SupportRequest> OfferLifecycle::ChangeRequestAndRelease(
    const std::string& name, const sharing_internal::RequestChange& change,
    std::vector<v1::SupportOffer::State> release_states, bool completed, const CallAccess& access) {
  RegistryCore::WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  std::shared_ptr<const v1::SupportRequest> before;
  {
    ASSIGN_OR_RETURN(std::string id, ParseSupportRequestName(core_.rules().region(), name, "name"));
    ReaderMutexLock lock(&core_.mu());
    auto it = core_.support_requests().find(id);
    if (it != core_.support_requests().end()) before = it->second;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<v1::SupportRequest> record,
                   PrepareRequestChange(core_, name, "name", change));
  if (!record) return *before;  // a retry of a change already made
  SharingWrite write;
  // The offers as they were: the change closes them.
  RETURN_IF_ERROR(
      PrepareLocalReleases(core_, *before, release_states, completed, access, &write));
  write.requests.push_back(record);
  v1::SupportRequest result = *record;
  RETURN_IF_ERROR(CommitSharing(core_, std::move(write)));
  return result;
}

absl::StatusOr<v1::SupportRequest> OfferLifecycle::Offer(const v1::OfferSupportRequest& req,
                                                         const CallAccess& access) {
  FieldViolations v;
  const v1::SupportOffer& offer = req.offer();
  if (!IsSpecialistName(offer.specialist())) {
    v.Add("offer.specialist", "must be regions/{region}/specialists/{specialist}");
  }
  if (!std::isfinite(offer.hours_per_week()) || offer.hours_per_week() < 0 ||
      offer.hours_per_week() > 168) {
    v.Add("offer.hours_per_week", "must be between 0 (the request's hours) and 168");
  }
  if (!core_.rules().reference().FindAuthority(offer.provider_authority())) {
    v.Add("offer.provider_authority", "must be the GSS code of the authority owning the specialist");
  }
  const std::optional<CommitmentName> commitment = ParseCommitmentName(req.commitment());
  if (!commitment || !absl::StartsWith(req.commitment(), offer.specialist() + "/")) {
    v.Add("commitment", "must be a commitment of the offered specialist: {specialist}/commitments/{id}");
  }
  CheckRequestId(req.request_id(), false, &v);
  if (absl::Status note = sharing::ValidateNote(offer.note(), "offer.note"); !note.ok()) {
    v.Add("offer.note", std::string(note.message()));
  }
  RETURN_IF_ERROR(v.ToStatus());
  RETURN_IF_ERROR(access.CheckWrite(offer.provider_authority()));
  RegistryCore::WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  // A commitment of this region is checked here: it must exist, be the
  // provider's and serve this request (one elsewhere is checked by its
  // region when the offer is accepted).
  std::optional<double> local_hours;
  if (commitment->region_id == core_.rules().region().id) {
    ASSIGN_OR_RETURN(v1::SupportRequest need, requests_.Get(NameRequest(req.name())));
    SpecialistPtr specialist;
    {
      ReaderMutexLock lock(&core_.mu());
      specialist = core_.index().Find(commitment->specialist_id);
    }
    const v1::CapacityCommitment* found = nullptr;
    if (specialist) {
      for (const auto& c : specialist->commitments()) {
        if (c.name() == req.commitment()) found = &c;
      }
    }
    // It must also name the requester (who alone may confirm it) and still
    // be open; the offer's hours are the commitment's.
    if (!found || specialist->owning_authority() != offer.provider_authority() ||
        found->support_request() != req.name() ||
        found->requesting_authority() != need.requesting_authority() ||
        found->state() == v1::CapacityCommitment::RELEASED ||
        found->state() == v1::CapacityCommitment::COMPLETED) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            req.commitment(), " is not an open commitment of ",
                            offer.provider_authority(), " for ", req.name(),
                            ": create it first (CreateCapacityCommitment)")),
                        reasons::kCommitmentMismatch);
    }
    local_hours = found->hours_per_week();
  }
  ASSIGN_OR_RETURN(
      std::shared_ptr<v1::SupportRequest> record,
      PrepareRequestChange(core_, req.name(), "name", [&](v1::SupportRequest* r, absl::Time now) {
        for (const v1::SupportOffer& existing : r->offers()) {
          if (existing.commitment() == req.commitment()) {
            if (existing.state() != v1::SupportOffer::CLOSED) return absl::OkStatus();  // a retry
            return WithReason(absl::FailedPreconditionError(absl::StrCat(
                                  req.commitment(), " was offered before and closed; offer again "
                                  "with a new commitment")),
                              reasons::kCommitmentClosed);
          }
        }
        RETURN_IF_ERROR(ApplyTransition(r, Transition::kOffer));
        r->clear_state_reason();
        r->clear_escalation_owner();
        r->clear_escalate_time();
        v1::SupportOffer* added = r->add_offers();
        added->set_offer_id(absl::StrCat("o-", r->offers_size()));
        added->set_commitment(req.commitment());
        added->set_specialist(offer.specialist());
        added->set_provider_authority(offer.provider_authority());
        added->set_hours_per_week(local_hours                    ? *local_hours
                                  : offer.hours_per_week() > 0 ? offer.hours_per_week()
                                                               : r->hours_per_week());
        *added->mutable_start_date() = r->start_date();
        *added->mutable_end_date() = sharing::PeriodEnd(r->start_date(), r->weeks());
        added->set_note(offer.note());
        added->set_state(v1::SupportOffer::PENDING);
        *added->mutable_create_time() = ToProto(now);
        return absl::OkStatus();
      }));
  if (!record) return requests_.Get(NameRequest(req.name()));
  v1::SupportRequest result = *record;
  SharingWrite write;
  write.requests.push_back(std::move(record));
  RETURN_IF_ERROR(CommitSharing(core_, std::move(write)));
  return result;
}

absl::StatusOr<v1::SupportRequest> OfferLifecycle::Accept(const v1::AcceptOfferRequest& req,
                                                          const CallAccess& access) {
  FieldViolations v;
  if (!IsOfferId(req.offer_id())) v.Add("offer_id", "must be an offer id such as o-1");
  CheckRequestId(req.request_id(), true, &v);
  RETURN_IF_ERROR(v.ToStatus());
  // Checking the request, committing the hours and recording the acceptance
  // happen under one write lock and in one store transaction: of several
  // acceptances racing for one request, or for one specialist's hours,
  // exactly one wins and the losers change nothing.
  RegistryCore::WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  std::string commitment_name;
  ASSIGN_OR_RETURN(
      std::shared_ptr<v1::SupportRequest> record,
      PrepareRequestChange(core_, req.name(), "name", [&](v1::SupportRequest* r, absl::Time) {
        RETURN_IF_ERROR(access.CheckWrite(r->requesting_authority()));
        v1::SupportOffer* chosen = FindOffer(r, req.offer_id());
        if (!chosen) {
          return WithReason(
              absl::NotFoundError(absl::StrCat(req.name(), " has no offer ", req.offer_id())),
              reasons::kOfferNotFound);
        }
        if ((r->state() == v1::SUPPORT_REQUEST_STATE_ACCEPTED ||
             r->state() == v1::SUPPORT_REQUEST_STATE_ACTIVE) &&
            r->accepted_offer_id() == req.offer_id()) {
          return absl::OkStatus();  // a retry after the acceptance was recorded
        }
        RETURN_IF_ERROR(ApplyTransition(r, Transition::kAccept));
        if (chosen->state() != v1::SupportOffer::PENDING) {
          return WithReason(absl::FailedPreconditionError(absl::StrCat(
                                "offer ", req.offer_id(), " of ", req.name(), " is no longer pending")),
                            reasons::kIllegalTransition);
        }
        commitment_name = chosen->commitment();
        ClosePendingOffers(r);
        chosen->set_state(v1::SupportOffer::ACCEPTED);
        r->set_accepted_offer_id(req.offer_id());
        r->clear_state_reason();
        return absl::OkStatus();
      }));
  if (!record) return requests_.Get(NameRequest(req.name()));
  SharingWrite write;
  if (absl::StartsWith(commitment_name, core_.rules().region().resource_name() + "/")) {
    RETURN_IF_ERROR(PrepareCommitmentChange(core_, commitment_name, access,
                                            ConfirmChange(req.request_id(), req.name(), access,
                                                          core_.rules().Today()),
                                            &write)
                        .status());
  } else if (!access.forwarded || req.confirmed_commitment() != commitment_name) {
    // Only the directory may vouch that the hours were committed in the
    // provider's region before it calls, and only for this offer's.
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "offer ", req.offer_id(), " commits hours in another region: accept it "
                          "through the directory, which commits them there first")),
                      reasons::kCrossRegionViaDirectory);
  }
  // The other pending offers' commitments of this region are released.
  std::shared_ptr<const v1::SupportRequest> before;
  {
    ReaderMutexLock lock(&core_.mu());
    before = core_.support_requests().at(record->name().substr(record->name().rfind('/') + 1));
  }
  v1::SupportRequest others = *before;
  for (v1::SupportOffer& o : *others.mutable_offers()) {
    if (o.offer_id() == req.offer_id()) o.set_state(v1::SupportOffer::ACCEPTED);
  }
  RETURN_IF_ERROR(
      PrepareLocalReleases(core_, others, {v1::SupportOffer::PENDING}, false, access, &write));
  write.requests.push_back(record);
  v1::SupportRequest result = *record;
  RETURN_IF_ERROR(CommitSharing(core_, std::move(write)));
  return result;
}

absl::StatusOr<v1::SupportRequest> OfferLifecycle::Decline(const v1::DeclineOffersRequest& req,
                                                           const CallAccess& access) {
  RETURN_IF_ERROR(sharing::ValidateNote(req.reason(), "reason"));
  return ChangeRequestAndRelease(
      req.name(),
      [&](v1::SupportRequest* r, absl::Time) {
        RETURN_IF_ERROR(access.CheckWrite(r->requesting_authority()));
        if (r->state() == v1::SUPPORT_REQUEST_STATE_DECLINED) return absl::OkStatus();
        RETURN_IF_ERROR(ApplyTransition(r, Transition::kDecline));
        ClosePendingOffers(r);
        r->set_state_reason(req.reason().empty() ? "offers declined" : req.reason());
        return absl::OkStatus();
      },
      {v1::SupportOffer::PENDING}, false, access);
}

absl::StatusOr<v1::SupportRequest> OfferLifecycle::Withdraw(
    const v1::WithdrawSupportRequestRequest& req, const CallAccess& access) {
  RETURN_IF_ERROR(sharing::ValidateNote(req.reason(), "reason"));
  return ChangeRequestAndRelease(
      req.name(),
      [&](v1::SupportRequest* r, absl::Time) {
        RETURN_IF_ERROR(access.CheckWrite(r->requesting_authority()));
        if (r->state() == v1::SUPPORT_REQUEST_STATE_WITHDRAWN) return absl::OkStatus();
        RETURN_IF_ERROR(ApplyTransition(r, Transition::kWithdraw));
        ClosePendingOffers(r);
        if (v1::SupportOffer* accepted = FindOffer(r, r->accepted_offer_id())) {
          accepted->set_state(v1::SupportOffer::CLOSED);
        }
        r->set_state_reason(req.reason().empty() ? "withdrawn by the requester" : req.reason());
        return absl::OkStatus();
      },
      {v1::SupportOffer::PENDING, v1::SupportOffer::ACCEPTED}, false, access);
}

absl::StatusOr<v1::SupportRequest> OfferLifecycle::Complete(
    const v1::CompleteSupportRequestRequest& req, const CallAccess& access) {
  return ChangeRequestAndRelease(
      req.name(),
      [&](v1::SupportRequest* r, absl::Time) {
        RETURN_IF_ERROR(access.CheckWrite(r->requesting_authority()));
        if (r->state() == v1::SUPPORT_REQUEST_STATE_COMPLETED) return absl::OkStatus();
        return ApplyTransition(r, Transition::kComplete);
      },
      {v1::SupportOffer::ACCEPTED}, true, access);
}

absl::StatusOr<v1::SupportRequest> OfferLifecycle::Escalate(
    const v1::EscalateSupportRequestRequest& req, const CallAccess& access) {
  if (req.reason().empty()) return InvalidFieldError("reason", "is required: say why the need is unmet");
  RETURN_IF_ERROR(sharing::ValidateNote(req.reason(), "reason"));
  return ChangeRequestAndRelease(
      req.name(),
      [&](v1::SupportRequest* r, absl::Time now) {
        RETURN_IF_ERROR(access.CheckWrite(r->requesting_authority()));
        RETURN_IF_ERROR(ApplyTransition(r, Transition::kEscalate));
        ClosePendingOffers(r);
        r->set_state_reason(req.reason());
        r->set_escalation_owner(absl::StrCat("coordinator/", core_.rules().region().code));
        *r->mutable_escalate_time() = ToProto(now);
        return absl::OkStatus();
      },
      {v1::SupportOffer::PENDING}, false, access);
}

}  // namespace expertise::registry
