#ifndef EXPERTISE_TESTS_TESTUTIL_SPECIALISTS_H_
#define EXPERTISE_TESTS_TESTUTIL_SPECIALISTS_H_

#include <string>

#include "expertise/registry/v1/specialist.pb.h"

namespace expertise::testing {

// Returns a valid North East specialist (Hartlepool) with every field set.
inline registry::v1::Specialist ValidSpecialist(const std::string& external_id = "ext-1",
                                                const std::string& authority = "E06000001") {
  registry::v1::Specialist s;
  s.set_owning_authority(authority);
  s.set_source("hr-export");
  s.set_external_id(external_id);
  s.set_display_name("Test Person " + external_id);
  s.set_role("qualified-teacher-deaf");
  s.add_specialisms("hearing-impairment");
  s.add_specialisms("early-communication");
  s.add_settings("early-years-pvi");
  s.add_settings("primary");
  s.mutable_age_range()->set_min_age(0);
  s.mutable_age_range()->set_max_age(19);
  s.add_languages("en");
  s.add_languages("bfi");
  s.add_delivery_modes(registry::v1::DELIVERY_MODE_IN_PERSON);
  s.mutable_base_location()->set_latitude(54.68);
  s.mutable_base_location()->set_longitude(-1.23);
  s.set_travel_radius_km(40);
  s.add_covered_authorities("E06000002");
  s.mutable_registration()->set_body("TRA");
  s.mutable_registration()->set_number("1234567");
  s.set_employer_type(registry::v1::EMPLOYER_TYPE_LOCAL_AUTHORITY);
  s.mutable_work_contact()->set_email("test.person@hartlepool.example.org");
  s.mutable_work_contact()->set_phone("01632 960001");
  s.mutable_work_contact()->set_team("Sensory Support");
  s.set_visibility(registry::v1::VISIBILITY_REGION);
  s.mutable_last_verify_time()->set_seconds(1790000000);
  auto* c = s.mutable_capacity();
  c->set_contracted_hours_per_week(30);
  c->set_committed_hours_per_week(22.5);
  c->set_current_caseload(20);
  c->set_max_caseload(30);
  c->set_waiting_time_weeks(3);
  c->set_accepting_external_requests(true);
  return s;
}

}  // namespace expertise::testing

#endif  // EXPERTISE_TESTS_TESTUTIL_SPECIALISTS_H_
