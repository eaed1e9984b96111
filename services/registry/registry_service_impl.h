#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_SERVICE_IMPL_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_SERVICE_IMPL_H_

#include <atomic>
#include <functional>
#include <memory>

#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "services/registry/registry_calls.h"

namespace expertise::registry {

// The gRPC face of a Registry: a thin adapter on the callback API, each
// handler one RegistryCalls::Dispatch. Every call is handed to `executor`
// (the store blocks; gRPC's threads must not), refused with UNAVAILABLE
// until calls().SetRegistry() and with RESOURCE_EXHAUSTED when the
// executor's queue is full. Thread-safe.
//
// Security: every call first obeys the CallGate's decision (who is calling,
// may they call this method); the per-object rules go to the Registry as a
// CallAccess. Changes, imports, refusals and reads of contact details are
// written to the audit trail; a change whose "attempt" record cannot be
// written is refused before anything is changed.
class RegistryServiceImpl final : public v1::RegistryService::CallbackService {
 public:
  // `executor` and `gate` must outlive this service.
  RegistryServiceImpl(Executor* executor, security::CallGate* gate) : calls_(executor, gate) {}

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
  grpc::ServerUnaryReactor* ListAuditRecords(grpc::CallbackServerContext* ctx,
                                             const v1::ListAuditRecordsRequest* request,
                                             v1::ListAuditRecordsResponse* response) override;

  // The call machinery (decision, executor, audit trail), shared with the
  // sharing service.
  RegistryCalls& calls() { return calls_; }

 private:
  class ImportReactor;

  RegistryCalls calls_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_SERVICE_IMPL_H_
