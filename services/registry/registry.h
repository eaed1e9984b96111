#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_H_

// The regional registry's domain logic: validation, durable writes through a
// SpecialistStore, and reads and searches from the in-memory index. Knows
// nothing of gRPC: the service adapter only translates statuses.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "expertise/registry/v1/sharing_service.pb.h"
#include "absl/container/btree_map.h"
#include "services/common/clock.h"
#include "services/common/mutex.h"
#include "services/common/reference/reference_data.h"
#include "services/registry/resource_model.h"
#include "services/registry/specialist_index.h"
#include "services/registry/specialist_store.h"
#include "services/watch/capacity_watch.h"

namespace expertise::registry {

struct RegistryOptions {
  // Region served: ONS code ("E12000001") or id ("north-east").
  std::string region;
  // Time source; RealClock() when null. Not owned.
  Clock* clock = nullptr;
  // Makes ids for new specialists ("s-" + 16 hex digits by default). Called
  // with the write lock held, so it need not be thread-safe.
  std::function<std::string()> id_generator;
  int default_page_size = 50;
  int max_page_size = 1000;
  int max_batch_size = 1000;
  // Offers not answered within this time expire.
  absl::Duration offer_response_window = absl::Hours(24 * 14);
  // Largest import, in records plus client rejects.
  int max_import_records = 200000;
  // Rejects kept per import (all are counted).
  int max_stored_rejects = 10000;
};

// What one call may see and change: the object-level half of the access
// policy (services/security/access_policy.h), applied here so the check and
// the change happen under the same lock. The default allows everything: for
// tools and domain tests; the service adapter always sets both.
struct CallAccess {
  // Records the caller may read; others behave as if they did not exist.
  std::optional<security::ReadScope> read;
  // Whether the caller may create, change, delete or import records owned
  // by an authority (GSS code); PERMISSION_DENIED saying why, or OK.
  std::function<absl::Status(absl::string_view owning_authority)> may_write;
  // The call came through a trusted forwarder (the directory), which has
  // done the cross-region half of a capacity-sharing step first.
  bool forwarded = false;

  bool CanSee(const v1::Specialist& record) const {
    return !read || read->Allows(record.owning_authority(), record.visibility());
  }
  absl::Status CheckWrite(absl::string_view owning_authority) const {
    return may_write ? may_write(owning_authority) : absl::OkStatus();
  }
};

// Thread-safe. Reads run concurrently; writes are serialised, committed to
// the store first and only then made visible, so a reader never sees a
// change that is not durable.
class Registry {
 public:
  // Loads every record from `store` and returns a ready registry.
  static absl::StatusOr<std::unique_ptr<Registry>> Open(RegistryOptions options,
                                                        std::unique_ptr<SpecialistStore> store);

  absl::StatusOr<v1::Specialist> GetSpecialist(const v1::GetSpecialistRequest& request,
                                              const CallAccess& access = {}) const;
  absl::StatusOr<v1::ListSpecialistsResponse> ListSpecialists(
      const v1::ListSpecialistsRequest& request, const CallAccess& access = {}) const;
  absl::StatusOr<v1::SearchSpecialistsResponse> SearchSpecialists(
      const v1::SearchSpecialistsRequest& request, const CallAccess& access = {}) const;
  absl::StatusOr<v1::Specialist> CreateSpecialist(const v1::CreateSpecialistRequest& request,
                                                 const CallAccess& access = {});
  absl::StatusOr<v1::Specialist> UpdateSpecialist(const v1::UpdateSpecialistRequest& request,
                                                 const CallAccess& access = {});
  absl::Status DeleteSpecialist(const v1::DeleteSpecialistRequest& request,
                                const CallAccess& access = {});
  absl::StatusOr<v1::Specialist> UpdateCapacity(const v1::UpdateCapacityRequest& request,
                                               const CallAccess& access = {});
  absl::StatusOr<v1::BatchUpsertSpecialistsResponse> BatchUpsertSpecialists(
      const v1::BatchUpsertSpecialistsRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::CapacitySummary> GetCapacitySummary(
      const v1::GetCapacitySummaryRequest& request) const;
  v1::ListTaxonomyTermsResponse ListTaxonomyTerms(const v1::ListTaxonomyTermsRequest& request) const;
  absl::StatusOr<v1::ListLocalAuthoritiesResponse> ListLocalAuthorities(
      const v1::ListLocalAuthoritiesRequest& request) const;
  v1::ListRegionsResponse ListRegions() const;

  // One whole import stream, gathered by the adapter (registry_import.cc).
  struct ImportStream {
    v1::ImportHeader header;
    std::vector<v1::ImportedRecord> records;
    std::vector<v1::ImportReject> rejects;  // found by the client
    v1::ImportEnd end;
  };
  absl::StatusOr<v1::Import> ImportSpecialists(ImportStream stream, const CallAccess& access = {});
  absl::StatusOr<v1::Import> GetImport(const v1::GetImportRequest& request,
                                       const CallAccess& access = {});
  absl::StatusOr<v1::ListImportRejectsResponse> ListImportRejects(
      const v1::ListImportRejectsRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::ImportCursor> GetImportCursor(const v1::GetImportCursorRequest& request,
                                                   const CallAccess& access = {});

  // Health is the adapter's business; this fills counts and freshness.
  absl::StatusOr<v1::RegionStatus> GetRegionStatus(const v1::GetRegionStatusRequest& request) const;
  // This registry's status (state SERVING), as GetRegionStatus.
  v1::RegionStatus RegionStatusNow() const;

  // Capacity sharing (registry_sharing.cc). Support requests live in the
  // requesting authority's region; commitments on the provider's specialist.
  // `access.CheckWrite(authority)` decides who may act for an authority.
  absl::StatusOr<v1::SupportRequest> CreateSupportRequest(
      const v1::CreateSupportRequestRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::SupportRequest> GetSupportRequest(
      const v1::GetSupportRequestRequest& request) const;
  absl::StatusOr<v1::ListSupportRequestsResponse> ListSupportRequests(
      const v1::ListSupportRequestsRequest& request) const;
  absl::StatusOr<v1::SuggestProvidersResponse> SuggestProviders(
      const v1::SuggestProvidersRequest& request, const CallAccess& access = {}) const;
  absl::StatusOr<v1::SupportRequest> OfferSupport(const v1::OfferSupportRequest& request,
                                                  const CallAccess& access = {});
  absl::StatusOr<v1::SupportRequest> AcceptOffer(const v1::AcceptOfferRequest& request,
                                                 const CallAccess& access = {});
  absl::StatusOr<v1::SupportRequest> DeclineOffers(const v1::DeclineOffersRequest& request,
                                                   const CallAccess& access = {});
  absl::StatusOr<v1::SupportRequest> WithdrawSupportRequest(
      const v1::WithdrawSupportRequestRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::SupportRequest> CompleteSupportRequest(
      const v1::CompleteSupportRequestRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::SupportRequest> EscalateSupportRequest(
      const v1::EscalateSupportRequestRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::CapacityCommitment> CreateCapacityCommitment(
      const v1::CreateCapacityCommitmentRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::CapacityCommitment> ConfirmCapacityCommitment(
      const v1::ConfirmCapacityCommitmentRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::CapacityCommitment> ReleaseCapacityCommitment(
      const v1::ReleaseCapacityCommitmentRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::UnmetNeedReport> GetUnmetNeedReport(
      const v1::GetUnmetNeedReportRequest& request) const;
  absl::StatusOr<v1::EquityReport> GetEquityReport(const v1::GetEquityReportRequest& request);

  // Moves requests and commitments on with the clock: OPEN past its match
  // deadline -> UNMET, OFFERED with offers unanswered past the response
  // window -> EXPIRED, ACCEPTED on its start date -> ACTIVE, commitments past
  // their end -> COMPLETED; takes the day's capacity snapshot if missing.
  // The server calls it every minute; tests call it after moving the clock.
  // Returns how many records changed.
  // `before_commit`, when given, is called with the names of the requests
  // and specialists about to change (for the audit trail); if it fails,
  // nothing is changed.
  absl::StatusOr<int> Sweep(
      const std::function<absl::Status(const std::vector<std::string>& resources)>& before_commit =
          nullptr);

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

  const RegionInfo& region() const { return region_; }
  size_t size() const;
  // The store revision this registry's in-memory view reflects.
  int64_t applied_revision() const;

 private:
  Registry(const RegionInfo& region, RegistryOptions options,
           std::unique_ptr<SpecialistStore> store);

  // One write: holds write_mu_ and the store's write lock (writers in other
  // processes sharing the store wait), with this registry's view caught up
  // to the store first, so checks made under it see every committed change.
  // Whatever is not committed when it ends is rolled back.
  class ABSL_SCOPED_LOCKABLE WriteScope {
   public:
    explicit WriteScope(Registry* registry) ABSL_EXCLUSIVE_LOCK_FUNCTION(registry->write_mu_);
    ~WriteScope() ABSL_UNLOCK_FUNCTION();
    WriteScope(const WriteScope&) = delete;
    WriteScope& operator=(const WriteScope&) = delete;
    // Why the write could not begin (the database is unreachable, say); the
    // caller returns it and changes nothing.
    const absl::Status& status() const { return status_; }

   private:
    Registry* registry_;
    absl::Status status_;
  };
  // Reads every record and support request of the store into memory.
  absl::Status LoadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // FAILED_PRECONDITION for a stored record this registry cannot serve.
  absl::Status CheckStored(const v1::Specialist& s) const;
  absl::StatusOr<std::string> StoredRequestId(const v1::SupportRequest& r) const;
  // Takes the store's write lock and catches up; on error nothing is held
  // but write_mu_.
  absl::Status BeginWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Applies the store's changes after applied_revision_ to the in-memory view.
  absl::Status CatchUpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Commits `batch` and records the revision reached.
  absl::Status CommitLocked(const WriteBatch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  absl::Status CheckParent(const std::string& parent) const;
  // Returns the id from a specialist name in this region.
  absl::StatusOr<std::string> ParseName(const std::string& name, absl::string_view field) const;
  DayNumber Today() const;
  // Places a record without a base location at its authority's centre and
  // records where the location came from.
  void Normalize(v1::Specialist* record) const;
  // Fills output-only and derived fields of a record about to be stored.
  void Stamp(v1::Specialist* record, const v1::Specialist* previous, absl::Time now) const;
  // Validates a record built from a request and prepares it for storage.
  absl::Status CheckRecord(const v1::Specialist& record, const std::string& prefix) const;
  // Commits `records` and `deletes` (and an import's record), then
  // publishes them to the index.
  absl::Status CommitAndPublish(std::vector<std::shared_ptr<v1::Specialist>> records,
                                std::vector<std::string> deletes,
                                std::optional<ImportWrite> import = std::nullopt,
                                std::vector<std::shared_ptr<v1::SupportRequest>> requests = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Parses `regions/{region}/imports/{id}` into the id.
  absl::StatusOr<std::string> ParseImportName(const std::string& name, absl::string_view field) const;
  // Sharing helpers (registry_sharing.cc).
  absl::StatusOr<std::string> ParseSupportRequestName(const std::string& name,
                                                      absl::string_view field) const;
  void StampSupportRequest(v1::SupportRequest* request, const v1::SupportRequest* previous,
                           absl::Time now) const;
  // Changes prepared under the write lock and committed together, so a
  // request's state and the commitments it holds never disagree.
  struct SharingWrite {
    std::vector<std::shared_ptr<v1::Specialist>> specialists;
    std::vector<std::shared_ptr<v1::SupportRequest>> requests;
  };
  using RequestChange = std::function<absl::Status(v1::SupportRequest*, absl::Time now)>;
  using CommitmentChange =
      std::function<absl::Status(const v1::Specialist& before, v1::CapacityCommitment*)>;
  // Runs `change` on a copy of the request and stamps it; nullptr when the
  // change changed nothing (a retry). Nothing is written yet.
  absl::StatusOr<std::shared_ptr<v1::SupportRequest>> PrepareRequestChange(
      const std::string& name, absl::string_view field, const RequestChange& change)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Runs `change` on a copy of the commitment's specialist (the copy already
  // in `write` if there is one), restamps it and adds it to `write`.
  absl::StatusOr<v1::CapacityCommitment> PrepareCommitmentChange(const std::string& name,
                                                                 const CallAccess& access,
                                                                 const CommitmentChange& change,
                                                                 SharingWrite* write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Releases the commitments of this region held by `request`'s offers in
  // `states`, into `write`.
  absl::Status PrepareLocalReleases(const v1::SupportRequest& request,
                                    std::vector<v1::SupportOffer::State> states, bool completed,
                                    const CallAccess& access, SharingWrite* write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status CommitSharing(SharingWrite write) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // A request change with the releases it implies, committed at once.
  absl::StatusOr<v1::SupportRequest> ChangeRequestAndRelease(
      const std::string& name, const RequestChange& change,
      std::vector<v1::SupportOffer::State> release_states, bool completed,
      const CallAccess& access);
  // Publishes capacity changes of committed records to the watch hub.
  void PublishCapacity(const v1::Specialist* before, const v1::Specialist* after, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<CapacitySnapshotRow> SnapshotRows(DayNumber day) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Shared body of UpdateSpecialist and UpdateCapacity.
  absl::StatusOr<v1::Specialist> ApplyUpdate(
      const std::string& id, const std::string& etag, const CallAccess& access,
      const std::function<absl::Status(v1::Specialist*)>& change);

  const RegionInfo& region_;
  const ReferenceData& reference_;
  RegistryOptions options_;
  Clock* clock_;

  // Lock order: write_mu_ before mu_. Writers hold write_mu_ across the
  // store commit, and mu_ only to publish, so readers never wait on disk.
  Mutex write_mu_;
  std::unique_ptr<SpecialistStore> store_ ABSL_GUARDED_BY(write_mu_);
  mutable Mutex mu_;
  SpecialistIndex index_ ABSL_GUARDED_BY(mu_);
  // The latest import that was applied (for the region status).
  std::optional<v1::Import> last_applied_import_ ABSL_GUARDED_BY(mu_);
  // Support requests by id.
  absl::btree_map<std::string, std::shared_ptr<const v1::SupportRequest>> support_requests_
      ABSL_GUARDED_BY(mu_);
  // The store revision the index and support_requests_ reflect.
  int64_t applied_revision_ ABSL_GUARDED_BY(write_mu_) = 0;
  // A copy of applied_revision_ for lock-free status reads.
  std::atomic<int64_t> applied_revision_copy_{0};
  // The last day a capacity snapshot was stored.
  DayNumber last_snapshot_day_ ABSL_GUARDED_BY(write_mu_) = -1;
  // Thread-safe itself; published to while mu_ is held exclusively, so a
  // watcher's snapshot (taken under mu_) and its live changes never overlap.
  watch::CapacityWatchHub watch_hub_;
};


// Hours per week held by COMMITTED commitments of `record` that have not
// ended by `today`.
double SharedCommittedHours(const v1::Specialist& record, DayNumber today);


// Strip output-only fields, for comparing records by content.
v1::Specialist WritableContent(const v1::Specialist& record);
v1::Capacity WritableCapacity(const v1::Capacity& capacity);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_H_
