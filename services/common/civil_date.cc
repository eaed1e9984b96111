#include "services/common/civil_date.h"

namespace expertise {
namespace {

constexpr absl::CivilDay kEpoch(1970, 1, 1);

}  // namespace

absl::CivilDay ToCivilDay(const google::type::Date& date) {
  return absl::CivilDay(date.year(), date.month(), date.day());
}

google::type::Date ToDateProto(absl::CivilDay day) {
  google::type::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

int32_t DaysSinceEpoch(absl::CivilDay day) { return static_cast<int32_t>(day - kEpoch); }

int32_t DaysSinceEpoch(const google::type::Date& date) { return DaysSinceEpoch(ToCivilDay(date)); }

absl::CivilDay CivilDayFromEpochDays(int32_t days) { return kEpoch + days; }

google::type::Date DateFromEpochDays(int32_t days) { return ToDateProto(CivilDayFromEpochDays(days)); }

int32_t EpochDaysToday(absl::Time now) {
  return DaysSinceEpoch(absl::ToCivilDay(now, absl::UTCTimeZone()));
}

bool IsFullCalendarDate(const google::type::Date& date) {
  if (date.year() < 1900 || date.year() > 9999 || date.month() < 1 || date.month() > 12 ||
      date.day() < 1) {
    return false;
  }
  // CivilDay normalises an impossible day into the next month: a real date
  // survives the round trip unchanged.
  const absl::CivilDay day = ToCivilDay(date);
  return day.year() == date.year() && day.month() == date.month() && day.day() == date.day();
}

}  // namespace expertise
