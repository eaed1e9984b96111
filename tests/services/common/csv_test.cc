#include "services/common/csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testutil/status_matchers.h"

namespace expertise {
namespace {

using ::expertise::testing::IsOk;
using ::expertise::testing::StatusIs;
using ::testing::ElementsAre;

struct CsvCase {
  const char* name;
  std::string input;
  std::vector<CsvRow> expected;
};

void PrintTo(const CsvCase& c, std::ostream* os) { *os << c.name; }

class CsvParseTest : public ::testing::TestWithParam<CsvCase> {};

TEST_P(CsvParseTest, ParsesAsRfc4180) {
  auto rows = ParseCsv(GetParam().input);
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(*rows, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CsvParseTest,
    ::testing::Values(
        CsvCase{"Plain", "a,b\n1,2\n", {{"a", "b"}, {"1", "2"}}},
        CsvCase{"Crlf", "a,b\r\n1,2\r\n", {{"a", "b"}, {"1", "2"}}},
        CsvCase{"NoFinalNewline", "a,b\n1,2", {{"a", "b"}, {"1", "2"}}},
        CsvCase{"QuotedComma", "\"Bristol, City of\",x\n", {{"Bristol, City of", "x"}}},
        CsvCase{"DoubledQuote", "\"say \"\"hi\"\"\"\n", {{"say \"hi\""}}},
        CsvCase{"EmbeddedNewline", "\"line1\nline2\",z\n", {{"line1\nline2", "z"}}},
        CsvCase{"EmptyFields", ",,\n", {{"", "", ""}}},
        CsvCase{"Bom", "\xEF\xBB\xBF" "a,b\n", {{"a", "b"}}},
        CsvCase{"QuotedEmpty", "\"\",a\n", {{"", "a"}}}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(CsvTest, RejectsUnterminatedQuoteNamingItsLine) {
  auto rows = ParseCsv("a\nb\n\"open,\n");
  EXPECT_THAT(rows, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(rows.status().message()), ::testing::HasSubstr("line 3"));
}

TEST(CsvTest, RejectsStrayQuote) {
  EXPECT_THAT(ParseCsv("ab\"c\n"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseCsv("\"ab\"c\n"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CsvTest, EscapeRoundTrips) {
  const CsvRow row = {"plain", "with,comma", "with \"quote\"", "two\nlines", ""};
  auto parsed = ParseCsv(CsvLine(row));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(*parsed, ElementsAre(row));
  EXPECT_EQ(CsvEscape("plain"), "plain");
  EXPECT_EQ(CsvEscape("a,b"), "\"a,b\"");
}

TEST(CsvTest, FieldNeutralisesFormulas) {
  EXPECT_EQ(CsvField("=1+1"), "'=1+1");
  EXPECT_EQ(CsvField("+44 20"), "'+44 20");
  EXPECT_EQ(CsvField("-2"), "'-2");  // a text cell is guarded even when numeric
  EXPECT_EQ(CsvField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvField("\tcmd"), "'\tcmd");
  EXPECT_EQ(CsvField("\rcmd"), "\"'\rcmd\"");
  EXPECT_EQ(CsvField("=HYPERLINK(\"x\",\"y\")"), "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
  EXPECT_EQ(CsvField("a=b"), "a=b");
  EXPECT_EQ(CsvField(""), "");
}

TEST(CsvTest, EscapeLeavesPlainNumbersAndTheDashPlaceholderAlone) {
  for (const char* number : {"0", "-2", "+3", "-1.61", "54.97", ".5", "-5.", "1e3", "-2.5E-4", "-"}) {
    EXPECT_EQ(CsvEscape(number), number);
  }
  for (const char* formula : {"+", "--", "-1+2", "-2-3", "=2", "-e3", "-1e", "-inf", "-1 ", "+44 20", "-."}) {
    EXPECT_EQ(CsvEscape(formula), std::string("'") + formula) << formula;
  }
}

TEST(CsvTest, LineGuardsTextCells) {
  EXPECT_EQ(CsvLine({"=cmd|' /C calc'!A0", "-1.5", "post-16"}), "'=cmd|' /C calc'!A0,-1.5,post-16\r\n");
}

}  // namespace
}  // namespace expertise
