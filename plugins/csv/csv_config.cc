// Copyright expertise-directory authors.
#include "plugins/csv/csv_config.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <system_error>
#include <utility>

#include "plugins/csv/csv_importer.h"

namespace expertise::plugins::csv_internal {

using importer::Config;
using importer::Date;
using importer::Host;
using importer::support::AppendUnique;
using importer::support::AsciiLower;
using importer::support::Instant;
using importer::support::RepairUtf8;
using importer::support::Trim;

// ---------------------------------------------------------------- text

// The key headers and column names are compared by: trimmed, ASCII case
// folded, because exports often change "External ID" to "external id".
std::string HeaderKey(std::string_view s) { return AsciiLower(Trim(s)); }

namespace {

// Lower-cases and turns '-' and ' ' into '_', so "In-Person", "in person"
// and "IN_PERSON" all read as "in_person".
std::string EnumKey(std::string_view s) {
  std::string out = AsciiLower(Trim(s));
  for (char& c : out) {
    if (c == '-' || c == ' ') c = '_';
  }
  return out;
}

}  // namespace

// Splits `cell` on `separator`, trims each item and drops empty ones and
// repeats (keeping the first), since a repeated code adds nothing.
std::vector<std::string> SplitList(std::string_view cell, std::string_view separator) {
  std::vector<std::string> out;
  for (std::string& item : importer::support::SplitTrimmed(cell, separator)) {
    AppendUnique(out, std::move(item));
  }
  return out;
}

// ---------------------------------------------------------------- UTF-8

// A value quoted in a message: short, valid UTF-8.
std::string Quoted(std::string_view value) {
  bool truncated = false;
  std::string text = RepairUtf8(value, kQuotedValueBytes, &truncated);
  return "'" + text + (truncated ? "...'" : "'");
}

// ---------------------------------------------------------------- values

namespace {

// Parses a decimal integer: optional sign, digits only.
std::optional<long long> ParseInteger(std::string_view s) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') return std::nullopt;  // "+-4"
  }
  return importer::support::ParseInteger(s);
}

}  // namespace

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

namespace {

// Reads a date at the start of `in` in one of the allowed formats:
// yyyy-mm-dd for ISO; d/m/yyyy with one- or two-digit day and month for UK
// (spreadsheets drop leading zeros). On failure `in` may have moved.
std::optional<std::chrono::year_month_day> ReadDate(std::string_view s, DateFormat format,
                                                    importer::support::Scanner& in) {
  int year = 0, month = 0, day = 0;
  bool read = false;
  if (format != DateFormat::kUk) {
    in = importer::support::Scanner(s);
    read = importer::support::ReadIsoDateFields(in, year, month, day);
  }
  if (!read && format != DateFormat::kIso) {
    in = importer::support::Scanner(s);
    read = in.OneOrTwoDigits(day) && in.Take('/') && in.OneOrTwoDigits(month) && in.Take('/') &&
           in.Digits(4, year);
  }
  if (!read) return std::nullopt;
  return importer::support::MakeDate(year, month, day);
}

}  // namespace

// Parses a whole cell as a calendar date. Anything else (two-digit years,
// US month-first dates whose "month" exceeds 12, 31/02/2026) fails.
std::optional<Date> ParseDate(std::string_view s, DateFormat format) {
  importer::support::Scanner in(s);
  const std::optional<std::chrono::year_month_day> date = ReadDate(s, format, in);
  if (!date || !in.AtEnd()) return std::nullopt;
  return importer::support::ToRecordDate(*date);
}

// Parses a date or a date and time: a date as ParseDate, optionally followed
// by 'T' or a space, hh:mm[:ss[.fraction]] and an offset ('Z' or +hh:mm).
// A time without an offset is taken as UTC: exports rarely say their zone,
// and one consistent reading keeps cursor order (see docs/importers/csv.md).
std::optional<Instant> ParseTimestamp(std::string_view s, DateFormat format) {
  importer::support::Scanner in(s);
  const std::optional<std::chrono::year_month_day> date = ReadDate(s, format, in);
  if (!date) return std::nullopt;
  return importer::support::ParseTimeAfterDate(*date, in);
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

std::unique_ptr<CsvOptions> ReadOptions(const Config& config, Host& host) {
  auto options = std::make_unique<CsvOptions>();
  bool ok = true;
  const auto error = [&](const std::string& key, const std::string& message) {
    host.ConfigError(key, message);
    ok = false;
  };
  const importer::support::DeclaredConfig declared(config, CsvImporter::kConfigKeys);
  const auto value = [&](const char* key) { return declared.Get(key); };

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
      AppendUnique(options->default_delivery_modes, *mode);
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
      const bool f_changed = options->columns[f] != declared.Default(kColumnKeys[f]);
      const bool g_changed = options->columns[g] != declared.Default(kColumnKeys[g]);
      const std::string message = "names the same header " + Quoted(options->columns[f]) +
                                  " as ";
      if (f_changed) error(kColumnKeys[f], message + kColumnKeys[g]);
      if (g_changed || !f_changed) error(kColumnKeys[g], message + kColumnKeys[f]);
    }
  }

  if (!ok) return nullptr;
  return options;
}

}  // namespace expertise::plugins::csv_internal
