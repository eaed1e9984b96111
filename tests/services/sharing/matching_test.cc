#include "services/sharing/matching.h"

#include <functional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace expertise::sharing {
namespace {

namespace v1 = ::expertise::registry::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A primary-school OT need in Hartlepool: 10 hours a week, two specialisms.
v1::SupportRequest Request() {
  v1::SupportRequest r;
  r.set_requesting_authority("E06000001");
  r.set_role("occupational-therapist");
  r.add_specialisms("sensory-processing");
  r.add_specialisms("physical-disability");
  r.set_setting("primary");
  r.set_age_band(v1::AGE_BAND_PRIMARY);
  r.set_hours_per_week(10);
  r.set_weeks(12);
  return r;
}

// Hartlepool's own OT, ages 0-18, primary settings, in person and remote.
v1::Specialist Specialist() {
  v1::Specialist s;
  s.set_name("regions/north-east/specialists/s-1");
  s.set_owning_authority("E06000001");
  s.set_role("occupational-therapist");
  s.add_specialisms("sensory-processing");
  s.add_settings("primary");
  s.mutable_age_range()->set_min_age(0);
  s.mutable_age_range()->set_max_age(18);
  s.add_delivery_modes(v1::DELIVERY_MODE_IN_PERSON);
  s.add_delivery_modes(v1::DELIVERY_MODE_REMOTE);
  return s;
}

TEST(ScoreMatchTest, WorkedExampleEightyKilometres) {
  const MatchScore m = ScoreMatch(Request(), Specialist(), 80, 6);
  ASSERT_TRUE(m.eligible) << m.ineligible_reason;
  EXPECT_THAT(m.ineligible_reason, IsEmpty());
  // distance:   35 * (150 - 80) / 140 = 35 * 70 / 140 = 17.5
  // capacity:   30 * min(1, 6 / 10)   = 18
  // specialism: 20 * 1 / 2 (has sensory-processing, not physical-disability) = 10
  // setting:    works in primary      = 15
  // total:      17.5 + 18 + 10 + 15   = 60.5
  EXPECT_DOUBLE_EQ(m.score, 60.5);
  EXPECT_THAT(m.reasons, ElementsAre("distance 80.0 km (17.5 of 35)", "capacity 6.0 hours per week free for 10.0 needed (18.0 of 30)",
                                     "specialisms 1 of 2 requested (10.0 of 20)", "works in primary (15.0 of 15)"));
}

struct ScoreCase {
  const char* name;
  std::function<void(v1::SupportRequest*, v1::Specialist*)> mutate;
  double distance_km;
  double available;
  double expected_score;
  const char* reason_part;  // a substring one of the reasons must contain
};

void PrintTo(const ScoreCase& c, std::ostream* os) { *os << c.name; }

class ScoreTest : public ::testing::TestWithParam<ScoreCase> {};

TEST_P(ScoreTest, MatchesHandComputedPoints) {
  v1::SupportRequest request = Request();
  v1::Specialist specialist = Specialist();
  GetParam().mutate(&request, &specialist);
  const MatchScore m = ScoreMatch(request, specialist, GetParam().distance_km, GetParam().available);
  ASSERT_TRUE(m.eligible) << m.ineligible_reason;
  EXPECT_NEAR(m.score, GetParam().expected_score, 1e-9);
  EXPECT_EQ(m.reasons.size(), 4u);
  EXPECT_THAT(m.reasons, ::testing::Contains(HasSubstr(GetParam().reason_part)));
}

auto NoChange = [](v1::SupportRequest*, v1::Specialist*) {};

INSTANTIATE_TEST_SUITE_P(
    Cases, ScoreTest,
    ::testing::Values(
        // 35 (within 10 km) + 30 * min(1, 20/10) = 30 + 20 * 1/2 = 10 + 15 = 90
        ScoreCase{"Close", NoChange, 5, 20, 90, "distance 5.0 km (35.0 of 35)"},
        // Exactly 10 km still earns full distance points: 35 + 30 + 10 + 15 = 90
        ScoreCase{"TenKilometres", NoChange, 10, 10, 90, "(35.0 of 35)"},
        // 35 * (150 - 12.3) / 140 = 35 * 137.7 / 140 = 34.425; + 30 + 10 + 15 = 89.425
        ScoreCase{"TwelvePointThree", NoChange, 12.3, 10, 89.425, "distance 12.3 km (34.4 of 35)"},
        // 150 km and beyond: 0 + 30 + 10 + 15 = 55
        ScoreCase{"HundredFifty", NoChange, 150, 10, 55, "distance 150.0 km (0.0 of 35)"},
        ScoreCase{"TwoHundred", NoChange, 200, 10, 55, "distance 200.0 km (0.0 of 35)"},
        // In person, 60 km but travels at most 50: distance 0; 0 + 30 + 10 + 15 = 55
        ScoreCase{"BeyondTravelRadius",
                  [](auto* r, auto* s) {
                    r->set_delivery_mode(v1::DELIVERY_MODE_IN_PERSON);
                    s->set_travel_radius_km(50);
                  },
                  60, 10, 55, "distance 60.0 km (0.0 of 35, beyond travel radius 50.0 km)"},
        // In person within the radius: 35 * (150 - 40) / 140 = 27.5; + 30 + 10 + 15 = 82.5
        ScoreCase{"WithinTravelRadius",
                  [](auto* r, auto* s) {
                    r->set_delivery_mode(v1::DELIVERY_MODE_IN_PERSON);
                    s->set_travel_radius_km(50);
                  },
                  40, 10, 82.5, "distance 40.0 km (27.5 of 35)"},
        // Radius 0 means no limit: 35 * (150 - 60) / 140 = 22.5; + 30 + 10 + 15 = 77.5
        ScoreCase{"NoTravelRadius", [](auto* r, auto*) { r->set_delivery_mode(v1::DELIVERY_MODE_IN_PERSON); }, 60,
                  10, 77.5, "distance 60.0 km (22.5 of 35)"},
        // The radius does not limit remote work: 22.5 + 30 + 10 + 15 = 77.5
        ScoreCase{"RemoteIgnoresRadius",
                  [](auto* r, auto* s) {
                    r->set_delivery_mode(v1::DELIVERY_MODE_REMOTE);
                    s->set_travel_radius_km(50);
                  },
                  60, 10, 77.5, "distance 60.0 km (22.5 of 35)"},
        // 30 * 2.5 / 10 = 7.5; 35 + 7.5 + 10 + 15 = 67.5
        ScoreCase{"QuarterOfTheHours", NoChange, 0, 2.5, 67.5, "capacity 2.5 hours per week free for 10.0 needed (7.5 of 30)"},
        // Both specialisms: 20; 35 + 30 + 20 + 15 = 100
        ScoreCase{"PerfectMatch", [](auto*, auto* s) { s->add_specialisms("physical-disability"); }, 0, 10, 100,
                  "specialisms 2 of 2 requested (20.0 of 20)"},
        // None of them: 0; 35 + 30 + 0 + 15 = 80
        ScoreCase{"NoRequestedSpecialism", [](auto*, auto* s) { s->clear_specialisms(); }, 0, 10, 80,
                  "specialisms 0 of 2 requested (0.0 of 20)"},
        // None requested: full 20; 35 + 30 + 20 + 15 = 100
        ScoreCase{"NoneRequested", [](auto* r, auto*) { r->clear_specialisms(); }, 0, 10, 100,
                  "no specialisms requested (20.0 of 20)"},
        // Secondary is in the same phase (SCHOOLS) as primary: 7.5; 35 + 30 + 10 + 7.5 = 82.5
        ScoreCase{"SamePhaseSetting",
                  [](auto*, auto* s) {
                    s->clear_settings();
                    s->add_settings("post-16");
                    s->add_settings("secondary");
                  },
                  0, 10, 82.5, "works in the same phase as primary (7.5 of 15)"},
        // Childminder and early-years-pvi share EARLY_YEARS_PVI: 7.5 (age band early years: 0-4 overlaps 0-18)
        ScoreCase{"SamePhaseEarlyYears",
                  [](auto* r, auto* s) {
                    r->set_setting("early-years-pvi");
                    r->set_age_band(v1::AGE_BAND_EARLY_YEARS);
                    s->clear_settings();
                    s->add_settings("childminder");
                  },
                  0, 10, 82.5, "(7.5 of 15)"},
        // Post-16 only: another phase, 0; 35 + 30 + 10 + 0 = 75
        ScoreCase{"OtherPhase",
                  [](auto*, auto* s) {
                    s->clear_settings();
                    s->add_settings("post-16");
                  },
                  0, 10, 75, "does not work in primary or its phase (0.0 of 15)"},
        // 80 km, 3 h of 4, one of one specialism, other phase:
        // 17.5 + 30 * 3/4 = 22.5 + 20 + 0 = 60
        ScoreCase{"Mixed",
                  [](auto* r, auto* s) {
                    r->set_hours_per_week(4);
                    r->clear_specialisms();
                    r->add_specialisms("sensory-processing");
                    s->clear_settings();
                    s->add_settings("home-community");
                  },
                  80, 3, 60, "capacity 3.0 hours per week free for 4.0 needed (22.5 of 30)"}),
    [](const auto& p) { return std::string(p.param.name); });

struct EligibilityCase {
  const char* name;
  std::function<void(v1::SupportRequest*, v1::Specialist*)> mutate;
  double available;
  const char* reason;  // nullptr: eligible
};

void PrintTo(const EligibilityCase& c, std::ostream* os) { *os << c.name; }

class EligibilityTest : public ::testing::TestWithParam<EligibilityCase> {};

TEST_P(EligibilityTest, DecidesEligibility) {
  v1::SupportRequest request = Request();
  v1::Specialist specialist = Specialist();
  GetParam().mutate(&request, &specialist);
  const MatchScore m = ScoreMatch(request, specialist, 20, GetParam().available);
  if (GetParam().reason == nullptr) {
    EXPECT_TRUE(m.eligible) << m.ineligible_reason;
    EXPECT_GT(m.score, 0);
  } else {
    EXPECT_FALSE(m.eligible);
    EXPECT_EQ(m.ineligible_reason, GetParam().reason);
    EXPECT_EQ(m.score, 0);
    EXPECT_THAT(m.reasons, IsEmpty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EligibilityTest,
    ::testing::Values(
        EligibilityCase{"Baseline", NoChange, 5, nullptr},
        EligibilityCase{"OtherRole", [](auto*, auto* s) { s->set_role("physiotherapist"); }, 5,
                        "role is physiotherapist, not occupational-therapist"},
        EligibilityCase{"NoHours", NoChange, 0, "no available hours per week"},
        // The need is 20 km away (see DecidesEligibility).
        EligibilityCase{"InPersonOnlyBeyondTravelRadius",
                        [](auto*, auto* s) {
                          s->clear_delivery_modes();
                          s->add_delivery_modes(v1::DELIVERY_MODE_IN_PERSON);
                          s->set_travel_radius_km(15);
                        },
                        5, "works in person only, within 15.0 km; the need is 20.0 km away"},
        EligibilityCase{"RemoteToo",
                        [](auto*, auto* s) {
                          s->clear_delivery_modes();
                          s->add_delivery_modes(v1::DELIVERY_MODE_IN_PERSON);
                          s->add_delivery_modes(v1::DELIVERY_MODE_REMOTE);
                          s->set_travel_radius_km(15);
                        },
                        5, nullptr},
        EligibilityCase{"NegativeHours", NoChange, -1, "no available hours per week"},
        EligibilityCase{"OtherAuthorityNotAccepting", [](auto*, auto* s) { s->set_owning_authority("E06000002"); },
                        5, "not accepting requests from other authorities"},
        EligibilityCase{"OtherAuthorityAccepting",
                        [](auto*, auto* s) {
                          s->set_owning_authority("E06000002");
                          s->mutable_capacity()->set_accepting_external_requests(true);
                        },
                        5, nullptr},
        EligibilityCase{"InPersonOnlyForRemoteNeed",
                        [](auto* r, auto* s) {
                          r->set_delivery_mode(v1::DELIVERY_MODE_REMOTE);
                          s->clear_delivery_modes();
                          s->add_delivery_modes(v1::DELIVERY_MODE_IN_PERSON);
                        },
                        5, "does not offer remote delivery"},
        EligibilityCase{"RemoteOnlyForAnyMode",
                        [](auto*, auto* s) {
                          s->clear_delivery_modes();
                          s->add_delivery_modes(v1::DELIVERY_MODE_REMOTE);
                        },
                        5, nullptr},
        EligibilityCase{"AgesAbovePrimary",
                        [](auto*, auto* s) {
                          s->mutable_age_range()->set_min_age(11);
                          s->mutable_age_range()->set_max_age(18);
                        },
                        5, "serves ages 11-18, not 5-10"},
        EligibilityCase{"AgesTouchingPrimary",  // 10 is in both 10-18 and 5-10
                        [](auto*, auto* s) {
                          s->mutable_age_range()->set_min_age(10);
                          s->mutable_age_range()->set_max_age(18);
                        },
                        5, nullptr},
        EligibilityCase{"AnyAgeBand",
                        [](auto* r, auto* s) {
                          r->set_age_band(v1::AGE_BAND_UNSPECIFIED);
                          s->mutable_age_range()->set_min_age(19);
                          s->mutable_age_range()->set_max_age(25);
                        },
                        5, nullptr},
        EligibilityCase{"PostSixteenNeedYoungSpecialist",
                        [](auto* r, auto* s) {
                          r->set_age_band(v1::AGE_BAND_POST_16);
                          s->mutable_age_range()->set_max_age(15);
                        },
                        5, "serves ages 0-15, not 16-25"},
        EligibilityCase{"NoAgeRange", [](auto* r, auto* s) {
                          r->set_age_band(v1::AGE_BAND_POST_16);
                          s->clear_age_range();
                        },
                        5, nullptr}),
    [](const auto& p) { return std::string(p.param.name); });

v1::ProviderSuggestion Suggestion(const std::string& id, double score, double km) {
  v1::ProviderSuggestion s;
  s.mutable_specialist()->set_name("regions/north-east/specialists/" + id);
  s.set_score(score);
  s.set_distance_km(km);
  return s;
}

std::vector<std::string> Ids(const std::vector<v1::ProviderSuggestion>& suggestions) {
  std::vector<std::string> ids;
  for (const auto& s : suggestions) ids.push_back(s.specialist().name().substr(sizeof("regions/north-east/specialists/") - 1));
  return ids;
}

TEST(RankSuggestionsTest, ScoreThenDistanceThenName) {
  std::vector<v1::ProviderSuggestion> suggestions = {
      Suggestion("s-e", 50, 1),   Suggestion("s-d", 80, 30), Suggestion("s-c", 80, 12),
      Suggestion("s-b", 80, 12),  Suggestion("s-a", 80, 40), Suggestion("s-f", 99.5, 140),
      Suggestion("s-g", 0, 0),
  };
  RankSuggestions(&suggestions);
  // 99.5 first despite 140 km; the 80s by distance (12, 12, 30, 40), the two
  // at 12 km by name; then 50, then 0.
  EXPECT_THAT(Ids(suggestions), ElementsAre("s-f", "s-b", "s-c", "s-d", "s-a", "s-e", "s-g"));
}

TEST(RankSuggestionsTest, FullTieIsOrderIndependent) {
  std::vector<v1::ProviderSuggestion> forward = {Suggestion("s-1", 70, 5), Suggestion("s-2", 70, 5),
                                                 Suggestion("s-3", 70, 5)};
  std::vector<v1::ProviderSuggestion> backward = {forward[2], forward[1], forward[0]};
  RankSuggestions(&forward);
  RankSuggestions(&backward);
  EXPECT_THAT(Ids(forward), ElementsAre("s-1", "s-2", "s-3"));
  EXPECT_THAT(Ids(backward), ElementsAre("s-1", "s-2", "s-3"));
}

TEST(RankSuggestionsTest, EmptyIsFine) {
  std::vector<v1::ProviderSuggestion> none;
  RankSuggestions(&none);
  EXPECT_THAT(none, IsEmpty());
}

TEST(RankSuggestionsTest, ScoresFromScoreMatchRankAsExpected) {
  // Two otherwise equal specialists: the one 80 km away (60.5, worked example
  // above) ranks below the one 5 km away (35 + 18 + 10 + 15 = 78).
  std::vector<v1::ProviderSuggestion> suggestions;
  for (auto [id, km] : {std::pair{"s-far", 80.0}, std::pair{"s-near", 5.0}}) {
    v1::Specialist s = Specialist();
    s.set_name(std::string("regions/north-east/specialists/") + id);
    const MatchScore m = ScoreMatch(Request(), s, km, 6);
    v1::ProviderSuggestion& p = suggestions.emplace_back();
    *p.mutable_specialist() = s;
    p.set_distance_km(km);
    p.set_score(m.score);
  }
  RankSuggestions(&suggestions);
  EXPECT_THAT(Ids(suggestions), ElementsAre("s-near", "s-far"));
  EXPECT_DOUBLE_EQ(suggestions[0].score(), 78);
  EXPECT_DOUBLE_EQ(suggestions[1].score(), 60.5);
}

}  // namespace
}  // namespace expertise::sharing
