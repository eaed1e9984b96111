#ifndef EXPERTISE_SERVICES_SHARING_MATCHING_H_
#define EXPERTISE_SERVICES_SHARING_MATCHING_H_

// Which specialists can serve a support request, and how well: a score out
// of 100 with one human-readable reason per factor, so a coordinator can see
// why one provider ranks above another.

#include <string>
#include <vector>

#include "expertise/registry/v1/sharing.pb.h"
#include "expertise/registry/v1/specialist.pb.h"

namespace expertise::sharing {

struct MatchScore {
  bool eligible = false;
  std::string ineligible_reason;     // when not eligible, e.g. "role is physiotherapist, not occupational-therapist"
  double score = 0;                  // 0..100
  std::vector<std::string> reasons;  // one per factor, e.g. "distance 12.3 km (27.5 of 35)"
};

// Points of each factor; they add up to 100.
inline constexpr double kDistancePoints = 35;
inline constexpr double kCapacityPoints = 30;
inline constexpr double kSpecialismPoints = 20;
inline constexpr double kSettingPoints = 15;
// Full distance points up to this distance, none from kNoDistancePointsKm on.
inline constexpr double kFullDistancePointsKm = 10;
inline constexpr double kNoDistancePointsKm = 150;

// Eligibility (all must hold): same role; available hours above 0; the
// specialist accepts external requests when owned by another authority; it
// offers the request's delivery mode when one is set; its age range (any age
// when unset) overlaps the request's age band. An ineligible match scores 0
// and has no reasons.
// Score = distance (35) + capacity fit (30) + specialism fit (20) + setting
// fit (15); see matching.cc for each factor.
MatchScore ScoreMatch(const registry::v1::SupportRequest& request, const registry::v1::Specialist& specialist,
                      double distance_km, double available_hours_per_week);

// Best first: score descending, then distance ascending, then the
// specialist's resource name (so equal suggestions keep a stable order).
void RankSuggestions(std::vector<registry::v1::ProviderSuggestion>* suggestions);

}  // namespace expertise::sharing

#endif  // EXPERTISE_SERVICES_SHARING_MATCHING_H_
