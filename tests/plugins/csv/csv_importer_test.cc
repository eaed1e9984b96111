#include "plugins/csv/csv_importer.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testutil/recording_host.h"

namespace expertise::plugins {
namespace {

using ::expertise::testing::RecordedReject;
using ::expertise::testing::RecordingHost;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using Json = nlohmann::json;
using ConfigMap = std::map<std::string, std::string>;

// ------------------------------------------------------------------ helpers

// The repository root. Built by CMake, __FILE__ is absolute; built by hand
// from the root, it is relative and so is this.
std::filesystem::path RepoRoot() {
#ifdef EXPERTISE_SOURCE_DIR
  return EXPERTISE_SOURCE_DIR;
#else
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
#endif
}

std::filesystem::path PluginDir() { return RepoRoot() / "plugins" / "csv"; }

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

importer::Config MakeConfig(const ConfigMap& values) {
  std::vector<expertise_config_entry> entries;
  for (const auto& [key, value] : values) entries.push_back({key.c_str(), value.c_str()});
  const expertise_config config{sizeof(expertise_config), entries.data(), entries.size()};
  return importer::Config(&config);  // copies the strings
}

// Most tests give only the required columns; these fill the rest.
ConfigMap BaseConfig(ConfigMap overrides = {}) {
  ConfigMap config = {{"default_employer_type", "nhs"},
                      {"default_visibility", "region"},
                      {"default_delivery_modes", "in_person"}};
  for (auto& [key, value] : overrides) config[key] = value;
  return config;
}

std::string ReasonName(int reason) {
  switch (reason) {
    case EXPERTISE_REJECT_PARSE: return "PARSE";
    case EXPERTISE_REJECT_SCHEMA: return "SCHEMA";
    case EXPERTISE_REJECT_REQUIRED: return "REQUIRED";
    case EXPERTISE_REJECT_DUPLICATE_KEY: return "DUPLICATE_KEY";
    case EXPERTISE_REJECT_REFERENCE: return "REFERENCE";
    case EXPERTISE_REJECT_VALUE: return "VALUE";
  }
  return "UNKNOWN(" + std::to_string(reason) + ")";
}

// What one parse reported.
struct Outcome {
  expertise_result code = EXPERTISE_ERROR;
  std::vector<Json> records;
  std::vector<importer::Location> record_locations;
  std::vector<RecordedReject> rejects;
  std::vector<std::string> checkpoints;
  std::vector<std::string> logs;
};

Outcome Collect(expertise_result code, const RecordingHost& host) {
  Outcome out;
  out.code = code;
  for (const auto& text : host.records) out.records.push_back(Json::parse(text));
  out.record_locations = host.record_locations;
  out.rejects = host.rejects;
  out.checkpoints = host.checkpoints;
  out.logs = host.logs;
  return out;
}

struct ParseOptions {
  ConfigMap config = BaseConfig();
  uint32_t mode = EXPERTISE_SYNC_SNAPSHOT;
  std::string state;
};

ParseOptions WithConfig(ConfigMap config) {
  ParseOptions options;
  options.config = std::move(config);
  return options;
}

// Parses `input` as "test.csv" with a fresh importer and host.
Outcome ParseCsv(const std::string& input, const ParseOptions& options = {}) {
  RecordingHost recorder;
  importer::Host host = recorder.host();
  std::unique_ptr<CsvImporter> importer = CsvImporter::Create(MakeConfig(options.config), host);
  if (importer == nullptr) {
    ADD_FAILURE() << "config refused: " << (recorder.config_errors.empty()
                                                ? std::string("?")
                                                : recorder.config_errors[0].first + ": " +
                                                      recorder.config_errors[0].second);
    return {};
  }
  importer::ReadRequest request;
  request.sync_mode = options.mode;
  request.state = options.state;
  std::istringstream stream(input);
  const expertise_result code = importer->Parse(stream, "test.csv", request, host);
  return Collect(code, recorder);
}

// Parses one data row under the header "external_id,display_name,role,<column>".
Outcome ParseCell(const std::string& column, const std::string& cell, ConfigMap config = BaseConfig()) {
  ParseOptions options;
  options.config = std::move(config);
  return ParseCsv("external_id,display_name,role," + column + "\na1,Ann Example,slt," + cell + "\n",
                  options);
}

std::vector<std::string> DisplayNames(const Outcome& outcome) {
  std::vector<std::string> names;
  for (const auto& r : outcome.records) names.push_back(r.value("displayName", ""));
  return names;
}

std::string Describe(const std::vector<RecordedReject>& rejects) {
  std::string out;
  for (const auto& r : rejects) {
    out += ReasonName(r.reason) + " row " + std::to_string(r.where.row) + " column '" +
           r.where.column + "': " + r.message + "\n";
  }
  return out;
}

// ------------------------------------------------------------------ RFC 4180

struct SyntaxCase {
  const char* name;
  std::string input;
  std::string delimiter;
  std::vector<std::string> names;  // expected display names, in order
};

void PrintTo(const SyntaxCase& c, std::ostream* os) { *os << c.name; }

class CsvSyntaxTest : public ::testing::TestWithParam<SyntaxCase> {};

TEST_P(CsvSyntaxTest, ReadsFields) {
  const SyntaxCase& c = GetParam();
  ParseOptions options;
  options.config = BaseConfig({{"delimiter", c.delimiter}});
  // The default list separator is ';', and the two must differ.
  if (c.delimiter == ";") options.config["list_separator"] = "|";
  const Outcome out = ParseCsv(c.input, options);
  EXPECT_EQ(out.code, EXPERTISE_OK);
  EXPECT_THAT(out.rejects, IsEmpty()) << Describe(out.rejects);
  EXPECT_EQ(DisplayNames(out), c.names);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc4180, CsvSyntaxTest,
    ::testing::Values(
        SyntaxCase{"Plain", "external_id,display_name,role\na1,Ann Example,slt\n", ",",
                   {"Ann Example"}},
        SyntaxCase{"NoFinalLineEnd", "external_id,display_name,role\na1,Ann,slt", ",", {"Ann"}},
        SyntaxCase{"Crlf", "external_id,display_name,role\r\na1,Ann,slt\r\na2,Bob,slt\r\n", ",",
                   {"Ann", "Bob"}},
        SyntaxCase{"LoneCr", "external_id,display_name,role\ra1,Ann,slt\ra2,Bob,slt\r", ",",
                   {"Ann", "Bob"}},
        SyntaxCase{"Bom", "\xEF\xBB\xBF" "external_id,display_name,role\na1,Ann,slt\n", ",",
                   {"Ann"}},
        SyntaxCase{"QuotedDelimiter", "external_id,display_name,role\na1,\"Example, Ann\",slt\n",
                   ",", {"Example, Ann"}},
        SyntaxCase{"DoubledQuotes",
                   "external_id,display_name,role\na1,\"Ann \"\"Nan\"\" Example\",slt\n", ",",
                   {"Ann \"Nan\" Example"}},
        SyntaxCase{"QuotedEverywhere",
                   "\"external_id\",\"display_name\",\"role\"\n\"a1\",\"Ann\",\"slt\"\n", ",",
                   {"Ann"}},
        SyntaxCase{"EmbeddedLf", "external_id,display_name,role\na1,\"Ann\nExample\",slt\n", ",",
                   {"Ann Example"}},
        SyntaxCase{"EmbeddedCrlf",
                   "external_id,display_name,role\r\na1,\"Ann\r\nExample\",slt\r\n", ",",
                   {"Ann Example"}},
        SyntaxCase{"BlankLinesSkipped",
                   "\nexternal_id,display_name,role\n\na1,Ann,slt\r\n\r\na2,Bob,slt\n\n", ",",
                   {"Ann", "Bob"}},
        SyntaxCase{"CellsTrimmed", "external_id,display_name,role\n a1 ,  Ann Example\t,slt\n",
                   ",", {"Ann Example"}},
        SyntaxCase{"HeaderTrimmedAndCaseFolded",
                   " External_ID ,Display_Name,ROLE\na1,Ann,slt\n", ",", {"Ann"}},
        SyntaxCase{"MultibyteUtf8", "external_id,display_name,role\na1,Siân Ó Ceallaigh 😀,slt\n",
                   ",", {"Siân Ó Ceallaigh 😀"}},
        SyntaxCase{"Semicolon", "external_id;display_name;role\na1;Example, Ann;slt\n", ";",
                   {"Example, Ann"}},
        SyntaxCase{"SemicolonQuoted", "external_id;display_name;role\na1;\"A;B\";slt\n", ";",
                   {"A;B"}},
        SyntaxCase{"Tab", "external_id\tdisplay_name\trole\na1\tExample, Ann\tslt\n", "\t",
                   {"Example, Ann"}},
        SyntaxCase{"Pipe", "external_id|display_name|role\na1|\"Ann | Bob\"|slt\n", "|",
                   {"Ann | Bob"}}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(CsvImporterTest, RowNumbersCountPhysicalRecordsIncludingBlankLines) {
  // Row 1 header, row 2 spans two lines, row 3 is blank, row 4 is Bob.
  const Outcome out = ParseCsv(
      "external_id,display_name,role\r\na1,\"Ann\r\nExample\",slt\r\n\r\na2,Bob,slt\r\n");
  ASSERT_THAT(out.records, SizeIs(2));
  EXPECT_EQ(out.record_locations[0].row, 2u);
  EXPECT_EQ(out.record_locations[1].row, 4u);
  EXPECT_EQ(out.record_locations[0].file, "test.csv");
  EXPECT_EQ(out.record_locations[0].column, "");
}

TEST(CsvImporterTest, ReadsRecordsAcrossChunkBoundaries) {
  // Far more than one 64 KiB chunk, with a quoted CRLF straddling chunks.
  std::string input = "external_id,display_name,role\r\n";
  for (int i = 0; i < 5000; ++i) {
    input += "id" + std::to_string(i) + ",\"Name\r\n" + std::to_string(i) + "\",slt\r\n";
  }
  const Outcome out = ParseCsv(input);
  ASSERT_THAT(out.records, SizeIs(5000));
  EXPECT_EQ(out.records[4999]["displayName"], "Name 4999");  // line breaks in free text become spaces
  EXPECT_EQ(out.record_locations[4999].row, 5001u);
}

class CsvChunkBoundaryTest : public ::testing::TestWithParam<int> {};

TEST_P(CsvChunkBoundaryTest, LineEndsAndQuotesSplitAcrossChunksReadAsOne) {
  // Pads the first row so that its CRLF (or the doubled quote in the second
  // row) starts GetParam() bytes before the reader's 64 KiB chunk boundary.
  constexpr int kChunk = 64 * 1024;
  const std::string header = "external_id,display_name,role\r\n";
  const std::string start = header + "a1,";
  const std::string pad(kChunk - GetParam() - start.size() - 4, 'x');
  const std::string first = start + pad + ",slt\r\n";
  for (const std::string& second : {std::string("a2,Bob,slt\r\n"), std::string("a2,\"\"\"Bob\"\"\",slt\r\n")}) {
    const Outcome out = ParseCsv(first + second);
    ASSERT_THAT(out.rejects, IsEmpty()) << Describe(out.rejects);
    ASSERT_THAT(out.records, SizeIs(2));
    EXPECT_EQ(out.records[0]["displayName"], pad);
    EXPECT_EQ(out.record_locations[1].row, 3u);
  }
}

INSTANTIATE_TEST_SUITE_P(Offsets, CsvChunkBoundaryTest, ::testing::Range(-3, 8));

// ------------------------------------------------------------------ PARSE rejects

struct ParseErrorCase {
  const char* name;
  std::string row;     // one data row under "external_id,display_name,role\n"
  std::string marker;  // the bytes the reported offset must point at
  std::string column;  // expected location column
  std::string problem;
  bool next_row_read;  // whether a following good row still comes through
};

void PrintTo(const ParseErrorCase& c, std::ostream* os) { *os << c.name; }

class CsvParseErrorTest : public ::testing::TestWithParam<ParseErrorCase> {};

TEST_P(CsvParseErrorTest, RejectsRowNamingRowAndByteOffset) {
  const ParseErrorCase& c = GetParam();
  const std::string header = "external_id,display_name,role\n";
  const std::string input = header + c.row + "a9,Zed Example,slt\n";
  const Outcome out = ParseCsv(input);
  EXPECT_EQ(out.code, EXPERTISE_OK);
  ASSERT_THAT(out.rejects, SizeIs(1)) << Describe(out.rejects);
  const RecordedReject& r = out.rejects[0];
  const size_t offset = input.find(c.marker, header.size());
  ASSERT_NE(offset, std::string::npos);
  EXPECT_EQ(r.reason, EXPERTISE_REJECT_PARSE);
  EXPECT_EQ(r.where.file, "test.csv");
  EXPECT_EQ(r.where.row, 2u);
  EXPECT_EQ(r.where.column, c.column);
  EXPECT_THAT(r.message, HasSubstr("row 2, byte offset " + std::to_string(offset) + ":"));
  EXPECT_THAT(r.message, HasSubstr(c.problem));
  // Everything that crosses the ABI must be valid UTF-8.
  EXPECT_NO_THROW((void)Json(r.raw_excerpt).dump());
  EXPECT_NO_THROW((void)Json(r.message).dump());
  if (c.next_row_read) {
    EXPECT_THAT(DisplayNames(out), ElementsAre("Zed Example"));
  } else {
    EXPECT_THAT(out.records, IsEmpty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CsvParseErrorTest,
    ::testing::Values(
        ParseErrorCase{"LoneContinuationByte", "a1,Ann\x80 Example,slt\n", "\x80", "display_name",
                       "invalid UTF-8", true},
        ParseErrorCase{"InvalidByteFF", "a1,Ann,sl\xFFt\n", "\xFF", "role", "invalid UTF-8", true},
        ParseErrorCase{"Overlong", "a1,\xC0\xAF,slt\n", "\xC0", "display_name", "invalid UTF-8",
                       true},
        ParseErrorCase{"Surrogate", "a1,x\xED\xA0\x80,slt\n", "\xED", "display_name",
                       "invalid UTF-8", true},
        ParseErrorCase{"AboveU10FFFF", "a1,\xF4\x90\x80\x80,slt\n", "\xF4", "display_name",
                       "invalid UTF-8", true},
        ParseErrorCase{"TruncatedBeforeDelimiter", "a1,Ann\xC3,slt\n", "\xC3", "display_name",
                       "invalid UTF-8", true},
        ParseErrorCase{"TruncatedAtLineEnd", "a1,Ann,slt\xE2\x82\n", "\xE2", "role",
                       "invalid UTF-8", true},
        ParseErrorCase{"QuoteInUnquotedField", "a1,An\"n,slt\n", "\"", "display_name",
                       "quote inside an unquoted field", true},
        ParseErrorCase{"TextAfterClosingQuote", "a1,\"Ann\"x,slt\n", "x,slt", "display_name",
                       "text after the closing quote", true},
        ParseErrorCase{"UnterminatedQuote", "a1,\"Ann,slt\n", "\"Ann", "display_name",
                       "unterminated quote", false}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(CsvImporterTest, InvalidUtf8TruncatedAtEndOfInput) {
  const std::string input = "external_id,display_name,role\na1,Ann,slt\xF0\x9F";
  const Outcome out = ParseCsv(input);
  ASSERT_THAT(out.rejects, SizeIs(1));
  EXPECT_EQ(out.rejects[0].reason, EXPERTISE_REJECT_PARSE);
  EXPECT_THAT(out.rejects[0].message,
              HasSubstr("byte offset " + std::to_string(input.size() - 2) + ": invalid UTF-8"));
}

TEST(CsvImporterTest, OffsetsCountTheByteOrderMark) {
  const std::string input = "\xEF\xBB\xBF" "external_id,display_name,role\na1,\"Ann,slt\n";
  const Outcome out = ParseCsv(input);
  ASSERT_THAT(out.rejects, SizeIs(1));
  EXPECT_THAT(out.rejects[0].message,
              HasSubstr("byte offset " + std::to_string(input.find("\"Ann"))));
}

TEST(CsvImporterTest, RefusesFieldsOverOneMebibyte) {
  const std::string header = "external_id,display_name,role\n";
  const std::string fits(size_t{1} << 20, 'x');
  Outcome out = ParseCsv(header + "a1," + fits + ",slt\n");
  EXPECT_THAT(out.rejects, IsEmpty());
  ASSERT_THAT(out.records, SizeIs(1));

  out = ParseCsv(header + "a1," + fits + "x,slt\na2,Bob,slt\n");
  ASSERT_THAT(out.rejects, SizeIs(1));
  EXPECT_EQ(out.rejects[0].reason, EXPERTISE_REJECT_PARSE);
  EXPECT_EQ(out.rejects[0].where.row, 2u);
  EXPECT_EQ(out.rejects[0].where.column, "display_name");
  EXPECT_THAT(out.rejects[0].message, HasSubstr("longer than 1 MiB"));
  EXPECT_THAT(DisplayNames(out), ElementsAre("Bob"));
}

struct FieldCountCase {
  const char* name;
  std::string row;
  std::string message;
};

void PrintTo(const FieldCountCase& c, std::ostream* os) { *os << c.name; }

class CsvFieldCountTest : public ::testing::TestWithParam<FieldCountCase> {};

TEST_P(CsvFieldCountTest, RejectsRowWithOtherWidth) {
  const Outcome out = ParseCsv("external_id,display_name,role\n" + GetParam().row + "a2,Bob,slt\n");
  ASSERT_THAT(out.rejects, SizeIs(1));
  EXPECT_EQ(out.rejects[0].reason, EXPERTISE_REJECT_PARSE);
  EXPECT_EQ(out.rejects[0].where.row, 2u);
  EXPECT_EQ(out.rejects[0].where.column, "");
  EXPECT_EQ(out.rejects[0].external_id, "a1");
  EXPECT_THAT(out.rejects[0].message, HasSubstr(GetParam().message));
  EXPECT_THAT(DisplayNames(out), ElementsAre("Bob"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CsvFieldCountTest,
    ::testing::Values(FieldCountCase{"TooMany", "a1,Example, Ann,slt\n", "4 fields; the header has 3"},
                      FieldCountCase{"TooFew", "a1,Ann\n", "2 fields; the header has 3"},
                      FieldCountCase{"ManyMore", "a1,Ann,slt" + std::string(5000, ',') + "\n",
                                     "5003 fields; the header has 3"}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(CsvImporterTest, RawExcerptIsTheRowCutTo200Bytes) {
  const std::string row = "a1,Ann,slt," + std::string(300, 'z');
  const Outcome out = ParseCsv("external_id,display_name,role\n" + row + "\n");
  ASSERT_THAT(out.rejects, SizeIs(1));
  EXPECT_EQ(out.rejects[0].raw_excerpt, row.substr(0, 200));
}

TEST(CsvImporterTest, RawExcerptIsCutOnACharacterBoundary) {
  // 198 ASCII bytes then a 3-byte character: the cut must not split it.
  const std::string row = std::string(198, 'a') + "€,x";
  const Outcome out = ParseCsv("external_id,display_name,role\n" + row + "\n");
  ASSERT_THAT(out.rejects, SizeIs(1));
  EXPECT_EQ(out.rejects[0].raw_excerpt, std::string(198, 'a'));
}

// ------------------------------------------------------------------ header

struct HeaderCase {
  const char* name;
  std::string header;
  std::vector<std::string> columns;  // expected reject columns, in order
  std::string problem;
};

void PrintTo(const HeaderCase& c, std::ostream* os) { *os << c.name; }

class CsvHeaderTest : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(CsvHeaderTest, RejectsUnusableHeaderOnItsRow) {
  const Outcome out = ParseCsv(GetParam().header + "\na1,Ann,slt\n");
  EXPECT_EQ(out.code, EXPERTISE_OK);
  EXPECT_THAT(out.records, IsEmpty());
  std::vector<std::string> columns;
  for (const auto& r : out.rejects) {
    EXPECT_EQ(r.reason, EXPERTISE_REJECT_PARSE);
    EXPECT_EQ(r.where.row, 1u);
    EXPECT_EQ(r.external_id, "");
    EXPECT_THAT(r.message, HasSubstr(GetParam().problem));
    columns.push_back(r.where.column);
  }
  EXPECT_EQ(columns, GetParam().columns);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CsvHeaderTest,
    ::testing::Values(
        HeaderCase{"NoExternalId", "display_name,role,x", {"external_id"}, "(column_external_id)"},
        HeaderCase{"NoDisplayName", "external_id,role,x", {"display_name"}, "not in the header"},
        HeaderCase{"NoRole", "external_id,display_name,x", {"role"}, "not in the header"},
        HeaderCase{"TwoMissing", "external_id,x,y", {"display_name", "role"}, "not in the header"},
        HeaderCase{"DuplicateColumn", "external_id,display_name,role,Display_Name", {"display_name"},
                   "more than once"},
        HeaderCase{"InvalidUtf8", "external_id,display_name,role\xFF", {""}, "invalid UTF-8"}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(CsvImporterTest, HeaderOnlyGivesNoRecordsAndNoRejects) {
  const Outcome out = ParseCsv("external_id,display_name,role\r\n");
  EXPECT_EQ(out.code, EXPERTISE_OK);
  EXPECT_THAT(out.records, IsEmpty());
  EXPECT_THAT(out.rejects, IsEmpty());
}

TEST(CsvImporterTest, EmptyInputIsLoggedNotRejected) {
  for (const std::string input : {"", "\xEF\xBB\xBF", "\r\n\n"}) {
    const Outcome out = ParseCsv(input);
    EXPECT_EQ(out.code, EXPERTISE_OK);
    EXPECT_THAT(out.rejects, IsEmpty());
    EXPECT_THAT(out.logs, ElementsAre(HasSubstr("empty")));
  }
}

TEST(CsvImporterTest, UnmappedAndUnknownColumnsAreIgnored) {
  const Outcome out = ParseCsv("notes,external_id,display_name,role,other\nhi,a1,Ann,slt,x\n");
  EXPECT_THAT(out.rejects, IsEmpty());
  ASSERT_THAT(out.records, SizeIs(1));
  EXPECT_EQ(out.records[0]["externalId"], "a1");
}

TEST(CsvImporterTest, WarnsOnceWhenARequiredValueHasNeitherColumnNorDefault) {
  ParseOptions options;
  options.config = {{"default_visibility", "region"}, {"default_delivery_modes", "remote"}};
  const Outcome out = ParseCsv("external_id,display_name,role\na1,Ann,slt\na2,Bob,slt\n", options);
  EXPECT_THAT(out.logs, ::testing::Contains(HasSubstr("no default configured")));
  ASSERT_THAT(out.rejects, SizeIs(2));
  EXPECT_EQ(out.rejects[0].reason, EXPERTISE_REJECT_REQUIRED);
  EXPECT_EQ(out.rejects[0].where.column, "employer_type");
  EXPECT_THAT(out.rejects[0].message, HasSubstr("default_employer_type"));
}

// ------------------------------------------------------------------ full records

constexpr char kCanonicalHeader[] =
    "external_id,display_name,role,specialisms,settings,min_age,max_age,languages,delivery_modes,"
    "latitude,longitude,travel_radius_km,covered_authorities,registration_body,"
    "registration_number,employer_type,email,phone,team,visibility,last_verified,"
    "contracted_hours,committed_hours,current_caseload,max_caseload,waiting_time_weeks,"
    "next_available_date,valid_from,valid_to,accepting_external_requests\r\n";

TEST(CsvImporterTest, ReadsEveryCanonicalColumnWithDefaultConfig) {
  const std::string row =
      "NT-1,Morwenna Halewood,speech-language-therapist,\"autism; adhd\",primary,2,19,en;cy,"
      "in person;remote,55.0177,-1.4446,25,E08000021;E08000023,HCPC,SL99001,NHS,"
      "m.h@example.org,0191 498 0101,\"Speech, Language\nand Communication\",national,"
      "2026-04-30T09:15:00+01:00,30,26.5,41,45,6,01/09/2026,2026-04-01,31/07/2026,yes\r\n";
  const Outcome out = ParseCsv(std::string(kCanonicalHeader) + row, WithConfig({}));
  ASSERT_THAT(out.rejects, IsEmpty()) << Describe(out.rejects);
  ASSERT_THAT(out.records, SizeIs(1));
  const Json expected = Json::parse(R"({
    "externalId": "NT-1", "displayName": "Morwenna Halewood", "role": "speech-language-therapist",
    "specialisms": ["autism", "adhd"], "settings": ["primary"],
    "ageRange": {"minAge": 2, "maxAge": 19}, "languages": ["en", "cy"],
    "deliveryModes": ["DELIVERY_MODE_IN_PERSON", "DELIVERY_MODE_REMOTE"],
    "baseLocation": {"latitude": 55.0177, "longitude": -1.4446}, "travelRadiusKm": 25.0,
    "coveredAuthorities": ["E08000021", "E08000023"],
    "registration": {"body": "HCPC", "number": "SL99001"},
    "employerType": "EMPLOYER_TYPE_NHS",
    "workContact": {"email": "m.h@example.org", "phone": "0191 498 0101",
                    "team": "Speech, Language and Communication"},
    "visibility": "VISIBILITY_NATIONAL", "lastVerifyTime": "2026-04-30T08:15:00Z",
    "capacity": {"contractedHoursPerWeek": 30.0, "committedHoursPerWeek": 26.5,
                 "currentCaseload": 41, "maxCaseload": 45, "waitingTimeWeeks": 6,
                 "nextAvailableDate": {"year": 2026, "month": 9, "day": 1},
                 "validFrom": {"year": 2026, "month": 4, "day": 1},
                 "validTo": {"year": 2026, "month": 7, "day": 31},
                 "acceptingExternalRequests": true}
  })");
  EXPECT_EQ(out.records[0], expected) << out.records[0].dump(2);
}

TEST(CsvImporterTest, OptionalEmptyCellsAreLeftOutAndDefaultsFillTheRest) {
  const std::string row = "NT-2,Ann,slt" + std::string(27, ',') + "\r\n";
  const Outcome out = ParseCsv(std::string(kCanonicalHeader) + row,
                               WithConfig(BaseConfig({{"default_min_age", "4"},
                                                      {"default_max_age", "16"},
                                                      {"default_delivery_modes", "remote,in-person"}})));
  ASSERT_THAT(out.rejects, IsEmpty()) << Describe(out.rejects);
  ASSERT_THAT(out.records, SizeIs(1));
  const Json expected = Json::parse(R"({
    "externalId": "NT-2", "displayName": "Ann", "role": "slt",
    "ageRange": {"minAge": 4, "maxAge": 16},
    "deliveryModes": ["DELIVERY_MODE_REMOTE", "DELIVERY_MODE_IN_PERSON"],
    "employerType": "EMPLOYER_TYPE_NHS", "visibility": "VISIBILITY_REGION"
  })");
  EXPECT_EQ(out.records[0], expected) << out.records[0].dump(2);
}

TEST(CsvImporterTest, ColumnKeysMapAnotherHeaderLayout) {
  ParseOptions options;
  options.config = BaseConfig({{"column_external_id", "Staff No"},
                               {"column_display_name", "Full name"},
                               {"column_role", "Job"},
                               {"column_team", "Service"},
                               {"column_email", "Work email"},
                               {"column_phone", ""},  // not read
                               // a mapped column the file lacks is simply not read
                               {"column_specialisms", "Needs"}});
  const Outcome out = ParseCsv(
      "Job,Full name,staff no,Service,Work email,phone\n"
      "occupational-therapist,Callum Example,NT-9,OT Team,c@example.org,0191 498 0999\n",
      options);
  ASSERT_THAT(out.rejects, IsEmpty()) << Describe(out.rejects);
  ASSERT_THAT(out.records, SizeIs(1));
  EXPECT_EQ(out.records[0]["externalId"], "NT-9");
  EXPECT_EQ(out.records[0]["displayName"], "Callum Example");
  EXPECT_EQ(out.records[0]["role"], "occupational-therapist");
  EXPECT_EQ(out.records[0]["workContact"],
            Json::parse(R"({"email": "c@example.org", "team": "OT Team"})"));
  EXPECT_FALSE(out.records[0].contains("specialisms"));
}

TEST(CsvImporterTest, RejectLocationsUseTheHeaderTextOfMappedColumns) {
  ParseOptions options;
  options.config = BaseConfig({{"column_next_available_date", "next start"}});
  const Outcome out = ParseCsv("external_id,display_name,role,Next Start\na1,Ann,slt,soon\n", options);
  ASSERT_THAT(out.rejects, SizeIs(1));
  EXPECT_EQ(out.rejects[0].where.column, "Next Start");
  EXPECT_THAT(out.rejects[0].message, HasSubstr("Next Start 'soon'"));
}

// ------------------------------------------------------------------ multi-values and value_map

struct ListCase {
  const char* name;
  std::string column;
  std::string cell;
  ConfigMap config;
  std::string json_key;
  Json expected;
};

void PrintTo(const ListCase& c, std::ostream* os) { *os << c.name; }

class CsvListTest : public ::testing::TestWithParam<ListCase> {};

TEST_P(CsvListTest, SplitsTrimsMapsAndDropsEmpties) {
  const ListCase& c = GetParam();
  const Outcome out = ParseCell(c.column, c.cell, BaseConfig(c.config));
  ASSERT_THAT(out.rejects, IsEmpty()) << Describe(out.rejects);
  ASSERT_THAT(out.records, SizeIs(1));
  if (c.expected.is_null()) {
    EXPECT_FALSE(out.records[0].contains(c.json_key)) << out.records[0].dump();
  } else {
    EXPECT_EQ(out.records[0][c.json_key], c.expected);
  }
}

const ConfigMap kValueMap = {
    {"value_map", "SALT=speech-language-therapist, ASD = autism,SLCN=speech-language-communication,"
                  "Mainstream primary=primary,Home=home-community"}};

INSTANTIATE_TEST_SUITE_P(
    Cases, CsvListTest,
    ::testing::Values(
        ListCase{"Specialisms", "specialisms", "autism; adhd ;;semh;", {}, "specialisms",
                 Json{"autism", "adhd", "semh"}},
        ListCase{"RepeatsDropped", "specialisms", "autism;adhd;autism", {}, "specialisms",
                 Json{"autism", "adhd"}},
        ListCase{"OnlySeparators", "specialisms", " ; ;", {}, "specialisms", Json()},
        ListCase{"OtherSeparator", "settings", "\"primary | secondary;x\"",
                 {{"list_separator", "|"}}, "settings", Json{"primary", "secondary;x"}},
        ListCase{"Languages", "languages", "en;bfi;pl", {}, "languages", Json{"en", "bfi", "pl"}},
        ListCase{"CoveredAuthorities", "covered_authorities", "E08000021; E08000023",
                 {}, "coveredAuthorities", Json{"E08000021", "E08000023"}},
        ListCase{"ValueMapSpecialisms", "specialisms", "asd;SLCN;adhd", kValueMap, "specialisms",
                 Json{"autism", "speech-language-communication", "adhd"}},
        ListCase{"ValueMapMapsToRepeat", "specialisms", "ASD;autism", kValueMap, "specialisms",
                 Json{"autism"}},
        ListCase{"ValueMapSettings", "settings", "MAINSTREAM PRIMARY;home", kValueMap, "settings",
                 Json{"primary", "home-community"}},
        ListCase{"ValueMapRole", "team", "x", {{"value_map", "slt=speech-language-therapist"}},
                 "role", Json("speech-language-therapist")},
        ListCase{"ValueMapNotAppliedToLanguages", "languages", "ASD", kValueMap, "languages",
                 Json{"ASD"}},
        ListCase{"DeliveryModes", "delivery_modes", "In Person; REMOTE;in-person", {},
                 "deliveryModes", Json{"DELIVERY_MODE_IN_PERSON", "DELIVERY_MODE_REMOTE"}}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(CsvImporterTest, ValueMapAppliesToRoleIgnoringCase) {
  const Outcome out = ParseCsv("external_id,display_name,role\na1,Ann,salt\na2,Bob,Audiologist\n",
                               WithConfig(BaseConfig(kValueMap)));
  ASSERT_THAT(out.records, SizeIs(2));
  EXPECT_EQ(out.records[0]["role"], "speech-language-therapist");
  EXPECT_EQ(out.records[1]["role"], "Audiologist");  // unmapped: the host checks codes
}

// ------------------------------------------------------------------ typed cells

struct CellCase {
  const char* name;
  std::string column;
  std::string cell;
  ConfigMap config;
  std::string json_pointer;  // into the record; "" when the cell must be rejected
  Json expected;
};

void PrintTo(const CellCase& c, std::ostream* os) { *os << c.name; }

class CsvCellTest : public ::testing::TestWithParam<CellCase> {};

TEST_P(CsvCellTest, ConvertsOrRejectsWithSchema) {
  const CellCase& c = GetParam();
  const Outcome out = ParseCell(c.column, c.cell, BaseConfig(c.config));
  EXPECT_EQ(out.code, EXPERTISE_OK);
  if (c.json_pointer.empty()) {
    ASSERT_THAT(out.rejects, SizeIs(1)) << out.records.size();
    EXPECT_EQ(out.rejects[0].reason, EXPERTISE_REJECT_SCHEMA) << Describe(out.rejects);
    EXPECT_EQ(out.rejects[0].where.row, 2u);
    EXPECT_EQ(out.rejects[0].where.column, c.column);
    EXPECT_EQ(out.rejects[0].external_id, "a1");
    EXPECT_THAT(out.rejects[0].message, HasSubstr(c.column));
    EXPECT_THAT(out.records, IsEmpty());
  } else {
    ASSERT_THAT(out.rejects, IsEmpty()) << Describe(out.rejects);
    ASSERT_THAT(out.records, SizeIs(1));
    const Json::json_pointer pointer(c.json_pointer);
    if (c.expected.is_null()) {
      EXPECT_FALSE(out.records[0].contains(pointer)) << out.records[0].dump();
    } else {
      ASSERT_TRUE(out.records[0].contains(pointer)) << out.records[0].dump();
      EXPECT_EQ(out.records[0][pointer], c.expected);
    }
  }
}

Json YMD(int y, int m, int d) { return Json{{"year", y}, {"month", m}, {"day", d}}; }
const ConfigMap kIso = {{"date_format", "iso"}};
const ConfigMap kUk = {{"date_format", "uk"}};

INSTANTIATE_TEST_SUITE_P(
    Dates, CsvCellTest,
    ::testing::Values(
        CellCase{"AutoIso", "next_available_date", "2026-09-01", {}, "/capacity/nextAvailableDate",
                 YMD(2026, 9, 1)},
        CellCase{"AutoUk", "next_available_date", "01/09/2026", {}, "/capacity/nextAvailableDate",
                 YMD(2026, 9, 1)},
        CellCase{"AutoUkShort", "valid_from", "7/9/2026", {}, "/capacity/validFrom",
                 YMD(2026, 9, 7)},
        CellCase{"AutoLeapDay", "valid_to", "29/02/2028", {}, "/capacity/validTo", YMD(2028, 2, 29)},
        CellCase{"Trimmed", "valid_to", "  2026-07-31 ", {}, "/capacity/validTo", YMD(2026, 7, 31)},
        CellCase{"EmptyLeftOut", "next_available_date", "", {}, "/capacity", Json()},
        CellCase{"IsoFormat", "next_available_date", "2026-09-01", kIso,
                 "/capacity/nextAvailableDate", YMD(2026, 9, 1)},
        CellCase{"UkFormat", "next_available_date", "01/09/2026", kUk,
                 "/capacity/nextAvailableDate", YMD(2026, 9, 1)},
        CellCase{"UsMonthFirst", "next_available_date", "09/13/2026", {}, "", Json()},
        CellCase{"NoYear", "next_available_date", "09/13", {}, "", Json()},
        CellCase{"TwoDigitYear", "next_available_date", "01/09/26", {}, "", Json()},
        CellCase{"February31", "valid_from", "31/02/2026", {}, "", Json()},
        CellCase{"NotALeapYear", "valid_from", "2026-02-29", {}, "", Json()},
        CellCase{"Month13", "valid_to", "2026-13-01", {}, "", Json()},
        CellCase{"Day0", "valid_to", "00/01/2026", {}, "", Json()},
        CellCase{"Year0", "valid_to", "0000-01-01", {}, "", Json()},
        CellCase{"Slashes", "valid_to", "2026/09/01", {}, "", Json()},
        CellCase{"Dashes", "valid_to", "01-09-2026", {}, "", Json()},
        CellCase{"IsoShort", "valid_to", "2026-9-1", {}, "", Json()},
        CellCase{"Text", "valid_to", "next term", {}, "", Json()},
        CellCase{"WithTime", "valid_to", "2026-09-01T00:00:00Z", {}, "", Json()},
        CellCase{"UkInIsoMode", "next_available_date", "01/09/2026", kIso, "", Json()},
        CellCase{"IsoInUkMode", "next_available_date", "2026-09-01", kUk, "", Json()}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Timestamps, CsvCellTest,
    ::testing::Values(
        CellCase{"Rfc3339Utc", "last_verified", "2026-04-30T09:15:00Z", {}, "/lastVerifyTime",
                 Json("2026-04-30T09:15:00Z")},
        CellCase{"Rfc3339Offset", "last_verified", "2026-04-30T09:15:00+01:00", {},
                 "/lastVerifyTime", Json("2026-04-30T08:15:00Z")},
        CellCase{"OffsetCrossesMidnight", "last_verified", "2026-01-01T00:30:00+01:00", {},
                 "/lastVerifyTime", Json("2025-12-31T23:30:00Z")},
        CellCase{"NegativeOffset", "last_verified", "2026-04-30t20:00:00-05:30", {},
                 "/lastVerifyTime", Json("2026-05-01T01:30:00Z")},
        CellCase{"Fraction", "last_verified", "2026-04-30T09:15:00.25Z", {}, "/lastVerifyTime",
                 Json("2026-04-30T09:15:00.250Z")},
        CellCase{"Nanos", "last_verified", "2026-04-30T09:15:00.000000001Z", {}, "/lastVerifyTime",
                 Json("2026-04-30T09:15:00.000000001Z")},
        CellCase{"IsoDate", "last_verified", "2026-04-30", {}, "/lastVerifyTime",
                 Json("2026-04-30T00:00:00Z")},
        CellCase{"UkDate", "last_verified", "30/04/2026", {}, "/lastVerifyTime",
                 Json("2026-04-30T00:00:00Z")},
        CellCase{"UkDateTimeNoZone", "last_verified", "30/04/2026 09:15", {}, "/lastVerifyTime",
                 Json("2026-04-30T09:15:00Z")},
        CellCase{"Hour24", "last_verified", "2026-04-30T24:00:00Z", {}, "", Json()},
        CellCase{"LeapSecond", "last_verified", "2026-06-30T23:59:60Z", {}, "", Json()},
        CellCase{"TenFractionDigits", "last_verified", "2026-04-30T09:15:00.0000000001Z", {}, "",
                 Json()},
        CellCase{"BadOffset", "last_verified", "2026-04-30T09:15:00+0100", {}, "", Json()},
        CellCase{"TrailingText", "last_verified", "2026-04-30T09:15:00Z!", {}, "", Json()},
        CellCase{"BeforeYear1", "last_verified", "0001-01-01T00:30:00+01:00", {}, "", Json()},
        CellCase{"AfterYear9999", "last_verified", "9999-12-31T23:30:00-01:00", {}, "", Json()}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Numbers, CsvCellTest,
    ::testing::Values(
        CellCase{"Decimal", "contracted_hours", "37.5", {}, "/capacity/contractedHoursPerWeek",
                 Json(37.5)},
        CellCase{"Negative", "longitude", "-1.4446", {}, "/baseLocation/longitude", Json(-1.4446)},
        CellCase{"PlusSign", "latitude", "+55", {}, "/baseLocation/latitude", Json(55.0)},
        CellCase{"Exponent", "travel_radius_km", "1.5e1", {}, "/travelRadiusKm", Json(15.0)},
        CellCase{"LeadingDot", "committed_hours", ".5", {}, "/capacity/committedHoursPerWeek",
                 Json(0.5)},
        CellCase{"Integer", "current_caseload", "41", {}, "/capacity/currentCaseload", Json(41)},
        CellCase{"ZeroCaseload", "max_caseload", "0", {}, "/capacity/maxCaseload", Json(0)},
        CellCase{"Age", "min_age", "5", {}, "/ageRange", Json{{"minAge", 5}, {"maxAge", 25}}},
        CellCase{"DecimalComma", "contracted_hours", "\"37,5\"", {}, "", Json()},
        CellCase{"Infinity", "contracted_hours", "inf", {}, "", Json()},
        CellCase{"NaN", "latitude", "nan", {}, "", Json()},
        CellCase{"Hex", "latitude", "0x10", {}, "", Json()},
        CellCase{"BareExponent", "latitude", "1e", {}, "", Json()},
        CellCase{"Overflow", "latitude", "1e999", {}, "", Json()},
        CellCase{"Words", "travel_radius_km", "about 20", {}, "", Json()},
        CellCase{"FractionalCaseload", "current_caseload", "12.5", {}, "", Json()},
        CellCase{"HugeCaseload", "max_caseload", "99999999999", {}, "", Json()},
        CellCase{"FractionalWait", "waiting_time_weeks", "2.5", {}, "", Json()},
        CellCase{"FractionalAge", "max_age", "4.5", {}, "", Json()},
        CellCase{"DoubleSign", "min_age", "+-4", {}, "", Json()}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Enums, CsvCellTest,
    ::testing::Values(
        CellCase{"Yes", "accepting_external_requests", "Yes", {},
                 "/capacity/acceptingExternalRequests", Json(true)},
        CellCase{"Y", "accepting_external_requests", "y", {},
                 "/capacity/acceptingExternalRequests", Json(true)},
        CellCase{"True", "accepting_external_requests", "TRUE", {},
                 "/capacity/acceptingExternalRequests", Json(true)},
        CellCase{"One", "accepting_external_requests", "1", {},
                 "/capacity/acceptingExternalRequests", Json(true)},
        CellCase{"No", "accepting_external_requests", "no", {},
                 "/capacity/acceptingExternalRequests", Json(false)},
        CellCase{"N", "accepting_external_requests", "N", {},
                 "/capacity/acceptingExternalRequests", Json(false)},
        CellCase{"False", "accepting_external_requests", "false", {},
                 "/capacity/acceptingExternalRequests", Json(false)},
        CellCase{"Zero", "accepting_external_requests", "0", {},
                 "/capacity/acceptingExternalRequests", Json(false)},
        CellCase{"Maybe", "accepting_external_requests", "maybe", {}, "", Json()},
        CellCase{"LocalAuthority", "employer_type", "Local-Authority", {}, "/employerType",
                 Json("EMPLOYER_TYPE_LOCAL_AUTHORITY")},
        CellCase{"SchoolOrTrust", "employer_type", "school or trust", {}, "/employerType",
                 Json("EMPLOYER_TYPE_SCHOOL_OR_TRUST")},
        CellCase{"Voluntary", "employer_type", "INDEPENDENT_OR_VOLUNTARY", {}, "/employerType",
                 Json("EMPLOYER_TYPE_INDEPENDENT_OR_VOLUNTARY")},
        CellCase{"CellBeatsDefault", "employer_type", "nhs", {{"default_employer_type", "school_or_trust"}},
                 "/employerType", Json("EMPLOYER_TYPE_NHS")},
        CellCase{"Council", "employer_type", "council", {}, "", Json()},
        CellCase{"OwnAuthority", "visibility", "Own Authority", {}, "/visibility",
                 Json("VISIBILITY_OWN_AUTHORITY")},
        CellCase{"National", "visibility", "national", {}, "/visibility",
                 Json("VISIBILITY_NATIONAL")},
        CellCase{"Public", "visibility", "public", {}, "", Json()},
        CellCase{"InPersonSpace", "delivery_modes", "in person", {}, "/deliveryModes",
                 Json{"DELIVERY_MODE_IN_PERSON"}},
        CellCase{"Telepathy", "delivery_modes", "remote;telepathy", {}, "", Json()}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

// ------------------------------------------------------------------ REQUIRED and DUPLICATE_KEY

struct RequiredCase {
  const char* name;
  std::string row;
  std::string column;
  std::string external_id;
};

void PrintTo(const RequiredCase& c, std::ostream* os) { *os << c.name; }

class CsvRequiredTest : public ::testing::TestWithParam<RequiredCase> {};

TEST_P(CsvRequiredTest, RejectsEmptyRequiredCell) {
  const RequiredCase& c = GetParam();
  const Outcome out = ParseCsv(
      "external_id,display_name,role,employer_type\n" + c.row + "\na2,Bob,slt,nhs\n",
      WithConfig({{"default_visibility", "region"}, {"default_delivery_modes", "remote"}}));
  ASSERT_THAT(out.rejects, SizeIs(1));
  EXPECT_EQ(out.rejects[0].reason, EXPERTISE_REJECT_REQUIRED);
  EXPECT_EQ(out.rejects[0].where.file, "test.csv");
  EXPECT_EQ(out.rejects[0].where.row, 2u);
  EXPECT_EQ(out.rejects[0].where.column, c.column);
  EXPECT_EQ(out.rejects[0].external_id, c.external_id);
  EXPECT_EQ(out.rejects[0].raw_excerpt, c.row);
  EXPECT_THAT(DisplayNames(out), ElementsAre("Bob"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CsvRequiredTest,
    ::testing::Values(RequiredCase{"ExternalId", ",Ann,slt,nhs", "external_id", ""},
                      RequiredCase{"ExternalIdBlank", "  ,Ann,slt,nhs", "external_id", ""},
                      RequiredCase{"DisplayName", "a1,,slt,nhs", "display_name", "a1"},
                      RequiredCase{"Role", "a1,Ann,\"  \",nhs", "role", "a1"},
                      RequiredCase{"EmployerTypeWithoutDefault", "a1,Ann,slt,", "employer_type",
                                   "a1"}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(CsvImporterTest, RejectsDuplicateExternalId) {
  const Outcome out = ParseCsv(
      "external_id,display_name,role\r\nNT-1,Ann,slt\r\nNT-2,Bob,slt\r\nNT-1,Ann again,slt\r\n");
  EXPECT_THAT(DisplayNames(out), ElementsAre("Ann", "Bob"));
  ASSERT_THAT(out.rejects, SizeIs(1));
  EXPECT_EQ(out.rejects[0].reason, EXPERTISE_REJECT_DUPLICATE_KEY);
  EXPECT_EQ(out.rejects[0].where.row, 4u);
  EXPECT_EQ(out.rejects[0].where.column, "external_id");
  EXPECT_EQ(out.rejects[0].external_id, "NT-1");
  EXPECT_EQ(out.rejects[0].raw_excerpt, "NT-1,Ann again,slt");
}

TEST(CsvImporterTest, DuplicateOfARejectedRowIsStillADuplicate) {
  // Both rows claim the id; importing the second would pick a version silently.
  const Outcome out = ParseCsv(
      "external_id,display_name,role,valid_to\na1,Ann,slt,never\na1,Ann,slt,\n");
  EXPECT_THAT(out.records, IsEmpty());
  ASSERT_THAT(out.rejects, SizeIs(2));
  EXPECT_EQ(out.rejects[0].reason, EXPERTISE_REJECT_SCHEMA);
  EXPECT_EQ(out.rejects[1].reason, EXPERTISE_REJECT_DUPLICATE_KEY);
}

// ------------------------------------------------------------------ incremental mode

constexpr char kCursorInput[] =
    "external_id,display_name,role,updated_at\r\n"
    "a1,Ann,slt,2026-01-01\r\n"
    "a2,Bob,slt,2026-03-01T10:00:00Z\r\n"
    "a3,Cal,slt,2026-02-01T00:00:00Z\r\n"
    "a4,Dee,slt,2026-03-01T11:00:00+01:00\r\n";  // the same instant as Bob's

ParseOptions Incremental(std::string state, ConfigMap extra = {}) {
  ParseOptions options;
  options.config = BaseConfig({{"cursor_column", "updated_at"}});
  for (auto& [key, value] : extra) options.config[key] = value;
  options.mode = EXPERTISE_SYNC_INCREMENTAL;
  options.state = std::move(state);
  return options;
}

TEST(CsvImporterIncrementalTest, FirstRunReadsAllAndCheckpointsTheNewestCursor) {
  const Outcome out = ParseCsv(kCursorInput, Incremental(""));
  EXPECT_EQ(out.code, EXPERTISE_OK);
  EXPECT_THAT(DisplayNames(out), ElementsAre("Ann", "Bob", "Cal", "Dee"));
  EXPECT_THAT(out.checkpoints, ElementsAre("2026-03-01T10:00:00Z"));
}

TEST(CsvImporterIncrementalTest, SkipsRowsNotNewerThanTheState) {
  const Outcome out = ParseCsv(kCursorInput, Incremental("2026-02-01T00:00:00Z"));
  EXPECT_EQ(out.code, EXPERTISE_OK);
  EXPECT_THAT(DisplayNames(out), ElementsAre("Bob", "Dee"));
  EXPECT_THAT(out.rejects, IsEmpty());
  EXPECT_THAT(out.checkpoints, ElementsAre("2026-03-01T10:00:00Z"));
}

TEST(CsvImporterIncrementalTest, ResumingFromTheCheckpointReadsNothingNew) {
  const Outcome first = ParseCsv(kCursorInput, Incremental(""));
  ASSERT_THAT(first.checkpoints, SizeIs(1));
  const Outcome again = ParseCsv(kCursorInput, Incremental(first.checkpoints[0]));
  EXPECT_THAT(again.records, IsEmpty());
  EXPECT_THAT(again.checkpoints, ElementsAre(first.checkpoints[0]));
}

TEST(CsvImporterIncrementalTest, FutureStateYieldsNothing) {
  const Outcome out = ParseCsv(kCursorInput, Incremental("9999-12-31T23:59:59Z"));
  EXPECT_EQ(out.code, EXPERTISE_OK);
  EXPECT_THAT(out.records, IsEmpty());
  EXPECT_THAT(out.checkpoints, ElementsAre("9999-12-31T23:59:59Z"));
}

TEST(CsvImporterIncrementalTest, ComparesFractionsAsTimeNotText) {
  // As text "10:00:00.5Z" sorts before "10:00:00Z"; as time it is later.
  const Outcome out = ParseCsv(
      "external_id,display_name,role,updated_at\na1,Ann,slt,2026-03-01T10:00:00.5Z\n",
      Incremental("2026-03-01T10:00:00Z"));
  EXPECT_THAT(DisplayNames(out), ElementsAre("Ann"));
  EXPECT_THAT(out.checkpoints, ElementsAre("2026-03-01T10:00:00.500Z"));
}

TEST(CsvImporterIncrementalTest, UkCursorsFollowDateFormat) {
  const Outcome out = ParseCsv(
      "external_id,display_name,role,Modified\na1,Ann,slt,02/03/2026 09:30\na2,Bob,slt,01/03/2026\n",
      Incremental("2026-03-01T12:00:00Z", {{"cursor_column", "modified"}, {"date_format", "uk"}}));
  EXPECT_THAT(DisplayNames(out), ElementsAre("Ann"));
  EXPECT_THAT(out.checkpoints, ElementsAre("2026-03-02T09:30:00Z"));
}

TEST(CsvImporterIncrementalTest, RejectsBadAndEmptyCursors) {
  const Outcome out = ParseCsv(
      "external_id,display_name,role,updated_at\na1,Ann,slt,yesterday\na2,Bob,slt,\n"
      "a3,Cal,slt,2026-01-01\n",
      Incremental(""));
  EXPECT_THAT(DisplayNames(out), ElementsAre("Cal"));
  ASSERT_THAT(out.rejects, SizeIs(2));
  EXPECT_EQ(out.rejects[0].reason, EXPERTISE_REJECT_SCHEMA);
  EXPECT_EQ(out.rejects[0].where.column, "updated_at");
  EXPECT_EQ(out.rejects[0].where.row, 2u);
  EXPECT_EQ(out.rejects[0].external_id, "a1");
  EXPECT_EQ(out.rejects[1].reason, EXPERTISE_REJECT_REQUIRED);
  EXPECT_EQ(out.rejects[1].where.column, "updated_at");
  EXPECT_THAT(out.checkpoints, ElementsAre("2026-01-01T00:00:00Z"));
}

TEST(CsvImporterIncrementalTest, RejectedRowsAreCoveredByTheCheckpoint) {
  // A row rejected for another reason still moves the cursor: it is in the
  // reject store, and re-reading it every run would repeat the reject.
  const Outcome out = ParseCsv(
      "external_id,display_name,role,updated_at,valid_to\na1,Ann,slt,2026-05-01,never\n",
      Incremental(""));
  ASSERT_THAT(out.rejects, SizeIs(1));
  EXPECT_THAT(out.checkpoints, ElementsAre("2026-05-01T00:00:00Z"));
}

TEST(CsvImporterIncrementalTest, NeedsCursorColumn) {
  ParseOptions options;
  options.mode = EXPERTISE_SYNC_INCREMENTAL;
  const Outcome out = ParseCsv(kCursorInput, options);
  EXPECT_EQ(out.code, EXPERTISE_ERROR);
  EXPECT_THAT(out.records, IsEmpty());
  EXPECT_THAT(out.logs, ElementsAre(HasSubstr("cursor_column")));
}

TEST(CsvImporterIncrementalTest, RefusesAStateThatIsNotATimestamp) {
  const Outcome out = ParseCsv(kCursorInput, Incremental("page=7"));
  EXPECT_EQ(out.code, EXPERTISE_ERROR);
  EXPECT_THAT(out.records, IsEmpty());
  EXPECT_THAT(out.logs, ElementsAre(HasSubstr("state")));
}

TEST(CsvImporterIncrementalTest, CursorColumnMissingFromHeaderIsAParseReject) {
  const Outcome out = ParseCsv("external_id,display_name,role\na1,Ann,slt\n", Incremental(""));
  EXPECT_EQ(out.code, EXPERTISE_OK);
  EXPECT_THAT(out.records, IsEmpty());
  ASSERT_THAT(out.rejects, SizeIs(1));
  EXPECT_EQ(out.rejects[0].reason, EXPERTISE_REJECT_PARSE);
  EXPECT_EQ(out.rejects[0].where.row, 1u);
  EXPECT_EQ(out.rejects[0].where.column, "updated_at");
  EXPECT_THAT(out.checkpoints, IsEmpty());
}

TEST(CsvImporterIncrementalTest, SnapshotModeIgnoresTheCursor) {
  ParseOptions options = Incremental("2026-12-31T00:00:00Z");
  options.mode = EXPERTISE_SYNC_SNAPSHOT;
  Outcome out = ParseCsv(kCursorInput, options);
  EXPECT_THAT(out.records, SizeIs(4));
  EXPECT_THAT(out.checkpoints, IsEmpty());
  // ... and does not need the column.
  out = ParseCsv("external_id,display_name,role\na1,Ann,slt\n", options);
  EXPECT_THAT(out.records, SizeIs(1));
}

TEST(CsvImporterTest, RefusesUnknownSyncMode) {
  ParseOptions options;
  options.mode = EXPERTISE_SYNC_SNAPSHOT | EXPERTISE_SYNC_INCREMENTAL;
  EXPECT_EQ(ParseCsv(kCursorInput, options).code, EXPERTISE_ERROR);
}

// ------------------------------------------------------------------ cancellation

std::unique_ptr<CsvImporter> MakeImporter(RecordingHost& recorder, const ConfigMap& config = BaseConfig()) {
  importer::Host host = recorder.host();
  return CsvImporter::Create(MakeConfig(config), host);
}

TEST(CsvImporterCancelTest, CancelBeforeParseReadsNothing) {
  RecordingHost recorder;
  auto importer = MakeImporter(recorder);
  ASSERT_NE(importer, nullptr);
  importer->Cancel();
  std::istringstream input(kCursorInput);
  importer::Host host = recorder.host();
  EXPECT_EQ(importer->Parse(input, "test.csv", {}, host), EXPERTISE_CANCELLED);
  EXPECT_THAT(recorder.records, IsEmpty());
  EXPECT_THAT(recorder.rejects, IsEmpty());
}

TEST(CsvImporterCancelTest, HostStopAfterFirstEmitStopsPromptly) {
  RecordingHost recorder;
  recorder.StopAfter(1);
  auto importer = MakeImporter(recorder, BaseConfig({{"cursor_column", "updated_at"}}));
  ASSERT_NE(importer, nullptr);
  std::istringstream input(kCursorInput);
  importer::Host host = recorder.host();
  importer::ReadRequest request;
  request.sync_mode = EXPERTISE_SYNC_INCREMENTAL;
  EXPECT_EQ(importer->Parse(input, "test.csv", request, host), EXPERTISE_CANCELLED);
  EXPECT_THAT(recorder.records, SizeIs(1));
  EXPECT_THAT(recorder.checkpoints, IsEmpty());  // nothing past the stop is covered
}

// Serves a string in small pieces and runs a hook before each piece after
// the first, so a test can cancel in the middle of a read.
class HookedBuffer : public std::streambuf {
 public:
  HookedBuffer(std::string data, size_t piece, std::function<void()> hook)
      : data_(std::move(data)), piece_(piece), hook_(std::move(hook)) {}

 protected:
  int_type underflow() override {
    if (next_ >= data_.size()) return traits_type::eof();
    if (next_ > 0) hook_();
    char* begin = data_.data() + next_;
    const size_t n = std::min(piece_, data_.size() - next_);
    next_ += n;
    setg(begin, begin, begin + n);
    return traits_type::to_int_type(*begin);
  }

 private:
  std::string data_;
  size_t piece_;
  std::function<void()> hook_;
  size_t next_ = 0;
};

TEST(CsvImporterCancelTest, CancelDuringAHugeRecordIsNoticed) {
  // One unterminated quoted field of 4 MiB: no row ends, so only the
  // per-chunk check can see the cancel.
  RecordingHost recorder;
  auto importer = MakeImporter(recorder);
  ASSERT_NE(importer, nullptr);
  HookedBuffer buffer("external_id,display_name,role\na1,\"" + std::string(4 << 20, 'x'),
                      64 * 1024, [&] { importer->Cancel(); });
  std::istream input(&buffer);
  importer::Host host = recorder.host();
  EXPECT_EQ(importer->Parse(input, "test.csv", {}, host), EXPERTISE_CANCELLED);
  EXPECT_THAT(recorder.rejects, IsEmpty());
}

TEST(CsvImporterTest, ReportsReadErrors) {
  class FailingBuffer : public std::streambuf {
    int_type underflow() override { throw std::ios_base::failure("disk on fire"); }
  } buffer;
  std::istream input(&buffer);
  input.exceptions(std::ios::goodbit);  // istream catches and sets badbit
  RecordingHost recorder;
  auto importer = MakeImporter(recorder);
  importer::Host host = recorder.host();
  EXPECT_EQ(importer->Parse(input, "test.csv", {}, host), EXPERTISE_ERROR);
  EXPECT_THAT(recorder.logs, ElementsAre(HasSubstr("reading the input failed")));
}

TEST(CsvImporterTest, ReadOpensTheFileAndUsesItsBaseName) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "csv_importer_test";
  std::filesystem::create_directories(dir);
  const std::filesystem::path path = dir / "hr-export.csv";
  std::ofstream(path, std::ios::binary) << "external_id,display_name,role\na1,Ann,slt\na1,Ann,slt\n";
  RecordingHost recorder;
  auto importer = MakeImporter(recorder);
  importer::Host host = recorder.host();
  importer::ReadRequest request;
  request.input_path = path.string();
  EXPECT_EQ(importer->Read(request, host), EXPERTISE_OK);
  ASSERT_THAT(recorder.record_locations, SizeIs(1));
  EXPECT_EQ(recorder.record_locations[0].file, "hr-export.csv");
  ASSERT_THAT(recorder.rejects, SizeIs(1));
  EXPECT_EQ(recorder.rejects[0].where.file, "hr-export.csv");
  std::filesystem::remove_all(dir);

  request.input_path = (dir / "missing.csv").string();
  EXPECT_EQ(importer->Read(request, host), EXPERTISE_ERROR);
  EXPECT_THAT(recorder.logs.back(), HasSubstr("cannot open"));
}

// ------------------------------------------------------------------ configuration

struct ConfigErrorCase {
  const char* name;
  ConfigMap config;
  std::vector<std::string> keys;  // every key that must be named
};

void PrintTo(const ConfigErrorCase& c, std::ostream* os) { *os << c.name; }

class CsvConfigErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};

TEST_P(CsvConfigErrorTest, NamesTheBadKey) {
  RecordingHost recorder;
  importer::Host host = recorder.host();
  EXPECT_EQ(CsvImporter::Create(MakeConfig(GetParam().config), host), nullptr);
  std::vector<std::string> keys;
  for (const auto& [key, message] : recorder.config_errors) {
    keys.push_back(key);
    EXPECT_FALSE(message.empty());
  }
  EXPECT_EQ(keys, GetParam().keys);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CsvConfigErrorTest,
    ::testing::Values(
        ConfigErrorCase{"DelimiterEmpty", {{"delimiter", ""}}, {"delimiter"}},
        ConfigErrorCase{"DelimiterTwoChars", {{"delimiter", ";;"}}, {"delimiter"}},
        ConfigErrorCase{"DelimiterMultibyte", {{"delimiter", "§"}}, {"delimiter"}},
        ConfigErrorCase{"DelimiterQuote", {{"delimiter", "\""}}, {"delimiter"}},
        ConfigErrorCase{"DelimiterNewline", {{"delimiter", "\n"}}, {"delimiter"}},
        ConfigErrorCase{"DelimiterIsListSeparator", {{"delimiter", ";"}}, {"delimiter"}},
        ConfigErrorCase{"DelimiterIsOtherListSeparator",
                        {{"delimiter", "|"}, {"list_separator", "|"}}, {"delimiter"}},
        ConfigErrorCase{"ListSeparatorEmpty", {{"list_separator", ""}}, {"list_separator"}},
        ConfigErrorCase{"ValueMapNoEquals", {{"value_map", "SALT"}}, {"value_map"}},
        ConfigErrorCase{"ValueMapNoLabel", {{"value_map", "=autism"}}, {"value_map"}},
        ConfigErrorCase{"ValueMapNoCode", {{"value_map", "ASD= "}}, {"value_map"}},
        ConfigErrorCase{"ValueMapConflict", {{"value_map", "ASD=autism,asd=adhd"}}, {"value_map"}},
        ConfigErrorCase{"DateFormat", {{"date_format", "us"}}, {"date_format"}},
        ConfigErrorCase{"EmployerType", {{"default_employer_type", "council"}},
                        {"default_employer_type"}},
        ConfigErrorCase{"Visibility", {{"default_visibility", "public"}}, {"default_visibility"}},
        ConfigErrorCase{"DeliveryMode", {{"default_delivery_modes", "remote,telepathy"}},
                        {"default_delivery_modes"}},
        ConfigErrorCase{"MinAgeNegative", {{"default_min_age", "-1"}}, {"default_min_age"}},
        ConfigErrorCase{"MinAgeText", {{"default_min_age", "four"}}, {"default_min_age"}},
        ConfigErrorCase{"MaxAgeTooBig", {{"default_max_age", "26"}}, {"default_max_age"}},
        ConfigErrorCase{"MinAboveMax", {{"default_min_age", "12"}, {"default_max_age", "5"}},
                        {"default_max_age"}},
        ConfigErrorCase{"RequiredColumnEmpty", {{"column_role", ""}}, {"column_role"}},
        ConfigErrorCase{"ColumnTakesAnothersDefault", {{"column_team", "email"}}, {"column_team"}},
        ConfigErrorCase{"ColumnTakesAnothersDefaultEarlierKey", {{"column_email", "Team"}},
                        {"column_email"}},
        ConfigErrorCase{"TwoColumnsSameHeader",
                        {{"column_phone", "Contact"}, {"column_email", " contact "}},
                        {"column_email", "column_phone"}},
        ConfigErrorCase{"EveryBadKeyIsReported",
                        {{"delimiter", "ab"}, {"default_visibility", "x"}, {"default_max_age", "99"}},
                        {"delimiter", "default_visibility", "default_max_age"}}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(CsvImporterConfigTest, AcceptsDefaultsAndUsefulSettings) {
  for (const ConfigMap& config :
       {ConfigMap{}, ConfigMap{{"delimiter", "\t"}}, ConfigMap{{"delimiter", ";"}, {"list_separator", "|"}},
        ConfigMap{{"column_phone", ""}, {"column_team", ""}},  // optional columns switched off
        ConfigMap{{"value_map", "ASD=autism, asd = autism"}},   // a harmless repeat
        ConfigMap{{"cursor_column", "last_verified"}}}) {
    RecordingHost recorder;
    importer::Host host = recorder.host();
    EXPECT_NE(CsvImporter::Create(MakeConfig(config), host), nullptr);
    EXPECT_THAT(recorder.config_errors, IsEmpty());
  }
}

TEST(CsvImporterConfigTest, CheckThroughTheAbiReportsInvalidConfig) {
  using Tramp = importer::internal::Trampolines<CsvImporter>;
  RecordingHost recorder;
  const expertise_config_entry entries[] = {{"delimiter", "::"}};
  const expertise_config config{sizeof(expertise_config), entries, 1};
  void* instance = nullptr;
  EXPECT_EQ(Tramp::Check(&config, recorder.api(), recorder.hctx(), &instance),
            EXPERTISE_INVALID_CONFIG);
  EXPECT_EQ(instance, nullptr);
  EXPECT_THAT(recorder.config_errors, ElementsAre(::testing::Pair("delimiter", ::testing::_)));

  const expertise_config empty{sizeof(expertise_config), nullptr, 0};
  ASSERT_EQ(Tramp::Check(&empty, recorder.api(), recorder.hctx(), &instance), EXPERTISE_OK);
  ASSERT_NE(instance, nullptr);
  Tramp::Close(instance);
}

TEST(CsvImporterConfigTest, DeclaredKeysAreWellFormed) {
  std::set<std::string> names;
  int columns = 0;
  for (const expertise_config_key& key : CsvImporter::kConfigKeys) {
    const std::string name = key.name;
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_TRUE(std::all_of(name.begin(), name.end(),
                            [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; }))
        << name;
    EXPECT_EQ(key.secret, 0u) << name;
    EXPECT_EQ(key.required, 0u) << name;
    EXPECT_NE(std::strlen(key.description), 0u) << name;
    EXPECT_EQ(key.type == EXPERTISE_CONFIG_ENUM, key.allowed_values != nullptr) << name;
    if (name.rfind("column_", 0) == 0) {
      ++columns;
      ASSERT_NE(key.default_value, nullptr) << name;
      EXPECT_EQ(key.default_value, name.substr(7));
      EXPECT_EQ(key.type, EXPERTISE_CONFIG_STRING);
    }
  }
  EXPECT_EQ(columns, 30);
  EXPECT_EQ(CsvImporter::kSyncModes, EXPERTISE_SYNC_SNAPSHOT | EXPERTISE_SYNC_INCREMENTAL);
}

// ------------------------------------------------------------------ shipped fixtures

// Turns a fixture config (FIXTURES.md) into key -> string values.
ConfigMap ConfigFromJson(const Json& object) {
  ConfigMap out;
  for (const auto& [key, value] : object.items()) {
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_array()) {
      for (const auto& item : value) text += (text.empty() ? "" : ",") + item.get<std::string>();
    } else if (value.is_object()) {
      for (const auto& [k, v] : value.items()) {
        text += (text.empty() ? "" : ",") + k + "=" + v.get<std::string>();
      }
    } else {
      text = value.dump();  // numbers and booleans
    }
    out[key] = text;
  }
  return out;
}

Outcome ParseFile(const std::filesystem::path& path, const ConfigMap& config) {
  RecordingHost recorder;
  auto importer = MakeImporter(recorder, config);
  if (importer == nullptr) {
    ADD_FAILURE() << "config refused for " << path;
    return {};
  }
  importer::Host host = recorder.host();
  importer::ReadRequest request;
  request.input_path = path.string();
  return Collect(importer->Read(request, host), recorder);
}

class CsvFixtureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixtures_ = Json::parse(ReadFile(PluginDir() / "conformance.json"));
    config_ = ConfigFromJson(fixtures_["config"]);
  }
  Json fixtures_;
  ConfigMap config_;
};

TEST_F(CsvFixtureTest, FullInputGivesTheExpectedRecords) {
  const Outcome out = ParseFile(PluginDir() / fixtures_["full_input"].get<std::string>(), config_);
  EXPECT_EQ(out.code, EXPERTISE_OK);
  EXPECT_THAT(out.rejects, IsEmpty()) << Describe(out.rejects);
  EXPECT_EQ(out.records.size(), fixtures_["expected_records"].get<size_t>());
  ASSERT_GE(out.records.size(), 2u);  // the kit's cancel test needs two
  EXPECT_EQ(out.record_locations[0].file, "good.csv");
  // The quoted cell with a comma and an embedded newline (Excel writes LF
  // inside a cell even in a CRLF file).
  EXPECT_EQ(out.records[1]["workContact"]["team"], "Educational Psychology Service, Quadrant East");
  // Labels translated by value_map; UK and ISO dates.
  EXPECT_EQ(out.records[0]["role"], "speech-language-therapist");
  EXPECT_EQ(out.records[0]["specialisms"],
            (Json{"speech-language-communication", "developmental-language-disorder"}));
  EXPECT_EQ(out.records[0]["capacity"]["nextAvailableDate"], YMD(2026, 9, 1));
  EXPECT_EQ(out.records[0]["capacity"]["validFrom"], YMD(2026, 4, 1));
  std::set<std::string> ids;
  for (const auto& r : out.records) ids.insert(r["externalId"].get<std::string>());
  EXPECT_EQ(ids.size(), out.records.size());
}

TEST_F(CsvFixtureTest, FullInputIsIncrementalReady) {
  RecordingHost recorder;
  auto importer = MakeImporter(recorder, config_);
  ASSERT_NE(importer, nullptr);
  importer::Host host = recorder.host();
  importer::ReadRequest request;
  request.input_path = (PluginDir() / fixtures_["full_input"].get<std::string>()).string();
  request.sync_mode = EXPERTISE_SYNC_INCREMENTAL;
  ASSERT_EQ(importer->Read(request, host), EXPERTISE_OK);
  EXPECT_EQ(recorder.records.size(), fixtures_["expected_records"].get<size_t>());
  EXPECT_THAT(recorder.checkpoints, ElementsAre("2026-05-03T07:05:00Z"));
}

TEST_F(CsvFixtureTest, EmptyInputGivesNothing) {
  const Outcome out = ParseFile(PluginDir() / fixtures_["empty_input"].get<std::string>(), config_);
  EXPECT_EQ(out.code, EXPERTISE_OK);
  EXPECT_THAT(out.records, IsEmpty());
  EXPECT_THAT(out.rejects, IsEmpty());
}

TEST_F(CsvFixtureTest, BadRowsGiveTheListedRejects) {
  for (const Json& fixture : fixtures_["bad_rows"]) {
    SCOPED_TRACE(fixture["input"].get<std::string>());
    ConfigMap config = config_;
    if (fixture.contains("config")) {
      for (auto& [key, value] : ConfigFromJson(fixture["config"])) config[key] = value;
    }
    const Outcome out = ParseFile(PluginDir() / fixture["input"].get<std::string>(), config);
    EXPECT_EQ(out.code, EXPERTISE_OK);
    EXPECT_EQ(out.rejects.size(), fixture["rejects"].size()) << Describe(out.rejects);
    EXPECT_FALSE(out.records.empty());  // the good rows around them still arrive
    for (const Json& want : fixture["rejects"]) {
      bool found = false;
      for (const auto& got : out.rejects) {
        found = found || (ReasonName(got.reason) == want["reason"] &&
                          (!want.contains("row") || got.where.row == want["row"].get<uint64_t>()) &&
                          (!want.contains("column") || got.where.column == want["column"]) &&
                          (!want.contains("json_pointer") ||
                           got.where.json_pointer == want["json_pointer"]) &&
                          (!want.contains("resource_id") ||
                           got.where.resource_id == want["resource_id"]) &&
                          got.where.file == std::filesystem::path(
                                                fixture["input"].get<std::string>()).filename());
      }
      EXPECT_TRUE(found) << "missing " << want.dump() << "\ngot:\n" << Describe(out.rejects);
    }
  }
}

TEST_F(CsvFixtureTest, InvalidConfigsNameTheirKey) {
  for (const Json& fixture : fixtures_["invalid_configs"]) {
    SCOPED_TRACE(fixture.dump());
    ConfigMap config = config_;
    for (auto& [key, value] : ConfigFromJson(fixture["config"])) config[key] = value;
    RecordingHost recorder;
    EXPECT_EQ(MakeImporter(recorder, config), nullptr);
    bool named = false;
    for (const auto& [key, message] : recorder.config_errors) named = named || key == fixture["key"];
    EXPECT_TRUE(named);
  }
}

TEST_F(CsvFixtureTest, MappedLayoutGivesTheSameRecordsAsTheCanonicalOne) {
  const ConfigMap mapped_config =
      ConfigFromJson(Json::parse(ReadFile(PluginDir() / "testdata" / "config.json")));
  const Outcome mapped = ParseFile(PluginDir() / "testdata" / "good_mapped.csv", mapped_config);
  const Outcome canonical = ParseFile(PluginDir() / "testdata" / "good.csv", config_);
  EXPECT_EQ(mapped.code, EXPERTISE_OK);
  EXPECT_THAT(mapped.rejects, IsEmpty()) << Describe(mapped.rejects);
  ASSERT_EQ(mapped.records.size(), canonical.records.size());
  for (size_t i = 0; i < mapped.records.size(); ++i) {
    EXPECT_EQ(mapped.records[i], canonical.records[i])
        << mapped.records[i].dump(1) << "\nvs\n" << canonical.records[i].dump(1);
  }
}

}  // namespace
}  // namespace expertise::plugins
