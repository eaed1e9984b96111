#include "services/registry/validation.h"

#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testutil/specialists.h"

namespace expertise::registry {
namespace {

using ::expertise::testing::ValidSpecialist;
using ::testing::Contains;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1795000000);

std::vector<std::string> Violations(const v1::Specialist& s) {
  FieldViolations v;
  ValidateSpecialist(s, *ReferenceData::Get().FindRegion("north-east"), ReferenceData::Get(), kNow,
                     "specialist.", &v);
  std::vector<std::string> fields;
  for (const auto& x : v.violations()) fields.push_back(x.field());
  return fields;
}

TEST(ValidationTest, ValidSpecialistPasses) { EXPECT_THAT(Violations(ValidSpecialist()), IsEmpty()); }

struct BadCase {
  const char* name;
  std::function<void(v1::Specialist*)> mutate;
  const char* field;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ValidationBadFieldTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ValidationBadFieldTest, NamesTheBadField) {
  v1::Specialist s = ValidSpecialist();
  GetParam().mutate(&s);
  EXPECT_THAT(Violations(s), Contains(GetParam().field));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidationBadFieldTest,
    ::testing::Values(
        BadCase{"MissingAuthority", [](auto* s) { s->clear_owning_authority(); }, "specialist.owning_authority"},
        BadCase{"UnknownAuthority", [](auto* s) { s->set_owning_authority("E99999999"); }, "specialist.owning_authority"},
        BadCase{"AuthorityInOtherRegion", [](auto* s) { s->set_owning_authority("E09000001"); }, "specialist.owning_authority"},
        BadCase{"BadSource", [](auto* s) { s->set_source("HR Export"); }, "specialist.source"},
        BadCase{"MissingExternalId", [](auto* s) { s->clear_external_id(); }, "specialist.external_id"},
        BadCase{"LongExternalId", [](auto* s) { s->set_external_id(std::string(129, 'x')); }, "specialist.external_id"},
        BadCase{"MissingName", [](auto* s) { s->clear_display_name(); }, "specialist.display_name"},
        BadCase{"BlankName", [](auto* s) { s->set_display_name("   "); }, "specialist.display_name"},
        BadCase{"BlankExternalId", [](auto* s) { s->set_external_id(" "); }, "specialist.external_id"},
        BadCase{"ControlCharInName", [](auto* s) { s->set_display_name("a\nb"); }, "specialist.display_name"},
        BadCase{"MissingRole", [](auto* s) { s->clear_role(); }, "specialist.role"},
        BadCase{"UnknownRole", [](auto* s) { s->set_role("wizard"); }, "specialist.role"},
        BadCase{"UnknownSpecialism", [](auto* s) { s->add_specialisms("x"); }, "specialist.specialisms[2]"},
        BadCase{"RepeatedSpecialism", [](auto* s) { s->add_specialisms("hearing-impairment"); }, "specialist.specialisms[2]"},
        BadCase{"UnknownSetting", [](auto* s) { s->set_settings(0, "school"); }, "specialist.settings[0]"},
        BadCase{"MissingAges", [](auto* s) { s->clear_age_range(); }, "specialist.age_range"},
        BadCase{"AgeAbove25", [](auto* s) { s->mutable_age_range()->set_max_age(26); }, "specialist.age_range.max_age"},
        BadCase{"NegativeAge", [](auto* s) { s->mutable_age_range()->set_min_age(-1); }, "specialist.age_range.min_age"},
        BadCase{"AgesReversed", [](auto* s) { s->mutable_age_range()->set_min_age(12); s->mutable_age_range()->set_max_age(5); }, "specialist.age_range.max_age"},
        BadCase{"BadLanguage", [](auto* s) { s->add_languages("British Sign Language"); }, "specialist.languages[2]"},
        BadCase{"NoDeliveryMode", [](auto* s) { s->clear_delivery_modes(); }, "specialist.delivery_modes"},
        BadCase{"UnspecifiedDeliveryMode", [](auto* s) { s->add_delivery_modes(v1::DELIVERY_MODE_UNSPECIFIED); }, "specialist.delivery_modes[1]"},
        BadCase{"LatitudeOutsideUk", [](auto* s) { s->mutable_base_location()->set_latitude(40); }, "specialist.base_location.latitude"},
        BadCase{"LongitudeNaN", [](auto* s) { s->mutable_base_location()->set_longitude(std::nan("")); }, "specialist.base_location.longitude"},
        BadCase{"NegativeRadius", [](auto* s) { s->set_travel_radius_km(-1); }, "specialist.travel_radius_km"},
        BadCase{"UnknownCoveredAuthority", [](auto* s) { s->add_covered_authorities("X"); }, "specialist.covered_authorities[1]"},
        BadCase{"RegistrationNumberWithoutBody", [](auto* s) { s->mutable_registration()->clear_body(); }, "specialist.registration.body"},
        BadCase{"MissingEmployer", [](auto* s) { s->clear_employer_type(); }, "specialist.employer_type"},
        BadCase{"MissingVisibility", [](auto* s) { s->clear_visibility(); }, "specialist.visibility"},
        BadCase{"BadEmail", [](auto* s) { s->mutable_work_contact()->set_email("not-an-email"); }, "specialist.work_contact.email"},
        BadCase{"BadPhone", [](auto* s) { s->mutable_work_contact()->set_phone("call me"); }, "specialist.work_contact.phone"},
        BadCase{"VerifiedInFuture", [](auto* s) { s->mutable_last_verify_time()->set_seconds(1795000000 + 86400 * 3); }, "specialist.last_verify_time"},
        BadCase{"HoursAboveWeek", [](auto* s) { s->mutable_capacity()->set_contracted_hours_per_week(169); }, "specialist.capacity.contracted_hours_per_week"},
        BadCase{"NegativeCommitted", [](auto* s) { s->mutable_capacity()->set_committed_hours_per_week(-1); }, "specialist.capacity.committed_hours_per_week"},
        BadCase{"NegativeCaseload", [](auto* s) { s->mutable_capacity()->set_current_caseload(-1); }, "specialist.capacity.current_caseload"},
        BadCase{"BadDate", [](auto* s) { auto* d = s->mutable_capacity()->mutable_valid_from(); d->set_year(2026); d->set_month(2); d->set_day(30); }, "specialist.capacity.valid_from"},
        BadCase{"WindowReversed", [](auto* s) {
          auto* c = s->mutable_capacity();
          c->mutable_valid_from()->set_year(2027); c->mutable_valid_from()->set_month(1); c->mutable_valid_from()->set_day(1);
          c->mutable_valid_to()->set_year(2026); c->mutable_valid_to()->set_month(1); c->mutable_valid_to()->set_day(1);
        }, "specialist.capacity.valid_to"}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(ValidationTest, ReportsEveryBadFieldAtOnce) {
  v1::Specialist s;
  const auto fields = Violations(s);
  for (const char* f : {"specialist.owning_authority", "specialist.source", "specialist.external_id",
                        "specialist.display_name", "specialist.role", "specialist.age_range",
                        "specialist.delivery_modes", "specialist.employer_type",
                        "specialist.visibility"}) {
    EXPECT_THAT(fields, Contains(f));
  }
}

TEST(ValidationTest, OverCommittedCapacityIsAllowed) {
  v1::Specialist s = ValidSpecialist();
  s.mutable_capacity()->set_committed_hours_per_week(40);
  EXPECT_THAT(Violations(s), IsEmpty());
}

TEST(ValidationTest, ResourceIdsAndLanguageTags) {
  EXPECT_TRUE(IsValidResourceId("s-0123"));
  EXPECT_FALSE(IsValidResourceId("abc"));
  EXPECT_FALSE(IsValidResourceId("1abc"));
  EXPECT_FALSE(IsValidResourceId("abc-"));
  EXPECT_FALSE(IsValidResourceId("Abcd"));
  EXPECT_TRUE(IsValidLanguageTag("bfi"));
  EXPECT_TRUE(IsValidLanguageTag("pt-BR"));
  EXPECT_FALSE(IsValidLanguageTag("e"));
  EXPECT_FALSE(IsValidLanguageTag("en-"));
  EXPECT_FALSE(IsValidLanguageTag("EN"));
}

}  // namespace
}  // namespace expertise::registry
