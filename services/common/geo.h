#ifndef EXPERTISE_SERVICES_COMMON_GEO_H_
#define EXPERTISE_SERVICES_COMMON_GEO_H_

namespace expertise {

// Mean Earth radius (IUGG), in km.
inline constexpr double kEarthRadiusKm = 6371.0088;

// Returns the great-circle (haversine) distance in km between two WGS84
// points given in degrees. Accurate to about 0.5% (the spherical model).
double GreatCircleKm(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg);

// Returns the smallest latitude difference, in degrees, that puts two points
// more than `km` apart: a cheap bound used to skip far candidates before
// computing the exact distance.
double LatitudeDegreesForKm(double km);

// The haversine term h = sin²(Δlat/2) + cos φ1 cos φ2 sin²(Δlon/2) for two
// points, with the cosines of their latitudes precomputed. Distances compare
// in the same order as their h, so a search can reject a candidate without
// the final square root and arcsine.
double HaversineTerm(double lat1_deg, double lon1_deg, double cos_lat1, double lat2_deg,
                     double lon2_deg, double cos_lat2);
// Converts a haversine term to km.
double KmFromHaversineTerm(double h);
// The haversine term of a distance of `km`.
double HaversineTermForKm(double km);
// Cosine of a latitude in degrees.
double CosLatitude(double lat_deg);

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_GEO_H_
