#ifndef EXPERTISE_PLUGINS_FHIR_FHIR_IMPORTER_H_
#define EXPERTISE_PLUGINS_FHIR_FHIR_IMPORTER_H_

// The `fhir` importer: reads FHIR R4 JSON (a Bundle of any type, or NDJSON
// with one resource per line) and emits one SpecialistRecord per active
// PractitionerRole, joined to its Practitioner, Organization and Location.
// docs/importers/fhir.md documents the mapping, config keys, extensions,
// rejects and incremental behaviour.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expertise/importer_abi.h"
#include "expertise/importer_plugin.hpp"

namespace expertise::plugins {

// One plugin instance. Read() and Parse() run on one thread at a time;
// Cancel() may be called from any thread.
class FhirImporter : public importer::Importer {
 public:
  static constexpr const char* kName = "fhir";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr const char* kDescription =
      "Reads FHIR R4 Practitioner, PractitionerRole, Location and Organization resources "
      "(Bundle or NDJSON) and emits one specialist per active PractitionerRole.";
  static constexpr uint32_t kSyncModes = EXPERTISE_SYNC_SNAPSHOT | EXPERTISE_SYNC_INCREMENTAL;
  static constexpr const char* kMediaTypes = "application/fhir+json|application/fhir+ndjson";
  static constexpr expertise_config_key kConfigKeys[] = {
      {"local_role_system", EXPERTISE_CONFIG_STRING, 0,
       "https://expertise-directory.example/CodeSystem/role", nullptr, 0,
       "Coding system whose codes in PractitionerRole.code are our role codes; empty disables it."},
      {"local_specialism_system", EXPERTISE_CONFIG_STRING, 0,
       "https://expertise-directory.example/CodeSystem/specialism", nullptr, 0,
       "Coding system whose codes in PractitionerRole.specialty are our specialism codes; empty "
       "disables it."},
      {"role_map", EXPERTISE_CONFIG_LIST, 0, nullptr, nullptr, 0,
       "Pairs code=role (or system|code=role) mapping PractitionerRole.code codings to role "
       "codes; they take precedence over the built-in SNOMED CT table."},
      {"specialism_map", EXPERTISE_CONFIG_LIST, 0, nullptr, nullptr, 0,
       "Pairs code=specialism (or system|code=specialism) mapping PractitionerRole.specialty "
       "codings to specialism codes."},
      {"default_settings", EXPERTISE_CONFIG_LIST, 0, nullptr, nullptr, 0,
       "Setting codes used when a PractitionerRole has no setting extension."},
      {"default_min_age", EXPERTISE_CONFIG_INT, 0, "0", nullptr, 0,
       "Youngest age served (0 to 25) when a PractitionerRole has no age-range extension."},
      {"default_max_age", EXPERTISE_CONFIG_INT, 0, "25", nullptr, 0,
       "Oldest age served (0 to 25) when a PractitionerRole has no age-range extension."},
      {"external_id_system", EXPERTISE_CONFIG_STRING, 0, nullptr, nullptr, 0,
       "Identifier system whose PractitionerRole.identifier value is the external id; when not "
       "set, the PractitionerRole id is used."},
      {"employer_type", EXPERTISE_CONFIG_ENUM, 0, "nhs",
       "local_authority|nhs|school_or_trust|independent_or_voluntary", 0,
       "Employer type of every specialist in this source."},
      {"visibility", EXPERTISE_CONFIG_ENUM, 0, "region", "own_authority|region|national", 0,
       "Who may see the imported specialists."},
      {"delivery_modes", EXPERTISE_CONFIG_LIST, 0, "in_person", nullptr, 0,
       "Delivery modes (in_person, remote) of every specialist in this source."},
      {"max_input_bytes", EXPERTISE_CONFIG_INT, 0, "536870912", nullptr, 0,
       "Largest input file read, in bytes; larger inputs fail the run."},
  };

  // A configured source code mapped to one of our codes. An empty system
  // matches codings of any system.
  struct CodeMapping {
    std::string system;
    std::string code;
    std::string target;
  };

  // The validated configuration.
  struct Options {
    std::string local_role_system;
    std::string local_specialism_system;
    std::vector<CodeMapping> role_map;
    std::vector<CodeMapping> specialism_map;
    std::vector<std::string> default_settings;
    int default_min_age = 0;
    int default_max_age = 25;
    std::string external_id_system;
    std::string employer_type;
    std::string visibility;
    std::vector<std::string> delivery_modes;
    uint64_t max_input_bytes = 0;
  };

  // Validates `config` (keys not given take their declared defaults).
  // Reports every bad key with host.ConfigError() and returns nullptr.
  static std::unique_ptr<FhirImporter> Create(const importer::Config& config, importer::Host& host);

  // Loads request.input_path and parses it with Parse().
  expertise_result Read(const importer::ReadRequest& request, importer::Host& host) override;

  // Parses `content` (the whole input) as if read from a file named
  // `file_name`, emitting records and rejects to `host`. request.input_path
  // is not used. Separate from Read() so tests and fuzzers can feed bytes.
  expertise_result Parse(std::string_view content, const std::string& file_name,
                         const importer::ReadRequest& request, importer::Host& host);

  const Options& options() const { return options_; }

 private:
  explicit FhirImporter(Options options) : options_(std::move(options)) {}

  const Options options_;
};

}  // namespace expertise::plugins

#endif  // EXPERTISE_PLUGINS_FHIR_FHIR_IMPORTER_H_
