#ifndef EXPERTISE_SERVICES_IMPORTER_PLUGIN_LOADER_H_
#define EXPERTISE_SERVICES_IMPORTER_PLUGIN_LOADER_H_

// Loads one plugin .so and checks its info block field by field (after
// PostgreSQL's PG_MODULE_MAGIC), so every mismatch gets a message that says
// what to rebuild or upgrade. Runs inside the sandboxed runner, or in the
// host itself only in --in-process debugging mode.

#include <string>

#include "absl/status/statusor.h"
#include "expertise/importer/v1/runner.pb.h"
#include "expertise/importer_abi.h"

namespace expertise::importer {

// A loaded plugin. Never unloaded: one plugin per process, one process per
// run, so there is no dlclose() and no stale code.
struct LoadedPlugin {
  void* handle = nullptr;
  const expertise_plugin_info* info = nullptr;
  const expertise_plugin_spec* spec = nullptr;
  std::string path;
};

// dlopen(RTLD_NOW | RTLD_LOCAL) and validate. FAILED_PRECONDITION with an
// actionable message for version mismatches; INVALID_ARGUMENT for a
// malformed info block.
absl::StatusOr<LoadedPlugin> LoadPlugin(const std::string& path);

// Checks an info block (separate from loading, for tests and fuzzing).
absl::Status ValidateInfo(const expertise_plugin_info* info, const std::string& path);

// The info block and spec as a protocol message.
v1::PluginDescription Describe(const LoadedPlugin& plugin);

// "string", "int", ... for expertise_config_type; "" if unknown.
const char* ConfigTypeName(uint32_t type);

}  // namespace expertise::importer

#endif  // EXPERTISE_SERVICES_IMPORTER_PLUGIN_LOADER_H_
