#include "services/common/geo.h"

#include <gtest/gtest.h>

namespace expertise::registry {
namespace {

struct DistanceCase {
  const char* name;
  double lat1, lon1, lat2, lon2;
  double km;        // reference value
  double tolerance; // km
};

void PrintTo(const DistanceCase& c, std::ostream* os) { *os << c.name; }

class GreatCircleTest : public ::testing::TestWithParam<DistanceCase> {};

TEST_P(GreatCircleTest, MatchesReferenceDistance) {
  const auto& c = GetParam();
  EXPECT_NEAR(GreatCircleKm(c.lat1, c.lon1, c.lat2, c.lon2), c.km, c.tolerance);
  EXPECT_DOUBLE_EQ(GreatCircleKm(c.lat1, c.lon1, c.lat2, c.lon2),
                   GreatCircleKm(c.lat2, c.lon2, c.lat1, c.lon1));
}

// Reference values: spherical (haversine) distances with R = 6371.0088 km.
INSTANTIATE_TEST_SUITE_P(
    Cases, GreatCircleTest,
    ::testing::Values(DistanceCase{"SamePoint", 54.68, -1.23, 54.68, -1.23, 0, 1e-9},
                      DistanceCase{"OneDegreeOfLatitude", 52, -1, 53, -1, 111.195, 0.01},
                      DistanceCase{"LondonToManchester", 51.5074, -0.1278, 53.4808, -2.2426, 262.6, 1.0},
                      DistanceCase{"CarlisleToNewcastle", 54.8925, -2.9329, 54.9783, -1.6178, 84.6, 1.0},
                      DistanceCase{"Antipodes", 0, 0, 0, 180, 20015.1, 0.5}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(GeoTest, LatitudeBoundIsConservative) {
  // Two points LatitudeDegreesForKm(d) apart in latitude are d km apart.
  EXPECT_NEAR(GreatCircleKm(53, -1, 53 + LatitudeDegreesForKm(50), -1), 50, 1e-6);
}

}  // namespace
}  // namespace expertise::registry
