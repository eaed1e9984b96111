#include "services/registry/specialist_records.h"

#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/registry/page_token.h"
#include "services/registry/validation.h"

namespace expertise::registry {
namespace {

using google::protobuf::FieldMask;
using google::protobuf::util::FieldMaskUtil;
using WriteScope = RegistryCore::WriteScope;

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

absl::Status EtagMismatch(absl::string_view name) {
  return WithReason(absl::FailedPreconditionError(absl::StrCat(
                        "etag does not match: ", name,
                        " was changed by someone else; read it again and retry")),
                    reasons::kEtagMismatch);
}

}  // namespace

absl::StatusOr<v1::Specialist> SpecialistRecords::Get(const v1::GetSpecialistRequest& req,
                                                      const CallAccess& access) const {
  ASSIGN_OR_RETURN(std::string id, core_.rules().ParseName(req.name(), "name"));
  ReaderMutexLock lock(&core_.mu());
  SpecialistPtr found = core_.index().Find(id);
  // A record the caller may not see answers as one that does not exist.
  if (!found || !access.CanSee(*found)) {
    return absl::NotFoundError(absl::StrCat(req.name(), " does not exist"));
  }
  return *found;
}

absl::StatusOr<v1::ListSpecialistsResponse> SpecialistRecords::List(
    const v1::ListSpecialistsRequest& req, const CallAccess& access) const {
  const RecordRules& rules = core_.rules();
  RETURN_IF_ERROR(rules.CheckParent(req.parent()));
  FieldViolations violations;
  const int page_size = ClampPageSize(req.page_size(), rules.options(), &violations);
  std::string owning_authority;
  if (!req.owning_authority().empty()) {
    const AuthorityInfo* la = rules.reference().FindAuthority(req.owning_authority());
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
    ReaderMutexLock lock(&core_.mu());
    page = core_.index().ListAfter(after, page_size, owning_authority, &more, &total,
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

absl::StatusOr<v1::Specialist> SpecialistRecords::Create(const v1::CreateSpecialistRequest& req,
                                                         const CallAccess& access) {
  const RecordRules& rules = core_.rules();
  const RegionInfo& region = rules.region();
  RETURN_IF_ERROR(rules.CheckParent(req.parent()));
  FieldViolations v;
  if (!req.specialist_id().empty() && !IsValidResourceId(req.specialist_id())) {
    v.Add("specialist_id",
          "must be 4 to 63 lower-case letters, digits or '-', starting with a letter");
  }
  if (!req.has_specialist()) v.Add("specialist", "is required");
  ValidateSpecialist(req.specialist(), region, rules.reference(), rules.Now(), "specialist.", &v);
  RETURN_IF_ERROR(v.ToStatus());
  RETURN_IF_ERROR(access.CheckWrite(req.specialist().owning_authority()));

  auto record = std::make_shared<v1::Specialist>(WritableContent(req.specialist()));
  WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  std::string id = req.specialist_id();
  {
    ReaderMutexLock lock(&core_.mu());
    const SpecialistIndex& index = core_.index();
    if (id.empty()) {
      do {
        id = rules.options().id_generator();
      } while (index.Find(id));
    } else if (index.Find(id)) {
      return absl::AlreadyExistsError(
          absl::StrCat(region.resource_name(), "/specialists/", id, " already exists"));
    }
    if (SpecialistPtr same = index.FindByKey(record->owning_authority(), record->source(),
                                             record->external_id())) {
      return WithReason(absl::AlreadyExistsError(absl::StrCat(
                            "a specialist with this owning_authority, source and external_id "
                            "already exists: ", same->name())),
                        reasons::kDuplicateSourceRecord);
    }
  }
  record->set_name(absl::StrCat(region.resource_name(), "/specialists/", id));
  rules.Normalize(record.get());
  rules.Stamp(record.get(), nullptr, rules.Now());
  v1::Specialist result = *record;
  RETURN_IF_ERROR(core_.CommitAndPublish({std::move(record)}, {}));
  return result;
}

absl::StatusOr<v1::Specialist> SpecialistRecords::ApplyUpdate(
    const std::string& id, const std::string& etag, const CallAccess& access,
    const std::function<absl::Status(v1::Specialist*)>& change) {
  const RecordRules& rules = core_.rules();
  WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  SpecialistPtr existing;
  {
    ReaderMutexLock lock(&core_.mu());
    existing = core_.index().Find(id);
  }
  const std::string name = absl::StrCat(rules.region().resource_name(), "/specialists/", id);
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
  rules.Normalize(record.get());
  if (google::protobuf::util::MessageDifferencer::Equals(WritableContent(*record),
                                                         WritableContent(*existing))) {
    return *existing;  // nothing changed: keep the etag, write nothing
  }
  record->set_name(name);
  rules.Stamp(record.get(), existing.get(), rules.Now());
  v1::Specialist result = *record;
  RETURN_IF_ERROR(core_.CommitAndPublish({std::move(record)}, {}));
  return result;
}

absl::StatusOr<v1::Specialist> SpecialistRecords::Update(const v1::UpdateSpecialistRequest& req,
                                                         const CallAccess& access) {
  const RecordRules& rules = core_.rules();
  ASSIGN_OR_RETURN(std::string id, rules.ParseName(req.specialist().name(), "specialist.name"));
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
    return rules.CheckRecord(*record, "specialist.");
  });
}

absl::StatusOr<v1::Specialist> SpecialistRecords::UpdateCapacity(
    const v1::UpdateCapacityRequest& req, const CallAccess& access) {
  ASSIGN_OR_RETURN(std::string id, core_.rules().ParseName(req.name(), "name"));
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

absl::Status SpecialistRecords::Delete(const v1::DeleteSpecialistRequest& req,
                                       const CallAccess& access) {
  ASSIGN_OR_RETURN(std::string id, core_.rules().ParseName(req.name(), "name"));
  WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  SpecialistPtr existing;
  {
    ReaderMutexLock lock(&core_.mu());
    existing = core_.index().Find(id);
  }
  if (!existing || !access.CanSee(*existing)) {
    return absl::NotFoundError(absl::StrCat(req.name(), " does not exist"));
  }
  RETURN_IF_ERROR(access.CheckWrite(existing->owning_authority()));
  if (!req.etag().empty() && req.etag() != existing->etag()) return EtagMismatch(req.name());
  return core_.CommitAndPublish({}, {id});
}

absl::StatusOr<v1::BatchUpsertSpecialistsResponse> SpecialistRecords::BatchUpsert(
    const v1::BatchUpsertSpecialistsRequest& req, const CallAccess& access) {
  const RecordRules& rules = core_.rules();
  const RegistryOptions& options = rules.options();
  RETURN_IF_ERROR(rules.CheckParent(req.parent()));
  FieldViolations v;
  if (req.specialists_size() == 0) v.Add("specialists", "at least one specialist is required");
  if (req.specialists_size() > options.max_batch_size) {
    v.Add("specialists", absl::StrCat("at most ", options.max_batch_size, " per batch"));
    return v.ToStatus();
  }
  std::set<std::tuple<absl::string_view, absl::string_view, absl::string_view>> keys;
  const absl::Time now = rules.Now();
  for (int i = 0; i < req.specialists_size(); ++i) {
    const v1::Specialist& s = req.specialists(i);
    const std::string prefix = absl::StrCat("specialists[", i, "].");
    ValidateSpecialist(s, rules.region(), rules.reference(), now, prefix, &v);
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
  WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  {
    ReaderMutexLock lock(&core_.mu());
    std::set<std::string> new_ids;
    for (const v1::Specialist& s : req.specialists()) {
      Upsert upsert = core_.PrepareUpsert(s, now, &new_ids);
      switch (upsert.outcome) {
        case Upsert::Outcome::kUnchanged:
          *response.add_specialists() = *upsert.existing;
          response.set_unchanged_count(response.unchanged_count() + 1);
          continue;
        case Upsert::Outcome::kUpdated:
          response.set_updated_count(response.updated_count() + 1);
          break;
        case Upsert::Outcome::kCreated:
          response.set_created_count(response.created_count() + 1);
          break;
      }
      *response.add_specialists() = *upsert.record;
      writes.push_back(std::move(upsert.record));
    }
  }
  RETURN_IF_ERROR(core_.CommitAndPublish(std::move(writes), {}));
  return response;
}

}  // namespace expertise::registry
