#include "services/registry/registry_service_impl.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "services/rpc/grpc_status.h"
#include "services/registry/page_token.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/logging.h"
#include "services/common/status_macros.h"

namespace expertise::registry {

using Call = RegistryCalls::Call;
using Audited = RegistryCalls::Audited;

grpc::ServerUnaryReactor* RegistryServiceImpl::GetSpecialist(
    grpc::CallbackServerContext* ctx, const v1::GetSpecialistRequest* request,
    v1::Specialist* response) {
  return calls_.Dispatch(ctx, Audited::kReads, {request->name()}, [=, this](Registry& r, Call& call) {
    absl::Status status = StoreResult(r.specialists().Get(*request, call.access), response);
    if (status.ok()) calls_.Present(call, response);
    return status;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListSpecialists(
    grpc::CallbackServerContext* ctx, const v1::ListSpecialistsRequest* request,
    v1::ListSpecialistsResponse* response) {
  return calls_.Dispatch(ctx, Audited::kReads, {request->parent()}, [=, this](Registry& r, Call& call) {
    absl::Status status = StoreResult(r.specialists().List(*request, call.access), response);
    for (v1::Specialist& s : *response->mutable_specialists()) calls_.Present(call, &s);
    return status;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::SearchSpecialists(
    grpc::CallbackServerContext* ctx, const v1::SearchSpecialistsRequest* request,
    v1::SearchSpecialistsResponse* response) {
  return calls_.Dispatch(ctx, Audited::kReads, {request->parent()}, [=, this](Registry& r, Call& call) {
    absl::Status status = StoreResult(r.queries().Search(*request, call.access), response);
    for (v1::SearchResult& result : *response->mutable_results()) {
      calls_.Present(call, result.mutable_specialist());
    }
    return status;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::CreateSpecialist(
    grpc::CallbackServerContext* ctx, const v1::CreateSpecialistRequest* request,
    v1::Specialist* response) {
  return calls_.Dispatch(ctx, Audited::kChange, {request->parent()}, [=, this](Registry& r, Call& call) {
    absl::Status status = StoreResult(r.specialists().Create(*request, call.access), response);
    if (status.ok()) call.changed.push_back(response->name());
    return status;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::UpdateSpecialist(
    grpc::CallbackServerContext* ctx, const v1::UpdateSpecialistRequest* request,
    v1::Specialist* response) {
  return calls_.Dispatch(ctx, Audited::kChange, {request->specialist().name()},
                  [=, this](Registry& r, Call& call) {
                    return StoreResult(r.specialists().Update(*request, call.access), response);
                  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::DeleteSpecialist(
    grpc::CallbackServerContext* ctx, const v1::DeleteSpecialistRequest* request,
    google::protobuf::Empty* /*response*/) {
  return calls_.Dispatch(ctx, Audited::kChange, {request->name()}, [=, this](Registry& r, Call& call) {
    return r.specialists().Delete(*request, call.access);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::UpdateCapacity(
    grpc::CallbackServerContext* ctx, const v1::UpdateCapacityRequest* request,
    v1::Specialist* response) {
  return calls_.Dispatch(ctx, Audited::kChange, {request->name()}, [=, this](Registry& r, Call& call) {
    return StoreResult(r.specialists().UpdateCapacity(*request, call.access), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::BatchUpsertSpecialists(
    grpc::CallbackServerContext* ctx, const v1::BatchUpsertSpecialistsRequest* request,
    v1::BatchUpsertSpecialistsResponse* response) {
  return calls_.Dispatch(ctx, Audited::kChange, {request->parent()}, [=, this](Registry& r, Call& call) {
    absl::Status status = StoreResult(r.specialists().BatchUpsert(*request, call.access), response);
    for (const v1::Specialist& s : response->specialists()) call.changed.push_back(s.name());
    return status;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetCapacitySummary(
    grpc::CallbackServerContext* ctx, const v1::GetCapacitySummaryRequest* request,
    v1::CapacitySummary* response) {
  return calls_.Dispatch(ctx, Audited::kNo, {request->parent()}, [=, this](Registry& r, Call&) {
    return StoreResult(r.queries().GetCapacitySummary(*request), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListTaxonomyTerms(
    grpc::CallbackServerContext* ctx, const v1::ListTaxonomyTermsRequest* request,
    v1::ListTaxonomyTermsResponse* response) {
  return calls_.Dispatch(ctx, Audited::kNo, {}, [=, this](Registry& r, Call&) {
    *response = r.queries().ListTaxonomyTerms(*request);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListLocalAuthorities(
    grpc::CallbackServerContext* ctx, const v1::ListLocalAuthoritiesRequest* request,
    v1::ListLocalAuthoritiesResponse* response) {
  return calls_.Dispatch(ctx, Audited::kNo, {}, [=, this](Registry& r, Call&) {
    return StoreResult(r.queries().ListLocalAuthorities(*request), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListRegions(
    grpc::CallbackServerContext* ctx, const v1::ListRegionsRequest* /*request*/,
    v1::ListRegionsResponse* response) {
  return calls_.Dispatch(ctx, Audited::kNo, {}, [=, this](Registry& r, Call&) {
    *response = r.queries().ListRegions();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetImport(grpc::CallbackServerContext* ctx,
                                                         const v1::GetImportRequest* request,
                                                         v1::Import* response) {
  return calls_.Dispatch(ctx, Audited::kNo, {request->name()}, [=, this](Registry& r, Call& call) {
    return StoreResult(r.imports().Get(*request, call.access), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListImportRejects(
    grpc::CallbackServerContext* ctx, const v1::ListImportRejectsRequest* request,
    v1::ListImportRejectsResponse* response) {
  return calls_.Dispatch(ctx, Audited::kNo, {request->parent()}, [=, this](Registry& r, Call& call) {
    return StoreResult(r.imports().ListRejects(*request, call.access), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetImportCursor(grpc::CallbackServerContext* ctx,
                                                               const v1::GetImportCursorRequest* request,
                                                               v1::ImportCursor* response) {
  return calls_.Dispatch(ctx, Audited::kNo, {request->name()}, [=, this](Registry& r, Call& call) {
    return StoreResult(r.imports().GetCursor(*request, call.access), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetRegionStatus(grpc::CallbackServerContext* ctx,
                                                               const v1::GetRegionStatusRequest* request,
                                                               v1::RegionStatus* response) {
  return calls_.Dispatch(ctx, Audited::kNo, {}, [=, this](Registry& r, Call&) {
    return StoreResult(r.queries().GetRegionStatus(*request), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListRegionStatuses(
    grpc::CallbackServerContext* ctx, const v1::ListRegionStatusesRequest* /*request*/,
    v1::ListRegionStatusesResponse* response) {
  return calls_.Dispatch(ctx, Audited::kNo, {}, [=, this](Registry& r, Call&) {
    *response->add_region_statuses() = r.queries().RegionStatusNow();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListAuditRecords(
    grpc::CallbackServerContext* ctx, const v1::ListAuditRecordsRequest* request,
    v1::ListAuditRecordsResponse* response) {
  return calls_.Dispatch(ctx, Audited::kNo, {request->parent()}, [=, this](Registry& r, Call& call) {
    const RegionInfo& region = r.region();
    if (request->parent() != region.resource_name() &&
        request->parent() != absl::StrCat("regions/", region.code)) {
      return InvalidFieldError("parent", absl::StrCat("must be ", region.resource_name()));
    }
    std::vector<std::string> actors;
    RETURN_IF_ERROR(calls_.gate()->policy().CheckAuditRead(call.caller, region.code, &actors));
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
      ASSIGN_OR_RETURN(std::vector<security::AuditRecord> part, calls_.audit()->Read(query));
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
  ImportReactor(grpc::CallbackServerContext* ctx, v1::Import* response, RegistryCalls* calls, Registry* registry)
      : ctx_(ctx),
        response_(response),
        service_(calls),
        executor_(calls->executor()),
        registry_(registry),
        decision_(calls->gate()->Decision(ctx)) {
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
  RegistryCalls* const service_;
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
  return new ImportReactor(ctx, response, &calls_, calls_.registry());
}

}  // namespace expertise::registry
