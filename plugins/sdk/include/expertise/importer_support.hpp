// Copyright expertise-directory authors.
//
// Header-only helpers that most importer plugins need: text clean-up, UTF-8
// checks and repair (through utfcpp), calendar dates and RFC 3339 timestamps
// (through C++20 <chrono>), and config values with their declared defaults.
// Nothing here throws, so it is safe on both sides of the plugin ABI.
//
// Needs C++20 and utfcpp (Debian: libutfcpp-dev); ExpertiseImporterSDK::sdk
// brings the utfcpp include path along.
//
//   namespace support = expertise::importer::support;
//   support::DeclaredConfig values(config, MyImporter::kConfigKeys);
//   std::string unit = support::AsciiLower(support::Trim(values.Get("unit")));
//   std::optional<support::Instant> t = support::ParseTimestamp("2026-05-01T09:30:00+01:00");
//   record.last_verify_time = support::FormatTimestamp(*t);  // "2026-05-01T08:30:00Z"
#ifndef EXPERTISE_IMPORTER_SUPPORT_HPP_
#define EXPERTISE_IMPORTER_SUPPORT_HPP_

#if __cplusplus < 202002L
#error "expertise/importer_support.hpp needs C++20 (set CMAKE_CXX_STANDARD 20)"
#endif

#include <utf8.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "expertise/importer_abi.h"
#include "expertise/importer_plugin.hpp"

namespace expertise::importer::support {

// ------------------------------------------------------------------- text

// What spreadsheet cells and config values are padded with.
inline constexpr std::string_view kSpaceAndTab = " \t";
// What JSON string values and whole input lines may be padded with.
inline constexpr std::string_view kWhitespace = " \t\r\n";

// `s` without leading and trailing characters from `strip`.
inline std::string_view Trim(std::string_view s, std::string_view strip = kSpaceAndTab) {
  const size_t begin = s.find_first_not_of(strip);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(strip) - begin + 1);
}

// ASCII-only case folding: codes, headers and keys are ASCII, and full
// Unicode folding would need ICU inside the plugin.
inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

// Appends `item` unless `items` already holds it; returns whether it did.
inline bool AppendUnique(std::vector<std::string>& items, std::string item) {
  if (std::find(items.begin(), items.end(), item) != items.end()) return false;
  items.push_back(std::move(item));
  return true;
}

// Splits `text` on `separator`, trims each item of `strip` characters and
// drops the empty ones. An empty separator gives no items.
inline std::vector<std::string> SplitTrimmed(std::string_view text, std::string_view separator,
                                             std::string_view strip = kSpaceAndTab) {
  std::vector<std::string> items;
  if (separator.empty()) return items;  // would never advance
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = Trim(text.substr(start, end - start), strip);
    if (!item.empty()) items.emplace_back(item);
    start = end + separator.size();
  }
  return items;
}

// Parses all of `s` as a decimal integer with an optional '-' (no '+', no
// spaces, no overflow).
inline std::optional<long long> ParseInteger(std::string_view s) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// ------------------------------------------------------------------- UTF-8

// Offset of the first byte that does not start a well-formed UTF-8 sequence
// (RFC 3629: no overlong forms, surrogates or code points above U+10FFFF),
// or nullopt when all of `s` is well-formed.
inline std::optional<size_t> FindInvalidUtf8(std::string_view s) {
  const char* bad = utf8::find_invalid(s.data(), s.data() + s.size());
  if (bad == s.data() + s.size()) return std::nullopt;
  return static_cast<size_t>(bad - s.data());
}

inline bool IsValidUtf8(std::string_view s) {
  return utf8::is_valid(s.data(), s.data() + s.size());
}

// `s` as UTF-8 that may cross the ABI: every byte that is not part of a
// well-formed sequence, and every NUL (strings cross as C strings), becomes
// U+FFFD. At most `max_bytes` bytes, cut between characters; *truncated
// (when given) tells whether anything was cut.
inline std::string RepairUtf8(std::string_view s, size_t max_bytes = std::string::npos,
                              bool* truncated = nullptr) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  const char* const end = s.data() + s.size();
  const char* at = s.data();
  std::string out;
  while (at != end) {
    const char* const bad = utf8::find_invalid(at, end);
    bool full = false;
    while (at != bad && !full) {  // whole characters of the well-formed run
      const char* next = at;
      utf8::unchecked::next(next);
      const std::string_view piece = *at == '\0' ? kReplacement : std::string_view(at, next - at);
      full = out.size() + piece.size() > max_bytes;
      if (!full) {
        out += piece;
        at = next;
      }
    }
    if (full || at == end) break;
    if (out.size() + kReplacement.size() > max_bytes) break;
    out += kReplacement;  // one per bad byte, so the damage stays visible
    ++at;
  }
  if (truncated != nullptr) *truncated = at != end;
  return out;
}

// The first at most `max_bytes` bytes of well-formed UTF-8 `s`, cut before a
// character rather than inside it.
inline std::string TruncateUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t cut = max_bytes;
  // 10xxxxxx: a continuation byte, not the start of a character.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut));
}

// ------------------------------------------------------------------- dates

// A calendar date within 0001-01-01..9999-12-31, the range google.type.Date
// and google.protobuf.Timestamp hold; nullopt for anything else (31/02).
inline std::optional<std::chrono::year_month_day> MakeDate(int year, int month, int day) {
  // Range first: chrono leaves out-of-range field values unspecified.
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  return date;
}

// The record's date type.
inline Date ToRecordDate(const std::chrono::year_month_day& date) {
  Date out;
  out.year = static_cast<int>(date.year());
  out.month = static_cast<int>(static_cast<unsigned>(date.month()));
  out.day = static_cast<int>(static_cast<unsigned>(date.day()));
  return out;
}

// A point in time, UTC, as google.protobuf.Timestamp holds it. Ordered like
// the time line, so cursors compare across time zone offsets.
struct Instant {
  std::int64_t seconds = 0;  // since 1970-01-01T00:00:00Z
  std::int32_t nanos = 0;    // 0..999999999
  friend auto operator<=>(const Instant&, const Instant&) = default;
};

// Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
inline constexpr std::int64_t kMinTimestampSeconds = -62135596800;
inline constexpr std::int64_t kMaxTimestampSeconds = 253402300799;

// Midnight UTC of `date` plus a wall-clock time, less its UTC offset.
inline Instant MakeInstant(const std::chrono::year_month_day& date, int hour = 0, int minute = 0,
                           int second = 0, std::int32_t nanos = 0, int offset_seconds = 0) {
  using std::chrono::seconds;
  const auto at = std::chrono::sys_days(date) + std::chrono::hours(hour) +
                  std::chrono::minutes(minute) + seconds(second) - seconds(offset_seconds);
  return Instant{std::chrono::duration_cast<seconds>(at.time_since_epoch()).count(), nanos};
}

// Reads fixed-width fields left to right; every method leaves the position
// unchanged when it fails, so callers can try alternatives.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  // Exactly `count` ASCII digits.
  bool Digits(size_t count, int& out) {
    if (text_.size() - position_ < count) return false;
    int value = 0;
    for (size_t k = 0; k < count; ++k) {
      const char c = text_[position_ + k];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    position_ += count;
    out = value;
    return true;
  }
  // Two digits if there are two, else one (d/m/yyyy without leading zeros).
  bool OneOrTwoDigits(int& out) { return Digits(2, out) || Digits(1, out); }
  bool Take(char c) {
    if (position_ == text_.size() || text_[position_] != c) return false;
    ++position_;
    return true;
  }
  bool TakeDigit(int& digit) {
    if (position_ == text_.size() || text_[position_] < '0' || text_[position_] > '9') return false;
    digit = text_[position_++] - '0';
    return true;
  }
  bool AtEnd() const { return position_ == text_.size(); }
  size_t position() const { return position_; }

 private:
  std::string_view text_;
  size_t position_ = 0;
};

// Reads yyyy-mm-dd (syntax only; see MakeDate for the check).
inline bool ReadIsoDateFields(Scanner& in, int& year, int& month, int& day) {
  return in.Digits(4, year) && in.Take('-') && in.Digits(2, month) && in.Take('-') &&
         in.Digits(2, day);
}

// Parses all of `s` as an ISO 8601 calendar date, yyyy-mm-dd.
inline std::optional<std::chrono::year_month_day> ParseIsoDate(std::string_view s) {
  Scanner in(s);
  int year = 0, month = 0, day = 0;
  if (!ReadIsoDateFields(in, year, month, day) || !in.AtEnd()) return std::nullopt;
  return MakeDate(year, month, day);
}

// Which relaxations of RFC 3339 a source needs. The defaults are lenient in
// the ways HR exports and legacy feeds are: a bare date, a space instead of
// 'T', no seconds, and no offset (read as UTC, one consistent reading that
// keeps cursors ordered).
struct TimestampSyntax {
  bool allow_date_only = true;        // "2026-05-01" is midnight UTC
  bool allow_space_separator = true;  // "2026-05-01 09:30"
  bool require_seconds = false;       // else hh:mm is enough
  bool require_offset = false;        // else a missing offset means UTC
  bool require_offset_colon = true;   // else +0100 too
  bool allow_long_fraction = false;   // else more than 9 fraction digits fail; true drops them
  bool check_timestamp_range = true;  // refuse instants outside Timestamp's range
};

// Reads what may follow a date in a timestamp (from `in` to its end):
// nothing, or 'T' hh:mm[:ss[.fraction]] [Z | +hh:mm | -hh:mm], as `syntax`
// allows.
inline std::optional<Instant> ParseTimeAfterDate(const std::chrono::year_month_day& date,
                                                 Scanner& in,
                                                 const TimestampSyntax& syntax = {}) {
  int hour = 0, minute = 0, second = 0, offset_seconds = 0;
  std::int32_t nanos = 0;
  if (in.AtEnd()) {
    if (!syntax.allow_date_only) return std::nullopt;
  } else {
    if (!in.Take('T') && !in.Take('t') && !(syntax.allow_space_separator && in.Take(' '))) {
      return std::nullopt;
    }
    if (!in.Digits(2, hour) || !in.Take(':') || !in.Digits(2, minute)) return std::nullopt;
    const bool has_seconds = in.Take(':');
    if (has_seconds ? !in.Digits(2, second) : syntax.require_seconds) return std::nullopt;
    if (has_seconds && in.Take('.')) {
      int digit = 0, count = 0;
      while (in.TakeDigit(digit)) {
        if (count++ < 9) nanos = nanos * 10 + digit;
      }
      if (count == 0 || (count > 9 && !syntax.allow_long_fraction)) return std::nullopt;
      for (int k = count; k < 9; ++k) nanos *= 10;
    }
    if (in.Take('Z') || in.Take('z')) {
      // UTC.
    } else if (const bool plus = in.Take('+'); plus || in.Take('-')) {
      int offset_hours = 0, offset_minutes = 0;
      if (!in.Digits(2, offset_hours)) return std::nullopt;
      if (!in.Take(':') && syntax.require_offset_colon) return std::nullopt;
      if (!in.Digits(2, offset_minutes) || offset_hours > 23 || offset_minutes > 59) {
        return std::nullopt;
      }
      offset_seconds = (plus ? 1 : -1) * (offset_hours * 3600 + offset_minutes * 60);
    } else if (syntax.require_offset) {
      return std::nullopt;
    }
    if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  }
  if (!in.AtEnd()) return std::nullopt;
  Instant instant = MakeInstant(date, hour, minute, second, nanos, offset_seconds);
  if (syntax.check_timestamp_range &&
      (instant.seconds < kMinTimestampSeconds || instant.seconds > kMaxTimestampSeconds)) {
    return std::nullopt;  // the offset carried the date out of range
  }
  return instant;
}

// Parses all of `s` as an RFC 3339 timestamp (or the relaxations `syntax`
// allows), with an ISO date yyyy-mm-dd.
inline std::optional<Instant> ParseTimestamp(std::string_view s,
                                             const TimestampSyntax& syntax = {}) {
  Scanner in(s);
  int year = 0, month = 0, day = 0;
  if (!ReadIsoDateFields(in, year, month, day)) return std::nullopt;
  const std::optional<std::chrono::year_month_day> date = MakeDate(year, month, day);
  if (!date) return std::nullopt;
  return ParseTimeAfterDate(*date, in, syntax);
}

// How many fraction digits FormatTimestamp writes.
enum class FractionDigits {
  kGroupsOfThree,  // 3, 6 or 9, as the proto3 JSON mapping prints Timestamp
  kShortest,       // no trailing zeros
};

// RFC 3339 in UTC ("2026-05-01T09:30:00.250Z"), the fraction only when not
// zero.
inline std::string FormatTimestamp(const Instant& instant,
                                   FractionDigits fraction = FractionDigits::kGroupsOfThree) {
  using namespace std::chrono;
  const sys_seconds at{seconds{instant.seconds}};
  const sys_days day = floor<days>(at);
  const year_month_day date{day};
  const hh_mm_ss<seconds> time{at - day};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()));
  std::string out = buffer;
  if (instant.nanos != 0) {
    std::snprintf(buffer, sizeof buffer, ".%09d", static_cast<int>(instant.nanos));
    std::string digits = buffer;
    if (fraction == FractionDigits::kShortest) {
      while (digits.back() == '0') digits.pop_back();
    } else {
      while (digits.size() > 4 && digits.ends_with("000")) digits.resize(digits.size() - 3);
    }
    out += digits;
  }
  return out + "Z";
}

// ------------------------------------------------------------------- config

// The declaration of `name` in a plugin's kConfigKeys, or nullptr.
inline const expertise_config_key* FindDeclaredKey(std::span<const expertise_config_key> keys,
                                                   std::string_view name) {
  for (const expertise_config_key& key : keys) {
    if (key.name != nullptr && name == key.name) return &key;
  }
  return nullptr;
}

// A plugin's config read against its declarations: a key that was not given
// takes its declared default, so Create() sees the same values whether or not
// the host filled the defaults in (tests and fuzzers often do not).
class DeclaredConfig {
 public:
  DeclaredConfig(const Config& config, std::span<const expertise_config_key> keys)
      : config_(config), keys_(keys) {}

  bool Has(const std::string& key) const { return config_.Has(key); }

  // The declared default of `key`, "" when it has none.
  std::string Default(std::string_view key) const {
    const expertise_config_key* declared = FindDeclaredKey(keys_, key);
    return declared != nullptr && declared->default_value != nullptr ? declared->default_value : "";
  }

  // The given value of `key`, else its declared default, else "".
  std::string Get(const std::string& key) const {
    return config_.Has(key) ? config_.Get(key) : Default(key);
  }

  // A LIST value (given or default) split on ',', each item trimmed of
  // `strip` characters, empty items dropped.
  std::vector<std::string> GetList(const std::string& key,
                                   std::string_view strip = kSpaceAndTab) const {
    return SplitTrimmed(Get(key), ",", strip);
  }

  // The declared allowed values of an ENUM key, e.g. "auto|iso|uk".
  std::string AllowedValues(std::string_view key) const {
    const expertise_config_key* declared = FindDeclaredKey(keys_, key);
    return declared != nullptr && declared->allowed_values != nullptr ? declared->allowed_values
                                                                      : "";
  }

  // Whether `value` is one of the declared allowed values of ENUM `key`
  // (the host checks too; repeated so in-process callers get the same).
  bool IsAllowed(std::string_view key, std::string_view value) const {
    const std::string allowed = AllowedValues(key);
    std::string_view rest = allowed;
    while (!rest.empty()) {
      const size_t bar = rest.find('|');
      if (rest.substr(0, bar) == value) return true;
      rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
    }
    return false;
  }

 private:
  const Config& config_;
  std::span<const expertise_config_key> keys_;
};

}  // namespace expertise::importer::support

#endif  // EXPERTISE_IMPORTER_SUPPORT_HPP_
