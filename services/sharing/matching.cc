#include "services/sharing/matching.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/sharing/lifecycle.h"
#include "services/sharing/reports.h"

namespace expertise::sharing {
namespace {

namespace v1 = ::expertise::registry::v1;

// Shown numbers have one decimal, so reasons read the same everywhere.
std::string Num(double x) { return absl::StrFormat("%.1f", x); }

absl::string_view ModeName(v1::DeliveryMode mode) {
  switch (mode) {
    case v1::DELIVERY_MODE_IN_PERSON: return "in-person";
    case v1::DELIVERY_MODE_REMOTE: return "remote";
    default: return "unspecified";
  }
}

// Why the specialist cannot serve the request at all, or "" when it can.
std::string IneligibleReason(const v1::SupportRequest& request, const v1::Specialist& specialist,
                             double distance_km, double available_hours_per_week) {
  if (specialist.role() != request.role()) {
    return absl::StrCat("role is ", specialist.role(), ", not ", request.role());
  }
  if (!(available_hours_per_week > 0)) return "no available hours per week";
  if (specialist.owning_authority() != request.requesting_authority() &&
      !specialist.capacity().accepting_external_requests()) {
    return "not accepting requests from other authorities";
  }
  if (request.delivery_mode() != v1::DELIVERY_MODE_UNSPECIFIED &&
      std::find(specialist.delivery_modes().begin(), specialist.delivery_modes().end(), request.delivery_mode()) ==
          specialist.delivery_modes().end()) {
    return absl::StrCat("does not offer ", ModeName(request.delivery_mode()), " delivery");
  }
  // Someone who only works in person cannot serve a need beyond the
  // distance they travel, however free they are.
  const bool remote = std::find(specialist.delivery_modes().begin(), specialist.delivery_modes().end(),
                                v1::DELIVERY_MODE_REMOTE) != specialist.delivery_modes().end();
  if (!remote && specialist.travel_radius_km() > 0 && distance_km > specialist.travel_radius_km()) {
    return absl::StrCat("works in person only, within ", Num(specialist.travel_radius_km()),
                        " km; the need is ", Num(distance_km), " km away");
  }
  // An age range never set (or left at 0-0, as an import without ages
  // leaves it) serves any age.
  const auto& ages = specialist.age_range();
  if (specialist.has_age_range() && !(ages.min_age() == 0 && ages.max_age() == 0)) {
    const auto [low, high] = AgeBandYears(request.age_band());
    if (ages.max_age() < low || ages.min_age() > high) {
      return absl::StrCat("serves ages ", ages.min_age(), "-", ages.max_age(), ", not ", low, "-", high);
    }
  }
  return "";
}

}  // namespace

MatchScore ScoreMatch(const v1::SupportRequest& request, const v1::Specialist& specialist, double distance_km,
                      double available_hours_per_week) {
  MatchScore out;
  out.ineligible_reason = IneligibleReason(request, specialist, distance_km, available_hours_per_week);
  if (!out.ineligible_reason.empty()) return out;
  out.eligible = true;

  // Distance: full points close by, none from 150 km, linear in between.
  double distance_points = 0;
  std::string distance_note;
  const double radius = specialist.travel_radius_km();
  if (request.delivery_mode() == v1::DELIVERY_MODE_IN_PERSON && radius > 0 && distance_km > radius) {
    distance_note = absl::StrCat(", beyond travel radius ", Num(radius), " km");
  } else if (distance_km <= kFullDistancePointsKm) {
    distance_points = kDistancePoints;
  } else if (distance_km < kNoDistancePointsKm) {
    distance_points = kDistancePoints * (kNoDistancePointsKm - distance_km) / (kNoDistancePointsKm - kFullDistancePointsKm);
  }
  out.reasons.push_back(absl::StrCat("distance ", Num(distance_km), " km (", Num(distance_points), " of 35",
                                     distance_note, ")"));

  // Capacity: the share of the requested hours the specialist has free.
  const double wanted = request.hours_per_week();
  const double fit = wanted > 0 ? std::min(1.0, available_hours_per_week / wanted) : 1.0;
  const double capacity_points = kCapacityPoints * fit;
  out.reasons.push_back(absl::StrCat("capacity ", Num(available_hours_per_week),
                                     " hours per week free for ", Num(wanted), " needed (",
                                     Num(capacity_points), " of 30)"));

  // Specialisms: the share of the requested ones the specialist has.
  double specialism_points = kSpecialismPoints;
  if (request.specialisms_size() == 0) {
    out.reasons.push_back(absl::StrCat("no specialisms requested (", Num(specialism_points), " of 20)"));
  } else {
    int matched = 0;
    for (const std::string& wanted_code : request.specialisms()) {
      if (std::find(specialist.specialisms().begin(), specialist.specialisms().end(), wanted_code) !=
          specialist.specialisms().end()) {
        ++matched;
      }
    }
    specialism_points = kSpecialismPoints * matched / request.specialisms_size();
    out.reasons.push_back(absl::StrCat("specialisms ", matched, " of ", request.specialisms_size(), " requested (",
                                       Num(specialism_points), " of 20)"));
  }

  // Setting: the exact setting, else half for a setting of the same phase.
  double setting_points = 0;
  const auto& settings = specialist.settings();
  if (std::find(settings.begin(), settings.end(), request.setting()) != settings.end()) {
    setting_points = kSettingPoints;
    out.reasons.push_back(absl::StrCat("works in ", request.setting(), " (", Num(setting_points), " of 15)"));
  } else {
    const v1::Phase phase = PhaseOfSetting(request.setting());
    const bool same_phase = std::any_of(settings.begin(), settings.end(),
                                        [&](const std::string& s) { return PhaseOfSetting(s) == phase; });
    if (same_phase) {
      setting_points = kSettingPoints / 2;
      out.reasons.push_back(absl::StrCat("works in the same phase as ", request.setting(), " (", Num(setting_points),
                                         " of 15)"));
    } else {
      out.reasons.push_back(absl::StrCat("does not work in ", request.setting(), " or its phase (",
                                         Num(setting_points), " of 15)"));
    }
  }

  out.score = distance_points + capacity_points + specialism_points + setting_points;
  return out;
}

void RankSuggestions(std::vector<v1::ProviderSuggestion>* suggestions) {
  std::stable_sort(suggestions->begin(), suggestions->end(),
                   [](const v1::ProviderSuggestion& a, const v1::ProviderSuggestion& b) {
                     if (a.score() != b.score()) return a.score() > b.score();
                     if (a.distance_km() != b.distance_km()) return a.distance_km() < b.distance_km();
                     return a.specialist().name() < b.specialist().name();
                   });
}

}  // namespace expertise::sharing
