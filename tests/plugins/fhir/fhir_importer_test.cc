#include "plugins/fhir/fhir_importer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/testutil/recording_host.h"

namespace expertise::plugins {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::SizeIs;
using json = nlohmann::json;
using ConfigMap = std::map<std::string, std::string>;

constexpr char kSnomed[] = "http://snomed.info/sct";
constexpr char kLocalRole[] = "https://expertise-directory.example/CodeSystem/role";
constexpr char kLocalSpecialism[] = "https://expertise-directory.example/CodeSystem/specialism";
constexpr char kExtensionBase[] = "https://expertise-directory.example/StructureDefinition/";

// --- Builders for FHIR resources --------------------------------------------

json Coding(const std::string& system, const std::string& code) {
  return {{"system", system}, {"code", code}};
}

json Practitioner(const std::string& id, const std::string& name = "Alex Smith",
                  const std::string& last_updated = "") {
  json practitioner = {{"resourceType", "Practitioner"},
                       {"id", id},
                       {"active", true},
                       {"name", json::array({{{"text", name}}})}};
  if (!last_updated.empty()) practitioner["meta"] = {{"lastUpdated", last_updated}};
  return practitioner;
}

json Role(const std::string& id, const std::string& practitioner_id = "prac-1",
          std::vector<json> codings = {Coding(kSnomed, "159026005")},
          const std::string& last_updated = "") {
  json role = {{"resourceType", "PractitionerRole"},
               {"id", id},
               {"active", true},
               {"practitioner", {{"reference", "Practitioner/" + practitioner_id}}},
               {"code", json::array({{{"coding", codings}}})}};
  if (!last_updated.empty()) role["meta"] = {{"lastUpdated", last_updated}};
  return role;
}

json Extension(const std::string& name, const std::string& value_key, json value) {
  return {{"url", std::string(kExtensionBase) + name}, {value_key, std::move(value)}};
}

std::string Bundle(const std::vector<json>& resources) {
  json bundle = {{"resourceType", "Bundle"}, {"type", "collection"}, {"entry", json::array()}};
  for (const json& resource : resources) bundle["entry"].push_back({{"resource", resource}});
  return bundle.dump(2);
}

std::string Ndjson(const std::vector<json>& resources) {
  std::string out;
  for (const json& resource : resources) out += resource.dump() + "\n";
  return out;
}

// --- Harness ----------------------------------------------------------------

importer::Config MakeConfig(const ConfigMap& values) {
  std::vector<expertise_config_entry> entries;
  for (const auto& [key, value] : values) entries.push_back({key.c_str(), value.c_str()});
  expertise_config config{sizeof(expertise_config), entries.data(), entries.size()};
  return importer::Config(&config);  // copies the strings
}

// An importer wired to a RecordingHost.
class Harness {
 public:
  explicit Harness(const ConfigMap& config = {}) {
    importer_ = FhirImporter::Create(MakeConfig(config), host_);
  }

  FhirImporter* importer() { return importer_.get(); }
  testing::RecordingHost& recorded() { return recording_; }

  expertise_result Parse(const std::string& content, const std::string& file_name = "input.json",
                         uint32_t sync_mode = EXPERTISE_SYNC_SNAPSHOT,
                         const std::string& state = "") {
    importer::ReadRequest request;
    request.sync_mode = sync_mode;
    request.state = state;
    return importer_->Parse(content, file_name, request, host_);
  }

  // Every emitted record, parsed; fails the test on a record that is not JSON.
  std::vector<json> Records() const {
    std::vector<json> records;
    for (const std::string& text : recording_.records) {
      json record = json::parse(text, nullptr, /*allow_exceptions=*/false);
      EXPECT_TRUE(record.is_object()) << "not a JSON object: " << text;
      records.push_back(std::move(record));
    }
    return records;
  }

  std::vector<std::string> ExternalIds() const {
    std::vector<std::string> ids;
    for (const json& record : Records()) ids.push_back(record.value("externalId", ""));
    return ids;
  }

 private:
  testing::RecordingHost recording_;
  importer::Host host_ = recording_.host();
  std::unique_ptr<FhirImporter> importer_;
};

// The one record a parse of `content` emits.
json OnlyRecord(const std::string& content, const ConfigMap& config = {}) {
  Harness harness(config);
  EXPECT_NE(harness.importer(), nullptr);
  if (harness.importer() == nullptr) return json();
  EXPECT_EQ(harness.Parse(content), EXPERTISE_OK);
  EXPECT_THAT(harness.recorded().rejects, IsEmpty())
      << (harness.recorded().rejects.empty() ? "" : harness.recorded().rejects[0].message);
  std::vector<json> records = harness.Records();
  EXPECT_THAT(records, SizeIs(1));
  return records.empty() ? json() : records[0];
}

std::filesystem::path FixturePath(const std::string& relative) {
  // __FILE__ is tests/plugins/fhir/fhir_importer_test.cc under the repository.
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
         "plugins/fhir" / relative;
}

std::string ReadFixture(const std::string& relative) {
  std::ifstream in(FixturePath(relative), std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// --- Plugin declaration -----------------------------------------------------

TEST(FhirImporterTest, DeclaresBothSyncModesAndDocumentedKeys) {
  EXPECT_EQ(FhirImporter::kSyncModes, EXPERTISE_SYNC_SNAPSHOT | EXPERTISE_SYNC_INCREMENTAL);
  std::set<std::string> names;
  for (const expertise_config_key& key : FhirImporter::kConfigKeys) {
    EXPECT_TRUE(names.insert(key.name).second) << key.name;
    EXPECT_EQ(key.secret, 0u) << key.name;
    EXPECT_EQ(key.required, 0u) << key.name;
    EXPECT_NE(std::string(key.description), "") << key.name;
    EXPECT_EQ(key.allowed_values != nullptr, key.type == EXPERTISE_CONFIG_ENUM) << key.name;
  }
}

TEST(FhirImporterTest, DefaultsApplyWhenNoKeyIsGiven) {
  Harness harness;
  ASSERT_NE(harness.importer(), nullptr);
  const FhirImporter::Options& options = harness.importer()->options();
  EXPECT_EQ(options.local_role_system, kLocalRole);
  EXPECT_EQ(options.local_specialism_system, kLocalSpecialism);
  EXPECT_EQ(options.employer_type, "nhs");
  EXPECT_EQ(options.visibility, "region");
  EXPECT_THAT(options.delivery_modes, ElementsAre("in_person"));
  EXPECT_EQ(options.default_min_age, 0);
  EXPECT_EQ(options.default_max_age, 25);
  EXPECT_EQ(options.max_input_bytes, 536870912u);
}

// --- Fixtures shipped with the plugin ----------------------------------------

TEST(FhirImporterTest, GoodBundleFixtureEmitsFiveRecords) {
  const std::string content = ReadFixture("testdata/good_bundle.json");
  if (content.empty()) GTEST_SKIP() << "fixture not found from " << __FILE__;
  Harness harness;
  EXPECT_EQ(harness.Parse(content, "good_bundle.json"), EXPERTISE_OK);
  EXPECT_THAT(harness.recorded().rejects, IsEmpty());
  EXPECT_THAT(harness.ExternalIds(),
              ElementsAre("role-001", "role-002", "role-003", "role-004", "role-005"));
  EXPECT_EQ(harness.recorded().record_locations[2].json_pointer, "/entry/2/resource");
  EXPECT_EQ(harness.recorded().record_locations[2].resource_id, "PractitionerRole/role-003");
}

TEST(FhirImporterTest, GoodNdjsonFixtureEmitsThreeRecordsWithLineNumbers) {
  const std::string content = ReadFixture("testdata/good.ndjson");
  if (content.empty()) GTEST_SKIP() << "fixture not found from " << __FILE__;
  Harness harness;
  EXPECT_EQ(harness.Parse(content, "good.ndjson"), EXPERTISE_OK);
  EXPECT_THAT(harness.recorded().rejects, IsEmpty());
  EXPECT_THAT(harness.ExternalIds(), ElementsAre("role-001", "role-003", "role-005"));
  ASSERT_THAT(harness.recorded().record_locations, SizeIs(3));
  EXPECT_EQ(harness.recorded().record_locations[1].row, 2u);
  EXPECT_EQ(harness.recorded().record_locations[1].file, "good.ndjson");
}

TEST(FhirImporterTest, EmptyBundleFixtureEmitsNothing) {
  Harness harness;
  EXPECT_EQ(harness.Parse(R"({"resourceType": "Bundle", "type": "collection"})"), EXPERTISE_OK);
  EXPECT_THAT(harness.recorded().records, IsEmpty());
  EXPECT_THAT(harness.recorded().rejects, IsEmpty());
}

// --- Input shapes -------------------------------------------------------------

struct ShapeCase {
  std::string name;
  std::string content;
  std::string file_name;
};

class InputShapeTest : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(InputShapeTest, EmitsTheSameRecords) {
  Harness harness;
  EXPECT_EQ(harness.Parse(GetParam().content, GetParam().file_name), EXPERTISE_OK);
  EXPECT_THAT(harness.recorded().rejects, IsEmpty());
  EXPECT_THAT(harness.ExternalIds(), ElementsAre("role-1", "role-2"));
}

const std::vector<json> kTwoRoles = {Role("role-1"), Practitioner("prac-1"), Role("role-2")};

INSTANTIATE_TEST_SUITE_P(
    Shapes, InputShapeTest,
    ::testing::Values(
        ShapeCase{"bundle", Bundle(kTwoRoles), "export.json"},
        ShapeCase{"ndjson", Ndjson(kTwoRoles), "export.ndjson"},
        ShapeCase{
            "ndjson_crlf_and_blank_lines",
            kTwoRoles[0].dump() + "\r\n\r\n" + kTwoRoles[1].dump() + "\r\n" + kTwoRoles[2].dump(),
            "export.ndjson"},
        // Recognised by content when not named .ndjson.
        ShapeCase{"ndjson_named_json", Ndjson(kTwoRoles), "export.json"},
        ShapeCase{"bundle_with_bom", "\xEF\xBB\xBF" + Bundle(kTwoRoles), "export.json"},
        ShapeCase{"searchset_bundle",
                  json({{"resourceType", "Bundle"},
                        {"type", "searchset"},
                        {"entry",
                         {{{"fullUrl", "https://fhir.example.org/PractitionerRole/role-1"},
                           {"resource", kTwoRoles[0]},
                           {"search", {{"mode", "match"}}}},
                          {{"resource", kTwoRoles[1]}, {"search", {{"mode", "include"}}}},
                          {{"resource", kTwoRoles[2]}},
                          {{"response", {{"status", "200"}}}}}}})
                      .dump(),
                  "search.json"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(FhirImporterTest, NdjsonRecordsCarryTheirLineNumbers) {
  Harness harness;
  EXPECT_EQ(harness.Parse(Ndjson(kTwoRoles), "export.ndjson"), EXPERTISE_OK);
  ASSERT_THAT(harness.recorded().record_locations, SizeIs(2));
  EXPECT_EQ(harness.recorded().record_locations[0].row, 1u);
  EXPECT_EQ(harness.recorded().record_locations[1].row, 3u);
  EXPECT_EQ(harness.recorded().record_locations[1].json_pointer, "");
  EXPECT_EQ(harness.recorded().record_locations[1].resource_id, "PractitionerRole/role-2");
}

TEST(FhirImporterTest, WhitespaceOnlyInputIsEmpty) {
  Harness harness;
  EXPECT_EQ(harness.Parse(" \n\r\n\t"), EXPERTISE_OK);
  EXPECT_THAT(harness.recorded().records, IsEmpty());
  EXPECT_THAT(harness.recorded().rejects, IsEmpty());
}

TEST(FhirImporterTest, IgnoresOtherResourceTypesWithADebugCount) {
  Harness harness;
  json patient = {{"resourceType", "Patient"}, {"id", "pat-1"}};
  json service = {{"resourceType", "HealthcareService"}, {"id", "hs-1"}};
  EXPECT_EQ(harness.Parse(Bundle({patient, Practitioner("prac-1"), Role("role-1"), service})),
            EXPERTISE_OK);
  EXPECT_THAT(harness.ExternalIds(), ElementsAre("role-1"));
  EXPECT_THAT(harness.recorded().rejects, IsEmpty());
  EXPECT_THAT(harness.recorded().logs,
              Contains("ignored resources of types this importer does not read"));
}

TEST(FhirImporterTest, SkipsInactiveRolesAndRolesOfInactivePractitioners) {
  json inactive_role = Role("role-1");
  inactive_role["active"] = false;
  json inactive_practitioner = Practitioner("prac-2");
  inactive_practitioner["active"] = false;
  Harness harness;
  EXPECT_EQ(harness.Parse(Bundle({Practitioner("prac-1"), inactive_role, inactive_practitioner,
                                  Role("role-2", "prac-2"), Role("role-3")})),
            EXPERTISE_OK);
  EXPECT_THAT(harness.ExternalIds(), ElementsAre("role-3"));
  EXPECT_THAT(harness.recorded().rejects, IsEmpty());
  EXPECT_THAT(harness.recorded().logs, Contains("skipped inactive PractitionerRole"));
  EXPECT_THAT(harness.recorded().logs,
              Contains("skipped PractitionerRole of an inactive Practitioner"));
}

// --- Joins and field mapping ----------------------------------------------------

TEST(FhirImporterTest, JoinsPractitionerOrganizationAndLocation) {
  json practitioner = Practitioner("prac-1", "", "2026-04-02T10:00:00Z");
  practitioner["name"] = {{{"family", "Okafor"}, {"given", {"Priya", "Ada"}}}};
  practitioner["qualification"] = {
      {{"code", {{"text", "HCPC registered"}}},
       {"identifier", {{{"system", "https://example.org/HCPC-register"}, {"value", "SL012345"}}}}}};
  practitioner["communication"] = {{{"coding", {Coding("urn:ietf:bcp:47", "en")}}},
                                   {{"coding", {Coding("urn:ietf:bcp:47", "bfi")}}}};
  json role = Role("role-1", "prac-1", {Coding(kSnomed, "159026005")}, "2026-04-03T09:30:00+01:00");
  role["organization"] = {{"reference", "Organization/org-1"}};
  role["location"] = {{{"reference", "Location/loc-1"}}, {{"reference", "Location/unused"}}};
  role["telecom"] = {
      {{"system", "phone"}, {"value", "07700 900000"}, {"use", "home"}},
      {{"system", "email"}, {"value", "mailto:priya.okafor@example.org"}, {"use", "work"}},
      {{"system", "phone"}, {"value", "01632 960001"}},
  };
  json organization = {
      {"resourceType", "Organization"}, {"id", "org-1"}, {"name", "Anytown Sensory Support"}};
  json location = {{"resourceType", "Location"},
                   {"id", "loc-1"},
                   {"position", {{"latitude", 54.68}, {"longitude", -1.23}}}};

  json record = OnlyRecord(Bundle({role, organization, practitioner, location}));
  EXPECT_EQ(record["externalId"], "role-1");
  EXPECT_EQ(record["displayName"], "Priya Ada Okafor");
  EXPECT_EQ(record["role"], "speech-language-therapist");
  EXPECT_EQ(record["workContact"], json({{"email", "priya.okafor@example.org"},
                                         {"phone", "01632 960001"},
                                         {"team", "Anytown Sensory Support"}}));
  EXPECT_DOUBLE_EQ(record["baseLocation"]["latitude"].get<double>(), 54.68);
  EXPECT_DOUBLE_EQ(record["baseLocation"]["longitude"].get<double>(), -1.23);
  EXPECT_EQ(record["registration"], json({{"body", "HCPC"}, {"number", "SL012345"}}));
  EXPECT_EQ(record["languages"], json({"en", "bfi"}));
  // The later of the role's and the practitioner's lastUpdated, in UTC.
  EXPECT_EQ(record["lastVerifyTime"], "2026-04-03T08:30:00Z");
  EXPECT_EQ(record["employerType"], "EMPLOYER_TYPE_NHS");
  EXPECT_EQ(record["visibility"], "VISIBILITY_REGION");
  EXPECT_EQ(record["deliveryModes"], json({"DELIVERY_MODE_IN_PERSON"}));
  EXPECT_EQ(record["ageRange"], json({{"minAge", 0}, {"maxAge", 25}}));
  EXPECT_FALSE(record.contains("capacity"));
  EXPECT_FALSE(record.contains("settings"));
}

TEST(FhirImporterTest, NameTextWinsOverGivenAndFamily) {
  json practitioner = Practitioner("prac-1");
  practitioner["name"] = {{{"text", " Dr Sam Patel "}, {"family", "Patel"}, {"given", {"Samir"}}},
                          {{"text", "Another Name"}}};
  EXPECT_EQ(OnlyRecord(Bundle({practitioner, Role("role-1")}))["displayName"], "Dr Sam Patel");
}

TEST(FhirImporterTest, OrganizationDisplayNamesTheTeamWithoutAReference) {
  json role = Role("role-1");
  role["organization"] = {{"display", "Anytown Portage Service"}};
  json record = OnlyRecord(Bundle({Practitioner("prac-1"), role}));
  EXPECT_EQ(record["workContact"]["team"], "Anytown Portage Service");
}

TEST(FhirImporterTest, LastUpdatedKeepsFractionalSeconds) {
  json role =
      Role("role-1", "prac-1", {Coding(kSnomed, "159026005")}, "2026-01-31T23:59:59.250-00:30");
  EXPECT_EQ(OnlyRecord(Bundle({Practitioner("prac-1"), role}))["lastVerifyTime"],
            "2026-02-01T00:29:59.25Z");
}

TEST(FhirImporterTest, ConfigSetsEmployerVisibilityAndDeliveryModes) {
  json record = OnlyRecord(Bundle({Practitioner("prac-1"), Role("role-1")}),
                           {{"employer_type", "local_authority"},
                            {"visibility", "national"},
                            {"delivery_modes", "in_person, remote"}});
  EXPECT_EQ(record["employerType"], "EMPLOYER_TYPE_LOCAL_AUTHORITY");
  EXPECT_EQ(record["visibility"], "VISIBILITY_NATIONAL");
  EXPECT_EQ(record["deliveryModes"], json({"DELIVERY_MODE_IN_PERSON", "DELIVERY_MODE_REMOTE"}));
}

TEST(FhirImporterTest, ExternalIdSystemPicksTheIdentifier) {
  json role = Role("role-1");
  role["identifier"] = {
      {{"system", "https://example.org/other"}, {"value", "X-1"}},
      {{"system", "https://example.org/la/E06000001/post"}, {"value", "POST-77"}}};
  json record = OnlyRecord(Bundle({Practitioner("prac-1"), role}),
                           {{"external_id_system", "https://example.org/la/E06000001/post"}});
  EXPECT_EQ(record["externalId"], "POST-77");
}

struct ReferenceCase {
  std::string name;
  std::string reference;
  std::string full_url;  // of the Practitioner's Bundle entry
};

class ReferenceTest : public ::testing::TestWithParam<ReferenceCase> {};

TEST_P(ReferenceTest, ResolvesThePractitioner) {
  json role = Role("role-1");
  role["practitioner"]["reference"] = GetParam().reference;
  role["contained"] = {Practitioner("inline", "Contained Person")};
  json entry = {{"resource", Practitioner("prac-1", "Alex Smith")}};
  if (!GetParam().full_url.empty()) entry["fullUrl"] = GetParam().full_url;
  json bundle = {{"resourceType", "Bundle"}, {"entry", {{{"resource", role}}, entry}}};
  json record = OnlyRecord(bundle.dump());
  EXPECT_EQ(record["displayName"],
            GetParam().reference == "#inline" ? "Contained Person" : "Alex Smith");
}

INSTANTIATE_TEST_SUITE_P(
    References, ReferenceTest,
    ::testing::Values(
        ReferenceCase{"relative", "Practitioner/prac-1", ""},
        ReferenceCase{"absolute_url", "https://fhir.example.org/R4/Practitioner/prac-1", ""},
        ReferenceCase{"versioned", "Practitioner/prac-1/_history/3", ""},
        ReferenceCase{"full_url_uuid", "urn:uuid:5a0f3c1e-0b7e-4c63-9d0a-2f1f4f7c1a01",
                      "urn:uuid:5a0f3c1e-0b7e-4c63-9d0a-2f1f4f7c1a01"},
        ReferenceCase{"contained", "#inline", ""}),
    [](const auto& test_info) { return test_info.param.name; });

// --- Role mapping -----------------------------------------------------------------

struct RoleCase {
  std::string name;
  std::vector<json> codings;
  ConfigMap config;
  std::string expected_role;
};

class RoleMappingTest : public ::testing::TestWithParam<RoleCase> {};

TEST_P(RoleMappingTest, MapsToTheRoleCode) {
  json record =
      OnlyRecord(Bundle({Practitioner("prac-1"), Role("role-1", "prac-1", GetParam().codings)}),
                 GetParam().config);
  EXPECT_EQ(record["role"], GetParam().expected_role);
}

INSTANTIATE_TEST_SUITE_P(
    Roles, RoleMappingTest,
    ::testing::Values(
        RoleCase{"snomed_slt", {Coding(kSnomed, "159026005")}, {}, "speech-language-therapist"},
        RoleCase{"snomed_community_slt",
                 {Coding(kSnomed, "224593000")},
                 {},
                 "speech-language-therapist"},
        RoleCase{
            "snomed_hospital_slt", {Coding(kSnomed, "309409001")}, {}, "speech-language-therapist"},
        RoleCase{
            "snomed_community_ot", {Coding(kSnomed, "309422009")}, {}, "occupational-therapist"},
        RoleCase{"snomed_community_physio", {Coding(kSnomed, "224589006")}, {}, "physiotherapist"},
        RoleCase{"snomed_ep", {Coding(kSnomed, "310192008")}, {}, "educational-psychologist"},
        RoleCase{"snomed_paediatric_audiologist",
                 {Coding(kSnomed, "310170009")},
                 {},
                 "paediatric-audiologist"},
        RoleCase{"snomed_bsl", {Coding(kSnomed, "224625007")}, {}, "bsl-interpreter"},
        RoleCase{"local_system",
                 {Coding(kLocalRole, "qualified-teacher-deaf")},
                 {},
                 "qualified-teacher-deaf"},
        RoleCase{"local_system_configured",
                 {Coding("https://example.org/roles", "portage-home-visitor")},
                 {{"local_role_system", "https://example.org/roles"}},
                 "portage-home-visitor"},
        RoleCase{"skips_unknown_codings_first",
                 {Coding("https://example.org/x", "T1"), Coding(kSnomed, "36682004")},
                 {},
                 "physiotherapist"},
        RoleCase{"local_system_beats_snomed",
                 {Coding(kSnomed, "159026005"), Coding(kLocalRole, "aac-specialist")},
                 {},
                 "aac-specialist"},
        RoleCase{"role_map_overrides_snomed",
                 {Coding(kSnomed, "224594006")},
                 {{"role_map", "224594006=communication-support-worker"}},
                 "communication-support-worker"},
        RoleCase{"role_map_any_system",
                 {Coding("https://example.org/hr", "HAB")},
                 {{"role_map", "TOD=qualified-teacher-deaf, HAB=habilitation-specialist"}},
                 "habilitation-specialist"},
        RoleCase{"role_map_with_system",
                 {Coding("https://example.org/hr", "QTVI")},
                 {{"role_map",
                   "https://example.org/other|QTVI=specialist-teacher,"
                   "https://example.org/hr|QTVI=qualified-teacher-vision-impairment"}},
                 "qualified-teacher-vision-impairment"},
        RoleCase{"role_map_later_entry_wins",
                 {Coding("https://example.org/hr", "ST")},
                 {{"role_map", "ST=specialist-teacher,ST=advisory-teacher"}},
                 "advisory-teacher"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(FhirImporterTest, MapsSpecialismsFromTheLocalSystemAndSpecialismMap) {
  json role = Role("role-1");
  role["specialty"] = {
      {{"coding", {Coding(kLocalSpecialism, "autism"), Coding(kLocalSpecialism, "autism")}}},
      {{"coding",
        {Coding("https://fhir.hl7.org.uk/CodeSystem/UKCore-PracticeSettingCode", "420")}}},
      {{"coding", {Coding("https://example.org/needs", "SLCN")}}},
  };
  json record = OnlyRecord(Bundle({Practitioner("prac-1"), role}),
                           {{"specialism_map", "SLCN=speech-language-communication"}});
  EXPECT_EQ(record["specialisms"], json({"autism", "speech-language-communication"}));
}

// --- Settings, ages and capacity ----------------------------------------------------

TEST(FhirImporterTest, ReadsSettingAndAgeRangeExtensions) {
  json role = Role("role-1");
  role["extension"] = {
      Extension("setting", "valueCode", "primary"),
      Extension("setting", "valueCoding", Coding("https://example.org/settings", "special-school")),
      Extension("age-range", "valueRange",
                {{"low", {{"value", 2}, {"code", "a"}}}, {"high", {{"value", 11.0}}}}),
  };
  json record = OnlyRecord(Bundle({Practitioner("prac-1"), role}),
                           {{"default_settings", "secondary"}, {"default_max_age", "19"}});
  EXPECT_EQ(record["settings"], json({"primary", "special-school"}));
  EXPECT_EQ(record["ageRange"], json({{"minAge", 2}, {"maxAge", 11}}));
}

TEST(FhirImporterTest, UsesConfiguredDefaultsWithoutExtensions) {
  json record = OnlyRecord(Bundle({Practitioner("prac-1"), Role("role-1")}),
                           {{"default_settings", "early-years-pvi,childminder"},
                            {"default_min_age", "0"},
                            {"default_max_age", "5"}});
  EXPECT_EQ(record["settings"], json({"early-years-pvi", "childminder"}));
  EXPECT_EQ(record["ageRange"], json({{"minAge", 0}, {"maxAge", 5}}));
}

TEST(FhirImporterTest, AgeRangeWithOneEndKeepsTheOtherDefault) {
  json role = Role("role-1");
  role["extension"] = {Extension("age-range", "valueRange", {{"high", {{"value", 16}}}})};
  json record = OnlyRecord(Bundle({Practitioner("prac-1"), role}), {{"default_min_age", "3"}});
  EXPECT_EQ(record["ageRange"], json({{"minAge", 3}, {"maxAge", 16}}));
}

struct CapacityCase {
  std::string name;
  json available_time;
  std::optional<double> expected_hours;
};

class CapacityTest : public ::testing::TestWithParam<CapacityCase> {};

TEST_P(CapacityTest, SumsAvailableTime) {
  json role = Role("role-1");
  role["availableTime"] = GetParam().available_time;
  json record = OnlyRecord(Bundle({Practitioner("prac-1"), role}));
  if (GetParam().expected_hours) {
    EXPECT_DOUBLE_EQ(record["capacity"]["contractedHoursPerWeek"].get<double>(),
                     *GetParam().expected_hours);
  } else {
    EXPECT_FALSE(record.contains("capacity")) << record.dump();
  }
}

json Slot(std::vector<std::string> days, const std::string& start, const std::string& end) {
  return {{"daysOfWeek", days}, {"availableStartTime", start}, {"availableEndTime", end}};
}

const std::vector<std::string> kEveryDay = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

INSTANTIATE_TEST_SUITE_P(
    AvailableTime, CapacityTest,
    ::testing::Values(
        CapacityCase{
            "three_days_nine_to_five", {Slot({"mon", "tue", "wed"}, "09:00:00", "17:00:00")}, 24},
        CapacityCase{"all_day_counts_seven_and_a_half_hours",
                     {{{"daysOfWeek", {"mon", "tue", "wed", "thu", "fri"}}, {"allDay", true}}},
                     37.5},
        CapacityCase{
            "entries_add_up",
            {Slot({"mon", "tue"}, "09:00:00", "13:00:00"), Slot({"wed"}, "13:30:00", "17:00:00")},
            11.5},
        CapacityCase{"repeated_day_counts_once", {Slot({"mon", "mon"}, "09:00:00", "17:00:00")}, 8},
        CapacityCase{
            "fractional_seconds_and_hh_mm", {Slot({"fri"}, "09:00", "12:20:00.000")}, 3.33},
        CapacityCase{
            "capped_at_168",
            {Slot(kEveryDay, "00:00:00", "23:00:00"), Slot(kEveryDay, "00:00:00", "23:00:00")},
            168},
        CapacityCase{"days_without_times_give_no_hours", {{{"daysOfWeek", {"mon"}}}}, std::nullopt},
        CapacityCase{"empty_list", json::array(), std::nullopt}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(FhirImporterTest, ReadsCommittedHoursExtension) {
  json role = Role("role-1");
  role["availableTime"] = {Slot({"mon", "tue"}, "09:00:00", "17:00:00")};
  role["extension"] = {Extension("committed-hours", "valueDecimal", 12.5)};
  json record = OnlyRecord(Bundle({Practitioner("prac-1"), role}));
  EXPECT_EQ(record["capacity"],
            json({{"contractedHoursPerWeek", 16}, {"committedHoursPerWeek", 12.5}}));
}

// --- Rejects ------------------------------------------------------------------------

struct RejectCase {
  std::string name;
  std::string content;
  std::string file_name;
  ConfigMap config;
  expertise_reject_reason reason;
  uint64_t row;
  std::string json_pointer;
  std::string resource_id;
  size_t records;  // emitted besides the reject
};

class RejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(RejectTest, RejectsWithReasonAndLocation) {
  const RejectCase& c = GetParam();
  Harness harness(c.config);
  ASSERT_NE(harness.importer(), nullptr);
  EXPECT_EQ(harness.Parse(c.content, c.file_name), EXPERTISE_OK);
  ASSERT_THAT(harness.recorded().rejects, SizeIs(1));
  const testing::RecordedReject& reject = harness.recorded().rejects[0];
  EXPECT_EQ(reject.reason, c.reason) << reject.message;
  EXPECT_EQ(reject.where.file, c.file_name);
  EXPECT_EQ(reject.where.row, c.row);
  EXPECT_EQ(reject.where.json_pointer, c.json_pointer);
  EXPECT_EQ(reject.where.resource_id, c.resource_id);
  EXPECT_NE(reject.message, "");
  EXPECT_THAT(harness.recorded().records, SizeIs(c.records));
}

json WithField(json resource, const std::string& key, json value) {
  resource[key] = std::move(value);
  return resource;
}

json WithoutField(json resource, const std::string& key) {
  resource.erase(key);
  return resource;
}

json WithExtension(json resource, json extension) {
  resource["extension"].push_back(std::move(extension));
  return resource;
}

std::string Nested(int depth) {
  return R"({"resourceType": "Basic", "x": )" + std::string(depth, '[') + std::string(depth, ']') +
         "}";
}

const json kPractitioner = Practitioner("prac-1");
const json kRole = Role("role-1");

INSTANTIATE_TEST_SUITE_P(
    Reasons, RejectTest,
    ::testing::Values(
        RejectCase{"ndjson_bad_line_continues",
                   kPractitioner.dump() + "\n{\"resourceType\": \"PractitionerRole\", \"id\": \n" +
                       kRole.dump() + "\n",
                   "export.ndjson",
                   {},
                   EXPERTISE_REJECT_PARSE,
                   2,
                   "",
                   "",
                   1},
        RejectCase{"ndjson_line_not_utf8",
                   kPractitioner.dump() + "\n{\"resourceType\": \"Basic\", \"id\": \"caf\xE9\"}\n" +
                       kRole.dump() + "\n",
                   "export.ndjson",
                   {},
                   EXPERTISE_REJECT_PARSE,
                   2,
                   "",
                   "",
                   1},
        RejectCase{"bundle_unparseable",
                   R"({"resourceType": "Bundle", "entry": [)",
                   "export.json",
                   {},
                   EXPERTISE_REJECT_PARSE,
                   0,
                   "",
                   "",
                   0},
        RejectCase{"bundle_not_utf8",
                   Bundle({kPractitioner, kRole}) + "\xC3\x28",
                   "export.json",
                   {},
                   EXPERTISE_REJECT_PARSE,
                   0,
                   "",
                   "",
                   0},
        RejectCase{"nested_too_deep",
                   Nested(100),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_PARSE,
                   0,
                   "",
                   "",
                   0},
        RejectCase{"top_level_not_an_object",
                   "[1, 2]",
                   "export.json",
                   {},
                   EXPERTISE_REJECT_SCHEMA,
                   0,
                   "",
                   "",
                   0},
        RejectCase{"entry_without_resource_type",
                   Bundle({kPractitioner, json({{"id", "x"}}), kRole}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_SCHEMA,
                   0,
                   "/entry/1/resource",
                   "",
                   1},
        RejectCase{
            "unknown_role_code",
            Bundle({kPractitioner, Role("role-1", "prac-1", {Coding(kSnomed, "106289002")})}),
            "export.json",
            {},
            EXPERTISE_REJECT_REFERENCE,
            0,
            "/entry/1/resource",
            "PractitionerRole/role-1",
            0},
        RejectCase{
            "unknown_local_role_code",
            Bundle({kPractitioner, Role("role-1", "prac-1", {Coding(kLocalRole, "wizard")})}),
            "export.json",
            {},
            EXPERTISE_REJECT_REFERENCE,
            0,
            "/entry/1/resource",
            "PractitionerRole/role-1",
            0},
        RejectCase{"no_role_code",
                   Bundle({kPractitioner, WithoutField(kRole, "code")}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_REFERENCE,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{"missing_practitioner_reference",
                   Bundle({kPractitioner, Role("role-0"), WithoutField(kRole, "practitioner")}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_REFERENCE,
                   0,
                   "/entry/2/resource",
                   "PractitionerRole/role-1",
                   1},
        RejectCase{"unresolved_practitioner",
                   Bundle({kPractitioner, Role("role-1", "prac-9")}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_REFERENCE,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{"practitioner_reference_without_literal",
                   Bundle({kPractitioner,
                           WithField(kRole, "practitioner", {{"identifier", {{"value", "HR1"}}}})}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_REFERENCE,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{
            "practitioner_reference_to_wrong_type",
            Bundle({kPractitioner,
                    json({{"resourceType", "Organization"}, {"id", "prac-1"}, {"name", "x"}}),
                    WithField(kRole, "practitioner", {{"reference", "Organization/prac-1"}})}),
            "export.json",
            {},
            EXPERTISE_REJECT_REFERENCE,
            0,
            "/entry/2/resource",
            "PractitionerRole/role-1",
            0},
        RejectCase{"unresolved_organization",
                   Bundle({kPractitioner,
                           WithField(kRole, "organization", {{"reference", "Organization/o"}})}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_REFERENCE,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{
            "unresolved_location",
            Bundle({kPractitioner, WithField(kRole, "location", {{{"reference", "Location/l"}}})}),
            "export.json",
            {},
            EXPERTISE_REJECT_REFERENCE,
            0,
            "/entry/1/resource",
            "PractitionerRole/role-1",
            0},
        RejectCase{"unknown_local_specialism",
                   Bundle({kPractitioner,
                           WithField(kRole, "specialty",
                                     {{{"coding", {Coding(kLocalSpecialism, "dragons")}}}})}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_REFERENCE,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{"unknown_setting",
                   Bundle({kPractitioner,
                           WithExtension(kRole, Extension("setting", "valueCode", "moon-base"))}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_REFERENCE,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{"duplicate_external_id",
                   Ndjson({kPractitioner, kRole, kRole}),
                   "export.ndjson",
                   {},
                   EXPERTISE_REJECT_DUPLICATE_KEY,
                   3,
                   "",
                   "PractitionerRole/role-1",
                   1},
        RejectCase{"duplicate_identifier",
                   Ndjson({kPractitioner,
                           WithField(Role("role-1"), "identifier",
                                     {{{"system", "urn:post"}, {"value", "P1"}}}),
                           WithField(Role("role-2"), "identifier",
                                     {{{"system", "urn:post"}, {"value", "P1"}}})}),
                   "export.ndjson",
                   {{"external_id_system", "urn:post"}},
                   EXPERTISE_REJECT_DUPLICATE_KEY,
                   3,
                   "",
                   "PractitionerRole/role-2",
                   1},
        RejectCase{"unparsable_start_time",
                   Bundle({kPractitioner,
                           WithField(kRole, "availableTime", {Slot({"mon"}, "9am", "17:00:00")})}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_SCHEMA,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{"unparsable_end_time",
                   Bundle({kPractitioner, WithField(kRole, "availableTime",
                                                    {Slot({"mon"}, "09:00:00", "25:00:00")})}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_SCHEMA,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{"missing_end_time",
                   Bundle({kPractitioner, WithField(kRole, "availableTime",
                                                    {{{"daysOfWeek", {"mon"}},
                                                      {"availableStartTime", "09:00:00"}}})}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_SCHEMA,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{"unknown_day",
                   Bundle({kPractitioner, WithField(kRole, "availableTime",
                                                    {Slot({"monday"}, "09:00:00", "17:00:00")})}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_SCHEMA,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{"end_before_start",
                   Bundle({kPractitioner, WithField(kRole, "availableTime",
                                                    {Slot({"mon"}, "17:00:00", "09:00:00")})}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_VALUE,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{"bad_last_updated",
                   Bundle({kPractitioner,
                           Role("role-1", "prac-1", {Coding(kSnomed, "159026005")}, "yesterday")}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_SCHEMA,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{
            "age_out_of_range",
            Bundle({kPractitioner, WithExtension(kRole, Extension("age-range", "valueRange",
                                                                  {{"high", {{"value", 30}}}}))}),
            "export.json",
            {},
            EXPERTISE_REJECT_VALUE,
            0,
            "/entry/1/resource",
            "PractitionerRole/role-1",
            0},
        RejectCase{"committed_hours_out_of_range",
                   Bundle({kPractitioner, WithExtension(kRole, Extension("committed-hours",
                                                                         "valueDecimal", 200))}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_VALUE,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{
            "position_out_of_range",
            Bundle({kPractitioner, WithField(kRole, "location", {{{"reference", "Location/l"}}}),
                    json({{"resourceType", "Location"},
                          {"id", "l"},
                          {"position", {{"latitude", 154.6}, {"longitude", -1.2}}}})}),
            "export.json",
            {},
            EXPERTISE_REJECT_VALUE,
            0,
            "/entry/1/resource",
            "PractitionerRole/role-1",
            0},
        RejectCase{"practitioner_without_name",
                   Bundle({WithoutField(kPractitioner, "name"), kRole}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_REQUIRED,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0},
        RejectCase{"role_without_id",
                   Bundle({kPractitioner, WithoutField(kRole, "id")}),
                   "export.json",
                   {},
                   EXPERTISE_REJECT_REQUIRED,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole",
                   0},
        RejectCase{"no_identifier_of_external_id_system",
                   Bundle({kPractitioner, kRole}),
                   "export.json",
                   {{"external_id_system", "urn:post"}},
                   EXPERTISE_REJECT_REQUIRED,
                   0,
                   "/entry/1/resource",
                   "PractitionerRole/role-1",
                   0}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(FhirImporterTest, UnparseableBundleGivesOneRejectAndNothingElse) {
  Harness harness;
  EXPECT_EQ(harness.Parse("{\"resourceType\": \"Bundle\",\n \"entry\": [ {\"resource\": tru"),
            EXPERTISE_OK);
  ASSERT_THAT(harness.recorded().rejects, SizeIs(1));
  EXPECT_EQ(harness.recorded().rejects[0].reason, EXPERTISE_REJECT_PARSE);
  EXPECT_THAT(harness.recorded().rejects[0].message, HasSubstr("line 2"));
  EXPECT_THAT(harness.recorded().records, IsEmpty());
  EXPECT_THAT(harness.recorded().checkpoints, IsEmpty());
}

TEST(FhirImporterTest, RoleRejectsCarryTheExternalIdAndAnExcerptOfTheRole) {
  Harness harness;
  harness.Parse(Bundle({kPractitioner, Role("role-7", "prac-1", {Coding(kSnomed, "1")})}));
  ASSERT_THAT(harness.recorded().rejects, SizeIs(1));
  EXPECT_EQ(harness.recorded().rejects[0].external_id, "role-7");
  EXPECT_THAT(harness.recorded().rejects[0].message, HasSubstr("http://snomed.info/sct|1"));
  EXPECT_THAT(harness.recorded().rejects[0].raw_excerpt, HasSubstr("\"role-7\""));
}

// --- Incremental sync ---------------------------------------------------------------

TEST(FhirImporterTest, IncrementalEmitsOnlyRolesChangedAfterTheCursor) {
  const std::string cursor = "2026-04-03T10:00:00+01:00";  // 09:00Z
  const std::vector<json> resources = {
      Practitioner("prac-old", "Old Person", "2026-01-01T00:00:00Z"),
      Practitioner("prac-new", "New Person", "2026-04-03T09:30:00Z"),
      Practitioner("prac-undated", "Undated Person"),
      Role("unchanged", "prac-old", {Coding(kSnomed, "159026005")}, "2026-04-03T08:59:59Z"),
      Role("role-changed", "prac-old", {Coding(kSnomed, "159026005")}, "2026-04-03T09:00:01Z"),
      Role("practitioner-changed", "prac-new", {Coding(kSnomed, "159026005")},
           "2026-03-01T00:00:00Z"),
      Role("role-undated", "prac-old"),
      Role("practitioner-undated", "prac-undated", {Coding(kSnomed, "159026005")},
           "2026-03-01T00:00:00Z"),
      Role("at-cursor", "prac-old", {Coding(kSnomed, "159026005")}, "2026-04-03T09:00:00Z"),
  };
  Harness harness;
  EXPECT_EQ(harness.Parse(Bundle(resources), "since.json", EXPERTISE_SYNC_INCREMENTAL, cursor),
            EXPERTISE_OK);
  EXPECT_THAT(harness.ExternalIds(), ElementsAre("role-changed", "practitioner-changed",
                                                 "role-undated", "practitioner-undated"));
  EXPECT_THAT(harness.recorded().checkpoints, ElementsAre("2026-04-03T09:30:00Z"));
}

TEST(FhirImporterTest, IncrementalWithoutStateEmitsEverythingAndCheckpoints) {
  Harness harness;
  EXPECT_EQ(harness.Parse(Ndjson({Practitioner("prac-1", "A B", "2026-02-01T00:00:00.5Z"),
                                  Role("role-1", "prac-1", {Coding(kSnomed, "159026005")},
                                       "2026-01-01T00:00:00Z")}),
                          "all.ndjson", EXPERTISE_SYNC_INCREMENTAL, ""),
            EXPERTISE_OK);
  EXPECT_THAT(harness.ExternalIds(), ElementsAre("role-1"));
  EXPECT_THAT(harness.recorded().checkpoints, ElementsAre("2026-02-01T00:00:00.5Z"));
}

TEST(FhirImporterTest, IncrementalCheckpointNeverMovesBackwards) {
  Harness harness;
  harness.Parse(
      Bundle({Practitioner("prac-1", "A B", "2026-01-01T00:00:00Z"),
              Role("role-1", "prac-1", {Coding(kSnomed, "159026005")}, "2026-01-01T00:00:00Z")}),
      "old.json", EXPERTISE_SYNC_INCREMENTAL, "2026-05-01T00:00:00Z");
  EXPECT_THAT(harness.recorded().records, IsEmpty());
  EXPECT_THAT(harness.recorded().checkpoints, ElementsAre("2026-05-01T00:00:00Z"));
}

TEST(FhirImporterTest, IncrementalWithoutAnyLastUpdatedDoesNotCheckpoint) {
  Harness harness;
  harness.Parse(Bundle({Practitioner("prac-1"), Role("role-1")}), "x.json",
                EXPERTISE_SYNC_INCREMENTAL, "2026-05-01T00:00:00Z");
  EXPECT_THAT(harness.ExternalIds(), ElementsAre("role-1"));
  EXPECT_THAT(harness.recorded().checkpoints, IsEmpty());
}

TEST(FhirImporterTest, IncrementalWithUnreadableStateEmitsEverything) {
  Harness harness;
  harness.Parse(
      Bundle({Practitioner("prac-1"),
              Role("role-1", "prac-1", {Coding(kSnomed, "159026005")}, "2026-01-01T00:00:00Z")}),
      "x.json", EXPERTISE_SYNC_INCREMENTAL, "not-a-time");
  EXPECT_THAT(harness.ExternalIds(), ElementsAre("role-1"));
  EXPECT_THAT(harness.recorded().logs, Contains(HasSubstr("incremental state is not")));
  EXPECT_THAT(harness.recorded().checkpoints, ElementsAre("2026-01-01T00:00:00Z"));
}

TEST(FhirImporterTest, IncrementalDoesNotRejectUnchangedRolesAgain) {
  Harness harness;
  harness.Parse(
      Bundle({Role("role-1", "prac-gone", {Coding(kSnomed, "159026005")}, "2026-01-01T00:00:00Z")}),
      "x.json", EXPERTISE_SYNC_INCREMENTAL, "2026-02-01T00:00:00Z");
  EXPECT_THAT(harness.recorded().rejects, IsEmpty());
}

TEST(FhirImporterTest, SnapshotIgnoresStateAndNeverCheckpoints) {
  Harness harness;
  harness.Parse(
      Bundle({Practitioner("prac-1"),
              Role("role-1", "prac-1", {Coding(kSnomed, "159026005")}, "2026-01-01T00:00:00Z")}),
      "x.json", EXPERTISE_SYNC_SNAPSHOT, "2026-05-01T00:00:00Z");
  EXPECT_THAT(harness.ExternalIds(), ElementsAre("role-1"));
  EXPECT_THAT(harness.recorded().checkpoints, IsEmpty());
}

// --- Cancellation and limits ----------------------------------------------------------

TEST(FhirImporterTest, CancelBeforeParseReturnsCancelled) {
  Harness harness;
  harness.importer()->Cancel();
  EXPECT_EQ(harness.Parse(Bundle(kTwoRoles)), EXPERTISE_CANCELLED);
  EXPECT_THAT(harness.recorded().records, IsEmpty());
}

TEST(FhirImporterTest, StopFromEmitReturnsCancelledAtOnce) {
  Harness harness;
  harness.recorded().StopAfter(1);
  EXPECT_EQ(harness.Parse(Bundle(kTwoRoles), "x.json", EXPERTISE_SYNC_INCREMENTAL),
            EXPERTISE_CANCELLED);
  EXPECT_THAT(harness.recorded().records, SizeIs(1));
  EXPECT_THAT(harness.recorded().checkpoints, IsEmpty());
}

TEST(FhirImporterTest, RefusesInputOverMaxInputBytes) {
  Harness harness(ConfigMap{{"max_input_bytes", "100"}});
  const std::string content = Bundle(kTwoRoles);
  ASSERT_GT(content.size(), 100u);
  EXPECT_EQ(harness.Parse(content), EXPERTISE_ERROR);
  EXPECT_THAT(harness.recorded().logs, Contains("input is larger than max_input_bytes"));
  EXPECT_THAT(harness.recorded().records, IsEmpty());
}

TEST(FhirImporterTest, ReadLoadsTheFileAndReportsItsBaseName) {
  const std::filesystem::path path =
      std::filesystem::path(::testing::TempDir()) / "fhir_importer_test_input.ndjson";
  {
    std::ofstream out(path, std::ios::binary);
    out << Ndjson(kTwoRoles);
  }
  Harness harness;
  importer::ReadRequest request;
  request.input_path = path.string();
  importer::Host host = harness.recorded().host();
  EXPECT_EQ(harness.importer()->Read(request, host), EXPERTISE_OK);
  EXPECT_THAT(harness.ExternalIds(), ElementsAre("role-1", "role-2"));
  EXPECT_EQ(harness.recorded().record_locations[0].file, "fhir_importer_test_input.ndjson");
  std::filesystem::remove(path);
}

TEST(FhirImporterTest, ReadFailsOnAMissingOrOversizedFile) {
  Harness harness(ConfigMap{{"max_input_bytes", "10"}});
  importer::Host host = harness.recorded().host();
  importer::ReadRequest request;
  request.input_path = "/nonexistent/fhir.json";
  EXPECT_EQ(harness.importer()->Read(request, host), EXPERTISE_ERROR);

  const std::filesystem::path path =
      std::filesystem::path(::testing::TempDir()) / "fhir_importer_test_big.json";
  {
    std::ofstream out(path, std::ios::binary);
    out << Bundle(kTwoRoles);
  }
  request.input_path = path.string();
  EXPECT_EQ(harness.importer()->Read(request, host), EXPERTISE_ERROR);
  EXPECT_THAT(harness.recorded().logs, Contains("input is larger than max_input_bytes"));
  std::filesystem::remove(path);
}

// --- Configuration --------------------------------------------------------------------

struct ConfigCase {
  std::string name;
  ConfigMap config;
  std::string bad_key;
};

class ConfigErrorTest : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(ConfigErrorTest, NamesTheBadKey) {
  testing::RecordingHost recording;
  importer::Host host = recording.host();
  EXPECT_EQ(FhirImporter::Create(MakeConfig(GetParam().config), host), nullptr);
  ASSERT_THAT(recording.config_errors, SizeIs(1));
  EXPECT_EQ(recording.config_errors[0].first, GetParam().bad_key);
  EXPECT_NE(recording.config_errors[0].second, "");
}

INSTANTIATE_TEST_SUITE_P(
    Keys, ConfigErrorTest,
    ::testing::Values(
        ConfigCase{"role_map_without_equals", {{"role_map", "159026005"}}, "role_map"},
        ConfigCase{"role_map_unknown_role", {{"role_map", "159026005=wizard"}}, "role_map"},
        ConfigCase{"role_map_empty_code", {{"role_map", "=orthoptist"}}, "role_map"},
        ConfigCase{"role_map_specialism_as_role", {{"role_map", "X=autism"}}, "role_map"},
        ConfigCase{"specialism_map_unknown", {{"specialism_map", "X=dragons"}}, "specialism_map"},
        ConfigCase{"default_settings_unknown",
                   {{"default_settings", "primary,moon-base"}},
                   "default_settings"},
        ConfigCase{"default_min_age_too_high", {{"default_min_age", "26"}}, "default_min_age"},
        ConfigCase{"default_min_age_negative", {{"default_min_age", "-1"}}, "default_min_age"},
        ConfigCase{"default_max_age_not_a_number", {{"default_max_age", "ten"}}, "default_max_age"},
        ConfigCase{"default_ages_inverted",
                   {{"default_min_age", "12"}, {"default_max_age", "5"}},
                   "default_max_age"},
        ConfigCase{"employer_type_unknown", {{"employer_type", "council"}}, "employer_type"},
        ConfigCase{"visibility_unknown", {{"visibility", "public"}}, "visibility"},
        ConfigCase{
            "delivery_mode_unknown", {{"delivery_modes", "in_person,pigeon"}}, "delivery_modes"},
        ConfigCase{"delivery_modes_empty", {{"delivery_modes", " , "}}, "delivery_modes"},
        ConfigCase{"max_input_bytes_zero", {{"max_input_bytes", "0"}}, "max_input_bytes"}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(FhirImporterTest, ReportsEveryBadKey) {
  testing::RecordingHost recording;
  importer::Host host = recording.host();
  EXPECT_EQ(
      FhirImporter::Create(
          MakeConfig({{"role_map", "a=b"}, {"visibility", "everyone"}, {"default_min_age", "99"}}),
          host),
      nullptr);
  EXPECT_THAT(recording.config_errors,
              ElementsAre(Pair("role_map", HasSubstr("\"b\" is not a role code")),
                          Pair("default_min_age", HasSubstr("outside 0 to 25")),
                          Pair("visibility", HasSubstr("not one of"))));
}

TEST(FhirImporterTest, AcceptsAFullValidConfig) {
  testing::RecordingHost recording;
  importer::Host host = recording.host();
  auto importer = FhirImporter::Create(
      MakeConfig(
          {{"local_role_system", ""},
           {"local_specialism_system", "https://example.org/needs"},
           {"role_map",
            "https://example.org/hr|SLT=speech-language-therapist, TOD=qualified-teacher-deaf"},
           {"specialism_map", "ASD=autism"},
           {"default_settings", "primary, secondary"},
           {"default_min_age", "4"},
           {"default_max_age", "19"},
           {"external_id_system", "https://example.org/post"},
           {"employer_type", "school_or_trust"},
           {"visibility", "own_authority"},
           {"delivery_modes", "remote"},
           {"max_input_bytes", "1048576"}}),
      host);
  ASSERT_NE(importer, nullptr);
  EXPECT_THAT(recording.config_errors, IsEmpty());
  EXPECT_THAT(
      importer->options().role_map,
      Contains(AllOf(Field(&FhirImporter::CodeMapping::system, "https://example.org/hr"),
                     Field(&FhirImporter::CodeMapping::code, "SLT"),
                     Field(&FhirImporter::CodeMapping::target, "speech-language-therapist"))));
}

// --- Data minimisation ---------------------------------------------------------------

TEST(FhirImporterTest, NeverEmitsBirthDateGenderAddressOrPhoto) {
  const std::string kSentinel = "SENTINEL-7f3a";
  json practitioner = Practitioner("prac-1", "Alex Smith");
  practitioner["birthDate"] = "1901-02-03";
  practitioner["gender"] = kSentinel + "-gender";
  practitioner["address"] = {
      {{"use", "home"}, {"line", {kSentinel + " 1 High Street"}}, {"postalCode", kSentinel}}};
  practitioner["photo"] = {{{"contentType", "image/png"},
                            {"data", "U0VOVElORUwtN2YzYQ=="},
                            {"title", kSentinel + "-photo"}}};
  practitioner["telecom"] = {
      {{"system", "phone"}, {"value", kSentinel + "-home"}, {"use", "home"}}};
  json role = Role("role-1");
  role["telecom"] = {{{"system", "phone"}, {"value", kSentinel + "-mobile"}, {"use", "mobile"}},
                     {{"system", "email"}, {"value", "alex.smith@example.org"}, {"use", "work"}}};
  // A broken Practitioner line must not be echoed into a reject either.
  const std::string broken_line =
      R"({"resourceType": "Practitioner", "id": "prac-2", "birthDate": 1901-02-03 ")" + kSentinel +
      "\n";

  for (uint32_t mode : {EXPERTISE_SYNC_SNAPSHOT, EXPERTISE_SYNC_INCREMENTAL}) {
    Harness harness;
    EXPECT_EQ(harness.Parse(Ndjson({practitioner, role}) + broken_line, "x.ndjson", mode),
              EXPERTISE_OK);
    ASSERT_THAT(harness.recorded().records, SizeIs(1));
    ASSERT_THAT(harness.recorded().rejects, SizeIs(1));
    for (const std::string& record : harness.recorded().records) {
      EXPECT_THAT(record, Not(HasSubstr(kSentinel)));
      EXPECT_THAT(record, Not(HasSubstr("1901")));
      EXPECT_THAT(record, Not(HasSubstr("U0VOVElORUwtN2YzYQ")));
      json parsed = json::parse(record);
      for (const char* key : {"birthDate", "gender", "address", "photo"}) {
        EXPECT_FALSE(parsed.contains(key)) << key;
      }
      EXPECT_EQ(parsed["workContact"], json({{"email", "alex.smith@example.org"}}));
    }
    for (const testing::RecordedReject& reject : harness.recorded().rejects) {
      EXPECT_THAT(reject.message, Not(HasSubstr(kSentinel)));
      EXPECT_THAT(reject.message, Not(HasSubstr("1901")));
      EXPECT_THAT(reject.raw_excerpt, Not(HasSubstr(kSentinel)));
    }
    for (const std::string& log : harness.recorded().logs) {
      EXPECT_THAT(log, Not(HasSubstr(kSentinel)));
    }
  }
}

}  // namespace
}  // namespace expertise::plugins
