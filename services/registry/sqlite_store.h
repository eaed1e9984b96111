#ifndef EXPERTISE_SERVICES_REGISTRY_SQLITE_STORE_H_
#define EXPERTISE_SERVICES_REGISTRY_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/registry/specialist_store.h"

struct sqlite3;

namespace expertise::registry {

// The newest schema version this binary knows.
int SqliteLatestSchemaVersion();

// SpecialistStore on an embedded SQLite database in WAL mode with
// synchronous=FULL, so an acknowledged commit survives kill -9 and power
// loss, and secure_delete, so a deleted specialist's data is overwritten.
// Schema changes are versioned migrations applied in order at Open().
class SqliteStore final : public SpecialistStore {
 public:
  // Opens (creating if needed) the database at `path` and migrates it
  // (unless `migrate` is false: then a schema behind this binary is refused).
  // Fails with FAILED_PRECONDITION if the file's schema is newer than this
  // binary, or if the file is locked by another registry process.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                          bool migrate = true);
  ~SqliteStore() override;

  absl::Status LoadAll(const std::function<absl::Status(v1::Specialist)>& visit) override;
  absl::StatusOr<int64_t> BeginWrite() override;
  absl::StatusOr<int64_t> Commit(const WriteBatch& batch) override;
  void AbortWrite() override;
  absl::StatusOr<int64_t> CurrentRevision() override;
  absl::StatusOr<StoreChanges> ChangesSince(int64_t revision) override;
  // The file is locked for this process: nobody else writes it.
  bool shared() const override { return false; }
  std::string_view kind() const override { return "sqlite"; }
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
  int schema_version() const override { return schema_version_; }
  // The schema version found at Open(), before any migration.
  int schema_version_at_open() const { return schema_version_at_open_; }

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  absl::Status Exec(const char* sql);
  absl::Status Migrate(bool migrate);
  absl::Status WriteImport(const ImportWrite& write, int64_t revision);
  absl::Status WriteSharing(const WriteBatch& batch, int64_t revision);
  absl::StatusOr<int64_t> ReadRevision();

  sqlite3* db_;
  int schema_version_ = 0;
  int schema_version_at_open_ = 0;
  bool in_write_ = false;  // between BeginWrite and Commit/AbortWrite
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SQLITE_STORE_H_
