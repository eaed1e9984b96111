#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_SERVICE_IMPL_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_SERVICE_IMPL_H_

#include <atomic>
#include <functional>
#include <memory>

#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "services/common/executor.h"
#include "services/registry/registry.h"

namespace expertise::registry {

// Error domain in google.rpc.ErrorInfo.
inline constexpr char kErrorDomain[] = "registry.expertise";

// The gRPC face of a Registry: a thin adapter on the callback API. Every
// call is handed to `executor` (the store blocks; gRPC's threads must not),
// refused with UNAVAILABLE until SetRegistry() and with RESOURCE_EXHAUSTED
// when the executor's queue is full. Thread-safe.
class RegistryServiceImpl final : public v1::RegistryService::CallbackService {
 public:
  // `executor` must outlive this service.
  explicit RegistryServiceImpl(Executor* executor) : executor_(executor) {}

  // Makes the service ready. Called once, after the registry has loaded.
  void SetRegistry(std::unique_ptr<Registry> registry);

  grpc::ServerUnaryReactor* GetSpecialist(grpc::CallbackServerContext* ctx,
                                          const v1::GetSpecialistRequest* request,
                                          v1::Specialist* response) override;
  grpc::ServerUnaryReactor* ListSpecialists(grpc::CallbackServerContext* ctx,
                                            const v1::ListSpecialistsRequest* request,
                                            v1::ListSpecialistsResponse* response) override;
  grpc::ServerUnaryReactor* SearchSpecialists(grpc::CallbackServerContext* ctx,
                                              const v1::SearchSpecialistsRequest* request,
                                              v1::SearchSpecialistsResponse* response) override;
  grpc::ServerUnaryReactor* CreateSpecialist(grpc::CallbackServerContext* ctx,
                                             const v1::CreateSpecialistRequest* request,
                                             v1::Specialist* response) override;
  grpc::ServerUnaryReactor* UpdateSpecialist(grpc::CallbackServerContext* ctx,
                                             const v1::UpdateSpecialistRequest* request,
                                             v1::Specialist* response) override;
  grpc::ServerUnaryReactor* DeleteSpecialist(grpc::CallbackServerContext* ctx,
                                             const v1::DeleteSpecialistRequest* request,
                                             google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* UpdateCapacity(grpc::CallbackServerContext* ctx,
                                           const v1::UpdateCapacityRequest* request,
                                           v1::Specialist* response) override;
  grpc::ServerUnaryReactor* BatchUpsertSpecialists(
      grpc::CallbackServerContext* ctx, const v1::BatchUpsertSpecialistsRequest* request,
      v1::BatchUpsertSpecialistsResponse* response) override;
  grpc::ServerUnaryReactor* GetCapacitySummary(grpc::CallbackServerContext* ctx,
                                               const v1::GetCapacitySummaryRequest* request,
                                               v1::CapacitySummary* response) override;
  grpc::ServerUnaryReactor* ListTaxonomyTerms(grpc::CallbackServerContext* ctx,
                                              const v1::ListTaxonomyTermsRequest* request,
                                              v1::ListTaxonomyTermsResponse* response) override;
  grpc::ServerUnaryReactor* ListLocalAuthorities(
      grpc::CallbackServerContext* ctx, const v1::ListLocalAuthoritiesRequest* request,
      v1::ListLocalAuthoritiesResponse* response) override;
  grpc::ServerUnaryReactor* ListRegions(grpc::CallbackServerContext* ctx,
                                        const v1::ListRegionsRequest* request,
                                        v1::ListRegionsResponse* response) override;
  // Gathers the stream on gRPC's threads (appending only), then runs the
  // import on the executor once the client has sent everything.
  grpc::ServerReadReactor<v1::ImportSpecialistsRequest>* ImportSpecialists(
      grpc::CallbackServerContext* ctx, v1::Import* response) override;
  grpc::ServerUnaryReactor* GetImport(grpc::CallbackServerContext* ctx,
                                      const v1::GetImportRequest* request,
                                      v1::Import* response) override;
  grpc::ServerUnaryReactor* ListImportRejects(grpc::CallbackServerContext* ctx,
                                              const v1::ListImportRejectsRequest* request,
                                              v1::ListImportRejectsResponse* response) override;
  grpc::ServerUnaryReactor* GetImportCursor(grpc::CallbackServerContext* ctx,
                                            const v1::GetImportCursorRequest* request,
                                            v1::ImportCursor* response) override;
  grpc::ServerUnaryReactor* GetRegionStatus(grpc::CallbackServerContext* ctx,
                                            const v1::GetRegionStatusRequest* request,
                                            v1::RegionStatus* response) override;
  grpc::ServerUnaryReactor* ListRegionStatuses(grpc::CallbackServerContext* ctx,
                                               const v1::ListRegionStatusesRequest* request,
                                               v1::ListRegionStatusesResponse* response) override;

 private:
  class ImportReactor;

  // Runs `work` on the executor and finishes the call with its status.
  grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* ctx, const char* method,
                                     std::function<absl::Status(Registry&)> work);

  Executor* const executor_;
  std::atomic<Registry*> registry_{nullptr};  // set once; owned by owned_registry_
  std::unique_ptr<Registry> owned_registry_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_SERVICE_IMPL_H_
