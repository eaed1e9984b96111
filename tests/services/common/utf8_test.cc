#include "services/common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace expertise {
namespace {

struct CleanCase {
  const char* name;
  std::string input;
  std::string expected;
};

class ValidUtf8Test : public ::testing::TestWithParam<CleanCase> {};

TEST_P(ValidUtf8Test, CleansAsExpected) { EXPECT_EQ(ValidUtf8(GetParam().input), GetParam().expected); }

const std::string kReplacement = "\xEF\xBF\xBD";

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidUtf8Test,
    ::testing::Values(CleanCase{"Empty", "", ""}, CleanCase{"Ascii", "Bolton", "Bolton"},
                      CleanCase{"TwoByte", "caf\xC3\xA9", "caf\xC3\xA9"},
                      CleanCase{"FourByte", "\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},
                      CleanCase{"LoneContinuation", "a\x80z", "a" + kReplacement + "z"},
                      CleanCase{"Latin1", "caf\xE9", "caf" + kReplacement},
                      CleanCase{"TruncatedAtEnd", "ab\xE2\x82", "ab" + kReplacement + kReplacement},
                      CleanCase{"Overlong", "\xC0\xAF", kReplacement + kReplacement},
                      CleanCase{"Surrogate", "\xED\xA0\x80", kReplacement + kReplacement + kReplacement},
                      CleanCase{"AboveUnicode", "\xF4\x90\x80\x80",
                                kReplacement + kReplacement + kReplacement + kReplacement},
                      CleanCase{"FiveByteLead", "\xF8", kReplacement}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

struct PrefixCase {
  const char* name;
  std::string input;
  size_t max_bytes;
  std::string expected;
};

class Utf8PrefixTest : public ::testing::TestWithParam<PrefixCase> {};

TEST_P(Utf8PrefixTest, NeverCutsACharacterNorExceedsTheLimit) {
  const PrefixCase& c = GetParam();
  const std::string out = Utf8Prefix(c.input, c.max_bytes);
  EXPECT_EQ(out, c.expected);
  EXPECT_LE(out.size(), c.max_bytes);
  EXPECT_EQ(ValidUtf8(out), out);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Utf8PrefixTest,
    ::testing::Values(PrefixCase{"Short", "abc", 10, "abc"}, PrefixCase{"ExactAscii", "abcdef", 3, "abc"},
                      // "é" is two bytes; a cut inside it drops it whole.
                      PrefixCase{"InsideTwoByte", "ab\xC3\xA9", 3, "ab"},
                      PrefixCase{"AfterTwoByte", "ab\xC3\xA9z", 4, "ab\xC3\xA9"},
                      PrefixCase{"InsideFourByte", "a\xF0\x9F\x98\x80", 4, "a"},
                      // One bad byte becomes three; the result is cut again.
                      PrefixCase{"CleaningGrows", "ab\xFF", 3, "ab"}, PrefixCase{"Zero", "abc", 0, ""}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

}  // namespace
}  // namespace expertise
