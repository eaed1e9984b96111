#ifndef EXPERTISE_SERVICES_IMPORTER_IMPORT_RUN_H_
#define EXPERTISE_SERVICES_IMPORTER_IMPORT_RUN_H_

// One import, end to end: run the plugin in its sandbox, check every record
// it emits, and stream the good ones and the rejects to the registry's
// ImportSpecialists call, which commits all of it (or nothing) at the end.
// The plugin failing in any way aborts the stream, so the registry changes
// nothing and keeps its cursor.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "services/importer/plugin_config.h"
#include "services/importer/plugin_run.h"

namespace expertise::importer {

struct ImportOptions {
  RunOptions run;
  std::string input_path;
  std::string authority;  // GSS code
  std::string source;     // default: the plugin name with '_' as '-'
  ConfigMap config;
  registry::v1::ImportMode mode = registry::v1::IMPORT_MODE_SNAPSHOT;
  registry::v1::RejectPolicy policy;  // FAIL when unset
  std::optional<double> max_withdraw_fraction;
  bool force = false;
  bool dry_run = false;
  std::string import_id;  // derived from the input and options when empty
  absl::Duration rpc_timeout = absl::Minutes(30);
};

struct ImportProgress {
  uint64_t records = 0;
  uint64_t rejects = 0;
  uint64_t row = 0;         // last source row the plugin reported
  uint64_t total_rows = 0;  // lines in the input (0 when unknown)
  absl::Duration elapsed;
};

struct ImportReport {
  RunResult run;
  std::optional<registry::v1::Import> import;  // the registry's answer
  // Rejects found before the registry (plugin and host checks), first 1000.
  std::vector<registry::v1::ImportReject> early_rejects;
  bool already_imported = false;  // the import id was found: nothing ran
  std::string error;              // why there is no registry answer
  absl::Duration elapsed;
  std::string import_id;
  std::deque<std::string> plugin_log;  // the plugin's last structured log lines

  // SUCCEEDED, SUCCEEDED_WITH_REJECTS or FAILED.
  std::string outcome() const;
  bool succeeded() const;
};

// A rough per-line count of the input, for progress and ETA.
uint64_t CountLines(const std::string& path);

// Derives an import id from everything that makes an import what it is
// (authority, source, mode, policy, config, and the input's SHA-256), so
// running the same import again is recognised and changes nothing.
absl::StatusOr<std::string> DeriveImportId(const ImportOptions& options, const std::string& plugin_sha256);

// Runs the import against `stub`'s registry. `on_progress` is called from
// the calling thread now and then (may be empty).
ImportReport RunImport(const ImportOptions& options, registry::v1::RegistryService::StubInterface* stub,
                       const std::function<void(const ImportProgress&)>& on_progress,
                       CancelFlag* cancel = nullptr);

// The region resource name ("regions/north-east") of an authority.
absl::StatusOr<std::string> RegionOfAuthority(const std::string& gss_code);

}  // namespace expertise::importer

#endif  // EXPERTISE_SERVICES_IMPORTER_IMPORT_RUN_H_
