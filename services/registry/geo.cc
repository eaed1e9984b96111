#include "services/registry/geo.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace expertise::registry {
namespace {
constexpr double kDegToRad = std::numbers::pi / 180.0;
}  // namespace

double GreatCircleKm(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg) {
  const double lat1 = lat1_deg * kDegToRad;
  const double lat2 = lat2_deg * kDegToRad;
  const double dlat = lat2 - lat1;
  const double dlon = (lon2_deg - lon1_deg) * kDegToRad;
  const double s_dlat = std::sin(dlat / 2);
  const double s_dlon = std::sin(dlon / 2);
  double h = s_dlat * s_dlat + std::cos(lat1) * std::cos(lat2) * s_dlon * s_dlon;
  h = std::clamp(h, 0.0, 1.0);  // rounding can push h just past 1 for antipodes
  return 2 * kEarthRadiusKm * std::asin(std::sqrt(h));
}

double LatitudeDegreesForKm(double km) { return km / (kEarthRadiusKm * kDegToRad); }

}  // namespace expertise::registry
