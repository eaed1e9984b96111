// Copyright expertise-directory authors.
//
// The `fhir` importer's configuration: the config keys read, with their
// declared defaults, into FhirImporter::Options.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir_internal.h"

namespace expertise::plugins::fhir_internal {

using importer::Config;
using importer::Host;
using importer::support::Trim;
namespace support = importer::support;

namespace {

// ---------------------------------------------------------------------------
// Configuration.

// Reads config values, falling back to the declared defaults, and records
// whether any key was reported bad.
class ConfigReader {
 public:
  ConfigReader(const Config& config, Host& host)
      : declared_(config, FhirImporter::kConfigKeys), host_(host) {}

  bool failed() const { return failed_; }

  void Error(const std::string& key, const std::string& message) {
    host_.ConfigError(key, message);
    failed_ = true;
  }

  std::string String(const std::string& key) const { return declared_.Get(key); }

  // Splits a LIST value on ',', trimmed, empty items dropped.
  std::vector<std::string> List(const std::string& key) const { return declared_.GetList(key); }

  // Returns the INT value of `key` within [min, max], or reports it.
  long long Int(const std::string& key, long long min, long long max) {
    const std::string text = String(key);
    const std::optional<long long> parsed = support::ParseInteger(text);
    if (!parsed) {
      Error(key, "\"" + text + "\" is not a whole number");
      return min;
    }
    const long long value = *parsed;
    if (value < min || value > max) {
      Error(key, std::to_string(value) + " is outside " + std::to_string(min) + " to " +
                     std::to_string(max));
      return min;
    }
    return value;
  }

  // Returns the ENUM value of `key`, or reports it when not an allowed value.
  std::string Enum(const std::string& key) {
    const std::string value = String(key);
    if (declared_.IsAllowed(key, value)) return value;
    Error(key, "\"" + value + "\" is not one of " + declared_.AllowedValues(key));
    return value;
  }

  // Parses `key` as a LIST of code=target or system|code=target pairs whose
  // targets are among `targets` (named `kind` in messages).
  template <size_t N>
  std::vector<CodeMapping> Mappings(const std::string& key, const std::array<std::string_view, N>& targets,
                                    const char* kind) {
    std::vector<CodeMapping> mappings;
    for (const std::string& item : List(key)) {
      // Split at the last '=': system URIs may hold '=', our codes never do.
      const size_t equals = item.rfind('=');
      if (equals == std::string::npos) {
        Error(key, "entry \"" + item + "\" is not code=" + kind);
        continue;
      }
      std::string_view source = Trim(std::string_view(item).substr(0, equals));
      const std::string_view target = Trim(std::string_view(item).substr(equals + 1));
      CodeMapping mapping;
      const size_t bar = source.rfind('|');
      if (bar != std::string_view::npos) {
        mapping.system = std::string(Trim(source.substr(0, bar)));
        source = Trim(source.substr(bar + 1));
      }
      mapping.code = std::string(source);
      mapping.target = std::string(target);
      if (mapping.code.empty() || mapping.target.empty()) {
        Error(key, "entry \"" + item + "\" is not code=" + kind);
        continue;
      }
      if (!Contains(targets, mapping.target)) {
        Error(key, "entry \"" + item + "\": \"" + mapping.target + "\" is not a " + kind + " code");
        continue;
      }
      mappings.push_back(std::move(mapping));
    }
    // Later entries override earlier ones for the same source code.
    std::reverse(mappings.begin(), mappings.end());
    return mappings;
  }

 private:
  const support::DeclaredConfig declared_;
  Host& host_;
  bool failed_ = false;
};
}  // namespace

std::unique_ptr<Options> ReadOptions(const Config& config, Host& host) {
  ConfigReader reader(config, host);
  Options options;
  options.local_role_system = reader.String("local_role_system");
  options.local_specialism_system = reader.String("local_specialism_system");
  options.role_map = reader.Mappings("role_map", kRoleCodes, "role");
  options.specialism_map = reader.Mappings("specialism_map", kSpecialismCodes, "specialism");
  options.default_settings = reader.List("default_settings");
  for (const std::string& setting : options.default_settings) {
    if (!Contains(kSettingCodes, setting)) {
      reader.Error("default_settings", "\"" + setting + "\" is not a setting code");
    }
  }
  options.default_min_age = static_cast<int>(reader.Int("default_min_age", 0, kMaxAge));
  options.default_max_age = static_cast<int>(reader.Int("default_max_age", 0, kMaxAge));
  if (options.default_min_age > options.default_max_age) {
    reader.Error("default_max_age", "is below default_min_age");
  }
  options.external_id_system = reader.String("external_id_system");
  options.employer_type = reader.Enum("employer_type");
  options.visibility = reader.Enum("visibility");
  options.delivery_modes = reader.List("delivery_modes");
  if (options.delivery_modes.empty()) {
    reader.Error("delivery_modes", "must name at least one of in_person, remote");
  }
  for (const std::string& mode : options.delivery_modes) {
    if (mode != "in_person" && mode != "remote") {
      reader.Error("delivery_modes", "\"" + mode + "\" is not in_person or remote");
    }
  }
  options.max_input_bytes = static_cast<uint64_t>(reader.Int("max_input_bytes", 1, INT64_MAX));
  if (reader.failed()) return nullptr;
  return std::make_unique<Options>(std::move(options));
}

}  // namespace expertise::plugins::fhir_internal
