#ifndef EXPERTISE_SERVICES_REGISTRY_SPECIALIST_STORE_H_
#define EXPERTISE_SERVICES_REGISTRY_SPECIALIST_STORE_H_

// The durable store behind a registry: a narrow interface so SQLite (the
// embedded default) and PostgreSQL can sit behind the same domain logic.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
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
  // Ids of records to delete, with all their data. Puts are applied before
  // deletes: a batch must not name one id in both.
  std::vector<std::string> deletes;
  // Set for imports.
  std::optional<ImportWrite> import;
  // Support requests to insert or replace, keyed by the id in their name.
  std::vector<const v1::SupportRequest*> support_requests;
  // Daily snapshot rows to insert, keyed by (day, role): the first row of a
  // day is kept (replicas and restarts each take the day's snapshot once).
  std::vector<CapacitySnapshotRow> snapshots;

  bool empty() const {
    return puts.empty() && deletes.empty() && !import && support_requests.empty() &&
           snapshots.empty();
  }
};

// What changed in a store after a given revision: how a registry catches up
// with writes made by other registries sharing the database (replicas).
struct StoreChanges {
  // The revision these changes bring the reader to.
  int64_t revision = 0;
  // Records inserted or replaced, in full.
  std::vector<v1::Specialist> specialists;
  // Ids of records deleted. Apply these before `specialists`: a record
  // deleted and then created again with the same id is in both.
  std::vector<std::string> deleted_specialists;
  // Support requests inserted or replaced, in full.
  std::vector<v1::SupportRequest> support_requests;
  // Set when an import that changed records was stored.
  std::optional<v1::Import> latest_applied_import;
};

// Every committed change gets the next revision number (1, 2, ...), so
// registries sharing a database can tell whether they are up to date.
//
// Writes: BeginWrite takes the store's write lock, which other writers
// (other processes sharing the database included) wait for, and returns the
// revision of the data as of then. The caller reads what it needs
// (ChangesSince), decides, and ends the write with Commit or AbortWrite.
// Commit without BeginWrite begins one itself.
//
// Implementations are not thread-safe: the Registry serialises callers.
class SpecialistStore {
 public:
  virtual ~SpecialistStore() = default;

  // Calls `visit` with every stored record. Stops at the first error.
  virtual absl::Status LoadAll(const std::function<absl::Status(v1::Specialist)>& visit) = 0;

  // Takes the write lock and returns the current revision. UNAVAILABLE if
  // the database cannot be reached.
  virtual absl::StatusOr<int64_t> BeginWrite() = 0;

  // Applies `batch` atomically and durably, ends the write and returns the
  // new revision (the same one for an empty batch): when this returns OK the
  // change survives a crash or power loss. A lost connection or a
  // serialisation failure is retried when nothing else was written
  // meanwhile (a commit whose outcome was unknown is looked up first, so it
  // is never applied twice); otherwise ABORTED, and nothing is changed.
  virtual absl::StatusOr<int64_t> Commit(const WriteBatch& batch) = 0;

  // Ends a write begun with BeginWrite without changing anything. No-op
  // when none is open.
  virtual void AbortWrite() = 0;

  // The latest committed revision, without locking.
  virtual absl::StatusOr<int64_t> CurrentRevision() = 0;

  // Everything committed after `revision`, read consistently (inside the
  // open write when there is one).
  virtual absl::StatusOr<StoreChanges> ChangesSince(int64_t revision) = 0;

  // True when other processes may write the same data (PostgreSQL
  // replicas), so a registry must look for their changes.
  virtual bool shared() const = 0;

  // "sqlite" or "postgres": for logs and metrics.
  virtual std::string_view kind() const = 0;

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

// Whether an import record changed (or could have changed) records: the
// imports a registry's status reports as the latest.
bool IsAppliedImport(const v1::Import& import);

// Returns the id part of `regions/{region}/specialists/{id}`.
std::string SpecialistIdFromName(const std::string& name);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SPECIALIST_STORE_H_
