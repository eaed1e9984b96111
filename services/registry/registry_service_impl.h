#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_SERVICE_IMPL_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_SERVICE_IMPL_H_

#include <atomic>
#include <functional>
#include <memory>

#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "services/common/executor.h"
#include "services/registry/registry.h"
#include "services/security/audit_log.h"
#include "services/security/grpc_security.h"

namespace expertise::registry {

// Moves the value of a StatusOr-returning call into *out; its status.
template <typename T>
absl::Status StoreResult(absl::StatusOr<T> result, T* out) {
  if (!result.ok()) return result.status();
  *out = *std::move(result);
  return absl::OkStatus();
}

// Error domain in google.rpc.ErrorInfo.
inline constexpr char kErrorDomain[] = "registry.expertise";

// The gRPC face of a Registry: a thin adapter on the callback API. Every
// call is handed to `executor` (the store blocks; gRPC's threads must not),
// refused with UNAVAILABLE until SetRegistry() and with RESOURCE_EXHAUSTED
// when the executor's queue is full. Thread-safe.
//
// Security: every call first obeys the CallGate's decision (who is calling,
// may they call this method); the per-object rules go to the Registry as a
// CallAccess. Changes, imports, refusals and reads of contact details are
// written to the audit trail; a change whose "attempt" record cannot be
// written is refused before anything is changed.
class RegistryServiceImpl final : public v1::RegistryService::CallbackService {
 public:
  // `executor` and `gate` must outlive this service.
  RegistryServiceImpl(Executor* executor, security::CallGate* gate)
      : executor_(executor), gate_(gate) {}

  // Makes the service ready. Called once, after the registry has loaded and
  // its audit trail (which must outlive this service) is open.
  void SetRegistry(std::unique_ptr<Registry> registry, security::AuditLog* audit);

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

  // One authorised call, as the handlers see it.
  struct Call {
    security::Principal caller;
    std::optional<security::Principal> via;
    std::string peer;
    std::string method;
    std::string event_id;
    CallAccess access;
    // Filled by a handler: resources changed (added to the outcome record)
    // and specialists whose contact details are about to be returned.
    std::vector<std::string> changed;
    std::vector<std::string> contact_reads;
  };

  // How a call is recorded in the audit trail.
  enum class Audited {
    kNo,      // reads without contact details, reference data
    kChange,  // an attempt record first (no record, no change), then the outcome
    kReads,   // a record if contact details are returned (no record, no answer)
  };

  // Checks the call's decision, then runs `work` on the executor and
  // finishes the call with its status. `resources` name what the call is
  // about, for the audit trail. Also used by the sharing service.
  grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* ctx, Audited audited,
                                     std::vector<std::string> resources,
                                     std::function<absl::Status(Registry&, Call&)> work);
  // Builds the Call for an allowed decision.
  Call MakeCall(const security::CallDecision& decision, const Registry& registry) const;
  // Strips contact details the caller may not see and notes those returned.
  void Present(Call& call, v1::Specialist* specialist) const;
  // For streams, which finish themselves: the registry once ready (else
  // null), and the audit record of a refused call.
  Registry* registry() const { return registry_.load(std::memory_order_acquire); }
  void RecordRefusal(const security::CallDecision& decision, std::vector<std::string> resources);
  Executor* executor() const { return executor_; }
  security::CallGate* gate() const { return gate_; }

 private:
  class ImportReactor;

  // Audit helpers; run on the executor. RecordAttempt fails when the trail
  // cannot be written. Append writes one record and logs a failure.
  absl::Status Append(security::AuditRecord record);
  absl::Status RecordAttempt(const Call& call, const std::vector<std::string>& resources);
  void RecordOutcome(const Call& call, std::vector<std::string> resources,
                     const absl::Status& status);
  absl::Status RecordContactReads(const Call& call);

  Executor* const executor_;
  security::CallGate* const gate_;
  // Set once by SetRegistry, before registry_ is published (release/acquire
  // through registry_), and used only for calls that saw the registry.
  security::AuditLog* audit_ = nullptr;
  std::atomic<Registry*> registry_{nullptr};  // set once; owned by owned_registry_
  std::unique_ptr<Registry> owned_registry_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_SERVICE_IMPL_H_
