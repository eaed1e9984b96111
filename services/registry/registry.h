#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_H_

// The regional registry's domain logic: validation, durable writes through a
// SpecialistStore, and reads and searches from the in-memory index. Knows
// nothing of gRPC: the service adapter only translates statuses.
//
// A Registry owns the shared state (RegistryCore: store, index, locks, the
// write protocol) and the parts that work on it, one per responsibility:
//   specialists()       specialist_records.h   get, list, create, update, delete, batch upsert
//   queries()           registry_queries.h     search, capacity summary, reference, region status
//   imports()           registry_imports.h     import streams, imports, rejects, cursors
//   support_requests()  support_requests.h     support requests and provider suggestions
//   offers()            offer_lifecycle.h      offer, accept, decline, withdraw, complete, escalate
//   commitments()       capacity_commitments.h commitments of hours on specialists
//   reports()           sharing_reports.h      unmet need and equity reports
//   Sweep()             registry_sweep.h       clock-driven changes and the daily snapshot
//   WatchCapacity()     registry_watch.h       the live capacity watch

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/reference/reference_data.h"
#include "services/registry/capacity_commitments.h"
#include "services/registry/offer_lifecycle.h"
#include "services/registry/record_rules.h"
#include "services/registry/registry_core.h"
#include "services/registry/registry_imports.h"
#include "services/registry/registry_options.h"
#include "services/registry/registry_queries.h"
#include "services/registry/registry_sweep.h"
#include "services/registry/registry_watch.h"
#include "services/registry/sharing_reports.h"
#include "services/registry/specialist_records.h"
#include "services/registry/specialist_store.h"
#include "services/registry/support_requests.h"
#include "services/watch/capacity_watch.h"

namespace expertise::registry {

// Thread-safe. Reads run concurrently; writes are serialised, committed to
// the store first and only then made visible, so a reader never sees a
// change that is not durable. The parts live as long as the registry.
class Registry {
 public:
  // One whole import stream, gathered by the adapter.
  using ImportStream = registry::ImportStream;

  // Loads every record from `store` and returns a ready registry.
  static absl::StatusOr<std::unique_ptr<Registry>> Open(RegistryOptions options,
                                                        std::unique_ptr<SpecialistStore> store);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  SpecialistRecords& specialists() { return specialists_; }
  RegistryQueries& queries() { return queries_; }
  RegistryImports& imports() { return imports_; }
  // Capacity sharing. Support requests live in the requesting authority's
  // region; commitments on the provider's specialist.
  // `access.CheckWrite(authority)` decides who may act for an authority.
  SupportRequests& support_requests() { return support_requests_; }
  OfferLifecycle& offers() { return offers_; }
  CapacityCommitments& commitments() { return commitments_; }
  SharingReports& reports() { return reports_; }

  // Moves requests and commitments on with the clock: OPEN past its match
  // deadline -> UNMET, OFFERED with offers unanswered past the response
  // window -> EXPIRED, ACCEPTED on its start date -> ACTIVE, commitments past
  // their end -> COMPLETED; takes the day's capacity snapshot if missing.
  // The server calls it every minute; tests call it after moving the clock.
  // Returns how many records changed.
  // `before_commit`, when given, is called with the names of the requests
  // and specialists about to change (for the audit trail); if it fails,
  // nothing is changed.
  absl::StatusOr<int> Sweep(const BeforeSweepCommit& before_commit = nullptr);

  // Capacity watch: registers a watcher and, when it needs one, gives it a
  // consistent snapshot of the matching records the caller may see.
  absl::StatusOr<std::shared_ptr<watch::Watcher>> WatchCapacity(
      const v1::WatchCapacityRequest& request, const CallAccess& access,
      std::function<void()> on_ready);

  // Picks up writes other registries made to a shared store (PostgreSQL
  // replicas of this region): the server calls it every few hundred
  // milliseconds; a write catches up by itself first. Cheap when nothing
  // changed (one query). No-op for a store nobody else writes.
  absl::Status Refresh();

  const RegionInfo& region() const { return core_->rules().region(); }
  size_t size() const;
  // The store revision this registry's in-memory view reflects.
  int64_t applied_revision() const;

 private:
  explicit Registry(std::unique_ptr<RegistryCore> core);

  // Declared first: every part below refers to it.
  const std::unique_ptr<RegistryCore> core_;
  SpecialistRecords specialists_;
  RegistryQueries queries_;
  RegistryImports imports_;
  SupportRequests support_requests_;  // after queries_, which it uses
  OfferLifecycle offers_;             // after support_requests_, which it uses
  CapacityCommitments commitments_;
  SharingReports reports_;
  Sweeper sweeper_;
  CapacityWatch watch_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_H_
