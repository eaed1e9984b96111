#include "services/registry/server.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include <grpcpp/health_check_service_interface.h>

#include "services/common/errors.h"
#include "services/common/logging.h"
#include "services/common/periodic_task.h"
#include "services/registry/background.h"
#include "services/registry/registry.h"
#include "services/server/server_runner.h"
#include "services/registry/registry_service_impl.h"
#include "services/registry/sharing_service_impl.h"

namespace expertise::registry {
int RunRegistryServer(const ServerOptions& options) {
  auto log = GetLogger("registry");
  server::ServerRunner runner({.program = "expertise-registry",
                               .listen = options.listen,
                               .port_file = options.port_file,
                               .reflection = options.reflection,
                               .shutdown_grace_seconds = options.shutdown_grace_seconds},
                              log);
  const RegionInfo* region = ReferenceData::Get().FindRegion(options.region);
  if (!region) {
    LogEvent(*log, spdlog::level::err, "unknown_region", {{"region", options.region}});
    fprintf(stderr, "expertise-registry: unknown region '%s': use E12000001 to E12000009\n",
            options.region.c_str());
    return 2;
  }
  absl::StatusOr<security::ServerSecurity> server_security =
      security::SetUpServerSecurity(options.security, options.listen, kErrorDomain);
  if (!server_security.ok()) return runner.Fail("security_setup_failed", server_security.status(), 2);
  Executor executor(options.worker_threads, options.max_queued_calls);
  RegistryServiceImpl service(&executor, server_security->gate.get());
  SharingServiceImpl sharing(&service.calls());

  // Metrics and the probe port; declared before the server, whose
  // interceptors point into it.
  observability::ServerObservability observability(options.observability, "registry");
  observability.grpc_metrics().InitializeService(v1::RegistryService::service_full_name());
  observability.grpc_metrics().InitializeService(v1::CapacitySharingService::service_full_name());
  if (!runner.Start(&*server_security, &observability, {&service, &sharing}).ok()) return 1;
  grpc::HealthCheckServiceInterface* health = runner.health();
  const std::string service_name = v1::RegistryService::service_full_name();
  // Not ready until the database is open and loaded.
  health->SetServingStatus(false);

  const auto load_start = std::chrono::steady_clock::now();
  RegistryOptions registry_options;
  registry_options.region = region->code;
  auto store = OpenStore(options.store);
  absl::StatusOr<std::unique_ptr<Registry>> registry =
      store.ok() ? Registry::Open(std::move(registry_options), *std::move(store))
                 : absl::StatusOr<std::unique_ptr<Registry>>(store.status());
  if (!registry.ok()) {
    LogEvent(*log, spdlog::level::err, "open_failed",
             {{"store", DescribeStore(options.store)},
              {"error", std::string(registry.status().message())}});
    fprintf(stderr, "expertise-registry: %s\n", std::string(registry.status().message()).c_str());
    runner.StopNow();
    return 1;
  }
  // The trail is opened after the database, whose lock says first (and
  // more clearly) that another registry holds this region.
  const std::string audit_path =
      options.audit_log_path.empty() ? options.store.sqlite_path + ".audit.jsonl"
                                     : options.audit_log_path;
  absl::StatusOr<std::unique_ptr<security::AuditLog>> audit =
      security::AuditLog::Open(audit_path, RealClock());
  if (!audit.ok()) {
    LogEvent(*log, spdlog::level::err, "audit_open_failed",
             {{"path", audit_path}, {"error", std::string(audit.status().message())}});
    fprintf(stderr, "expertise-registry: audit trail %s: %s\n", audit_path.c_str(),
            std::string(audit.status().message()).c_str());
    runner.StopNow();
    return 1;
  }
  const size_t records = (*registry)->size();
  Registry* const registry_ptr = registry->get();
  // Read at scrape time; unregistered (end of scope) before the registry goes.
  auto specialists_metric = observability.metrics().AddCallbackGauge(
      "expertise_registry_specialists", "Specialist records held by this registry.",
      [registry_ptr] { return static_cast<double>(registry_ptr->size()); });
  if (!specialists_metric.ok()) {
    LogEvent(*log, spdlog::level::warn, "metric_not_registered",
             {{"error", std::string(specialists_metric.status().message())}});
  }
  // Replicas of one region should agree; one that lags has stopped seeing
  // the others' writes (docs/operations.md).
  auto revision_metric = observability.metrics().AddCallbackGauge(
      "expertise_registry_store_revision",
      "The store revision this registry's in-memory view reflects.",
      [registry_ptr] { return static_cast<double>(registry_ptr->applied_revision()); });
  if (!revision_metric.ok()) {
    LogEvent(*log, spdlog::level::warn, "metric_not_registered",
             {{"error", std::string(revision_metric.status().message())}});
  }
  service.calls().SetRegistry(*std::move(registry), audit->get());
  std::unique_ptr<PeriodicTask> sweeper = StartSweeper(
      registry_ptr, audit->get(), absl::Seconds(options.sweep_interval_seconds), log);
  std::unique_ptr<PeriodicTask> follower;
  if (options.store.kind == "postgres") {
    follower = StartReplicaFollower(
        registry_ptr, absl::Milliseconds(options.replica_poll_ms),
        [health, service_name] {
          health->SetServingStatus(false);
          health->SetServingStatus(service_name, false);
        },
        log);
  }
  health->SetServingStatus(true);
  health->SetServingStatus(service_name, true);
  const double load_ms = std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - load_start).count();
  runner.WritePortFile();
  LogEvent(*log, spdlog::level::info, "serving",
           {{"region", region->resource_name()},
            {"listen", options.listen},
            {"port", runner.port()},
            {"specialists", records},
            {"load_ms", load_ms}});

  runner.WaitForStop(server_security->gate.get());
  sweeper->Stop();
  if (follower) follower->Stop();
  sharing.EndWatches();
  runner.Shutdown(&observability);
  executor.Shutdown();
  return 0;
}

}  // namespace expertise::registry
