#ifndef EXPERTISE_SERVICES_COMMON_CIVIL_DATE_H_
#define EXPERTISE_SERVICES_COMMON_CIVIL_DATE_H_

// google.type.Date <-> absl::CivilDay <-> whole days since 1970-01-01, in one
// place, so every service and client counts days the same way. Dates are
// calendar days with no time zone; "today" is the UTC day.

#include <cstdint>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/type/date.pb.h"

namespace expertise {

// Returns `date` as a civil day. Out-of-range fields are normalised the way
// absl::CivilDay normalises them (2024-02-30 is 2024-03-01); callers that
// must reject such dates check IsFullCalendarDate first.
absl::CivilDay ToCivilDay(const google::type::Date& date);

// Returns `day` as a google.type.Date with year, month and day all set.
google::type::Date ToDateProto(absl::CivilDay day);

// Returns the days from 1970-01-01 to `day`, negative before it.
int32_t DaysSinceEpoch(absl::CivilDay day);
int32_t DaysSinceEpoch(const google::type::Date& date);

// Returns the civil day `days` after 1970-01-01 (before it when negative).
absl::CivilDay CivilDayFromEpochDays(int32_t days);
google::type::Date DateFromEpochDays(int32_t days);

// Returns the UTC day containing `now`, in days since 1970-01-01.
int32_t EpochDaysToday(absl::Time now);

// Returns true when `date` names a real day with every field set, in years
// 1900 to 9999 (no month-only or year-only dates, no 31 April).
bool IsFullCalendarDate(const google::type::Date& date);

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_CIVIL_DATE_H_
