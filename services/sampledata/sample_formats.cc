#include "services/sampledata/sample_formats.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/common/csv.h"

namespace expertise::sampledata {
namespace {

using nlohmann::json;
using v1::Specialist;

// ---------------------------------------------------------------- values

// Shortest text that reads back as the same double ("37.5", "30", "53.57541").
std::string Number(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

absl::Time VerifyTime(const Specialist& s) {
  return absl::FromUnixSeconds(s.last_verify_time().seconds()) +
         absl::Nanoseconds(s.last_verify_time().nanos());
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string IsoDate(const google::type::Date& d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

std::string UkDate(const google::type::Date& d) {
  return absl::StrFormat("%02d/%02d/%04d", d.day(), d.month(), d.year());
}

bool HasDate(const google::type::Date& d) { return d.year() != 0; }

// A stable 128-bit hash of `text` (FNV-1a, then a 64-bit finaliser), for ids
// that must be the same on every run and every platform.
std::pair<uint64_t, uint64_t> StableHash(std::string_view text) {
  const auto fnv = [&](uint64_t h) {
    for (unsigned char c : text) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb3fe1a85ec53ull;
    h ^= h >> 33;
    return h;
  };
  return {fnv(0xcbf29ce484222325ull), fnv(0x84222325cbf29ce4ull)};
}

// A UUID derived from `name` (RFC 9562 version 8, "custom"): HSDS ids are
// UUIDs, and these stay the same from run to run.
std::string NameUuid(std::string_view name) {
  auto [hi, lo] = StableHash(name);
  hi = (hi & ~0xF000ull) | 0x8000ull;                      // version 8
  lo = (lo & ~(0xC000ull << 48)) | (0x8000ull << 48);      // variant 10
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF,
                         lo >> 48, lo & 0xFFFFFFFFFFFFull);
}

std::string Label(v1::TaxonomyKind kind, const std::string& code) {
  for (const auto& term : ReferenceData::Get().terms()) {
    if (term.kind() == kind && term.code() == code) return term.label();
  }
  return code;
}

std::string_view EmployerTypeText(v1::EmployerType type) {
  switch (type) {
    case v1::EMPLOYER_TYPE_LOCAL_AUTHORITY: return "local_authority";
    case v1::EMPLOYER_TYPE_NHS: return "nhs";
    case v1::EMPLOYER_TYPE_SCHOOL_OR_TRUST: return "school_or_trust";
    case v1::EMPLOYER_TYPE_INDEPENDENT_OR_VOLUNTARY: return "independent_or_voluntary";
    default: return "";
  }
}

std::string_view VisibilityText(v1::Visibility visibility) {
  switch (visibility) {
    case v1::VISIBILITY_OWN_AUTHORITY: return "own_authority";
    case v1::VISIBILITY_REGION: return "region";
    case v1::VISIBILITY_NATIONAL: return "national";
    default: return "";
  }
}

std::string_view DeliveryModeText(int mode) {
  switch (mode) {
    case v1::DELIVERY_MODE_IN_PERSON: return "in_person";
    case v1::DELIVERY_MODE_REMOTE: return "remote";
    default: return "";
  }
}

// ---------------------------------------------------------------- JSON lines

absl::Status WriteJsonLines(const std::vector<Specialist>& specialists, std::ostream& out) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string line;
  for (const Specialist& s : specialists) {
    line.clear();
    if (auto status = google::protobuf::util::MessageToJsonString(s, &line, options); !status.ok()) {
      return absl::InternalError(absl::StrCat("cannot write ", s.external_id(), " as JSON: ",
                                              status.ToString()));
    }
    out << line << '\n';
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- CSV

// The csv plugin's canonical headers (its column_<field> defaults) in its
// order, then updated_at, a last-modified column for incremental runs.
constexpr const char* kCsvHeaders[] = {
    "external_id",      "display_name",       "role",
    "specialisms",      "settings",           "min_age",
    "max_age",          "languages",          "delivery_modes",
    "latitude",         "longitude",          "travel_radius_km",
    "covered_authorities", "registration_body", "registration_number",
    "employer_type",    "email",              "phone",
    "team",             "visibility",         "last_verified",
    "contracted_hours", "committed_hours",    "current_caseload",
    "max_caseload",     "waiting_time_weeks", "next_available_date",
    "valid_from",       "valid_to",           "accepting_external_requests",
    "updated_at",
};

template <typename Container>
std::string CsvList(const Container& items) {
  return absl::StrJoin(items, ";");
}

absl::Status WriteCsv(const std::vector<Specialist>& specialists, std::ostream& out) {
  // CRLF line ends, as RFC 4180 and spreadsheet exports write them.
  out << absl::StrJoin(kCsvHeaders, ",") << "\r\n";
  for (const Specialist& s : specialists) {
    const auto& c = s.capacity();
    std::vector<std::string> modes;
    for (int mode : s.delivery_modes()) modes.emplace_back(DeliveryModeText(mode));
    const absl::Time verified = VerifyTime(s);
    // Dates mix ISO and UK forms, as real exports do (the plugin's default
    // date_format "auto" reads both): next available and valid-to dates are
    // dd/mm/yyyy, valid-from yyyy-mm-dd, the last-modified column a UK date
    // and time without offset (read as UTC).
    const CsvRow row = {
        s.external_id(),
        s.display_name(),
        s.role(),
        CsvList(s.specialisms()),
        CsvList(s.settings()),
        absl::StrCat(s.age_range().min_age()),
        absl::StrCat(s.age_range().max_age()),
        CsvList(s.languages()),
        CsvList(modes),
        s.has_base_location() ? Number(s.base_location().latitude()) : "",
        s.has_base_location() ? Number(s.base_location().longitude()) : "",
        Number(s.travel_radius_km()),
        CsvList(s.covered_authorities()),
        s.registration().body(),
        s.registration().number(),
        std::string(EmployerTypeText(s.employer_type())),
        s.work_contact().email(),
        s.work_contact().phone(),
        s.work_contact().team(),
        std::string(VisibilityText(s.visibility())),
        s.has_last_verify_time() ? Rfc3339(verified) : "",
        Number(c.contracted_hours_per_week()),
        Number(c.committed_hours_per_week()),
        absl::StrCat(c.current_caseload()),
        absl::StrCat(c.max_caseload()),
        absl::StrCat(c.waiting_time_weeks()),
        HasDate(c.next_available_date()) ? UkDate(c.next_available_date()) : "",
        HasDate(c.valid_from()) ? IsoDate(c.valid_from()) : "",
        HasDate(c.valid_to()) ? UkDate(c.valid_to()) : "",
        c.accepting_external_requests() ? "yes" : "no",
        s.has_last_verify_time()
            ? absl::FormatTime("%d/%m/%Y %H:%M", verified, absl::UTCTimeZone())
            : "",
    };
    out << CsvLine(row);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Open Referral

// The local taxonomy the invented service directory tags services with:
// short codes, as council directories use, which the openreferral plugin
// maps to our codes through role_map, specialism_map and setting_map
// (deploy/local/importers/openreferral.json). Codes are unique across kinds.
const std::map<std::string, std::string>& DirectoryCodes(v1::TaxonomyKind kind) {
  static const auto* const roles = new std::map<std::string, std::string>{
      {"qualified-teacher-deaf", "QTOD"},
      {"qualified-teacher-vision-impairment", "QTVI"},
      {"qualified-teacher-multi-sensory-impairment", "QTMSI"},
      {"specialist-teacher", "SPECT"},
      {"advisory-teacher", "ADVT"},
      {"early-years-send-adviser", "EYSEND"},
      {"portage-home-visitor", "PORTAGE"},
      {"educational-psychologist", "EP"},
      {"habilitation-specialist", "HAB"},
      {"communication-support-worker", "CSW"},
      {"aac-specialist", "AACS"},
      {"speech-language-therapist", "SLT"},
      {"occupational-therapist", "OT"},
      {"physiotherapist", "PHYSIO"},
      {"audiologist", "AUDIO"},
      {"paediatric-audiologist", "PAUDIO"},
      {"hearing-therapist", "HTHER"},
      {"orthoptist", "ORTHO"},
      {"clinical-psychologist", "CLINPSY"},
      {"play-therapist", "PLAYT"},
      {"behaviour-therapist", "BEHT"},
      {"bsl-interpreter", "BSLI"},
      {"sensory-support-worker", "SSW"},
  };
  static const auto* const specialisms = new std::map<std::string, std::string>{
      {"hearing-impairment", "HI"},
      {"vision-impairment", "VI"},
      {"multi-sensory-impairment", "MSI"},
      {"speech-language-communication", "SLCN"},
      {"developmental-language-disorder", "DLD"},
      {"stammering", "STAM"},
      {"childhood-apraxia-of-speech", "CAS"},
      {"selective-mutism", "SM"},
      {"aac", "AAC"},
      {"autism", "AUT"},
      {"semh", "SEMH"},
      {"adhd", "ADHD"},
      {"learning-disability", "LD"},
      {"profound-multiple-learning-disability", "PMLD"},
      {"specific-learning-difficulty", "SPLD"},
      {"physical-disability", "PD"},
      {"eating-drinking-swallowing", "EDS"},
      {"sensory-processing", "SPD"},
      {"complex-medical-needs", "CMN"},
      {"down-syndrome", "DS"},
      {"rare-conditions", "RARE"},
      {"early-communication", "EC"},
  };
  static const auto* const settings = new std::map<std::string, std::string>{
      {"early-years-maintained", "EYM"},
      {"early-years-pvi", "EYPVI"},
      {"childminder", "CM"},
      {"primary", "PRI"},
      {"secondary", "SEC"},
      {"special-school", "SPEC"},
      {"alternative-provision", "AP"},
      {"post-16", "P16"},
      {"home-community", "HOME"},
      {"hospital-education", "HOSPED"},
  };
  switch (kind) {
    case v1::TAXONOMY_KIND_ROLE: return *roles;
    case v1::TAXONOMY_KIND_SPECIALISM: return *specialisms;
    default: return *settings;
  }
}

constexpr std::string_view kDirectoryTaxonomy = "Sample council SEND directory (invented)";

json TaxonomyAttribute(const std::string& service_id, v1::TaxonomyKind kind,
                       const std::string& code) {
  const auto& codes = DirectoryCodes(kind);
  auto it = codes.find(code);
  // A code added to the taxonomy after this table passes through as it is;
  // the config then lacks it and the import says so.
  const std::string local = it == codes.end() ? code : it->second;
  const std::string term_id = NameUuid(absl::StrCat("taxonomy-term/", local));
  return json{
      {"id", NameUuid(absl::StrCat(service_id, "/attribute/", term_id))},
      {"link_id", service_id},
      {"link_type", "service"},
      {"link_entity", "service"},
      {"taxonomy_term_id", term_id},
      {"taxonomy_term",
       {{"id", term_id},
        {"code", local},
        {"name", Label(kind, code)},
        {"description", Label(kind, code)},
        {"taxonomy", kDirectoryTaxonomy}}},
  };
}

absl::Status WriteOpenReferral(const std::vector<Specialist>& specialists, std::ostream& out) {
  json contents = json::array();
  for (const Specialist& s : specialists) {
    const std::string id = NameUuid(absl::StrCat("service/", s.external_id()));
    const std::string organization_id = NameUuid(absl::StrCat("organization/", s.work_contact().team()));
    json service = {
        {"id", id},
        {"organization_id", organization_id},
        // One service per specialist: its name is what the plugin reads as
        // the display name, so it carries the (invented) person's name.
        {"name", s.display_name()},
        {"description", absl::StrCat(Label(v1::TAXONOMY_KIND_ROLE, s.role()),
                                     ". Invented sample record: not a real person or service.")},
        {"status", "active"},
        {"email", s.work_contact().email()},
        {"minimum_age", s.age_range().min_age()},
        {"maximum_age", s.age_range().max_age()},
        {"phones", json::array({{{"id", NameUuid(absl::StrCat(id, "/phone"))},
                                 {"number", s.work_contact().phone()}}})},
        {"organization",
         {{"id", organization_id},
          {"name", s.work_contact().team()},
          {"description", s.work_contact().team()}}},
    };
    if (s.has_last_verify_time()) {
      const absl::Time verified = VerifyTime(s);
      service["assured_date"] = absl::FormatTime("%Y-%m-%d", verified, absl::UTCTimeZone());
      service["last_modified"] = Rfc3339(verified);
    }
    if (s.has_base_location()) {
      const std::string location_id = NameUuid(absl::StrCat("location/", s.external_id()));
      // Coordinates only: a work base, never a street address.
      service["service_at_locations"] = json::array({{
          {"id", NameUuid(absl::StrCat(id, "/service-at-location"))},
          {"service_id", id},
          {"location_id", location_id},
          {"location",
           {{"id", location_id},
            {"location_type", "physical"},
            {"name", absl::StrCat(s.work_contact().team(), " base")},
            {"latitude", s.base_location().latitude()},
            {"longitude", s.base_location().longitude()}}},
      }});
    }
    json attributes = json::array();
    attributes.push_back(TaxonomyAttribute(id, v1::TAXONOMY_KIND_ROLE, s.role()));
    for (const auto& code : s.specialisms()) {
      attributes.push_back(TaxonomyAttribute(id, v1::TAXONOMY_KIND_SPECIALISM, code));
    }
    for (const auto& code : s.settings()) {
      attributes.push_back(TaxonomyAttribute(id, v1::TAXONOMY_KIND_SETTING, code));
    }
    service["attributes"] = std::move(attributes);
    if (s.has_capacity()) {
      const auto& c = s.capacity();
      const double available =
          std::max(0.0, c.contracted_hours_per_week() - c.committed_hours_per_week());
      json capacity = {
          {"id", NameUuid(absl::StrCat(id, "/capacity/hours"))},
          {"service_id", id},
          {"unit", {{"id", NameUuid("unit/hours")}, {"name", "Hours"}, {"scheme", "SI"}}},
          {"available", available},
          {"maximum", c.contracted_hours_per_week()},
          {"description", "SEND hours per week: contracted (maximum) and free (available)"},
      };
      if (s.has_last_verify_time()) capacity["updated"] = Rfc3339(VerifyTime(s));
      service["capacities"] = json::array({std::move(capacity)});
    }
    service["contacts"] = json::array({{
        {"id", NameUuid(absl::StrCat(id, "/contact"))},
        {"service_id", id},
        {"name", s.display_name()},
        {"title", Label(v1::TAXONOMY_KIND_ROLE, s.role())},
        {"email", s.work_contact().email()},
    }});
    contents.push_back(std::move(service));
  }
  const size_t n = contents.size();
  const json page = {
      {"total_items", n},      {"total_pages", 1},         {"page_number", 1},
      {"size", n},             {"first_page", true},       {"last_page", true},
      {"empty", n == 0},       {"contents", std::move(contents)},
  };
  out << page.dump(1) << '\n';
  return absl::OkStatus();
}

// ---------------------------------------------------------------- FHIR

// The role's SNOMED CT code in the taxonomy (services/common/reference/
// taxonomy.json), or "" when it has none (education roles).
std::string SnomedRole(const std::string& role) {
  for (const auto& term : ReferenceData::Get().terms()) {
    if (term.kind() == v1::TAXONOMY_KIND_ROLE && term.code() == role) return term.snomed_ct_code();
  }
  return "";
}

std::string RegistrationSystem(const std::string& body) {
  if (body == "HCPC") return "https://www.hcpc-uk.org/check-the-register";
  if (body == "TRA") return "https://www.gov.uk/guidance/teacher-reference-number-trn";
  if (body == "RCCP") return "https://www.rccp.co.uk/register";
  if (body == "NRCPD") return "https://www.nrcpd.org.uk/register";
  return absl::StrCat("https://expertise-directory.example/NamingSystem/",
                      absl::AsciiStrToLower(body));
}

std::string FhirTime(int64_t seconds) {
  return absl::StrFormat("%02d:%02d:%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60);
}

// availableTime whose hours per week (as the fhir plugin sums them: days x
// (end - start)) equal `hours`: whole 7.5-hour days from 09:00, and the rest
// on the next day.
json AvailableTime(double hours) {
  static const char* const kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  json out = json::array();
  int64_t total = std::llround(hours * 3600);
  if (total <= 0) return out;
  constexpr int64_t kDay = 7 * 3600 + 1800;  // 7.5 hours
  constexpr int64_t kStart = 9 * 3600;
  if (total > 7 * kDay) {
    // More than a full week of 7.5-hour days: equal days, from midnight.
    const int64_t per_day = std::min<int64_t>(total / 7, 24 * 3600 - 1);
    out.push_back({{"daysOfWeek", json(std::vector<std::string>(kDays, kDays + 7))},
                   {"availableStartTime", "00:00:00"},
                   {"availableEndTime", FhirTime(per_day)}});
    return out;
  }
  const int full = static_cast<int>(total / kDay);
  const int64_t rest = total - full * kDay;
  if (full > 0) {
    out.push_back({{"daysOfWeek", json(std::vector<std::string>(kDays, kDays + full))},
                   {"availableStartTime", FhirTime(kStart)},
                   {"availableEndTime", FhirTime(kStart + kDay)}});
  }
  if (rest > 0) {
    out.push_back({{"daysOfWeek", json::array({kDays[full]})},
                   {"availableStartTime", FhirTime(kStart)},
                   {"availableEndTime", FhirTime(kStart + rest)}});
  }
  return out;
}

json Entry(const std::string& type, const json& resource) {
  return json{
      {"fullUrl", absl::StrCat("https://fhir.sample.example.org/", type, "/",
                               resource["id"].get<std::string>())},
      {"resource", resource},
  };
}

json Ages(int years) {
  return json{{"value", years}, {"unit", "years"}, {"system", "http://unitsofmeasure.org"},
              {"code", "a"}};
}

absl::Status WriteFhir(const std::vector<Specialist>& specialists, std::ostream& out) {
  json entries = json::array();
  // Organizations first: one per team, ids in order of first appearance.
  std::map<std::string, std::string> organization_ids;
  for (const Specialist& s : specialists) {
    const std::string& team = s.work_contact().team();
    if (team.empty() || organization_ids.count(team)) continue;
    const std::string id = absl::StrCat("org-", organization_ids.size() + 1);
    organization_ids[team] = id;
    entries.push_back(Entry("Organization",
                            {{"resourceType", "Organization"},
                             {"id", id},
                             {"active", true},
                             {"type", json::array({{{"coding",
                                                     json::array({{{"system",
                                                                    "http://terminology.hl7.org/CodeSystem/organization-type"},
                                                                   {"code", "dept"}}})}}})},
                             {"name", team}}));
  }
  for (const Specialist& s : specialists) {
    const std::string practitioner_id = absl::StrCat("prac-", s.external_id());
    const std::string role_id = absl::StrCat("role-", s.external_id());
    const std::string updated = s.has_last_verify_time() ? Rfc3339(VerifyTime(s)) : "";

    // Practitioner: name, registration and languages only. Never birthDate,
    // gender, address, photo or (possibly personal) telecom.
    const std::string& display = s.display_name();
    const size_t space = display.rfind(' ');
    json name = {{"use", "official"}, {"text", display}};
    if (space != std::string::npos) {
      name["family"] = display.substr(space + 1);
      name["given"] = json::array({display.substr(0, space)});
    }
    json practitioner = {{"resourceType", "Practitioner"},
                         {"id", practitioner_id},
                         {"active", true},
                         {"name", json::array({std::move(name)})}};
    if (!updated.empty()) practitioner["meta"] = {{"lastUpdated", updated}};
    if (!s.registration().number().empty()) {
      // The plugin reads an identifier whose system contains "hcpc"; other
      // bodies' registrations are carried as FHIR has them, and not read.
      practitioner["qualification"] = json::array(
          {{{"identifier", json::array({{{"system", RegistrationSystem(s.registration().body())},
                                         {"value", s.registration().number()}}})},
            {"code", {{"text", absl::StrCat(s.registration().body(), " registration")}}}}});
    }
    json communication = json::array();
    for (const auto& language : s.languages()) {
      communication.push_back(
          {{"coding", json::array({{{"system", "urn:ietf:bcp:47"}, {"code", language}}})}});
    }
    if (!communication.empty()) practitioner["communication"] = std::move(communication);
    entries.push_back(Entry("Practitioner", practitioner));

    json role = {
        {"resourceType", "PractitionerRole"},
        {"id", role_id},
        {"identifier", json::array({{{"system", kSampleExternalIdSystem}, {"value", s.external_id()}}})},
        {"active", true},
        {"practitioner", {{"reference", absl::StrCat("Practitioner/", practitioner_id)},
                          {"display", display}}},
    };
    if (!updated.empty()) role["meta"] = {{"lastUpdated", updated}};
    if (auto it = organization_ids.find(s.work_contact().team()); it != organization_ids.end()) {
      role["organization"] = {{"reference", absl::StrCat("Organization/", it->second)},
                              {"display", it->first}};
    }
    if (s.has_base_location()) {
      // A Location with a position and no address: a work base only.
      const std::string location_id = absl::StrCat("loc-", s.external_id());
      entries.push_back(Entry(
          "Location", {{"resourceType", "Location"},
                       {"id", location_id},
                       {"status", "active"},
                       {"mode", "instance"},
                       {"name", absl::StrCat(s.work_contact().team(), " base")},
                       {"position",
                        {{"latitude", s.base_location().latitude()},
                         {"longitude", s.base_location().longitude()}}}}));
      role["location"] = json::array({{{"reference", absl::StrCat("Location/", location_id)}}});
    }
    // SNOMED CT where the role has a code in the taxonomy, else our own code
    // in the local role system the plugin reads by default.
    const std::string snomed = SnomedRole(s.role());
    json coding = snomed.empty()
                      ? json{{"system", kFhirLocalRoleSystem}, {"code", s.role()}}
                      : json{{"system", "http://snomed.info/sct"}, {"code", snomed}};
    coding["display"] = Label(v1::TAXONOMY_KIND_ROLE, s.role());
    role["code"] = json::array({{{"coding", json::array({std::move(coding)})}}});
    json specialty = json::array();
    for (const auto& code : s.specialisms()) {
      specialty.push_back({{"coding", json::array({{{"system", kFhirLocalSpecialismSystem},
                                                    {"code", code},
                                                    {"display", Label(v1::TAXONOMY_KIND_SPECIALISM, code)}}})}});
    }
    if (!specialty.empty()) role["specialty"] = std::move(specialty);
    json telecom = json::array();
    if (!s.work_contact().email().empty()) {
      telecom.push_back({{"system", "email"}, {"value", s.work_contact().email()}, {"use", "work"}});
    }
    if (!s.work_contact().phone().empty()) {
      telecom.push_back({{"system", "phone"}, {"value", s.work_contact().phone()}, {"use", "work"}});
    }
    if (!telecom.empty()) role["telecom"] = std::move(telecom);
    json available = AvailableTime(s.capacity().contracted_hours_per_week());
    if (!available.empty()) role["availableTime"] = std::move(available);
    json extensions = json::array();
    for (const auto& code : s.settings()) {
      extensions.push_back({{"url", absl::StrCat(kFhirExtensionBase, "setting")}, {"valueCode", code}});
    }
    if (s.has_age_range()) {
      extensions.push_back({{"url", absl::StrCat(kFhirExtensionBase, "age-range")},
                            {"valueRange", {{"low", Ages(s.age_range().min_age())},
                                            {"high", Ages(s.age_range().max_age())}}}});
    }
    if (s.has_capacity()) {
      extensions.push_back({{"url", absl::StrCat(kFhirExtensionBase, "committed-hours")},
                            {"valueDecimal", s.capacity().committed_hours_per_week()}});
    }
    if (!extensions.empty()) role["extension"] = std::move(extensions);
    entries.push_back(Entry("PractitionerRole", role));
  }
  const json bundle = {{"resourceType", "Bundle"}, {"type", "collection"}, {"entry", std::move(entries)}};
  out << bundle.dump(1) << '\n';
  return absl::OkStatus();
}

}  // namespace

std::optional<SampleFormat> ParseSampleFormat(std::string_view name) {
  if (name == "jsonl") return SampleFormat::kJsonLines;
  if (name == "csv") return SampleFormat::kCsv;
  if (name == "openreferral") return SampleFormat::kOpenReferral;
  if (name == "fhir") return SampleFormat::kFhir;
  return std::nullopt;
}

std::string_view SampleFormatName(SampleFormat format) {
  switch (format) {
    case SampleFormat::kJsonLines: return "jsonl";
    case SampleFormat::kCsv: return "csv";
    case SampleFormat::kOpenReferral: return "openreferral";
    case SampleFormat::kFhir: return "fhir";
  }
  return "";
}

absl::StatusOr<std::vector<Specialist>> GenerateAuthoritySpecialists(const RegionInfo& region,
                                                                     std::string_view authority,
                                                                     const SampleOptions& options) {
  const ReferenceData& reference = ReferenceData::Get();
  const AuthorityInfo* la = reference.FindAuthority(authority);
  if (la == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown authority '", std::string(authority), "': use a GSS code such as E08000001"));
  }
  if (la->region_code != region.code) {
    return absl::InvalidArgumentError(
        absl::StrCat(la->name, " (", la->code, ") is not in ", region.name));
  }
  std::vector<Specialist> out;
  if (options.count <= 0) return out;
  // GenerateSpecialists draws each record from one sequence, so a longer run
  // begins with the records of a shorter one. Generate enough of the region
  // for `count` of this authority's records (an authority of a region with n
  // authorities holds about 1/n of them, counties more), doubling if short.
  SampleOptions region_options = options;
  int64_t want = static_cast<int64_t>(options.count) *
                     (static_cast<int64_t>(region.authorities.size()) + 3) * 11 / 10 +
                 100;
  for (;;) {
    region_options.count = static_cast<int>(std::min<int64_t>(want, 1 << 30));
    out.clear();
    for (Specialist& s : GenerateSpecialists(region, region_options)) {
      if (s.owning_authority() != la->code) continue;
      out.push_back(std::move(s));
      if (static_cast<int>(out.size()) == options.count) return out;
    }
    if (region_options.count == (1 << 30)) {
      return absl::ResourceExhaustedError("too many records asked for one authority");
    }
    want *= 2;
  }
}

absl::Status WriteSamples(SampleFormat format, const std::vector<Specialist>& specialists,
                          std::ostream& out) {
  absl::Status status;
  switch (format) {
    case SampleFormat::kJsonLines: status = WriteJsonLines(specialists, out); break;
    case SampleFormat::kCsv: status = WriteCsv(specialists, out); break;
    case SampleFormat::kOpenReferral: status = WriteOpenReferral(specialists, out); break;
    case SampleFormat::kFhir: status = WriteFhir(specialists, out); break;
  }
  if (!status.ok()) return status;
  if (!out.flush()) return absl::DataLossError("writing the output failed");
  return absl::OkStatus();
}

}  // namespace expertise::sampledata
