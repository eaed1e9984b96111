#include "services/registry/capacity_commitments.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/civil_date.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/registry/resource_model.h"
#include "services/registry/sharing_changes.h"
#include "services/registry/validation.h"

namespace expertise::registry {
namespace {

using sharing_internal::CheckRequestId;
using sharing_internal::CommitSharing;
using sharing_internal::ConfirmChange;
using sharing_internal::DerivedId;
using sharing_internal::IsSupportRequestName;
using sharing_internal::PrepareCommitmentChange;
using sharing_internal::RandomId;
using sharing_internal::ReleaseChange;
using sharing_internal::SharingWrite;

}  // namespace

absl::StatusOr<v1::CapacityCommitment> CapacityCommitments::Create(
    const v1::CreateCapacityCommitmentRequest& req, const CallAccess& access) {
  ASSIGN_OR_RETURN(std::string specialist_id, core_.rules().ParseName(req.parent(), "parent"));
  const v1::CapacityCommitment& in = req.commitment();
  FieldViolations v;
  if (!IsSupportRequestName(in.support_request())) {
    v.Add("commitment.support_request", "must be regions/{region}/supportRequests/{id}");
  }
  if (!core_.rules().reference().FindAuthority(in.requesting_authority())) {
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

  RegistryCore::WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  SpecialistPtr existing;
  {
    ReaderMutexLock lock(&core_.mu());
    existing = core_.index().Find(specialist_id);
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
  const absl::Time now = core_.rules().Now();
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
  core_.rules().Stamp(record.get(), existing.get(), now);
  RETURN_IF_ERROR(core_.CommitAndPublish({std::move(record)}, {}));
  return result;
}

absl::StatusOr<v1::CapacityCommitment> CapacityCommitments::Confirm(
    const v1::ConfirmCapacityCommitmentRequest& req, const CallAccess& access) {
  FieldViolations v;
  CheckRequestId(req.request_id(), true, &v);
  if (!req.support_request().empty() && !IsSupportRequestName(req.support_request())) {
    v.Add("support_request", "must be regions/{region}/supportRequests/{id}");
  }
  RETURN_IF_ERROR(v.ToStatus());
  RegistryCore::WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  SharingWrite write;
  ASSIGN_OR_RETURN(v1::CapacityCommitment result,
                   PrepareCommitmentChange(core_, req.name(), access,
                                           ConfirmChange(req.request_id(), req.support_request(),
                                                         access, core_.rules().Today()),
                                           &write));
  RETURN_IF_ERROR(CommitSharing(core_, std::move(write)));
  return result;
}

absl::StatusOr<v1::CapacityCommitment> CapacityCommitments::Release(
    const v1::ReleaseCapacityCommitmentRequest& req, const CallAccess& access) {
  RegistryCore::WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  SharingWrite write;
  ASSIGN_OR_RETURN(v1::CapacityCommitment result,
                   PrepareCommitmentChange(core_, req.name(), access,
                                           ReleaseChange(req.completed()), &write));
  RETURN_IF_ERROR(CommitSharing(core_, std::move(write)));
  return result;
}

}  // namespace expertise::registry
