#ifndef EXPERTISE_SERVICES_DIRECTORY_DIRECTORY_SERVICE_H_
#define EXPERTISE_SERVICES_DIRECTORY_DIRECTORY_SERVICE_H_

// The federated directory: serves expertise.registry.v1.RegistryService over
// all regional registries, so every client (expertctl, the importer, the
// load generator) talks to it as to one registry.
//
//   - `regions/-` reads (search, list, capacity summary, region statuses)
//     fan out to every region at once with the caller's deadline (less a
//     margin to merge and answer), and merge; regions that do not answer in
//     time are named in `unreachable` instead of failing the call.
//   - Reads and writes of one region (a `regions/{region}` parent or name,
//     or a record's owning authority) are routed to that region's registry.
//   - Reference data (taxonomy, authorities, regions) is answered locally.
//
// Each handler is one Forwarder shape (forwarding.h); the merging is in
// the gRPC-free plans of federation.h. Nothing here blocks.
//
// Security: every handler first obeys the CallGate's decision; registries
// then apply the per-object rules to the caller the directory names, and
// audit. The directory itself holds no data and no audit trail.

#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "services/directory/forwarding.h"
#include "services/directory/region_pool.h"

namespace expertise::directory {

class DirectoryService final : public registry::v1::RegistryService::CallbackService {
 public:
  // `pool` must outlive the service.
  explicit DirectoryService(const RegionPool* pool) : pool_(pool), forward_(pool) {}

  grpc::ServerUnaryReactor* GetSpecialist(grpc::CallbackServerContext* ctx,
                                          const registry::v1::GetSpecialistRequest* request,
                                          registry::v1::Specialist* response) override;
  grpc::ServerUnaryReactor* ListSpecialists(grpc::CallbackServerContext* ctx,
                                            const registry::v1::ListSpecialistsRequest* request,
                                            registry::v1::ListSpecialistsResponse* response) override;
  grpc::ServerUnaryReactor* SearchSpecialists(grpc::CallbackServerContext* ctx,
                                              const registry::v1::SearchSpecialistsRequest* request,
                                              registry::v1::SearchSpecialistsResponse* response) override;
  grpc::ServerUnaryReactor* CreateSpecialist(grpc::CallbackServerContext* ctx,
                                             const registry::v1::CreateSpecialistRequest* request,
                                             registry::v1::Specialist* response) override;
  grpc::ServerUnaryReactor* UpdateSpecialist(grpc::CallbackServerContext* ctx,
                                             const registry::v1::UpdateSpecialistRequest* request,
                                             registry::v1::Specialist* response) override;
  grpc::ServerUnaryReactor* DeleteSpecialist(grpc::CallbackServerContext* ctx,
                                             const registry::v1::DeleteSpecialistRequest* request,
                                             google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* UpdateCapacity(grpc::CallbackServerContext* ctx,
                                           const registry::v1::UpdateCapacityRequest* request,
                                           registry::v1::Specialist* response) override;
  grpc::ServerUnaryReactor* BatchUpsertSpecialists(
      grpc::CallbackServerContext* ctx, const registry::v1::BatchUpsertSpecialistsRequest* request,
      registry::v1::BatchUpsertSpecialistsResponse* response) override;
  grpc::ServerUnaryReactor* GetCapacitySummary(grpc::CallbackServerContext* ctx,
                                               const registry::v1::GetCapacitySummaryRequest* request,
                                               registry::v1::CapacitySummary* response) override;
  grpc::ServerUnaryReactor* ListTaxonomyTerms(grpc::CallbackServerContext* ctx,
                                              const registry::v1::ListTaxonomyTermsRequest* request,
                                              registry::v1::ListTaxonomyTermsResponse* response) override;
  grpc::ServerUnaryReactor* ListLocalAuthorities(
      grpc::CallbackServerContext* ctx, const registry::v1::ListLocalAuthoritiesRequest* request,
      registry::v1::ListLocalAuthoritiesResponse* response) override;
  grpc::ServerUnaryReactor* ListRegions(grpc::CallbackServerContext* ctx,
                                        const registry::v1::ListRegionsRequest* request,
                                        registry::v1::ListRegionsResponse* response) override;
  grpc::ServerUnaryReactor* ListAuditRecords(grpc::CallbackServerContext* ctx,
                                             const registry::v1::ListAuditRecordsRequest* request,
                                             registry::v1::ListAuditRecordsResponse* response) override;
  grpc::ServerReadReactor<registry::v1::ImportSpecialistsRequest>* ImportSpecialists(
      grpc::CallbackServerContext* ctx, registry::v1::Import* response) override;
  grpc::ServerUnaryReactor* GetImport(grpc::CallbackServerContext* ctx,
                                      const registry::v1::GetImportRequest* request,
                                      registry::v1::Import* response) override;
  grpc::ServerUnaryReactor* ListImportRejects(grpc::CallbackServerContext* ctx,
                                              const registry::v1::ListImportRejectsRequest* request,
                                              registry::v1::ListImportRejectsResponse* response) override;
  grpc::ServerUnaryReactor* GetImportCursor(grpc::CallbackServerContext* ctx,
                                            const registry::v1::GetImportCursorRequest* request,
                                            registry::v1::ImportCursor* response) override;
  grpc::ServerUnaryReactor* GetRegionStatus(grpc::CallbackServerContext* ctx,
                                            const registry::v1::GetRegionStatusRequest* request,
                                            registry::v1::RegionStatus* response) override;
  grpc::ServerUnaryReactor* ListRegionStatuses(
      grpc::CallbackServerContext* ctx, const registry::v1::ListRegionStatusesRequest* request,
      registry::v1::ListRegionStatusesResponse* response) override;

 private:
  // Answers from the directory's own reference data.
  template <typename Response>
  grpc::ServerUnaryReactor* AnswerLocally(grpc::CallbackServerContext* ctx,
                                          const absl::StatusOr<Response>& answer, Response* response) const;

  const RegionPool* const pool_;
  const Forwarder forward_;
};

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_DIRECTORY_SERVICE_H_
