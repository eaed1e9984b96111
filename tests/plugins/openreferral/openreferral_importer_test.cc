// Copyright expertise-directory authors.

#include "plugins/openreferral/openreferral_importer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "expertise/importer_abi.h"
#include "expertise/importer_plugin.hpp"
#include "tests/testutil/recording_host.h"

namespace expertise::plugins {
namespace {

using ::expertise::importer::Config;
using ::expertise::importer::ReadRequest;
using ::expertise::testing::RecordingHost;
using ::nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using Entries = std::vector<std::pair<std::string, std::string>>;

// The fixtures sit beside the plugin; found from this file so the test runs
// from any directory (CMake may override with an absolute path).
#ifndef EXPERTISE_OPENREFERRAL_TESTDATA
#define EXPERTISE_OPENREFERRAL_TESTDATA ""
#endif
std::filesystem::path TestdataDir() {
  if (std::string(EXPERTISE_OPENREFERRAL_TESTDATA).empty()) {
    return std::filesystem::path(__FILE__).parent_path() / "../../../plugins/openreferral/testdata";
  }
  return EXPERTISE_OPENREFERRAL_TESTDATA;
}

std::string ReadTestdata(const std::string& name) {
  std::ifstream in(TestdataDir() / name, std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The mapping of testdata/config.json.
const Entries kBaseConfig = {
    {"role_map",
     "SLT=speech-language-therapist,EP=educational-psychologist,QTOD=qualified-teacher-deaf,"
     "OT=occupational-therapist,Portage home visiting=portage-home-visitor"},
    {"specialism_map", "HI=hearing-impairment,AUT=autism,SLCN=speech-language-communication"},
    {"setting_map",
     "Primary school=primary,Secondary school=secondary,Early years=early-years-maintained"},
    {"delivery_modes", "in_person,remote"},
};

// Builds a Config the way the host hands it over; `overrides` replace or
// add keys of `base`.
Config MakeConfig(const Entries& base, const Entries& overrides = {}) {
  std::vector<std::pair<std::string, std::string>> merged = base;
  for (const auto& [key, value] : overrides) {
    bool replaced = false;
    for (auto& entry : merged) {
      if (entry.first == key) entry.second = value, replaced = true;
    }
    if (!replaced) merged.emplace_back(key, value);
  }
  std::vector<expertise_config_entry> entries;
  for (const auto& [key, value] : merged) entries.push_back({key.c_str(), value.c_str()});
  expertise_config config{sizeof(expertise_config), entries.data(), entries.size()};
  return Config(&config);
}

std::unique_ptr<OpenReferralImporter> MakeImporter(const Entries& overrides = {},
                                                   const Entries& base = kBaseConfig) {
  RecordingHost host;
  auto h = host.host();
  auto importer = OpenReferralImporter::Create(MakeConfig(base, overrides), h);
  EXPECT_THAT(host.config_errors, IsEmpty());
  return importer;
}

ReadRequest Snapshot() { return ReadRequest{"", EXPERTISE_SYNC_SNAPSHOT, ""}; }
ReadRequest Incremental(const std::string& state) {
  return ReadRequest{"", EXPERTISE_SYNC_INCREMENTAL, state};
}

struct Outcome {
  expertise_result result = EXPERTISE_ERROR;
  std::unique_ptr<RecordingHost> host = std::make_unique<RecordingHost>();
  json Record(size_t i) const { return json::parse(host->records.at(i)); }
  std::vector<std::string> Ids() const {
    std::vector<std::string> ids;
    for (const auto& r : host->records)
      ids.push_back(json::parse(r).at("externalId").get<std::string>());
    return ids;
  }
};

Outcome ParseWith(OpenReferralImporter& importer, const std::string& content,
                  const std::string& file = "input.json", const ReadRequest& request = Snapshot()) {
  Outcome out;
  auto h = out.host->host();
  out.result = importer.Parse(content, file, request, h);
  return out;
}

Outcome ParseText(const std::string& content, const std::string& file = "input.json",
                  const Entries& overrides = {}, const ReadRequest& request = Snapshot()) {
  auto importer = MakeImporter(overrides);
  if (!importer) return {};
  return ParseWith(*importer, content, file, request);
}

Outcome ParseFile(const std::string& name, const Entries& overrides = {},
                  const ReadRequest& request = Snapshot()) {
  return ParseText(ReadTestdata(name), name, overrides, request);
}

// A minimal valid service; tests change one thing at a time.
json Service(const std::string& id = "svc-1") {
  return json{
      {"id", id},
      {"name", "Test Speech Service"},
      {"status", "active"},
      {"attributes",
       json::array(
           {{{"id", "attr-1"},
             {"taxonomy_term",
              {{"id", "term-1"}, {"code", "SLT"}, {"name", "Speech and language therapy"}}}}})}};
}

std::string Dump(const json& j) { return j.dump(); }

const std::string kId1 = "5e1c0000-0000-4000-8000-000000000001";
const std::string kId2 = "5e1c0000-0000-4000-8000-000000000002";
const std::string kId3 = "5e1c0000-0000-4000-8000-000000000003";
const std::string kId4 = "5e1c0000-0000-4000-8000-000000000004";
const std::string kId5 = "5e1c0000-0000-4000-8000-000000000005";

// ---------------------------------------------------------------------------
// Document shapes.

struct ShapeCase {
  std::string name;
  std::string file;     // reject/record file name
  std::string content;  // empty: read `file` from testdata
  std::vector<std::string> ids;
  std::vector<std::string> pointers;
  std::vector<uint64_t> rows;
};

class DocumentShapeTest : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(DocumentShapeTest, EmitsEveryActiveServiceWithItsLocation) {
  const ShapeCase& c = GetParam();
  Outcome out = c.content.empty() ? ParseFile(c.file) : ParseText(c.content, c.file);
  EXPECT_EQ(out.result, EXPERTISE_OK);
  EXPECT_THAT(out.host->rejects, IsEmpty());
  EXPECT_EQ(out.Ids(), c.ids);
  ASSERT_EQ(out.host->record_locations.size(), c.ids.size());
  for (size_t i = 0; i < c.ids.size(); ++i) {
    EXPECT_EQ(out.host->record_locations[i].file, c.file);
    EXPECT_EQ(out.host->record_locations[i].json_pointer, c.pointers[i]) << i;
    EXPECT_EQ(out.host->record_locations[i].row, c.rows[i]) << i;
  }
  EXPECT_THAT(out.host->logs, ::testing::Contains("document shape"));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, DocumentShapeTest,
    ::testing::Values(
        ShapeCase{"Hsds3Page",
                  "good_hsds3.json",
                  "",
                  {kId1, kId2, kId3, kId4, kId5},
                  {"/contents/0", "/contents/1", "/contents/2", "/contents/3", "/contents/4"},
                  {0, 0, 0, 0, 0}},
        ShapeCase{"LegacyOrukPage",
                  "good_legacy.json",
                  "",
                  {kId1, kId3, kId5},
                  {"/content/0", "/content/1", "/content/2"},
                  {0, 0, 0}},
        ShapeCase{"Ndjson", "good.ndjson", "", {kId2, kId4, kId5}, {"", "", ""}, {1, 2, 3}},
        ShapeCase{"EmptyPage", "empty.json", "", {}, {}, {}},
        ShapeCase{"BareArray",
                  "services.json",
                  Dump(json::array({Service("a"), Service("b")})),
                  {"a", "b"},
                  {"/0", "/1"},
                  {0, 0}},
        ShapeCase{"EmptyArray", "services.json", "[]", {}, {}, {}},
        ShapeCase{"SingleService", "service.json", Dump(Service("only")), {"only"}, {""}, {0}},
        // NDJSON recognised by content when the name does not say so; a
        // blank line and CRLF endings are tolerated.
        ShapeCase{"NdjsonByContent",
                  "export.json",
                  Dump(Service("l1")) + "\r\n\r\n" + Dump(Service("l3")) + "\r\n",
                  {"l1", "l3"},
                  {"", ""},
                  {1, 3}},
        ShapeCase{"ByteOrderMark",
                  "bom.json",
                  "\xEF\xBB\xBF" + Dump(json::array({Service("bom")})),
                  {"bom"},
                  {"/0"},
                  {0}}),
    [](const ::testing::TestParamInfo<ShapeCase>& case_info) { return case_info.param.name; });

TEST(OpenReferralImporterTest, InputFormatConfigOverridesDetection) {
  // One service per line in a file named .json, read as NDJSON because the
  // config says so even though the first line alone is broken.
  const std::string content = "{\"id\": \"x\",\n" + Dump(Service("ok")) + "\n";
  Outcome out = ParseText(content, "feed.json", {{"input_format", "ndjson"}});
  EXPECT_EQ(out.result, EXPERTISE_OK);
  EXPECT_EQ(out.Ids(), std::vector<std::string>{"ok"});
  ASSERT_EQ(out.host->rejects.size(), 1u);
  EXPECT_EQ(out.host->rejects[0].reason, EXPERTISE_REJECT_PARSE);
  EXPECT_EQ(out.host->rejects[0].where.row, 1u);

  // And a single document forced as json: NDJSON text is then one bad document.
  Outcome forced = ParseText(Dump(Service("a")) + "\n" + Dump(Service("b")) + "\n", "x.ndjson",
                             {{"input_format", "json"}});
  EXPECT_EQ(forced.result, EXPERTISE_OK);
  EXPECT_THAT(forced.host->records, IsEmpty());
  ASSERT_EQ(forced.host->rejects.size(), 1u);
  EXPECT_EQ(forced.host->rejects[0].reason, EXPERTISE_REJECT_PARSE);
  EXPECT_EQ(forced.host->rejects[0].where.row, 2u);
}

// ---------------------------------------------------------------------------
// Field mapping.

TEST(OpenReferralImporterTest, MapsEveryFieldOfAnHsdsService) {
  Outcome out = ParseFile("good_hsds3.json");
  ASSERT_EQ(out.host->records.size(), 5u);
  const json r = out.Record(0);
  const json expected = json::parse(R"({
    "externalId": "5e1c0000-0000-4000-8000-000000000001",
    "displayName": "Tyneside Children's Speech and Language Therapy",
    "role": "speech-language-therapist",
    "specialisms": ["speech-language-communication"],
    "settings": ["primary", "early-years-maintained"],
    "ageRange": {"minAge": 0, "maxAge": 19},
    "deliveryModes": ["DELIVERY_MODE_IN_PERSON", "DELIVERY_MODE_REMOTE"],
    "baseLocation": {"latitude": 54.9783, "longitude": -1.6178},
    "employerType": "EMPLOYER_TYPE_LOCAL_AUTHORITY",
    "workContact": {"email": "slt.tyneside@example.org", "phone": "0191 498 0001",
                    "team": "Example Children's NHS Foundation Trust"},
    "visibility": "VISIBILITY_REGION",
    "lastVerifyTime": "2026-02-14T00:00:00Z",
    "capacity": {"contractedHoursPerWeek": 40, "committedHoursPerWeek": 28}
  })");
  EXPECT_EQ(r, expected) << r.dump(2);
}

TEST(OpenReferralImporterTest, UsesServiceNameAsTeamAndLeavesUnknownsOut) {
  Outcome out = ParseFile("good_hsds3.json");
  ASSERT_EQ(out.host->records.size(), 5u);
  const json portage = out.Record(4);
  EXPECT_EQ(portage.at("role"), "portage-home-visitor");  // matched by term name
  EXPECT_EQ(portage.at("workContact").at("team"), "Northumbria Portage Service");
  EXPECT_FALSE(portage.contains("lastVerifyTime"));  // neither assured_date nor last_modified
  EXPECT_FALSE(portage.contains("capacity"));
  EXPECT_FALSE(portage.contains("specialisms"));
}

TEST(OpenReferralImporterTest, LastVerifyTimeFallsBackToLastModifiedInUtc) {
  Outcome out = ParseFile("good_hsds3.json");
  ASSERT_EQ(out.host->records.size(), 5u);
  EXPECT_EQ(out.Record(1).at("lastVerifyTime"), "2026-02-20T08:00:00Z");
  EXPECT_EQ(out.Record(2).at("lastVerifyTime"), "2026-01-05T00:00:00Z");  // assured_date wins
  EXPECT_EQ(out.Record(3).at("lastVerifyTime"), "2026-03-03T15:30:00.250Z");
}

TEST(OpenReferralImporterTest, EmployerVisibilityAndDeliveryModesComeFromConfig) {
  Outcome out = ParseText(
      Dump(Service()), "s.json",
      {{"employer_type", "nhs"}, {"visibility", "national"}, {"delivery_modes", "remote"}});
  ASSERT_EQ(out.host->records.size(), 1u);
  const json r = out.Record(0);
  EXPECT_EQ(r.at("employerType"), "EMPLOYER_TYPE_NHS");
  EXPECT_EQ(r.at("visibility"), "VISIBILITY_NATIONAL");
  EXPECT_EQ(r.at("deliveryModes"), json::array({"DELIVERY_MODE_REMOTE"}));

  // Defaults when nothing but a role map is configured.
  auto importer = MakeImporter({}, {{"role_map", "SLT=speech-language-therapist"}});
  ASSERT_NE(importer, nullptr);
  Outcome plain = ParseWith(*importer, Dump(Service()));
  ASSERT_EQ(plain.host->records.size(), 1u);
  EXPECT_EQ(plain.Record(0).at("employerType"), "EMPLOYER_TYPE_LOCAL_AUTHORITY");
  EXPECT_EQ(plain.Record(0).at("visibility"), "VISIBILITY_REGION");
  EXPECT_EQ(plain.Record(0).at("deliveryModes"), json::array({"DELIVERY_MODE_IN_PERSON"}));
  EXPECT_EQ(plain.Record(0).at("ageRange"), json::parse(R"({"minAge": 0, "maxAge": 25})"));
}

struct TermCase {
  std::string name;
  std::function<void(json&)> change;
  Entries config;
  std::string role;
  json specialisms;  // null: none
  json settings;     // null: none
};

class TermMappingTest : public ::testing::TestWithParam<TermCase> {};

TEST_P(TermMappingTest, MapsTaxonomyTermsToOurCodes) {
  const TermCase& c = GetParam();
  json service = Service();
  c.change(service);
  Outcome out = ParseText(Dump(service), "s.json", c.config);
  ASSERT_THAT(out.host->rejects, IsEmpty()) << out.host->rejects[0].message;
  ASSERT_EQ(out.host->records.size(), 1u);
  const json r = out.Record(0);
  EXPECT_EQ(r.at("role"), c.role);
  EXPECT_EQ(r.value("specialisms", json()), c.specialisms);
  EXPECT_EQ(r.value("settings", json()), c.settings);
}

json Attr(const std::string& code, const std::string& name) {
  json term = {{"id", "t-" + code + name}, {"name", name}};
  if (!code.empty()) term["code"] = code;
  return {{"id", "a-" + code + name}, {"taxonomy_term", term}};
}

INSTANTIATE_TEST_SUITE_P(
    Terms, TermMappingTest,
    ::testing::Values(
        TermCase{"CodeIsCaseInsensitive",
                 [](json& s) { s["attributes"] = json::array({Attr("slt", "Whatever")}); },
                 {},
                 "speech-language-therapist",
                 nullptr,
                 nullptr},
        TermCase{
            "NameWhenCodeUnmapped",
            [](json& s) { s["attributes"] = json::array({Attr("X9", "  OCCUPATIONAL therapy ")}); },
            {{"role_map", "occupational therapy=occupational-therapist"}},
            "occupational-therapist",
            nullptr,
            nullptr},
        TermCase{
            "TaxonomyTermsList",
            [](json& s) {
              s.erase("attributes");
              s["taxonomy_terms"] = json::array({{{"id", "t"}, {"code", "EP"}, {"name", "EP"}}});
            },
            {},
            "educational-psychologist",
            nullptr,
            nullptr},
        TermCase{"NumericCode",
                 [](json& s) {
                   s["attributes"] = json::array({{{"taxonomy_term", {{"code", 1234}}}}});
                 },
                 {{"role_map", "1234=audiologist"}},
                 "audiologist",
                 nullptr,
                 nullptr},
        TermCase{"FirstRoleWins",
                 [](json& s) {
                   s["attributes"] = json::array({Attr("OT", "o"), Attr("SLT", "s")});
                 },
                 {},
                 "occupational-therapist",
                 nullptr,
                 nullptr},
        TermCase{"SpecialismsAndSettingsDeduplicated",
                 [](json& s) {
                   s["attributes"].push_back(Attr("AUT", "Autism"));
                   s["attributes"].push_back(Attr("HI", "Hearing"));
                   s["attributes"].push_back(Attr("", "Autism"));  // same code by name
                   s["attributes"].push_back(Attr("", "Primary school"));
                   s["taxonomy_terms"] =
                       json::array({{{"name", "primary SCHOOL"}}, {{"name", "Early years"}}});
                 },
                 {},
                 "speech-language-therapist",
                 json::array({"autism", "hearing-impairment"}),
                 json::array({"primary", "early-years-maintained"})},
        TermCase{"DefaultRoleWhenNothingMaps",
                 [](json& s) { s["attributes"] = json::array({Attr("AUT", "Autism")}); },
                 {{"default_role", "advisory-teacher"}},
                 "advisory-teacher",
                 json::array({"autism"}),
                 nullptr},
        TermCase{"MappedRoleBeatsDefault",
                 [](json&) {},
                 {{"default_role", "advisory-teacher"}},
                 "speech-language-therapist",
                 nullptr,
                 nullptr},
        TermCase{"AttributeWithoutTermIgnored",
                 [](json& s) {
                   s["attributes"].push_back({{"id", "raw"}, {"value", "SLT"}});
                   s["attributes"].push_back({{"id", "null"}, {"taxonomy_term", nullptr}});
                 },
                 {},
                 "speech-language-therapist",
                 nullptr,
                 nullptr}),
    [](const ::testing::TestParamInfo<TermCase>& case_info) { return case_info.param.name; });

struct CapacityCase {
  std::string name;
  json capacity;  // value of `member`
  std::string member;
  Entries config;
  std::optional<double> contracted;
  std::optional<double> committed;
};

class CapacityTest : public ::testing::TestWithParam<CapacityCase> {};

json Cap(const std::string& unit_name, const json& available, const json& maximum,
         const std::string& unit_id = "unit-1") {
  json c = {{"id", "cap"},
            {"unit", {{"id", unit_id}, {"name", unit_name}}},
            {"updated", "2026-03-01T00:00:00Z"}};
  if (!available.is_null()) c["available"] = available;
  if (!maximum.is_null()) c["maximum"] = maximum;
  return c;
}

TEST_P(CapacityTest, ReadsHoursFromHsds31Capacities) {
  const CapacityCase& c = GetParam();
  json service = Service();
  service[c.member] = c.capacity;
  Outcome out = ParseText(Dump(service), "s.json", c.config);
  ASSERT_THAT(out.host->rejects, IsEmpty());
  ASSERT_EQ(out.host->records.size(), 1u);
  const json r = out.Record(0);
  if (!c.contracted && !c.committed) {
    EXPECT_FALSE(r.contains("capacity")) << r.dump();
    return;
  }
  const json capacity = r.at("capacity");
  EXPECT_EQ(capacity.contains("contractedHoursPerWeek"), c.contracted.has_value());
  EXPECT_EQ(capacity.contains("committedHoursPerWeek"), c.committed.has_value());
  if (c.contracted) {
    EXPECT_DOUBLE_EQ(capacity.at("contractedHoursPerWeek").get<double>(), *c.contracted);
  }
  if (c.committed) {
    EXPECT_DOUBLE_EQ(capacity.at("committedHoursPerWeek").get<double>(), *c.committed);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Capacities, CapacityTest,
    ::testing::Values(
        CapacityCase{
            "MaximumAndAvailable", json::array({Cap("Hours", 12, 40)}), "capacities", {}, 40, 28},
        CapacityCase{
            "OnlyAvailable", json::array({Cap("hours", 6.5, nullptr)}), "capacities", {}, 6.5, 0},
        CapacityCase{"OnlyMaximum",
                     json::array({Cap("HOURS", nullptr, 30)}),
                     "capacities",
                     {},
                     30,
                     std::nullopt},
        CapacityCase{
            "CommittedNotBelowZero", json::array({Cap("Hours", 30, 20)}), "capacities", {}, 20, 0},
        CapacityCase{"OtherUnitsIgnored",
                     json::array({Cap("Bed", 2, 4), Cap("Hours", 1, 2)}),
                     "capacities",
                     {},
                     2,
                     1},
        CapacityCase{"NoHoursUnit",
                     json::array({Cap("Bed", 2, 4)}),
                     "capacities",
                     {},
                     std::nullopt,
                     std::nullopt},
        CapacityCase{"ConfiguredUnitName",
                     json::array({Cap("Therapist sessions", 3, 10)}),
                     "capacities",
                     {{"capacity_unit", "therapist sessions"}},
                     10,
                     7},
        CapacityCase{"ConfiguredUnitId",
                     json::array({Cap("Sessions", 3, 10, "UNIT-42")}),
                     "capacities",
                     {{"capacity_unit", "unit-42"}},
                     10,
                     7},
        CapacityCase{"ServiceCapacityArray",
                     json::array({Cap("Hours", 5, 15)}),
                     "service_capacity",
                     {},
                     15,
                     10},
        CapacityCase{"ServiceCapacityObject", Cap("Hours", 5, 15), "service_capacity", {}, 15, 10}),
    [](const ::testing::TestParamInfo<CapacityCase>& case_info) { return case_info.param.name; });

TEST(OpenReferralImporterTest, AgesDefaultFromConfig) {
  json service = Service();
  service["maximum_age"] = 11;
  Outcome out =
      ParseText(Dump(service), "s.json", {{"default_min_age", "4"}, {"default_max_age", "16"}});
  ASSERT_EQ(out.host->records.size(), 1u);
  EXPECT_EQ(out.Record(0).at("ageRange"), json::parse(R"({"minAge": 4, "maxAge": 11})"));
}

TEST(OpenReferralImporterTest, BaseLocationIsTheFirstLocationWithCoordinates) {
  json service = Service();
  service["service_at_locations"] = json::array(
      {{{"id", "virtual"}, {"location", {{"id", "l0"}, {"location_type", "virtual"}}}},
       {{"id", "noloc"}},
       {{"id", "real"}, {"location", {{"id", "l1"}, {"latitude", 54.5}, {"longitude", -1.5}}}},
       {{"id", "later"}, {"location", {{"id", "l2"}, {"latitude", 55}, {"longitude", -2}}}}});
  Outcome out = ParseText(Dump(service));
  ASSERT_EQ(out.host->records.size(), 1u);
  EXPECT_EQ(out.Record(0).at("baseLocation"),
            json::parse(R"({"latitude": 54.5, "longitude": -1.5})"));
}

TEST(OpenReferralImporterTest, SkipsServicesThatAreNotActive) {
  json services = json::array();
  for (const char* status : {"active", "inactive", "defunct", "temporarily closed", "Active"}) {
    json s = Service(std::string("s-") + status);
    s["status"] = status;
    services.push_back(s);
  }
  json no_status = Service("s-none");
  no_status.erase("status");
  services.push_back(no_status);
  Outcome out = ParseText(Dump(services));
  EXPECT_EQ(out.result, EXPERTISE_OK);
  EXPECT_THAT(out.host->rejects, IsEmpty());
  EXPECT_EQ(out.Ids(), (std::vector<std::string>{"s-active", "s-Active", "s-none"}));
  EXPECT_THAT(out.host->logs, ::testing::Contains("skipping service that is not active"));
}

// ---------------------------------------------------------------------------
// Contact mode.

TEST(OpenReferralImporterTest, ContactModeEmitsOneRecordPerNamedContact) {
  Outcome out = ParseFile("good_hsds3.json", {{"record_per", "contact"}});
  EXPECT_EQ(out.result, EXPERTISE_OK);
  EXPECT_THAT(out.host->rejects, IsEmpty());
  ASSERT_EQ(out.Ids(), (std::vector<std::string>{"c0000000-0000-4000-8000-000000000001",
                                                 "c0000000-0000-4000-8000-000000000002"}));
  EXPECT_EQ(out.host->record_locations[0].json_pointer, "/contents/0/contacts/0");
  EXPECT_EQ(out.host->record_locations[1].json_pointer, "/contents/0/contacts/1");
  const json robin = out.Record(0);
  EXPECT_EQ(robin.at("displayName"), "Robin Example");
  EXPECT_EQ(robin.at("role"), "speech-language-therapist");
  EXPECT_EQ(robin.at("workContact").at("email"), "robin.example@example.org");  // own email
  EXPECT_EQ(robin.at("workContact").at("phone"), "0191 498 0001");              // service phone
  EXPECT_EQ(robin.at("ageRange"), json::parse(R"({"minAge": 0, "maxAge": 19})"));
  // Service capacity is not split between people, and titles are not used.
  EXPECT_FALSE(robin.contains("capacity"));
  EXPECT_THAT(out.host->records[0], Not(HasSubstr("Clinical lead")));
  const json sam = out.Record(1);
  EXPECT_EQ(sam.at("displayName"), "Sam Placeholder");
  EXPECT_EQ(sam.at("workContact").at("email"), "slt.tyneside@example.org");  // service email
  EXPECT_THAT(out.host->records[1], Not(HasSubstr("Speech and language therapist\"")));
}

TEST(OpenReferralImporterTest, ContactModeRejectsBadContacts) {
  json a = Service("svc-a");
  a["contacts"] = json::array(
      {{{"id", "c1"}, {"name", "Alex Example"}, {"phones", {{{"number", "0191 498 0999"}}}}},
       {{"name", "No Id"}},
       {{"id", "c3"}, {"name", 42}},
       "not a contact"});
  json b = Service("svc-b");
  b["contacts"] = json::array({{{"id", "c1"}, {"name", "Alex Again"}}});
  Outcome out = ParseText(Dump(json::array({a, b})), "c.json", {{"record_per", "contact"}});
  EXPECT_EQ(out.result, EXPERTISE_OK);
  EXPECT_EQ(out.Ids(), std::vector<std::string>{"c1"});
  EXPECT_EQ(out.Record(0).at("workContact").at("phone"), "0191 498 0999");
  ASSERT_EQ(out.host->rejects.size(), 4u);
  EXPECT_EQ(out.host->rejects[0].reason, EXPERTISE_REJECT_REQUIRED);
  EXPECT_EQ(out.host->rejects[0].where.json_pointer, "/0/contacts/1");
  EXPECT_EQ(out.host->rejects[1].reason, EXPERTISE_REJECT_SCHEMA);
  EXPECT_EQ(out.host->rejects[1].where.json_pointer, "/0/contacts/2/name");
  EXPECT_EQ(out.host->rejects[2].reason, EXPERTISE_REJECT_SCHEMA);
  EXPECT_EQ(out.host->rejects[2].where.json_pointer, "/0/contacts/3");
  EXPECT_EQ(out.host->rejects[3].reason, EXPERTISE_REJECT_DUPLICATE_KEY);
  EXPECT_EQ(out.host->rejects[3].where.json_pointer, "/1/contacts/0");
  EXPECT_EQ(out.host->rejects[3].external_id, "c1");
  EXPECT_THAT(out.host->rejects[3].message, HasSubstr("/0/contacts/0"));
}

// ---------------------------------------------------------------------------
// Rejects.

struct FileRejectCase {
  std::string file;
  int reason;
  std::string pointer;
  uint64_t row;
  std::string external_id;
  std::string message;
  size_t records;
};

class FileRejectTest : public ::testing::TestWithParam<FileRejectCase> {};

TEST_P(FileRejectTest, RejectsTheBadRowAndKeepsTheRest) {
  const FileRejectCase& c = GetParam();
  Outcome out = ParseFile(c.file);
  EXPECT_EQ(out.result, EXPERTISE_OK);
  EXPECT_EQ(out.host->records.size(), c.records);
  ASSERT_EQ(out.host->rejects.size(), 1u);
  const auto& reject = out.host->rejects[0];
  EXPECT_EQ(reject.reason, c.reason);
  EXPECT_EQ(reject.where.file, c.file);
  EXPECT_EQ(reject.where.json_pointer, c.pointer);
  EXPECT_EQ(reject.where.row, c.row);
  EXPECT_EQ(reject.external_id, c.external_id);
  EXPECT_THAT(reject.message, HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, FileRejectTest,
    ::testing::Values(FileRejectCase{"bad_unmapped_role.json", EXPERTISE_REJECT_REFERENCE,
                                     "/contents/1/attributes/0", 0, kId3,
                                     "'BSL' (British Sign Language classes)", 1},
                      FileRejectCase{"bad_missing_name.json", EXPERTISE_REJECT_REQUIRED,
                                     "/content/1", 0, kId4, "service has no name", 1},
                      FileRejectCase{"bad_duplicate.json", EXPERTISE_REJECT_DUPLICATE_KEY, "/2", 0,
                                     kId1, "repeats the one at /0", 2},
                      FileRejectCase{"bad_line.ndjson", EXPERTISE_REJECT_PARSE, "", 2, "",
                                     "line is not JSON", 2},
                      FileRejectCase{"bad_age.json", EXPERTISE_REJECT_VALUE, "/maximum_age", 0,
                                     kId3, "maximum_age 65 is outside 0 to 25", 0},
                      FileRejectCase{"bad_latitude.json", EXPERTISE_REJECT_SCHEMA,
                                     "/contents/0/service_at_locations/0/location/latitude", 0,
                                     kId4, "latitude must be a number", 0},
                      FileRejectCase{"bad_not_utf8.json", EXPERTISE_REJECT_PARSE, "", 1, "",
                                     "not valid UTF-8", 0}),
    [](const ::testing::TestParamInfo<FileRejectCase>& case_info) {
      std::string name = case_info.param.file.substr(0, case_info.param.file.find('.'));
      name.erase(std::remove(name.begin(), name.end(), '_'), name.end());
      return name;
    });

struct ServiceRejectCase {
  std::string name;
  std::function<void(json&)> change;
  int reason;
  std::string pointer;  // within the array document [service]
  std::string message;
};

class ServiceRejectTest : public ::testing::TestWithParam<ServiceRejectCase> {};

TEST_P(ServiceRejectTest, RejectsWithReasonAndPointer) {
  const ServiceRejectCase& c = GetParam();
  json service = Service();
  c.change(service);
  // A good service after the bad one shows the run goes on.
  Outcome out = ParseText(Dump(json::array({service, Service("next")})), "feed.json");
  EXPECT_EQ(out.result, EXPERTISE_OK);
  EXPECT_EQ(out.Ids(), std::vector<std::string>{"next"});
  ASSERT_EQ(out.host->rejects.size(), 1u);
  const auto& reject = out.host->rejects[0];
  EXPECT_EQ(reject.reason, c.reason) << reject.message;
  EXPECT_EQ(reject.where.json_pointer, c.pointer);
  EXPECT_EQ(reject.where.file, "feed.json");
  EXPECT_THAT(reject.message, HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Services, ServiceRejectTest,
    ::testing::Values(
        ServiceRejectCase{"MissingId", [](json& s) { s.erase("id"); }, EXPERTISE_REJECT_REQUIRED,
                          "/0", "service has no id"},
        ServiceRejectCase{"BlankId", [](json& s) { s["id"] = "  "; }, EXPERTISE_REJECT_REQUIRED,
                          "/0", "service has no id"},
        ServiceRejectCase{"NumericId", [](json& s) { s["id"] = 7; }, EXPERTISE_REJECT_SCHEMA,
                          "/0/id", "id must be a string"},
        ServiceRejectCase{"NullName", [](json& s) { s["name"] = nullptr; },
                          EXPERTISE_REJECT_REQUIRED, "/0", "service has no name"},
        ServiceRejectCase{"NoTerms", [](json& s) { s.erase("attributes"); },
                          EXPERTISE_REJECT_REFERENCE, "/0", "no taxonomy terms"},
        ServiceRejectCase{
            "UnmappedTerms",
            [](json& s) {
              s["attributes"] = json::array({Attr("AUT", "Autism"), Attr("", "Drop-in")});
            },
            EXPERTISE_REJECT_REFERENCE, "/0/attributes/0", "unmapped: 'AUT' (Autism), 'Drop-in'"},
        ServiceRejectCase{"AgeNotNumber", [](json& s) { s["minimum_age"] = "5"; },
                          EXPERTISE_REJECT_SCHEMA, "/0/minimum_age",
                          "minimum_age must be a number"},
        ServiceRejectCase{"AgeNotWhole", [](json& s) { s["minimum_age"] = 4.5; },
                          EXPERTISE_REJECT_SCHEMA, "/0/minimum_age", "whole number"},
        ServiceRejectCase{"AgeNegative", [](json& s) { s["minimum_age"] = -1; },
                          EXPERTISE_REJECT_VALUE, "/0/minimum_age", "outside 0 to 25"},
        ServiceRejectCase{"AgeAbove25", [](json& s) { s["maximum_age"] = 26; },
                          EXPERTISE_REJECT_VALUE, "/0/maximum_age", "outside 0 to 25"},
        ServiceRejectCase{"AgesReversed",
                          [](json& s) {
                            s["minimum_age"] = 12;
                            s["maximum_age"] = 5;
                          },
                          EXPERTISE_REJECT_VALUE, "/0/minimum_age", "above maximum_age"},
        ServiceRejectCase{"LatitudeOutOfRange",
                          [](json& s) {
                            s["service_at_locations"] =
                                json::array({{{"location", {{"latitude", 95}, {"longitude", 1}}}}});
                          },
                          EXPERTISE_REJECT_VALUE, "/0/service_at_locations/0/location/latitude",
                          "outside -90 to 90"},
        ServiceRejectCase{"LongitudeNotNumber",
                          [](json& s) {
                            s["service_at_locations"] = json::array(
                                {{{"location", {{"latitude", 54}, {"longitude", "west"}}}}});
                          },
                          EXPERTISE_REJECT_SCHEMA, "/0/service_at_locations/0/location/longitude",
                          "longitude must be a number"},
        ServiceRejectCase{
            "LatitudeWithoutLongitude",
            [](json& s) {
              s["service_at_locations"] = json::array({{{"location", {{"latitude", 54}}}}});
            },
            EXPERTISE_REJECT_REQUIRED, "/0/service_at_locations/0/location/longitude",
            "no longitude"},
        ServiceRejectCase{"LastModifiedNotRfc3339",
                          [](json& s) { s["last_modified"] = "yesterday"; },
                          EXPERTISE_REJECT_SCHEMA, "/0/last_modified", "RFC 3339"},
        ServiceRejectCase{"AssuredDateInvalid", [](json& s) { s["assured_date"] = "2026-02-30"; },
                          EXPERTISE_REJECT_SCHEMA, "/0/assured_date", "not a date"},
        ServiceRejectCase{"EmailNotString", [](json& s) { s["email"] = json::array(); },
                          EXPERTISE_REJECT_SCHEMA, "/0/email", "email must be a string"},
        ServiceRejectCase{
            "CapacityNotNumber",
            [](json& s) { s["capacities"] = json::array({Cap("Hours", 3, "forty")}); },
            EXPERTISE_REJECT_SCHEMA, "/0/capacities/0/maximum", "maximum must be a number"},
        ServiceRejectCase{"CapacityTooLarge",
                          [](json& s) { s["capacities"] = json::array({Cap("Hours", 3, 200)}); },
                          EXPERTISE_REJECT_VALUE, "/0/capacities/0/maximum", "outside 0 to 168"},
        ServiceRejectCase{"NotAnObject",
                          [](json& s) {
                            s = json::array({1, 2});
                          },
                          EXPERTISE_REJECT_SCHEMA, "/0", "not a JSON object"}),
    [](const ::testing::TestParamInfo<ServiceRejectCase>& case_info) {
      return case_info.param.name;
    });

struct DocumentRejectCase {
  std::string name;
  std::string content;
  int reason;
  std::string pointer;
  uint64_t row;
  std::string message;
};

class DocumentRejectTest : public ::testing::TestWithParam<DocumentRejectCase> {};

TEST_P(DocumentRejectTest, RejectsTheWholeDocumentOnceAndStops) {
  const DocumentRejectCase& c = GetParam();
  Outcome out = ParseText(c.content, "doc.json", {}, Incremental(""));
  EXPECT_EQ(out.result, EXPERTISE_OK);
  EXPECT_THAT(out.host->records, IsEmpty());
  EXPECT_THAT(out.host->checkpoints, IsEmpty());
  ASSERT_EQ(out.host->rejects.size(), 1u);
  const auto& reject = out.host->rejects[0];
  EXPECT_EQ(reject.reason, c.reason);
  EXPECT_EQ(reject.where.file, "doc.json");
  EXPECT_EQ(reject.where.json_pointer, c.pointer);
  EXPECT_EQ(reject.where.row, c.row);
  EXPECT_THAT(reject.message, HasSubstr(c.message));
  // Messages never echo raw input (it may be personal data or not UTF-8).
  EXPECT_THAT(reject.message, Not(HasSubstr("last read")));
}

INSTANTIATE_TEST_SUITE_P(
    Documents, DocumentRejectTest,
    ::testing::Values(
        DocumentRejectCase{"Truncated", "{\"contents\": [\n{\"id\": \"a\",", EXPERTISE_REJECT_PARSE,
                           "", 2, "input is not JSON"},
        DocumentRejectCase{"Empty", " \n\t", EXPERTISE_REJECT_PARSE, "", 0, "input is empty"},
        DocumentRejectCase{"Latin1", "[{\"id\": \"a\", \"name\": \"Caf\xE9\"}]",
                           EXPERTISE_REJECT_PARSE, "", 1, "not valid UTF-8"},
        DocumentRejectCase{"Overlong", "[\"\xC0\xAF\"]", EXPERTISE_REJECT_PARSE, "", 1,
                           "not valid UTF-8"},
        DocumentRejectCase{"TooDeep", std::string(100, '[') + std::string(100, ']'),
                           EXPERTISE_REJECT_PARSE, "", 0, "nested deeper"},
        DocumentRejectCase{"Scalar", "42", EXPERTISE_REJECT_SCHEMA, "", 0, "neither a JSON object"},
        DocumentRejectCase{"UnknownObject", "{\"error\": \"not found\"}", EXPERTISE_REJECT_SCHEMA,
                           "", 0, "neither a paged list"},
        DocumentRejectCase{"ContentsNotArray", "{\"total_items\": 1, \"contents\": {}}",
                           EXPERTISE_REJECT_SCHEMA, "/contents", 0, "contents must be an array"},
        DocumentRejectCase{"LegacyContentMissing", "{\"totalElements\": 0}",
                           EXPERTISE_REJECT_SCHEMA, "/content", 0, "content must be an array"},
        DocumentRejectCase{"HugeNumber", "[1e999]", EXPERTISE_REJECT_PARSE, "", 0,
                           "input is not JSON"}),
    [](const ::testing::TestParamInfo<DocumentRejectCase>& case_info) {
      return case_info.param.name;
    });

TEST(OpenReferralImporterTest, NdjsonRejectsBadLinesAndGoesOn) {
  const std::string content = Dump(Service("one")) + "\n" + "not json at all\n" + "[1, 2]\n" +
                              "{\"id\": \"caf\xE9\"}\n" + Dump(Service("five")) + "\n";
  Outcome out = ParseText(content, "feed.ndjson");
  EXPECT_EQ(out.result, EXPERTISE_OK);
  EXPECT_EQ(out.Ids(), (std::vector<std::string>{"one", "five"}));
  EXPECT_EQ(out.host->record_locations[1].row, 5u);
  ASSERT_EQ(out.host->rejects.size(), 3u);
  EXPECT_EQ(out.host->rejects[0].reason, EXPERTISE_REJECT_PARSE);
  EXPECT_EQ(out.host->rejects[0].where.row, 2u);
  EXPECT_EQ(out.host->rejects[0].raw_excerpt, "not json at all");
  EXPECT_EQ(out.host->rejects[1].reason, EXPERTISE_REJECT_SCHEMA);
  EXPECT_EQ(out.host->rejects[1].where.row, 3u);
  EXPECT_EQ(out.host->rejects[2].reason, EXPERTISE_REJECT_PARSE);
  EXPECT_EQ(out.host->rejects[2].where.row, 4u);
  EXPECT_THAT(out.host->rejects[2].message, HasSubstr("not valid UTF-8"));
  EXPECT_EQ(out.host->rejects[2].raw_excerpt, "");  // never pass non-UTF-8 across the ABI
}

TEST(OpenReferralImporterTest, NdjsonRejectPointsInsideTheLine) {
  json bad = Service("bad");
  bad["maximum_age"] = 30;
  Outcome out = ParseText(Dump(Service("good")) + "\n" + Dump(bad) + "\n", "feed.ndjson");
  ASSERT_EQ(out.host->rejects.size(), 1u);
  EXPECT_EQ(out.host->rejects[0].where.row, 2u);
  EXPECT_EQ(out.host->rejects[0].where.json_pointer, "/maximum_age");
  EXPECT_EQ(out.host->rejects[0].external_id, "bad");
}

TEST(OpenReferralImporterTest, RejectsCarryAShortExcerpt) {
  json nameless = Service();
  nameless.erase("name");
  nameless["description"] = std::string(1000, 'x');
  Outcome out = ParseText(Dump(json::array({nameless})));
  ASSERT_EQ(out.host->rejects.size(), 1u);
  EXPECT_THAT(out.host->rejects[0].raw_excerpt, HasSubstr("\"taxonomy_term\""));
  EXPECT_LE(out.host->rejects[0].raw_excerpt.size(), 256u + 3u);  // "..." marks the cut
}

// ---------------------------------------------------------------------------
// Paging.

TEST(OpenReferralImporterTest, SnapshotRefusesOnePageOfMany) {
  for (const char* doc :
       {R"({"total_items": 120, "total_pages": 3, "page_number": 1, "contents": [)",
        R"({"total_items": 120, "contents": [)",
        R"({"totalElements": 1, "totalPages": 1, "last": false, "content": [)"}) {
    const std::string content = std::string(doc) + Dump(Service()) + "]}";
    Outcome snapshot = ParseText(content);
    EXPECT_EQ(snapshot.result, EXPERTISE_ERROR) << doc;
    EXPECT_THAT(snapshot.host->records, IsEmpty());
    EXPECT_THAT(snapshot.host->logs, ::testing::Contains(HasSubstr("one page of a longer list")));

    Outcome allowed = ParseText(content, "p.json", {{"allow_partial_page", "true"}});
    EXPECT_EQ(allowed.result, EXPERTISE_OK) << doc;
    EXPECT_EQ(allowed.host->records.size(), 1u);

    Outcome incremental = ParseText(content, "p.json", {}, Incremental(""));
    EXPECT_EQ(incremental.result, EXPERTISE_OK) << doc;
    EXPECT_EQ(incremental.host->records.size(), 1u);
  }
}

// ---------------------------------------------------------------------------
// Incremental sync.

TEST(OpenReferralImporterTest, IncrementalEmitsServicesNotBeforeTheCursor) {
  Outcome out = ParseFile("good_hsds3.json", {}, Incremental("2026-02-20T08:00:00Z"));
  EXPECT_EQ(out.result, EXPERTISE_OK);
  // Service 3 (2026-01-05) is older; service 2 equals the cursor and is
  // re-read; service 5 has no last_modified and is always read.
  EXPECT_EQ(out.Ids(), (std::vector<std::string>{kId1, kId2, kId4, kId5}));
  // The newest last_modified seen, the inactive service's included.
  EXPECT_THAT(out.host->checkpoints, ElementsAre("2026-03-04T09:00:00Z"));
}

TEST(OpenReferralImporterTest, IncrementalComparesAcrossTimeZones) {
  // Service 4 was modified at 16:30:00.250+01:00 = 15:30:00.250Z.
  Outcome after = ParseFile("good_hsds3.json", {}, Incremental("2026-03-03T15:30:00.251Z"));
  EXPECT_EQ(after.Ids(), (std::vector<std::string>{kId5}));
  Outcome at = ParseFile("good_hsds3.json", {}, Incremental("2026-03-03T16:30:00.250+01:00"));
  EXPECT_EQ(at.Ids(), (std::vector<std::string>{kId4, kId5}));
}

TEST(OpenReferralImporterTest, IncrementalCheckpoints) {
  const std::string services = ReadTestdata("good_hsds3.json");
  struct Case {
    ReadRequest request;
    std::vector<std::string> checkpoints;
  };
  for (const Case& c : {
           Case{Incremental(""), {"2026-03-04T09:00:00Z"}},                      // first run
           Case{Incremental("2027-01-01T00:00:00Z"), {"2027-01-01T00:00:00Z"}},  // never backwards
           Case{Incremental("2027-01-01T01:00:00+01:00"), {"2027-01-01T00:00:00Z"}},  // normalised
           Case{Snapshot(), {}},  // snapshots don't
       }) {
    Outcome out = ParseText(services, "good_hsds3.json", {}, c.request);
    EXPECT_EQ(out.result, EXPERTISE_OK);
    EXPECT_EQ(out.host->checkpoints, c.checkpoints) << c.request.state;
  }
  // Nothing carries last_modified: no checkpoint, everything emitted.
  Outcome none = ParseText(Dump(json::array({Service("a"), Service("b")})), "x.json", {},
                           Incremental("2026-01-01T00:00:00Z"));
  EXPECT_EQ(none.Ids(), (std::vector<std::string>{"a", "b"}));
  EXPECT_THAT(none.host->checkpoints, IsEmpty());
}

TEST(OpenReferralImporterTest, IncrementalRefusesABadCursor) {
  for (const char* state : {"last tuesday", "2026-13-01T00:00:00Z", "2026-01-01T25:00:00Z"}) {
    Outcome out = ParseFile("good_hsds3.json", {}, Incremental(state));
    EXPECT_EQ(out.result, EXPERTISE_ERROR) << state;
    EXPECT_THAT(out.host->records, IsEmpty());
    EXPECT_THAT(out.host->checkpoints, IsEmpty());
  }
}

TEST(OpenReferralImporterTest, TimestampForms) {
  struct Case {
    std::string last_modified;
    std::string expected;  // empty: rejected
  };
  for (const Case& c :
       {Case{"2026-03-01T10:15:00Z", "2026-03-01T10:15:00Z"},
        Case{"2026-03-01t10:15:00z", "2026-03-01T10:15:00Z"},
        Case{"2026-03-01 10:15:00", "2026-03-01T10:15:00Z"},  // no offset: UTC
        Case{"2026-03-01T00:15:00+01:00", "2026-02-28T23:15:00Z"},
        Case{"2024-02-29T23:00:00-0130", "2024-03-01T00:30:00Z"},
        Case{"2026-03-01T10:15:00.5Z", "2026-03-01T10:15:00.500Z"},
        Case{"2026-03-01T10:15:00.123456Z", "2026-03-01T10:15:00.123456Z"},
        Case{"2026-03-01T10:15:00.1234567891Z", "2026-03-01T10:15:00.123456789Z"},
        Case{"2026-03-01", "2026-03-01T00:00:00Z"},
        Case{"1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"}, Case{"2026-03-01T10:15Z", ""},
        Case{"2026-03-01T10:15:00.Z", ""}, Case{"2025-02-29", ""},
        Case{"0001-01-01T00:00:00+01:00", ""}, Case{"2026-03-01T10:15:00Z trailing", ""}}) {
    json service = Service();
    service["last_modified"] = c.last_modified;
    Outcome out = ParseText(Dump(service));
    if (c.expected.empty()) {
      EXPECT_EQ(out.host->rejects.size(), 1u) << c.last_modified;
    } else {
      ASSERT_EQ(out.host->records.size(), 1u) << c.last_modified;
      EXPECT_EQ(out.Record(0).at("lastVerifyTime"), c.expected) << c.last_modified;
    }
  }
}

// ---------------------------------------------------------------------------
// Cancellation and limits.

TEST(OpenReferralImporterTest, CancelBeforeParseReturnsCancelled) {
  auto importer = MakeImporter();
  ASSERT_NE(importer, nullptr);
  importer->Cancel();
  Outcome out =
      ParseWith(*importer, ReadTestdata("good_hsds3.json"), "good_hsds3.json", Incremental(""));
  EXPECT_EQ(out.result, EXPERTISE_CANCELLED);
  EXPECT_THAT(out.host->records, IsEmpty());
  EXPECT_THAT(out.host->rejects, IsEmpty());
  EXPECT_THAT(out.host->checkpoints, IsEmpty());
}

TEST(OpenReferralImporterTest, StopsWhenTheHostSaysStop) {
  for (const std::string file : {"good_hsds3.json", "good.ndjson", "good_legacy.json"}) {
    for (const char* record_per : {"service", "contact"}) {
      auto importer = MakeImporter({{"record_per", record_per}});
      ASSERT_NE(importer, nullptr);
      Outcome out;
      out.host->StopAfter(1);
      auto h = out.host->host();
      out.result = importer->Parse(ReadTestdata(file), file, Incremental(""), h);
      if (std::string(record_per) == "contact" && file == "good.ndjson") {
        EXPECT_EQ(out.result, EXPERTISE_OK);  // no contacts, nothing to stop
        continue;
      }
      EXPECT_EQ(out.result, EXPERTISE_CANCELLED) << file << " " << record_per;
      EXPECT_EQ(out.host->records.size(), 1u);
      // No checkpoint may cover records the host never took.
      EXPECT_THAT(out.host->checkpoints, IsEmpty());
    }
  }
}

TEST(OpenReferralImporterTest, RefusesInputsOverMaxInputBytes) {
  const std::string content = ReadTestdata("good_hsds3.json");
  ASSERT_FALSE(content.empty());
  auto importer = MakeImporter({{"max_input_bytes", std::to_string(content.size() - 1)}});
  ASSERT_NE(importer, nullptr);
  Outcome out = ParseWith(*importer, content);
  EXPECT_EQ(out.result, EXPERTISE_ERROR);
  EXPECT_THAT(out.host->records, IsEmpty());
  EXPECT_THAT(out.host->logs, ::testing::Contains("input is larger than max_input_bytes"));

  RecordingHost host;
  auto h = host.host();
  ReadRequest request = Snapshot();
  request.input_path = (TestdataDir() / "good_hsds3.json").string();
  EXPECT_EQ(importer->Read(request, h), EXPERTISE_ERROR);
  EXPECT_THAT(host.records, IsEmpty());

  auto roomy = MakeImporter({{"max_input_bytes", std::to_string(content.size())}});
  EXPECT_EQ(ParseWith(*roomy, content).result, EXPERTISE_OK);
}

TEST(OpenReferralImporterTest, ReadLoadsTheFileAndUsesItsBaseName) {
  auto importer = MakeImporter();
  ASSERT_NE(importer, nullptr);
  RecordingHost host;
  auto h = host.host();
  ReadRequest request = Snapshot();
  request.input_path = (TestdataDir() / "bad_line.ndjson").string();
  EXPECT_EQ(importer->Read(request, h), EXPERTISE_OK);
  EXPECT_EQ(host.records.size(), 2u);
  ASSERT_EQ(host.rejects.size(), 1u);
  EXPECT_EQ(host.rejects[0].where.file, "bad_line.ndjson");

  RecordingHost missing;
  auto mh = missing.host();
  request.input_path = (TestdataDir() / "no_such_file.json").string();
  EXPECT_EQ(importer->Read(request, mh), EXPERTISE_ERROR);
  EXPECT_THAT(missing.logs, ::testing::Contains("cannot read the input"));
}

// ---------------------------------------------------------------------------
// Config.

struct ConfigCase {
  std::string name;
  Entries config;  // complete config (no base)
  std::string key;
  std::string message;
};

class ConfigErrorTest : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(ConfigErrorTest, NamesTheBadKey) {
  const ConfigCase& c = GetParam();
  RecordingHost host;
  auto h = host.host();
  EXPECT_EQ(OpenReferralImporter::Create(MakeConfig(c.config), h), nullptr);
  ASSERT_EQ(host.config_errors.size(), 1u) << host.config_errors[0].first;
  EXPECT_EQ(host.config_errors[0].first, c.key);
  EXPECT_THAT(host.config_errors[0].second, HasSubstr(c.message));
}

const std::string kRoles = "SLT=speech-language-therapist";

INSTANTIATE_TEST_SUITE_P(
    Keys, ConfigErrorTest,
    ::testing::Values(
        ConfigCase{"NoRoleSource", {}, "role_map", "give role_map or default_role"},
        ConfigCase{"EntryWithoutEquals", {{"role_map", "SLT"}}, "role_map", "is not term=code"},
        ConfigCase{
            "EmptyTerm", {{"role_map", "=speech-language-therapist"}}, "role_map", "needs both"},
        ConfigCase{"EmptyCode", {{"role_map", "SLT="}}, "role_map", "needs both"},
        ConfigCase{"UnknownRole",
                   {{"role_map", "SLT=slt"}},
                   "role_map",
                   "'slt' in entry 'SLT=slt' is not a role code"},
        ConfigCase{"SpecialismAsRole",
                   {{"role_map", "AUT=autism"}},
                   "role_map",
                   "(it is a specialism code)"},
        ConfigCase{"ConflictingTerms",
                   {{"role_map", "SLT=speech-language-therapist, slt =occupational-therapist"}},
                   "role_map",
                   "mapped to both"},
        ConfigCase{"RoleAsSpecialism",
                   {{"role_map", kRoles}, {"specialism_map", "AUT=audiologist"}},
                   "specialism_map",
                   "(it is a role code)"},
        ConfigCase{"SettingAsSpecialism",
                   {{"role_map", kRoles}, {"specialism_map", "P=primary"}},
                   "specialism_map",
                   "(it is a setting code)"},
        ConfigCase{"UnknownSetting",
                   {{"role_map", kRoles}, {"setting_map", "P=primary-school"}},
                   "setting_map",
                   "setting codes: early-years-maintained"},
        ConfigCase{"UnknownDefaultRole",
                   {{"default_role", "therapist"}},
                   "default_role",
                   "not a role code"},
        ConfigCase{"MinAgeTooHigh",
                   {{"role_map", kRoles}, {"default_min_age", "30"}},
                   "default_min_age",
                   "outside 0 to 25"},
        ConfigCase{"MinAgeNegative",
                   {{"role_map", kRoles}, {"default_min_age", "-1"}},
                   "default_min_age",
                   "outside 0 to 25"},
        ConfigCase{"MaxAgeNotNumber",
                   {{"role_map", kRoles}, {"default_max_age", "ten"}},
                   "default_max_age",
                   "whole number"},
        ConfigCase{"AgesReversed",
                   {{"role_map", kRoles}, {"default_min_age", "10"}, {"default_max_age", "5"}},
                   "default_max_age",
                   "at least default_min_age"},
        ConfigCase{"UnknownDeliveryMode",
                   {{"role_map", kRoles}, {"delivery_modes", "in_person,by_post"}},
                   "delivery_modes",
                   "'by_post'"},
        ConfigCase{"NoDeliveryMode",
                   {{"role_map", kRoles}, {"delivery_modes", ""}},
                   "delivery_modes",
                   "at least one"},
        ConfigCase{"ZeroMaxBytes",
                   {{"role_map", kRoles}, {"max_input_bytes", "0"}},
                   "max_input_bytes",
                   "positive"},
        ConfigCase{"BadRecordPer",
                   {{"role_map", kRoles}, {"record_per", "person"}},
                   "record_per",
                   "not one of service|contact"},
        ConfigCase{"BadInputFormat",
                   {{"role_map", kRoles}, {"input_format", "xml"}},
                   "input_format",
                   "not one of"},
        ConfigCase{"BadEmployer",
                   {{"role_map", kRoles}, {"employer_type", "charity"}},
                   "employer_type",
                   "not one of"},
        ConfigCase{"BadVisibility",
                   {{"role_map", kRoles}, {"visibility", "public"}},
                   "visibility",
                   "not one of"},
        ConfigCase{"BadBool",
                   {{"role_map", kRoles}, {"allow_partial_page", "yes"}},
                   "allow_partial_page",
                   "true or false"}),
    [](const ::testing::TestParamInfo<ConfigCase>& case_info) { return case_info.param.name; });

TEST(OpenReferralConfigTest, ReportsEveryBadKeyAtOnce) {
  RecordingHost host;
  auto h = host.host();
  EXPECT_EQ(OpenReferralImporter::Create(
                MakeConfig({{"role_map", "SLT=slt,OT=occupational-therapist,AUT"},
                            {"default_min_age", "40"},
                            {"visibility", "public"}}),
                h),
            nullptr);
  std::vector<std::string> keys;
  for (const auto& [key, message] : host.config_errors) keys.push_back(key);
  EXPECT_THAT(keys, ::testing::UnorderedElementsAre("role_map", "role_map", "default_min_age",
                                                    "visibility"));
}

TEST(OpenReferralConfigTest, AcceptsDefaultRoleAloneAndTrimsMapEntries) {
  auto importer = MakeImporter({}, {{"default_role", "specialist-teacher"}});
  ASSERT_NE(importer, nullptr);
  EXPECT_EQ(importer->options().default_role, "specialist-teacher");
  auto mapped =
      MakeImporter({}, {{"role_map", " Speech  = speech-language-therapist , A=B=audiologist"}});
  ASSERT_NE(mapped, nullptr);
  EXPECT_EQ(mapped->options().role_map.at("speech"), "speech-language-therapist");
  EXPECT_EQ(mapped->options().role_map.at("a=b"), "audiologist");  // split at the last '='
}

TEST(OpenReferralConfigTest, DeclaresEveryKeyItReads) {
  std::vector<std::string> names;
  for (const auto& key : OpenReferralImporter::kConfigKeys) {
    names.push_back(key.name);
    EXPECT_EQ(key.secret, 0u) << key.name;
    EXPECT_EQ(key.required, 0u) << key.name;
    EXPECT_NE(std::string(key.description), "") << key.name;
    EXPECT_EQ(key.type == EXPERTISE_CONFIG_ENUM, key.allowed_values != nullptr) << key.name;
    EXPECT_TRUE(std::all_of(names.back().begin(), names.back().end(), [](char c) {
      return (c >= 'a' && c <= 'z') || c == '_';
    })) << key.name;
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre(
                         "record_per", "role_map", "specialism_map", "setting_map", "default_role",
                         "default_min_age", "default_max_age", "capacity_unit", "employer_type",
                         "visibility", "delivery_modes", "input_format", "allow_partial_page",
                         "max_input_bytes"));
  EXPECT_EQ(OpenReferralImporter::kSyncModes, EXPERTISE_SYNC_SNAPSHOT | EXPERTISE_SYNC_INCREMENTAL);
}

// The ABI path the runner takes: C config in, C host functions out.
TEST(OpenReferralAbiTest, CheckReadAndCloseThroughTheTrampolines) {
  using Tramp = ::expertise::importer::internal::Trampolines<OpenReferralImporter>;
  const expertise_config_entry entries[] = {{"role_map", kRoles.c_str()},
                                            {"record_per", "service"}};
  const expertise_config config{sizeof(expertise_config), entries, 2};
  RecordingHost host;
  void* instance = nullptr;
  ASSERT_EQ(Tramp::Check(&config, host.api(), host.hctx(), &instance), EXPERTISE_OK);
  ASSERT_NE(instance, nullptr);
  const std::string path = (TestdataDir() / "good_hsds3.json").string();
  const expertise_read_request request{sizeof(expertise_read_request), path.c_str(),
                                       EXPERTISE_SYNC_INCREMENTAL, ""};
  EXPECT_EQ(Tramp::Read(instance, &request, host.api(), host.hctx()), EXPERTISE_OK);
  EXPECT_EQ(host.records.size(), 1u);  // only SLT maps
  EXPECT_EQ(host.rejects.size(), 4u);
  EXPECT_EQ(host.checkpoints.size(), 1u);
  Tramp::Close(instance);

  const expertise_config_entry bad_entries[] = {{"role_map", "SLT=nobody"}};
  const expertise_config bad{sizeof(expertise_config), bad_entries, 1};
  RecordingHost bad_host;
  instance = nullptr;
  EXPECT_EQ(Tramp::Check(&bad, bad_host.api(), bad_host.hctx(), &instance),
            EXPERTISE_INVALID_CONFIG);
  EXPECT_EQ(instance, nullptr);
  ASSERT_EQ(bad_host.config_errors.size(), 1u);
  EXPECT_EQ(bad_host.config_errors[0].first, "role_map");
}

}  // namespace
}  // namespace expertise::plugins
