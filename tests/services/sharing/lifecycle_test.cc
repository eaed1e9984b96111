#include "services/sharing/lifecycle.h"

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/common/errors.h"

namespace expertise::sharing {
namespace {

namespace v1 = ::expertise::registry::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

constexpr v1::SupportRequestState kOpen = v1::SUPPORT_REQUEST_STATE_OPEN;
constexpr v1::SupportRequestState kOffered = v1::SUPPORT_REQUEST_STATE_OFFERED;
constexpr v1::SupportRequestState kAccepted = v1::SUPPORT_REQUEST_STATE_ACCEPTED;
constexpr v1::SupportRequestState kActive = v1::SUPPORT_REQUEST_STATE_ACTIVE;
constexpr v1::SupportRequestState kCompleted = v1::SUPPORT_REQUEST_STATE_COMPLETED;
constexpr v1::SupportRequestState kDeclined = v1::SUPPORT_REQUEST_STATE_DECLINED;
constexpr v1::SupportRequestState kWithdrawn = v1::SUPPORT_REQUEST_STATE_WITHDRAWN;
constexpr v1::SupportRequestState kExpired = v1::SUPPORT_REQUEST_STATE_EXPIRED;
constexpr v1::SupportRequestState kUnmet = v1::SUPPORT_REQUEST_STATE_UNMET;

const v1::SupportRequestState kAllStates[] = {kOpen,     kOffered,   kAccepted, kActive, kCompleted,
                                              kDeclined, kWithdrawn, kExpired,  kUnmet};
const Transition kAllTransitions[] = {Transition::kOffer,   Transition::kAccept,   Transition::kStart,
                                      Transition::kComplete, Transition::kDecline, Transition::kWithdraw,
                                      Transition::kExpire,  Transition::kEscalate};

// The lifecycle table, written out independently of lifecycle.cc: every
// legal (from, transition) pair and its target. Every other pair is illegal.
const std::map<std::pair<v1::SupportRequestState, Transition>, v1::SupportRequestState>& LegalTable() {
  static const auto* const kTable = new std::map<std::pair<v1::SupportRequestState, Transition>,
                                                 v1::SupportRequestState>{
      {{kOpen, Transition::kOffer}, kOffered},        {{kOffered, Transition::kOffer}, kOffered},
      {{kUnmet, Transition::kOffer}, kOffered},       {{kOffered, Transition::kAccept}, kAccepted},
      {{kAccepted, Transition::kStart}, kActive},     {{kAccepted, Transition::kComplete}, kCompleted},
      {{kActive, Transition::kComplete}, kCompleted}, {{kOffered, Transition::kDecline}, kDeclined},
      {{kOpen, Transition::kWithdraw}, kWithdrawn},   {{kOffered, Transition::kWithdraw}, kWithdrawn},
      {{kUnmet, Transition::kWithdraw}, kWithdrawn},  {{kAccepted, Transition::kWithdraw}, kWithdrawn},
      {{kOffered, Transition::kExpire}, kExpired},    {{kOpen, Transition::kEscalate}, kUnmet},
      {{kOffered, Transition::kEscalate}, kUnmet},
  };
  return *kTable;
}

class TransitionTableTest : public ::testing::TestWithParam<std::tuple<v1::SupportRequestState, Transition>> {};

TEST_P(TransitionTableTest, LegalPairsReachTheirTargetAndOthersAreRefused) {
  const auto [from, t] = GetParam();
  const absl::StatusOr<v1::SupportRequestState> next = NextState(from, t);
  const auto it = LegalTable().find({from, t});
  if (it != LegalTable().end()) {
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(*next, it->second);
  } else {
    ASSERT_FALSE(next.ok()) << "got " << StateName(*next);
    EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(ErrorReason(next.status()), "ILLEGAL_TRANSITION");
    EXPECT_THAT(next.status().message(),
                HasSubstr(absl::StrCat("cannot ", TransitionVerb(t), " a support request that is ", StateName(from))));
  }
}

INSTANTIATE_TEST_SUITE_P(AllPairs, TransitionTableTest,
                         ::testing::Combine(::testing::ValuesIn(kAllStates), ::testing::ValuesIn(kAllTransitions)),
                         [](const auto& p) {
                           return absl::StrCat(StateName(std::get<0>(p.param)), "_",
                                               std::string(TransitionVerb(std::get<1>(p.param))));
                         });

TEST(TransitionTest, TableHasFifteenLegalPairs) {
  int legal = 0;
  for (auto from : kAllStates) {
    for (auto t : kAllTransitions) legal += NextState(from, t).ok() ? 1 : 0;
  }
  EXPECT_EQ(legal, 15);
}

TEST(TransitionTest, MessageNamesTheAllowedStates) {
  EXPECT_EQ(NextState(kOpen, Transition::kAccept).status().message(),
            "cannot accept a support request that is OPEN (allowed from: OFFERED)");
  EXPECT_EQ(NextState(kCompleted, Transition::kWithdraw).status().message(),
            "cannot withdraw a support request that is COMPLETED (allowed from: OPEN, OFFERED, UNMET, ACCEPTED)");
  EXPECT_EQ(NextState(kActive, Transition::kOffer).status().message(),
            "cannot offer a support request that is ACTIVE (allowed from: OPEN, OFFERED, UNMET)");
}

TEST(TransitionTest, UnspecifiedStateAllowsNothing) {
  for (auto t : kAllTransitions) {
    const auto next = NextState(v1::SUPPORT_REQUEST_STATE_UNSPECIFIED, t);
    EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition) << TransitionVerb(t);
    EXPECT_EQ(ErrorReason(next.status()), "ILLEGAL_TRANSITION");
  }
}

TEST(TransitionTest, FinalStatesAreExactlyThoseWithNoWayOut) {
  for (auto state : kAllStates) {
    bool any_legal = false;
    for (auto t : kAllTransitions) any_legal |= NextState(state, t).ok();
    EXPECT_EQ(IsFinal(state), !any_legal) << StateName(state);
  }
  EXPECT_TRUE(IsFinal(kCompleted));
  EXPECT_TRUE(IsFinal(kDeclined));
  EXPECT_TRUE(IsFinal(kWithdrawn));
  EXPECT_TRUE(IsFinal(kExpired));
  EXPECT_FALSE(IsFinal(kUnmet));
  EXPECT_FALSE(IsFinal(v1::SUPPORT_REQUEST_STATE_UNSPECIFIED));
}

TEST(TransitionTest, VerbsAndStateNames) {
  std::vector<std::string> verbs;
  for (auto t : kAllTransitions) verbs.emplace_back(TransitionVerb(t));
  EXPECT_THAT(verbs, ElementsAre("offer", "accept", "start", "complete", "decline", "withdraw", "expire", "escalate"));
  std::vector<std::string> names;
  for (auto s : kAllStates) names.push_back(StateName(s));
  EXPECT_THAT(names, ElementsAre("OPEN", "OFFERED", "ACCEPTED", "ACTIVE", "COMPLETED", "DECLINED", "WITHDRAWN",
                                 "EXPIRED", "UNMET"));
  EXPECT_EQ(StateName(v1::SUPPORT_REQUEST_STATE_UNSPECIFIED), "UNSPECIFIED");
}

// --- Validation -------------------------------------------------------------

constexpr char kNorthEast[] = "E12000001";
const absl::Time kNow = absl::FromUnixSeconds(1795000000);  // 2026-11-18

v1::SupportRequest ValidRequest() {
  v1::SupportRequest r;
  r.set_requesting_authority("E06000001");  // Hartlepool, North East
  r.set_role("occupational-therapist");
  r.add_specialisms("sensory-processing");
  r.add_specialisms("physical-disability");
  r.set_setting("primary");
  r.set_age_band(v1::AGE_BAND_PRIMARY);
  r.set_hours_per_week(4);
  r.set_weeks(12);
  r.set_location_authority("E09000001");  // City of London: any region is fine
  r.set_delivery_mode(v1::DELIVERY_MODE_IN_PERSON);
  r.set_urgency(v1::URGENCY_SOON);
  r.set_note("Sensory diet advice for a Year 3 class; café visits welcome.");
  r.mutable_start_date()->set_year(2027);
  r.mutable_start_date()->set_month(1);
  r.mutable_start_date()->set_day(4);
  r.mutable_match_deadline()->set_seconds(absl::ToUnixSeconds(kNow) + 3600);
  return r;
}

// Fields named by the BadRequest payload of `status`.
std::vector<std::string> ViolatedFields(const absl::Status& status) {
  std::vector<std::string> fields;
  const auto payload = status.GetPayload(kBadRequestTypeUrl);
  if (!payload) return fields;
  google::rpc::BadRequest bad;
  if (!bad.ParseFromString(std::string(*payload))) return fields;
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  return fields;
}

absl::Status Validate(const v1::SupportRequest& r) {
  return ValidateNewSupportRequest(r, ReferenceData::Get(), kNorthEast, kNow);
}

TEST(ValidateNewSupportRequestTest, ValidRequestPasses) { EXPECT_TRUE(Validate(ValidRequest()).ok()) << Validate(ValidRequest()); }

TEST(ValidateNewSupportRequestTest, MinimalRequestPasses) {
  v1::SupportRequest r;
  r.set_requesting_authority("E08000021");
  r.set_role("educational-psychologist");
  r.set_setting("home-community");
  r.set_hours_per_week(168);
  r.set_weeks(104);
  EXPECT_TRUE(Validate(r).ok()) << Validate(r);
  r.set_weeks(1);
  r.set_hours_per_week(0.5);
  EXPECT_TRUE(Validate(r).ok()) << Validate(r);
}

TEST(ValidateNewSupportRequestTest, EveryBadFieldIsListedAtOnce) {
  v1::SupportRequest r;
  r.set_requesting_authority("E09000001");  // London, not North East
  r.set_role("wizard");
  r.add_specialisms("autism");
  r.add_specialisms("autism");
  r.add_specialisms("telepathy");
  r.set_hours_per_week(-1);
  r.set_weeks(0);
  r.set_location_authority("W06000001");
  r.set_delivery_mode(static_cast<v1::DeliveryMode>(7));
  r.set_urgency(static_cast<v1::Urgency>(9));
  r.set_age_band(static_cast<v1::AgeBand>(-2));
  r.set_note("line one\nline two");
  r.mutable_start_date()->set_year(2027);
  r.mutable_start_date()->set_month(2);
  r.mutable_start_date()->set_day(30);
  r.mutable_match_deadline()->set_seconds(absl::ToUnixSeconds(kNow) - 1);
  // setting is missing.
  const absl::Status status = Validate(r);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAreArray({
                  "support_request.requesting_authority", "support_request.role", "support_request.specialisms[1]",
                  "support_request.specialisms[2]", "support_request.setting", "support_request.hours_per_week",
                  "support_request.weeks", "support_request.location_authority", "support_request.delivery_mode",
                  "support_request.urgency", "support_request.age_band", "support_request.note",
                  "support_request.start_date", "support_request.match_deadline"}));
  EXPECT_THAT(status.message(), HasSubstr("support_request.requesting_authority: City of London is not in North East"));
}

struct BadCase {
  const char* name;
  std::function<void(v1::SupportRequest*)> mutate;
  const char* field;  // nullptr: the mutation is fine
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ValidateFieldTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ValidateFieldTest, NamesOnlyTheBadField) {
  v1::SupportRequest r = ValidRequest();
  GetParam().mutate(&r);
  const absl::Status status = Validate(r);
  if (GetParam().field == nullptr) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(ViolatedFields(status), ElementsAre(GetParam().field)) << status;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateFieldTest,
    ::testing::Values(
        BadCase{"MissingRequester", [](auto* r) { r->clear_requesting_authority(); },
                "support_request.requesting_authority"},
        BadCase{"UnknownRequester", [](auto* r) { r->set_requesting_authority("E99999999"); },
                "support_request.requesting_authority"},
        BadCase{"RequesterInOtherRegion", [](auto* r) { r->set_requesting_authority("E08000038"); },
                "support_request.requesting_authority"},
        BadCase{"RequesterByFormerCode",
                [](auto* r) { r->set_requesting_authority("E08000016"); },  // Barnsley's old code
                "support_request.requesting_authority"},
        BadCase{"MissingRole", [](auto* r) { r->clear_role(); }, "support_request.role"},
        BadCase{"SpecialismAsRole", [](auto* r) { r->set_role("autism"); }, "support_request.role"},
        BadCase{"RoleAsSpecialism", [](auto* r) { r->add_specialisms("physiotherapist"); },
                "support_request.specialisms[2]"},
        BadCase{"DuplicateSpecialism", [](auto* r) { r->add_specialisms("sensory-processing"); },
                "support_request.specialisms[2]"},
        BadCase{"TenSpecialisms",
                [](auto* r) {
                  for (const char* s : {"autism", "adhd", "semh", "aac", "stammering", "down-syndrome",
                                        "learning-disability", "rare-conditions"}) {
                    r->add_specialisms(s);
                  }
                },
                nullptr},
        BadCase{"ElevenSpecialisms",
                [](auto* r) {
                  for (const char* s : {"autism", "adhd", "semh", "aac", "stammering", "down-syndrome",
                                        "learning-disability", "rare-conditions", "selective-mutism"}) {
                    r->add_specialisms(s);
                  }
                },
                "support_request.specialisms"},
        BadCase{"MissingSetting", [](auto* r) { r->clear_setting(); }, "support_request.setting"},
        BadCase{"UnknownSetting", [](auto* r) { r->set_setting("prison"); }, "support_request.setting"},
        BadCase{"ZeroHours", [](auto* r) { r->set_hours_per_week(0); }, "support_request.hours_per_week"},
        BadCase{"TooManyHours", [](auto* r) { r->set_hours_per_week(168.5); }, "support_request.hours_per_week"},
        BadCase{"NanHours", [](auto* r) { r->set_hours_per_week(std::nan("")); }, "support_request.hours_per_week"},
        BadCase{"InfiniteHours", [](auto* r) { r->set_hours_per_week(INFINITY); },
                "support_request.hours_per_week"},
        BadCase{"ZeroWeeks", [](auto* r) { r->set_weeks(0); }, "support_request.weeks"},
        BadCase{"TooManyWeeks", [](auto* r) { r->set_weeks(105); }, "support_request.weeks"},
        BadCase{"NoLocation", [](auto* r) { r->clear_location_authority(); }, nullptr},
        BadCase{"UnknownLocation", [](auto* r) { r->set_location_authority("S12000033"); },
                "support_request.location_authority"},
        BadCase{"AnyDeliveryMode", [](auto* r) { r->set_delivery_mode(v1::DELIVERY_MODE_UNSPECIFIED); }, nullptr},
        BadCase{"UndefinedDeliveryMode", [](auto* r) { r->set_delivery_mode(static_cast<v1::DeliveryMode>(3)); },
                "support_request.delivery_mode"},
        BadCase{"UndefinedUrgency", [](auto* r) { r->set_urgency(static_cast<v1::Urgency>(4)); },
                "support_request.urgency"},
        BadCase{"UndefinedAgeBand", [](auto* r) { r->set_age_band(static_cast<v1::AgeBand>(5)); },
                "support_request.age_band"},
        BadCase{"TabInNote", [](auto* r) { r->set_note("a\tb"); }, "support_request.note"},
        BadCase{"LongNote", [](auto* r) { r->set_note(std::string(501, 'x')); }, "support_request.note"},
        BadCase{"NoStartDate", [](auto* r) { r->clear_start_date(); }, nullptr},
        BadCase{"FebruaryThe29thOfCommonYear",
                [](auto* r) {
                  r->mutable_start_date()->set_year(2027);
                  r->mutable_start_date()->set_month(2);
                  r->mutable_start_date()->set_day(29);
                },
                "support_request.start_date"},
        BadCase{"FebruaryThe29thOfLeapYear",
                [](auto* r) {
                  r->mutable_start_date()->set_year(2028);
                  r->mutable_start_date()->set_month(2);
                  r->mutable_start_date()->set_day(29);
                },
                nullptr},
        BadCase{"YearOnlyDate",
                [](auto* r) {
                  r->mutable_start_date()->set_month(0);
                  r->mutable_start_date()->set_day(0);
                },
                "support_request.start_date"},
        BadCase{"NoDeadline", [](auto* r) { r->clear_match_deadline(); }, nullptr},
        BadCase{"DeadlineNow", [](auto* r) { r->mutable_match_deadline()->set_seconds(absl::ToUnixSeconds(kNow)); },
                "support_request.match_deadline"},
        BadCase{"DeadlineBadNanos", [](auto* r) { r->mutable_match_deadline()->set_nanos(-1); },
                "support_request.match_deadline"},
        BadCase{"OutputFieldsAreIgnored",
                [](auto* r) {
                  r->set_state(v1::SUPPORT_REQUEST_STATE_COMPLETED);
                  r->set_name("regions/north-east/supportRequests/x");
                },
                nullptr}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(ValidateNewSupportRequestTest, RegionMayBeNamedById) {
  EXPECT_TRUE(ValidateNewSupportRequest(ValidRequest(), ReferenceData::Get(), "north-east", kNow).ok());
  EXPECT_FALSE(ValidateNewSupportRequest(ValidRequest(), ReferenceData::Get(), "E12000007", kNow).ok());
}

// --- Notes -------------------------------------------------------------------

struct NoteCase {
  const char* name;
  std::string note;
  bool ok;
};

void PrintTo(const NoteCase& c, std::ostream* os) { *os << c.name; }

class ValidateNoteTest : public ::testing::TestWithParam<NoteCase> {};

TEST_P(ValidateNoteTest, AcceptsOnlyShortPrintableUtf8) {
  const absl::Status status = ValidateNote(GetParam().note, "offer.note");
  if (GetParam().ok) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(ViolatedFields(status), ElementsAre("offer.note"));
  }
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateNoteTest,
    ::testing::Values(NoteCase{"Empty", "", true}, NoteCase{"Plain", "Needs BSL-fluent support, 2 sessions.", true},
                      NoteCase{"FiveHundredAscii", std::string(500, 'a'), true},
                      NoteCase{"FiveHundredOneAscii", std::string(501, 'a'), false},
                      // 500 two-byte characters are 1000 bytes but 500 characters.
                      NoteCase{"FiveHundredTwoByteChars", Repeat("\xC3\xA9", 500), true},
                      NoteCase{"FiveHundredOneTwoByteChars", Repeat("\xC3\xA9", 501), false},
                      NoteCase{"FiveHundredEmoji", Repeat("\xF0\x9F\x98\x80", 500), true},
                      NoteCase{"Newline", "a\nb", false}, NoteCase{"CarriageReturn", "a\rb", false},
                      NoteCase{"Tab", "a\tb", false}, NoteCase{"Nul", std::string("a\0b", 3), false},
                      NoteCase{"Delete", "a\x7f" "b", false}, NoteCase{"C1Control", "a\xC2\x85" "b", false},
                      NoteCase{"LoneContinuationByte", "a\x80" "b", false},
                      NoteCase{"TruncatedSequence", "caf\xC3", false},
                      NoteCase{"OverlongSlash", "\xC0\xAF", false},
                      NoteCase{"Surrogate", "\xED\xA0\x80", false}),
    [](const auto& p) { return std::string(p.param.name); });

// --- Windows, ages, periods ----------------------------------------------------

TEST(MatchWindowTest, DaysByUrgency) {
  EXPECT_EQ(MatchWindow(v1::URGENCY_UNSPECIFIED), absl::Hours(28 * 24));
  EXPECT_EQ(MatchWindow(v1::URGENCY_ROUTINE), absl::Hours(28 * 24));
  EXPECT_EQ(MatchWindow(v1::URGENCY_SOON), absl::Hours(14 * 24));
  EXPECT_EQ(MatchWindow(v1::URGENCY_URGENT), absl::Hours(5 * 24));
}

TEST(AgeBandYearsTest, InclusiveYears) {
  EXPECT_EQ(AgeBandYears(v1::AGE_BAND_UNSPECIFIED), std::make_pair(0, 25));
  EXPECT_EQ(AgeBandYears(v1::AGE_BAND_EARLY_YEARS), std::make_pair(0, 4));
  EXPECT_EQ(AgeBandYears(v1::AGE_BAND_PRIMARY), std::make_pair(5, 10));
  EXPECT_EQ(AgeBandYears(v1::AGE_BAND_SECONDARY), std::make_pair(11, 15));
  EXPECT_EQ(AgeBandYears(v1::AGE_BAND_POST_16), std::make_pair(16, 25));
}

google::type::Date D(int y, int m, int d) {
  google::type::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

struct PeriodCase {
  const char* name;
  google::type::Date start;
  int weeks;
  google::type::Date end;
};

void PrintTo(const PeriodCase& c, std::ostream* os) { *os << c.name; }

class PeriodEndTest : public ::testing::TestWithParam<PeriodCase> {};

TEST_P(PeriodEndTest, LastDayOfPeriod) {
  const google::type::Date end = PeriodEnd(GetParam().start, GetParam().weeks);
  EXPECT_EQ(std::make_tuple(end.year(), end.month(), end.day()),
            std::make_tuple(GetParam().end.year(), GetParam().end.month(), GetParam().end.day()));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PeriodEndTest,
    ::testing::Values(
        // 1 week from Monday 4 Jan 2027: 4 + 6 = Sunday 10 Jan.
        PeriodCase{"OneWeek", D(2027, 1, 4), 1, D(2027, 1, 10)},
        // 2 weeks from 25 Dec 2026: + 13 days = 7 Jan 2027 (crosses the year).
        PeriodCase{"AcrossNewYear", D(2026, 12, 25), 2, D(2027, 1, 7)},
        // 1 week from 25 Feb 2028 (leap year): 25 + 6 = 31 -> 29 Feb is a day, so 2 Mar.
        PeriodCase{"LeapFebruary", D(2028, 2, 25), 1, D(2028, 3, 2)},
        // Same in a common year: 25 Feb + 6 days = 3 Mar 2027.
        PeriodCase{"CommonFebruary", D(2027, 2, 25), 1, D(2027, 3, 3)},
        // 104 weeks = 728 days from 1 Sep 2026: 1 Sep 2028 is 731 days on (2028 is leap:
        // 365 + 366), so 727 days on is 4 days before it, 28 Aug 2028.
        PeriodCase{"TwoYears", D(2026, 9, 1), 104, D(2028, 8, 28)}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace expertise::sharing
