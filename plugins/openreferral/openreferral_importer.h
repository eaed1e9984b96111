// Copyright expertise-directory authors.
//
// The `openreferral` importer: reads Open Referral UK / HSDS 3.0 service
// JSON (paged list responses in the HSDS 3.0 or the legacy ORUK shape, a bare
// array, one service object, or NDJSON) and emits one SpecialistRecord per
// service, or per named service contact. docs/importers/openreferral.md
// describes the mapping, the config keys and the rejects.
#ifndef EXPERTISE_PLUGINS_OPENREFERRAL_OPENREFERRAL_IMPORTER_H_
#define EXPERTISE_PLUGINS_OPENREFERRAL_OPENREFERRAL_IMPORTER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expertise/importer_abi.h"
#include "expertise/importer_plugin.hpp"

namespace expertise::plugins {

// The checked configuration of one importer instance.
struct OpenReferralOptions {
  enum class RecordPer { kService, kContact };
  enum class InputFormat { kAuto, kJson, kNdjson };

  RecordPer record_per = RecordPer::kService;
  InputFormat input_format = InputFormat::kAuto;
  // Lower-cased, trimmed taxonomy term (code or name) -> our taxonomy code.
  std::map<std::string, std::string> role_map;
  std::map<std::string, std::string> specialism_map;
  std::map<std::string, std::string> setting_map;
  std::string default_role;  // empty: none
  int default_min_age = 0;
  int default_max_age = 25;
  std::string capacity_unit = "hours";  // lower-cased
  std::string employer_type = "local_authority";
  std::string visibility = "region";
  std::vector<std::string> delivery_modes = {"in_person"};
  long long max_input_bytes = 536870912;
  bool allow_partial_page = false;
};

// Thread-compatible: one Read() or Parse() at a time per instance; Cancel()
// may be called from any thread.
class OpenReferralImporter : public expertise::importer::Importer {
 public:
  static constexpr const char* kName = "openreferral";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr const char* kDescription =
      "Reads Open Referral UK / HSDS 3.0 services (paged JSON, array, single service or NDJSON) "
      "as team-level or contact-level specialist records.";
  static constexpr uint32_t kSyncModes = EXPERTISE_SYNC_SNAPSHOT | EXPERTISE_SYNC_INCREMENTAL;
  static constexpr const char* kMediaTypes = "application/json|application/x-ndjson";
  static constexpr expertise_config_key kConfigKeys[] = {
      {"record_per", EXPERTISE_CONFIG_ENUM, 0, "service", "service|contact", 0,
       "One record per service (a team-level entry) or per service contact that has a name."},
      {"role_map", EXPERTISE_CONFIG_LIST, 0, nullptr, nullptr, 0,
       "term=role pairs: a taxonomy term code or name (case-insensitive) and our role code."},
      {"specialism_map", EXPERTISE_CONFIG_LIST, 0, nullptr, nullptr, 0,
       "term=specialism pairs: a taxonomy term code or name and our specialism code."},
      {"setting_map", EXPERTISE_CONFIG_LIST, 0, nullptr, nullptr, 0,
       "term=setting pairs: a taxonomy term code or name and our setting code."},
      {"default_role", EXPERTISE_CONFIG_STRING, 0, nullptr, nullptr, 0,
       "Role code used when no taxonomy term of a service maps to a role."},
      {"default_min_age", EXPERTISE_CONFIG_INT, 0, "0", nullptr, 0,
       "Youngest age served (0 to 25) when a service gives no minimum_age."},
      {"default_max_age", EXPERTISE_CONFIG_INT, 0, "25", nullptr, 0,
       "Oldest age served (0 to 25) when a service gives no maximum_age."},
      {"capacity_unit", EXPERTISE_CONFIG_STRING, 0, "hours", nullptr, 0,
       "Unit id or name of the HSDS 3.1 capacity entry read as hours per week (\"Hours\" always "
       "matches)."},
      {"employer_type", EXPERTISE_CONFIG_ENUM, 0, "local_authority",
       "local_authority|nhs|school_or_trust|independent_or_voluntary", 0,
       "Employer type given to every record."},
      {"visibility", EXPERTISE_CONFIG_ENUM, 0, "region", "own_authority|region|national", 0,
       "Who may see the records."},
      {"delivery_modes", EXPERTISE_CONFIG_LIST, 0, "in_person", nullptr, 0,
       "Delivery modes given to every record: in_person, remote."},
      {"input_format", EXPERTISE_CONFIG_ENUM, 0, "auto", "auto|json|ndjson", 0,
       "Input shape: detect it (auto), one JSON document, or one service per line (NDJSON)."},
      {"allow_partial_page", EXPERTISE_CONFIG_BOOL, 0, "false", nullptr, 0,
       "Accept in snapshot mode a paged response that says more pages exist (their services "
       "would be withdrawn)."},
      {"max_input_bytes", EXPERTISE_CONFIG_INT, 0, "536870912", nullptr, 0,
       "Largest input accepted, in bytes; larger inputs fail the run."},
  };

  // Checks `config` (reporting every bad key through host.ConfigError) and
  // returns an instance, or nullptr when any key was bad.
  static std::unique_ptr<OpenReferralImporter> Create(const expertise::importer::Config& config,
                                                      expertise::importer::Host& host);

  // Loads request.input_path (refusing files over max_input_bytes) and calls
  // Parse() with the file's base name.
  expertise_result Read(const expertise::importer::ReadRequest& request,
                        expertise::importer::Host& host) override;

  // Reads one input held in memory; `file_name` (a base name) goes into
  // reject locations. Exposed so tests and fuzzers can feed bytes directly.
  // Returns EXPERTISE_OK at the end of input (also after rejects),
  // EXPERTISE_CANCELLED after Cancel() or when the host says stop, and
  // EXPERTISE_ERROR when the whole run must fail (details logged).
  expertise_result Parse(std::string_view content, const std::string& file_name,
                         const expertise::importer::ReadRequest& request,
                         expertise::importer::Host& host);

  const OpenReferralOptions& options() const { return options_; }

 private:
  explicit OpenReferralImporter(OpenReferralOptions options) : options_(std::move(options)) {}

  const OpenReferralOptions options_;
};

}  // namespace expertise::plugins

#endif  // EXPERTISE_PLUGINS_OPENREFERRAL_OPENREFERRAL_IMPORTER_H_
