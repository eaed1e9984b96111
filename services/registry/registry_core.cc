#include "services/registry/registry_core.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/registry/resource_model.h"
#include "services/registry/store_metrics.h"

namespace expertise::registry {

RegistryCore::RegistryCore(const RegionInfo& region, RegistryOptions options,
                           std::unique_ptr<SpecialistStore> store)
    : rules_(region, std::move(options)), store_(std::move(store)), index_(rules_.reference()) {}

absl::StatusOr<std::unique_ptr<RegistryCore>> RegistryCore::Open(
    RegistryOptions options, std::unique_ptr<SpecialistStore> store) {
  const RegionInfo* region = ReferenceData::Get().FindRegion(options.region);
  if (!region) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown region '", options.region, "': use an ONS code E12000001 to E12000009"));
  }
  std::unique_ptr<RegistryCore> core(new RegistryCore(*region, std::move(options), std::move(store)));
  MutexLock write_lock(&core->write_mu_);
  // Not under the store's write lock, which would stop every other
  // replica's writers for the whole load. The revision is read first: what
  // the load then reads is at least that new, and catching up from it
  // re-applies any later change (whole records and deletions, so applying
  // one twice changes nothing).
  ASSIGN_OR_RETURN(const int64_t revision, core->store_->CurrentRevision());
  RETURN_IF_ERROR(core->LoadLocked());
  core->applied_revision_ = revision;
  core->applied_revision_copy_.store(revision, std::memory_order_relaxed);
  RETURN_IF_ERROR(core->CatchUpLocked());
  return core;
}

absl::Status RegistryCore::CheckStored(const v1::Specialist& s) const {
  const RegionInfo& region = rules_.region();
  if (ReferenceData::Get().TermIndex(v1::TAXONOMY_KIND_ROLE, s.role()) < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database holds ", s.name(), " with role '", s.role(),
        "', which this binary's taxonomy does not know: was it written by a newer version?"));
  }
  if (!absl::StartsWith(s.name(), region.resource_name() + "/specialists/")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database holds ", s.name(), ", which is not in ", region.resource_name(),
        ": was it made for another region?"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RegistryCore::StoredRequestId(const v1::SupportRequest& r) const {
  const RegionInfo& region = rules_.region();
  const std::string request_prefix = region.resource_name() + "/supportRequests/";
  if (!absl::StartsWith(r.name(), request_prefix)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database holds ", r.name(), ", which is not in ", region.resource_name()));
  }
  return r.name().substr(request_prefix.size());
}

absl::Status RegistryCore::LoadLocked() {
  MutexLock lock(&mu_);
  RETURN_IF_ERROR(store_->LoadAll([&](v1::Specialist s) -> absl::Status {
    RETURN_IF_ERROR(CheckStored(s));
    index_.Put(std::make_shared<const v1::Specialist>(std::move(s)));
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(last_applied_import_, store_->LatestAppliedImport());
  return store_->LoadSupportRequests([&](v1::SupportRequest r) -> absl::Status {
    ASSIGN_OR_RETURN(std::string id, StoredRequestId(r));
    support_requests_[id] = std::make_shared<const v1::SupportRequest>(std::move(r));
    return absl::OkStatus();
  });
}

RegistryCore::WriteScope::WriteScope(RegistryCore* core) : core_(core) {
  core_->write_mu_.Lock();
  status_ = core_->BeginWriteLocked();
}

RegistryCore::WriteScope::~WriteScope() {
  core_->store_->AbortWrite();  // no-op after a commit
  core_->write_mu_.Unlock();
}

absl::Status RegistryCore::BeginWriteLocked() {
  ASSIGN_OR_RETURN(const int64_t revision, store_->BeginWrite());
  if (revision == applied_revision_) return absl::OkStatus();
  absl::Status caught_up = CatchUpLocked();
  if (!caught_up.ok()) store_->AbortWrite();
  return caught_up;
}

absl::Status RegistryCore::CatchUpLocked() {
  ASSIGN_OR_RETURN(StoreChanges changes, store_->ChangesSince(applied_revision_));
  if (changes.revision == applied_revision_) return absl::OkStatus();
  if (changes.revision < applied_revision_) {
    // Revisions only grow: the database was restored from a backup (or
    // replaced) under this process, whose view is now newer than the data.
    // Writing on would mix the two; a restart loads the restored data.
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "the store went back from revision ", applied_revision_, " to ", changes.revision,
            " (restored from a backup?): restart this registry to load it")),
        reasons::kStoreWentBack);
  }
  for (const v1::Specialist& s : changes.specialists) RETURN_IF_ERROR(CheckStored(s));
  std::vector<std::pair<std::string, std::shared_ptr<const v1::SupportRequest>>> requests;
  for (v1::SupportRequest& r : changes.support_requests) {
    ASSIGN_OR_RETURN(std::string id, StoredRequestId(r));
    requests.emplace_back(std::move(id), std::make_shared<const v1::SupportRequest>(std::move(r)));
  }
  MutexLock lock(&mu_);
  const absl::Time now = rules_.Now();
  // Deletions first: a record deleted and created again is in both lists.
  for (const std::string& id : changes.deleted_specialists) {
    if (SpecialistPtr before = index_.Find(id)) {
      PublishCapacity(before.get(), nullptr, now);
      index_.Remove(id);
    }
  }
  for (v1::Specialist& s : changes.specialists) {
    auto after = std::make_shared<const v1::Specialist>(std::move(s));
    SpecialistPtr before = index_.Find(SpecialistIdFromName(after->name()));
    PublishCapacity(before.get(), after.get(), now);
    index_.Put(std::move(after));
  }
  for (auto& [id, r] : requests) support_requests_[id] = std::move(r);
  if (changes.latest_applied_import) last_applied_import_ = std::move(changes.latest_applied_import);
  applied_revision_ = changes.revision;
  applied_revision_copy_.store(changes.revision, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status RegistryCore::CommitLocked(const WriteBatch& batch) {
  const StoreMetrics& metrics = StoreMetrics::For(store_->kind());
  const absl::Time start = absl::Now();
  absl::StatusOr<int64_t> committed = store_->Commit(batch);
  metrics.commit_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  if (!committed.ok()) {
    metrics.CountError(committed.status());
    return committed.status();
  }
  const int64_t revision = *committed;
  // Within one write scope the store was at applied_revision_, so this
  // commit is the next one. Otherwise (a second commit in one scope) others
  // may have written in between: the next catch-up reads them, with this
  // commit again, which changes nothing twice.
  if (revision == applied_revision_ + 1 || revision == applied_revision_) {
    applied_revision_ = revision;
    applied_revision_copy_.store(revision, std::memory_order_relaxed);
  }
  return absl::OkStatus();
}

absl::Status RegistryCore::CommitAndPublish(std::vector<std::shared_ptr<v1::Specialist>> records,
                                            std::vector<std::string> deletes,
                                            std::optional<ImportWrite> import,
                                            std::vector<std::shared_ptr<v1::SupportRequest>> requests) {
  WriteBatch batch;
  for (const auto& r : records) batch.puts.push_back(r.get());
  for (const auto& r : requests) batch.support_requests.push_back(r.get());
  batch.deletes = deletes;
  batch.import = std::move(import);
  RETURN_IF_ERROR(CommitLocked(batch));
  MutexLock lock(&mu_);
  const absl::Time now = rules_.Now();
  for (const std::string& id : deletes) {
    if (SpecialistPtr before = index_.Find(id)) PublishCapacity(before.get(), nullptr, now);
    index_.Remove(id);
  }
  for (auto& r : records) {
    SpecialistPtr before = index_.Find(SpecialistIdFromName(r->name()));
    PublishCapacity(before.get(), r.get(), now);
    index_.Put(std::move(r));
  }
  for (auto& r : requests) {
    support_requests_[r->name().substr(r->name().rfind('/') + 1)] = std::move(r);
  }
  if (batch.import && batch.import->import && batch.import->import->state() != v1::Import::FAILED &&
      !batch.import->import->validate_only()) {
    last_applied_import_ = *batch.import->import;
  }
  return absl::OkStatus();
}

Upsert RegistryCore::PrepareUpsert(const v1::Specialist& incoming, absl::Time now,
                                   std::set<std::string>* new_ids) const {
  Upsert upsert;
  auto record = std::make_shared<v1::Specialist>(WritableContent(incoming));
  rules_.Normalize(record.get());
  upsert.existing =
      index_.FindByKey(incoming.owning_authority(), incoming.source(), incoming.external_id());
  if (upsert.existing) {
    if (google::protobuf::util::MessageDifferencer::Equals(WritableContent(*record),
                                                           WritableContent(*upsert.existing))) {
      upsert.outcome = Upsert::Outcome::kUnchanged;
      return upsert;
    }
    record->set_name(upsert.existing->name());
    upsert.outcome = Upsert::Outcome::kUpdated;
  } else {
    std::string id;
    do {
      id = rules_.options().id_generator();
    } while (index_.Find(id) || new_ids->count(id));
    new_ids->insert(id);
    record->set_name(absl::StrCat(rules_.region().resource_name(), "/specialists/", id));
    upsert.outcome = Upsert::Outcome::kCreated;
  }
  rules_.Stamp(record.get(), upsert.existing.get(), now);
  upsert.record = std::move(record);
  return upsert;
}

void RegistryCore::PublishCapacity(const v1::Specialist* before, const v1::Specialist* after,
                                   absl::Time now) {
  if (before && after && before->role() == after->role() &&
      before->owning_authority() == after->owning_authority() &&
      before->visibility() == after->visibility() &&
      before->capacity().contracted_hours_per_week() == after->capacity().contracted_hours_per_week() &&
      before->capacity().available_hours_per_week() == after->capacity().available_hours_per_week()) {
    return;  // nothing a watcher sees changed
  }
  const v1::Specialist& r = after ? *after : *before;
  v1::CapacityUpdate update;
  update.set_specialist(r.name());
  update.set_owning_authority(r.owning_authority());
  update.set_role(r.role());
  update.set_visibility(r.visibility());
  if (after) {
    update.set_contracted_hours_per_week(after->capacity().contracted_hours_per_week());
    update.set_available_hours_per_week(after->capacity().available_hours_per_week());
  } else {
    update.set_removed(true);
  }
  *update.mutable_update_time() = ToProto(now);
  watch_hub_.Publish(std::move(update));
}

absl::Status RegistryCore::Refresh() {
  MutexLock write_lock(&write_mu_);
  if (!store_->shared()) return absl::OkStatus();
  ASSIGN_OR_RETURN(const int64_t revision, store_->CurrentRevision());
  if (revision == applied_revision_) return absl::OkStatus();
  return CatchUpLocked();
}

int64_t RegistryCore::applied_revision() const {
  return applied_revision_copy_.load(std::memory_order_relaxed);
}

size_t RegistryCore::size() const {
  ReaderMutexLock lock(&mu_);
  return index_.size();
}

}  // namespace expertise::registry
