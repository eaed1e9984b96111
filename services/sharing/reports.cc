#include "services/sharing/reports.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "services/common/geo.h"

namespace expertise::sharing {
namespace {

namespace v1 = ::expertise::registry::v1;

bool RoleWanted(const std::vector<std::string>& roles, const std::string& role) {
  return roles.empty() || std::find(roles.begin(), roles.end(), role) != roles.end();
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// Where a specialist works from: its base, or its owning authority's centre
// when the base is not set (as the registry fills it). False when neither.
bool BaseOf(const v1::Specialist& s, const ReferenceData& reference, double* lat, double* lon) {
  if (s.has_base_location()) {
    *lat = s.base_location().latitude();
    *lon = s.base_location().longitude();
    return true;
  }
  if (const AuthorityInfo* la = reference.FindAuthority(s.owning_authority())) {
    *lat = la->latitude;
    *lon = la->longitude;
    return true;
  }
  return false;
}

}  // namespace

v1::Phase PhaseOfSetting(absl::string_view setting_code) {
  if (setting_code == "early-years-maintained") return v1::PHASE_EARLY_YEARS_MAINTAINED;
  if (setting_code == "early-years-pvi" || setting_code == "childminder") return v1::PHASE_EARLY_YEARS_PVI;
  if (setting_code == "primary" || setting_code == "secondary" || setting_code == "special-school" ||
      setting_code == "alternative-provision" || setting_code == "hospital-education") {
    return v1::PHASE_SCHOOLS;
  }
  if (setting_code == "post-16") return v1::PHASE_POST_16;
  return v1::PHASE_OTHER;
}

std::vector<v1::EquityRow> EquityRows(const std::vector<const v1::Specialist*>& specialists,
                                      const ReferenceData& reference,
                                      const std::function<double(const v1::Specialist&)>& available_hours,
                                      const std::vector<std::string>& roles) {
  // Keyed in output order, so the map's order is the report's order.
  using Key = std::tuple<std::string, std::string, std::string, int>;  // region, authority, role, phase
  std::map<Key, v1::EquityRow> rows;
  for (const v1::Specialist* s : specialists) {
    if (s == nullptr || !RoleWanted(roles, s->role())) continue;
    std::set<v1::Phase> phases;
    for (const std::string& setting : s->settings()) phases.insert(PhaseOfSetting(setting));
    if (phases.empty()) continue;
    const AuthorityInfo* la = reference.FindAuthority(s->owning_authority());
    const std::string region = la != nullptr ? la->region_code : "";
    const double hours = available_hours(*s);
    for (v1::Phase phase : phases) {
      v1::EquityRow& row = rows[Key{region, s->owning_authority(), s->role(), phase}];
      if (row.specialists() == 0) {
        row.set_region_code(region);
        row.set_authority(s->owning_authority());
        row.set_role(s->role());
        row.set_phase(phase);
      }
      row.set_specialists(row.specialists() + 1);
      row.set_available_hours_per_week(row.available_hours_per_week() + hours);
    }
  }
  std::vector<v1::EquityRow> out;
  out.reserve(rows.size());
  for (auto& [key, row] : rows) out.push_back(std::move(row));
  return out;
}

std::vector<v1::NearestSpecialist> NearestSpecialists(const std::vector<const v1::Specialist*>& specialists,
                                                      const ReferenceData& reference,
                                                      const std::vector<std::string>& roles) {
  struct Point {
    double lat, lon;
  };
  // Sorted by role, so the output comes out sorted by authority, role.
  std::map<std::string, std::vector<Point>> by_role;
  for (const v1::Specialist* s : specialists) {
    if (s == nullptr || !RoleWanted(roles, s->role())) continue;
    Point p;
    if (BaseOf(*s, reference, &p.lat, &p.lon)) by_role[s->role()].push_back(p);
  }
  std::vector<const AuthorityInfo*> authorities;
  for (const AuthorityInfo& la : reference.authorities()) authorities.push_back(&la);
  std::sort(authorities.begin(), authorities.end(),
            [](const AuthorityInfo* a, const AuthorityInfo* b) { return a->code < b->code; });

  std::vector<v1::NearestSpecialist> out;
  out.reserve(authorities.size() * by_role.size());
  for (const AuthorityInfo* la : authorities) {
    for (const auto& [role, points] : by_role) {
      double best = -1;
      for (const Point& p : points) {
        const double km = GreatCircleKm(la->latitude, la->longitude, p.lat, p.lon);
        if (best < 0 || km < best) best = km;
      }
      v1::NearestSpecialist& n = out.emplace_back();
      n.set_authority(la->code);
      n.set_role(role);
      n.set_distance_km(best);
    }
  }
  return out;
}

void MergeNearest(std::vector<v1::NearestSpecialist>* into, const std::vector<v1::NearestSpecialist>& from) {
  std::map<std::pair<std::string, std::string>, v1::NearestSpecialist> merged;
  for (const auto* list : {static_cast<const std::vector<v1::NearestSpecialist>*>(into), &from}) {
    for (const v1::NearestSpecialist& n : *list) {
      auto [it, inserted] = merged.try_emplace({n.authority(), n.role()}, n);
      if (!inserted && n.distance_km() < it->second.distance_km()) it->second = n;
    }
  }
  std::vector<v1::NearestSpecialist> out;
  out.reserve(merged.size());
  for (auto& [key, n] : merged) out.push_back(std::move(n));
  *into = std::move(out);
}

std::vector<v1::CoverageGap> CoverageGaps(const std::vector<v1::NearestSpecialist>& nearest,
                                          const ReferenceData& reference, const std::vector<std::string>& roles,
                                          double within_km, const std::vector<std::string>& region_codes) {
  std::map<std::pair<std::string, std::string>, double> distance;  // (authority, role) -> km
  std::set<std::string> gap_roles(roles.begin(), roles.end());
  for (const v1::NearestSpecialist& n : nearest) {
    auto [it, inserted] = distance.try_emplace({n.authority(), n.role()}, n.distance_km());
    if (!inserted) it->second = std::min(it->second, n.distance_km());
    if (roles.empty()) gap_roles.insert(n.role());
  }
  // Regions may be named by code, id or resource name; compare codes.
  std::set<std::string> wanted_regions;
  for (const std::string& r : region_codes) {
    const RegionInfo* region = reference.FindRegion(r);
    wanted_regions.insert(region != nullptr ? region->code : r);
  }

  std::vector<v1::CoverageGap> out;
  for (const AuthorityInfo& la : reference.authorities()) {
    if (!wanted_regions.empty() && wanted_regions.count(la.region_code) == 0) continue;
    for (const std::string& role : gap_roles) {
      const auto it = distance.find({la.code, role});
      const bool found = it != distance.end();
      if (found && it->second <= within_km) continue;
      v1::CoverageGap& gap = out.emplace_back();
      gap.set_authority(la.code);
      gap.set_authority_name(la.name);
      gap.set_region_code(la.region_code);
      gap.set_role(role);
      gap.set_nearest_km(found ? it->second : 0);
      gap.set_nearest_found(found);
    }
  }
  std::sort(out.begin(), out.end(), [](const v1::CoverageGap& a, const v1::CoverageGap& b) {
    return std::tie(a.region_code(), a.authority(), a.role()) < std::tie(b.region_code(), b.authority(), b.role());
  });
  return out;
}

v1::UnmetNeedReport BuildUnmetNeedReport(std::vector<v1::SupportRequest> requests, absl::Time now) {
  requests.erase(std::remove_if(requests.begin(), requests.end(),
                                [](const v1::SupportRequest& r) {
                                  return r.state() != v1::SUPPORT_REQUEST_STATE_UNMET;
                                }),
                 requests.end());
  std::stable_sort(requests.begin(), requests.end(), [](const v1::SupportRequest& a, const v1::SupportRequest& b) {
    const auto& ta = a.escalate_time();
    const auto& tb = b.escalate_time();
    return std::make_tuple(ta.seconds(), ta.nanos(), std::cref(a.name())) <
           std::make_tuple(tb.seconds(), tb.nanos(), std::cref(b.name()));
  });

  // Dimension order of the report; the index sorts groups by it.
  static constexpr absl::string_view kDimensions[] = {"region", "authority", "role", "specialism", "setting"};
  std::map<std::pair<int, std::string>, v1::UnmetNeedGroup> groups;
  auto add = [&](int dimension, const std::string& key, const v1::SupportRequest& r, int open_days) {
    v1::UnmetNeedGroup& g = groups[{dimension, key}];
    if (g.requests() == 0) {
      g.set_dimension(std::string(kDimensions[dimension]));
      g.set_key(key);
    }
    g.set_requests(g.requests() + 1);
    g.set_hours_per_week(g.hours_per_week() + r.hours_per_week());
    g.set_oldest_open_days(std::max(g.oldest_open_days(), open_days));
  };
  for (const v1::SupportRequest& r : requests) {
    // Whole days, never negative (a clock a little behind the writer's).
    int open_days = 0;
    if (r.has_create_time()) {
      open_days = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Hours(now - ToTime(r.create_time())) / 24));
    }
    add(0, r.region_code(), r, open_days);
    add(1, r.requesting_authority(), r, open_days);
    add(2, r.role(), r, open_days);
    std::set<std::string> specialisms(r.specialisms().begin(), r.specialisms().end());
    for (const std::string& s : specialisms) add(3, s, r, open_days);
    add(4, r.setting(), r, open_days);
  }

  v1::UnmetNeedReport report;
  for (v1::SupportRequest& r : requests) *report.add_requests() = std::move(r);
  for (auto& [key, g] : groups) *report.add_groups() = std::move(g);
  return report;
}

}  // namespace expertise::sharing
