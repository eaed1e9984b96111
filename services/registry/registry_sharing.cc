// Capacity sharing in one region: support requests (kept here when the
// requesting authority is in this region), commitments on this region's
// specialists, suggestions, reports, the clock-driven sweep and the watch.
// Cross-region steps (an offer recorded here for a specialist elsewhere) are
// carried by the directory; see services/directory/sharing_service.cc.

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "google/protobuf/util/message_differencer.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "services/common/civil_date.h"
#include "services/common/fnv.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/registry/page_token.h"
#include "services/registry/registry.h"
#include "services/registry/validation.h"
#include "services/sharing/lifecycle.h"
#include "services/sharing/matching.h"
#include "services/sharing/reports.h"

namespace expertise::registry {
namespace {

using sharing::Transition;

constexpr size_t kMaxRequestIdLength = 64;
constexpr int kDefaultSuggestions = 10;
constexpr int kMaxSuggestions = 100;

std::string DerivedId(absl::string_view prefix, absl::string_view scope, absl::string_view key) {
  return absl::StrFormat("%s%016x", prefix, Fnv1a64(absl::StrCat(scope, "\x1f", key)));
}

std::string RandomId(absl::string_view prefix) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrFormat("%s%016x", prefix, rng());
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void CheckRequestId(const std::string& request_id, bool required, FieldViolations* v) {
  if (request_id.empty()) {
    if (required) v->Add("request_id", "is required: a retry with the same id is then safe");
    return;
  }
  bool ok = request_id.size() <= kMaxRequestIdLength;
  for (char c : request_id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.');
  }
  if (!ok) v->Add("request_id", "must be 1 to 64 letters, digits, '-', '_' or '.'");
}

// Splits `regions/{r}/specialists/{s}/commitments/{c}`.
struct CommitmentName {
  std::string region_id, specialist_id, commitment_id;
};
std::optional<CommitmentName> ParseCommitmentName(const std::string& name) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 6 || parts[0] != "regions" || parts[2] != "specialists" ||
      parts[4] != "commitments" || parts[1].empty() || parts[3].empty() || parts[5].empty()) {
    return std::nullopt;
  }
  return CommitmentName{parts[1], parts[3], parts[5]};
}

bool IsSpecialistName(const std::string& name) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  return parts.size() == 4 && parts[0] == "regions" && parts[2] == "specialists" &&
         !parts[1].empty() && !parts[3].empty();
}

bool IsSupportRequestName(const std::string& name) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  return parts.size() == 4 && parts[0] == "regions" && parts[2] == "supportRequests" &&
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

void ClosePendingOffers(v1::SupportRequest* request) {
  for (v1::SupportOffer& offer : *request->mutable_offers()) {
    if (offer.state() == v1::SupportOffer::PENDING) offer.set_state(v1::SupportOffer::CLOSED);
  }
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

// Commits an OFFERED commitment's hours if the specialist has them (the
// step that decides a race); a COMMITTED one answers as it is.
std::function<absl::Status(const v1::Specialist&, v1::CapacityCommitment*)> ConfirmChange(
    std::string request_id, std::string support_request, const CallAccess& access, DayNumber today) {
  return [=, &access](const v1::Specialist& specialist, v1::CapacityCommitment* c) -> absl::Status {
    // Only the requester (or its coordinator) accepts; the provider's
    // consent is the offer itself.
    RETURN_IF_ERROR(access.CheckWrite(c->requesting_authority()));
    if (!support_request.empty() && c->support_request() != support_request) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            c->name(), " serves ", c->support_request(), ", not ", support_request)),
                        reasons::kCommitmentMismatch);
    }
    switch (c->state()) {
      case v1::CapacityCommitment::COMMITTED:
        return absl::OkStatus();  // already committed: retries and duplicates agree
      case v1::CapacityCommitment::OFFERED:
        break;
      default:
        return WithReason(absl::FailedPreconditionError(absl::StrCat(
                              c->name(), " was released or completed and cannot be committed")),
                          reasons::kIllegalTransition);
    }
    const v1::Capacity& capacity = specialist.capacity();
    const double available = AvailableHours(
        capacity.contracted_hours_per_week(),
        capacity.committed_hours_per_week() + SharedCommittedHours(specialist, today));
    if (available + 1e-9 < c->hours_per_week()) {
      return WithReason(
          absl::FailedPreconditionError(absl::StrFormat(
              "%s has %.1f hours per week available; the commitment needs %.1f (another "
              "request may have taken them)",
              specialist.name(), available, c->hours_per_week())),
          reasons::kInsufficientCapacity);
    }
    c->set_state(v1::CapacityCommitment::COMMITTED);
    c->set_confirm_request_id(request_id);
    return absl::OkStatus();
  };
}

// Returns a commitment's hours; already released or completed stays so.
std::function<absl::Status(const v1::Specialist&, v1::CapacityCommitment*)> ReleaseChange(
    bool completed) {
  return [completed](const v1::Specialist&, v1::CapacityCommitment* c) -> absl::Status {
    if (c->state() == v1::CapacityCommitment::RELEASED ||
        c->state() == v1::CapacityCommitment::COMPLETED) {
      return absl::OkStatus();
    }
    c->set_state(completed ? v1::CapacityCommitment::COMPLETED : v1::CapacityCommitment::RELEASED);
    return absl::OkStatus();
  };
}

}  // namespace

double SharedCommittedHours(const v1::Specialist& record, DayNumber today) {
  double hours = 0;
  for (const v1::CapacityCommitment& c : record.commitments()) {
    if (c.state() == v1::CapacityCommitment::COMMITTED && DaysSinceEpoch(c.end_date()) >= today) {
      hours += c.hours_per_week();
    }
  }
  return hours;
}

// ---------------------------------------------------------------------------
// Support requests

absl::StatusOr<std::string> Registry::ParseSupportRequestName(const std::string& name,
                                                              absl::string_view field) const {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "regions" || parts[2] != "supportRequests" ||
      !IsValidResourceId(parts[3])) {
    return InvalidFieldError(std::string(field), "must be regions/{region}/supportRequests/{id}");
  }
  if (parts[1] != region_.id) {
    return WithReason(absl::NotFoundError(absl::StrCat(name, " is not in ", region_.resource_name(),
                                                       ", which this registry serves")),
                      reasons::kRegionNotServed);
  }
  return parts[3];
}

void Registry::StampSupportRequest(v1::SupportRequest* request, const v1::SupportRequest* previous,
                                   absl::Time now) const {
  *request->mutable_create_time() = previous ? previous->create_time() : ToProto(now);
  if (!previous || previous->state() != request->state()) {
    *request->mutable_state_change_time() = ToProto(now);
  }
  *request->mutable_update_time() = ToProto(now);
  request->set_etag(NextEtag(previous ? previous->etag() : "", now));
}

absl::StatusOr<v1::SupportRequest> Registry::CreateSupportRequest(
    const v1::CreateSupportRequestRequest& req, const CallAccess& access) {
  if (req.parent() == "regions/-") {
    return InvalidFieldError("parent", "must name the requesting authority's region");
  }
  RETURN_IF_ERROR(CheckParent(req.parent()));
  const absl::Time now = clock_->Now();
  FieldViolations v;
  CheckRequestId(req.request_id(), false, &v);
  if (!req.has_support_request()) v.Add("support_request", "is required");
  RETURN_IF_ERROR(v.ToStatus());
  // A retry returns what the first call made, even after its deadline.
  if (!req.request_id().empty()) {
    const std::string id =
        DerivedId("r-", req.support_request().requesting_authority(), req.request_id());
    ReaderMutexLock lock(&mu_);
    auto it = support_requests_.find(id);
    if (it != support_requests_.end()) {
      RETURN_IF_ERROR(access.CheckWrite(it->second->requesting_authority()));
      return *it->second;
    }
  }
  RETURN_IF_ERROR(
      sharing::ValidateNewSupportRequest(req.support_request(), reference_, region_.code, now));
  RETURN_IF_ERROR(access.CheckWrite(req.support_request().requesting_authority()));

  auto record = std::make_shared<v1::SupportRequest>();
  {
    const v1::SupportRequest& in = req.support_request();
    record->set_requesting_authority(in.requesting_authority());
    record->set_role(in.role());
    *record->mutable_specialisms() = in.specialisms();
    record->set_setting(in.setting());
    record->set_age_band(in.age_band());
    record->set_hours_per_week(in.hours_per_week());
    record->set_weeks(in.weeks());
    record->set_location_authority(in.location_authority());
    record->set_delivery_mode(in.delivery_mode());
    record->set_urgency(in.urgency());
    record->set_note(in.note());
    *record->mutable_start_date() = in.has_start_date() ? in.start_date() : DateFromEpochDays(Today());
    *record->mutable_match_deadline() =
        in.has_match_deadline() ? in.match_deadline()
                                : ToProto(now + sharing::MatchWindow(in.urgency()));
  }
  record->set_effective_location_authority(record->location_authority().empty()
                                               ? record->requesting_authority()
                                               : record->location_authority());
  record->set_region_code(region_.code);
  record->set_state(v1::SUPPORT_REQUEST_STATE_OPEN);

  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  std::string id;
  {
    ReaderMutexLock lock(&mu_);
    if (!req.request_id().empty()) {
      id = DerivedId("r-", record->requesting_authority(), req.request_id());
      auto it = support_requests_.find(id);
      if (it != support_requests_.end()) return *it->second;  // a retry: same answer
    } else {
      do {
        id = RandomId("r-");
      } while (support_requests_.contains(id));
    }
  }
  record->set_name(absl::StrCat(region_.resource_name(), "/supportRequests/", id));
  StampSupportRequest(record.get(), nullptr, now);
  WriteBatch batch;
  batch.support_requests.push_back(record.get());
  RETURN_IF_ERROR(CommitLocked(batch));
  MutexLock lock(&mu_);
  support_requests_[id] = record;
  return *record;
}

absl::StatusOr<v1::SupportRequest> Registry::GetSupportRequest(
    const v1::GetSupportRequestRequest& req) const {
  ASSIGN_OR_RETURN(std::string id, ParseSupportRequestName(req.name(), "name"));
  ReaderMutexLock lock(&mu_);
  auto it = support_requests_.find(id);
  if (it == support_requests_.end()) {
    return absl::NotFoundError(absl::StrCat(req.name(), " does not exist"));
  }
  return *it->second;
}

absl::StatusOr<v1::ListSupportRequestsResponse> Registry::ListSupportRequests(
    const v1::ListSupportRequestsRequest& req) const {
  RETURN_IF_ERROR(CheckParent(req.parent()));
  FieldViolations v;
  if (req.page_size() < 0) v.Add("page_size", "must not be negative");
  for (int i = 0; i < req.states_size(); ++i) {
    if (!v1::SupportRequestState_IsValid(req.states(i)) ||
        req.states(i) == v1::SUPPORT_REQUEST_STATE_UNSPECIFIED) {
      v.Add(absl::StrCat("states[", i, "]"), "is not a support request state");
    }
  }
  if (!req.requesting_authority().empty() && !reference_.FindAuthority(req.requesting_authority())) {
    v.Add("requesting_authority", "is not a known GSS code");
  }
  if (!req.role().empty() && reference_.TermIndex(v1::TAXONOMY_KIND_ROLE, req.role()) < 0) {
    v.Add("role", "is not a role code");
  }
  RETURN_IF_ERROR(v.ToStatus());
  const int page_size = req.page_size() == 0 ? options_.default_page_size
                                             : std::min(req.page_size(), options_.max_page_size);

  std::vector<v1::SupportRequest> matches;
  {
    ReaderMutexLock lock(&mu_);
    for (const auto& [id, r] : support_requests_) {
      if (req.states_size() > 0 &&
          std::find(req.states().begin(), req.states().end(), r->state()) == req.states().end()) {
        continue;
      }
      if (!req.requesting_authority().empty() &&
          r->requesting_authority() != req.requesting_authority()) {
        continue;
      }
      if (!req.role().empty() && r->role() != req.role()) continue;
      matches.push_back(*r);
    }
  }
  return PageSupportRequests(std::move(matches), req, page_size);
}

absl::StatusOr<std::shared_ptr<v1::SupportRequest>> Registry::PrepareRequestChange(
    const std::string& name, absl::string_view field, const RequestChange& change) {
  ASSIGN_OR_RETURN(std::string id, ParseSupportRequestName(name, field));
  std::shared_ptr<const v1::SupportRequest> existing;
  {
    ReaderMutexLock lock(&mu_);
    auto it = support_requests_.find(id);
    if (it != support_requests_.end()) existing = it->second;
  }
  if (!existing) return absl::NotFoundError(absl::StrCat(name, " does not exist"));
  const absl::Time now = clock_->Now();
  auto record = std::make_shared<v1::SupportRequest>(*existing);
  RETURN_IF_ERROR(change(record.get(), now));
  if (google::protobuf::util::MessageDifferencer::Equals(*record, *existing)) return nullptr;
  StampSupportRequest(record.get(), existing.get(), now);
  return record;
}

absl::Status Registry::CommitSharing(SharingWrite write) {
  return CommitAndPublish(std::move(write.specialists), {}, std::nullopt, std::move(write.requests));
}

absl::StatusOr<v1::CapacityCommitment> Registry::PrepareCommitmentChange(
    const std::string& name, const CallAccess& access, const CommitmentChange& change,
    SharingWrite* write) {
  const std::optional<CommitmentName> parsed = ParseCommitmentName(name);
  if (!parsed) {
    return InvalidFieldError("name", "must be regions/{region}/specialists/{specialist}/commitments/{id}");
  }
  if (parsed->region_id != region_.id) {
    return WithReason(absl::NotFoundError(absl::StrCat(name, " is not in ", region_.resource_name(),
                                                       ", which this registry serves")),
                      reasons::kRegionNotServed);
  }
  // One call may change several commitments of one specialist: later
  // changes build on the copy the earlier ones made.
  std::shared_ptr<v1::Specialist> record;
  for (const auto& s : write->specialists) {
    if (SpecialistIdFromName(s->name()) == parsed->specialist_id) record = s;
  }
  SpecialistPtr existing;
  {
    ReaderMutexLock lock(&mu_);
    existing = index_.Find(parsed->specialist_id);
  }
  const v1::Specialist* current = record ? record.get() : existing.get();
  int position = -1;
  if (current) {
    for (int i = 0; i < current->commitments_size(); ++i) {
      if (current->commitments(i).name() == name) position = i;
    }
  }
  // The requester may not be able to read the provider's record; the
  // commitment names who may act on it instead.
  if (position < 0) return absl::NotFoundError(absl::StrCat(name, " does not exist"));
  absl::Status requester = access.CheckWrite(current->commitments(position).requesting_authority());
  if (!requester.ok() && !access.CheckWrite(current->owning_authority()).ok()) return requester;
  const v1::CapacityCommitment before = current->commitments(position);
  v1::CapacityCommitment after = before;
  RETURN_IF_ERROR(change(*current, &after));
  if (google::protobuf::util::MessageDifferencer::Equals(before, after)) return before;
  const absl::Time now = clock_->Now();
  *after.mutable_update_time() = ToProto(now);
  if (!record) {
    record = std::make_shared<v1::Specialist>(*existing);
    write->specialists.push_back(record);
  }
  *record->mutable_commitments(position) = after;
  Stamp(record.get(), existing.get(), now);
  return after;
}

absl::Status Registry::PrepareLocalReleases(const v1::SupportRequest& request,
                                            std::vector<v1::SupportOffer::State> states,
                                            bool completed, const CallAccess& access,
                                            SharingWrite* write) {
  for (const v1::SupportOffer& offer : request.offers()) {
    if (std::find(states.begin(), states.end(), offer.state()) == states.end()) continue;
    if (!absl::StartsWith(offer.commitment(), region_.resource_name() + "/")) continue;
    absl::StatusOr<v1::CapacityCommitment> released = PrepareCommitmentChange(
        offer.commitment(), access, ReleaseChange(completed), write);
    // A commitment deleted with its specialist has nothing left to release.
    if (!released.ok() && !absl::IsNotFound(released.status())) return released.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::SupportRequest> Registry::ChangeRequestAndRelease(
    const std::string& name, const RequestChange& change,
    std::vector<v1::SupportOffer::State> release_states, bool completed, const CallAccess& access) {
  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  std::shared_ptr<const v1::SupportRequest> before;
  {
    ASSIGN_OR_RETURN(std::string id, ParseSupportRequestName(name, "name"));
    ReaderMutexLock lock(&mu_);
    auto it = support_requests_.find(id);
    if (it != support_requests_.end()) before = it->second;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<v1::SupportRequest> record,
                   PrepareRequestChange(name, "name", change));
  if (!record) return *before;  // a retry of a change already made
  SharingWrite write;
  // The offers as they were: the change closes them.
  RETURN_IF_ERROR(PrepareLocalReleases(*before, release_states, completed, access, &write));
  write.requests.push_back(record);
  v1::SupportRequest result = *record;
  RETURN_IF_ERROR(CommitSharing(std::move(write)));
  return result;
}

absl::StatusOr<v1::SupportRequest> Registry::OfferSupport(const v1::OfferSupportRequest& req,
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
  if (!reference_.FindAuthority(offer.provider_authority())) {
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
  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  // A commitment of this region is checked here: it must exist, be the
  // provider's and serve this request (one elsewhere is checked by its
  // region when the offer is accepted).
  std::optional<double> local_hours;
  if (commitment->region_id == region_.id) {
    ASSIGN_OR_RETURN(v1::SupportRequest need, GetSupportRequest(NameRequest(req.name())));
    SpecialistPtr specialist;
    {
      ReaderMutexLock lock(&mu_);
      specialist = index_.Find(commitment->specialist_id);
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
      PrepareRequestChange(req.name(), "name", [&](v1::SupportRequest* r, absl::Time now) {
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
  if (!record) return GetSupportRequest(NameRequest(req.name()));
  v1::SupportRequest result = *record;
  SharingWrite write;
  write.requests.push_back(std::move(record));
  RETURN_IF_ERROR(CommitSharing(std::move(write)));
  return result;
}

absl::StatusOr<v1::SupportRequest> Registry::AcceptOffer(const v1::AcceptOfferRequest& req,
                                                         const CallAccess& access) {
  FieldViolations v;
  if (!IsOfferId(req.offer_id())) v.Add("offer_id", "must be an offer id such as o-1");
  CheckRequestId(req.request_id(), true, &v);
  RETURN_IF_ERROR(v.ToStatus());
  // Checking the request, committing the hours and recording the acceptance
  // happen under one write lock and in one store transaction: of several
  // acceptances racing for one request, or for one specialist's hours,
  // exactly one wins and the losers change nothing.
  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  std::string commitment_name;
  ASSIGN_OR_RETURN(
      std::shared_ptr<v1::SupportRequest> record,
      PrepareRequestChange(req.name(), "name", [&](v1::SupportRequest* r, absl::Time) {
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
  if (!record) return GetSupportRequest(NameRequest(req.name()));
  SharingWrite write;
  if (absl::StartsWith(commitment_name, region_.resource_name() + "/")) {
    RETURN_IF_ERROR(PrepareCommitmentChange(commitment_name, access,
                                            ConfirmChange(req.request_id(), req.name(), access, Today()),
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
    ReaderMutexLock lock(&mu_);
    before = support_requests_.at(record->name().substr(record->name().rfind('/') + 1));
  }
  v1::SupportRequest others = *before;
  for (v1::SupportOffer& o : *others.mutable_offers()) {
    if (o.offer_id() == req.offer_id()) o.set_state(v1::SupportOffer::ACCEPTED);
  }
  RETURN_IF_ERROR(PrepareLocalReleases(others, {v1::SupportOffer::PENDING}, false, access, &write));
  write.requests.push_back(record);
  v1::SupportRequest result = *record;
  RETURN_IF_ERROR(CommitSharing(std::move(write)));
  return result;
}

absl::StatusOr<v1::SupportRequest> Registry::DeclineOffers(const v1::DeclineOffersRequest& req,
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

absl::StatusOr<v1::SupportRequest> Registry::WithdrawSupportRequest(
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

absl::StatusOr<v1::SupportRequest> Registry::CompleteSupportRequest(
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

absl::StatusOr<v1::SupportRequest> Registry::EscalateSupportRequest(
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
        r->set_escalation_owner(absl::StrCat("coordinator/", region_.code));
        *r->mutable_escalate_time() = ToProto(now);
        return absl::OkStatus();
      },
      {v1::SupportOffer::PENDING}, false, access);
}

// ---------------------------------------------------------------------------
// Commitments

absl::StatusOr<v1::CapacityCommitment> Registry::CreateCapacityCommitment(
    const v1::CreateCapacityCommitmentRequest& req, const CallAccess& access) {
  ASSIGN_OR_RETURN(std::string specialist_id, ParseName(req.parent(), "parent"));
  const v1::CapacityCommitment& in = req.commitment();
  FieldViolations v;
  if (!IsSupportRequestName(in.support_request())) {
    v.Add("commitment.support_request", "must be regions/{region}/supportRequests/{id}");
  }
  if (!reference_.FindAuthority(in.requesting_authority())) {
    v.Add("commitment.requesting_authority", "is not a known GSS code");
  }
  if (!std::isfinite(in.hours_per_week()) || in.hours_per_week() <= 0 || in.hours_per_week() > 168) {
    v.Add("commitment.hours_per_week", "must be above 0 and at most 168");
  }
  const bool dates_ok = IsFullCalendarDate(in.start_date()) && IsFullCalendarDate(in.end_date());
  if (!IsFullCalendarDate(in.start_date())) v.Add("commitment.start_date", "must be a full date");
  if (!IsFullCalendarDate(in.end_date())) v.Add("commitment.end_date", "must be a full date");
  if (dates_ok && DaysSinceEpoch(in.end_date()) < DaysSinceEpoch(in.start_date())) {
    v.Add("commitment.end_date", "must not be before start_date");
  }
  CheckRequestId(req.request_id(), false, &v);
  RETURN_IF_ERROR(v.ToStatus());

  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  SpecialistPtr existing;
  {
    ReaderMutexLock lock(&mu_);
    existing = index_.Find(specialist_id);
  }
  if (!existing || !access.CanSee(*existing)) {
    return absl::NotFoundError(absl::StrCat(req.parent(), " does not exist"));
  }
  RETURN_IF_ERROR(access.CheckWrite(existing->owning_authority()));
  const std::string id = req.request_id().empty()
                             ? RandomId("c-")
                             : DerivedId("c-", in.support_request(), req.request_id());
  const std::string name = absl::StrCat(existing->name(), "/commitments/", id);
  for (const v1::CapacityCommitment& c : existing->commitments()) {
    if (c.name() == name) return c;  // a retry
  }
  const absl::Time now = clock_->Now();
  auto record = std::make_shared<v1::Specialist>(*existing);
  v1::CapacityCommitment* added = record->add_commitments();
  added->set_name(name);
  added->set_support_request(in.support_request());
  added->set_requesting_authority(in.requesting_authority());
  added->set_hours_per_week(in.hours_per_week());
  *added->mutable_start_date() = in.start_date();
  *added->mutable_end_date() = in.end_date();
  added->set_state(v1::CapacityCommitment::OFFERED);
  *added->mutable_create_time() = ToProto(now);
  *added->mutable_update_time() = ToProto(now);
  v1::CapacityCommitment result = *added;
  Stamp(record.get(), existing.get(), now);
  RETURN_IF_ERROR(CommitAndPublish({std::move(record)}, {}));
  return result;
}

absl::StatusOr<v1::CapacityCommitment> Registry::ConfirmCapacityCommitment(
    const v1::ConfirmCapacityCommitmentRequest& req, const CallAccess& access) {
  FieldViolations v;
  CheckRequestId(req.request_id(), true, &v);
  if (!req.support_request().empty() && !IsSupportRequestName(req.support_request())) {
    v.Add("support_request", "must be regions/{region}/supportRequests/{id}");
  }
  RETURN_IF_ERROR(v.ToStatus());
  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  SharingWrite write;
  ASSIGN_OR_RETURN(v1::CapacityCommitment result,
                   PrepareCommitmentChange(
                       req.name(), access,
                       ConfirmChange(req.request_id(), req.support_request(), access, Today()), &write));
  RETURN_IF_ERROR(CommitSharing(std::move(write)));
  return result;
}

absl::StatusOr<v1::CapacityCommitment> Registry::ReleaseCapacityCommitment(
    const v1::ReleaseCapacityCommitmentRequest& req, const CallAccess& access) {
  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  SharingWrite write;
  ASSIGN_OR_RETURN(v1::CapacityCommitment result,
                   PrepareCommitmentChange(req.name(), access, ReleaseChange(req.completed()), &write));
  RETURN_IF_ERROR(CommitSharing(std::move(write)));
  return result;
}

// ---------------------------------------------------------------------------
// Suggestions and reports

absl::StatusOr<v1::SuggestProvidersResponse> Registry::SuggestProviders(
    const v1::SuggestProvidersRequest& req, const CallAccess& access) const {
  FieldViolations v;
  if (req.max_suggestions() < 0) v.Add("max_suggestions", "must not be negative");
  RETURN_IF_ERROR(v.ToStatus());
  v1::SupportRequest request;
  if (req.has_support_request()) {
    request = req.support_request();
    if (!reference_.FindAuthority(request.effective_location_authority()) ||
        reference_.TermIndex(v1::TAXONOMY_KIND_ROLE, request.role()) < 0) {
      return InvalidFieldError("support_request", "must be a stored support request");
    }
  } else {
    v1::GetSupportRequestRequest get;
    get.set_name(req.name());
    ASSIGN_OR_RETURN(request, GetSupportRequest(get));
  }
  v1::SearchSpecialistsRequest search;
  search.set_parent(region_.resource_name());
  search.add_roles(request.role());
  search.set_near_authority(request.effective_location_authority());
  search.set_order_by(v1::SEARCH_ORDER_DISTANCE);
  search.set_page_size(options_.max_page_size);  // the nearest ones; documented
  ASSIGN_OR_RETURN(v1::SearchSpecialistsResponse found, SearchSpecialists(search, access));
  v1::SuggestProvidersResponse response;
  std::vector<v1::ProviderSuggestion> suggestions;
  for (v1::SearchResult& hit : *found.mutable_results()) {
    sharing::MatchScore score = sharing::ScoreMatch(request, hit.specialist(), hit.distance_km(),
                                                    hit.available_hours_per_week());
    if (!score.eligible) continue;
    v1::ProviderSuggestion& s = suggestions.emplace_back();
    *s.mutable_specialist() = std::move(*hit.mutable_specialist());
    s.set_distance_km(hit.distance_km());
    s.set_available_hours_per_week(hit.available_hours_per_week());
    s.set_score(score.score);
    for (std::string& reason : score.reasons) s.add_reasons(std::move(reason));
  }
  sharing::RankSuggestions(&suggestions);
  const int limit = req.max_suggestions() == 0 ? kDefaultSuggestions
                                               : std::min(req.max_suggestions(), kMaxSuggestions);
  if (static_cast<int>(suggestions.size()) > limit) suggestions.resize(limit);
  for (auto& s : suggestions) *response.add_suggestions() = std::move(s);
  return response;
}

absl::StatusOr<v1::UnmetNeedReport> Registry::GetUnmetNeedReport(
    const v1::GetUnmetNeedReportRequest& req) const {
  RETURN_IF_ERROR(CheckParent(req.parent()));
  std::vector<v1::SupportRequest> unmet;
  {
    ReaderMutexLock lock(&mu_);
    for (const auto& [id, r] : support_requests_) {
      if (r->state() == v1::SUPPORT_REQUEST_STATE_UNMET) unmet.push_back(*r);
    }
  }
  return sharing::BuildUnmetNeedReport(std::move(unmet), clock_->Now());
}

std::vector<CapacitySnapshotRow> Registry::SnapshotRows(DayNumber day) const {
  std::map<std::string, CapacitySnapshotRow> by_role;
  CapacitySnapshotRow total;
  total.day = day;
  for (const auto& [key, cell] : index_.Summarise(day, 0, {})) {
    CapacitySnapshotRow& row = by_role[key.second];
    row.day = day;
    row.role = key.second;
    for (CapacitySnapshotRow* r : {&row, &total}) {
      r->specialists += cell.headcount;
      r->contracted_hours += cell.contracted;
      r->available_hours += cell.available;
    }
  }
  std::vector<CapacitySnapshotRow> rows = {total};
  for (auto& [role, row] : by_role) rows.push_back(row);
  return rows;
}

absl::StatusOr<v1::EquityReport> Registry::GetEquityReport(const v1::GetEquityReportRequest& req) {
  RETURN_IF_ERROR(CheckParent(req.parent()));
  FieldViolations v;
  if (!std::isfinite(req.within_km()) || req.within_km() < 0 || req.within_km() > 500) {
    v.Add("within_km", "must be between 0 (30 km) and 500");
  }
  for (int i = 0; i < req.roles_size(); ++i) {
    if (reference_.TermIndex(v1::TAXONOMY_KIND_ROLE, req.roles(i)) < 0) {
      v.Add(absl::StrCat("roles[", i, "]"), "is not a role code");
    }
  }
  if (req.trend_days() < 0 || req.trend_days() > 366) v.Add("trend_days", "must be 0 (30) to 366");
  RETURN_IF_ERROR(v.ToStatus());
  const double within_km = req.within_km() == 0 ? 30 : req.within_km();
  const int trend_days = req.trend_days() == 0 ? 30 : req.trend_days();
  const std::vector<std::string> roles(req.roles().begin(), req.roles().end());

  v1::EquityReport report;
  report.set_within_km(within_km);
  {
    ReaderMutexLock lock(&mu_);
    std::vector<const v1::Specialist*> specialists;
    specialists.reserve(index_.size());
    index_.ForEach([&](const v1::Specialist& s) { specialists.push_back(&s); });
    for (v1::EquityRow& row : sharing::EquityRows(
             specialists, reference_,
             [](const v1::Specialist& s) { return s.capacity().available_hours_per_week(); },
             roles)) {
      *report.add_rows() = std::move(row);
    }
    for (v1::NearestSpecialist& n : sharing::NearestSpecialists(specialists, reference_, roles)) {
      *report.add_nearest() = std::move(n);
    }
  }
  const std::vector<v1::NearestSpecialist> nearest(report.nearest().begin(), report.nearest().end());
  for (v1::CoverageGap& gap :
       sharing::CoverageGaps(nearest, reference_, roles, within_km, {region_.code})) {
    *report.add_gaps() = std::move(gap);
  }
  const DayNumber today = Today();
  std::vector<CapacitySnapshotRow> rows;
  {
    MutexLock write_lock(&write_mu_);  // the store is not thread-safe
    ASSIGN_OR_RETURN(rows, store_->ListCapacitySnapshots(today - trend_days + 1));
  }
  for (const CapacitySnapshotRow& row : rows) {
    const bool wanted = roles.empty() ? row.role.empty()
                                      : std::find(roles.begin(), roles.end(), row.role) != roles.end();
    if (!wanted) continue;
    v1::CapacitySnapshot* point = report.add_trend();
    *point->mutable_date() = DateFromEpochDays(row.day);
    point->set_region_code(region_.code);
    point->set_role(row.role);
    point->set_specialists(row.specialists);
    point->set_contracted_hours_per_week(row.contracted_hours);
    point->set_available_hours_per_week(row.available_hours);
  }
  return report;
}

// ---------------------------------------------------------------------------
// Time

absl::StatusOr<int> Registry::Sweep(
    const std::function<absl::Status(const std::vector<std::string>&)>& before_commit) {
  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  const absl::Time now = clock_->Now();
  const DayNumber today = Today();
  std::vector<std::pair<std::shared_ptr<const v1::SupportRequest>, std::shared_ptr<v1::SupportRequest>>>
      changes;
  std::vector<std::string> ending;  // specialists with commitments past their end
  {
    ReaderMutexLock lock(&mu_);
    for (const auto& [id, r] : support_requests_) {
      auto next = std::make_shared<v1::SupportRequest>(*r);
      switch (r->state()) {
        case v1::SUPPORT_REQUEST_STATE_OPEN:
          if (now <= FromProto(r->match_deadline())) continue;
          next->set_state(v1::SUPPORT_REQUEST_STATE_UNMET);
          next->set_state_reason("no offer before the match deadline");
          next->set_escalation_owner(absl::StrCat("coordinator/", region_.code));
          *next->mutable_escalate_time() = ToProto(now);
          break;
        case v1::SUPPORT_REQUEST_STATE_OFFERED: {
          absl::Time latest = absl::InfinitePast();
          for (const v1::SupportOffer& o : r->offers()) {
            if (o.state() == v1::SupportOffer::PENDING) latest = std::max(latest, FromProto(o.create_time()));
          }
          if (now <= latest + options_.offer_response_window) continue;
          next->set_state(v1::SUPPORT_REQUEST_STATE_EXPIRED);
          next->set_state_reason("offers were not answered in time");
          ClosePendingOffers(next.get());
          break;
        }
        case v1::SUPPORT_REQUEST_STATE_ACCEPTED:
          if (DaysSinceEpoch(r->start_date()) > today) continue;
          next->set_state(v1::SUPPORT_REQUEST_STATE_ACTIVE);
          break;
        default:
          continue;
      }
      StampSupportRequest(next.get(), r.get(), now);
      changes.emplace_back(r, std::move(next));
    }
    index_.ForEach([&](const v1::Specialist& s) {
      for (const v1::CapacityCommitment& c : s.commitments()) {
        if (c.state() == v1::CapacityCommitment::COMMITTED && DaysSinceEpoch(c.end_date()) < today) {
          ending.push_back(c.name());
        }
      }
    });
  }
  SharingWrite write;
  for (auto& [before, next] : changes) {
    if (next->state() == v1::SUPPORT_REQUEST_STATE_EXPIRED) {
      RETURN_IF_ERROR(PrepareLocalReleases(*before, {v1::SupportOffer::PENDING}, false, {}, &write));
    }
    write.requests.push_back(next);
  }
  for (const std::string& name : ending) {
    RETURN_IF_ERROR(PrepareCommitmentChange(name, {}, ReleaseChange(/*completed=*/true), &write).status());
  }
  const int changed = static_cast<int>(write.requests.size() + write.specialists.size());
  if (changed > 0) {
    if (before_commit) {
      std::vector<std::string> resources;
      for (const auto& r : write.requests) resources.push_back(r->name());
      for (const auto& r : write.specialists) resources.push_back(r->name());
      RETURN_IF_ERROR(before_commit(resources));
    }
    RETURN_IF_ERROR(CommitSharing(std::move(write)));
  }
  if (last_snapshot_day_ != today) {
    // When the changes above were committed, their write ended: the
    // snapshot is a write of its own, taken on the latest data.
    if (changed > 0) RETURN_IF_ERROR(BeginWriteLocked());
    WriteBatch batch;
    {
      ReaderMutexLock lock(&mu_);
      batch.snapshots = SnapshotRows(today);
    }
    RETURN_IF_ERROR(CommitLocked(batch));
    last_snapshot_day_ = today;
  }
  return changed;
}

// ---------------------------------------------------------------------------
// Watch

void Registry::PublishCapacity(const v1::Specialist* before, const v1::Specialist* after,
                               absl::Time now) {
  if (before && after && before->role() == after->role() &&
      before->owning_authority() == after->owning_authority() &&
      before->visibility() == after->visibility() &&
      before->capacity().contracted_hours_per_week() == after->capacity().contracted_hours_per_week() &&
      before->capacity().available_hours_per_week() == after->capacity().available_hours_per_week()) {
    return;  // nothing a watcher sees changed
  }
  const v1::Specialist& r = after ? *after : *before;
  v1::CapacityUpdate update;
  update.set_specialist(r.name());
  update.set_owning_authority(r.owning_authority());
  update.set_role(r.role());
  update.set_visibility(r.visibility());
  if (after) {
    update.set_contracted_hours_per_week(after->capacity().contracted_hours_per_week());
    update.set_available_hours_per_week(after->capacity().available_hours_per_week());
  } else {
    update.set_removed(true);
  }
  *update.mutable_update_time() = ToProto(now);
  watch_hub_.Publish(std::move(update));
}

absl::StatusOr<std::shared_ptr<watch::Watcher>> Registry::WatchCapacity(
    const v1::WatchCapacityRequest& req, const CallAccess& access, std::function<void()> on_ready) {
  RETURN_IF_ERROR(CheckParent(req.parent()));
  FieldViolations v;
  for (int i = 0; i < req.authorities_size(); ++i) {
    if (!reference_.FindAuthority(req.authorities(i))) {
      v.Add(absl::StrCat("authorities[", i, "]"), "is not a known GSS code");
    }
  }
  for (int i = 0; i < req.roles_size(); ++i) {
    if (reference_.TermIndex(v1::TAXONOMY_KIND_ROLE, req.roles(i)) < 0) {
      v.Add(absl::StrCat("roles[", i, "]"), "is not a role code");
    }
  }
  RETURN_IF_ERROR(v.ToStatus());
  watch::WatchFilter filter;
  filter.authorities.assign(req.authorities().begin(), req.authorities().end());
  filter.roles.assign(req.roles().begin(), req.roles().end());
  if (access.read) {
    filter.visible = [scope = *access.read](const v1::CapacityUpdate& u) {
      return scope.Allows(u.owning_authority(), u.visibility());
    };
  }
  // Publishing happens with mu_ held exclusively, so no change can fall
  // between the snapshot and the live stream.
  ReaderMutexLock lock(&mu_);
  std::shared_ptr<watch::Watcher> watcher =
      watch_hub_.Subscribe(filter, req.resume_token(), std::move(on_ready));
  if (watcher->needs_snapshot()) {
    const absl::Time now = clock_->Now();
    index_.ForEach([&](const v1::Specialist& s) {
      v1::CapacityUpdate update;
      update.set_specialist(s.name());
      update.set_owning_authority(s.owning_authority());
      update.set_role(s.role());
      update.set_visibility(s.visibility());
      update.set_contracted_hours_per_week(s.capacity().contracted_hours_per_week());
      update.set_available_hours_per_week(s.capacity().available_hours_per_week());
      *update.mutable_update_time() = s.capacity().has_update_time() ? s.capacity().update_time()
                                                                     : ToProto(now);
      if (filter.Matches(update)) watcher->PushSnapshot(std::move(update));
    });
    watcher->EndSnapshot();
  }
  return watcher;
}

}  // namespace expertise::registry
