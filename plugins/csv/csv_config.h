// Copyright expertise-directory authors.
//
// The `csv` importer's configuration (CsvOptions, checked from the config
// keys) and the cell value parsers the configuration and the rows share.
#ifndef EXPERTISE_PLUGINS_CSV_CSV_CONFIG_H_
#define EXPERTISE_PLUGINS_CSV_CSV_CONFIG_H_

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expertise/importer_plugin.hpp"
#include "expertise/importer_support.hpp"

namespace expertise::plugins::csv_internal {

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

// Checks `config` (keys not given take their declared defaults), reports
// every bad key with host.ConfigError and returns nullptr, or returns the
// options.
std::unique_ptr<CsvOptions> ReadOptions(const importer::Config& config, importer::Host& host);

// The key headers and column names are compared by: trimmed, ASCII case
// folded, because exports often change "External ID" to "external id".
std::string HeaderKey(std::string_view s);

// Splits `cell` on `separator`, trims each item and drops empty ones and
// repeats (keeping the first), since a repeated code adds nothing.
std::vector<std::string> SplitList(std::string_view cell, std::string_view separator);

// A value quoted in a message: short, valid UTF-8.
std::string Quoted(std::string_view value);

// Cell values; each returns nullopt for text that is not one.
std::optional<int> ParseInt32(std::string_view s);
std::optional<double> ParseNumber(std::string_view s);
std::optional<bool> ParseBool(std::string_view s);
// Enum cells, normalised: "In-Person" -> "in_person".
std::optional<std::string> ParseDeliveryMode(std::string_view s);
std::optional<std::string> ParseEmployerType(std::string_view s);
std::optional<std::string> ParseVisibility(std::string_view s);

// Parses a whole cell as a calendar date. Anything else (two-digit years,
// US month-first dates whose "month" exceeds 12, 31/02/2026) fails.
std::optional<importer::Date> ParseDate(std::string_view s, DateFormat format);

// Parses a date or a date and time: a date as ParseDate, optionally followed
// by 'T' or a space, hh:mm[:ss[.fraction]] and an offset ('Z' or +hh:mm).
std::optional<importer::support::Instant> ParseTimestamp(std::string_view s, DateFormat format);

// The formats a date cell may take, for messages.
const char* DateFormatHint(DateFormat format);

}  // namespace expertise::plugins::csv_internal

#endif  // EXPERTISE_PLUGINS_CSV_CSV_CONFIG_H_
