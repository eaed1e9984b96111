#ifndef EXPERTISE_SERVICES_REGISTRY_SHARING_REPORTS_H_
#define EXPERTISE_SERVICES_REGISTRY_SHARING_REPORTS_H_

// Capacity sharing's reports for this region: unmet need, and equity (rows
// by authority and phase, nearest specialists, coverage gaps and the daily
// trend from the stored capacity snapshots).

#include <vector>

#include "absl/status/statusor.h"
#include "expertise/registry/v1/sharing_service.pb.h"
#include "services/registry/registry_core.h"
#include "services/registry/specialist_index.h"
#include "services/registry/specialist_store.h"

namespace expertise::registry {

// Thread-safe, as the core it reads.
class SharingReports {
 public:
  // `core` outlives this object.
  explicit SharingReports(RegistryCore& core) : core_(core) {}
  SharingReports(const SharingReports&) = delete;
  SharingReports& operator=(const SharingReports&) = delete;

  absl::StatusOr<v1::UnmetNeedReport> GetUnmetNeedReport(
      const v1::GetUnmetNeedReportRequest& request) const;
  // Reads the trend from the store (under the core's write lock).
  absl::StatusOr<v1::EquityReport> GetEquityReport(const v1::GetEquityReportRequest& request);

 private:
  RegistryCore& core_;
};

// The day's capacity snapshot of `index` (held under the core's mu()): the
// region's total first, then one row per role.
std::vector<CapacitySnapshotRow> CapacitySnapshotRows(const SpecialistIndex& index, DayNumber day);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SHARING_REPORTS_H_
