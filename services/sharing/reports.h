#ifndef EXPERTISE_SERVICES_SHARING_REPORTS_H_
#define EXPERTISE_SERVICES_SHARING_REPORTS_H_

// Equity and unmet-need figures for coordinators, computed from specialists
// and support requests handed in by the caller (no storage, no gRPC), so a
// registry and the federated directory compute them the same way.

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/sharing.pb.h"
#include "expertise/registry/v1/specialist.pb.h"
#include "services/common/reference/reference_data.h"

namespace expertise::sharing {

// early-years-maintained -> EARLY_YEARS_MAINTAINED; early-years-pvi,
// childminder -> EARLY_YEARS_PVI; primary, secondary, special-school,
// alternative-provision, hospital-education -> SCHOOLS; post-16 -> POST_16;
// anything else -> OTHER.
registry::v1::Phase PhaseOfSetting(absl::string_view setting_code);

// Rows by (owning authority, role, phase): a specialist counts once in each
// phase its settings fall in (one with primary and secondary counts once in
// SCHOOLS; one with no settings counts nowhere). Available hours come from
// `available_hours`. Only roles in `roles` when non-empty. Sorted by
// region_code, authority, role, phase.
std::vector<registry::v1::EquityRow> EquityRows(const std::vector<const registry::v1::Specialist*>& specialists,
                                                const ReferenceData& reference,
                                                const std::function<double(const registry::v1::Specialist&)>& available_hours,
                                                const std::vector<std::string>& roles);

// For every authority in England and every role (only `roles` when
// non-empty) that at least one of `specialists` has: the great-circle
// distance from the authority's centre to the nearest such specialist's base
// location (the owning authority's centre when the base is not set). Sorted
// by authority, role.
std::vector<registry::v1::NearestSpecialist> NearestSpecialists(
    const std::vector<const registry::v1::Specialist*>& specialists, const ReferenceData& reference,
    const std::vector<std::string>& roles);

// Merges `from` into `into` keeping the smaller distance per (authority,
// role); the result is sorted by authority, role.
void MergeNearest(std::vector<registry::v1::NearestSpecialist>* into,
                  const std::vector<registry::v1::NearestSpecialist>& from);

// Gaps for authorities in `region_codes` (all regions when empty) and roles
// `roles` (when empty: every role in `nearest`): a gap where the nearest
// specialist of the role is farther than `within_km`, or there is none.
// Sorted by region_code, authority, role.
std::vector<registry::v1::CoverageGap> CoverageGaps(const std::vector<registry::v1::NearestSpecialist>& nearest,
                                                    const ReferenceData& reference,
                                                    const std::vector<std::string>& roles, double within_km,
                                                    const std::vector<std::string>& region_codes);

// Unmet-need report from the UNMET requests among `requests` (others are
// ignored): requests oldest first (escalate_time, then name), and groups by
// "region", "authority", "role", "specialism" (each specialism of a request)
// and "setting" with count, summed hours and the whole days the oldest has
// been open (create_time to `now`). Groups sorted by dimension in that
// order, then key.
registry::v1::UnmetNeedReport BuildUnmetNeedReport(std::vector<registry::v1::SupportRequest> requests, absl::Time now);

}  // namespace expertise::sharing

#endif  // EXPERTISE_SERVICES_SHARING_REPORTS_H_
