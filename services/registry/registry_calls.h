#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_CALLS_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_CALLS_H_

// How a registry handler runs (the registry's Dispatch pattern), shared by
// the registry service and the sharing service: the CallGate's decision
// first, then the work on the executor (the store blocks; gRPC's threads
// must not) with the caller's CallAccess, and the audit trail: an attempt
// record before a change (no record, no change), the outcome after it, and
// a record of contact details returned.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
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

class RegistryCalls {
 public:
  // `executor` and `gate` must outlive this object.
  RegistryCalls(Executor* executor, security::CallGate* gate) : executor_(executor), gate_(gate) {}
  RegistryCalls(const RegistryCalls&) = delete;
  RegistryCalls& operator=(const RegistryCalls&) = delete;

  // Makes the services ready. Called once, after the registry has loaded and
  // its audit trail (which must outlive this object) is open.
  void SetRegistry(std::unique_ptr<Registry> registry, security::AuditLog* audit);

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
  // For a stream's own audit records, on the executor: RecordAttempt fails
  // when the trail cannot be written.
  absl::Status RecordAttempt(const Call& call, const std::vector<std::string>& resources);
  void RecordOutcome(const Call& call, std::vector<std::string> resources, const absl::Status& status);
  Executor* executor() const { return executor_; }
  security::CallGate* gate() const { return gate_; }
  // The audit trail, for reading it (ListAuditRecords); null until ready.
  security::AuditLog* audit() const { return audit_; }

 private:
  // Audit helpers; run on the executor. Append writes one record and logs
  // a failure.
  absl::Status Append(security::AuditRecord record);
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

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_CALLS_H_
