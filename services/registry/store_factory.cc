#include "services/registry/store_factory.h"

#include "absl/strings/str_cat.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/registry/postgres_store.h"
#include "services/registry/sqlite_store.h"

namespace expertise::registry {

absl::Status CheckStoreConfig(const StoreConfig& config) {
  if (config.kind == "sqlite") {
    if (config.sqlite_path.empty()) {
      return absl::InvalidArgumentError("--store sqlite needs --db, the database file");
    }
    if (!config.database_url.empty()) {
      return absl::InvalidArgumentError("--database-url is for --store postgres");
    }
    return absl::OkStatus();
  }
  if (config.kind == "postgres") {
    if (config.database_url.empty()) {
      return absl::InvalidArgumentError(
          "--store postgres needs --database-url (or EXPERTISE_DATABASE_URL), e.g. "
          "postgresql://expertise@db.example:5432/north_east");
    }
    if (!config.sqlite_path.empty()) {
      return absl::InvalidArgumentError("--db is for --store sqlite");
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--store must be sqlite or postgres, not '", config.kind, "'"));
}

absl::StatusOr<std::unique_ptr<SpecialistStore>> OpenStore(const StoreConfig& config) {
  RETURN_IF_ERROR(CheckStoreConfig(config));
  if (config.kind == "sqlite") {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store,
                     SqliteStore::Open(config.sqlite_path, config.migrate));
    return std::unique_ptr<SpecialistStore>(std::move(store));
  }
  PostgresStoreOptions options;
  options.url = config.database_url;
  options.migrate = config.migrate;
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresStore> store, PostgresStore::Open(std::move(options)));
  return std::unique_ptr<SpecialistStore>(std::move(store));
}

absl::StatusOr<MigrationReport> MigrateStore(StoreConfig config) {
  config.migrate = true;
  RETURN_IF_ERROR(CheckStoreConfig(config));
  MigrationReport report;
  if (config.kind == "sqlite") {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store, SqliteStore::Open(config.sqlite_path));
    report.from = store->schema_version_at_open();
    report.to = store->schema_version();
    report.latest = SqliteLatestSchemaVersion();
    return report;
  }
  PostgresStoreOptions options;
  options.url = config.database_url;
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresStore> store, PostgresStore::Open(std::move(options)));
  report.from = store->schema_version_at_open();
  report.to = store->schema_version();
  report.latest = PostgresLatestSchemaVersion();
  return report;
}

std::string DescribeStore(const StoreConfig& config) {
  if (config.kind == "postgres") {
    return absl::StrCat("postgres ", RedactedDatabaseUrl(config.database_url));
  }
  return absl::StrCat(config.kind, " ", config.sqlite_path);
}

}  // namespace expertise::registry
