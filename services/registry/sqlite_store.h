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
  // Opens (creating if needed) the database at `path` and migrates it.
  // Fails with FAILED_PRECONDITION if the file's schema is newer than this
  // binary, or if the file is locked by another registry process.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  absl::Status LoadAll(const std::function<absl::Status(v1::Specialist)>& visit) override;
  absl::Status Commit(const WriteBatch& batch) override;
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

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  absl::Status Exec(const char* sql);
  absl::Status Migrate();
  absl::Status WriteImport(const ImportWrite& write);
  absl::Status WriteSharing(const WriteBatch& batch);

  sqlite3* db_;
  int schema_version_ = 0;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SQLITE_STORE_H_
