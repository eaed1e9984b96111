#include "services/registry/registry_imports.h"

#include <set>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/registry/page_token.h"
#include "services/registry/store_metrics.h"
#include "services/registry/validation.h"

namespace expertise::registry {
namespace {

constexpr double kDefaultMaxWithdrawFraction = 0.2;

google::protobuf::Timestamp TimestampOf(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

v1::ImportReject::Reason ReasonFor(FieldViolations::Kind kind) {
  switch (kind) {
    case FieldViolations::Kind::kRequired:
      return v1::ImportReject::REQUIRED;
    case FieldViolations::Kind::kReference:
      return v1::ImportReject::REFERENCE;
    case FieldViolations::Kind::kValue:
      break;
  }
  return v1::ImportReject::VALUE;
}

void ValidateHeader(const v1::ImportHeader& h, const RegionInfo& region, const ReferenceData& reference,
                    FieldViolations* v) {
  if (h.import_id().empty()) {
    v->Add("header.import_id", "is required");
  } else if (!IsValidResourceId(h.import_id())) {
    v->Add("header.import_id", "must be 4 to 63 of [a-z0-9-], starting with a letter");
  }
  const AuthorityInfo* la = reference.FindAuthority(h.authority());
  if (h.authority().empty()) {
    v->Add("header.authority", "is required (a GSS code)");
  } else if (la == nullptr) {
    v->Add("header.authority", absl::StrCat("'", h.authority().substr(0, 20), "' is not a known GSS code"));
  } else if (la->region_code != region.code) {
    v->Add("header.authority", absl::StrCat(h.authority(), " (", la->name, ") is not in ", region.name));
  }
  if (h.source().empty()) {
    v->Add("header.source", "is required");
  } else if (h.source().size() > 63 ||
             h.source().find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    v->Add("header.source", "must be lower-case letters, digits and '-', at most 63");
  }
  if (h.mode() != v1::IMPORT_MODE_SNAPSHOT && h.mode() != v1::IMPORT_MODE_INCREMENTAL) {
    v->Add("header.mode", "must be IMPORT_MODE_SNAPSHOT or IMPORT_MODE_INCREMENTAL");
  }
  const v1::RejectPolicy& p = h.reject_policy();
  if (p.kind() == v1::RejectPolicy::SKIP_UP_TO && (p.max_reject_percent() < 0 || p.max_reject_percent() > 100)) {
    v->Add("header.reject_policy.max_reject_percent", "must be between 0 and 100");
  }
  if (h.has_max_withdraw_fraction() && (h.max_withdraw_fraction() < 0 || h.max_withdraw_fraction() > 1)) {
    v->Add("header.max_withdraw_fraction", "must be between 0 and 1");
  }
  if (h.mode() == v1::IMPORT_MODE_INCREMENTAL && h.force()) {
    v->Add("header.force", "applies to snapshot imports only");
  }
}

}  // namespace

absl::StatusOr<std::string> RegistryImports::ParseImportName(const std::string& name,
                                                             absl::string_view field) const {
  const RegionInfo& region = core_.rules().region();
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "regions" || parts[2] != "imports" || parts[3].empty()) {
    return InvalidFieldError(std::string(field), "must be regions/{region}/imports/{import}");
  }
  if (parts[1] != region.id && parts[1] != "-") {
    return WithReason(absl::NotFoundError(absl::StrCat(name, " is not in ", region.resource_name())),
                      reasons::kRegionNotServed);
  }
  return parts[3];
}

absl::StatusOr<v1::Import> RegistryImports::Import(ImportStream stream, const CallAccess& access) {
  const RecordRules& rules = core_.rules();
  const RegionInfo& region = rules.region();
  const RegistryOptions& options = rules.options();
  const v1::ImportHeader& header = stream.header;
  RETURN_IF_ERROR(rules.CheckParent(header.parent()));
  FieldViolations header_violations;
  ValidateHeader(header, region, rules.reference(), &header_violations);
  if (stream.records.size() + stream.rejects.size() > static_cast<size_t>(options.max_import_records)) {
    header_violations.Add("batch", absl::StrCat("an import holds at most ", options.max_import_records,
                                                " records; split the input"));
  }
  RETURN_IF_ERROR(header_violations.ToStatus("import header has invalid fields"));
  RETURN_IF_ERROR(access.CheckWrite(header.authority()));

  const absl::Time now = rules.Now();
  RegistryCore::WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  // Idempotency: an import id is used once; asking again returns the result.
  ASSIGN_OR_RETURN(std::optional<v1::Import> previous, core_.store().GetImport(header.import_id()));
  if (previous.has_value()) {
    if (previous->authority() != header.authority() || previous->source() != header.source()) {
      return WithReason(
          // Another authority's import is not named: its existence is all
          // this says.
          absl::AlreadyExistsError(absl::StrCat("import id ", header.import_id(),
                                                " was already used by another import; choose another")),
          reasons::kImportIdReused);
    }
    return *previous;
  }
  std::optional<v1::ImportCursor> stored_cursor;
  if (header.mode() == v1::IMPORT_MODE_INCREMENTAL) {
    ASSIGN_OR_RETURN(stored_cursor, core_.store().GetImportCursor(header.authority(), header.source()));
    const std::string current = stored_cursor ? stored_cursor->cursor() : "";
    if (current != header.expected_cursor()) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            "the cursor of ", header.authority(), "/", header.source(),
                            " moved since this import read it (another import committed); run it again")),
                        reasons::kCursorMoved);
    }
  }

  v1::Import result;
  result.set_name(absl::StrCat(region.resource_name(), "/imports/", header.import_id()));
  result.set_authority(header.authority());
  result.set_source(header.source());
  result.set_mode(header.mode());
  *result.mutable_reject_policy() = header.reject_policy();
  if (result.reject_policy().kind() == v1::RejectPolicy::KIND_UNSPECIFIED) {
    result.mutable_reject_policy()->set_kind(v1::RejectPolicy::FAIL);
  }
  result.set_validate_only(header.validate_only());
  result.set_plugin(header.plugin());
  result.set_plugin_version(header.plugin_version());
  result.set_isolation(header.isolation());
  result.set_input_name(header.input_name());
  result.set_records_received(static_cast<int32_t>(stream.records.size() + stream.rejects.size()));

  std::vector<v1::ImportReject> rejects = std::move(stream.rejects);
  std::set<std::string> rejected_ids;  // never withdrawn: their row was bad, not gone
  for (const v1::ImportReject& r : rejects) {
    if (!r.external_id().empty()) rejected_ids.insert(r.external_id());
  }
  std::vector<std::shared_ptr<v1::Specialist>> writes;
  std::vector<std::string> withdraw;
  std::unordered_set<std::string> seen_ids;
  int created = 0, updated = 0, unchanged = 0;
  {
    ReaderMutexLock lock(&core_.mu());
    std::set<std::string> new_ids;
    for (v1::ImportedRecord& imported : stream.records) {
      v1::Specialist& s = *imported.mutable_specialist();
      auto reject = [&](v1::ImportReject::Reason reason, std::string field, std::string message) {
        v1::ImportReject& r = rejects.emplace_back();
        *r.mutable_location() = imported.location();
        r.set_reason(reason);
        r.set_external_id(s.external_id().substr(0, 128));
        r.set_field(std::move(field));
        r.set_message(std::move(message));
        if (!s.external_id().empty()) rejected_ids.insert(s.external_id());
      };
      // An import for an authority touches only that authority's records.
      if (s.owning_authority() != header.authority() || s.source() != header.source()) {
        reject(v1::ImportReject::REFERENCE, "owning_authority",
               absl::StrCat("belongs to ", s.owning_authority(), "/", s.source(), ", not to this import's ",
                            header.authority(), "/", header.source()));
        continue;
      }
      FieldViolations v;
      ValidateSpecialist(s, region, rules.reference(), now, "", &v);
      if (!v.empty()) {
        const auto& first = v.violations().front();
        std::string message = first.description();
        if (v.size() > 1) absl::StrAppend(&message, " (and ", v.size() - 1, " more problems)");
        reject(ReasonFor(v.kind(0)), first.field(), std::move(message));
        continue;
      }
      if (!seen_ids.insert(s.external_id()).second) {
        reject(v1::ImportReject::DUPLICATE_KEY, "external_id",
               absl::StrCat("external id '", s.external_id(), "' repeats an earlier record of this import"));
        continue;
      }
      Upsert upsert = core_.PrepareUpsert(s, now, &new_ids);
      switch (upsert.outcome) {
        case Upsert::Outcome::kUnchanged:
          ++unchanged;
          continue;
        case Upsert::Outcome::kUpdated:
          ++updated;
          break;
        case Upsert::Outcome::kCreated:
          ++created;
          break;
      }
      writes.push_back(std::move(upsert.record));
    }

    // Snapshot: whatever of this authority and source the export no longer
    // holds is withdrawn, unless its row was there but rejected.
    size_t existing_count = 0;
    if (header.mode() == v1::IMPORT_MODE_SNAPSHOT) {
      bool more = true;
      std::string after;
      while (more) {
        size_t total = 0;
        std::vector<SpecialistPtr> page = core_.index().ListAfter(after, 1000, header.authority(), &more, &total);
        for (const SpecialistPtr& p : page) {
          after = SpecialistIdFromName(p->name());
          if (p->source() != header.source()) continue;
          ++existing_count;
          if (!seen_ids.count(p->external_id()) && !rejected_ids.count(p->external_id())) {
            withdraw.push_back(after);
          }
        }
        if (page.empty()) break;
      }
    }
    result.set_created_count(created);
    result.set_updated_count(updated);
    result.set_unchanged_count(unchanged);
    result.set_withdrawn_count(static_cast<int32_t>(withdraw.size()));
    result.set_reject_count(static_cast<int32_t>(rejects.size()));

    // The policy decides on rejects first, then the withdrawal guard.
    std::string failure;
    const size_t seen = stream.records.size() + stream.rejects.size();
    const double reject_percent = seen == 0 ? 0 : 100.0 * static_cast<double>(rejects.size()) / static_cast<double>(seen);
    const v1::RejectPolicy& policy = result.reject_policy();
    if (!rejects.empty() && policy.kind() == v1::RejectPolicy::FAIL) {
      failure = absl::StrCat(rejects.size(), " of ", seen, " records were rejected and the policy is fail "
                             "(all or nothing); nothing was imported");
    } else if (policy.kind() == v1::RejectPolicy::SKIP_UP_TO && reject_percent > policy.max_reject_percent()) {
      failure = absl::StrFormat("%d of %d records (%.1f%%) were rejected, over the policy's %g%%; nothing was imported",
                                rejects.size(), seen, reject_percent, policy.max_reject_percent());
    }
    const double max_withdraw =
        header.has_max_withdraw_fraction() ? header.max_withdraw_fraction() : kDefaultMaxWithdrawFraction;
    if (failure.empty() && existing_count > 0 && !header.force() &&
        static_cast<double>(withdraw.size()) > max_withdraw * static_cast<double>(existing_count)) {
      failure = absl::StrFormat(
          "the snapshot would withdraw %d of %d existing records (%.0f%%), over the %.0f%% limit; if the "
          "export really is complete, run again with --force",
          withdraw.size(), existing_count, 100.0 * static_cast<double>(withdraw.size()) / static_cast<double>(existing_count),
          100 * max_withdraw);
    }
    if (!failure.empty()) {
      result.set_state(v1::Import::FAILED);
      result.set_failure_reason(failure);
      result.set_created_count(0);
      result.set_updated_count(0);
      result.set_unchanged_count(0);
      result.set_withdrawn_count(0);
      writes.clear();
      withdraw.clear();
    } else {
      result.set_state(rejects.empty() ? v1::Import::SUCCEEDED : v1::Import::SUCCEEDED_WITH_REJECTS);
      if (header.mode() == v1::IMPORT_MODE_INCREMENTAL) result.set_cursor(stream.end.cursor());
    }
  }
  stream.records.clear();
  if (rejects.size() > static_cast<size_t>(options.max_stored_rejects)) {
    rejects.resize(static_cast<size_t>(options.max_stored_rejects));
  }
  result.set_stored_reject_count(static_cast<int32_t>(rejects.size()));
  *result.mutable_complete_time() = TimestampOf(now);
  if (header.validate_only()) return result;

  ImportWrite import_write;
  import_write.id = header.import_id();
  import_write.import = &result;
  import_write.rejects = &rejects;
  v1::ImportCursor cursor;
  if (result.state() != v1::Import::FAILED && header.mode() == v1::IMPORT_MODE_INCREMENTAL &&
      !stream.end.cursor().empty()) {
    cursor.set_name(absl::StrCat(region.resource_name(), "/importCursors/", header.authority(), ".",
                                 header.source()));
    cursor.set_cursor(stream.end.cursor());
    cursor.set_import(result.name());
    *cursor.mutable_update_time() = TimestampOf(now);
    import_write.cursor = &cursor;
    import_write.cursor_authority = header.authority();
    import_write.cursor_source = header.source();
  }
  RETURN_IF_ERROR(core_.CommitAndPublish(std::move(writes), std::move(withdraw), std::move(import_write)));
  CountImport(result);
  return result;
}

absl::StatusOr<v1::Import> RegistryImports::Get(const v1::GetImportRequest& req,
                                                const CallAccess& access) {
  ASSIGN_OR_RETURN(std::string id, ParseImportName(req.name(), "name"));
  MutexLock write_lock(&core_.write_mu());
  ASSIGN_OR_RETURN(std::optional<v1::Import> found, core_.store().GetImport(id));
  // Another authority's import answers as one that does not exist.
  if (!found || !access.CheckWrite(found->authority()).ok()) return absl::NotFoundError(absl::StrCat(req.name(), " does not exist"));
  return *found;
}

absl::StatusOr<v1::ListImportRejectsResponse> RegistryImports::ListRejects(
    const v1::ListImportRejectsRequest& req, const CallAccess& access) {
  ASSIGN_OR_RETURN(std::string id, ParseImportName(req.parent(), "parent"));
  if (req.page_size() < 0) return InvalidFieldError("page_size", "must not be negative");
  const int page_size =
      req.page_size() == 0 ? 100 : std::min(req.page_size(), core_.rules().options().max_page_size);
  int64_t offset = 0;
  const uint64_t fingerprint = RequestFingerprint(req);
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(PageCursor cursor, DecodePageToken(req.page_token()));
    if (cursor.fingerprint != fingerprint || cursor.last_name != id) {
      return InvalidFieldError("page_token", "belongs to a different request");
    }
    offset = static_cast<int64_t>(cursor.key);
  }
  MutexLock write_lock(&core_.write_mu());
  ASSIGN_OR_RETURN(std::optional<v1::Import> found, core_.store().GetImport(id));
  if (!found || !access.CheckWrite(found->authority()).ok()) {
    return absl::NotFoundError(absl::StrCat(req.parent(), " does not exist"));
  }
  ASSIGN_OR_RETURN(std::vector<v1::ImportReject> page, core_.store().ListImportRejects(id, offset, page_size + 1));
  v1::ListImportRejectsResponse response;
  const bool more = page.size() > static_cast<size_t>(page_size);
  if (more) page.pop_back();
  for (v1::ImportReject& r : page) *response.add_rejects() = std::move(r);
  if (more) {
    PageCursor next;
    next.fingerprint = fingerprint;
    next.key = static_cast<double>(offset + page_size);
    next.last_name = id;
    response.set_next_page_token(EncodePageToken(next));
  }
  return response;
}

absl::StatusOr<v1::ImportCursor> RegistryImports::GetCursor(const v1::GetImportCursorRequest& req,
                                                           const CallAccess& access) {
  const RegionInfo& region = core_.rules().region();
  std::vector<std::string> parts = absl::StrSplit(req.name(), '/');
  const size_t dot = parts.size() == 4 ? parts[3].find('.') : std::string::npos;
  if (parts.size() != 4 || parts[0] != "regions" || parts[2] != "importCursors" || dot == std::string::npos) {
    return InvalidFieldError("name", "must be regions/{region}/importCursors/{authority}.{source}");
  }
  if (parts[1] != region.id && parts[1] != "-") {
    return WithReason(absl::NotFoundError(absl::StrCat(req.name(), " is not in ", region.resource_name())),
                      reasons::kRegionNotServed);
  }
  RETURN_IF_ERROR(access.CheckWrite(parts[3].substr(0, dot)));
  MutexLock write_lock(&core_.write_mu());
  ASSIGN_OR_RETURN(std::optional<v1::ImportCursor> cursor,
                   core_.store().GetImportCursor(parts[3].substr(0, dot), parts[3].substr(dot + 1)));
  if (!cursor) return absl::NotFoundError(absl::StrCat(req.name(), " has no cursor yet"));
  return *cursor;
}

}  // namespace expertise::registry
