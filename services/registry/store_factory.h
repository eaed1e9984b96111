#ifndef EXPERTISE_SERVICES_REGISTRY_STORE_FACTORY_H_
#define EXPERTISE_SERVICES_REGISTRY_STORE_FACTORY_H_

// Chooses and opens a registry's store from its configuration: what
// `expertise-registry` and `expertise-registry migrate` share.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/registry/specialist_store.h"

namespace expertise::registry {

struct StoreConfig {
  // "sqlite" (embedded, one process per database) or "postgres" (shared by
  // the replicas of a region).
  std::string kind = "sqlite";
  // SQLite: the database file.
  std::string sqlite_path;
  // PostgreSQL: a libpq URI or key=value string (password from PGPASSWORD
  // or PGPASSFILE).
  std::string database_url;
  // Apply missing schema migrations when opening.
  bool migrate = true;
};

// INVALID_ARGUMENT naming the missing or contradictory setting, or OK.
absl::Status CheckStoreConfig(const StoreConfig& config);

absl::StatusOr<std::unique_ptr<SpecialistStore>> OpenStore(const StoreConfig& config);

struct MigrationReport {
  int from = 0;    // schema version found
  int to = 0;      // schema version now
  int latest = 0;  // newest this binary knows
};

// Opens the store with migrations on and reports what was applied.
absl::StatusOr<MigrationReport> MigrateStore(StoreConfig config);

// A store's description for logs: kind and file or database, no password.
std::string DescribeStore(const StoreConfig& config);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_STORE_FACTORY_H_
