// Copyright expertise-directory authors.
#include "plugins/csv/csv_importer.h"

#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <compare>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

namespace expertise::plugins {
namespace {

using importer::Config;
using importer::Date;
using importer::Host;
using importer::Location;
using importer::ReadRequest;
using importer::SpecialistRecord;

// Limits. A field over 1 MiB is refused by the brief; the record and column
// caps bound memory for hostile input (a header of a billion commas, or a
// record of many 1 MiB fields) well below the runner's RLIMIT_DATA, so such
// input gives a PARSE reject instead of an out-of-memory crash.
constexpr size_t kMaxFieldBytes = size_t{1} << 20;
constexpr size_t kMaxRecordBytes = size_t{16} << 20;
constexpr size_t kMaxColumns = 1024;
constexpr size_t kExcerptBytes = 200;
// Bytes of each row kept for the excerpt: 3 more than it shows, so that a
// character straddling byte 200 is whole and the cut can fall before it.
constexpr size_t kRawBytes = kExcerptBytes + 3;
constexpr size_t kChunkBytes = 64 * 1024;
// Values quoted in reject messages are cut to this many bytes.
constexpr size_t kQuotedValueBytes = 64;

// The record fields a column can be mapped to, in declaration order.
enum Field : size_t {
  kExternalId,
  kDisplayName,
  kRole,
  kSpecialisms,
  kSettings,
  kMinAge,
  kMaxAge,
  kLanguages,
  kDeliveryModes,
  kLatitude,
  kLongitude,
  kTravelRadiusKm,
  kCoveredAuthorities,
  kRegistrationBody,
  kRegistrationNumber,
  kEmployerType,
  kEmail,
  kPhone,
  kTeam,
  kVisibility,
  kLastVerified,
  kContractedHours,
  kCommittedHours,
  kCurrentCaseload,
  kMaxCaseload,
  kWaitingTimeWeeks,
  kNextAvailableDate,
  kValidFrom,
  kValidTo,
  kAcceptingExternalRequests,
  kFieldCount
};

constexpr std::array<const char*, kFieldCount> kColumnKeys = {
    "column_external_id",       "column_display_name",       "column_role",
    "column_specialisms",       "column_settings",           "column_min_age",
    "column_max_age",           "column_languages",          "column_delivery_modes",
    "column_latitude",          "column_longitude",          "column_travel_radius_km",
    "column_covered_authorities", "column_registration_body", "column_registration_number",
    "column_employer_type",     "column_email",              "column_phone",
    "column_team",              "column_visibility",         "column_last_verified",
    "column_contracted_hours",  "column_committed_hours",    "column_current_caseload",
    "column_max_caseload",      "column_waiting_time_weeks", "column_next_available_date",
    "column_valid_from",        "column_valid_to",           "column_accepting_external_requests",
};

constexpr bool IsRequiredColumn(size_t field) {
  return field == kExternalId || field == kDisplayName || field == kRole;
}

enum class DateFormat { kAuto, kIso, kUk };

}  // namespace

namespace csv_internal {

struct CsvOptions {
  char delimiter = ',';
  std::string list_separator = ";";
  // Lower-cased label -> taxonomy code.
  std::map<std::string, std::string> value_map;
  DateFormat date_format = DateFormat::kAuto;
  std::string default_employer_type;  // normalised, "" for none
  std::string default_visibility;     // normalised, "" for none
  std::vector<std::string> default_delivery_modes;
  int default_min_age = 0;
  int default_max_age = 25;
  std::string cursor_column;  // "" when not configured
  // Header each field is read from; "" means the field is not read.
  std::array<std::string, kFieldCount> columns;
};

}  // namespace csv_internal

namespace {

using csv_internal::CsvOptions;

// ---------------------------------------------------------------- text

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

// The key headers and column names are compared by: trimmed, ASCII case
// folded, because exports often change "External ID" to "external id".
std::string HeaderKey(std::string_view s) { return AsciiLower(Trim(s)); }

// Lower-cases and turns '-' and ' ' into '_', so "In-Person", "in person"
// and "IN_PERSON" all read as "in_person".
std::string EnumKey(std::string_view s) {
  std::string out = AsciiLower(Trim(s));
  for (char& c : out) {
    if (c == '-' || c == ' ') c = '_';
  }
  return out;
}

// Splits `cell` on `separator`, trims each item and drops empty ones and
// repeats (keeping the first), since a repeated code adds nothing.
std::vector<std::string> SplitList(std::string_view cell, std::string_view separator) {
  std::vector<std::string> out;
  if (separator.empty()) return out;  // Create() refuses it; never loop forever
  size_t start = 0;
  while (start <= cell.size()) {
    size_t end = cell.find(separator, start);
    if (end == std::string_view::npos) end = cell.size();
    std::string item(Trim(cell.substr(start, end - start)));
    bool repeat = false;
    for (const auto& seen : out) repeat = repeat || seen == item;
    if (!item.empty() && !repeat) out.push_back(std::move(item));
    start = end + separator.size();
  }
  return out;
}

// ---------------------------------------------------------------- UTF-8

// Returns the length of the well-formed UTF-8 sequence starting at s[i]
// (Unicode 15, table 3-7: no overlongs, surrogates or code points above
// U+10FFFF), or 0 when the bytes there are not one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + need >= s.size()) return 0;  // the sequence runs past the end
  for (size_t k = 1; k <= need; ++k) {
    const unsigned char b = byte(i + k);
    if (b < lo || b > hi) return 0;
    lo = 0x80;
    hi = 0xBF;
  }
  return need + 1;
}

// Returns `s` as valid UTF-8 of at most `max_bytes` bytes, cut on a
// character boundary: strings crossing the ABI must be UTF-8 (the host puts
// them in protobuf strings) and NUL-free (they cross as C strings), so
// invalid bytes and NULs become U+FFFD.
// Sets *truncated (when given) if the text was cut.
std::string SafeText(std::string_view s, size_t max_bytes, bool* truncated = nullptr) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t len = Utf8SequenceLength(s, i);
    std::string_view piece = (len == 0 || s[i] == '\0') ? kReplacement : s.substr(i, len);
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    i += len == 0 ? 1 : len;
  }
  if (truncated != nullptr) *truncated = i < s.size();
  return out;
}

// A value quoted in a message: short, valid UTF-8.
std::string Quoted(std::string_view value) {
  bool truncated = false;
  std::string text = SafeText(value, kQuotedValueBytes, &truncated);
  return "'" + text + (truncated ? "...'" : "'");
}

// Checks UTF-8 one byte at a time, for the streaming reader.
class Utf8Checker {
 public:
  // Feeds the byte at `offset`. Returns false when it shows the input is not
  // UTF-8; error_offset() then gives the offset of the offending sequence,
  // and checking restarts at this byte so structure bytes still count.
  bool Feed(unsigned char c, uint64_t offset) {
    if (need_ > 0) {
      if (c >= lo_ && c <= hi_) {
        lo_ = 0x80;
        hi_ = 0xBF;
        --need_;
        return true;
      }
      error_offset_ = start_;
      need_ = 0;
      Start(c, offset);  // a new sequence may begin here; the error stands
      return false;
    }
    if (Start(c, offset)) return true;
    error_offset_ = offset;
    return false;
  }
  // True while a multi-byte sequence is incomplete.
  bool in_sequence() const { return need_ > 0; }
  uint64_t sequence_start() const { return start_; }
  uint64_t error_offset() const { return error_offset_; }
  void Reset() { need_ = 0; }

 private:
  bool Start(unsigned char c, uint64_t offset) {
    start_ = offset;
    lo_ = 0x80;
    hi_ = 0xBF;
    if (c < 0x80) return true;
    if (c >= 0xC2 && c <= 0xDF) {
      need_ = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need_ = 2;
      if (c == 0xE0) lo_ = 0xA0;
      if (c == 0xED) hi_ = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need_ = 3;
      if (c == 0xF0) lo_ = 0x90;
      if (c == 0xF4) hi_ = 0x8F;
    } else {
      return false;
    }
    return true;
  }

  int need_ = 0;
  unsigned char lo_ = 0x80, hi_ = 0xBF;
  uint64_t start_ = 0;
  uint64_t error_offset_ = 0;
};

// ---------------------------------------------------------------- CSV reader

// One physical CSV record.
struct CsvRecord {
  uint64_t row = 0;     // 1-based record number; a record spanning lines counts once
  uint64_t offset = 0;  // byte offset of its first byte in the input
  bool blank = false;   // an empty line
  std::vector<std::string> fields;  // the first max_fields fields
  size_t field_count = 0;           // every field seen, kept or not
  std::string raw;                  // its first kRawBytes bytes, without the line end
  // The first problem that makes the record unreadable; empty when none.
  std::string error;
  uint64_t error_offset = 0;
  size_t error_field = 0;  // index of the field the problem is in
};

// A streaming RFC 4180 reader. Holds one 64 KiB chunk and the current record,
// never the whole input. Beyond RFC 4180 it accepts LF and lone CR line ends
// (spreadsheet exports use all three), skips a leading UTF-8 BOM, and checks
// UTF-8. A malformed record is still delimited (stray quotes are kept as
// text) so that one bad row does not hide the rows after it.
class CsvReader {
 public:
  enum class Status { kRecord, kEnd, kIoError, kCancelled };

  // `input` and `owner` must outlive the reader; owner.cancelled() is polled
  // per chunk so that one huge record cannot delay a cancel.
  CsvReader(std::istream& input, char delimiter, const importer::Importer& owner)
      : input_(input), delimiter_(static_cast<unsigned char>(delimiter)), owner_(owner),
        buffer_(kChunkBytes) {}

  // Keeps at most `n` fields of each later record (the rest are only counted).
  void set_max_fields(size_t n) { max_fields_ = n; }
  uint64_t offset() const { return offset_; }

  // Reads the next record into `record`.
  Status Next(CsvRecord& record) {
    record.blank = false;
    record.fields.clear();
    record.field_count = 0;
    record.raw.clear();
    record.error.clear();
    record.error_offset = 0;
    record.error_field = 0;
    field_.clear();
    field_overflow_ = false;
    record_bytes_ = 0;
    utf8_.Reset();

    enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
    State state = State::kFieldStart;
    bool started = false;
    uint64_t quote_offset = 0;
    unsigned char c = 0;
    while (NextByte(c)) {
      const uint64_t at = offset_ - 1;
      if (!started) {
        started = true;
        record.offset = at;
        record.row = ++rows_;
      }
      if (!utf8_.Feed(c, at)) Fail(record, utf8_.error_offset(), "invalid UTF-8");
      bool line_end = false;
      switch (state) {
        case State::kQuoted:
          if (c == '"') {
            state = State::kQuoteInQuoted;
          } else {
            Append(record, c, at);
          }
          break;
        case State::kQuoteInQuoted:
          if (c == '"') {  // a doubled quote stands for one quote
            Append(record, c, at);
            state = State::kQuoted;
          } else if (c == delimiter_) {
            EndField(record);
            state = State::kFieldStart;
          } else if (c == '\r' || c == '\n') {
            line_end = true;
          } else {
            Fail(record, at, "text after the closing quote of a field");
            Append(record, c, at);
            state = State::kUnquoted;
          }
          break;
        case State::kFieldStart:
          if (c == '"') {
            state = State::kQuoted;
            quote_offset = at;
            break;
          }
          [[fallthrough]];
        case State::kUnquoted:
          if (c == delimiter_) {
            EndField(record);
            state = State::kFieldStart;
          } else if (c == '\r' || c == '\n') {
            line_end = true;
          } else {
            if (c == '"') {
              Fail(record, at,
                   "quote inside an unquoted field (quote the whole field and double the quote)");
            }
            Append(record, c, at);
            state = State::kUnquoted;
          }
          break;
      }
      if (line_end) {
        unsigned char next = 0;
        if (c == '\r' && PeekByte(next) && next == '\n') NextByte(next);
        record.blank = at == record.offset;
        if (!record.blank) EndField(record);
        return Status::kRecord;
      }
      if (record.raw.size() < kRawBytes) record.raw.push_back(static_cast<char>(c));
    }
    if (cancelled_) return Status::kCancelled;
    if (io_error_) return Status::kIoError;
    if (!started) return Status::kEnd;
    // The input ends the last record.
    if (state == State::kQuoted) {
      Fail(record, quote_offset,
           "unterminated quote: the quoted field is still open at the end of the input");
    }
    if (utf8_.in_sequence()) Fail(record, utf8_.sequence_start(), "invalid UTF-8 (truncated)");
    EndField(record);
    return Status::kRecord;
  }

 private:
  bool Fill() {
    if (eof_) return false;
    if (owner_.cancelled()) {
      cancelled_ = true;
      return false;
    }
    input_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    length_ = static_cast<size_t>(input_.gcount());
    position_ = 0;
    if (input_.bad()) {
      io_error_ = true;
      eof_ = true;
      return false;
    }
    if (length_ == 0) {
      eof_ = true;
      return false;
    }
    // istream::read only returns short at the end of input, so a BOM is
    // never split across the first and second chunk.
    if (first_chunk_) {
      first_chunk_ = false;
      if (length_ >= 3 && buffer_[0] == '\xEF' && buffer_[1] == '\xBB' && buffer_[2] == '\xBF') {
        position_ = 3;
        offset_ = 3;
      }
    }
    return true;
  }
  bool PeekByte(unsigned char& c) {
    while (position_ == length_) {
      if (!Fill()) return false;
    }
    c = static_cast<unsigned char>(buffer_[position_]);
    return true;
  }
  bool NextByte(unsigned char& c) {
    if (!PeekByte(c)) return false;
    ++position_;
    ++offset_;
    return true;
  }

  void Fail(CsvRecord& record, uint64_t at, const char* problem) {
    if (!record.error.empty()) return;  // the first problem explains the rest
    record.error = problem;
    record.error_offset = at;
    record.error_field = record.field_count;
  }
  void Append(CsvRecord& record, unsigned char c, uint64_t at) {
    // Fields past the header's width are only counted: the row is rejected
    // for its field count anyway, and keeping them would let one long line
    // of delimiters exhaust memory.
    if (field_overflow_ || record.field_count >= max_fields_) return;
    if (field_.size() >= kMaxFieldBytes) {
      Fail(record, at, "field longer than 1 MiB");
      field_overflow_ = true;
      return;
    }
    if (record_bytes_ >= kMaxRecordBytes) {
      Fail(record, at, "record longer than 16 MiB");
      field_overflow_ = true;
      return;
    }
    field_.push_back(static_cast<char>(c));
    ++record_bytes_;
  }
  void EndField(CsvRecord& record) {
    if (record.field_count < max_fields_) record.fields.push_back(std::move(field_));
    ++record.field_count;
    field_.clear();
    field_overflow_ = false;
  }

  std::istream& input_;
  const unsigned char delimiter_;
  const importer::Importer& owner_;
  std::vector<char> buffer_;
  size_t position_ = 0, length_ = 0;
  uint64_t offset_ = 0;  // offset of the next unread byte
  uint64_t rows_ = 0;
  bool first_chunk_ = true, eof_ = false, io_error_ = false, cancelled_ = false;
  size_t max_fields_ = kMaxColumns + 1;  // one over the cap, so a wider header is noticed

  std::string field_;
  bool field_overflow_ = false;
  size_t record_bytes_ = 0;
  Utf8Checker utf8_;
};

// ---------------------------------------------------------------- values

// Parses a decimal integer: optional sign, digits only.
std::optional<long long> ParseInteger(std::string_view s) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') return std::nullopt;  // "+-4"
  }
  long long value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<int> ParseInt32(std::string_view s) {
  std::optional<long long> v = ParseInteger(s);
  if (!v || *v < INT32_MIN || *v > INT32_MAX) return std::nullopt;
  return static_cast<int>(*v);
}

// Parses a finite decimal number, optionally with an exponent. Spelled out
// because from_chars also takes "inf", "nan" and hex forms, which no HR
// system means.
std::optional<double> ParseNumber(std::string_view s) {
  size_t i = 0, digits = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exponent_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exponent_digits;
    if (exponent_digits == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);  // from_chars takes only '-'
  double value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<bool> ParseBool(std::string_view s) {
  const std::string key = AsciiLower(s);
  if (key == "yes" || key == "y" || key == "true" || key == "1") return true;
  if (key == "no" || key == "n" || key == "false" || key == "0") return false;
  return std::nullopt;
}

std::optional<std::string> ParseDeliveryMode(std::string_view s) {
  const std::string key = EnumKey(s);
  if (key == "in_person" || key == "remote") return key;
  return std::nullopt;
}

std::optional<std::string> ParseEmployerType(std::string_view s) {
  const std::string key = EnumKey(s);
  if (key == "local_authority" || key == "nhs" || key == "school_or_trust" ||
      key == "independent_or_voluntary") {
    return key;
  }
  return std::nullopt;
}

std::optional<std::string> ParseVisibility(std::string_view s) {
  const std::string key = EnumKey(s);
  if (key == "own_authority" || key == "region" || key == "national") return key;
  return std::nullopt;
}

// ---------------------------------------------------------------- dates

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// google.type.Date and google.protobuf.Timestamp both stop at years 1..9999.
bool IsValidDate(const Date& d) {
  return d.year >= 1 && d.year <= 9999 && d.month >= 1 && d.month <= 12 && d.day >= 1 &&
         d.day <= DaysInMonth(d.year, d.month);
}

// Reads exactly `n` digits at s[i...], advancing i.
bool Digits(std::string_view s, size_t& i, size_t n, int& out) {
  if (i + n > s.size()) return false;
  int value = 0;
  for (size_t k = 0; k < n; ++k) {
    const char c = s[i + k];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  i += n;
  out = value;
  return true;
}

// Reads one or two digits (day or month of a UK date).
bool ShortDigits(std::string_view s, size_t& i, int& out) {
  if (Digits(s, i, 2, out)) return true;
  return Digits(s, i, 1, out);
}

// Reads a date at the start of `s` in one of the allowed formats and
// returns how many bytes it took, or 0. yyyy-mm-dd for ISO; d/m/yyyy with
// one- or two-digit day and month for UK (spreadsheets drop leading zeros).
size_t ReadDatePrefix(std::string_view s, DateFormat format, Date& date) {
  if (format != DateFormat::kUk) {
    size_t i = 0;
    if (Digits(s, i, 4, date.year) && i < s.size() && s[i++] == '-' &&
        Digits(s, i, 2, date.month) && i < s.size() && s[i++] == '-' && Digits(s, i, 2, date.day)) {
      return i;
    }
  }
  if (format != DateFormat::kIso) {
    size_t i = 0;
    if (ShortDigits(s, i, date.day) && i < s.size() && s[i++] == '/' &&
        ShortDigits(s, i, date.month) && i < s.size() && s[i++] == '/' &&
        Digits(s, i, 4, date.year)) {
      return i;
    }
  }
  return 0;
}

// Parses a whole cell as a calendar date. Anything else (two-digit years,
// US month-first dates whose "month" exceeds 12, 31/02/2026) fails.
std::optional<Date> ParseDate(std::string_view s, DateFormat format) {
  Date date;
  const size_t used = ReadDatePrefix(s, format, date);
  if (used == 0 || used != s.size() || !IsValidDate(date)) return std::nullopt;
  return date;
}

// An instant in UTC; ordered like the time line.
struct Instant {
  int64_t seconds = 0;  // since 1970-01-01T00:00:00Z
  int32_t nanos = 0;
  auto operator<=>(const Instant&) const = default;
};

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil, http://howardhinnant.github.io/date_algorithms.html).
int64_t DaysFromCivil(int year, int month, int day) {
  const int64_t y = year - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Date CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  Date d;
  d.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  d.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  d.year = static_cast<int>(yoe + era * 400 + (d.month <= 2 ? 1 : 0));
  return d;
}

// Parses a date or a date and time: a date as ParseDate, optionally followed
// by 'T' or a space, hh:mm[:ss[.fraction]] and an offset ('Z' or +hh:mm).
// A time without an offset is taken as UTC: exports rarely say their zone,
// and one consistent reading keeps cursor order (see docs/importers/csv.md).
std::optional<Instant> ParseTimestamp(std::string_view s, DateFormat format) {
  Date date;
  size_t i = ReadDatePrefix(s, format, date);
  if (i == 0 || !IsValidDate(date)) return std::nullopt;
  int hour = 0, minute = 0, second = 0, nanos = 0, offset_minutes = 0;
  if (i < s.size()) {
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return std::nullopt;
    ++i;
    if (!Digits(s, i, 2, hour) || i >= s.size() || s[i++] != ':' || !Digits(s, i, 2, minute)) {
      return std::nullopt;
    }
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!Digits(s, i, 2, second)) return std::nullopt;
      if (i < s.size() && s[i] == '.') {
        ++i;
        size_t n = 0;
        int scale = 100000000;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          if (n < 9) nanos += (s[i] - '0') * scale;
          scale /= 10;
          ++i, ++n;
        }
        if (n == 0 || n > 9) return std::nullopt;
      }
    }
    if (i < s.size()) {
      const char z = s[i];
      if (z == 'Z' || z == 'z') {
        ++i;
      } else if (z == '+' || z == '-') {
        ++i;
        int oh = 0, om = 0;
        if (!Digits(s, i, 2, oh) || i >= s.size() || s[i++] != ':' || !Digits(s, i, 2, om) ||
            oh > 23 || om > 59) {
          return std::nullopt;
        }
        offset_minutes = (z == '+' ? 1 : -1) * (oh * 60 + om);
      } else {
        return std::nullopt;
      }
    }
    if (i != s.size() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  }
  Instant t;
  t.seconds = DaysFromCivil(date.year, date.month, date.day) * 86400 + hour * 3600 +
              minute * 60 + second - int64_t{offset_minutes} * 60;
  t.nanos = nanos;
  // The offset may carry 0001-01-01 or 9999-12-31 out of Timestamp's range.
  const int64_t min_seconds = DaysFromCivil(1, 1, 1) * 86400;
  const int64_t max_seconds = DaysFromCivil(9999, 12, 31) * 86400 + 86399;
  if (t.seconds < min_seconds || t.seconds > max_seconds) return std::nullopt;
  return t;
}

// RFC 3339 in UTC, the fraction only when not zero (as protobuf prints it).
std::string FormatTimestamp(const Instant& t) {
  const int64_t days = t.seconds >= 0 ? t.seconds / 86400 : (t.seconds - 86399) / 86400;
  const int64_t rest = t.seconds - days * 86400;
  const Date d = CivilFromDays(days);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d", d.year, d.month, d.day,
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                static_cast<int>(rest % 60));
  std::string out = buffer;
  if (t.nanos != 0) {
    std::snprintf(buffer, sizeof buffer, ".%09d", static_cast<int>(t.nanos));
    std::string fraction = buffer;
    while (fraction.size() > 4 && fraction.compare(fraction.size() - 3, 3, "000") == 0) {
      fraction.resize(fraction.size() - 3);
    }
    out += fraction;
  }
  return out + "Z";
}

const char* DateFormatHint(DateFormat format) {
  switch (format) {
    case DateFormat::kIso:
      return "yyyy-mm-dd";
    case DateFormat::kUk:
      return "dd/mm/yyyy";
    case DateFormat::kAuto:
      break;
  }
  return "yyyy-mm-dd or dd/mm/yyyy";
}

// ---------------------------------------------------------------- rows

std::string DeclaredDefault(std::string_view key) {
  for (const auto& k : CsvImporter::kConfigKeys) {
    if (key == k.name) return k.default_value ? k.default_value : "";
  }
  return "";
}

// Why a row is rejected.
struct RowProblem {
  expertise_reject_reason reason;
  std::string column;
  std::string message;
};

enum class Flow { kContinue, kDone, kStop };

// One pass over one input: the header's layout and what the rows so far
// have shown (ids seen, newest cursor).
class ParseRun {
 public:
  ParseRun(const CsvOptions& options, const std::string& file, const Host& host,
           std::optional<Instant> since)
      : options_(options), file_(file), host_(host), since_(since) {
    index_.fill(kAbsent);
  }

  // Maps the configured columns onto `header`. kDone when the header is
  // unusable (already rejected), kStop when the host asked to stop.
  Flow ReadHeader(const CsvRecord& header, bool incremental) {
    if (!header.error.empty()) {
      return Reject(header, {EXPERTISE_REJECT_PARSE, "", "header: " + ParseMessage(header)})
                 ? Flow::kDone
                 : Flow::kStop;
    }
    if (header.field_count > kMaxColumns) {
      return Reject(header, {EXPERTISE_REJECT_PARSE, "",
                             "header has more than " + std::to_string(kMaxColumns) + " columns"})
                 ? Flow::kDone
                 : Flow::kStop;
    }
    header_ = header.fields;
    width_ = header.field_count;
    bool usable = true;
    for (size_t f = 0; f < kFieldCount; ++f) {
      index_[f] = kAbsent;
      names_[f] = options_.columns[f];
      if (options_.columns[f].empty()) continue;
      switch (Flow flow = FindColumn(header, options_.columns[f], index_[f])) {
        case Flow::kContinue:
          if (index_[f] != kAbsent) names_[f] = std::string(Trim(header_[index_[f]]));
          break;
        case Flow::kDone:
          usable = false;
          break;
        case Flow::kStop:
          return flow;
      }
      if (index_[f] == kAbsent && IsRequiredColumn(f)) {
        const std::string message = "required column " + Quoted(options_.columns[f]) +
                                    " (" + kColumnKeys[f] + ") is not in the header";
        if (!Reject(header, {EXPERTISE_REJECT_PARSE, options_.columns[f], message})) {
          return Flow::kStop;
        }
        usable = false;
      }
    }
    if (incremental) {
      Flow flow = FindColumn(header, options_.cursor_column, cursor_index_);
      if (flow != Flow::kContinue) return flow;
      if (cursor_index_ == kAbsent) {
        if (!Reject(header, {EXPERTISE_REJECT_PARSE, options_.cursor_column,
                             "cursor column " + Quoted(options_.cursor_column) +
                                 " (cursor_column) is not in the header"})) {
          return Flow::kStop;
        }
        usable = false;
      }
      cursor_name_ = usable ? std::string(Trim(header_[cursor_index_])) : "";
    }
    if (!usable) return Flow::kDone;
    WarnAboutMissingDefaults();
    in_data_ = true;
    return Flow::kContinue;
  }

  // Emits or rejects one data row. Returns false when the host asked to stop.
  bool ProcessRow(const CsvRecord& row) {
    ++rows_;
    if (!row.error.empty()) {
      const std::string column =
          row.error_field < header_.size() ? std::string(Trim(header_[row.error_field])) : "";
      return Reject(row, {EXPERTISE_REJECT_PARSE, column, ParseMessage(row)});
    }
    if (row.field_count != width_) {
      return Reject(row, {EXPERTISE_REJECT_PARSE, "",
                          "row has " + std::to_string(row.field_count) + " fields; the header has " +
                              std::to_string(width_)});
    }
    if (cursor_index_ != kAbsent) {
      std::optional<RowProblem> problem;
      const std::string_view cell = Trim(row.fields[cursor_index_]);
      if (cell.empty()) {
        problem = RowProblem{EXPERTISE_REJECT_REQUIRED, cursor_name_,
                             "cursor column " + Quoted(cursor_name_) + " is empty"};
      } else if (std::optional<Instant> cursor = ParseTimestamp(cell, options_.date_format)) {
        // Not newer than the last checkpoint: already imported.
        if (since_ && *cursor <= *since_) {
          ++skipped_;
          return true;
        }
        if (!newest_ || *newest_ < *cursor) newest_ = cursor;
      } else {
        problem = RowProblem{EXPERTISE_REJECT_SCHEMA, cursor_name_,
                             cursor_name_ + " " + Quoted(cell) +
                                 " is not a date or RFC 3339 timestamp (cursor_column)"};
      }
      if (problem) return Reject(row, *problem);
    }
    SpecialistRecord record;
    if (std::optional<RowProblem> problem = Build(row, record)) return Reject(row, *problem);
    ++emitted_;
    Location where;
    where.file = file_;
    where.row = row.row;
    return host_.Emit(record.ToJson(), where);
  }

  // Incremental mode: saves the newest cursor seen (or the old state again).
  // Only at the end, because CSV rows are not sorted by cursor: a checkpoint
  // mid-file could cover an older row not yet read.
  bool Checkpoint() {
    std::optional<Instant> newest = since_;
    if (newest_ && (!newest || *newest < *newest_)) newest = newest_;
    if (!newest) return true;
    return host_.Checkpoint(FormatTimestamp(*newest));
  }

  void LogSummary() const {
    host_.Log(EXPERTISE_LOG_INFO, "csv read finished",
              {{"file", file_},
               {"rows", std::to_string(rows_)},
               {"emitted", std::to_string(emitted_)},
               {"rejected", std::to_string(rejected_)},
               {"skipped_by_cursor", std::to_string(skipped_)}});
  }

 private:
  static constexpr size_t kAbsent = static_cast<size_t>(-1);

  // Finds `name` in the header. kDone (after a PARSE reject) when it is
  // there twice, since either could be meant.
  Flow FindColumn(const CsvRecord& header, const std::string& name, size_t& index) {
    index = kAbsent;
    const std::string key = HeaderKey(name);
    for (size_t i = 0; i < header_.size(); ++i) {
      if (HeaderKey(header_[i]) != key) continue;
      if (index != kAbsent) {
        return Reject(header, {EXPERTISE_REJECT_PARSE, name,
                               "column " + Quoted(name) + " appears more than once in the header"})
                   ? Flow::kDone
                   : Flow::kStop;
      }
      index = i;
    }
    return Flow::kContinue;
  }

  // A required field the header lacks and no default fills rejects every
  // row; say so once so the operator fixes the config, not each row.
  void WarnAboutMissingDefaults() const {
    const std::pair<Field, bool> checks[] = {
        {kEmployerType, !options_.default_employer_type.empty()},
        {kVisibility, !options_.default_visibility.empty()},
        {kDeliveryModes, !options_.default_delivery_modes.empty()}};
    for (const auto& [field, has_default] : checks) {
      if (index_[field] == kAbsent && !has_default) {
        host_.Log(EXPERTISE_LOG_WARN,
                  "column not in the header and no default configured: every row will be rejected",
                  {{"column", names_[field]}, {"key", kColumnKeys[field]}});
      }
    }
  }

  std::string ParseMessage(const CsvRecord& record) const {
    return "row " + std::to_string(record.row) + ", byte offset " +
           std::to_string(record.error_offset) + ": " + record.error;
  }

  std::string_view Cell(const CsvRecord& row, Field f) const {
    return index_[f] == kAbsent ? std::string_view() : Trim(row.fields[index_[f]]);
  }

  // Free-text cells: spreadsheet exports keep Alt+Enter line breaks inside
  // quoted cells, which a name or team never needs; each run of white
  // space (line breaks and tabs included) becomes one space.
  std::string TextCell(const CsvRecord& row, Field f) const {
    std::string out;
    bool space = false;
    for (char c : Cell(row, f)) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        space = true;
        continue;
      }
      if (space && !out.empty()) out += ' ';
      space = false;
      out += c;
    }
    return out;
  }

  std::string Mapped(std::string_view value) const {
    auto it = options_.value_map.find(AsciiLower(value));
    return it == options_.value_map.end() ? std::string(value) : it->second;
  }

  std::vector<std::string> MappedList(std::string_view cell) const {
    std::vector<std::string> out;
    for (const auto& item : SplitList(cell, options_.list_separator)) {
      std::string code = Mapped(item);
      bool repeat = false;
      for (const auto& seen : out) repeat = repeat || seen == code;
      if (!repeat) out.push_back(std::move(code));
    }
    return out;
  }

  // Fills `record` from `row`, or returns the first problem in field order.
  std::optional<RowProblem> Build(const CsvRecord& row, SpecialistRecord& r) {
    const auto schema = [&](Field f, const std::string& what) {
      return RowProblem{EXPERTISE_REJECT_SCHEMA, names_[f],
                        names_[f] + " " + Quoted(Cell(row, f)) + " is not " + what};
    };
    const auto required = [&](Field f, const std::string& why) {
      return RowProblem{EXPERTISE_REJECT_REQUIRED, names_[f], names_[f] + " is empty" + why};
    };

    r.external_id = std::string(Cell(row, kExternalId));
    if (r.external_id.empty()) return required(kExternalId, "");
    if (!seen_ids_.insert(r.external_id).second) {
      return RowProblem{EXPERTISE_REJECT_DUPLICATE_KEY, names_[kExternalId],
                        names_[kExternalId] + " " + Quoted(r.external_id) +
                            " repeats an earlier row"};
    }
    r.display_name = TextCell(row, kDisplayName);
    if (r.display_name.empty()) return required(kDisplayName, "");
    r.role = Mapped(Cell(row, kRole));
    if (r.role.empty()) return required(kRole, "");
    r.specialisms = MappedList(Cell(row, kSpecialisms));
    r.settings = MappedList(Cell(row, kSettings));

    const auto age = [&](Field f, int fallback, std::optional<int>& out) -> bool {
      const std::string_view cell = Cell(row, f);
      out = cell.empty() ? std::optional<int>(fallback) : ParseInt32(cell);
      return out.has_value();
    };
    if (!age(kMinAge, options_.default_min_age, r.min_age)) return schema(kMinAge, "a whole number");
    if (!age(kMaxAge, options_.default_max_age, r.max_age)) return schema(kMaxAge, "a whole number");

    r.languages = SplitList(Cell(row, kLanguages), options_.list_separator);
    if (Cell(row, kDeliveryModes).empty()) {
      r.delivery_modes = options_.default_delivery_modes;
    } else {
      for (const auto& item : SplitList(Cell(row, kDeliveryModes), options_.list_separator)) {
        std::optional<std::string> mode = ParseDeliveryMode(item);
        if (!mode) {
          return RowProblem{EXPERTISE_REJECT_SCHEMA, names_[kDeliveryModes],
                            names_[kDeliveryModes] + " value " + Quoted(item) +
                                " is not in_person or remote"};
        }
        bool repeat = false;
        for (const auto& seen : r.delivery_modes) repeat = repeat || seen == *mode;
        if (!repeat) r.delivery_modes.push_back(*mode);
      }
    }
    if (r.delivery_modes.empty()) {
      return required(kDeliveryModes, " and default_delivery_modes is not configured");
    }

    const auto number = [&](Field f, std::optional<double>& out) -> bool {
      const std::string_view cell = Cell(row, f);
      if (cell.empty()) return true;
      out = ParseNumber(cell);
      return out.has_value();
    };
    if (!number(kLatitude, r.latitude)) return schema(kLatitude, "a number");
    if (!number(kLongitude, r.longitude)) return schema(kLongitude, "a number");
    if (!number(kTravelRadiusKm, r.travel_radius_km)) return schema(kTravelRadiusKm, "a number");
    r.covered_authorities = SplitList(Cell(row, kCoveredAuthorities), options_.list_separator);
    r.registration_body = std::string(Cell(row, kRegistrationBody));
    r.registration_number = std::string(Cell(row, kRegistrationNumber));

    if (Cell(row, kEmployerType).empty()) {
      r.employer_type = options_.default_employer_type;
      if (r.employer_type.empty()) {
        return required(kEmployerType, " and default_employer_type is not configured");
      }
    } else if (std::optional<std::string> type = ParseEmployerType(Cell(row, kEmployerType))) {
      r.employer_type = *type;
    } else {
      return schema(kEmployerType,
                    "local_authority, nhs, school_or_trust or independent_or_voluntary");
    }

    r.work_email = std::string(Cell(row, kEmail));
    r.work_phone = std::string(Cell(row, kPhone));
    r.team = TextCell(row, kTeam);

    if (Cell(row, kVisibility).empty()) {
      r.visibility = options_.default_visibility;
      if (r.visibility.empty()) {
        return required(kVisibility, " and default_visibility is not configured");
      }
    } else if (std::optional<std::string> visibility = ParseVisibility(Cell(row, kVisibility))) {
      r.visibility = *visibility;
    } else {
      return schema(kVisibility, "own_authority, region or national");
    }

    const std::string date_hint = std::string("a valid date (") +
                                  DateFormatHint(options_.date_format) + ")";
    if (const std::string_view cell = Cell(row, kLastVerified); !cell.empty()) {
      std::optional<Instant> t = ParseTimestamp(cell, options_.date_format);
      if (!t) return schema(kLastVerified, "a valid date or RFC 3339 timestamp");
      r.last_verify_time = FormatTimestamp(*t);
    }

    if (!number(kContractedHours, r.contracted_hours_per_week)) {
      return schema(kContractedHours, "a number");
    }
    if (!number(kCommittedHours, r.committed_hours_per_week)) {
      return schema(kCommittedHours, "a number");
    }
    const auto integer = [&](Field f, std::optional<int>& out) -> bool {
      const std::string_view cell = Cell(row, f);
      if (cell.empty()) return true;
      out = ParseInt32(cell);
      return out.has_value();
    };
    if (!integer(kCurrentCaseload, r.current_caseload)) {
      return schema(kCurrentCaseload, "a whole number");
    }
    if (!integer(kMaxCaseload, r.max_caseload)) return schema(kMaxCaseload, "a whole number");
    if (!integer(kWaitingTimeWeeks, r.waiting_time_weeks)) {
      return schema(kWaitingTimeWeeks, "a whole number");
    }
    const auto date = [&](Field f, Date& out) -> bool {
      const std::string_view cell = Cell(row, f);
      if (cell.empty()) return true;
      std::optional<Date> parsed = ParseDate(cell, options_.date_format);
      if (parsed) out = *parsed;
      return parsed.has_value();
    };
    if (!date(kNextAvailableDate, r.next_available_date)) return schema(kNextAvailableDate, date_hint);
    if (!date(kValidFrom, r.valid_from)) return schema(kValidFrom, date_hint);
    if (!date(kValidTo, r.valid_to)) return schema(kValidTo, date_hint);
    if (const std::string_view cell = Cell(row, kAcceptingExternalRequests); !cell.empty()) {
      r.accepting_external_requests = ParseBool(cell);
      if (!r.accepting_external_requests) {
        return schema(kAcceptingExternalRequests, "yes, no, true, false, y, n, 1 or 0");
      }
    }
    return std::nullopt;
  }

  bool Reject(const CsvRecord& record, const RowProblem& problem) {
    ++rejected_;
    Location where;
    where.file = file_;
    where.row = record.row;
    where.column = SafeText(problem.column, kMaxFieldBytes);
    // A data row's id helps find it in the source; a row too broken to
    // delimit (record.error) may have its fields shifted, so none is given.
    std::string external_id;
    if (in_data_ && index_[kExternalId] < record.fields.size() && record.error.empty()) {
      external_id = SafeText(Trim(record.fields[index_[kExternalId]]), kMaxFieldBytes);
    }
    return host_.Reject(where, problem.reason, external_id, SafeText(problem.message, 4096),
                        SafeText(record.raw, kExcerptBytes));
  }

  const CsvOptions& options_;
  const std::string& file_;
  const Host& host_;
  const std::optional<Instant> since_;

  std::vector<std::string> header_;
  bool in_data_ = false;  // the header was read; rows are data rows
  size_t width_ = 0;
  std::array<size_t, kFieldCount> index_{};
  std::array<std::string, kFieldCount> names_;  // header text used in locations
  size_t cursor_index_ = kAbsent;
  std::string cursor_name_;

  std::unordered_set<std::string> seen_ids_;
  std::optional<Instant> newest_;
  uint64_t rows_ = 0, emitted_ = 0, rejected_ = 0, skipped_ = 0;
};

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

CsvImporter::CsvImporter(std::unique_ptr<const CsvOptions> options)
    : options_(std::move(options)) {}

CsvImporter::~CsvImporter() = default;

std::unique_ptr<CsvImporter> CsvImporter::Create(const Config& config, Host& host) {
  auto options = std::make_unique<CsvOptions>();
  bool ok = true;
  const auto error = [&](const std::string& key, const std::string& message) {
    host.ConfigError(key, message);
    ok = false;
  };
  const auto value = [&](const char* key) { return config.Get(key, DeclaredDefault(key)); };

  const std::string separator = value("list_separator");
  if (separator.empty()) error("list_separator", "must not be empty");
  options->list_separator = separator;

  const std::string delimiter = value("delimiter");
  if (delimiter.size() != 1 || static_cast<unsigned char>(delimiter[0]) >= 0x80) {
    error("delimiter", "must be exactly one ASCII character, got " + Quoted(delimiter));
  } else if (delimiter == "\"" || delimiter == "\r" || delimiter == "\n") {
    error("delimiter", "must not be a quote or a line end");
  } else if (delimiter == separator) {
    error("delimiter", "must differ from list_separator " + Quoted(separator) +
                           " (set list_separator as well, e.g. to '|')");
  } else {
    options->delimiter = delimiter[0];
  }

  for (const std::string& entry : config.GetList("value_map")) {
    const size_t equals = entry.find('=');
    const std::string label =
        equals == std::string::npos ? "" : HeaderKey(std::string_view(entry).substr(0, equals));
    const std::string code =
        equals == std::string::npos ? "" : std::string(Trim(std::string_view(entry).substr(equals + 1)));
    if (label.empty() || code.empty()) {
      error("value_map", "entry " + Quoted(entry) + " is not label=code");
      continue;
    }
    auto [it, inserted] = options->value_map.emplace(label, code);
    if (!inserted && it->second != code) {
      error("value_map", "label " + Quoted(label) + " maps to both " + Quoted(it->second) +
                             " and " + Quoted(code));
    }
  }

  const std::string date_format = value("date_format");
  if (date_format == "auto") {
    options->date_format = DateFormat::kAuto;
  } else if (date_format == "iso") {
    options->date_format = DateFormat::kIso;
  } else if (date_format == "uk") {
    options->date_format = DateFormat::kUk;
  } else {
    error("date_format", "must be auto, iso or uk");
  }

  if (const std::string v = value("default_employer_type"); !v.empty()) {
    if (auto type = ParseEmployerType(v)) {
      options->default_employer_type = *type;
    } else {
      error("default_employer_type",
            "must be local_authority, nhs, school_or_trust or independent_or_voluntary");
    }
  }
  if (const std::string v = value("default_visibility"); !v.empty()) {
    if (auto visibility = ParseVisibility(v)) {
      options->default_visibility = *visibility;
    } else {
      error("default_visibility", "must be own_authority, region or national");
    }
  }
  for (const std::string& item : config.GetList("default_delivery_modes")) {
    if (auto mode = ParseDeliveryMode(item)) {
      bool repeat = false;
      for (const auto& seen : options->default_delivery_modes) repeat = repeat || seen == *mode;
      if (!repeat) options->default_delivery_modes.push_back(*mode);
    } else {
      error("default_delivery_modes", Quoted(item) + " is not in_person or remote");
    }
  }

  const auto age = [&](const char* key, int& out) {
    const std::optional<long long> v = ParseInteger(Trim(value(key)));
    if (!v || *v < 0 || *v > 25) {
      error(key, "must be a whole number from 0 to 25");
      return false;
    }
    out = static_cast<int>(*v);
    return true;
  };
  if (age("default_min_age", options->default_min_age) &&
      age("default_max_age", options->default_max_age) &&
      options->default_min_age > options->default_max_age) {
    error("default_max_age", "must not be less than default_min_age");
  }

  options->cursor_column = std::string(Trim(value("cursor_column")));

  // Column names: a required one must name a header; two keys must not name
  // the same header, or one field would silently read the other's values.
  // The error goes to the key(s) changed from their default, since that is
  // what the operator typed.
  for (size_t f = 0; f < kFieldCount; ++f) {
    options->columns[f] = std::string(Trim(value(kColumnKeys[f])));
    if (options->columns[f].empty() && IsRequiredColumn(f)) {
      error(kColumnKeys[f], "must name a header: this column is required");
    }
  }
  for (size_t f = 0; f < kFieldCount; ++f) {
    for (size_t g = f + 1; g < kFieldCount; ++g) {
      if (options->columns[f].empty() ||
          HeaderKey(options->columns[f]) != HeaderKey(options->columns[g])) {
        continue;
      }
      const bool f_changed = options->columns[f] != DeclaredDefault(kColumnKeys[f]);
      const bool g_changed = options->columns[g] != DeclaredDefault(kColumnKeys[g]);
      const std::string message = "names the same header " + Quoted(options->columns[f]) +
                                  " as ";
      if (f_changed) error(kColumnKeys[f], message + kColumnKeys[g]);
      if (g_changed || !f_changed) error(kColumnKeys[g], message + kColumnKeys[f]);
    }
  }

  if (!ok) return nullptr;
  return std::unique_ptr<CsvImporter>(new CsvImporter(std::move(options)));
}

expertise_result CsvImporter::Read(const ReadRequest& request, Host& host) {
  if (request.input_path.empty()) {
    host.Log(EXPERTISE_LOG_ERROR, "no input file given");
    return EXPERTISE_ERROR;
  }
  std::ifstream input(request.input_path, std::ios::binary);
  if (!input.is_open()) {
    const int err = errno;
    host.Log(EXPERTISE_LOG_ERROR, "cannot open the input file",
             {{"path", request.input_path}, {"error", std::generic_category().message(err)}});
    return EXPERTISE_ERROR;
  }
  return Parse(input, BaseName(request.input_path), request, host);
}

expertise_result CsvImporter::Parse(std::istream& input, const std::string& file_name,
                                    const ReadRequest& request, Host& host) {
  if (cancelled()) return EXPERTISE_CANCELLED;
  const CsvOptions& options = *options_;
  if (request.sync_mode != EXPERTISE_SYNC_SNAPSHOT &&
      request.sync_mode != EXPERTISE_SYNC_INCREMENTAL) {
    host.Log(EXPERTISE_LOG_ERROR, "unknown sync mode",
             {{"sync_mode", std::to_string(request.sync_mode)}});
    return EXPERTISE_ERROR;
  }
  const bool incremental = request.sync_mode == EXPERTISE_SYNC_INCREMENTAL;
  std::optional<Instant> since;
  if (incremental) {
    if (options.cursor_column.empty()) {
      host.Log(EXPERTISE_LOG_ERROR, "incremental mode needs the cursor_column config key");
      return EXPERTISE_ERROR;
    }
    if (!request.state.empty()) {
      // The state is a checkpoint this plugin wrote; anything else means the
      // saved state is corrupt, and guessing could skip or repeat the lot.
      since = ParseTimestamp(request.state, DateFormat::kIso);
      if (!since) {
        host.Log(EXPERTISE_LOG_ERROR, "incremental state is not an RFC 3339 timestamp",
                 {{"state", SafeText(request.state, kQuotedValueBytes)}});
        return EXPERTISE_ERROR;
      }
    }
  }

  CsvReader reader(input, options.delimiter, *this);
  ParseRun run(options, file_name, host, since);
  const auto failed = [&](CsvReader::Status status) {
    if (status == CsvReader::Status::kCancelled) return EXPERTISE_CANCELLED;
    host.Log(EXPERTISE_LOG_ERROR, "reading the input failed",
             {{"file", file_name}, {"byte_offset", std::to_string(reader.offset())}});
    return EXPERTISE_ERROR;
  };

  CsvRecord record;
  for (;;) {
    const CsvReader::Status status = reader.Next(record);
    if (status == CsvReader::Status::kEnd) {
      host.Log(EXPERTISE_LOG_WARN, "the input is empty: no header row", {{"file", file_name}});
      return EXPERTISE_OK;
    }
    if (status != CsvReader::Status::kRecord) return failed(status);
    if (!record.blank) break;
  }
  switch (run.ReadHeader(record, incremental)) {
    case Flow::kContinue:
      break;
    case Flow::kDone:
      return EXPERTISE_OK;
    case Flow::kStop:
      return EXPERTISE_CANCELLED;
  }
  reader.set_max_fields(record.field_count);

  for (;;) {
    if (cancelled()) return EXPERTISE_CANCELLED;
    const CsvReader::Status status = reader.Next(record);
    if (status == CsvReader::Status::kEnd) break;
    if (status != CsvReader::Status::kRecord) return failed(status);
    if (record.blank) continue;
    if (!run.ProcessRow(record)) return EXPERTISE_CANCELLED;
  }
  run.LogSummary();
  if (incremental && !run.Checkpoint()) return EXPERTISE_CANCELLED;
  return EXPERTISE_OK;
}

}  // namespace expertise::plugins
