#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "clients/expertctl/commands/commands.h"
#include "services/common/reference/reference_data.h"

namespace expertise::expertctl {

bool ParseDate(const std::string& text, google::type::Date* date) {
  std::vector<std::string> parts = absl::StrSplit(text, '-');
  int y, m, d;
  if (parts.size() != 3 || parts[0].size() != 4 || !absl::SimpleAtoi(parts[0], &y) ||
      !absl::SimpleAtoi(parts[1], &m) || !absl::SimpleAtoi(parts[2], &d)) {
    return false;
  }
  const absl::CivilDay day(y, m, d);
  if (day.year() != y || day.month() != m || day.day() != d) return false;
  date->set_year(y);
  date->set_month(m);
  date->set_day(d);
  return true;
}

std::string AuthorityName(const std::string& code) {
  const AuthorityInfo* la = ReferenceData::Get().FindAuthority(code);
  return la ? la->name : code;
}

}  // namespace expertise::expertctl
