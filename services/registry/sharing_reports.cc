#include "services/registry/sharing_reports.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/civil_date.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/sharing/reports.h"

namespace expertise::registry {

absl::StatusOr<v1::UnmetNeedReport> SharingReports::GetUnmetNeedReport(
    const v1::GetUnmetNeedReportRequest& req) const {
  RETURN_IF_ERROR(core_.rules().CheckParent(req.parent()));
  std::vector<v1::SupportRequest> unmet;
  {
    ReaderMutexLock lock(&core_.mu());
    for (const auto& [id, r] : core_.support_requests()) {
      if (r->state() == v1::SUPPORT_REQUEST_STATE_UNMET) unmet.push_back(*r);
    }
  }
  return sharing::BuildUnmetNeedReport(std::move(unmet), core_.rules().Now());
}

std::vector<CapacitySnapshotRow> CapacitySnapshotRows(const SpecialistIndex& index, DayNumber day) {
  std::map<std::string, CapacitySnapshotRow> by_role;
  CapacitySnapshotRow total;
  total.day = day;
  for (const auto& [key, cell] : index.Summarise(day, 0, {})) {
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

absl::StatusOr<v1::EquityReport> SharingReports::GetEquityReport(
    const v1::GetEquityReportRequest& req) {
  const RecordRules& rules = core_.rules();
  const ReferenceData& reference = rules.reference();
  RETURN_IF_ERROR(rules.CheckParent(req.parent()));
  FieldViolations v;
  if (!std::isfinite(req.within_km()) || req.within_km() < 0 || req.within_km() > 500) {
    v.Add("within_km", "must be between 0 (30 km) and 500");
  }
  for (int i = 0; i < req.roles_size(); ++i) {
    if (reference.TermIndex(v1::TAXONOMY_KIND_ROLE, req.roles(i)) < 0) {
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
    ReaderMutexLock lock(&core_.mu());
    const SpecialistIndex& index = core_.index();
    std::vector<const v1::Specialist*> specialists;
    specialists.reserve(index.size());
    index.ForEach([&](const v1::Specialist& s) { specialists.push_back(&s); });
    for (v1::EquityRow& row : sharing::EquityRows(
             specialists, reference,
             [](const v1::Specialist& s) { return s.capacity().available_hours_per_week(); },
             roles)) {
      *report.add_rows() = std::move(row);
    }
    for (v1::NearestSpecialist& n : sharing::NearestSpecialists(specialists, reference, roles)) {
      *report.add_nearest() = std::move(n);
    }
  }
  const std::vector<v1::NearestSpecialist> nearest(report.nearest().begin(), report.nearest().end());
  for (v1::CoverageGap& gap :
       sharing::CoverageGaps(nearest, reference, roles, within_km, {rules.region().code})) {
    *report.add_gaps() = std::move(gap);
  }
  const DayNumber today = rules.Today();
  std::vector<CapacitySnapshotRow> rows;
  {
    MutexLock write_lock(&core_.write_mu());  // the store is not thread-safe
    ASSIGN_OR_RETURN(rows, core_.store().ListCapacitySnapshots(today - trend_days + 1));
  }
  for (const CapacitySnapshotRow& row : rows) {
    const bool wanted = roles.empty() ? row.role.empty()
                                      : std::find(roles.begin(), roles.end(), row.role) != roles.end();
    if (!wanted) continue;
    v1::CapacitySnapshot* point = report.add_trend();
    *point->mutable_date() = DateFromEpochDays(row.day);
    point->set_region_code(rules.region().code);
    point->set_role(row.role);
    point->set_specialists(row.specialists);
    point->set_contracted_hours_per_week(row.contracted_hours);
    point->set_available_hours_per_week(row.available_hours);
  }
  return report;
}

}  // namespace expertise::registry
