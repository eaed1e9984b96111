// Copyright expertise-directory authors.
//
// The `csv` importer: reads an authority's HR or caseload CSV export into
// SpecialistRecords (record format 1.0). Self-contained: it depends only on
// the importer SDK headers and the C++ standard library, so it carries its
// own streaming RFC 4180 reader. docs/importers/csv.md is the user guide.
#ifndef EXPERTISE_PLUGINS_CSV_CSV_IMPORTER_H_
#define EXPERTISE_PLUGINS_CSV_CSV_IMPORTER_H_

#include <cstdint>
#include <istream>
#include <memory>
#include <string>

#include "expertise/importer_abi.h"
#include "expertise/importer_plugin.hpp"

namespace expertise::plugins {

namespace csv_internal {
// The checked configuration; defined in csv_config.h.
struct CsvOptions;
}  // namespace csv_internal

// One configured CSV import. Create() checks the configuration once; Read()
// and Parse() may then run any number of times, one at a time. Cancel() (from
// the base class) may be called from another thread while a read runs.
class CsvImporter : public importer::Importer {
 public:
  static constexpr const char* kName = "csv";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr const char* kDescription =
      "Reads an authority's HR or caseload CSV export (RFC 4180) into specialist records, "
      "with configurable column names, label mapping, list cells and date formats.";
  static constexpr uint32_t kSyncModes = EXPERTISE_SYNC_SNAPSHOT | EXPERTISE_SYNC_INCREMENTAL;
  static constexpr const char* kMediaTypes = "text/csv";

  // Every key the host may pass. Column keys name the header a record field
  // is read from; their defaults are the canonical header names.
  static constexpr expertise_config_key kConfigKeys[] = {
      {"delimiter", EXPERTISE_CONFIG_STRING, 0, ",", nullptr, 0,
       "Field delimiter: exactly one ASCII character, for example ',' ';' '|' or a tab."},
      {"list_separator", EXPERTISE_CONFIG_STRING, 0, ";", nullptr, 0,
       "Separator between the values of a multi-valued cell (specialisms, settings, languages, "
       "delivery modes, covered authorities)."},
      {"value_map", EXPERTISE_CONFIG_LIST, 0, nullptr, nullptr, 0,
       "label=code pairs translating local labels in role, specialism and setting cells to "
       "taxonomy codes, matched ignoring ASCII case, e.g. SALT=speech-language-therapist."},
      {"date_format", EXPERTISE_CONFIG_ENUM, 0, "auto", "auto|iso|uk", 0,
       "Date cells: iso (yyyy-mm-dd), uk (dd/mm/yyyy) or auto (either)."},
      {"default_employer_type", EXPERTISE_CONFIG_ENUM, 0, nullptr,
       "local_authority|nhs|school_or_trust|independent_or_voluntary", 0,
       "Employer type for rows whose employer_type cell is empty or absent."},
      {"default_visibility", EXPERTISE_CONFIG_ENUM, 0, nullptr, "own_authority|region|national", 0,
       "Visibility for rows whose visibility cell is empty or absent."},
      {"default_delivery_modes", EXPERTISE_CONFIG_LIST, 0, nullptr, nullptr, 0,
       "Delivery modes (in_person, remote) for rows whose delivery_modes cell is empty or absent."},
      {"default_min_age", EXPERTISE_CONFIG_INT, 0, "0", nullptr, 0,
       "Youngest age served (0 to 25) for rows whose min_age cell is empty or absent."},
      {"default_max_age", EXPERTISE_CONFIG_INT, 0, "25", nullptr, 0,
       "Oldest age served (0 to 25) for rows whose max_age cell is empty or absent."},
      {"cursor_column", EXPERTISE_CONFIG_STRING, 0, nullptr, nullptr, 0,
       "Header of a last-modified date or timestamp column; needed for incremental mode, which "
       "skips rows not newer than the last checkpoint."},
      {"column_external_id", EXPERTISE_CONFIG_STRING, 0, "external_id", nullptr, 0,
       "Header of the record id in the source system (required column)."},
      {"column_display_name", EXPERTISE_CONFIG_STRING, 0, "display_name", nullptr, 0,
       "Header of the name shown to users (required column)."},
      {"column_role", EXPERTISE_CONFIG_STRING, 0, "role", nullptr, 0,
       "Header of the role code or label (required column)."},
      {"column_specialisms", EXPERTISE_CONFIG_STRING, 0, "specialisms", nullptr, 0,
       "Header of the specialism codes or labels (multi-valued)."},
      {"column_settings", EXPERTISE_CONFIG_STRING, 0, "settings", nullptr, 0,
       "Header of the setting codes or labels (multi-valued)."},
      {"column_min_age", EXPERTISE_CONFIG_STRING, 0, "min_age", nullptr, 0,
       "Header of the youngest age served, in years."},
      {"column_max_age", EXPERTISE_CONFIG_STRING, 0, "max_age", nullptr, 0,
       "Header of the oldest age served, in years."},
      {"column_languages", EXPERTISE_CONFIG_STRING, 0, "languages", nullptr, 0,
       "Header of the BCP 47 language tags (multi-valued)."},
      {"column_delivery_modes", EXPERTISE_CONFIG_STRING, 0, "delivery_modes", nullptr, 0,
       "Header of the delivery modes, in_person or remote (multi-valued)."},
      {"column_latitude", EXPERTISE_CONFIG_STRING, 0, "latitude", nullptr, 0,
       "Header of the base location's WGS84 latitude."},
      {"column_longitude", EXPERTISE_CONFIG_STRING, 0, "longitude", nullptr, 0,
       "Header of the base location's WGS84 longitude."},
      {"column_travel_radius_km", EXPERTISE_CONFIG_STRING, 0, "travel_radius_km", nullptr, 0,
       "Header of the travel radius for in-person work, in km."},
      {"column_covered_authorities", EXPERTISE_CONFIG_STRING, 0, "covered_authorities", nullptr, 0,
       "Header of the GSS codes of further authorities covered (multi-valued)."},
      {"column_registration_body", EXPERTISE_CONFIG_STRING, 0, "registration_body", nullptr, 0,
       "Header of the professional registration body, e.g. HCPC."},
      {"column_registration_number", EXPERTISE_CONFIG_STRING, 0, "registration_number", nullptr, 0,
       "Header of the professional registration number."},
      {"column_employer_type", EXPERTISE_CONFIG_STRING, 0, "employer_type", nullptr, 0,
       "Header of the employer type: local_authority, nhs, school_or_trust or "
       "independent_or_voluntary."},
      {"column_email", EXPERTISE_CONFIG_STRING, 0, "email", nullptr, 0,
       "Header of the work email address."},
      {"column_phone", EXPERTISE_CONFIG_STRING, 0, "phone", nullptr, 0,
       "Header of the work telephone number."},
      {"column_team", EXPERTISE_CONFIG_STRING, 0, "team", nullptr, 0,
       "Header of the team or service name."},
      {"column_visibility", EXPERTISE_CONFIG_STRING, 0, "visibility", nullptr, 0,
       "Header of the visibility: own_authority, region or national."},
      {"column_last_verified", EXPERTISE_CONFIG_STRING, 0, "last_verified", nullptr, 0,
       "Header of the date or RFC 3339 timestamp the source last confirmed the record."},
      {"column_contracted_hours", EXPERTISE_CONFIG_STRING, 0, "contracted_hours", nullptr, 0,
       "Header of the contracted SEND hours per week."},
      {"column_committed_hours", EXPERTISE_CONFIG_STRING, 0, "committed_hours", nullptr, 0,
       "Header of the hours per week already committed."},
      {"column_current_caseload", EXPERTISE_CONFIG_STRING, 0, "current_caseload", nullptr, 0,
       "Header of the current caseload (children and young people)."},
      {"column_max_caseload", EXPERTISE_CONFIG_STRING, 0, "max_caseload", nullptr, 0,
       "Header of the maximum caseload (0: no maximum)."},
      {"column_waiting_time_weeks", EXPERTISE_CONFIG_STRING, 0, "waiting_time_weeks", nullptr, 0,
       "Header of the current waiting time for new work, in weeks."},
      {"column_next_available_date", EXPERTISE_CONFIG_STRING, 0, "next_available_date", nullptr, 0,
       "Header of the first date new work can start."},
      {"column_valid_from", EXPERTISE_CONFIG_STRING, 0, "valid_from", nullptr, 0,
       "Header of the first date the capacity figures apply."},
      {"column_valid_to", EXPERTISE_CONFIG_STRING, 0, "valid_to", nullptr, 0,
       "Header of the last date the capacity figures apply."},
      {"column_accepting_external_requests", EXPERTISE_CONFIG_STRING, 0,
       "accepting_external_requests", nullptr, 0,
       "Header of whether requests from other authorities are accepted (yes/no)."},
  };

  ~CsvImporter() override;

  // Checks `config` beyond the host's type checks. Reports every bad key with
  // host.ConfigError and returns nullptr, or returns a ready importer. Keys
  // missing from `config` take their declared defaults.
  static std::unique_ptr<CsvImporter> Create(const importer::Config& config, importer::Host& host);

  // Opens request.input_path and calls Parse() on it. Returns EXPERTISE_ERROR
  // (after logging why) when the file cannot be opened.
  expertise_result Read(const importer::ReadRequest& request, importer::Host& host) override;

  // Reads CSV bytes from `input`, emitting and rejecting records through
  // `host`. `file_name` is the base name put in every location. Returns
  // EXPERTISE_OK at the end of input (rows may have been rejected),
  // EXPERTISE_CANCELLED after Cancel() or when the host asks to stop, and
  // EXPERTISE_ERROR (after logging why) for a failure that stops the run: an
  // I/O error, an unknown sync mode, or incremental mode without
  // cursor_column or with a state that is not a timestamp.
  expertise_result Parse(std::istream& input, const std::string& file_name,
                         const importer::ReadRequest& request, importer::Host& host);

 private:
  explicit CsvImporter(std::unique_ptr<const csv_internal::CsvOptions> options);

  std::unique_ptr<const csv_internal::CsvOptions> options_;
};

}  // namespace expertise::plugins

#endif  // EXPERTISE_PLUGINS_CSV_CSV_IMPORTER_H_
