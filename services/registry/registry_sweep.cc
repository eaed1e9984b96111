#include "services/registry/registry_sweep.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/civil_date.h"
#include "services/common/status_macros.h"
#include "services/registry/resource_model.h"
#include "services/registry/sharing_changes.h"
#include "services/registry/sharing_reports.h"

namespace expertise::registry {
namespace {

using sharing_internal::ClosePendingOffers;
using sharing_internal::CommitSharing;
using sharing_internal::PrepareCommitmentChange;
using sharing_internal::PrepareLocalReleases;
using sharing_internal::ReleaseChange;
using sharing_internal::SharingWrite;
using sharing_internal::StampSupportRequest;

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace

// Moves requests and commitments on with the clock (see Registry::Sweep).
absl::StatusOr<int> Sweeper::Run(const BeforeSweepCommit& before_commit) {
  const RecordRules& rules = core_.rules();
  RegistryCore::WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  const absl::Time now = rules.Now();
  const DayNumber today = rules.Today();
  std::vector<std::pair<std::shared_ptr<const v1::SupportRequest>, std::shared_ptr<v1::SupportRequest>>>
      changes;
  std::vector<std::string> ending;  // specialists with commitments past their end
  {
    ReaderMutexLock lock(&core_.mu());
    for (const auto& [id, r] : core_.support_requests()) {
      auto next = std::make_shared<v1::SupportRequest>(*r);
      switch (r->state()) {
        case v1::SUPPORT_REQUEST_STATE_OPEN:
          if (now <= FromProto(r->match_deadline())) continue;
          next->set_state(v1::SUPPORT_REQUEST_STATE_UNMET);
          next->set_state_reason("no offer before the match deadline");
          next->set_escalation_owner(absl::StrCat("coordinator/", rules.region().code));
          *next->mutable_escalate_time() = ToProto(now);
          break;
        case v1::SUPPORT_REQUEST_STATE_OFFERED: {
          absl::Time latest = absl::InfinitePast();
          for (const v1::SupportOffer& o : r->offers()) {
            if (o.state() == v1::SupportOffer::PENDING) latest = std::max(latest, FromProto(o.create_time()));
          }
          if (now <= latest + rules.options().offer_response_window) continue;
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
    core_.index().ForEach([&](const v1::Specialist& s) {
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
      RETURN_IF_ERROR(
          PrepareLocalReleases(core_, *before, {v1::SupportOffer::PENDING}, false, {}, &write));
    }
    write.requests.push_back(next);
  }
  for (const std::string& name : ending) {
    RETURN_IF_ERROR(
        PrepareCommitmentChange(core_, name, {}, ReleaseChange(/*completed=*/true), &write).status());
  }
  const int changed = static_cast<int>(write.requests.size() + write.specialists.size());
  if (changed > 0) {
    if (before_commit) {
      std::vector<std::string> resources;
      for (const auto& r : write.requests) resources.push_back(r->name());
      for (const auto& r : write.specialists) resources.push_back(r->name());
      RETURN_IF_ERROR(before_commit(resources));
    }
    RETURN_IF_ERROR(CommitSharing(core_, std::move(write)));
  }
  if (last_snapshot_day_ != today) {
    // When the changes above were committed, their write ended: the
    // snapshot is a write of its own, taken on the latest data.
    if (changed > 0) RETURN_IF_ERROR(core_.BeginWriteLocked());
    WriteBatch batch;
    {
      ReaderMutexLock lock(&core_.mu());
      batch.snapshots = CapacitySnapshotRows(core_.index(), today);
    }
    RETURN_IF_ERROR(core_.CommitLocked(batch));
    last_snapshot_day_ = today;
  }
  return changed;
}

}  // namespace expertise::registry
