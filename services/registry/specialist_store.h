#ifndef EXPERTISE_SERVICES_REGISTRY_SPECIALIST_STORE_H_
#define EXPERTISE_SERVICES_REGISTRY_SPECIALIST_STORE_H_

// The durable store behind a registry: a narrow interface so SQLite (the
// embedded default) and PostgreSQL can sit behind the same domain logic.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "expertise/registry/v1/sharing.pb.h"

namespace expertise::registry {

// The record of an import, stored in the same transaction as its changes.
struct ImportWrite {
  std::string id;  // the import id
  const v1::Import* import = nullptr;
  const std::vector<v1::ImportReject>* rejects = nullptr;  // stored in order
  // Incremental imports: the cursor saved for (authority, source).
  const v1::ImportCursor* cursor = nullptr;
  std::string cursor_authority, cursor_source;
};

// Totals of one day for one role ("" for all roles): the daily capacity
// snapshot behind equity trends.
struct CapacitySnapshotRow {
  int32_t day = 0;  // days since 1970-01-01
  std::string role;
  int32_t specialists = 0;
  double contracted_hours = 0;
  double available_hours = 0;
};

// One atomic change: every put and delete is applied, or none.
struct WriteBatch {
  // Full records to insert or replace, keyed by the id in their name.
  std::vector<const v1::Specialist*> puts;
  // Ids of records to delete, with all their data.
  std::vector<std::string> deletes;
  // Set for imports.
  std::optional<ImportWrite> import;
  // Support requests to insert or replace, keyed by the id in their name.
  std::vector<const v1::SupportRequest*> support_requests;
  // Daily snapshot rows to insert or replace, keyed by (day, role).
  std::vector<CapacitySnapshotRow> snapshots;

  bool empty() const {
    return puts.empty() && deletes.empty() && !import && support_requests.empty() &&
           snapshots.empty();
  }
};

// Implementations are not thread-safe: the Registry serialises writers and
// loads once at start-up.
class SpecialistStore {
 public:
  virtual ~SpecialistStore() = default;

  // Calls `visit` with every stored record. Stops at the first error.
  virtual absl::Status LoadAll(const std::function<absl::Status(v1::Specialist)>& visit) = 0;

  // Applies `batch` atomically and durably: when this returns OK the change
  // survives a crash or power loss.
  virtual absl::Status Commit(const WriteBatch& batch) = 0;

  // The stored import with this id, or nullopt.
  virtual absl::StatusOr<std::optional<v1::Import>> GetImport(const std::string& id) = 0;

  // Up to `limit` rejects of an import from position `offset` (0-based).
  virtual absl::StatusOr<std::vector<v1::ImportReject>> ListImportRejects(const std::string& id,
                                                                          int64_t offset,
                                                                          int limit) = 0;

  // The saved cursor of (authority, source), or nullopt.
  virtual absl::StatusOr<std::optional<v1::ImportCursor>> GetImportCursor(
      const std::string& authority, const std::string& source) = 0;

  // The most recently stored import that changed (or could have changed)
  // records: not FAILED, not validate-only. nullopt if there is none.
  virtual absl::StatusOr<std::optional<v1::Import>> LatestAppliedImport() = 0;

  // Calls `visit` with every stored support request. Stops at the first error.
  virtual absl::Status LoadSupportRequests(
      const std::function<absl::Status(v1::SupportRequest)>& visit) = 0;

  // Snapshot rows from `from_day` on, by day then role.
  virtual absl::StatusOr<std::vector<CapacitySnapshotRow>> ListCapacitySnapshots(
      int32_t from_day) = 0;

  // Returns the schema version the store is at.
  virtual int schema_version() const = 0;
};

// Returns the id part of `regions/{region}/specialists/{id}`.
std::string SpecialistIdFromName(const std::string& name);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SPECIALIST_STORE_H_
