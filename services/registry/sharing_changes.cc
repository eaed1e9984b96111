#include "services/registry/sharing_changes.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/common/error_reasons.h"
#include "services/common/fnv.h"
#include "services/common/status_macros.h"
#include "services/registry/resource_model.h"
#include "services/registry/validation.h"

namespace expertise::registry::sharing_internal {
namespace {

constexpr size_t kMaxRequestIdLength = 64;

}  // namespace

std::string DerivedId(absl::string_view prefix, absl::string_view scope, absl::string_view key) {
  return absl::StrFormat("%s%016x", prefix, Fnv1a64(absl::StrCat(scope, "\x1f", key)));
}

std::string RandomId(absl::string_view prefix) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrFormat("%s%016x", prefix, rng());
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

std::optional<CommitmentName> ParseCommitmentName(const std::string& name) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 6 || parts[0] != "regions" || parts[2] != "specialists" ||
      parts[4] != "commitments" || parts[1].empty() || parts[3].empty() || parts[5].empty()) {
    return std::nullopt;
  }
  return CommitmentName{parts[1], parts[3], parts[5]};
}

bool IsSupportRequestName(const std::string& name) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  return parts.size() == 4 && parts[0] == "regions" && parts[2] == "supportRequests" &&
         !parts[1].empty() && !parts[3].empty();
}

void ClosePendingOffers(v1::SupportRequest* request) {
  for (v1::SupportOffer& offer : *request->mutable_offers()) {
    if (offer.state() == v1::SupportOffer::PENDING) offer.set_state(v1::SupportOffer::CLOSED);
  }
}

CommitmentChange ConfirmChange(std::string request_id, std::string support_request,
                               const CallAccess& access, DayNumber today) {
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

CommitmentChange ReleaseChange(bool completed) {
  return [completed](const v1::Specialist&, v1::CapacityCommitment* c) -> absl::Status {
    if (c->state() == v1::CapacityCommitment::RELEASED ||
        c->state() == v1::CapacityCommitment::COMPLETED) {
      return absl::OkStatus();
    }
    c->set_state(completed ? v1::CapacityCommitment::COMPLETED : v1::CapacityCommitment::RELEASED);
    return absl::OkStatus();
  };
}

absl::StatusOr<std::string> ParseSupportRequestName(const RegionInfo& region, const std::string& name,
                                                    absl::string_view field) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "regions" || parts[2] != "supportRequests" ||
      !IsValidResourceId(parts[3])) {
    return InvalidFieldError(std::string(field), "must be regions/{region}/supportRequests/{id}");
  }
  if (parts[1] != region.id) {
    return WithReason(absl::NotFoundError(absl::StrCat(name, " is not in ", region.resource_name(),
                                                       ", which this registry serves")),
                      reasons::kRegionNotServed);
  }
  return parts[3];
}

void StampSupportRequest(v1::SupportRequest* request, const v1::SupportRequest* previous,
                         absl::Time now) {
  *request->mutable_create_time() = previous ? previous->create_time() : ToProto(now);
  if (!previous || previous->state() != request->state()) {
    *request->mutable_state_change_time() = ToProto(now);
  }
  *request->mutable_update_time() = ToProto(now);
  request->set_etag(NextEtag(previous ? previous->etag() : "", now));
}

absl::StatusOr<std::shared_ptr<v1::SupportRequest>> PrepareRequestChange(
    RegistryCore& core, const std::string& name, absl::string_view field,
    const RequestChange& change) {
  ASSIGN_OR_RETURN(std::string id, ParseSupportRequestName(core.rules().region(), name, field));
  std::shared_ptr<const v1::SupportRequest> existing;
  {
    ReaderMutexLock lock(&core.mu());
    const SupportRequestMap& requests = core.support_requests();
    auto it = requests.find(id);
    if (it != requests.end()) existing = it->second;
  }
  if (!existing) return absl::NotFoundError(absl::StrCat(name, " does not exist"));
  const absl::Time now = core.rules().Now();
  auto record = std::make_shared<v1::SupportRequest>(*existing);
  RETURN_IF_ERROR(change(record.get(), now));
  if (google::protobuf::util::MessageDifferencer::Equals(*record, *existing)) return nullptr;
  StampSupportRequest(record.get(), existing.get(), now);
  return record;
}

absl::Status CommitSharing(RegistryCore& core, SharingWrite write) {
  return core.CommitAndPublish(std::move(write.specialists), {}, std::nullopt,
                               std::move(write.requests));
}

absl::StatusOr<v1::CapacityCommitment> PrepareCommitmentChange(RegistryCore& core,
                                                               const std::string& name,
                                                               const CallAccess& access,
                                                               const CommitmentChange& change,
                                                               SharingWrite* write) {
  const RegionInfo& region = core.rules().region();
  const std::optional<CommitmentName> parsed = ParseCommitmentName(name);
  if (!parsed) {
    return InvalidFieldError("name", "must be regions/{region}/specialists/{specialist}/commitments/{id}");
  }
  if (parsed->region_id != region.id) {
    return WithReason(absl::NotFoundError(absl::StrCat(name, " is not in ", region.resource_name(),
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
    ReaderMutexLock lock(&core.mu());
    existing = core.index().Find(parsed->specialist_id);
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
  const absl::Time now = core.rules().Now();
  *after.mutable_update_time() = ToProto(now);
  if (!record) {
    record = std::make_shared<v1::Specialist>(*existing);
    write->specialists.push_back(record);
  }
  *record->mutable_commitments(position) = after;
  core.rules().Stamp(record.get(), existing.get(), now);
  return after;
}

absl::Status PrepareLocalReleases(RegistryCore& core, const v1::SupportRequest& request,
                                  std::vector<v1::SupportOffer::State> states, bool completed,
                                  const CallAccess& access, SharingWrite* write) {
  const std::string local_prefix = core.rules().region().resource_name() + "/";
  for (const v1::SupportOffer& offer : request.offers()) {
    if (std::find(states.begin(), states.end(), offer.state()) == states.end()) continue;
    if (!absl::StartsWith(offer.commitment(), local_prefix)) continue;
    absl::StatusOr<v1::CapacityCommitment> released = PrepareCommitmentChange(
        core, offer.commitment(), access, ReleaseChange(completed), write);
    // A commitment deleted with its specialist has nothing left to release.
    if (!released.ok() && !absl::IsNotFound(released.status())) return released.status();
  }
  return absl::OkStatus();
}

}  // namespace expertise::registry::sharing_internal
