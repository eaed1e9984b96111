#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "clients/expertctl/commands/commands.h"
#include "services/common/civil_date.h"
#include "services/common/reference/reference_data.h"

namespace expertise::expertctl {

bool ParseDate(const std::string& text, google::type::Date* date) {
  std::vector<std::string> parts = absl::StrSplit(text, '-');
  int y, m, d;
  if (parts.size() != 3 || parts[0].size() != 4 || !absl::SimpleAtoi(parts[0], &y) ||
      !absl::SimpleAtoi(parts[1], &m) || !absl::SimpleAtoi(parts[2], &d)) {
    return false;
  }
  // A date the calendar normalises (2025-02-30) is not what was typed.
  const absl::CivilDay day(y, m, d);
  if (day.year() != y || day.month() != m || day.day() != d) return false;
  *date = ToDateProto(day);
  return true;
}

std::string AuthorityName(const std::string& code) {
  const AuthorityInfo* la = ReferenceData::Get().FindAuthority(code);
  return la ? la->name : code;
}

}  // namespace expertise::expertctl
