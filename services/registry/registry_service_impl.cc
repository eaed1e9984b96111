#include "services/registry/registry_service_impl.h"

#include <chrono>
#include <utility>

#include "services/common/grpc_status.h"
#include "services/common/errors.h"
#include "services/common/logging.h"

namespace expertise::registry {
namespace {

spdlog::logger& Log() {
  static spdlog::logger* const logger = GetLogger("registry.rpc").get();
  return *logger;
}

// Assigns the result of a StatusOr-returning call to *out.
template <typename T>
absl::Status Store(absl::StatusOr<T> result, T* out) {
  if (!result.ok()) return result.status();
  *out = *std::move(result);
  return absl::OkStatus();
}

}  // namespace

void RegistryServiceImpl::SetRegistry(std::unique_ptr<Registry> registry) {
  owned_registry_ = std::move(registry);
  registry_.store(owned_registry_.get(), std::memory_order_release);
}

grpc::ServerUnaryReactor* RegistryServiceImpl::Dispatch(
    grpc::CallbackServerContext* ctx, const char* method,
    std::function<absl::Status(Registry&)> work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Registry* registry = registry_.load(std::memory_order_acquire);
  if (registry == nullptr) {
    reactor->Finish(ToGrpcStatus(
        absl::UnavailableError("the registry is starting up; retry shortly"), kErrorDomain));
    return reactor;
  }
  const auto start = std::chrono::steady_clock::now();
  const bool queued = executor_->Submit([ctx, reactor, registry, method, start,
                                         work = std::move(work)] {
    absl::Status status;
    if (ctx->IsCancelled()) {
      status = absl::CancelledError("the call was cancelled before it ran");
    } else if (ctx->deadline() <= std::chrono::system_clock::now()) {
      status = absl::DeadlineExceededError("the deadline passed while the call was queued");
    } else {
      status = work(*registry);
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    LogEvent(Log(), status.ok() ? spdlog::level::debug : spdlog::level::info, "rpc",
             {{"method", method},
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
  return Dispatch(ctx, "GetSpecialist",
                  [=](Registry& r) { return Store(r.GetSpecialist(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListSpecialists(
    grpc::CallbackServerContext* ctx, const v1::ListSpecialistsRequest* request,
    v1::ListSpecialistsResponse* response) {
  return Dispatch(ctx, "ListSpecialists",
                  [=](Registry& r) { return Store(r.ListSpecialists(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::SearchSpecialists(
    grpc::CallbackServerContext* ctx, const v1::SearchSpecialistsRequest* request,
    v1::SearchSpecialistsResponse* response) {
  return Dispatch(ctx, "SearchSpecialists",
                  [=](Registry& r) { return Store(r.SearchSpecialists(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::CreateSpecialist(
    grpc::CallbackServerContext* ctx, const v1::CreateSpecialistRequest* request,
    v1::Specialist* response) {
  return Dispatch(ctx, "CreateSpecialist",
                  [=](Registry& r) { return Store(r.CreateSpecialist(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::UpdateSpecialist(
    grpc::CallbackServerContext* ctx, const v1::UpdateSpecialistRequest* request,
    v1::Specialist* response) {
  return Dispatch(ctx, "UpdateSpecialist",
                  [=](Registry& r) { return Store(r.UpdateSpecialist(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::DeleteSpecialist(
    grpc::CallbackServerContext* ctx, const v1::DeleteSpecialistRequest* request,
    google::protobuf::Empty* /*response*/) {
  return Dispatch(ctx, "DeleteSpecialist",
                  [=](Registry& r) { return r.DeleteSpecialist(*request); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::UpdateCapacity(
    grpc::CallbackServerContext* ctx, const v1::UpdateCapacityRequest* request,
    v1::Specialist* response) {
  return Dispatch(ctx, "UpdateCapacity",
                  [=](Registry& r) { return Store(r.UpdateCapacity(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::BatchUpsertSpecialists(
    grpc::CallbackServerContext* ctx, const v1::BatchUpsertSpecialistsRequest* request,
    v1::BatchUpsertSpecialistsResponse* response) {
  return Dispatch(ctx, "BatchUpsertSpecialists", [=](Registry& r) {
    return Store(r.BatchUpsertSpecialists(*request), response);
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetCapacitySummary(
    grpc::CallbackServerContext* ctx, const v1::GetCapacitySummaryRequest* request,
    v1::CapacitySummary* response) {
  return Dispatch(ctx, "GetCapacitySummary",
                  [=](Registry& r) { return Store(r.GetCapacitySummary(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListTaxonomyTerms(
    grpc::CallbackServerContext* ctx, const v1::ListTaxonomyTermsRequest* request,
    v1::ListTaxonomyTermsResponse* response) {
  return Dispatch(ctx, "ListTaxonomyTerms", [=](Registry& r) {
    *response = r.ListTaxonomyTerms(*request);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListLocalAuthorities(
    grpc::CallbackServerContext* ctx, const v1::ListLocalAuthoritiesRequest* request,
    v1::ListLocalAuthoritiesResponse* response) {
  return Dispatch(ctx, "ListLocalAuthorities",
                  [=](Registry& r) { return Store(r.ListLocalAuthorities(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListRegions(
    grpc::CallbackServerContext* ctx, const v1::ListRegionsRequest* /*request*/,
    v1::ListRegionsResponse* response) {
  return Dispatch(ctx, "ListRegions", [=](Registry& r) {
    *response = r.ListRegions();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetImport(grpc::CallbackServerContext* ctx,
                                                         const v1::GetImportRequest* request,
                                                         v1::Import* response) {
  return Dispatch(ctx, "GetImport", [=](Registry& r) { return Store(r.GetImport(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListImportRejects(
    grpc::CallbackServerContext* ctx, const v1::ListImportRejectsRequest* request,
    v1::ListImportRejectsResponse* response) {
  return Dispatch(ctx, "ListImportRejects",
                  [=](Registry& r) { return Store(r.ListImportRejects(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetImportCursor(grpc::CallbackServerContext* ctx,
                                                               const v1::GetImportCursorRequest* request,
                                                               v1::ImportCursor* response) {
  return Dispatch(ctx, "GetImportCursor",
                  [=](Registry& r) { return Store(r.GetImportCursor(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetRegionStatus(grpc::CallbackServerContext* ctx,
                                                               const v1::GetRegionStatusRequest* request,
                                                               v1::RegionStatus* response) {
  return Dispatch(ctx, "GetRegionStatus",
                  [=](Registry& r) { return Store(r.GetRegionStatus(*request), response); });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListRegionStatuses(
    grpc::CallbackServerContext* ctx, const v1::ListRegionStatusesRequest* /*request*/,
    v1::ListRegionStatusesResponse* response) {
  return Dispatch(ctx, "ListRegionStatuses", [=](Registry& r) {
    *response->add_region_statuses() = r.RegionStatusNow();
    return absl::OkStatus();
  });
}

// Reads the whole import stream, checking its shape as it arrives, then
// hands it to the executor. Memory is bounded by the registry's import
// limits, checked per message.
class RegistryServiceImpl::ImportReactor final
    : public grpc::ServerReadReactor<v1::ImportSpecialistsRequest> {
 public:
  ImportReactor(grpc::CallbackServerContext* ctx, v1::Import* response, Executor* executor,
                Registry* registry)
      : ctx_(ctx), response_(response), executor_(executor), registry_(registry) {
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
                     "IMPORT_INCOMPLETE"),
          kErrorDomain));
      return;
    }
    const bool queued = executor_->Submit([this] {
      absl::Status status;
      if (ctx_->IsCancelled()) {
        status = absl::CancelledError("the import was cancelled before it ran; nothing was imported");
      } else {
        absl::StatusOr<v1::Import> result = registry_->ImportSpecialists(std::move(stream_));
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
  Executor* const executor_;
  Registry* const registry_;
  v1::ImportSpecialistsRequest message_;
  Registry::ImportStream stream_;
  size_t bytes_ = 0;
  bool got_header_ = false;
  bool got_end_ = false;
};

grpc::ServerReadReactor<v1::ImportSpecialistsRequest>* RegistryServiceImpl::ImportSpecialists(
    grpc::CallbackServerContext* ctx, v1::Import* response) {
  return new ImportReactor(ctx, response, executor_, registry_.load(std::memory_order_acquire));
}

}  // namespace expertise::registry
