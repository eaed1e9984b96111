#ifndef EXPERTISE_SERVICES_REGISTRY_POSTGRES_STORE_H_
#define EXPERTISE_SERVICES_REGISTRY_POSTGRES_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/registry/database_url.h"
#include "services/registry/specialist_store.h"

namespace expertise::registry {

// The newest PostgreSQL schema version this binary knows.
int PostgresLatestSchemaVersion();

struct PostgresStoreOptions {
  // A libpq connection URI or key=value string. Passwords belong in
  // PGPASSWORD or a PGPASSFILE, not here.
  std::string url;
  // Apply missing schema migrations at Open(); otherwise a database behind
  // this binary is refused (run `expertise-registry migrate`).
  bool migrate = true;
  // Longest wait for another writer's lock before UNAVAILABLE.
  absl::Duration lock_timeout = absl::Seconds(30);
  // Attempts of one commit after serialisation failures and lost
  // connections, with exponential back-off from `retry_backoff`.
  int max_commit_attempts = 5;
  absl::Duration retry_backoff = absl::Milliseconds(20);
};

// SpecialistStore on PostgreSQL 15 (and PostgreSQL-compatible databases)
// through libpqxx. Several registries of one region share one database:
// each write holds a row lock on store_state (so writers of every replica
// take turns and check their decisions against the latest data), bumps the
// revision and records a commit id; readers catch up with ChangesSince.
//
// Failures: a dropped connection or a serialisation failure before COMMIT
// is retried in a new transaction when the revision shows nobody else wrote
// meanwhile (ABORTED otherwise); a connection lost during COMMIT leaves the
// outcome unknown, so the commit id is looked up before anything is retried.
class PostgresStore final : public SpecialistStore {
 public:
  // Connects and checks (or migrates) the schema. UNAVAILABLE when the
  // server cannot be reached, FAILED_PRECONDITION when the schema is newer
  // than this binary or behind it and `migrate` is off.
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(PostgresStoreOptions options);
  ~PostgresStore() override;

  absl::Status LoadAll(const std::function<absl::Status(v1::Specialist)>& visit) override;
  absl::StatusOr<int64_t> BeginWrite() override;
  absl::StatusOr<int64_t> Commit(const WriteBatch& batch) override;
  void AbortWrite() override;
  absl::StatusOr<int64_t> CurrentRevision() override;
  absl::StatusOr<StoreChanges> ChangesSince(int64_t revision) override;
  bool shared() const override { return true; }
  std::string_view kind() const override { return "postgres"; }
  absl::StatusOr<std::optional<v1::Import>> GetImport(const std::string& id) override;
  absl::StatusOr<std::optional<v1::Import>> LatestAppliedImport() override;
  absl::StatusOr<std::vector<v1::ImportReject>> ListImportRejects(const std::string& id,
                                                                  int64_t offset,
                                                                  int limit) override;
  absl::StatusOr<std::optional<v1::ImportCursor>> GetImportCursor(
      const std::string& authority, const std::string& source) override;
  absl::Status LoadSupportRequests(
      const std::function<absl::Status(v1::SupportRequest)>& visit) override;
  absl::StatusOr<std::vector<CapacitySnapshotRow>> ListCapacitySnapshots(int32_t from_day) override;
  int schema_version() const override;

  // The schema version found at Open(), before any migration.
  int schema_version_at_open() const;
  // Commits that needed more than one attempt, and commits whose outcome
  // was looked up after a connection was lost during COMMIT.
  int64_t retried_commits() const;
  int64_t in_doubt_commits() const;

 private:
  class Impl;
  explicit PostgresStore(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_POSTGRES_STORE_H_
