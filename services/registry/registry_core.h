#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_CORE_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_CORE_H_

// The state every part of a registry shares: the store, the in-memory index
// and support requests, the revision they reflect, the watch hub, the two
// locks that guard them, and the write protocol (WriteScope, commit, then
// publish). The parts (specialist_records, registry_imports, sharing, ...)
// reach this state only through the accessors below, whose lock annotations
// say which lock each needs.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "expertise/registry/v1/sharing_service.pb.h"
#include "services/common/mutex.h"
#include "services/registry/record_rules.h"
#include "services/registry/registry_options.h"
#include "services/registry/specialist_index.h"
#include "services/registry/specialist_store.h"
#include "services/watch/capacity_watch.h"

namespace expertise::registry {

// Support requests by id.
using SupportRequestMap = absl::btree_map<std::string, std::shared_ptr<const v1::SupportRequest>>;

// How one incoming record is stored by its (owning_authority, source,
// external_id) key: as a new specialist, as a change to the one holding the
// key, or not at all when its content is already stored.
struct Upsert {
  enum class Outcome { kCreated, kUpdated, kUnchanged };
  Outcome outcome = Outcome::kUnchanged;
  // What to write, named, normalised and stamped; null when unchanged.
  std::shared_ptr<v1::Specialist> record;
  // The stored record holding the key, if any.
  SpecialistPtr existing;
};

// Thread-safe. Reads run concurrently; writes are serialised, committed to
// the store first and only then made visible, so a reader never sees a
// change that is not durable.
class RegistryCore {
 public:
  // Loads every record from `store` and returns a ready core.
  static absl::StatusOr<std::unique_ptr<RegistryCore>> Open(RegistryOptions options,
                                                            std::unique_ptr<SpecialistStore> store);

  // One write: holds write_mu_ and the store's write lock (writers in other
  // processes sharing the store wait), with this registry's view caught up
  // to the store first, so checks made under it see every committed change.
  // Whatever is not committed when it ends is rolled back.
  class ABSL_SCOPED_LOCKABLE WriteScope {
   public:
    explicit WriteScope(RegistryCore* core) ABSL_EXCLUSIVE_LOCK_FUNCTION(core->write_mu_);
    ~WriteScope() ABSL_UNLOCK_FUNCTION();
    WriteScope(const WriteScope&) = delete;
    WriteScope& operator=(const WriteScope&) = delete;
    // Why the write could not begin (the database is unreachable, say); the
    // caller returns it and changes nothing.
    const absl::Status& status() const { return status_; }

   private:
    RegistryCore* core_;
    absl::Status status_;
  };

  const RecordRules& rules() const { return rules_; }

  // Lock order: write_mu() before mu(). Writers hold write_mu() across the
  // store commit, and mu() only to publish, so readers never wait on disk.
  Mutex& write_mu() ABSL_LOCK_RETURNED(write_mu_) { return write_mu_; }
  Mutex& mu() const ABSL_LOCK_RETURNED(mu_) { return mu_; }

  // The store is not thread-safe: every use holds write_mu().
  SpecialistStore& store() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) { return *store_; }
  const SpecialistIndex& index() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return index_; }
  const SupportRequestMap& support_requests() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return support_requests_;
  }
  // The latest import that was applied (for the region status).
  const std::optional<v1::Import>& last_applied_import() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return last_applied_import_;
  }
  // Thread-safe itself; published to while mu() is held exclusively, so a
  // watcher's snapshot (taken under mu()) and its live changes never overlap.
  watch::CapacityWatchHub& watch_hub() { return watch_hub_; }

  // Takes the store's write lock and catches up; on error nothing is held
  // but write_mu(). WriteScope calls it; a second write in one scope too.
  absl::Status BeginWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Commits `batch` and records the revision reached.
  absl::Status CommitLocked(const WriteBatch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Commits `records` and `deletes` (and an import's record, and support
  // requests), then publishes them to the index and the watch hub.
  absl::Status CommitAndPublish(std::vector<std::shared_ptr<v1::Specialist>> records,
                                std::vector<std::string> deletes,
                                std::optional<ImportWrite> import = std::nullopt,
                                std::vector<std::shared_ptr<v1::SupportRequest>> requests = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Prepares storing the valid record `incoming` by its key (the one upsert
  // of batch upserts and imports). A new specialist gets an id unused by the
  // index and by `new_ids`, which it is added to. Writes nothing.
  Upsert PrepareUpsert(const v1::Specialist& incoming, absl::Time now,
                       std::set<std::string>* new_ids) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Picks up writes other registries made to a shared store (see
  // Registry::Refresh).
  absl::Status Refresh();
  size_t size() const;
  // The store revision this registry's in-memory view reflects.
  int64_t applied_revision() const;

 private:
  RegistryCore(const RegionInfo& region, RegistryOptions options,
               std::unique_ptr<SpecialistStore> store);

  // Reads every record and support request of the store into memory.
  absl::Status LoadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // FAILED_PRECONDITION for a stored record this registry cannot serve.
  absl::Status CheckStored(const v1::Specialist& s) const;
  absl::StatusOr<std::string> StoredRequestId(const v1::SupportRequest& r) const;
  // Applies the store's changes after applied_revision_ to the in-memory view.
  absl::Status CatchUpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Publishes capacity changes of committed records to the watch hub.
  void PublishCapacity(const v1::Specialist* before, const v1::Specialist* after, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RecordRules rules_;

  Mutex write_mu_;
  std::unique_ptr<SpecialistStore> store_ ABSL_GUARDED_BY(write_mu_);
  mutable Mutex mu_;
  SpecialistIndex index_ ABSL_GUARDED_BY(mu_);
  std::optional<v1::Import> last_applied_import_ ABSL_GUARDED_BY(mu_);
  SupportRequestMap support_requests_ ABSL_GUARDED_BY(mu_);
  // The store revision the index and support_requests_ reflect.
  int64_t applied_revision_ ABSL_GUARDED_BY(write_mu_) = 0;
  // A copy of applied_revision_ for lock-free status reads.
  std::atomic<int64_t> applied_revision_copy_{0};
  watch::CapacityWatchHub watch_hub_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_CORE_H_
