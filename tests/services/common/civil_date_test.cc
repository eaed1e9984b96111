#include "services/common/civil_date.h"

#include <cstdint>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace expertise {
namespace {

google::type::Date MakeDate(int32_t year, int32_t month, int32_t day) {
  google::type::Date date;
  date.set_year(year);
  date.set_month(month);
  date.set_day(day);
  return date;
}

struct EpochCase {
  absl::CivilDay day;
  int32_t days_since_epoch;
};

class CivilDateEpochTest : public ::testing::TestWithParam<EpochCase> {};

TEST_P(CivilDateEpochTest, ConvertsBothWays) {
  const EpochCase& c = GetParam();
  const google::type::Date date = ToDateProto(c.day);
  EXPECT_EQ(date.year(), c.day.year());
  EXPECT_EQ(date.month(), c.day.month());
  EXPECT_EQ(date.day(), c.day.day());
  EXPECT_EQ(ToCivilDay(date), c.day);
  EXPECT_EQ(DaysSinceEpoch(c.day), c.days_since_epoch);
  EXPECT_EQ(DaysSinceEpoch(date), c.days_since_epoch);
  EXPECT_EQ(CivilDayFromEpochDays(c.days_since_epoch), c.day);
  EXPECT_EQ(DateFromEpochDays(c.days_since_epoch).SerializeAsString(), date.SerializeAsString());
}

INSTANTIATE_TEST_SUITE_P(Days, CivilDateEpochTest,
                         ::testing::Values(EpochCase{absl::CivilDay(1970, 1, 1), 0},
                                           EpochCase{absl::CivilDay(1969, 12, 31), -1},
                                           EpochCase{absl::CivilDay(2000, 2, 29), 11016},
                                           EpochCase{absl::CivilDay(2024, 9, 1), 19967},
                                           EpochCase{absl::CivilDay(1900, 1, 1), -25567}));

TEST(CivilDateTest, TodayIsTheUtcDay) {
  // 23:30 in London summer time is 22:30 UTC, still the same UTC day.
  const absl::Time late = absl::FromCivil(absl::CivilSecond(2025, 6, 30, 22, 30, 0), absl::UTCTimeZone());
  EXPECT_EQ(EpochDaysToday(late), DaysSinceEpoch(absl::CivilDay(2025, 6, 30)));
  EXPECT_EQ(EpochDaysToday(late + absl::Hours(2)), DaysSinceEpoch(absl::CivilDay(2025, 7, 1)));
}

TEST(CivilDateTest, ToCivilDayNormalisesLikeAbseil) {
  EXPECT_EQ(ToCivilDay(MakeDate(2023, 2, 29)), absl::CivilDay(2023, 3, 1));
}

TEST(CivilDateTest, FullCalendarDates) {
  EXPECT_TRUE(IsFullCalendarDate(MakeDate(2024, 2, 29)));
  EXPECT_TRUE(IsFullCalendarDate(MakeDate(1900, 1, 1)));
  EXPECT_TRUE(IsFullCalendarDate(MakeDate(9999, 12, 31)));
  EXPECT_FALSE(IsFullCalendarDate(MakeDate(2023, 2, 29)));   // not a leap year
  EXPECT_FALSE(IsFullCalendarDate(MakeDate(2024, 4, 31)));
  EXPECT_FALSE(IsFullCalendarDate(MakeDate(2024, 13, 1)));
  EXPECT_FALSE(IsFullCalendarDate(MakeDate(2024, 6, 0)));    // month-only date
  EXPECT_FALSE(IsFullCalendarDate(MakeDate(2024, 0, 0)));    // year-only date
  EXPECT_FALSE(IsFullCalendarDate(MakeDate(1899, 12, 31)));
  EXPECT_FALSE(IsFullCalendarDate(MakeDate(10000, 1, 1)));
  EXPECT_FALSE(IsFullCalendarDate(google::type::Date()));
}

}  // namespace
}  // namespace expertise
