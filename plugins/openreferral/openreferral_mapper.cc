// Copyright expertise-directory authors.
//
// The `openreferral` importer's mapper: one HSDS service (and its contacts)
// to SpecialistRecords, rejecting what cannot be mapped.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plugins/openreferral/openreferral_run.h"

namespace expertise::plugins::openreferral_internal {

namespace support = ::expertise::importer::support;
using support::FormatTimestamp;

Run::Flow Run::MapService(const json& service, const Location& where, const std::string& id,
                          const std::string& name, const std::optional<Instant>& modified,
                          SpecialistRecord& record, bool* ok) {
  // Taxonomy terms: HSDS 3.0 attaches them through attributes; some feeds
  // (and older HSDS) list them in taxonomy_terms.
  std::vector<Term> terms;
  auto add_term = [&](const json* t, std::string pointer) {
    if (t == nullptr || !t->is_object()) return;
    Term term{ScalarText(Member(*t, "code")).value_or(""),
              ScalarText(Member(*t, "name")).value_or(""), std::move(pointer)};
    if (!term.code.empty() || !term.name.empty()) terms.push_back(std::move(term));
  };
  if (const json* attributes = Member(service, "attributes");
      attributes && attributes->is_array()) {
    for (size_t k = 0; k < attributes->size(); ++k) {
      add_term(Member((*attributes)[k], "taxonomy_term"), At(where, "attributes", k).json_pointer);
    }
  }
  if (const json* list = Member(service, "taxonomy_terms"); list && list->is_array()) {
    for (size_t k = 0; k < list->size(); ++k) {
      add_term(&(*list)[k], At(where, "taxonomy_terms", k).json_pointer);
    }
  }
  std::vector<const Term*> without_role;
  for (const Term& term : terms) {
    if (const std::string* role = LookUp(options_.role_map, term)) {
      if (record.role.empty()) {
        record.role = *role;
      } else if (record.role != *role) {
        // One role per record: the first mapped term wins.
        Debug("service maps to more than one role; keeping " + record.role, where, id);
      }
    } else {
      without_role.push_back(&term);
    }
    if (const std::string* code = LookUp(options_.specialism_map, term)) {
      support::AppendUnique(record.specialisms, *code);
    }
    if (const std::string* code = LookUp(options_.setting_map, term)) {
      support::AppendUnique(record.settings, *code);
    }
  }
  if (record.role.empty()) record.role = options_.default_role;
  if (record.role.empty()) {
    *ok = false;
    if (terms.empty()) {
      return Reject(where, EXPERTISE_REJECT_REFERENCE, id,
                    "service has no taxonomy terms to map to a role; set default_role");
    }
    std::string listed;
    for (size_t k = 0; k < without_role.size() && k < kMaxListedTerms; ++k) {
      listed += (k == 0 ? "" : ", ") + without_role[k]->Describe();
    }
    if (without_role.size() > kMaxListedTerms) {
      listed += " and " + std::to_string(without_role.size() - kMaxListedTerms) + " more";
    }
    // Points at the first term, where an operator starts looking.
    Location at = where;
    at.json_pointer = terms.front().pointer;
    return Reject(at, EXPERTISE_REJECT_REFERENCE, id,
                  "no taxonomy term maps to a role (unmapped: " + listed +
                      "); add one to role_map or set default_role");
  }

  if (Flow f = MapAges(service, where, id, record, ok); !*ok || f != Flow::kContinue) return f;
  if (Flow f = MapLocation(service, where, id, record, ok); !*ok || f != Flow::kContinue) return f;

  // last_verify_time: when the service was assured, else last modified.
  if (const json* assured = Member(service, "assured_date")) {
    std::optional<Instant> t;
    if (assured->is_string()) t = ParseTimestamp(assured->get_ref<const std::string&>());
    if (!t) {
      *ok = false;
      return Reject(At(where, "/assured_date"), EXPERTISE_REJECT_SCHEMA, id,
                    "assured_date is not a date (YYYY-MM-DD)", Excerpt(*assured));
    }
    record.last_verify_time = FormatTimestamp(*t);
  } else if (modified) {
    record.last_verify_time = FormatTimestamp(*modified);
  }

  if (Flow f = StringMember(service, "email", where, id, record.work_email, ok);
      !*ok || f != Flow::kContinue) {
    return f;
  }
  if (const json* phones = Member(service, "phones")) {
    const json* number =
        phones->is_array() && !phones->empty() ? Member((*phones)[0], "number") : nullptr;
    if (number && !number->is_string()) {
      *ok = false;
      return Reject(At(where, "/phones/0/number"), EXPERTISE_REJECT_SCHEMA, id,
                    "phone number must be a string", Excerpt(*number));
    }
    if (number) record.work_phone = std::string(Trim(number->get_ref<const std::string&>()));
  }
  // The team is the organisation when the feed embeds it, else the service.
  const std::string organization(
      Trim(ScalarText(Member(Member(service, "organization"), "name")).value_or("")));
  record.team = organization.empty() ? name : organization;

  record.employer_type = options_.employer_type;
  record.visibility = options_.visibility;
  record.delivery_modes = options_.delivery_modes;
  return Flow::kContinue;
}

Run::Flow Run::MapAges(const json& service, const Location& where, const std::string& id,
                       SpecialistRecord& record, bool* ok) {
  struct Age {
    const char* key;
    int fallback;
    std::optional<int>* out;
  };
  for (const Age& age : {Age{"minimum_age", options_.default_min_age, &record.min_age},
                         Age{"maximum_age", options_.default_max_age, &record.max_age}}) {
    const json* v = Member(service, age.key);
    if (v == nullptr) {
      *age.out = age.fallback;
      continue;
    }
    const Location at = At(where, std::string("/") + age.key);
    if (!v->is_number()) {
      *ok = false;
      return Reject(at, EXPERTISE_REJECT_SCHEMA, id, std::string(age.key) + " must be a number",
                    Excerpt(*v));
    }
    const double years = v->get<double>();
    if (years != std::floor(years)) {
      *ok = false;
      return Reject(at, EXPERTISE_REJECT_SCHEMA, id,
                    std::string(age.key) + " must be a whole number of years", Excerpt(*v));
    }
    // Out-of-range ages are refused, not clamped: a service for adults
    // (maximum_age 99) does not belong in a SEND 0-25 registry as 0-25.
    if (years < kMinAge || years > kMaxAge) {
      *ok = false;
      return Reject(at, EXPERTISE_REJECT_VALUE, id,
                    std::string(age.key) + " " + v->dump() + " is outside 0 to 25");
    }
    *age.out = static_cast<int>(years);
  }
  if (*record.min_age > *record.max_age) {
    *ok = false;
    return Reject(At(where, "/minimum_age"), EXPERTISE_REJECT_VALUE, id,
                  "minimum_age " + std::to_string(*record.min_age) + " is above maximum_age " +
                      std::to_string(*record.max_age) +
                      " (a missing age takes default_min_age or default_max_age)");
  }
  return Flow::kContinue;
}

Run::Flow Run::MapLocation(const json& service, const Location& where, const std::string& id,
                           SpecialistRecord& record, bool* ok) {
  const json* links = Member(service, "service_at_locations");
  if (links == nullptr) return Flow::kContinue;
  if (!links->is_array()) {
    *ok = false;
    return Reject(At(where, "/service_at_locations"), EXPERTISE_REJECT_SCHEMA, id,
                  "service_at_locations must be an array", Excerpt(*links));
  }
  // The first location that has coordinates: virtual and postal locations
  // (often listed first) have none.
  for (size_t k = 0; k < links->size(); ++k) {
    const json* location = Member((*links)[k], "location");
    if (location == nullptr) continue;
    const json* lat = Member(*location, "latitude");
    const json* lon = Member(*location, "longitude");
    if (lat == nullptr && lon == nullptr) continue;
    const Location at = At(At(where, "service_at_locations", k), "/location");
    struct Coordinate {
      const char* key;
      const json* value;
      double limit;
      std::optional<double>* out;
    };
    for (const Coordinate& c : {Coordinate{"latitude", lat, 90, &record.latitude},
                                Coordinate{"longitude", lon, 180, &record.longitude}}) {
      const Location cat = At(at, std::string("/") + c.key);
      if (c.value == nullptr) {
        *ok = false;
        return Reject(
            cat, EXPERTISE_REJECT_REQUIRED, id,
            std::string("location has ") +
                (c.value == lat ? "a longitude but no latitude" : "a latitude but no longitude"));
      }
      if (!c.value->is_number()) {
        *ok = false;
        return Reject(cat, EXPERTISE_REJECT_SCHEMA, id, std::string(c.key) + " must be a number",
                      Excerpt(*c.value));
      }
      const double degrees = c.value->get<double>();
      if (!std::isfinite(degrees) || degrees < -c.limit || degrees > c.limit) {
        *ok = false;
        return Reject(cat, EXPERTISE_REJECT_VALUE, id,
                      std::string(c.key) + " " + c.value->dump() + " is outside -" +
                          std::to_string(static_cast<int>(c.limit)) + " to " +
                          std::to_string(static_cast<int>(c.limit)));
      }
      *c.out = degrees;
    }
    break;
  }
  return Flow::kContinue;
}

Run::Flow Run::MapCapacity(const json& service, const Location& where, const std::string& id,
                           SpecialistRecord& record, bool* ok) {
  // 3.1-dev names the array `capacities`; the object is `service_capacity`,
  // which some feeds use as the member name (as an array or one object).
  const char* key = "capacities";
  const json* capacities = Member(service, key);
  if (capacities == nullptr) capacities = Member(service, key = "service_capacity");
  if (capacities == nullptr) return Flow::kContinue;
  const Location list_at = At(where, std::string("/") + key);
  if (!capacities->is_array() && !capacities->is_object()) {
    *ok = false;
    return Reject(list_at, EXPERTISE_REJECT_SCHEMA, id,
                  std::string(key) + " must be an array of capacities", Excerpt(*capacities));
  }
  const size_t count = capacities->is_array() ? capacities->size() : 1;
  for (size_t k = 0; k < count; ++k) {
    const json& entry = capacities->is_array() ? (*capacities)[k] : *capacities;
    const Location at = capacities->is_array() ? At(list_at, "/" + std::to_string(k)) : list_at;
    const json* unit = Member(entry, "unit");
    const std::string unit_name = MapKey(ScalarText(Member(unit, "name")).value_or(""));
    // The tabular form carries the unit as unit_id.
    const std::string unit_id = MapKey(
        ScalarText(Member(unit, "id")).value_or(ScalarText(Member(entry, "unit_id")).value_or("")));
    const bool match = unit_name == "hours" ||
                       (!options_.capacity_unit.empty() &&
                        (unit_name == options_.capacity_unit || unit_id == options_.capacity_unit));
    if (!match) continue;

    std::optional<double> hours[2];
    const char* names[2] = {"available", "maximum"};
    for (int n = 0; n < 2; ++n) {
      const json* v = Member(entry, names[n]);
      if (v == nullptr) continue;
      const Location vat = At(at, std::string("/") + names[n]);
      if (!v->is_number()) {
        *ok = false;
        return Reject(vat, EXPERTISE_REJECT_SCHEMA, id, std::string(names[n]) + " must be a number",
                      Excerpt(*v));
      }
      const double h = v->get<double>();
      if (!std::isfinite(h) || h < 0 || h > kMaxHoursPerWeek) {
        *ok = false;
        return Reject(
            vat, EXPERTISE_REJECT_VALUE, id,
            std::string(names[n]) + " " + v->dump() + " is outside 0 to 168 hours a week");
      }
      hours[n] = h;
    }
    const std::optional<double>& available = hours[0];
    const std::optional<double>& maximum = hours[1];
    if (maximum) {
      record.contracted_hours_per_week = *maximum;
      if (available) record.committed_hours_per_week = std::max(0.0, *maximum - *available);
    } else if (available) {
      // Only what is free is known: read it as the whole contract.
      record.contracted_hours_per_week = *available;
      record.committed_hours_per_week = 0.0;
    }
    break;
  }
  return Flow::kContinue;
}

Run::Flow Run::ReadContacts(const json& service, const Location& where,
                            const std::string& service_id, const SpecialistRecord& base) {
  const json* contacts = Member(service, "contacts");
  if (contacts == nullptr) {
    Debug("service has no contacts", where, service_id);
    return Flow::kContinue;
  }
  if (!contacts->is_array()) {
    return Reject(At(where, "/contacts"), EXPERTISE_REJECT_SCHEMA, service_id,
                  "contacts must be an array", Excerpt(*contacts));
  }
  for (size_t j = 0; j < contacts->size(); ++j) {
    if (importer_.cancelled()) return Flow::kStop;
    const json& contact = (*contacts)[j];
    const Location at = At(where, "contacts", j);
    if (!contact.is_object()) {
      if (Flow f = Reject(at, EXPERTISE_REJECT_SCHEMA, "", "contact is not a JSON object",
                          Excerpt(contact));
          f != Flow::kContinue) {
        return f;
      }
      continue;
    }
    bool ok = true;
    std::string contact_id, name, email;
    if (Flow f = StringMember(contact, "name", at, "", name, &ok); f != Flow::kContinue) return f;
    if (!ok) continue;
    if (name.empty()) {
      // Unnamed contacts (a shared inbox, a phone line) are not people.
      Debug("skipping contact without a name", at, "");
      continue;
    }
    if (Flow f = StringMember(contact, "id", at, "", contact_id, &ok); f != Flow::kContinue)
      return f;
    if (!ok) continue;
    if (contact_id.empty()) {
      if (Flow f = Reject(at, EXPERTISE_REJECT_REQUIRED, "", "contact has no id", Excerpt(contact));
          f != Flow::kContinue) {
        return f;
      }
      continue;
    }
    bool fresh = false;
    if (Flow f = CheckDuplicate(contact_id, at, "contact", &fresh); f != Flow::kContinue) return f;
    if (!fresh) continue;
    if (Flow f = StringMember(contact, "email", at, contact_id, email, &ok); f != Flow::kContinue)
      return f;
    if (!ok) continue;

    SpecialistRecord record = base;
    record.external_id = contact_id;
    record.display_name = name;
    // The contact's own work details when given, else the service's.
    if (!email.empty()) record.work_email = email;
    if (const json* phones = Member(contact, "phones");
        phones && phones->is_array() && !phones->empty()) {
      const json* number = Member((*phones)[0], "number");
      if (number && number->is_string() && !Trim(number->get_ref<const std::string&>()).empty()) {
        record.work_phone = std::string(Trim(number->get_ref<const std::string&>()));
      }
    }
    if (Flow f = Emit(record, at); f != Flow::kContinue) return f;
  }
  return Flow::kContinue;
}

}  // namespace expertise::plugins::openreferral_internal
