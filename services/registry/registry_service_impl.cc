#include "services/registry/registry_service_impl.h"

#include <chrono>
#include <utility>

#include "services/common/grpc_status.h"
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

}  // namespace expertise::registry
