#include "services/common/geo.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace expertise {
namespace {
constexpr double kDegToRad = std::numbers::pi / 180.0;
}  // namespace

double CosLatitude(double lat_deg) { return std::cos(lat_deg * kDegToRad); }

double HaversineTerm(double lat1_deg, double lon1_deg, double cos_lat1, double lat2_deg,
                     double lon2_deg, double cos_lat2) {
  const double s_dlat = std::sin((lat2_deg - lat1_deg) * kDegToRad / 2);
  const double s_dlon = std::sin((lon2_deg - lon1_deg) * kDegToRad / 2);
  return s_dlat * s_dlat + cos_lat1 * cos_lat2 * s_dlon * s_dlon;
}

double KmFromHaversineTerm(double h) {
  h = std::clamp(h, 0.0, 1.0);  // rounding can push h just past 1 for antipodes
  return 2 * kEarthRadiusKm * std::asin(std::sqrt(h));
}

double HaversineTermForKm(double km) {
  const double s = std::sin(std::min(km / kEarthRadiusKm, std::numbers::pi) / 2);
  return s * s;
}

double GreatCircleKm(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg) {
  return KmFromHaversineTerm(HaversineTerm(lat1_deg, lon1_deg, CosLatitude(lat1_deg), lat2_deg,
                                           lon2_deg, CosLatitude(lat2_deg)));
}

double LatitudeDegreesForKm(double km) { return km / (kEarthRadiusKm * kDegToRad); }

}  // namespace expertise
