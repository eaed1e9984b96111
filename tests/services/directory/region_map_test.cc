#include "services/directory/region_map.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace expertise::directory {
namespace {

using ::testing::HasSubstr;

TEST(RegionMapTest, AcceptsCodesIdsAndNamesWithCommentsAndSortsByCode) {
  auto map = ParseRegionMap(
      "# the local federation\n"
      "regions/london   127.0.0.1:50057   # by resource name\n"
      "\n"
      "E12000001\tregistry-north-east.expertise.svc.cluster.local:50051\n"
      "north-west dns:///registry-nw:50051\n");
  ASSERT_TRUE(map.ok()) << map.status();
  ASSERT_EQ(map->size(), 3u);
  EXPECT_EQ((*map)[0].region->id, "north-east");
  EXPECT_EQ((*map)[0].target, "registry-north-east.expertise.svc.cluster.local:50051");
  EXPECT_EQ((*map)[1].region->id, "north-west");
  EXPECT_EQ((*map)[1].target, "dns:///registry-nw:50051");
  EXPECT_EQ((*map)[2].region->id, "london");
}

struct BadMapCase {
  std::string name;
  std::string text;
  std::string message;
};

class RegionMapBadTest : public ::testing::TestWithParam<BadMapCase> {};

TEST_P(RegionMapBadTest, IsRefusedNamingTheLine) {
  auto map = ParseRegionMap(GetParam().text);
  ASSERT_FALSE(map.ok());
  EXPECT_EQ(map.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(map.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RegionMapBadTest,
    ::testing::Values(BadMapCase{"Empty", "# nothing\n", "no regions"},
                      BadMapCase{"UnknownRegion", "north-east a:1\nwessex b:2\n", "line 2: unknown region 'wessex'"},
                      BadMapCase{"Twice", "north-east a:1\nE12000001 b:2\n", "line 2: regions/north-east is listed twice"},
                      BadMapCase{"NoPort", "london registry-london\n", "line 1: endpoint 'registry-london' needs a port"},
                      BadMapCase{"ThreeFields", "london a:1 extra\n", "line 1: expected '<region> <endpoint>'"}),
    [](const auto& test_info) { return test_info.param.name; });

}  // namespace
}  // namespace expertise::directory
