#ifndef EXPERTISE_SERVICES_IMPORTER_PLUGIN_CONFIG_H_
#define EXPERTISE_SERVICES_IMPORTER_PLUGIN_CONFIG_H_

// Plugin configuration: read from a JSON file and checked against the keys
// the plugin declares (types, required keys, enum values) before the plugin
// sees it. Unknown keys are refused: a typo must not pass silently.

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "expertise/importer/v1/runner.pb.h"
#include "services/common/errors.h"

namespace expertise::importer {

using ConfigMap = std::map<std::string, std::string>;

// Reads a JSON object of key -> value. Values may be strings, numbers,
// booleans, arrays of strings (joined with ',') or objects of strings
// (joined as "k=v,k=v"). INVALID_ARGUMENT names the bad key.
absl::StatusOr<ConfigMap> LoadConfigFile(const std::string& path);
absl::StatusOr<ConfigMap> ParseConfigJson(const std::string& text, const std::string& origin);

// Checks `given` against the declared keys, adding each problem as a
// violation on "config.<key>", and returns the config the plugin gets:
// given values plus defaults.
ConfigMap ResolveConfig(const v1::PluginDescription& plugin, const ConfigMap& given,
                        FieldViolations* violations);

// A copy for display with secret values masked.
ConfigMap MaskSecrets(const v1::PluginDescription& plugin, const ConfigMap& config);

}  // namespace expertise::importer

#endif  // EXPERTISE_SERVICES_IMPORTER_PLUGIN_CONFIG_H_
