#ifndef EXPERTISE_SERVICES_REGISTRY_GEO_H_
#define EXPERTISE_SERVICES_REGISTRY_GEO_H_

namespace expertise::registry {

// Mean Earth radius (IUGG), in km.
inline constexpr double kEarthRadiusKm = 6371.0088;

// Returns the great-circle (haversine) distance in km between two WGS84
// points given in degrees. Accurate to about 0.5% (the spherical model).
double GreatCircleKm(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg);

// Returns the smallest latitude difference, in degrees, that puts two points
// more than `km` apart: a cheap bound used to skip far candidates before
// computing the exact distance.
double LatitudeDegreesForKm(double km);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_GEO_H_
