// Tests of the SDK's plugin support header, expertise/importer_support.hpp.
#include "expertise/importer_support.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace expertise::importer::support {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::string_view_literals;

// ------------------------------------------------------------------ text

TEST(TrimTest, StripsTheGivenCharactersFromBothEnds) {
  struct Case {
    std::string_view text, strip, want;
  };
  const Case cases[] = {
      {"  a b \t", kSpaceAndTab, "a b"},
      {"\r\n a \n", kSpaceAndTab, "\r\n a \n"},
      {"\r\n a \n", kWhitespace, "a"},
      {" \t ", kSpaceAndTab, ""},
      {"", kWhitespace, ""},
      {"xxaxx", "x", "a"},
  };
  for (const Case& c : cases) EXPECT_EQ(Trim(c.text, c.strip), c.want) << c.text;
}

TEST(AsciiLowerTest, FoldsAsciiLettersOnly) {
  EXPECT_EQ(AsciiLower("External ID-9"), "external id-9");
  EXPECT_EQ(AsciiLower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");  // ÉTÉ: only the T
  EXPECT_EQ(AsciiLower('Q'), 'q');
  EXPECT_EQ(AsciiLower('['), '[');
}

TEST(SplitTrimmedTest, DropsEmptyItemsAndTrims) {
  struct Case {
    std::string_view text, separator, strip;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"a, b ,,c", ",", kSpaceAndTab, {"a", "b", "c"}},
      {"a;;b", ";;", kSpaceAndTab, {"a", "b"}},
      {" \t", ",", kSpaceAndTab, {}},
      {"a,\tb", ",", " ", {"a", "\tb"}},
      {"a,b", "", kSpaceAndTab, {}},  // no separator: nothing, never a hang
      {"a,a", ",", kSpaceAndTab, {"a", "a"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(SplitTrimmed(c.text, c.separator, c.strip), c.want) << c.text;
  }
}

TEST(AppendUniqueTest, KeepsTheFirstOfRepeats) {
  std::vector<std::string> items;
  EXPECT_TRUE(AppendUnique(items, "remote"));
  EXPECT_TRUE(AppendUnique(items, "in_person"));
  EXPECT_FALSE(AppendUnique(items, "remote"));
  EXPECT_THAT(items, ElementsAre("remote", "in_person"));
}

TEST(ParseIntegerTest, TakesWholeDecimalNumbersOnly) {
  struct Case {
    std::string_view text;
    std::optional<long long> want;
  };
  const Case cases[] = {
      {"0", 0},          {"-12", -12},     {"25", 25},
      {"+1", std::nullopt}, {" 1", std::nullopt}, {"1 ", std::nullopt},
      {"", std::nullopt},   {"1.5", std::nullopt}, {"99999999999999999999", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseInteger(c.text), c.want) << c.text;
}

// ------------------------------------------------------------------ UTF-8

TEST(FindInvalidUtf8Test, FindsTheStartOfTheFirstBadSequence) {
  struct Case {
    std::string_view text;
    std::optional<size_t> want;
  };
  const Case cases[] = {
      {"plain", std::nullopt},
      {"caf\xC3\xA9", std::nullopt},
      {"\xF0\x9F\x98\x80", std::nullopt},  // U+1F600
      {"ab\xFF", 2},
      {"a\xC0\xAF", 1},          // overlong '/'
      {"a\xED\xA0\x80", 1},      // surrogate U+D800
      {"\xF4\x90\x80\x80", 0},   // above U+10FFFF
      {"ok\xE2\x82", 2},         // cut short at the end
      {"\xE2\x82x", 0},          // cut short before ASCII
      {"x\x80", 1},              // stray continuation byte
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FindInvalidUtf8(c.text), c.want) << testing::PrintToString(c.text);
    EXPECT_EQ(IsValidUtf8(c.text), !c.want.has_value()) << testing::PrintToString(c.text);
  }
}

TEST(RepairUtf8Test, ReplacesEachBadByteAndNul) {
  struct Case {
    std::string_view text;
    std::string_view want;
  };
  const Case cases[] = {
      {"caf\xC3\xA9", "caf\xC3\xA9"},
      {"a\xFF" "b", "a\xEF\xBF\xBD" "b"},
      {"\xE2\x82x", "\xEF\xBF\xBD\xEF\xBF\xBDx"},  // one U+FFFD per byte
      {"a\0b"sv, "a\xEF\xBF\xBD" "b"},
      {"", ""},
  };
  for (const Case& c : cases) {
    bool truncated = true;
    EXPECT_EQ(RepairUtf8(c.text, std::string::npos, &truncated), c.want)
        << testing::PrintToString(c.text);
    EXPECT_FALSE(truncated);
  }
}

TEST(RepairUtf8Test, CutsBetweenCharacters) {
  struct Case {
    std::string_view text;
    size_t max_bytes;
    std::string_view want;
    bool truncated;
  };
  const Case cases[] = {
      {"abc", 3, "abc", false},
      {"abcd", 3, "abc", true},
      {"ab\xC3\xA9", 3, "ab", true},          // é does not fit whole
      {"a\xFF", 3, "a", true},                // nor does U+FFFD
      {"\xE2\x82\xAC\xE2\x82\xAC", 5, "\xE2\x82\xAC", true},
      {"", 0, "", false},
  };
  for (const Case& c : cases) {
    bool truncated = !c.truncated;
    EXPECT_EQ(RepairUtf8(c.text, c.max_bytes, &truncated), c.want)
        << testing::PrintToString(c.text);
    EXPECT_EQ(truncated, c.truncated) << testing::PrintToString(c.text);
  }
}

TEST(TruncateUtf8Test, NeverSplitsACharacter) {
  struct Case {
    std::string_view text;
    size_t max_bytes;
    std::string_view want;
  };
  const Case cases[] = {
      {"abc", 5, "abc"},
      {"abcdef", 3, "abc"},
      {"a\xC3\xA9z", 2, "a"},
      {"a\xC3\xA9z", 3, "a\xC3\xA9"},
      {"\xF0\x9F\x98\x80", 3, ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(TruncateUtf8(c.text, c.max_bytes), c.want) << testing::PrintToString(c.text);
  }
}

// ------------------------------------------------------------------ dates

TEST(MakeDateTest, AcceptsRealDatesInTimestampRange) {
  struct Case {
    int year, month, day;
    bool valid;
  };
  const Case cases[] = {
      {2026, 5, 1, true},    {2024, 2, 29, true},  {2026, 2, 29, false}, {2000, 2, 29, true},
      {1900, 2, 29, false},  {2026, 4, 31, false}, {2026, 13, 1, false}, {2026, 0, 1, false},
      {2026, 1, 0, false},   {2026, 1, 300, false}, {0, 1, 1, false},    {1, 1, 1, true},
      {9999, 12, 31, true},  {10000, 1, 1, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MakeDate(c.year, c.month, c.day).has_value(), c.valid)
        << c.year << "-" << c.month << "-" << c.day;
  }
  const Date date = ToRecordDate(*MakeDate(2026, 5, 1));
  EXPECT_EQ(date.year, 2026);
  EXPECT_EQ(date.month, 5);
  EXPECT_EQ(date.day, 1);
}

TEST(ParseIsoDateTest, TakesYyyyMmDdOnly) {
  struct Case {
    std::string_view text;
    bool valid;
  };
  const Case cases[] = {
      {"2026-05-01", true},  {"2026-5-1", false},  {"01/05/2026", false},
      {"2026-02-30", false}, {"2026-05-01T00:00:00Z", false}, {"", false},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseIsoDate(c.text).has_value(), c.valid) << c.text;
}

TEST(MakeInstantTest, MatchesTheUnixEpoch) {
  struct Case {
    int year, month, day, hour, minute, second, offset_seconds;
    std::int64_t want;
  };
  const Case cases[] = {
      {1970, 1, 1, 0, 0, 0, 0, 0},
      {2026, 5, 1, 0, 0, 0, 0, 1777593600},
      {2026, 5, 1, 9, 30, 0, 3600, 1777593600 + 8 * 3600 + 30 * 60},
      {1969, 12, 31, 23, 59, 59, 0, -1},
      {1, 1, 1, 0, 0, 0, 0, kMinTimestampSeconds},
      {9999, 12, 31, 23, 59, 59, 0, kMaxTimestampSeconds},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MakeInstant(*MakeDate(c.year, c.month, c.day), c.hour, c.minute, c.second, 0,
                          c.offset_seconds)
                  .seconds,
              c.want)
        << c.year << "-" << c.month << "-" << c.day;
  }
}

// The three syntaxes the shipped plugins use.
constexpr TimestampSyntax kLenient{};  // csv: HR exports
constexpr TimestampSyntax kFeeds{.require_seconds = true,
                                 .require_offset_colon = false,
                                 .allow_long_fraction = true};  // openreferral
constexpr TimestampSyntax kStrict{.allow_date_only = false,
                                  .allow_space_separator = false,
                                  .require_seconds = true,
                                  .require_offset = true,
                                  .check_timestamp_range = false};  // FHIR instant

TEST(ParseTimestampTest, FollowsTheSyntaxGiven) {
  struct Case {
    std::string_view text;
    const TimestampSyntax* syntax;
    std::optional<Instant> want;
  };
  constexpr std::int64_t kMay1 = 1777593600;  // 2026-05-01T00:00:00Z
  const Case cases[] = {
      {"2026-05-01", &kLenient, Instant{kMay1, 0}},
      {"2026-05-01", &kFeeds, Instant{kMay1, 0}},
      {"2026-05-01", &kStrict, std::nullopt},
      {"2026-05-01T09:30", &kLenient, Instant{kMay1 + 34200, 0}},
      {"2026-05-01T09:30", &kFeeds, std::nullopt},
      {"2026-05-01 09:30:15", &kLenient, Instant{kMay1 + 34215, 0}},
      {"2026-05-01 09:30:15Z", &kStrict, std::nullopt},
      {"2026-05-01t09:30:15z", &kStrict, Instant{kMay1 + 34215, 0}},
      {"2026-05-01T09:30:00+01:00", &kLenient, Instant{kMay1 + 30600, 0}},
      {"2026-05-01T09:30:00-01:30", &kStrict, Instant{kMay1 + 39600, 0}},
      {"2026-05-01T09:30:00+0100", &kFeeds, Instant{kMay1 + 30600, 0}},
      {"2026-05-01T09:30:00+0100", &kLenient, std::nullopt},
      {"2026-05-01T09:30:00+24:00", &kLenient, std::nullopt},
      {"2026-05-01T09:30:00.25Z", &kLenient, Instant{kMay1 + 34200, 250000000}},
      {"2026-05-01T09:30:00.123456789Z", &kStrict, Instant{kMay1 + 34200, 123456789}},
      {"2026-05-01T09:30:00.1234567891Z", &kStrict, std::nullopt},
      {"2026-05-01T09:30:00.1234567891Z", &kFeeds, Instant{kMay1 + 34200, 123456789}},
      {"2026-05-01T09:30:00.Z", &kLenient, std::nullopt},
      {"2026-05-01T09:30.5", &kLenient, std::nullopt},  // a fraction needs seconds
      {"2026-05-01T09:30:00", &kStrict, std::nullopt},  // FHIR instants carry a zone
      {"2026-05-01T24:00:00Z", &kLenient, std::nullopt},
      {"2026-05-01T09:60:00Z", &kLenient, std::nullopt},
      {"2026-05-01T09:30:60Z", &kLenient, std::nullopt},
      {"2026-02-30T00:00:00Z", &kLenient, std::nullopt},
      {"2026-05-01T09:30:00Z ", &kLenient, std::nullopt},
      {"2026-05-01T", &kLenient, std::nullopt},
      {"0001-01-01T00:00:00+01:00", &kLenient, std::nullopt},  // before year 1 in UTC
      {"0001-01-01T00:00:00+01:00", &kStrict, Instant{kMinTimestampSeconds - 3600, 0}},
      {"9999-12-31T23:59:59-00:01", &kFeeds, std::nullopt},
      {"0000-01-01", &kLenient, std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseTimestamp(c.text, *c.syntax), c.want) << c.text;
}

TEST(ParseTimeAfterDateTest, ReadsTheRestAfterAnyDateSyntax) {
  // A plugin reading d/m/yyyy parses the date itself and hands over the rest.
  Scanner in("1/5/2026 09:30Z");
  int day = 0, month = 0, year = 0;
  ASSERT_TRUE(in.OneOrTwoDigits(day) && in.Take('/') && in.OneOrTwoDigits(month) &&
              in.Take('/') && in.Digits(4, year));
  const std::optional<Instant> t = ParseTimeAfterDate(*MakeDate(year, month, day), in);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatTimestamp(*t), "2026-05-01T09:30:00Z");
}

TEST(ScannerTest, LeavesThePositionAloneOnFailure) {
  Scanner in("12a");
  int value = -1;
  EXPECT_FALSE(in.Digits(3, value));
  EXPECT_EQ(in.position(), 0u);
  EXPECT_EQ(value, -1);
  EXPECT_TRUE(in.OneOrTwoDigits(value));
  EXPECT_EQ(value, 12);
  EXPECT_FALSE(in.Take('b'));
  EXPECT_TRUE(in.Take('a'));
  EXPECT_TRUE(in.AtEnd());
  EXPECT_FALSE(in.TakeDigit(value));
}

TEST(FormatTimestampTest, WritesUtcWithTheFractionAsAsked) {
  struct Case {
    Instant instant;
    FractionDigits fraction;
    std::string_view want;
  };
  const Case cases[] = {
      {{0, 0}, FractionDigits::kGroupsOfThree, "1970-01-01T00:00:00Z"},
      {{-1, 0}, FractionDigits::kGroupsOfThree, "1969-12-31T23:59:59Z"},
      {{1777627800, 250000000}, FractionDigits::kGroupsOfThree, "2026-05-01T09:30:00.250Z"},
      {{1777627800, 250000000}, FractionDigits::kShortest, "2026-05-01T09:30:00.25Z"},
      {{1777627800, 1000}, FractionDigits::kGroupsOfThree, "2026-05-01T09:30:00.000001Z"},
      {{1777627800, 123456789}, FractionDigits::kShortest, "2026-05-01T09:30:00.123456789Z"},
      {{kMinTimestampSeconds, 0}, FractionDigits::kGroupsOfThree, "0001-01-01T00:00:00Z"},
      {{kMaxTimestampSeconds, 0}, FractionDigits::kGroupsOfThree, "9999-12-31T23:59:59Z"},
  };
  for (const Case& c : cases) EXPECT_EQ(FormatTimestamp(c.instant, c.fraction), c.want);
}

TEST(FormatTimestampTest, ReadsBackTheSameInstant) {
  for (std::string_view text : {"2024-02-29T12:00:00Z", "1999-12-31T23:59:59.999Z",
                                "0001-01-01T00:00:00Z", "2026-05-01T09:30:00.000000001Z"}) {
    const std::optional<Instant> t = ParseTimestamp(text);
    ASSERT_TRUE(t.has_value()) << text;
    EXPECT_EQ(FormatTimestamp(*t), text);
  }
}

// ------------------------------------------------------------------ config

constexpr expertise_config_key kKeys[] = {
    {"date_format", EXPERTISE_CONFIG_ENUM, 0, "auto", "auto|iso|uk", 0, "Date cells."},
    {"modes", EXPERTISE_CONFIG_LIST, 0, "in_person", nullptr, 0, "Delivery modes."},
    {"cursor_column", EXPERTISE_CONFIG_STRING, 0, nullptr, nullptr, 0, "No default."},
};

Config MakeConfig(const std::vector<std::pair<const char*, const char*>>& entries) {
  std::vector<expertise_config_entry> list;
  for (const auto& [key, value] : entries) list.push_back({key, value});
  const expertise_config config{sizeof(expertise_config), list.data(), list.size()};
  return Config(&config);
}

TEST(DeclaredConfigTest, FallsBackToTheDeclaredDefaults) {
  const Config config = MakeConfig({{"date_format", "uk"}});
  const DeclaredConfig values(config, kKeys);
  struct Case {
    const char* key;
    std::string want, default_value;
  };
  const Case cases[] = {
      {"date_format", "uk", "auto"},
      {"modes", "in_person", "in_person"},
      {"cursor_column", "", ""},
      {"undeclared", "", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(values.Get(c.key), c.want) << c.key;
    EXPECT_EQ(values.Default(c.key), c.default_value) << c.key;
  }
  EXPECT_TRUE(values.Has("date_format"));
  EXPECT_FALSE(values.Has("modes"));
  EXPECT_NE(FindDeclaredKey(kKeys, "modes"), nullptr);
  EXPECT_EQ(FindDeclaredKey(kKeys, "mode"), nullptr);
}

TEST(DeclaredConfigTest, SplitsListsGivenOrDefault) {
  const Config given = MakeConfig({{"modes", " remote ,\tin_person,, "}});
  EXPECT_THAT(DeclaredConfig(given, kKeys).GetList("modes"), ElementsAre("remote", "in_person"));
  EXPECT_THAT(DeclaredConfig(given, kKeys).GetList("modes", " "),
              ElementsAre("remote", "\tin_person"));
  const Config empty = MakeConfig({});
  EXPECT_THAT(DeclaredConfig(empty, kKeys).GetList("modes"), ElementsAre("in_person"));
  EXPECT_THAT(DeclaredConfig(empty, kKeys).GetList("cursor_column"), IsEmpty());
}

TEST(DeclaredConfigTest, ChecksEnumValues) {
  const Config config = MakeConfig({});
  const DeclaredConfig values(config, kKeys);
  EXPECT_EQ(values.AllowedValues("date_format"), "auto|iso|uk");
  EXPECT_EQ(values.AllowedValues("modes"), "");
  for (std::string_view ok : {"auto", "iso", "uk"}) {
    EXPECT_TRUE(values.IsAllowed("date_format", ok)) << ok;
  }
  for (std::string_view bad : {"", "au", "UK", "iso|uk"}) {
    EXPECT_FALSE(values.IsAllowed("date_format", bad)) << bad;
  }
  EXPECT_FALSE(values.IsAllowed("undeclared", "x"));
}

}  // namespace
}  // namespace expertise::importer::support
