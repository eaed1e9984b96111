// Copyright expertise-directory authors.
//
// The `fhir` importer's mapper: one PractitionerRole and its Practitioner
// to the fields of a SpecialistRecord.
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir_internal.h"

namespace expertise::plugins::fhir_internal {
namespace {

using importer::support::AppendUnique;
using importer::support::AsciiLower;
using importer::support::Trim;
namespace support = importer::support;

// Parses a FHIR time, hh:mm:ss[.fraction] (hh:mm is accepted too, as some
// exporters write it), into seconds after midnight.
std::optional<double> ParseTimeOfDay(std::string_view s) {
  support::Scanner in(s);
  int hour = 0, minute = 0, second = 0;
  if (!in.Digits(2, hour) || !in.Take(':') || !in.Digits(2, minute) || hour > 23 || minute > 59) {
    return std::nullopt;
  }
  double fraction = 0;
  if (!in.AtEnd()) {
    if (!in.Take(':') || !in.Digits(2, second) || second > 59) return std::nullopt;
    if (!in.AtEnd()) {
      // At most nine fraction digits, and at least one.
      if (!in.Take('.') || s.size() == 9 || s.size() > 18) return std::nullopt;
      double scale = 0.1;
      int digit = 0;
      while (in.TakeDigit(digit)) {
        fraction += digit * scale;
        scale /= 10;
      }
      if (!in.AtEnd()) return std::nullopt;
    }
  }
  return hour * 3600.0 + minute * 60.0 + second + fraction;
}

// Returns the target of the first mapping matching (system, code): an entry
// naming the system wins over one for any system.
const std::string* FindMapping(const std::vector<CodeMapping>& mappings, const std::string& system,
                               const std::string& code) {
  const std::string* any_system = nullptr;
  for (const CodeMapping& mapping : mappings) {
    if (mapping.code != code) continue;
    if (mapping.system == system && !system.empty()) return &mapping.target;
    if (mapping.system.empty() && any_system == nullptr) any_system = &mapping.target;
  }
  return any_system;
}

// The mapping of one record; holds nothing but the options.
class RoleMapper {
 public:
  RoleMapper(const Options& options, const ResolveReference& resolve)
      : options_(options), resolve_(resolve) {}

  // Fills every record field but the external id and last verify time.
  std::optional<RoleError> Fill(const json& role, const json& practitioner,
                                SpecialistRecord& record) const {
    record.display_name = DisplayName(practitioner);
    if (record.display_name.empty()) {
      return RoleError{EXPERTISE_REJECT_REQUIRED, "Practitioner has no name"};
    }
    if (auto error = MapRole(role, record.role)) return error;
    if (auto error = MapSpecialisms(role, record.specialisms)) return error;
    if (auto error = ReadSettings(role, record.settings)) return error;
    if (auto error = ReadAgeRange(role, record)) return error;
    if (auto error = ReadAvailableTime(role, record.contracted_hours_per_week)) return error;
    if (auto error = ReadCommittedHours(role, record.committed_hours_per_week)) return error;
    if (auto error = ReadOrganization(role, record.team)) return error;
    if (auto error = ReadLocation(role, record)) return error;
    ReadTelecom(role, record);
    ReadRegistration(practitioner, record);
    ReadLanguages(practitioner, record.languages);
    record.employer_type = options_.employer_type;
    record.visibility = options_.visibility;
    record.delivery_modes = options_.delivery_modes;
    return std::nullopt;
  }

  // name[0].text, else name[0].given joined and name[0].family.
  static std::string DisplayName(const json& practitioner) {
    const json& names = ArrayMember(practitioner, "name");
    if (names.empty()) return "";
    const json& name = names[0];
    std::string text(Trim(StringMember(name, "text")));
    if (!text.empty()) return text;
    std::string joined;
    for (const json& given : ArrayMember(name, "given")) {
      if (!given.is_string()) continue;
      const std::string_view part = Trim(given.get_ref<const std::string&>());
      if (part.empty()) continue;
      if (!joined.empty()) joined += ' ';
      joined += part;
    }
    const std::string family(Trim(StringMember(name, "family")));
    if (!family.empty()) {
      if (!joined.empty()) joined += ' ';
      joined += family;
    }
    return joined;
  }

  // Collects (system, code) of every coding in a list of CodeableConcepts.
  static std::vector<std::pair<std::string, std::string>> Codings(const json& concepts) {
    std::vector<std::pair<std::string, std::string>> codings;
    for (const json& concept_value : concepts) {
      for (const json& coding : ArrayMember(concept_value, "coding")) {
        std::string code = StringMember(coding, "code");
        if (!code.empty()) codings.emplace_back(StringMember(coding, "system"), std::move(code));
      }
    }
    return codings;
  }

  // The first coding found, in order of precedence: role_map, the local role
  // system (exact codes), then the built-in SNOMED CT table.
  std::optional<RoleError> MapRole(const json& role, std::string& out) const {
    const auto codings = Codings(ArrayMember(role, "code"));
    for (const auto& [system, code] : codings) {
      if (const std::string* target = FindMapping(options_.role_map, system, code)) {
        out = *target;
        return std::nullopt;
      }
    }
    if (!options_.local_role_system.empty()) {
      for (const auto& [system, code] : codings) {
        if (system == options_.local_role_system && Contains(kRoleCodes, code)) {
          out = code;
          return std::nullopt;
        }
      }
    }
    for (const auto& [system, code] : codings) {
      if (system != kSnomedSystem) continue;
      for (const SnomedRole& entry : kSnomedRoles) {
        if (entry.snomed_code == code) {
          out = std::string(entry.role);
          return std::nullopt;
        }
      }
    }
    std::string seen;
    for (const auto& [system, code] : codings) {
      if (seen.size() > 200) break;
      seen += seen.empty() ? " (codes: " : ", ";
      seen += (system.empty() ? "" : system + "|") + code;
    }
    if (!seen.empty()) seen += ")";
    return RoleError{EXPERTISE_REJECT_REFERENCE,
                     "PractitionerRole.code has no coding that maps "
                     "to a role" +
                         seen};
  }

  std::optional<RoleError> MapSpecialisms(const json& role, std::vector<std::string>& out) const {
    for (const auto& [system, code] : Codings(ArrayMember(role, "specialty"))) {
      if (const std::string* target = FindMapping(options_.specialism_map, system, code)) {
        AppendUnique(out, *target);
      } else if (!options_.local_specialism_system.empty() &&
                 system == options_.local_specialism_system) {
        if (!Contains(kSpecialismCodes, code)) {
          return RoleError{EXPERTISE_REJECT_REFERENCE,
                           "PractitionerRole.specialty \"" + code + "\" is not a specialism code"};
        }
        AppendUnique(out, code);
      }
      // Codings of other systems (e.g. UK Core practice settings) have no
      // counterpart unless specialism_map names them.
    }
    return std::nullopt;
  }

  // The extensions of `resource` with `url`.
  static std::vector<const json*> Extensions(const json& resource, std::string_view url) {
    std::vector<const json*> found;
    for (const json& extension : ArrayMember(resource, "extension")) {
      if (StringMember(extension, "url") == url) found.push_back(&extension);
    }
    return found;
  }

  std::optional<RoleError> ReadSettings(const json& role, std::vector<std::string>& out) const {
    const auto extensions = Extensions(role, kSettingExtension);
    if (extensions.empty()) {
      out = options_.default_settings;
      return std::nullopt;
    }
    for (const json* extension : extensions) {
      std::string code = StringMember(*extension, "valueCode");
      if (code.empty()) {
        if (const json* coding = Member(*extension, "valueCoding"))
          code = StringMember(*coding, "code");
      }
      if (code.empty()) {
        return RoleError{EXPERTISE_REJECT_SCHEMA, "setting extension has no valueCode"};
      }
      if (!Contains(kSettingCodes, code)) {
        return RoleError{EXPERTISE_REJECT_REFERENCE,
                         "setting \"" + code + "\" is not a setting code"};
      }
      AppendUnique(out, code);
    }
    return std::nullopt;
  }

  // Reads one end of the age-range extension's valueRange: a Quantity in
  // whole years (UCUM "a"), 0 to 25.
  static std::optional<RoleError> ReadAge(const json& range, const char* end,
                                          std::optional<int>& age) {
    const json* quantity = Member(range, end);
    if (quantity == nullptr) return std::nullopt;
    const json* value = Member(*quantity, "value");
    if (value == nullptr || !value->is_number()) {
      return RoleError{EXPERTISE_REJECT_SCHEMA,
                       std::string("age-range valueRange.") + end + " has no numeric value"};
    }
    const std::string unit = StringMember(*quantity, "code");
    if (!unit.empty() && unit != "a") {
      return RoleError{EXPERTISE_REJECT_VALUE, std::string("age-range valueRange.") + end +
                                                   " is not in years (code \"a\")"};
    }
    const double years = value->get<double>();
    if (years != std::floor(years) || years < 0 || years > kMaxAge) {
      return RoleError{EXPERTISE_REJECT_VALUE, std::string("age-range valueRange.") + end +
                                                   " is not a whole number of years from 0 to 25"};
    }
    age = static_cast<int>(years);
    return std::nullopt;
  }

  std::optional<RoleError> ReadAgeRange(const json& role, SpecialistRecord& record) const {
    record.min_age = options_.default_min_age;
    record.max_age = options_.default_max_age;
    const auto extensions = Extensions(role, kAgeRangeExtension);
    if (extensions.empty()) return std::nullopt;
    const json* range = Member(*extensions.front(), "valueRange");
    if (range == nullptr || !range->is_object()) {
      return RoleError{EXPERTISE_REJECT_SCHEMA, "age-range extension has no valueRange"};
    }
    if (auto error = ReadAge(*range, "low", record.min_age)) return error;
    if (auto error = ReadAge(*range, "high", record.max_age)) return error;
    if (*record.min_age > *record.max_age) {
      return RoleError{EXPERTISE_REJECT_VALUE, "age-range low is above high"};
    }
    return std::nullopt;
  }

  // Sums availableTime into contracted hours per week: per entry, distinct
  // days x (end - start), or 7.5 h per day when allDay; capped at 168.
  static std::optional<RoleError> ReadAvailableTime(const json& role,
                                                    std::optional<double>& hours_per_week) {
    const json* available = Member(role, "availableTime");
    if (available == nullptr) return std::nullopt;
    if (!available->is_array()) {
      return RoleError{EXPERTISE_REJECT_SCHEMA, "availableTime is not an array"};
    }
    if (available->empty()) return std::nullopt;
    double total = 0;
    bool hours_known = false;  // false while entries give days but no times
    for (size_t i = 0; i < available->size(); ++i) {
      const json& entry = (*available)[i];
      const std::string name = "availableTime[" + std::to_string(i) + "]";
      std::set<std::string> days;
      for (const json& day : ArrayMember(entry, "daysOfWeek")) {
        if (!day.is_string() || !Contains(kDaysOfWeek, day.get_ref<const std::string&>())) {
          return RoleError{EXPERTISE_REJECT_SCHEMA, name +
                                                        ".daysOfWeek holds a value that is not "
                                                        "mon..sun"};
        }
        days.insert(day.get<std::string>());
      }
      const json* all_day = Member(entry, "allDay");
      if (all_day != nullptr && all_day->is_boolean() && all_day->get<bool>()) {
        total += static_cast<double>(days.size()) * kAllDayHours;
        hours_known = true;
        continue;
      }
      const json* start_value = Member(entry, "availableStartTime");
      const json* end_value = Member(entry, "availableEndTime");
      if (start_value == nullptr && end_value == nullptr) continue;  // days only: no hours known
      std::optional<double> start, end;
      if (start_value != nullptr && start_value->is_string()) {
        start = ParseTimeOfDay(start_value->get_ref<const std::string&>());
      }
      if (end_value != nullptr && end_value->is_string()) {
        end = ParseTimeOfDay(end_value->get_ref<const std::string&>());
      }
      if (!start) {
        return RoleError{EXPERTISE_REJECT_SCHEMA,
                         name + ".availableStartTime is missing or not a FHIR time (hh:mm:ss)"};
      }
      if (!end) {
        return RoleError{EXPERTISE_REJECT_SCHEMA,
                         name + ".availableEndTime is missing or not a FHIR time (hh:mm:ss)"};
      }
      if (*end <= *start) {
        return RoleError{EXPERTISE_REJECT_VALUE, name +
                                                     ".availableEndTime is not after "
                                                     "availableStartTime"};
      }
      total += static_cast<double>(days.size()) * (*end - *start) / 3600.0;
      hours_known = true;
    }
    if (!hours_known) return std::nullopt;
    // Two decimals: enough for minutes, and no 7.4999999 in the record.
    hours_per_week = std::round(std::min(total, kMaxHoursPerWeek) * 100) / 100;
    return std::nullopt;
  }

  static std::optional<RoleError> ReadCommittedHours(const json& role,
                                                     std::optional<double>& hours_per_week) {
    const auto extensions = Extensions(role, kCommittedHoursExtension);
    if (extensions.empty()) return std::nullopt;
    const json* value = Member(*extensions.front(), "valueDecimal");
    if (value == nullptr || !value->is_number()) {
      return RoleError{EXPERTISE_REJECT_SCHEMA, "committed-hours extension has no valueDecimal"};
    }
    const double hours = value->get<double>();
    if (hours < 0 || hours > kMaxHoursPerWeek) {
      return RoleError{EXPERTISE_REJECT_VALUE, "committed-hours is outside 0 to 168"};
    }
    hours_per_week = hours;
    return std::nullopt;
  }

  // Organization.name (or the reference's display) -> work_contact.team.
  std::optional<RoleError> ReadOrganization(const json& role, std::string& team) const {
    const json* reference = Member(role, "organization");
    if (reference == nullptr) return std::nullopt;
    const std::string display = StringMember(*reference, "display");
    if (StringMember(*reference, "reference").empty()) {
      team = display;  // a display-only reference still names the team
      return std::nullopt;
    }
    std::string error;
    const json* organization = resolve_(*reference, "Organization", role, error);
    if (organization == nullptr) {
      return RoleError{EXPERTISE_REJECT_REFERENCE, "PractitionerRole.organization " + error};
    }
    team = StringMember(*organization, "name");
    if (team.empty()) team = display;
    return std::nullopt;
  }

  // location[0] -> Location.position -> base location.
  std::optional<RoleError> ReadLocation(const json& role, SpecialistRecord& record) const {
    const json& locations = ArrayMember(role, "location");
    if (locations.empty()) return std::nullopt;
    std::string error;
    const json* location = resolve_(locations[0], "Location", role, error);
    if (location == nullptr) {
      return RoleError{EXPERTISE_REJECT_REFERENCE, "PractitionerRole.location[0] " + error};
    }
    const json* position = Member(*location, "position");
    if (position == nullptr) return std::nullopt;  // the host uses the authority's centre
    const json* latitude = Member(*position, "latitude");
    const json* longitude = Member(*position, "longitude");
    if (latitude == nullptr || longitude == nullptr || !latitude->is_number() ||
        !longitude->is_number()) {
      return RoleError{EXPERTISE_REJECT_SCHEMA,
                       "Location.position lacks a numeric latitude or longitude"};
    }
    const double lat = latitude->get<double>();
    const double lng = longitude->get<double>();
    if (lat < -90 || lat > 90 || lng < -180 || lng > 180) {
      return RoleError{EXPERTISE_REJECT_VALUE, "Location.position is not a WGS84 coordinate"};
    }
    record.latitude = lat;
    record.longitude = lng;
    return std::nullopt;
  }

  // PractitionerRole.telecom with use "work" (or no use) -> work contact.
  // Home, mobile, temp and old numbers are never read: they may be personal.
  static void ReadTelecom(const json& role, SpecialistRecord& record) {
    for (const json& contact : ArrayMember(role, "telecom")) {
      const std::string use = StringMember(contact, "use");
      if (!use.empty() && use != "work") continue;
      const std::string system = StringMember(contact, "system");
      std::string value(Trim(StringMember(contact, "value")));
      if (system == "email" && record.work_email.empty()) {
        if (AsciiLower(value.substr(0, 7)) == "mailto:") value.erase(0, 7);
        record.work_email = value;
      } else if (system == "phone" && record.work_phone.empty()) {
        if (AsciiLower(value.substr(0, 4)) == "tel:") value.erase(0, 4);
        record.work_phone = value;
      }
    }
  }

  // The first qualification identifier whose system mentions HCPC.
  static void ReadRegistration(const json& practitioner, SpecialistRecord& record) {
    for (const json& qualification : ArrayMember(practitioner, "qualification")) {
      for (const json& identifier : ArrayMember(qualification, "identifier")) {
        const std::string number = StringMember(identifier, "value");
        if (!number.empty() &&
            AsciiLower(StringMember(identifier, "system")).find("hcpc") != std::string::npos) {
          record.registration_body = "HCPC";
          record.registration_number = number;
          return;
        }
      }
    }
  }

  // Practitioner.communication codings in BCP 47 -> languages.
  static void ReadLanguages(const json& practitioner, std::vector<std::string>& languages) {
    for (const auto& [system, code] : Codings(ArrayMember(practitioner, "communication"))) {
      if (system == kBcp47System) AppendUnique(languages, code);
    }
  }

 private:
  const Options& options_;
  const ResolveReference& resolve_;
};

}  // namespace

std::optional<RoleError> FillRecord(const Options& options, const ResolveReference& resolve,
                                    const json& role, const json& practitioner,
                                    SpecialistRecord& record) {
  return RoleMapper(options, resolve).Fill(role, practitioner, record);
}

}  // namespace expertise::plugins::fhir_internal
