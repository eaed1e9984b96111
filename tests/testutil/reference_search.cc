#include "tests/testutil/reference_search.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>

#include "services/common/reference/reference_data.h"

namespace expertise::testing {
namespace {

using registry::v1::SearchSpecialistsRequest;
using registry::v1::Specialist;

double Haversine(double lat1, double lon1, double lat2, double lon2) {
  const double r = 6371.0088, k = M_PI / 180;
  const double a = std::pow(std::sin((lat2 - lat1) * k / 2), 2) +
                   std::cos(lat1 * k) * std::cos(lat2 * k) *
                       std::pow(std::sin((lon2 - lon1) * k / 2), 2);
  return 2 * r * std::asin(std::sqrt(std::min(1.0, a)));
}

template <typename C>
bool Has(const C& container, const std::string& value) {
  return std::find(container.begin(), container.end(), value) != container.end();
}

std::tuple<int, int, int> Ymd(const google::type::Date& d) { return {d.year(), d.month(), d.day()}; }

}  // namespace

std::vector<ExpectedHit> BruteForceSearch(const std::vector<Specialist>& records,
                                          const SearchSpecialistsRequest& req, int year, int month,
                                          int day) {
  const auto& ref = ReferenceData::Get();
  bool has_point = false;
  double plat = 0, plon = 0;
  if (req.has_point()) {
    has_point = true;
    plat = req.point().latitude();
    plon = req.point().longitude();
  } else if (req.has_near_authority()) {
    const AuthorityInfo* la = ref.FindAuthority(req.near_authority());
    has_point = true;
    plat = la->latitude;
    plon = la->longitude;
  }
  const auto today = std::make_tuple(year, month, day);
  std::vector<ExpectedHit> hits;
  for (const Specialist& s : records) {
    if (req.roles_size() > 0 && !Has(req.roles(), s.role())) continue;
    bool ok = true;
    for (const auto& x : req.specialisms()) ok = ok && Has(s.specialisms(), x);
    for (const auto& x : req.settings()) ok = ok && Has(s.settings(), x);
    for (const auto& x : req.languages()) ok = ok && Has(s.languages(), x);
    if (!ok) continue;
    if (req.has_age() && (req.age() < s.age_range().min_age() || req.age() > s.age_range().max_age())) {
      continue;
    }
    if (req.delivery_mode() != 0 &&
        std::find(s.delivery_modes().begin(), s.delivery_modes().end(), req.delivery_mode()) ==
            s.delivery_modes().end()) {
      continue;
    }
    if (req.authorities_size() > 0) {
      bool any = false;
      for (const auto& la : req.authorities()) {
        any = any || la == s.owning_authority() || Has(s.covered_authorities(), la);
      }
      if (!any) continue;
    }
    if (req.accepting_external_requests() && !s.capacity().accepting_external_requests()) continue;
    const auto& c = s.capacity();
    double available = std::max(0.0, c.contracted_hours_per_week() - c.committed_hours_per_week());
    if ((c.has_valid_from() && today < Ymd(c.valid_from())) ||
        (c.has_valid_to() && today > Ymd(c.valid_to()))) {
      available = 0;
    }
    if (req.min_available_hours() > 0 && available < req.min_available_hours()) continue;
    double distance = 0;
    if (has_point) {
      distance = Haversine(plat, plon, s.base_location().latitude(), s.base_location().longitude());
      if (req.within_km() > 0 && distance > req.within_km()) continue;
    }
    hits.push_back({s.name(), distance, available});
  }
  auto order = req.order_by();
  if (order == registry::v1::SEARCH_ORDER_UNSPECIFIED) {
    order = has_point ? registry::v1::SEARCH_ORDER_DISTANCE : registry::v1::SEARCH_ORDER_NAME;
  }
  std::sort(hits.begin(), hits.end(), [&](const ExpectedHit& a, const ExpectedHit& b) {
    if (order == registry::v1::SEARCH_ORDER_DISTANCE && a.distance_km != b.distance_km) {
      return a.distance_km < b.distance_km;
    }
    if (order == registry::v1::SEARCH_ORDER_AVAILABLE_HOURS &&
        a.available_hours != b.available_hours) {
      return a.available_hours > b.available_hours;
    }
    return a.name < b.name;
  });
  return hits;
}

std::vector<SearchSpecialistsRequest> RandomSearchRequests(const std::string& region_id, int count,
                                                           uint64_t seed) {
  const auto& ref = ReferenceData::Get();
  const RegionInfo* region = ref.FindRegion(region_id);
  std::mt19937_64 rng(seed);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  std::vector<SearchSpecialistsRequest> out;
  for (int i = 0; i < count; ++i) {
    SearchSpecialistsRequest r;
    r.set_parent(region->resource_name());
    if (chance(60)) r.add_roles(pick(ref.Codes(registry::v1::TAXONOMY_KIND_ROLE)));
    if (chance(15)) r.add_roles(pick(ref.Codes(registry::v1::TAXONOMY_KIND_ROLE)));
    if (chance(30)) r.add_specialisms(pick(ref.Codes(registry::v1::TAXONOMY_KIND_SPECIALISM)));
    if (chance(30)) r.add_settings(pick(ref.Codes(registry::v1::TAXONOMY_KIND_SETTING)));
    if (chance(25)) r.set_age(static_cast<int>(rng() % 26));
    if (chance(10)) r.add_languages(chance(50) ? "bfi" : "pl");
    if (chance(15)) r.set_delivery_mode(chance(50) ? registry::v1::DELIVERY_MODE_REMOTE
                                                   : registry::v1::DELIVERY_MODE_IN_PERSON);
    if (chance(15)) {
      r.add_authorities(ref.authorities()[region->authorities[rng() % region->authorities.size()]].code);
    }
    const int where = static_cast<int>(rng() % 3);
    if (where == 1) {
      r.set_near_authority(
          ref.authorities()[region->authorities[rng() % region->authorities.size()]].code);
    } else if (where == 2) {
      const AuthorityInfo& la =
          ref.authorities()[region->authorities[rng() % region->authorities.size()]];
      r.mutable_point()->set_latitude(la.latitude + (static_cast<int>(rng() % 200) - 100) / 1000.0);
      r.mutable_point()->set_longitude(la.longitude + (static_cast<int>(rng() % 200) - 100) / 1000.0);
    }
    if (where != 0 && chance(70)) r.set_within_km(5 + static_cast<double>(rng() % 60));
    if (chance(35)) r.set_min_available_hours(0.5 * (1 + rng() % 12));
    if (chance(20)) r.set_accepting_external_requests(true);
    const int order = static_cast<int>(rng() % 4);
    if (order == 1 && where != 0) r.set_order_by(registry::v1::SEARCH_ORDER_DISTANCE);
    if (order == 2) r.set_order_by(registry::v1::SEARCH_ORDER_AVAILABLE_HOURS);
    if (order == 3) r.set_order_by(registry::v1::SEARCH_ORDER_NAME);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace expertise::testing
