#include "services/sampledata/sample_formats.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "services/sampledata/sample_data.h"

namespace expertise::sampledata {
namespace {

using nlohmann::json;
using v1::Specialist;

constexpr char kAuthority[] = "E08000001";  // Bolton, North West
constexpr int kCount = 300;

const RegionInfo& NorthWest() { return *ReferenceData::Get().FindRegion("north-west"); }

const std::vector<Specialist>& Bolton() {
  static const auto* const specialists = [] {
    auto result = GenerateAuthoritySpecialists(NorthWest(), kAuthority, {.count = kCount, .seed = 5});
    EXPECT_TRUE(result.ok()) << result.status();
    return new std::vector<Specialist>(result.ok() ? *std::move(result) : std::vector<Specialist>());
  }();
  return *specialists;
}

std::string Write(SampleFormat format, const std::vector<Specialist>& specialists) {
  std::ostringstream out;
  const absl::Status status = WriteSamples(format, specialists, out);
  EXPECT_TRUE(status.ok()) << status;
  return out.str();
}

// The repository's deploy/local/importers/<name>.json, found from this file.
json DeployConfig(const std::string& name) {
  const std::filesystem::path root =
      std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
  std::ifstream in(root / "deploy/local/importers" / (name + ".json"));
  EXPECT_TRUE(in.is_open()) << "cannot open the " << name << " config under " << root;
  return in.is_open() ? json::parse(in) : json::object();
}

// Keys that would carry personal (non-work) details, in any format.
const std::set<std::string>& ForbiddenKeys() {
  static const auto* const keys = new std::set<std::string>{
      "birthDate", "birth_date", "date_of_birth", "dob",  "gender", "sex",
      "address",   "addresses",  "physical_addresses", "postal_addresses", "photo"};
  return *keys;
}

void ExpectNoForbiddenKeys(const json& value, const std::string& where) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      EXPECT_EQ(ForbiddenKeys().count(key), 0u) << where << "/" << key;
      ExpectNoForbiddenKeys(child, where + "/" + key);
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) ExpectNoForbiddenKeys(value[i], where + "/" + std::to_string(i));
  }
}

std::set<std::string> AsSet(const google::protobuf::RepeatedPtrField<std::string>& items) {
  return {items.begin(), items.end()};
}

// ---------------------------------------------------------------- selection

TEST(SampleFormatsTest, AuthoritySelectionIsTheAuthoritysShareOfTheRegion) {
  const auto& bolton = Bolton();
  ASSERT_EQ(bolton.size(), static_cast<size_t>(kCount));
  // The same records as the Bolton lines of a region run long enough to
  // reach the last of them.
  const int last = std::stoi(bolton.back().external_id().substr(std::string("north-west-").size()));
  std::vector<Specialist> region_bolton;
  for (auto& s : GenerateSpecialists(NorthWest(), {.count = last, .seed = 5})) {
    if (s.owning_authority() == kAuthority) region_bolton.push_back(std::move(s));
  }
  ASSERT_EQ(region_bolton.size(), bolton.size());
  for (size_t i = 0; i < bolton.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(bolton[i], region_bolton[i])) << i;
  }
}

TEST(SampleFormatsTest, AuthorityMustBeKnownAndInTheRegion) {
  EXPECT_EQ(GenerateAuthoritySpecialists(NorthWest(), "E99999999", {.count = 5}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Newcastle upon Tyne is in the North East.
  EXPECT_EQ(GenerateAuthoritySpecialists(NorthWest(), "E08000021", {.count = 5}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SampleFormatsTest, FormatNames) {
  for (const char* name : {"jsonl", "csv", "openreferral", "fhir"}) {
    ASSERT_TRUE(ParseSampleFormat(name).has_value()) << name;
    EXPECT_EQ(SampleFormatName(*ParseSampleFormat(name)), name);
  }
  EXPECT_FALSE(ParseSampleFormat("xml").has_value());
}

// ---------------------------------------------------------------- JSON lines

TEST(SampleFormatsTest, JsonLines) {
  std::istringstream in(Write(SampleFormat::kJsonLines, Bolton()));
  std::string line;
  std::set<std::string> ids;
  while (std::getline(in, line)) {
    const json record = json::parse(line);
    EXPECT_EQ(record["owning_authority"], kAuthority);
    EXPECT_EQ(record["source"], "sample-hr");
    EXPECT_TRUE(ids.insert(record["external_id"].get<std::string>()).second);
    ExpectNoForbiddenKeys(record, record["external_id"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kCount));
}

// ---------------------------------------------------------------- CSV

// RFC 4180 rows (quoted fields may hold commas, quotes and line breaks).
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(field));
      field.clear();
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      rows.back().push_back(std::move(field));
      field.clear();
      rows.emplace_back();
    } else {
      field += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

TEST(SampleFormatsTest, Csv) {
  const std::string text = Write(SampleFormat::kCsv, Bolton());
  EXPECT_NE(text.find("\r\n"), std::string::npos) << "CRLF line ends";
  const auto rows = ParseCsv(text);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kCount) + 1);
  const std::vector<std::string> header = rows[0];
  // The csv plugin's canonical headers, then the cursor column.
  const std::vector<std::string> expected = {
      "external_id", "display_name", "role", "specialisms", "settings", "min_age", "max_age",
      "languages", "delivery_modes", "latitude", "longitude", "travel_radius_km",
      "covered_authorities", "registration_body", "registration_number", "employer_type", "email",
      "phone", "team", "visibility", "last_verified", "contracted_hours", "committed_hours",
      "current_caseload", "max_caseload", "waiting_time_weeks", "next_available_date", "valid_from",
      "valid_to", "accepting_external_requests", "updated_at"};
  ASSERT_EQ(header, expected);
  for (const std::string& column : header) {
    for (const char* personal : {"birth", "dob", "gender", "sex", "address", "home"}) {
      EXPECT_EQ(column.find(personal), std::string::npos) << column;
    }
  }
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < header.size(); ++i) at[header[i]] = i;

  // gtest's regular expressions (POSIX extended: no \d).
  const auto uk_date = ::testing::MatchesRegex("[0-9]{2}/[0-9]{2}/[0-9]{4}");
  const auto iso_date = ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}");
  const auto rfc3339 = ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z");
  const auto uk_date_time = ::testing::MatchesRegex("[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}");
  const std::set<std::string> employer_types = {"local_authority", "nhs", "school_or_trust",
                                                "independent_or_voluntary"};
  const std::set<std::string> visibilities = {"own_authority", "region", "national"};
  int term_time = 0;
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    const Specialist& s = Bolton()[r - 1];
    ASSERT_EQ(row.size(), header.size()) << "row " << r;
    const auto cell = [&](const char* name) -> const std::string& { return row[at.at(name)]; };
    EXPECT_EQ(cell("external_id"), s.external_id());
    EXPECT_EQ(cell("display_name"), s.display_name());
    EXPECT_EQ(cell("role"), s.role());
    EXPECT_EQ(cell("team"), s.work_contact().team());
    EXPECT_EQ(cell("languages").find(','), std::string::npos);
    EXPECT_EQ(std::count(cell("specialisms").begin(), cell("specialisms").end(), ';') +
                  (cell("specialisms").empty() ? 0 : 1),
              s.specialisms_size());
    EXPECT_TRUE(employer_types.count(cell("employer_type"))) << cell("employer_type");
    EXPECT_TRUE(visibilities.count(cell("visibility"))) << cell("visibility");
    EXPECT_TRUE(cell("delivery_modes") == "in_person" || cell("delivery_modes") == "remote" ||
                cell("delivery_modes") == "in_person;remote")
        << cell("delivery_modes");
    EXPECT_TRUE(cell("accepting_external_requests") == "yes" ||
                cell("accepting_external_requests") == "no");
    EXPECT_THAT(cell("next_available_date"), uk_date);
    EXPECT_THAT(cell("last_verified"), rfc3339);
    EXPECT_THAT(cell("updated_at"), uk_date_time);
    if (!cell("valid_from").empty()) {
      ++term_time;
      EXPECT_THAT(cell("valid_from"), iso_date);
      EXPECT_THAT(cell("valid_to"), uk_date);
    }
    EXPECT_EQ(cell("latitude").empty(), !s.has_base_location());
    if (s.has_base_location()) {
      EXPECT_EQ(std::stod(cell("latitude")), s.base_location().latitude());
      EXPECT_EQ(std::stod(cell("longitude")), s.base_location().longitude());
    }
    EXPECT_EQ(std::stod(cell("contracted_hours")), s.capacity().contracted_hours_per_week());
    EXPECT_EQ(std::stod(cell("committed_hours")), s.capacity().committed_hours_per_week());
  }
  EXPECT_GT(term_time, 0) << "some rows should exercise valid_from/valid_to";
}

// ---------------------------------------------------------------- Open Referral

// Maps a service's taxonomy term codes back through the deploy config.
struct MappedTerms {
  std::vector<std::string> roles;
  std::set<std::string> specialisms, settings;
};

MappedTerms MapTerms(const json& service, const json& config) {
  MappedTerms out;
  for (const json& attribute : service["attributes"]) {
    const std::string code = attribute["taxonomy_term"]["code"];
    if (config["role_map"].contains(code)) out.roles.push_back(config["role_map"][code]);
    if (config["specialism_map"].contains(code)) out.specialisms.insert(config["specialism_map"][code].get<std::string>());
    if (config["setting_map"].contains(code)) out.settings.insert(config["setting_map"][code].get<std::string>());
  }
  return out;
}

TEST(SampleFormatsTest, OpenReferral) {
  const json page = json::parse(Write(SampleFormat::kOpenReferral, Bolton()));
  const json config = DeployConfig("openreferral");
  EXPECT_EQ(page["total_items"], kCount);
  EXPECT_EQ(page["total_pages"], 1);
  EXPECT_EQ(page["last_page"], true);
  ASSERT_EQ(page["contents"].size(), static_cast<size_t>(kCount));
  ExpectNoForbiddenKeys(page, "");
  const auto uuid = ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> ids;
  for (size_t i = 0; i < page["contents"].size(); ++i) {
    const json& service = page["contents"][i];
    const Specialist& s = Bolton()[i];
    const std::string id = service["id"];
    EXPECT_THAT(id, uuid);
    EXPECT_TRUE(ids.insert(id).second) << id;
    EXPECT_EQ(service["name"], s.display_name());
    EXPECT_EQ(service["status"], "active");
    EXPECT_EQ(service["organization"]["name"], s.work_contact().team());
    EXPECT_EQ(service["minimum_age"], s.age_range().min_age());
    EXPECT_EQ(service["maximum_age"], s.age_range().max_age());
    EXPECT_EQ(service.contains("service_at_locations"), s.has_base_location());
    const MappedTerms terms = MapTerms(service, config);
    ASSERT_EQ(terms.roles.size(), 1u) << id;
    EXPECT_EQ(terms.roles[0], s.role());
    EXPECT_EQ(terms.specialisms, AsSet(s.specialisms()));
    EXPECT_EQ(terms.settings, AsSet(s.settings()));
    ASSERT_EQ(service["capacities"].size(), 1u);
    const json& hours = service["capacities"][0];
    EXPECT_EQ(hours["unit"]["name"], "Hours");
    EXPECT_EQ(hours["maximum"].get<double>(), s.capacity().contracted_hours_per_week());
    EXPECT_EQ(hours["available"].get<double>(),
              std::max(0.0, s.capacity().contracted_hours_per_week() -
                                s.capacity().committed_hours_per_week()));
  }
}

// Every taxonomy code has a directory code the deploy config maps back, so
// no generated record can be rejected for an unmapped term.
TEST(SampleFormatsTest, OpenReferralConfigMapsEveryTaxonomyCode) {
  const ReferenceData& reference = ReferenceData::Get();
  std::vector<Specialist> everyone;
  for (const std::string& role : reference.Codes(v1::TAXONOMY_KIND_ROLE)) {
    Specialist s = Bolton()[0];
    s.set_role(role);
    s.clear_specialisms();
    for (const auto& code : reference.Codes(v1::TAXONOMY_KIND_SPECIALISM)) s.add_specialisms(code);
    s.clear_settings();
    for (const auto& code : reference.Codes(v1::TAXONOMY_KIND_SETTING)) s.add_settings(code);
    everyone.push_back(std::move(s));
  }
  const json page = json::parse(Write(SampleFormat::kOpenReferral, everyone));
  const json config = DeployConfig("openreferral");
  for (size_t i = 0; i < everyone.size(); ++i) {
    const MappedTerms terms = MapTerms(page["contents"][i], config);
    ASSERT_EQ(terms.roles.size(), 1u) << everyone[i].role();
    EXPECT_EQ(terms.roles[0], everyone[i].role());
    EXPECT_EQ(terms.specialisms, AsSet(everyone[i].specialisms()));
    EXPECT_EQ(terms.settings, AsSet(everyone[i].settings()));
  }
}

// ---------------------------------------------------------------- FHIR

double SecondsOf(const std::string& time) {
  return std::stoi(time.substr(0, 2)) * 3600 + std::stoi(time.substr(3, 2)) * 60 +
         std::stoi(time.substr(6, 2));
}

TEST(SampleFormatsTest, Fhir) {
  const json bundle = json::parse(Write(SampleFormat::kFhir, Bolton()));
  const json config = DeployConfig("fhir");
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  ExpectNoForbiddenKeys(bundle, "");

  std::map<std::string, const json*> by_reference;  // "Type/id"
  std::map<std::string, int> counts;
  for (const json& entry : bundle["entry"]) {
    const json& resource = entry["resource"];
    const std::string type = resource["resourceType"];
    ++counts[type];
    const std::string reference = type + "/" + resource["id"].get<std::string>();
    EXPECT_TRUE(by_reference.emplace(reference, &resource).second) << reference;
    EXPECT_LE(resource["id"].get<std::string>().size(), 64u) << reference;
  }
  std::set<std::string> teams;
  int with_base = 0;
  for (const Specialist& s : Bolton()) {
    teams.insert(s.work_contact().team());
    with_base += s.has_base_location();
  }
  EXPECT_EQ(counts["Practitioner"], kCount);
  EXPECT_EQ(counts["PractitionerRole"], kCount);
  EXPECT_EQ(counts["Location"], with_base);
  EXPECT_EQ(counts["Organization"], static_cast<int>(teams.size()));
  EXPECT_EQ(counts.size(), 4u);

  std::map<std::string, std::string> snomed;
  for (const auto& term : ReferenceData::Get().terms()) {
    if (term.kind() == v1::TAXONOMY_KIND_ROLE) snomed[term.code()] = term.snomed_ct_code();
  }
  const std::string base = kFhirExtensionBase;
  size_t i = 0;
  for (const json& entry : bundle["entry"]) {
    const json& resource = entry["resource"];
    if (resource["resourceType"] == "Practitioner") {
      EXPECT_FALSE(resource.contains("telecom")) << "Practitioner telecom may be personal";
      continue;
    }
    if (resource["resourceType"] != "PractitionerRole") continue;
    ASSERT_LT(i, Bolton().size());
    const Specialist& s = Bolton()[i++];
    // The external id travels in the identifier the deploy config names.
    ASSERT_EQ(resource["identifier"].size(), 1u);
    EXPECT_EQ(resource["identifier"][0]["system"], config["external_id_system"]);
    EXPECT_EQ(resource["identifier"][0]["value"], s.external_id());
    // References resolve within the bundle.
    const std::string practitioner = resource["practitioner"]["reference"];
    ASSERT_TRUE(by_reference.count(practitioner)) << practitioner;
    EXPECT_EQ((*by_reference[practitioner])["name"][0]["text"], s.display_name());
    const std::string organization = resource["organization"]["reference"];
    ASSERT_TRUE(by_reference.count(organization)) << organization;
    EXPECT_EQ((*by_reference[organization])["name"], s.work_contact().team());
    EXPECT_EQ(resource.contains("location"), s.has_base_location());
    if (s.has_base_location()) {
      const std::string location = resource["location"][0]["reference"];
      ASSERT_TRUE(by_reference.count(location)) << location;
      EXPECT_EQ((*by_reference[location])["position"]["latitude"], s.base_location().latitude());
    }
    // SNOMED CT where the taxonomy has a code, else the local role system.
    const json& coding = resource["code"][0]["coding"][0];
    if (!snomed.at(s.role()).empty()) {
      EXPECT_EQ(coding["system"], "http://snomed.info/sct");
      EXPECT_EQ(coding["code"], snomed.at(s.role()));
    } else {
      EXPECT_EQ(coding["system"], kFhirLocalRoleSystem);
      EXPECT_EQ(coding["code"], s.role());
    }
    std::set<std::string> specialisms, settings;
    for (const json& specialty : resource.value("specialty", json::array())) {
      EXPECT_EQ(specialty["coding"][0]["system"], kFhirLocalSpecialismSystem);
      specialisms.insert(specialty["coding"][0]["code"].get<std::string>());
    }
    EXPECT_EQ(specialisms, AsSet(s.specialisms()));
    double committed = -1;
    for (const json& extension : resource["extension"]) {
      if (extension["url"] == base + "setting") settings.insert(extension["valueCode"].get<std::string>());
      if (extension["url"] == base + "committed-hours") committed = extension["valueDecimal"];
      if (extension["url"] == base + "age-range") {
        EXPECT_EQ(extension["valueRange"]["low"]["value"], s.age_range().min_age());
        EXPECT_EQ(extension["valueRange"]["high"]["value"], s.age_range().max_age());
      }
    }
    EXPECT_EQ(settings, AsSet(s.settings()));
    EXPECT_EQ(committed, s.capacity().committed_hours_per_week());
    // availableTime sums (as the plugin does) to the contracted hours.
    double seconds = 0;
    for (const json& available : resource["availableTime"]) {
      seconds += available["daysOfWeek"].size() *
                 (SecondsOf(available["availableEndTime"]) - SecondsOf(available["availableStartTime"]));
    }
    EXPECT_DOUBLE_EQ(seconds / 3600, s.capacity().contracted_hours_per_week());
  }
  EXPECT_EQ(i, Bolton().size());
}

}  // namespace
}  // namespace expertise::sampledata
