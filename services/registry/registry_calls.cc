#include "services/registry/registry_calls.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/logging.h"
#include "services/rpc/grpc_status.h"

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
void PresentTo(const security::AccessPolicy& policy, RegistryCalls::Call& call,
             v1::Specialist* specialist) {
  policy.Minimise(call.caller, specialist);
  if (specialist->has_work_contact() &&
      (!specialist->work_contact().email().empty() || !specialist->work_contact().phone().empty())) {
    call.contact_reads.push_back(specialist->name());
  }
}

}  // namespace

void RegistryCalls::Present(Call& call, v1::Specialist* specialist) const {
  PresentTo(gate_->policy(), call, specialist);
}

void RegistryCalls::SetRegistry(std::unique_ptr<Registry> registry,
                                      security::AuditLog* audit) {
  audit_ = audit;
  owned_registry_ = std::move(registry);
  registry_.store(owned_registry_.get(), std::memory_order_release);
}

RegistryCalls::Call RegistryCalls::MakeCall(const security::CallDecision& decision,
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

absl::Status RegistryCalls::Append(security::AuditRecord record) {
  const std::string method = record.action;
  absl::StatusOr<security::AuditRecord> written = audit_->Append(std::move(record));
  if (written.ok()) return absl::OkStatus();
  LogEvent(Log(), spdlog::level::err, "audit_write_failed",
           {{"method", method}, {"error", std::string(written.status().message())}});
  return written.status();
}

absl::Status RegistryCalls::RecordAttempt(const Call& call,
                                                const std::vector<std::string>& resources) {
  absl::Status written = Append(
      NewRecord(call.event_id, "attempt", call.caller, call.via, call.method, call.peer, resources));
  if (written.ok()) return written;
  return WithReason(absl::UnavailableError(absl::StrCat(
                        "the change was refused because the audit trail cannot be written (",
                        written.message(), "); nothing was changed")),
                    reasons::kAuditUnavailable);
}

void RegistryCalls::RecordOutcome(const Call& call, std::vector<std::string> resources,
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

absl::Status RegistryCalls::RecordContactReads(const Call& call) {
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

void RegistryCalls::RecordRefusal(const security::CallDecision& decision,
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

grpc::ServerUnaryReactor* RegistryCalls::Dispatch(
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

}  // namespace expertise::registry
