#include "services/registry/registry.h"
#include "services/registry/store_metrics.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/common/civil_date.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/common/string_view.h"
#include "services/registry/page_token.h"
#include "services/registry/validation.h"

namespace expertise::registry {

namespace {

using google::protobuf::FieldMask;
using google::protobuf::util::FieldMaskUtil;

std::string DefaultId() {
  static std::mt19937_64* const rng = new std::mt19937_64(std::random_device{}());
  return absl::StrFormat("s-%016x", (*rng)());
}

// Paths a client may not change with UpdateSpecialist; the service ignores
// output-only paths (AIP-203) and refuses changes to immutable ones.
const std::set<std::string>& OutputOnlyPaths() {
  static const auto* const paths = new std::set<std::string>{
      "name", "create_time", "update_time", "etag", "location_source",
      "capacity.available_hours_per_week", "capacity.update_time",
      "capacity.shared_committed_hours_per_week", "commitments"};
  return *paths;
}
const std::set<std::string>& ImmutablePaths() {
  static const auto* const paths =
      new std::set<std::string>{"owning_authority", "source", "external_id"};
  return *paths;
}

int ClampPageSize(int requested, const RegistryOptions& options, FieldViolations* v) {
  if (requested < 0) {
    v->Add("page_size", "must not be negative");
    return 0;
  }
  if (requested == 0) return options.default_page_size;
  return std::min(requested, options.max_page_size);
}

absl::Status EtagMismatch(absl::string_view name) {
  return WithReason(absl::FailedPreconditionError(absl::StrCat(
                        "etag does not match: ", name,
                        " was changed by someone else; read it again and retry")),
                    reasons::kEtagMismatch);
}

// Resolves taxonomy codes into a bit mask, reporting unknown codes.
uint64_t CodeMask(const google::protobuf::RepeatedPtrField<std::string>& codes,
                  v1::TaxonomyKind kind, absl::string_view field, const ReferenceData& reference,
                  FieldViolations* v) {
  uint64_t mask = 0;
  for (int i = 0; i < codes.size(); ++i) {
    const int index = reference.TermIndex(kind, codes[i]);
    if (index < 0) {
      v->Add(absl::StrCat(field, "[", i, "]"),
             absl::StrCat("unknown code '", codes[i].substr(0, 80), "'"));
    } else {
      mask |= uint64_t{1} << index;
    }
  }
  return mask;
}

}  // namespace

v1::Capacity WritableCapacity(const v1::Capacity& capacity) {
  v1::Capacity copy = capacity;
  copy.clear_available_hours_per_week();
  copy.clear_shared_committed_hours_per_week();
  copy.clear_update_time();
  return copy;
}

v1::Specialist WritableContent(const v1::Specialist& record) {
  v1::Specialist copy = record;
  copy.clear_name();
  copy.clear_create_time();
  copy.clear_update_time();
  copy.clear_etag();
  copy.clear_location_source();
  copy.clear_commitments();
  if (copy.has_capacity()) *copy.mutable_capacity() = WritableCapacity(copy.capacity());
  return copy;
}

void Registry::Normalize(v1::Specialist* record) const {
  // Stored records always carry a capacity block (available hours are
  // derived into it), so an input without one must compare equal to it.
  record->mutable_capacity();
  if (!record->has_base_location()) {
    const AuthorityInfo* la = reference_.FindAuthority(record->owning_authority());
    record->mutable_base_location()->set_latitude(la->latitude);
    record->mutable_base_location()->set_longitude(la->longitude);
    record->set_location_source(v1::LOCATION_SOURCE_AUTHORITY_CENTRE);
  } else if (record->location_source() == v1::LOCATION_SOURCE_UNSPECIFIED) {
    record->set_location_source(v1::LOCATION_SOURCE_EXPLICIT);
  }
}

Registry::Registry(const RegionInfo& region, RegistryOptions options,
                   std::unique_ptr<SpecialistStore> store)
    : region_(region),
      reference_(ReferenceData::Get()),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : RealClock()),
      store_(std::move(store)),
      index_(reference_) {
  if (!options_.id_generator) options_.id_generator = DefaultId;
}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(RegistryOptions options,
                                                         std::unique_ptr<SpecialistStore> store) {
  const RegionInfo* region = ReferenceData::Get().FindRegion(options.region);
  if (!region) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown region '", options.region, "': use an ONS code E12000001 to E12000009"));
  }
  std::unique_ptr<Registry> registry(new Registry(*region, std::move(options), std::move(store)));
  MutexLock write_lock(&registry->write_mu_);
  // Not under the store's write lock, which would stop every other
  // replica's writers for the whole load. The revision is read first: what
  // the load then reads is at least that new, and catching up from it
  // re-applies any later change (whole records and deletions, so applying
  // one twice changes nothing).
  ASSIGN_OR_RETURN(const int64_t revision, registry->store_->CurrentRevision());
  RETURN_IF_ERROR(registry->LoadLocked());
  registry->applied_revision_ = revision;
  registry->applied_revision_copy_.store(revision, std::memory_order_relaxed);
  RETURN_IF_ERROR(registry->CatchUpLocked());
  return registry;
}

absl::Status Registry::CheckStored(const v1::Specialist& s) const {
  if (ReferenceData::Get().TermIndex(v1::TAXONOMY_KIND_ROLE, s.role()) < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database holds ", s.name(), " with role '", s.role(),
        "', which this binary's taxonomy does not know: was it written by a newer version?"));
  }
  if (!absl::StartsWith(s.name(), region_.resource_name() + "/specialists/")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database holds ", s.name(), ", which is not in ", region_.resource_name(),
        ": was it made for another region?"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Registry::StoredRequestId(const v1::SupportRequest& r) const {
  const std::string request_prefix = region_.resource_name() + "/supportRequests/";
  if (!absl::StartsWith(r.name(), request_prefix)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database holds ", r.name(), ", which is not in ", region_.resource_name()));
  }
  return r.name().substr(request_prefix.size());
}

absl::Status Registry::LoadLocked() {
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

Registry::WriteScope::WriteScope(Registry* registry) : registry_(registry) {
  registry_->write_mu_.Lock();
  status_ = registry_->BeginWriteLocked();
}

absl::Status Registry::BeginWriteLocked() {
  ASSIGN_OR_RETURN(const int64_t revision, store_->BeginWrite());
  if (revision == applied_revision_) return absl::OkStatus();
  absl::Status caught_up = CatchUpLocked();
  if (!caught_up.ok()) store_->AbortWrite();
  return caught_up;
}

Registry::WriteScope::~WriteScope() {
  registry_->store_->AbortWrite();  // no-op after a commit
  registry_->write_mu_.Unlock();
}

absl::Status Registry::CatchUpLocked() {
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
  const absl::Time now = clock_->Now();
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

absl::Status Registry::CommitLocked(const WriteBatch& batch) {
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

absl::Status Registry::Refresh() {
  MutexLock write_lock(&write_mu_);
  if (!store_->shared()) return absl::OkStatus();
  ASSIGN_OR_RETURN(const int64_t revision, store_->CurrentRevision());
  if (revision == applied_revision_) return absl::OkStatus();
  return CatchUpLocked();
}

int64_t Registry::applied_revision() const {
  return applied_revision_copy_.load(std::memory_order_relaxed);
}

size_t Registry::size() const {
  ReaderMutexLock lock(&mu_);
  return index_.size();
}

DayNumber Registry::Today() const {
  return EpochDaysToday(clock_->Now());
}

absl::Status Registry::CheckParent(const std::string& parent) const {
  if (parent.empty()) return InvalidFieldError("parent", "is required, e.g. regions/north-east");
  // AIP-159: "regions/-" reads across every region this service holds,
  // which for a registry is its own.
  if (parent == region_.resource_name() || parent == "regions/-") return absl::OkStatus();
  if (!ReferenceData::Get().FindRegion(parent) || !absl::StartsWith(parent, "regions/")) {
    return InvalidFieldError("parent", "must be a region such as regions/north-east");
  }
  return WithReason(absl::NotFoundError(absl::StrCat("this registry serves ",
                                                     region_.resource_name(), ", not ", parent)),
                    reasons::kRegionNotServed);
}

absl::StatusOr<std::string> Registry::ParseName(const std::string& name,
                                                absl::string_view field) const {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "regions" || parts[2] != "specialists" ||
      parts[3].empty()) {
    return InvalidFieldError(std::string(field),
                             "must be regions/{region}/specialists/{specialist}");
  }
  if (parts[1] != region_.id && parts[1] != "-") {
    return WithReason(absl::NotFoundError(absl::StrCat(
                          name, " is not in ", region_.resource_name(), ", which this registry serves")),
                      reasons::kRegionNotServed);
  }
  return parts[3];
}

void Registry::Stamp(v1::Specialist* record, const v1::Specialist* previous,
                     absl::Time now) const {
  // Commitments are output only: requests never carry them, so a record
  // rebuilt from a request keeps its predecessor's.
  if (previous && record->commitments().empty()) {
    *record->mutable_commitments() = previous->commitments();
  }
  v1::Capacity* capacity = record->mutable_capacity();
  capacity->set_shared_committed_hours_per_week(SharedCommittedHours(*record, Today()));
  capacity->set_available_hours_per_week(
      AvailableHours(capacity->contracted_hours_per_week(),
                     capacity->committed_hours_per_week() + capacity->shared_committed_hours_per_week()));
  const bool capacity_changed =
      !previous ||
      !google::protobuf::util::MessageDifferencer::Equals(WritableCapacity(previous->capacity()),
                                                          WritableCapacity(*capacity)) ||
      previous->capacity().shared_committed_hours_per_week() !=
          capacity->shared_committed_hours_per_week();
  if (capacity_changed) {
    *capacity->mutable_update_time() = ToProto(now);
  } else {
    *capacity->mutable_update_time() = previous->capacity().update_time();
  }
  *record->mutable_create_time() = previous ? previous->create_time() : ToProto(now);
  *record->mutable_update_time() = ToProto(now);
  record->set_etag(NextEtag(previous ? previous->etag() : "", now));
}

absl::Status Registry::CheckRecord(const v1::Specialist& record, const std::string& prefix) const {
  FieldViolations violations;
  ValidateSpecialist(record, region_, reference_, clock_->Now(), prefix, &violations);
  return violations.ToStatus();
}

absl::Status Registry::CommitAndPublish(std::vector<std::shared_ptr<v1::Specialist>> records,
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
  const absl::Time now = clock_->Now();
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

absl::StatusOr<v1::RegionStatus> Registry::GetRegionStatus(const v1::GetRegionStatusRequest& req) const {
  if (req.name() != region_.resource_name() + "/status") {
    const RegionInfo* other = nullptr;
    if (absl::StartsWith(req.name(), "regions/") && absl::EndsWith(req.name(), "/status")) {
      other = reference_.FindRegion(req.name().substr(0, req.name().size() - 7));
    }
    if (!other) return InvalidFieldError("name", "must be regions/{region}/status, e.g. regions/north-east/status");
    return WithReason(absl::NotFoundError(absl::StrCat("this registry serves ", region_.resource_name(),
                                                       ", not ", other->resource_name())),
                      reasons::kRegionNotServed);
  }
  return RegionStatusNow();
}

v1::RegionStatus Registry::RegionStatusNow() const {
  v1::RegionStatus status;
  status.set_name(region_.resource_name() + "/status");
  status.set_region_code(region_.code);
  status.set_region_display_name(region_.name);
  status.set_state(v1::RegionStatus::SERVING);
  status.set_authority_count(static_cast<int32_t>(region_.authorities.size()));
  std::vector<int64_t> verified;  // seconds, for the median
  absl::flat_hash_set<std::string> authorities;
  google::protobuf::Timestamp last_update;
  {
    ReaderMutexLock lock(&mu_);
    verified.reserve(index_.size());
    index_.ForEach([&](const v1::Specialist& s) {
      verified.push_back(s.last_verify_time().seconds());
      authorities.insert(s.owning_authority());
      if (s.update_time().seconds() > last_update.seconds() ||
          (s.update_time().seconds() == last_update.seconds() && s.update_time().nanos() > last_update.nanos())) {
        last_update = s.update_time();
      }
    });
    if (last_applied_import_) {
      status.set_last_import(last_applied_import_->name());
      *status.mutable_last_import_time() = last_applied_import_->complete_time();
    }
  }
  status.set_specialist_count(static_cast<int32_t>(verified.size()));
  status.set_authorities_with_specialists(static_cast<int32_t>(authorities.size()));
  if (!verified.empty()) {
    const auto middle = verified.begin() + static_cast<std::ptrdiff_t>(verified.size() / 2);
    std::nth_element(verified.begin(), middle, verified.end());
    status.mutable_median_verify_time()->set_seconds(*middle);
    status.mutable_oldest_verify_time()->set_seconds(*std::min_element(verified.begin(), middle + 1));
    *status.mutable_last_update_time() = last_update;
  }
  *status.mutable_check_time() = ToProto(clock_->Now());
  return status;
}

absl::StatusOr<v1::Specialist> Registry::GetSpecialist(const v1::GetSpecialistRequest& req,
                                                       const CallAccess& access) const {
  ASSIGN_OR_RETURN(std::string id, ParseName(req.name(), "name"));
  ReaderMutexLock lock(&mu_);
  SpecialistPtr found = index_.Find(id);
  // A record the caller may not see answers as one that does not exist.
  if (!found || !access.CanSee(*found)) {
    return absl::NotFoundError(absl::StrCat(req.name(), " does not exist"));
  }
  return *found;
}

absl::StatusOr<v1::ListSpecialistsResponse> Registry::ListSpecialists(
    const v1::ListSpecialistsRequest& req, const CallAccess& access) const {
  RETURN_IF_ERROR(CheckParent(req.parent()));
  FieldViolations violations;
  const int page_size = ClampPageSize(req.page_size(), options_, &violations);
  std::string owning_authority;
  if (!req.owning_authority().empty()) {
    const AuthorityInfo* la = reference_.FindAuthority(req.owning_authority());
    if (!la) {
      violations.Add("owning_authority", "is not a known GSS code");
    } else {
      owning_authority = la->code;  // a former code finds the authority's records
    }
  }
  RETURN_IF_ERROR(violations.ToStatus());
  const uint64_t fingerprint = RequestFingerprint(req);
  std::string after;
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(PageCursor cursor, DecodePageToken(req.page_token()));
    if (cursor.fingerprint != fingerprint) {
      return InvalidFieldError("page_token", "was made for a request with other parameters");
    }
    after = cursor.last_name;
  }
  bool more = false;
  size_t total = 0;
  std::vector<SpecialistPtr> page;
  {
    ReaderMutexLock lock(&mu_);
    page = index_.ListAfter(after, page_size, owning_authority, &more, &total,
                            access.read ? &*access.read : nullptr);
  }
  v1::ListSpecialistsResponse response;
  for (const auto& s : page) *response.add_specialists() = *s;
  response.set_total_size(static_cast<int32_t>(total));
  if (more && !page.empty()) {
    PageCursor cursor;
    cursor.fingerprint = fingerprint;
    cursor.last_name = SpecialistIdFromName(page.back()->name());
    response.set_next_page_token(EncodePageToken(cursor));
  }
  return response;
}

absl::StatusOr<v1::SearchSpecialistsResponse> Registry::SearchSpecialists(
    const v1::SearchSpecialistsRequest& req, const CallAccess& access) const {
  RETURN_IF_ERROR(CheckParent(req.parent()));
  FieldViolations v;
  SearchQuery q;
  for (const auto& [field, size, cap] :
       {std::tuple{"roles", req.roles_size(), 64}, std::tuple{"specialisms", req.specialisms_size(), 64},
        std::tuple{"settings", req.settings_size(), 64}, std::tuple{"languages", req.languages_size(), 20},
        std::tuple{"authorities", req.authorities_size(), 200}}) {
    if (size > cap) {
      v.Add(field, absl::StrCat("at most ", cap, " entries"));
      return v.ToStatus();
    }
  }
  q.role_mask = CodeMask(req.roles(), v1::TAXONOMY_KIND_ROLE, "roles", reference_, &v);
  q.specialism_mask =
      CodeMask(req.specialisms(), v1::TAXONOMY_KIND_SPECIALISM, "specialisms", reference_, &v);
  q.setting_mask = CodeMask(req.settings(), v1::TAXONOMY_KIND_SETTING, "settings", reference_, &v);
  if (req.has_age()) {
    if (req.age() < 0 || req.age() > kMaxAge) v.Add("age", "must be between 0 and 25");
    q.age = req.age();
  }
  for (int i = 0; i < req.languages_size(); ++i) {
    if (!IsValidLanguageTag(req.languages(i))) {
      v.Add(absl::StrCat("languages[", i, "]"), "must be a BCP 47 tag such as 'en' or 'bfi'");
    }
  }
  if (!v1::DeliveryMode_IsValid(req.delivery_mode())) {
    v.Add("delivery_mode", "is not a known delivery mode");
  }
  q.delivery_mode = req.delivery_mode();
  for (int i = 0; i < req.authorities_size(); ++i) {
    const AuthorityInfo* la = reference_.FindAuthority(req.authorities(i));
    if (!la) {
      v.Add(absl::StrCat("authorities[", i, "]"), "is not a known GSS code");
    } else {
      q.authorities.push_back(la->index);
    }
  }
  if (req.has_point()) {
    const double lat = req.point().latitude(), lon = req.point().longitude();
    if (!std::isfinite(lat) || lat < -90 || lat > 90) v.Add("point.latitude", "must be -90 to 90");
    if (!std::isfinite(lon) || lon < -180 || lon > 180) {
      v.Add("point.longitude", "must be -180 to 180");
    }
    q.has_point = true;
    q.latitude = lat;
    q.longitude = lon;
  } else if (req.has_near_authority()) {
    const AuthorityInfo* la = reference_.FindAuthority(req.near_authority());
    if (!la) {
      v.Add("near_authority", "is not a known GSS code");
    } else {
      q.has_point = true;
      q.latitude = la->latitude;
      q.longitude = la->longitude;
    }
  }
  if (!std::isfinite(req.within_km()) || req.within_km() < 0 || req.within_km() > 2000) {
    v.Add("within_km", "must be between 0 and 2000");
  } else if (req.within_km() > 0 && !req.has_point() && !req.has_near_authority()) {
    v.Add("within_km", "needs a search point (point or near_authority)");
  }
  q.within_km = req.within_km();
  if (!std::isfinite(req.min_available_hours()) || req.min_available_hours() < 0 ||
      req.min_available_hours() > kMaxHoursPerWeek) {
    v.Add("min_available_hours", "must be between 0 and 168");
  }
  q.min_available_hours = req.min_available_hours();
  q.accepting_only = req.accepting_external_requests();
  if (req.has_available_on() && !IsFullCalendarDate(req.available_on())) {
    v.Add("available_on", "must be a full calendar date");
  }
  switch (req.order_by()) {
    case v1::SEARCH_ORDER_UNSPECIFIED:
      q.order = q.has_point ? SearchQuery::Order::kDistance : SearchQuery::Order::kName;
      break;
    case v1::SEARCH_ORDER_DISTANCE:
      if (!req.has_point() && !req.has_near_authority()) {
        v.Add("order_by", "distance order needs a search point (point or near_authority)");
      }
      q.order = SearchQuery::Order::kDistance;
      break;
    case v1::SEARCH_ORDER_AVAILABLE_HOURS:
      q.order = SearchQuery::Order::kAvailableHours;
      break;
    case v1::SEARCH_ORDER_NAME:
      q.order = SearchQuery::Order::kName;
      break;
    default:
      v.Add("order_by", "is not a known order");
  }
  q.limit = ClampPageSize(req.page_size(), options_, &v);
  RETURN_IF_ERROR(v.ToStatus());

  const uint64_t fingerprint = RequestFingerprint(req);
  q.day = req.has_available_on() ? DaysSinceEpoch(req.available_on())
                                 : Today();
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(PageCursor cursor, DecodePageToken(req.page_token()));
    if (cursor.fingerprint != fingerprint) {
      return InvalidFieldError("page_token", "was made for a request with other parameters");
    }
    // Later pages keep the first page's day, so a walk across midnight stays consistent.
    q.day = cursor.day;
    q.has_cursor = true;
    q.cursor_key = cursor.key;
    q.cursor_name = cursor.last_name;
  }

  SearchPage page;
  {
    ReaderMutexLock lock(&mu_);
    for (const std::string& tag : req.languages()) {
      if (auto id = index_.LanguageId(tag)) {
        q.languages.push_back(*id);
      } else {
        q.impossible = true;  // no record works in that language
      }
    }
    q.scope = access.read ? &*access.read : nullptr;
    page = index_.Search(q);
  }
  v1::SearchSpecialistsResponse response;
  response.mutable_results()->Reserve(static_cast<int>(page.hits.size()));
  for (const SearchHit& hit : page.hits) {
    v1::SearchResult* result = response.add_results();
    *result->mutable_specialist() = *hit.specialist;
    result->set_distance_km(hit.distance_km);
    result->set_available_hours_per_week(hit.available_hours);
  }
  response.set_total_size(static_cast<int32_t>(page.total));
  if (page.more && !page.hits.empty()) {
    PageCursor cursor;
    cursor.fingerprint = fingerprint;
    cursor.day = q.day;
    cursor.key = page.hits.back().sort_key;
    cursor.last_name = page.hits.back().specialist->name();
    response.set_next_page_token(EncodePageToken(cursor));
  }
  return response;
}

absl::StatusOr<v1::Specialist> Registry::CreateSpecialist(const v1::CreateSpecialistRequest& req,
                                                          const CallAccess& access) {
  RETURN_IF_ERROR(CheckParent(req.parent()));
  FieldViolations v;
  if (!req.specialist_id().empty() && !IsValidResourceId(req.specialist_id())) {
    v.Add("specialist_id",
          "must be 4 to 63 lower-case letters, digits or '-', starting with a letter");
  }
  if (!req.has_specialist()) v.Add("specialist", "is required");
  ValidateSpecialist(req.specialist(), region_, reference_, clock_->Now(), "specialist.", &v);
  RETURN_IF_ERROR(v.ToStatus());
  RETURN_IF_ERROR(access.CheckWrite(req.specialist().owning_authority()));

  auto record = std::make_shared<v1::Specialist>(WritableContent(req.specialist()));
  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  std::string id = req.specialist_id();
  {
    ReaderMutexLock lock(&mu_);
    if (id.empty()) {
      do {
        id = options_.id_generator();
      } while (index_.Find(id));
    } else if (index_.Find(id)) {
      return absl::AlreadyExistsError(
          absl::StrCat(region_.resource_name(), "/specialists/", id, " already exists"));
    }
    if (SpecialistPtr same = index_.FindByKey(record->owning_authority(), record->source(),
                                              record->external_id())) {
      return WithReason(absl::AlreadyExistsError(absl::StrCat(
                            "a specialist with this owning_authority, source and external_id "
                            "already exists: ", same->name())),
                        reasons::kDuplicateSourceRecord);
    }
  }
  record->set_name(absl::StrCat(region_.resource_name(), "/specialists/", id));
  Normalize(record.get());
  Stamp(record.get(), nullptr, clock_->Now());
  v1::Specialist result = *record;
  RETURN_IF_ERROR(CommitAndPublish({std::move(record)}, {}));
  return result;
}

absl::StatusOr<v1::Specialist> Registry::ApplyUpdate(
    const std::string& id, const std::string& etag, const CallAccess& access,
    const std::function<absl::Status(v1::Specialist*)>& change) {
  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  SpecialistPtr existing;
  {
    ReaderMutexLock lock(&mu_);
    existing = index_.Find(id);
  }
  const std::string name = absl::StrCat(region_.resource_name(), "/specialists/", id);
  if (!existing || !access.CanSee(*existing)) {
    return absl::NotFoundError(absl::StrCat(name, " does not exist"));
  }
  RETURN_IF_ERROR(access.CheckWrite(existing->owning_authority()));
  if (!etag.empty() && etag != existing->etag()) return EtagMismatch(name);
  auto record = std::make_shared<v1::Specialist>(WritableContent(*existing));
  RETURN_IF_ERROR(change(record.get()));
  // An untouched base keeps its recorded origin; a cleared one falls back to
  // the authority centre; a new one is explicit.
  if (record->has_base_location() &&
      google::protobuf::util::MessageDifferencer::Equals(record->base_location(),
                                                         existing->base_location())) {
    record->set_location_source(existing->location_source());
  }
  Normalize(record.get());
  if (google::protobuf::util::MessageDifferencer::Equals(WritableContent(*record),
                                                         WritableContent(*existing))) {
    return *existing;  // nothing changed: keep the etag, write nothing
  }
  record->set_name(name);
  Stamp(record.get(), existing.get(), clock_->Now());
  v1::Specialist result = *record;
  RETURN_IF_ERROR(CommitAndPublish({std::move(record)}, {}));
  return result;
}

absl::StatusOr<v1::Specialist> Registry::UpdateSpecialist(const v1::UpdateSpecialistRequest& req,
                                                          const CallAccess& access) {
  ASSIGN_OR_RETURN(std::string id, ParseName(req.specialist().name(), "specialist.name"));
  const v1::Specialist& incoming = req.specialist();
  FieldViolations v;
  FieldMask mask;
  const bool replace_all = req.update_mask().paths_size() == 1 && req.update_mask().paths(0) == "*";
  if (replace_all) {
    // handled below
  } else if (req.update_mask().paths_size() == 0) {
    // AIP-134: no mask means every field the client populated.
    std::vector<const google::protobuf::FieldDescriptor*> fields;
    incoming.GetReflection()->ListFields(incoming, &fields);
    for (const auto* field : fields) mask.add_paths(field->name());
  } else {
    for (int i = 0; i < req.update_mask().paths_size(); ++i) {
      const std::string& path = req.update_mask().paths(i);
      if (!FieldMaskUtil::GetFieldDescriptors(v1::Specialist::descriptor(), path, nullptr)) {
        v.Add(absl::StrCat("update_mask.paths[", i, "]"),
              absl::StrCat("'", path.substr(0, 80), "' is not a field of Specialist"));
      } else {
        mask.add_paths(path);
      }
    }
  }
  FieldMask effective;
  for (const std::string& path : mask.paths()) {
    if (OutputOnlyPaths().count(path)) continue;
    effective.add_paths(path);
  }
  RETURN_IF_ERROR(v.ToStatus());

  return ApplyUpdate(id, incoming.etag(), access, [&](v1::Specialist* record) -> absl::Status {
    FieldViolations immutable;
    if (replace_all) {
      v1::Specialist replacement = WritableContent(incoming);
      for (const auto& [field, current, wanted] :
           {std::tuple{"owning_authority", &record->owning_authority(), &incoming.owning_authority()},
            std::tuple{"source", &record->source(), &incoming.source()},
            std::tuple{"external_id", &record->external_id(), &incoming.external_id()}}) {
        if (!wanted->empty() && *wanted != *current) {
          immutable.Add(absl::StrCat("specialist.", field), "is immutable");
        }
      }
      replacement.set_owning_authority(record->owning_authority());
      replacement.set_source(record->source());
      replacement.set_external_id(record->external_id());
      *record = std::move(replacement);
    } else {
      for (const std::string& path : effective.paths()) {
        if (!ImmutablePaths().count(path)) continue;
        const auto* field = v1::Specialist::descriptor()->FindFieldByName(path);
        if (record->GetReflection()->GetString(*record, field) !=
            incoming.GetReflection()->GetString(incoming, field)) {
          immutable.Add(absl::StrCat("specialist.", path), "is immutable");
        }
      }
      FieldMaskUtil::MergeOptions options;
      options.set_replace_message_fields(true);
      options.set_replace_repeated_fields(true);
      FieldMaskUtil::MergeMessageTo(WritableContent(incoming), effective, options, record);
    }
    RETURN_IF_ERROR(immutable.ToStatus());
    return CheckRecord(*record, "specialist.");
  });
}

absl::StatusOr<v1::Specialist> Registry::UpdateCapacity(const v1::UpdateCapacityRequest& req,
                                                        const CallAccess& access) {
  ASSIGN_OR_RETURN(std::string id, ParseName(req.name(), "name"));
  FieldViolations v;
  if (!req.has_capacity()) v.Add("capacity", "is required");
  FieldMask mask;
  for (int i = 0; i < req.update_mask().paths_size(); ++i) {
    const std::string& path = req.update_mask().paths(i);
    if (!FieldMaskUtil::GetFieldDescriptors(v1::Capacity::descriptor(), path, nullptr)) {
      v.Add(absl::StrCat("update_mask.paths[", i, "]"),
            absl::StrCat("'", path.substr(0, 80), "' is not a field of Capacity"));
    } else if (path != "available_hours_per_week" && path != "update_time" &&
               path != "shared_committed_hours_per_week") {
      mask.add_paths(path);
    }
  }
  // Only the merged capacity is validated: fields outside the mask are ignored.
  RETURN_IF_ERROR(v.ToStatus());
  return ApplyUpdate(id, req.etag(), access, [&](v1::Specialist* record) -> absl::Status {
    const v1::Capacity incoming = WritableCapacity(req.capacity());
    if (req.update_mask().paths_size() == 0) {
      *record->mutable_capacity() = incoming;
    } else if (mask.paths_size() > 0) {  // a mask of only output-only paths changes nothing
      FieldMaskUtil::MergeOptions options;
      options.set_replace_message_fields(true);
      FieldMaskUtil::MergeMessageTo(incoming, mask, options, record->mutable_capacity());
    }
    FieldViolations merged;
    ValidateCapacity(record->capacity(), "capacity.", &merged);
    return merged.ToStatus();
  });
}

absl::Status Registry::DeleteSpecialist(const v1::DeleteSpecialistRequest& req,
                                        const CallAccess& access) {
  ASSIGN_OR_RETURN(std::string id, ParseName(req.name(), "name"));
  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  SpecialistPtr existing;
  {
    ReaderMutexLock lock(&mu_);
    existing = index_.Find(id);
  }
  if (!existing || !access.CanSee(*existing)) {
    return absl::NotFoundError(absl::StrCat(req.name(), " does not exist"));
  }
  RETURN_IF_ERROR(access.CheckWrite(existing->owning_authority()));
  if (!req.etag().empty() && req.etag() != existing->etag()) return EtagMismatch(req.name());
  return CommitAndPublish({}, {id});
}

absl::StatusOr<v1::BatchUpsertSpecialistsResponse> Registry::BatchUpsertSpecialists(
    const v1::BatchUpsertSpecialistsRequest& req, const CallAccess& access) {
  RETURN_IF_ERROR(CheckParent(req.parent()));
  FieldViolations v;
  if (req.specialists_size() == 0) v.Add("specialists", "at least one specialist is required");
  if (req.specialists_size() > options_.max_batch_size) {
    v.Add("specialists", absl::StrCat("at most ", options_.max_batch_size, " per batch"));
    return v.ToStatus();
  }
  std::set<std::tuple<absl::string_view, absl::string_view, absl::string_view>> keys;
  const absl::Time now = clock_->Now();
  for (int i = 0; i < req.specialists_size(); ++i) {
    const v1::Specialist& s = req.specialists(i);
    const std::string prefix = absl::StrCat("specialists[", i, "].");
    ValidateSpecialist(s, region_, reference_, now, prefix, &v);
    if (!keys.emplace(s.owning_authority(), s.source(), s.external_id()).second) {
      v.Add(absl::StrCat(prefix, "external_id"),
            "repeats an earlier record's (owning_authority, source, external_id)");
    }
  }
  RETURN_IF_ERROR(v.ToStatus());
  // All or nothing: one record of an authority the caller may not change
  // refuses the whole batch.
  for (const v1::Specialist& s : req.specialists()) {
    RETURN_IF_ERROR(access.CheckWrite(s.owning_authority()));
  }

  v1::BatchUpsertSpecialistsResponse response;
  std::vector<std::shared_ptr<v1::Specialist>> writes;
  WriteScope write_scope(this);
  RETURN_IF_ERROR(write_scope.status());
  {
    ReaderMutexLock lock(&mu_);
    std::set<std::string> new_ids;
    for (const v1::Specialist& s : req.specialists()) {
      auto record = std::make_shared<v1::Specialist>(WritableContent(s));
      Normalize(record.get());
      SpecialistPtr existing = index_.FindByKey(s.owning_authority(), s.source(), s.external_id());
      if (existing) {
        if (google::protobuf::util::MessageDifferencer::Equals(WritableContent(*record),
                                                               WritableContent(*existing))) {
          *response.add_specialists() = *existing;
          response.set_unchanged_count(response.unchanged_count() + 1);
          continue;
        }
        record->set_name(existing->name());
        response.set_updated_count(response.updated_count() + 1);
      } else {
        std::string id;
        do {
          id = options_.id_generator();
        } while (index_.Find(id) || new_ids.count(id));
        new_ids.insert(id);
        record->set_name(absl::StrCat(region_.resource_name(), "/specialists/", id));
        response.set_created_count(response.created_count() + 1);
      }
      Stamp(record.get(), existing.get(), now);
      *response.add_specialists() = *record;
      writes.push_back(std::move(record));
    }
  }
  RETURN_IF_ERROR(CommitAndPublish(std::move(writes), {}));
  return response;
}

absl::StatusOr<v1::CapacitySummary> Registry::GetCapacitySummary(
    const v1::GetCapacitySummaryRequest& req) const {
  RETURN_IF_ERROR(CheckParent(req.parent()));
  FieldViolations v;
  const uint64_t role_mask = CodeMask(req.roles(), v1::TAXONOMY_KIND_ROLE, "roles", reference_, &v);
  std::vector<int> authorities;
  for (int i = 0; i < req.authorities_size(); ++i) {
    const AuthorityInfo* la = reference_.FindAuthority(req.authorities(i));
    if (!la) {
      v.Add(absl::StrCat("authorities[", i, "]"), "is not a known GSS code");
    } else {
      authorities.push_back(la->index);
    }
  }
  if (req.has_as_of() && !IsFullCalendarDate(req.as_of())) v.Add("as_of", "must be a full date");
  RETURN_IF_ERROR(v.ToStatus());
  const DayNumber day = req.has_as_of() ? DaysSinceEpoch(req.as_of())
                                        : Today();
  absl::btree_map<std::pair<std::string, std::string>, CapacityCell> cells;
  {
    ReaderMutexLock lock(&mu_);
    cells = index_.Summarise(day, role_mask, authorities);
  }
  v1::CapacitySummary summary;
  summary.set_region(region_.resource_name());
  *summary.mutable_as_of() = DateFromEpochDays(day);
  auto add = [](v1::CapacitySummaryRow* row, const CapacityCell& cell) {
    row->set_headcount(row->headcount() + cell.headcount);
    row->set_contracted_hours_per_week(row->contracted_hours_per_week() + cell.contracted);
    row->set_committed_hours_per_week(row->committed_hours_per_week() + cell.committed);
    row->set_available_hours_per_week(row->available_hours_per_week() + cell.available);
    row->set_accepting_external_count(row->accepting_external_count() + cell.accepting);
  };
  v1::CapacitySummaryRow* la_total = nullptr;
  for (const auto& [key, cell] : cells) {
    v1::CapacitySummaryRow* row = summary.add_rows();
    row->set_authority(key.first);
    row->set_role(key.second);
    add(row, cell);
    if (!la_total || la_total->authority() != key.first) {
      la_total = summary.add_authority_totals();
      la_total->set_authority(key.first);
    }
    add(la_total, cell);
    add(summary.mutable_total(), cell);
  }
  if (!summary.has_total()) summary.mutable_total();
  return summary;
}

v1::ListTaxonomyTermsResponse Registry::ListTaxonomyTerms(
    const v1::ListTaxonomyTermsRequest& req) const {
  return registry::ListTaxonomyTerms(reference_, req);
}

absl::StatusOr<v1::ListLocalAuthoritiesResponse> Registry::ListLocalAuthorities(
    const v1::ListLocalAuthoritiesRequest& req) const {
  return registry::ListLocalAuthorities(reference_, req);
}

v1::ListRegionsResponse Registry::ListRegions() const { return registry::ListRegions(reference_); }

}  // namespace expertise::registry
