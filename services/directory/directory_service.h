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
// Nothing here blocks: every outbound call uses the callback API and the
// call finishes from the last answer's callback.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "expertise/registry/v1/sharing_service.grpc.pb.h"
#include "services/common/clock.h"
#include "services/directory/region_map.h"
#include "services/security/grpc_security.h"

namespace expertise::directory {

inline constexpr char kDirectoryErrorDomain[] = "directory.expertise";

// A status of the directory's own, with the directory's ErrorInfo domain.
grpc::Status Error(const absl::Status& status);
// A region's answer passed on, its message prefixed with the region's name.
grpc::Status FromRegion(const std::string& region, const grpc::Status& status);

struct DirectoryOptions {
  std::vector<RegionEndpoint> regions;
  // Longest wait for a region when the caller gives no tighter deadline.
  absl::Duration region_timeout = absl::Seconds(5);
  Clock* clock = nullptr;  // RealClock() when null
  // Decides who each call is for; required. Not owned.
  security::CallGate* gate = nullptr;
  // How the directory reaches the registries (its own service identity);
  // each call carries the caller it acts for (security::kOnBehalfOfKey).
  security::ClientSecurityOptions upstream;
};

// Security: every handler first obeys the CallGate's decision; registries
// then apply the per-object rules to the caller the directory names, and
// audit. The directory itself holds no data and no audit trail.
class DirectoryService final : public registry::v1::RegistryService::CallbackService {
 public:
  // Creates one channel per region (connected lazily; keepalive on).
  explicit DirectoryService(DirectoryOptions options);
  ~DirectoryService() override;

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

  // The configured regions' resource names, in order.
  const std::vector<std::string>& region_names() const { return region_names_; }
  // Each configured region's id and whether it answered the last fan-out
  // that asked it (true until the first). Thread-safe; read by metrics.
  std::vector<std::pair<std::string, bool>> RegionsAnswering() const {
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& b : backends_) out.emplace_back(b->region->id, b->answering.load());
    return out;
  }

 private:
  friend class DirectorySharingService;
  struct Backend {
    const RegionInfo* region;
    std::string target;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<registry::v1::RegistryService::Stub> stub;
    std::unique_ptr<registry::v1::CapacitySharingService::Stub> sharing;
    // Whether the last fan-out heard from the region: a change is logged
    // once, not every query while a region is down.
    std::atomic<bool> answering{true};
  };
  class ImportProxy;

  // The backend of a region given as any form FindRegion accepts; nullptr
  // with *error set when unknown or not configured.
  const Backend* BackendFor(const RegionInfo* region, const char* field, grpc::Status* error) const;
  const Backend* BackendForParent(const std::string& parent, const char* field, grpc::Status* error) const;
  // `regions/{region}/...` names.
  const Backend* BackendForName(const std::string& name, const char* field, grpc::Status* error) const;
  const Backend* BackendForAuthority(const std::string& code, const char* field, grpc::Status* error) const;
  // A client context for a call made on behalf of `ctx`: cancellation
  // propagated, deadline the caller's less a margin; for a fan-out
  // (`fan_out`) also at most region_timeout. A routed call (a write, say)
  // gets all the time the caller gave, so it is not cut short while the
  // region may still commit it.
  std::unique_ptr<grpc::ClientContext> ChildContext(grpc::CallbackServerContext* ctx, bool fan_out) const;
  // Finishes and returns the call's reactor if the CallGate refused the
  // call; nullptr if it may go ahead.
  grpc::ServerUnaryReactor* RefuseIfDenied(grpc::CallbackServerContext* ctx) const;

  // Forwards one unary call to `backend` and finishes with its answer; with
  // no backend (the region could not be found) finishes with `error`.
  // `keep_alive` holds a rewritten request until the call is done.
  template <typename Request, typename Response, typename Invoke>
  grpc::ServerUnaryReactor* Route(grpc::CallbackServerContext* ctx, const Backend* backend,
                                  const grpc::Status& error, const Request* request, Response* response,
                                  Invoke invoke, std::shared_ptr<const void> keep_alive = nullptr);
  // Sends requests[i] (when set) to region i, and calls `done` once with
  // every answer (nullptr for a region not asked or not answering, after
  // logging why) and every region's status, or with the first error that is
  // the caller's. With `not_found_is_an_answer`, NOT_FOUND means the region
  // answered "not here" rather than that it is unreachable.
  template <typename Request, typename Response, typename Invoke, typename Done>
  void FanOut(grpc::CallbackServerContext* ctx, const char* method,
              std::vector<std::optional<Request>> requests, Invoke invoke, Done done,
              bool not_found_is_an_answer = false);

  DirectoryOptions options_;
  Clock* clock_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<std::string> region_names_;
};

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_DIRECTORY_SERVICE_H_
