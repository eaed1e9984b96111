#include "services/registry/registry_service_impl.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "services/rpc/grpc_status.h"
#include "services/registry/page_token.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/logging.h"
#include "services/common/status_macros.h"

namespace expertise::registry {
namespace {

spdlog::logger& Log() {
  static spdlog::logger* const logger = GetLogger("registry.rpc").get();
  return *logger;
}

// Event ids group the records of one call; unique within a process run and,
// with the time prefix, across restarts.
std::string NewEventId() {
  static std::atomic<uint64_t> counter{0};
  return absl::StrFormat("%x-%x", absl::ToUnixMicros(absl::Now()),
                         counter.fetch_add(1, std::memory_order_relaxed));
}

// Strips contact details the caller may not see and notes the specialists
// whose details are returned, for the audit trail.
void PresentTo(const security::AccessPolicy& policy, RegistryServiceImpl::Call& call,
             v1::Specialist* specialist) {
  policy.Minimise(call.caller, specialist);
  if (specialist->has_work_contact() &&
      (!specialist->work_contact().email().empty() || !specialist->work_contact().phone().empty())) {
    call.contact_reads.push_back(specialist->name());
  }
}

}  // namespace

void RegistryServiceImpl::Present(Call& call, v1::Specialist* specialist) const {
  PresentTo(gate_->policy(), call, specialist);
}

void RegistryServiceImpl::SetRegistry(std::unique_ptr<Registry> registry,
                                      security::AuditLog* audit) {
  audit_ = audit;
  owned_registry_ = std::move(registry);
  registry_.store(owned_registry_.get(), std::memory_order_release);
}

RegistryServiceImpl::Call RegistryServiceImpl::MakeCall(const security::CallDecision& decision,
                                                        const Registry& registry) const {
  Call call;
  call.caller = *decision.caller;
  call.via = decision.via;
  call.peer = decision.peer;
  call.method = decision.method;
  call.event_id = NewEventId();
  call.access.forwarded = decision.via.has_value();
  const security::AccessPolicy& policy = gate_->policy();
  call.access.read = policy.ScopeFor(call.caller, registry.region().code);
  const bool import_rules =
      decision.rule != nullptr && decision.rule->access == security::MethodAccess::kImport;
  call.access.may_write = [&policy, caller = call.caller,
                           import_rules](absl::string_view authority) -> absl::Status {
    return import_rules ? policy.CheckImport(caller, authority) : policy.CheckWrite(caller, authority);
  };
  return call;
}

namespace {

// What a request names goes into the trail only if it has the shape of a
// resource name: free text from a caller could forge lines in a reader's
// terminal or carry a person's name.
std::string AuditableResource(const std::string& name) {
  bool ok = absl::StartsWith(name, "regions/") && name.size() <= 200;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '/' || c == '-' || c == '.' || c == '_');
  }
  return ok ? name : "(not a resource name)";
}

// The who, what and where of one audit record; resources are checked,
// sorted, deduplicated and capped at the trail's limit.
security::AuditRecord NewRecord(std::string event_id, const char* phase,
                                const std::optional<security::Principal>& actor,
                                const std::optional<security::Principal>& via,
                                const std::string& method, const std::string& peer,
                                std::vector<std::string> resources) {
  security::AuditRecord record;
  record.event_id = std::move(event_id);
  record.phase = phase;
  record.actor = actor ? actor->ToString() : "unauthenticated";
  record.via = via ? via->ToString() : "";
  record.action = method;
  for (std::string& r : resources) r = AuditableResource(r);
  std::sort(resources.begin(), resources.end());
  resources.erase(std::unique(resources.begin(), resources.end()), resources.end());
  if (resources.size() > security::kAuditMaxResources) resources.resize(security::kAuditMaxResources);
  record.resources = std::move(resources);
  record.peer = peer;
  return record;
}

// Status messages name fields and resources, never a person.
std::string Detail(const absl::Status& status) { return std::string(status.message().substr(0, 500)); }

}  // namespace

absl::Status RegistryServiceImpl::Append(security::AuditRecord record) {
  const std::string method = record.action;
  absl::StatusOr<security::AuditRecord> written = audit_->Append(std::move(record));
  if (written.ok()) return absl::OkStatus();
  LogEvent(Log(), spdlog::level::err, "audit_write_failed",
           {{"method", method}, {"error", std::string(written.status().message())}});
  return written.status();
}

absl::Status RegistryServiceImpl::RecordAttempt(const Call& call,
                                                const std::vector<std::string>& resources) {
  absl::Status written = Append(
      NewRecord(call.event_id, "attempt", call.caller, call.via, call.method, call.peer, resources));
  if (written.ok()) return written;
  return WithReason(absl::UnavailableError(absl::StrCat(
                        "the change was refused because the audit trail cannot be written (",
                        written.message(), "); nothing was changed")),
                    reasons::kAuditUnavailable);
}

void RegistryServiceImpl::RecordOutcome(const Call& call, std::vector<std::string> resources,
                                        const absl::Status& status) {
  resources.insert(resources.end(), call.changed.begin(), call.changed.end());
  security::AuditRecord record = NewRecord(call.event_id, "outcome", call.caller, call.via,
                                           call.method, call.peer, std::move(resources));
  record.outcome = absl::StatusCodeToString(status.code());
  record.detail = Detail(status);
  // A failure here leaves the change made and its attempt record showing it
  // was tried; Append has logged it.
  (void)Append(std::move(record));
}

absl::Status RegistryServiceImpl::RecordContactReads(const Call& call) {
  if (call.contact_reads.empty()) return absl::OkStatus();
  security::AuditRecord record = NewRecord(call.event_id, "read", call.caller, call.via,
                                           call.method, call.peer, call.contact_reads);
  record.outcome = "OK";
  record.detail = "work contact details returned";
  if (Append(std::move(record)).ok()) return absl::OkStatus();
  return WithReason(absl::UnavailableError(
                        "contact details are returned only when the read can be audited, and "
                        "the audit trail cannot be written now"),
                    reasons::kAuditUnavailable);
}

void RegistryServiceImpl::RecordRefusal(const security::CallDecision& decision,
                                        std::vector<std::string> resources) {
  // Rate-limited calls are not recorded one by one: a flood would turn the
  // trail into its own denial of service. They are logged instead.
  if (decision.rate_limited) return;
  security::AuditRecord record = NewRecord(NewEventId(), "denied", decision.caller, decision.via,
                                           decision.method, decision.peer, std::move(resources));
  record.outcome = absl::StatusCodeToString(decision.status.code());
  record.detail = Detail(decision.status);
  (void)Append(std::move(record));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::Dispatch(
    grpc::CallbackServerContext* ctx, Audited audited, std::vector<std::string> resources,
    std::function<absl::Status(Registry&, Call&)> work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  security::CallDecision decision = gate_->Decision(ctx);
  Registry* registry = registry_.load(std::memory_order_acquire);
  if (registry == nullptr && decision.status.ok()) {
    reactor->Finish(ToGrpcStatus(
        absl::UnavailableError("the registry is starting up; retry shortly"), kErrorDomain));
    return reactor;
  }
  const auto start = std::chrono::steady_clock::now();
  const bool queued = executor_->Submit([this, ctx, reactor, registry, start,
                                         decision = std::move(decision),
                                         resources = std::move(resources), audited,
                                         work = std::move(work)]() mutable {
    absl::Status status;
    if (!decision.status.ok()) {
      // Before start-up completes there is no trail yet; the refusal is
      // still logged by the interceptor.
      if (registry != nullptr) RecordRefusal(decision, std::move(resources));
      reactor->Finish(ToGrpcStatus(decision.status, kErrorDomain));
      return;
    }
    Call call = MakeCall(decision, *registry);
    if (ctx->IsCancelled()) {
      status = absl::CancelledError("the call was cancelled before it ran");
    } else if (ctx->deadline() <= std::chrono::system_clock::now()) {
      status = absl::DeadlineExceededError("the deadline passed while the call was queued");
    } else if (audited == Audited::kChange) {
      status = RecordAttempt(call, resources);
      if (status.ok()) {
        status = work(*registry, call);
        RecordOutcome(call, std::move(resources), status);
      }
    } else {
      status = work(*registry, call);
      if (status.ok() && audited == Audited::kReads) status = RecordContactReads(call);
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    LogEvent(Log(), status.ok() ? spdlog::level::debug : spdlog::level::info, "rpc",
             {{"method", call.method},
              {"caller", call.caller.ToString()},
              {"code", absl::StatusCodeToString(status.code())},
              {"ms", ms}});
    reactor->Finish(ToGrpcStatus(status, kErrorDomain));
  });
  if (!queued) {
    reactor->Finish(ToGrpcStatus(
        absl::ResourceExhaustedError("the registry is overloaded; retry with backoff"),
        kErrorDomain));
  }
  return reactor;
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetSpecialist(
    grpc::CallbackServerContext* ctx, const v1::GetSpecialistRequest* request,
    v1::Specialist* response) {
  return Dispatch(ctx, Audited::kReads, {request->name()}, [=, this](Registry& r, Call& call) {
    absl::Status status = StoreResult(r.specialists().Get(*request, call.access), response);
    if (status.ok()) PresentTo(gate_->policy(), call, response);
    return status;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListSpecialists(
    grpc::CallbackServerContext* ctx, const v1::ListSpecialistsRequest* request,
    v1::ListSpecialistsResponse* response) {
  return Dispatch(ctx, Audited::kReads, {request->parent()}, [=, this](Registry& r, Call& call) {
    absl::Status status = StoreResult(r.specialists().List(*request, call.access), response);
    for (v1::Specialist& s : *response->mutable_specialists()) PresentTo(gate_->policy(), call, &s);
    return status;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::SearchSpecialists(
    grpc::CallbackServerContext* ctx, const v1::SearchSpecialistsRequest* request,
    v1::SearchSpecialistsResponse* response) {
  return Dispatch(ctx, Audited::kReads, {request->parent()}, [=, this](Registry& r, Call& call) {
    absl::Status status = StoreResult(r.queries().Search(*request, call.access), response);
    for (v1::SearchResult& result : *response->mutable_results()) {
      PresentTo(gate_->policy(), call, result.mutable_specialist());
    }
    return status;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::CreateSpecialist(
    grpc::CallbackServerContext* ctx, const v1::CreateSpecialistRequest* request,
    v1::Specialist* response) {
  return Dispatch(ctx, Audited::kChange, {request->parent()}, [=, this](Registry& r, Call& call) {
    absl::Status status = StoreResult(r.specialists().Create(*request, call.access), response);
    if (status.ok()) call.changed.push_back(response->name());
    return status;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::UpdateSpecialist(
    grpc::CallbackServerContext* ctx, const v1::UpdateSpecialistRequest* request,
    v1::Specialist* response) {
  return Dispatch(ctx, Audited::kChange, {request->specialist().name()},
                  [=, this](Registry& r, Call& call) {
                    return StoreResult(r.specialists().Update(*request, call.access), response);
                  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::DeleteSpecialist(
    grpc::CallbackServerContext* ctx, const v1::DeleteSpecialistRequest* request,
    google::protobuf::Empty* /*response*/) {
  return Dispatch(ctx, Audited::kChange, {request->name()}, [=, this](Registry& r, Call& call) {
    return r.specialists().Delete(*request, call.access);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::UpdateCapacity(
    grpc::CallbackServerContext* ctx, const v1::UpdateCapacityRequest* request,
    v1::Specialist* response) {
  return Dispatch(ctx, Audited::kChange, {request->name()}, [=, this](Registry& r, Call& call) {
    return StoreResult(r.specialists().UpdateCapacity(*request, call.access), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::BatchUpsertSpecialists(
    grpc::CallbackServerContext* ctx, const v1::BatchUpsertSpecialistsRequest* request,
    v1::BatchUpsertSpecialistsResponse* response) {
  return Dispatch(ctx, Audited::kChange, {request->parent()}, [=, this](Registry& r, Call& call) {
    absl::Status status = StoreResult(r.specialists().BatchUpsert(*request, call.access), response);
    for (const v1::Specialist& s : response->specialists()) call.changed.push_back(s.name());
    return status;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetCapacitySummary(
    grpc::CallbackServerContext* ctx, const v1::GetCapacitySummaryRequest* request,
    v1::CapacitySummary* response) {
  return Dispatch(ctx, Audited::kNo, {request->parent()}, [=, this](Registry& r, Call&) {
    return StoreResult(r.queries().GetCapacitySummary(*request), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListTaxonomyTerms(
    grpc::CallbackServerContext* ctx, const v1::ListTaxonomyTermsRequest* request,
    v1::ListTaxonomyTermsResponse* response) {
  return Dispatch(ctx, Audited::kNo, {}, [=, this](Registry& r, Call&) {
    *response = r.queries().ListTaxonomyTerms(*request);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListLocalAuthorities(
    grpc::CallbackServerContext* ctx, const v1::ListLocalAuthoritiesRequest* request,
    v1::ListLocalAuthoritiesResponse* response) {
  return Dispatch(ctx, Audited::kNo, {}, [=, this](Registry& r, Call&) {
    return StoreResult(r.queries().ListLocalAuthorities(*request), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListRegions(
    grpc::CallbackServerContext* ctx, const v1::ListRegionsRequest* /*request*/,
    v1::ListRegionsResponse* response) {
  return Dispatch(ctx, Audited::kNo, {}, [=, this](Registry& r, Call&) {
    *response = r.queries().ListRegions();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetImport(grpc::CallbackServerContext* ctx,
                                                         const v1::GetImportRequest* request,
                                                         v1::Import* response) {
  return Dispatch(ctx, Audited::kNo, {request->name()}, [=, this](Registry& r, Call& call) {
    return StoreResult(r.imports().Get(*request, call.access), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListImportRejects(
    grpc::CallbackServerContext* ctx, const v1::ListImportRejectsRequest* request,
    v1::ListImportRejectsResponse* response) {
  return Dispatch(ctx, Audited::kNo, {request->parent()}, [=, this](Registry& r, Call& call) {
    return StoreResult(r.imports().ListRejects(*request, call.access), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetImportCursor(grpc::CallbackServerContext* ctx,
                                                               const v1::GetImportCursorRequest* request,
                                                               v1::ImportCursor* response) {
  return Dispatch(ctx, Audited::kNo, {request->name()}, [=, this](Registry& r, Call& call) {
    return StoreResult(r.imports().GetCursor(*request, call.access), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetRegionStatus(grpc::CallbackServerContext* ctx,
                                                               const v1::GetRegionStatusRequest* request,
                                                               v1::RegionStatus* response) {
  return Dispatch(ctx, Audited::kNo, {}, [=, this](Registry& r, Call&) {
    return StoreResult(r.queries().GetRegionStatus(*request), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListRegionStatuses(
    grpc::CallbackServerContext* ctx, const v1::ListRegionStatusesRequest* /*request*/,
    v1::ListRegionStatusesResponse* response) {
  return Dispatch(ctx, Audited::kNo, {}, [=, this](Registry& r, Call&) {
    *response->add_region_statuses() = r.queries().RegionStatusNow();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListAuditRecords(
    grpc::CallbackServerContext* ctx, const v1::ListAuditRecordsRequest* request,
    v1::ListAuditRecordsResponse* response) {
  return Dispatch(ctx, Audited::kNo, {request->parent()}, [=, this](Registry& r, Call& call) {
    const RegionInfo& region = r.region();
    if (request->parent() != region.resource_name() &&
        request->parent() != absl::StrCat("regions/", region.code)) {
      return InvalidFieldError("parent", absl::StrCat("must be ", region.resource_name()));
    }
    std::vector<std::string> actors;
    RETURN_IF_ERROR(gate_->policy().CheckAuditRead(call.caller, region.code, &actors));
    if (request->page_size() < 0) return InvalidFieldError("page_size", "must not be negative");
    const int page_size = request->page_size() == 0 ? 100 : std::min(request->page_size(), 1000);
    const uint64_t fingerprint = RequestFingerprint(*request);
    security::AuditQuery query;
    if (!request->page_token().empty()) {
      ASSIGN_OR_RETURN(PageCursor cursor, DecodePageToken(request->page_token()));
      if (cursor.fingerprint != fingerprint) {
        return InvalidFieldError("page_token", "was made for a request with other parameters");
      }
      query.after_sequence = static_cast<int64_t>(cursor.key);
    }
    query.action = request->action();
    query.resource_prefix = request->resource_prefix();
    query.outcome = request->outcome();
    if (request->has_start_time()) {
      query.since = absl::FromUnixSeconds(request->start_time().seconds()) +
                    absl::Nanoseconds(request->start_time().nanos());
    }
    if (request->has_end_time()) {
      query.until = absl::FromUnixSeconds(request->end_time().seconds()) +
                    absl::Nanoseconds(request->end_time().nanos());
    }
    query.limit = page_size + 1;
    // An authority reads only what it and its importer did: one query per
    // permitted actor, merged in trail order.
    std::vector<std::string> wanted = actors;
    if (!request->actor().empty()) {
      if (!actors.empty() &&
          std::find(actors.begin(), actors.end(), request->actor()) == actors.end()) {
        return absl::PermissionDeniedError(absl::StrCat(
            call.caller.ToString(), " may not read the audit records of ", request->actor()));
      }
      wanted = {request->actor()};
    }
    if (wanted.empty()) wanted.push_back("");
    std::vector<security::AuditRecord> records;
    for (const std::string& actor : wanted) {
      query.actor = actor;
      ASSIGN_OR_RETURN(std::vector<security::AuditRecord> part, audit_->Read(query));
      records.insert(records.end(), part.begin(), part.end());
    }
    std::sort(records.begin(), records.end(),
              [](const auto& a, const auto& b) { return a.sequence < b.sequence; });
    const bool more = records.size() > static_cast<size_t>(page_size);
    if (more) records.resize(page_size);
    for (const security::AuditRecord& a : records) {
      v1::AuditRecord* out = response->add_audit_records();
      out->set_name(absl::StrCat(region.resource_name(), "/auditRecords/", a.sequence));
      out->set_sequence(a.sequence);
      out->mutable_time()->set_seconds(absl::ToUnixSeconds(a.time));
      out->mutable_time()->set_nanos(static_cast<int32_t>(
          absl::ToInt64Nanoseconds(a.time - absl::FromUnixSeconds(absl::ToUnixSeconds(a.time)))));
      out->set_event_id(a.event_id);
      out->set_phase(a.phase);
      out->set_actor(a.actor);
      out->set_via(a.via);
      out->set_action(a.action);
      for (const std::string& res : a.resources) out->add_resources(res);
      out->set_outcome(a.outcome);
      out->set_detail(a.detail);
      out->set_peer(a.peer);
      out->set_previous_hash(a.prev_hash);
      out->set_hash(a.hash);
    }
    if (more && !records.empty()) {
      PageCursor next;
      next.fingerprint = fingerprint;
      next.key = static_cast<double>(records.back().sequence);
      response->set_next_page_token(EncodePageToken(next));
    }
    return absl::OkStatus();
  });
}

// Reads the whole import stream, checking its shape as it arrives, then
// hands it to the executor. Memory is bounded by the registry's import
// limits, checked per message.
class RegistryServiceImpl::ImportReactor final
    : public grpc::ServerReadReactor<v1::ImportSpecialistsRequest> {
 public:
  ImportReactor(grpc::CallbackServerContext* ctx, v1::Import* response, RegistryServiceImpl* service,
                Registry* registry)
      : ctx_(ctx),
        response_(response),
        service_(service),
        executor_(service->executor_),
        registry_(registry),
        decision_(service->gate_->Decision(ctx)) {
    if (!decision_.status.ok()) {
      // Refused before a single record is read; the refusal is audited off
      // gRPC's threads.
      if (!executor_->Submit([this] {
            if (registry_ != nullptr) service_->RecordRefusal(decision_, {});
            Finish(ToGrpcStatus(decision_.status, kErrorDomain));
          })) {
        Finish(ToGrpcStatus(decision_.status, kErrorDomain));
      }
      return;
    }
    if (registry_ == nullptr) {
      Finish(ToGrpcStatus(absl::UnavailableError("the registry is starting up; retry shortly"), kErrorDomain));
      return;
    }
    StartRead(&message_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      OnStreamEnd();
      return;
    }
    absl::Status status = Accept();
    if (!status.ok()) {
      Finish(ToGrpcStatus(status, kErrorDomain));
      return;
    }
    StartRead(&message_);
  }

  void OnDone() override { delete this; }

 private:
  static constexpr size_t kMaxImportBytes = size_t{512} << 20;
  static constexpr int kMaxPerBatch = 1000;

  absl::Status Accept() {
    switch (message_.part_case()) {
      case v1::ImportSpecialistsRequest::kHeader:
        if (got_header_) return InvalidFieldError("header", "must be sent once, first");
        got_header_ = true;
        stream_.header = std::move(*message_.mutable_header());
        return absl::OkStatus();
      case v1::ImportSpecialistsRequest::kBatch: {
        if (!got_header_) return InvalidFieldError("header", "must come before any batch");
        if (got_end_) return InvalidFieldError("batch", "must not follow the end message");
        v1::ImportBatch& batch = *message_.mutable_batch();
        if (batch.records_size() > kMaxPerBatch || batch.rejects_size() > kMaxPerBatch) {
          return InvalidFieldError("batch", absl::StrCat("at most ", kMaxPerBatch, " records and ",
                                                         kMaxPerBatch, " rejects per batch"));
        }
        bytes_ += batch.ByteSizeLong();
        const size_t count = stream_.records.size() + stream_.rejects.size() +
                             static_cast<size_t>(batch.records_size() + batch.rejects_size());
        if (bytes_ > kMaxImportBytes || count > 200000) {
          return absl::ResourceExhaustedError(
              "the import is over 200,000 records or 512 MiB; split the input into several imports");
        }
        for (auto& r : *batch.mutable_records()) stream_.records.push_back(std::move(r));
        for (auto& r : *batch.mutable_rejects()) stream_.rejects.push_back(std::move(r));
        return absl::OkStatus();
      }
      case v1::ImportSpecialistsRequest::kEnd:
        if (!got_header_) return InvalidFieldError("header", "must come before the end message");
        if (got_end_) return InvalidFieldError("end", "must be sent once");
        got_end_ = true;
        stream_.end = std::move(*message_.mutable_end());
        return absl::OkStatus();
      default:
        return InvalidFieldError("part", "one of header, batch or end is required");
    }
  }

  void OnStreamEnd() {
    if (ctx_->IsCancelled()) {
      Finish(ToGrpcStatus(absl::CancelledError("the import was cancelled; nothing was imported"), kErrorDomain));
      return;
    }
    if (!got_header_ || !got_end_) {
      Finish(ToGrpcStatus(
          WithReason(absl::InvalidArgumentError(
                         "the import stream ended without its end message; nothing was imported"),
                     reasons::kImportIncomplete),
          kErrorDomain));
      return;
    }
    const bool queued = executor_->Submit([this] {
      absl::Status status;
      if (ctx_->IsCancelled()) {
        status = absl::CancelledError("the import was cancelled before it ran; nothing was imported");
      } else {
        Call call = service_->MakeCall(decision_, *registry_);
        const std::vector<std::string> resources = {
            absl::StrCat(stream_.header.parent(), "/imports/", stream_.header.import_id())};
        status = service_->RecordAttempt(call, resources);
        absl::StatusOr<v1::Import> result =
            status.ok() ? registry_->imports().Import(std::move(stream_), call.access)
                        : absl::StatusOr<v1::Import>(status);
        if (status.ok()) service_->RecordOutcome(call, resources, result.status());
        status = result.status();
        if (result.ok()) {
          *response_ = *std::move(result);
          LogEvent(ImportLog(), spdlog::level::info, "import",
                   {{"import", response_->name()},
                    {"authority", response_->authority()},
                    {"source", response_->source()},
                    {"state", v1::Import::State_Name(response_->state())},
                    {"created", response_->created_count()},
                    {"updated", response_->updated_count()},
                    {"withdrawn", response_->withdrawn_count()},
                    {"rejects", response_->reject_count()}});
        }
      }
      Finish(ToGrpcStatus(status, kErrorDomain));
    });
    if (!queued) {
      Finish(ToGrpcStatus(absl::ResourceExhaustedError("the registry is overloaded; retry the import later"),
                          kErrorDomain));
    }
  }

  static spdlog::logger& ImportLog() {
    static spdlog::logger* const logger = GetLogger("registry.import").get();
    return *logger;
  }

  grpc::CallbackServerContext* const ctx_;
  v1::Import* const response_;
  RegistryServiceImpl* const service_;
  Executor* const executor_;
  Registry* const registry_;
  const security::CallDecision decision_;
  v1::ImportSpecialistsRequest message_;
  Registry::ImportStream stream_;
  size_t bytes_ = 0;
  bool got_header_ = false;
  bool got_end_ = false;
};

grpc::ServerReadReactor<v1::ImportSpecialistsRequest>* RegistryServiceImpl::ImportSpecialists(
    grpc::CallbackServerContext* ctx, v1::Import* response) {
  return new ImportReactor(ctx, response, this, registry_.load(std::memory_order_acquire));
}

}  // namespace expertise::registry
