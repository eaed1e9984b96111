#include "services/sharing/reports.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/civil_time.h"

namespace expertise::sharing {
namespace {

namespace v1 = ::expertise::registry::v1;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Authority centres from services/common/reference/local_authorities.csv.
struct Centre {
  const char* code;
  double lat, lon;
};
constexpr Centre kHartlepool{"E06000001", 54.6812, -1.2282};
constexpr Centre kMiddlesbrough{"E06000002", 54.5486, -1.2250};
constexpr Centre kNewcastle{"E08000021", 54.9915, -1.6372};
constexpr Centre kGateshead{"E08000037", 54.9416, -1.6365};
constexpr Centre kCityOfLondon{"E09000001", 51.5168, -0.0925};

constexpr char kNorthEast[] = "E12000001";
constexpr char kLondon[] = "E12000007";
constexpr char kOt[] = "occupational-therapist";
constexpr char kPhysio[] = "physiotherapist";
constexpr char kSlt[] = "speech-language-therapist";

// Haversine written out here, independently of services/common/geo.cc.
double HaversineKm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRadiusKm = 6371.0088;
  constexpr double kRad = std::numbers::pi / 180;
  const double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kRadiusKm * std::asin(std::sqrt(a));
}
double HaversineKm(const Centre& a, const Centre& b) { return HaversineKm(a.lat, a.lon, b.lat, b.lon); }

// --- Phases ----------------------------------------------------------------

TEST(PhaseOfSettingTest, EverySettingOfTheTaxonomy) {
  const std::vector<std::pair<std::string, v1::Phase>> cases = {
      {"early-years-maintained", v1::PHASE_EARLY_YEARS_MAINTAINED},
      {"early-years-pvi", v1::PHASE_EARLY_YEARS_PVI},
      {"childminder", v1::PHASE_EARLY_YEARS_PVI},
      {"primary", v1::PHASE_SCHOOLS},
      {"secondary", v1::PHASE_SCHOOLS},
      {"special-school", v1::PHASE_SCHOOLS},
      {"alternative-provision", v1::PHASE_SCHOOLS},
      {"hospital-education", v1::PHASE_SCHOOLS},
      {"post-16", v1::PHASE_POST_16},
      {"home-community", v1::PHASE_OTHER},
      {"", v1::PHASE_OTHER},
      {"Primary", v1::PHASE_OTHER},
  };
  for (const auto& [setting, phase] : cases) EXPECT_EQ(PhaseOfSetting(setting), phase) << setting;
  // Every setting code of the taxonomy is covered above.
  for (const std::string& code : ReferenceData::Get().Codes(v1::TAXONOMY_KIND_SETTING)) {
    EXPECT_TRUE(std::any_of(cases.begin(), cases.end(), [&](const auto& c) { return c.first == code; })) << code;
  }
}

// --- Equity rows -----------------------------------------------------------

v1::Specialist Make(const std::string& id, const std::string& owner, const std::string& role,
                    std::vector<std::string> settings, double available) {
  v1::Specialist s;
  s.set_name("regions/x/specialists/" + id);
  s.set_owning_authority(owner);
  s.set_role(role);
  for (auto& setting : settings) s.add_settings(setting);
  s.mutable_capacity()->set_available_hours_per_week(available);
  return s;
}

double Available(const v1::Specialist& s) { return s.capacity().available_hours_per_week(); }

using RowTuple = std::tuple<std::string, std::string, std::string, v1::Phase, int, double>;
std::vector<RowTuple> Tuples(const std::vector<v1::EquityRow>& rows) {
  std::vector<RowTuple> out;
  for (const auto& r : rows) {
    out.emplace_back(r.region_code(), r.authority(), r.role(), r.phase(), r.specialists(), r.available_hours_per_week());
  }
  return out;
}

class EquityRowsTest : public ::testing::Test {
 protected:
  std::vector<v1::Specialist> owned_ = {
      Make("s1", kHartlepool.code, kOt, {"primary", "secondary"}, 5),                  // SCHOOLS once
      Make("s2", kHartlepool.code, kOt, {"primary", "early-years-pvi", "childminder"}, 3),  // SCHOOLS, EY PVI once
      Make("s3", kHartlepool.code, kSlt, {"post-16"}, 2),
      Make("s4", kCityOfLondon.code, kOt, {"home-community"}, 7),
      Make("s5", kMiddlesbrough.code, kOt, {}, 9),  // no settings: no phase
      Make("s6", kNewcastle.code, kPhysio, {"special-school"}, 4),
  };
  std::vector<const v1::Specialist*> Pointers() const {
    std::vector<const v1::Specialist*> out;
    for (const auto& s : owned_) out.push_back(&s);
    out.push_back(nullptr);  // ignored
    return out;
  }
};

TEST_F(EquityRowsTest, GroupsByAuthorityRoleAndPhase) {
  const auto rows = EquityRows(Pointers(), ReferenceData::Get(), Available, {});
  // Hartlepool OT SCHOOLS: s1 + s2 = 2 specialists, 5 + 3 = 8 hours; EY PVI: s2 only
  // (early-years-pvi and childminder are one phase), 3 hours.
  EXPECT_THAT(Tuples(rows), ElementsAre(RowTuple{kNorthEast, kHartlepool.code, kOt, v1::PHASE_EARLY_YEARS_PVI, 1, 3},
                                        RowTuple{kNorthEast, kHartlepool.code, kOt, v1::PHASE_SCHOOLS, 2, 8},
                                        RowTuple{kNorthEast, kHartlepool.code, kSlt, v1::PHASE_POST_16, 1, 2},
                                        RowTuple{kNorthEast, kNewcastle.code, kPhysio, v1::PHASE_SCHOOLS, 1, 4},
                                        RowTuple{kLondon, kCityOfLondon.code, kOt, v1::PHASE_OTHER, 1, 7}));
}

TEST_F(EquityRowsTest, OnlyTheGivenRoles) {
  const auto rows = EquityRows(Pointers(), ReferenceData::Get(), Available, {kSlt, kPhysio});
  EXPECT_THAT(Tuples(rows), ElementsAre(RowTuple{kNorthEast, kHartlepool.code, kSlt, v1::PHASE_POST_16, 1, 2},
                                        RowTuple{kNorthEast, kNewcastle.code, kPhysio, v1::PHASE_SCHOOLS, 1, 4}));
}

TEST_F(EquityRowsTest, HoursComeFromTheCallback) {
  int calls = 0;
  const auto rows = EquityRows(Pointers(), ReferenceData::Get(),
                               [&](const v1::Specialist&) {
                                 ++calls;
                                 return 1.5;
                               },
                               {kOt});
  // OT rows: EY PVI (s2) 1.5; SCHOOLS (s1, s2) 3; OTHER (s4) 1.5.
  EXPECT_THAT(Tuples(rows), ElementsAre(RowTuple{kNorthEast, kHartlepool.code, kOt, v1::PHASE_EARLY_YEARS_PVI, 1, 1.5},
                                        RowTuple{kNorthEast, kHartlepool.code, kOt, v1::PHASE_SCHOOLS, 2, 3},
                                        RowTuple{kLondon, kCityOfLondon.code, kOt, v1::PHASE_OTHER, 1, 1.5}));
  EXPECT_GE(calls, 3);
}

TEST(EquityRowsEmptyTest, NoSpecialistsNoRows) {
  EXPECT_THAT(EquityRows({}, ReferenceData::Get(), Available, {}), IsEmpty());
}

// --- Nearest specialists ---------------------------------------------------

v1::Specialist At(const std::string& id, const std::string& role, const Centre& owner, const Centre* base) {
  v1::Specialist s = Make(id, owner.code, role, {"primary"}, 1);
  if (base != nullptr) {
    s.mutable_base_location()->set_latitude(base->lat);
    s.mutable_base_location()->set_longitude(base->lon);
  }
  return s;
}

const v1::NearestSpecialist* Find(const std::vector<v1::NearestSpecialist>& list, const std::string& authority,
                                  const std::string& role) {
  for (const auto& n : list) {
    if (n.authority() == authority && n.role() == role) return &n;
  }
  return nullptr;
}

class NearestTest : public ::testing::Test {
 protected:
  // Two OTs based at the centres of Hartlepool and Newcastle; an SLT with no
  // base, so at the centre of Gateshead, its owning authority.
  std::vector<v1::Specialist> owned_ = {At("ot-h", kOt, kHartlepool, &kHartlepool),
                                        At("ot-n", kOt, kNewcastle, &kNewcastle),
                                        At("slt-g", kSlt, kGateshead, nullptr)};
  std::vector<const v1::Specialist*> Pointers() const {
    std::vector<const v1::Specialist*> out;
    for (const auto& s : owned_) out.push_back(&s);
    return out;
  }
};

TEST_F(NearestTest, EveryAuthorityAndRoleSorted) {
  const auto nearest = NearestSpecialists(Pointers(), ReferenceData::Get(), {});
  const size_t authorities = ReferenceData::Get().authorities().size();
  ASSERT_EQ(authorities, 153u);
  ASSERT_EQ(nearest.size(), 2 * authorities);  // two roles
  for (size_t i = 1; i < nearest.size(); ++i) {
    EXPECT_LT(std::tie(nearest[i - 1].authority(), nearest[i - 1].role()),
              std::tie(nearest[i].authority(), nearest[i].role()));
  }
  EXPECT_EQ(nearest[0].authority(), kHartlepool.code);  // E06000001 is the smallest code
  EXPECT_EQ(nearest[0].role(), kOt);
  EXPECT_EQ(nearest[1].role(), kSlt);
}

TEST_F(NearestTest, DistancesToTheNearestBase) {
  const auto nearest = NearestSpecialists(Pointers(), ReferenceData::Get(), {});
  struct Expect {
    const Centre* authority;
    const char* role;
    double km;
  };
  const Expect cases[] = {
      {&kHartlepool, kOt, 0},                                         // an OT is based there
      {&kNewcastle, kOt, 0},                                          // likewise
      {&kGateshead, kSlt, 0},                                         // the SLT without a base
      {&kMiddlesbrough, kOt, HaversineKm(kMiddlesbrough, kHartlepool)},  // ~14.75 km, closer than Newcastle
      {&kGateshead, kOt, HaversineKm(kGateshead, kNewcastle)},          // ~5.55 km
      {&kHartlepool, kSlt, HaversineKm(kHartlepool, kGateshead)},       // ~39.02 km
      {&kCityOfLondon, kOt, HaversineKm(kCityOfLondon, kHartlepool)},   // ~359.9 km
  };
  for (const Expect& e : cases) {
    const v1::NearestSpecialist* n = Find(nearest, e.authority->code, e.role);
    ASSERT_NE(n, nullptr) << e.authority->code << " " << e.role;
    EXPECT_NEAR(n->distance_km(), e.km, 1e-6) << e.authority->code << " " << e.role;
  }
  // Hand-checked magnitudes, so the helper above is not the only witness.
  EXPECT_NEAR(Find(nearest, kMiddlesbrough.code, kOt)->distance_km(), 14.75, 0.05);
  EXPECT_NEAR(Find(nearest, kGateshead.code, kOt)->distance_km(), 5.55, 0.05);
  EXPECT_NEAR(Find(nearest, kCityOfLondon.code, kOt)->distance_km(), 359.9, 0.5);
}

TEST_F(NearestTest, OnlyTheGivenRoles) {
  const auto only_slt = NearestSpecialists(Pointers(), ReferenceData::Get(), {kSlt});
  ASSERT_EQ(only_slt.size(), 153u);
  for (const auto& n : only_slt) EXPECT_EQ(n.role(), kSlt);
  // A role nobody has gives no entries at all.
  EXPECT_THAT(NearestSpecialists(Pointers(), ReferenceData::Get(), {"bsl-interpreter"}), IsEmpty());
  EXPECT_THAT(NearestSpecialists({}, ReferenceData::Get(), {}), IsEmpty());
}

// --- Merge -------------------------------------------------------------------

v1::NearestSpecialist N(const std::string& authority, const std::string& role, double km) {
  v1::NearestSpecialist n;
  n.set_authority(authority);
  n.set_role(role);
  n.set_distance_km(km);
  return n;
}

using NearestTuple = std::tuple<std::string, std::string, double>;
std::vector<NearestTuple> Tuples(const std::vector<v1::NearestSpecialist>& list) {
  std::vector<NearestTuple> out;
  for (const auto& n : list) out.emplace_back(n.authority(), n.role(), n.distance_km());
  return out;
}

TEST(MergeNearestTest, KeepsTheSmallerDistanceAndSorts) {
  std::vector<v1::NearestSpecialist> into = {N("E06000002", kOt, 20), N("E06000001", kOt, 5)};
  MergeNearest(&into, {N("E06000002", kOt, 12), N("E06000001", kOt, 7), N("E06000001", kSlt, 30)});
  EXPECT_THAT(Tuples(into), ElementsAre(NearestTuple{"E06000001", kOt, 5}, NearestTuple{"E06000001", kSlt, 30},
                                        NearestTuple{"E06000002", kOt, 12}));
}

TEST(MergeNearestTest, EmptySides) {
  std::vector<v1::NearestSpecialist> into;
  MergeNearest(&into, {N("E09000001", kSlt, 3), N("E06000001", kSlt, 4)});
  EXPECT_THAT(Tuples(into), ElementsAre(NearestTuple{"E06000001", kSlt, 4}, NearestTuple{"E09000001", kSlt, 3}));
  MergeNearest(&into, {});
  EXPECT_EQ(into.size(), 2u);
}

TEST(MergeNearestTest, TwoRegionsGiveTheNationalNearest) {
  // One region knows the Hartlepool OT, another the Newcastle OT: merged, the
  // result equals what one registry holding both would compute.
  const v1::Specialist h = At("ot-h", kOt, kHartlepool, &kHartlepool);
  const v1::Specialist n = At("ot-n", kOt, kNewcastle, &kNewcastle);
  auto merged = NearestSpecialists({&h}, ReferenceData::Get(), {});
  MergeNearest(&merged, NearestSpecialists({&n}, ReferenceData::Get(), {}));
  EXPECT_EQ(Tuples(merged), Tuples(NearestSpecialists({&h, &n}, ReferenceData::Get(), {})));
}

// --- Coverage gaps -----------------------------------------------------------

using GapTuple = std::tuple<std::string, std::string, std::string, bool>;  // authority, role, region, found
std::vector<GapTuple> Tuples(const std::vector<v1::CoverageGap>& gaps) {
  std::vector<GapTuple> out;
  for (const auto& g : gaps) out.emplace_back(g.authority(), g.role(), g.region_code(), g.nearest_found());
  return out;
}

TEST_F(NearestTest, GapsInTheNorthEastWithinTwentyKilometres) {
  const auto nearest = NearestSpecialists(Pointers(), ReferenceData::Get(), {});
  const auto gaps = CoverageGaps(nearest, ReferenceData::Get(), {}, 20, {kNorthEast});
  // Nearest OT (Hartlepool or Newcastle centre) and SLT (Gateshead centre), by hand:
  //   Hartlepool      OT  0.00  SLT 39.02 -> SLT gap
  //   Middlesbrough   OT 14.75  SLT 51.06 -> SLT gap
  //   Redcar          OT 16.18  SLT 55.20 -> SLT gap
  //   Stockton        OT 14.18  SLT 46.41 -> SLT gap
  //   Darlington      OT 26.59  SLT 45.88 -> both
  //   County Durham   OT 25.25  SLT 20.51 -> both
  //   Northumberland  OT 21.09  SLT 26.45 -> both
  //   Newcastle 0/5.55, North Tyneside 9.04/12.28, South Tyneside 12.38/12.56,
  //   Sunderland 16.61/13.51, Gateshead 5.55/0 -> none
  EXPECT_THAT(Tuples(gaps), ElementsAre(GapTuple{"E06000001", kSlt, kNorthEast, true},
                                        GapTuple{"E06000002", kSlt, kNorthEast, true},
                                        GapTuple{"E06000003", kSlt, kNorthEast, true},
                                        GapTuple{"E06000004", kSlt, kNorthEast, true},
                                        GapTuple{"E06000005", kOt, kNorthEast, true},
                                        GapTuple{"E06000005", kSlt, kNorthEast, true},
                                        GapTuple{"E06000047", kOt, kNorthEast, true},
                                        GapTuple{"E06000047", kSlt, kNorthEast, true},
                                        GapTuple{"E06000057", kOt, kNorthEast, true},
                                        GapTuple{"E06000057", kSlt, kNorthEast, true}));
  EXPECT_EQ(gaps[0].authority_name(), "Hartlepool");
  EXPECT_NEAR(gaps[0].nearest_km(), 39.02, 0.01);
  EXPECT_NEAR(gaps[0].nearest_km(), HaversineKm(kHartlepool, kGateshead), 1e-6);
  EXPECT_EQ(gaps[4].authority_name(), "Darlington");
  EXPECT_NEAR(gaps[4].nearest_km(), 26.59, 0.01);
}

TEST_F(NearestTest, RoleWithNoSpecialistIsAGapEverywhere) {
  const auto nearest = NearestSpecialists(Pointers(), ReferenceData::Get(), {});
  // Regions named by id work too.
  const auto gaps = CoverageGaps(nearest, ReferenceData::Get(), {"bsl-interpreter"}, 20, {"north-east"});
  ASSERT_EQ(gaps.size(), 12u);  // the North East's 12 authorities
  for (const auto& g : gaps) {
    EXPECT_EQ(g.role(), "bsl-interpreter");
    EXPECT_FALSE(g.nearest_found());
    EXPECT_EQ(g.nearest_km(), 0);
    EXPECT_EQ(g.region_code(), kNorthEast);
  }
  // Every region: all 153 authorities.
  EXPECT_EQ(CoverageGaps(nearest, ReferenceData::Get(), {"bsl-interpreter"}, 20, {}).size(), 153u);
}

TEST(CoverageGapsTest, SortedByRegionThenAuthorityThenRole) {
  // Only London and the North East: London's E09000001 sorts after the North
  // East's E0600... codes because its region code is larger, not its GSS code.
  const std::vector<v1::NearestSpecialist> nearest = {N(kCityOfLondon.code, kOt, 30), N(kHartlepool.code, kOt, 30),
                                                      N(kHartlepool.code, kSlt, 20)};
  const auto gaps = CoverageGaps(nearest, ReferenceData::Get(), {kSlt, kOt}, 20, {kLondon, kNorthEast});
  ASSERT_GE(gaps.size(), 3u);
  for (size_t i = 1; i < gaps.size(); ++i) {
    EXPECT_LT(std::tie(gaps[i - 1].region_code(), gaps[i - 1].authority(), gaps[i - 1].role()),
              std::tie(gaps[i].region_code(), gaps[i].authority(), gaps[i].role()));
  }
  // Hartlepool: OT at 30 km is a gap, SLT at exactly 20 km is not.
  EXPECT_THAT(Tuples(gaps), ::testing::Contains(GapTuple{kHartlepool.code, kOt, kNorthEast, true}));
  EXPECT_THAT(Tuples(gaps), ::testing::Not(::testing::Contains(GapTuple{kHartlepool.code, kSlt, kNorthEast, true})));
  EXPECT_EQ(gaps.front().region_code(), kNorthEast);
  EXPECT_EQ(gaps.back().region_code(), kLondon);
  // 12 North East authorities x 2 roles + 33 London x 2, minus Hartlepool SLT (within).
  const int london = ReferenceData::Get().FindRegion(kLondon)->authorities.size();
  EXPECT_EQ(gaps.size(), static_cast<size_t>(12 * 2 + london * 2 - 1));
}

// --- Unmet need --------------------------------------------------------------

absl::Time UtcTime(int y, int m, int d, int hh = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, 0, 0), absl::UTCTimeZone());
}

void SetTime(google::protobuf::Timestamp* ts, absl::Time t) { ts->set_seconds(absl::ToUnixSeconds(t)); }

v1::SupportRequest Unmet(const std::string& id, v1::SupportRequestState state, const std::string& region,
                         const std::string& authority, const std::string& role, std::vector<std::string> specialisms,
                         const std::string& setting, double hours, absl::Time created, absl::Time escalated) {
  v1::SupportRequest r;
  r.set_name("regions/x/supportRequests/" + id);
  r.set_state(state);
  r.set_region_code(region);
  r.set_requesting_authority(authority);
  r.set_role(role);
  for (auto& s : specialisms) r.add_specialisms(s);
  r.set_setting(setting);
  r.set_hours_per_week(hours);
  SetTime(r.mutable_create_time(), created);
  SetTime(r.mutable_escalate_time(), escalated);
  return r;
}

TEST(UnmetNeedReportTest, GroupsWithFixedNow) {
  const absl::Time now = UtcTime(2026, 11, 18, 12);
  constexpr auto kUnmet = v1::SUPPORT_REQUEST_STATE_UNMET;
  std::vector<v1::SupportRequest> requests = {
      // Open 17 days exactly (1 Nov 12:00 to 18 Nov 12:00).
      Unmet("r-1", kUnmet, kNorthEast, "E06000001", kOt, {"sensory-processing", "physical-disability"}, "primary", 4,
            UtcTime(2026, 11, 1, 12), UtcTime(2026, 11, 10)),
      // 9 days 18 hours: 9 whole days. Escalated first.
      Unmet("r-2", kUnmet, kNorthEast, "E06000002", kOt, {"sensory-processing"}, "secondary", 2.5,
            UtcTime(2026, 11, 8, 18), UtcTime(2026, 11, 9)),
      // 23 hours: 0 whole days. Escalated at the same time as r-1: after it by name.
      Unmet("r-3", kUnmet, kLondon, "E09000001", kSlt, {}, "primary", 6, UtcTime(2026, 11, 17, 13), UtcTime(2026, 11, 10)),
      // Not UNMET: ignored, whatever their figures.
      Unmet("r-4", v1::SUPPORT_REQUEST_STATE_OPEN, kNorthEast, "E06000001", kOt, {"autism"}, "primary", 100,
            UtcTime(2025, 1, 1), UtcTime(2025, 1, 1)),
      Unmet("r-5", v1::SUPPORT_REQUEST_STATE_COMPLETED, kLondon, "E09000001", kSlt, {}, "post-16", 100,
            UtcTime(2025, 1, 1), UtcTime(2025, 1, 1)),
  };
  const v1::UnmetNeedReport report = BuildUnmetNeedReport(requests, now);

  std::vector<std::string> names;
  for (const auto& r : report.requests()) names.push_back(r.name());
  EXPECT_THAT(names, ElementsAre("regions/x/supportRequests/r-2", "regions/x/supportRequests/r-1",
                                 "regions/x/supportRequests/r-3"));

  using GroupTuple = std::tuple<std::string, std::string, int, double, int>;
  std::vector<GroupTuple> groups;
  for (const auto& g : report.groups()) {
    groups.emplace_back(g.dimension(), g.key(), g.requests(), g.hours_per_week(), g.oldest_open_days());
  }
  EXPECT_THAT(groups, ElementsAre(
                          // region: North East r-1 + r-2 = 4 + 2.5 hours, oldest r-1 (17 days)
                          GroupTuple{"region", kNorthEast, 2, 6.5, 17}, GroupTuple{"region", kLondon, 1, 6, 0},
                          GroupTuple{"authority", "E06000001", 1, 4, 17}, GroupTuple{"authority", "E06000002", 1, 2.5, 9},
                          GroupTuple{"authority", "E09000001", 1, 6, 0},
                          GroupTuple{"role", kOt, 2, 6.5, 17}, GroupTuple{"role", kSlt, 1, 6, 0},
                          // r-1 counts under both of its specialisms; r-3 has none.
                          GroupTuple{"specialism", "physical-disability", 1, 4, 17},
                          GroupTuple{"specialism", "sensory-processing", 2, 6.5, 17},
                          // primary: r-1 + r-3 = 4 + 6 hours
                          GroupTuple{"setting", "primary", 2, 10, 17}, GroupTuple{"setting", "secondary", 1, 2.5, 9}));
  EXPECT_THAT(report.unreachable(), IsEmpty());
}

TEST(UnmetNeedReportTest, NothingUnmet) {
  const v1::UnmetNeedReport report = BuildUnmetNeedReport({}, UtcTime(2026, 11, 18));
  EXPECT_EQ(report.requests_size(), 0);
  EXPECT_EQ(report.groups_size(), 0);
}

}  // namespace
}  // namespace expertise::sharing
