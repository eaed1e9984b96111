#ifndef EXPERTISE_SERVICES_IMPORTER_PLUGIN_CATALOG_H_
#define EXPERTISE_SERVICES_IMPORTER_PLUGIN_CATALOG_H_

// Finding plugin files and the runner, and checking a plugin file is safe
// to run (after osquery: refuse files others can write, and say which
// check failed).

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace expertise::importer {

struct PluginFile {
  std::string name;  // from expertise_importer_<name>.so
  std::string path;
};

// Plugin folders: $EXPERTISE_IMPORTER_PATH (':'-separated; "disable" turns
// plugins off), else the installed folder next to the binary and the build
// tree's folder.
std::vector<std::string> DefaultPluginDirs();

// Plugin files in `dirs`, sorted by name (first folder wins a tie), never in
// readdir order.
std::vector<PluginFile> ListPluginFiles(const std::vector<std::string>& dirs);

// A name ("csv") is looked up in `dirs`; anything with a '/' is a path.
absl::StatusOr<std::string> ResolvePlugin(const std::string& name_or_path,
                                          const std::vector<std::string>& dirs);

// Regular file, owned by root or by us, not writable by group or others.
absl::Status CheckPluginFileSafety(const std::string& path);

// Hex SHA-256 of a file.
absl::StatusOr<std::string> Sha256File(const std::string& path);

// The runner binary: $EXPERTISE_PLUGIN_RUNNER, next to this binary, the
// installed libexec folder, or the build tree's.
std::string DefaultRunnerPath();

}  // namespace expertise::importer

#endif  // EXPERTISE_SERVICES_IMPORTER_PLUGIN_CATALOG_H_
