#include "services/registry/server.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "services/common/errors.h"
#include "services/common/logging.h"
#include "services/common/server_util.h"
#include "services/registry/registry.h"
#include "services/registry/registry_service_impl.h"
#include "services/registry/sharing_service_impl.h"

namespace expertise::registry {
int RunRegistryServer(const ServerOptions& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // reloads the keyring
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto log = GetLogger("registry");
  const RegionInfo* region = ReferenceData::Get().FindRegion(options.region);
  if (!region) {
    LogEvent(*log, spdlog::level::err, "unknown_region", {{"region", options.region}});
    fprintf(stderr, "expertise-registry: unknown region '%s': use E12000001 to E12000009\n",
            options.region.c_str());
    return 2;
  }
  absl::StatusOr<security::ServerSecurity> server_security =
      security::SetUpServerSecurity(options.security, options.listen, kErrorDomain);
  if (!server_security.ok()) {
    LogEvent(*log, spdlog::level::err, "security_setup_failed",
             {{"error", std::string(server_security.status().message())}});
    fprintf(stderr, "expertise-registry: %s\n", std::string(server_security.status().message()).c_str());
    return 2;
  }
  Executor executor(options.worker_threads, options.max_queued_calls);
  RegistryServiceImpl service(&executor, server_security->gate.get());
  SharingServiceImpl sharing(&service);

  // Metrics and the probe port; declared before the server, whose
  // interceptors point into it.
  observability::ServerObservability observability(options.observability, "registry");
  observability.grpc_metrics().InitializeService(v1::RegistryService::service_full_name());
  observability.grpc_metrics().InitializeService(v1::CapacitySharingService::service_full_name());

  grpc::EnableDefaultHealthCheckService(true);
  if (options.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  server_security->Install(&builder, options.listen, &port, observability.InterceptorFactories());
  builder.RegisterService(&service);
  builder.RegisterService(&sharing);
  // gRPC's default (4 MiB): larger requests get RESOURCE_EXHAUSTED from the
  // library; imports stream in batches well under it.
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  ApplyServerKeepalive(&builder);
  if (!options.reflection) DisableReflection(&builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    LogEvent(*log, spdlog::level::err, "listen_failed", {{"listen", options.listen}});
    fprintf(stderr, "expertise-registry: cannot listen on %s\n", options.listen.c_str());
    return 1;
  }
  if (absl::Status started = observability.Start(); !started.ok()) {
    LogEvent(*log, spdlog::level::err, "observability_failed", {{"error", std::string(started.message())}});
    fprintf(stderr, "expertise-registry: %s\n", std::string(started.message()).c_str());
    server->Shutdown(std::chrono::system_clock::now());
    return 1;
  }
  // Every status set here is mirrored on the probe port (--health-listen).
  auto* health = observability.MirrorHealth(server->GetHealthCheckService());
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
    server->Shutdown(std::chrono::system_clock::now());
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
    server->Shutdown(std::chrono::system_clock::now());
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
  service.SetRegistry(*std::move(registry), audit->get());
  // Moves support requests and commitments on with the clock and takes the
  // daily capacity snapshot.
  absl::Notification stop_sweeping;
  security::AuditLog* const trail = audit->get();
  std::thread sweeper([&] {
    do {
      // Clock-driven transitions are audited like callers' changes: an
      // attempt record first (no record, no change), then the outcome.
      const std::string event_id = absl::StrCat("sweep-", absl::ToUnixMicros(absl::Now()));
      std::vector<std::string> changing;
      absl::StatusOr<int> swept =
          registry_ptr->Sweep([&](const std::vector<std::string>& resources) -> absl::Status {
            changing = resources;
            if (changing.size() > security::kAuditMaxResources) changing.resize(security::kAuditMaxResources);
            security::AuditRecord attempt;
            attempt.event_id = event_id;
            attempt.phase = "attempt";
            attempt.actor = "system/sweep";
            attempt.action = "Sweep";
            attempt.resources = changing;
            attempt.detail = "deadlines, start and end dates";
            return trail->Append(std::move(attempt)).status();
          });
      if (!changing.empty()) {
        security::AuditRecord outcome;
        outcome.event_id = event_id;
        outcome.phase = "outcome";
        outcome.actor = "system/sweep";
        outcome.action = "Sweep";
        outcome.resources = changing;
        outcome.outcome = absl::StatusCodeToString(swept.status().code());
        (void)trail->Append(std::move(outcome));
      }
      if (!swept.ok()) {
        LogEvent(*log, spdlog::level::err, "sweep_failed",
                 {{"error", std::string(swept.status().message())}});
      } else if (*swept > 0) {
        LogEvent(*log, spdlog::level::info, "swept", {{"changed", *swept}});
      }
    } while (!stop_sweeping.WaitForNotificationWithTimeout(
        absl::Seconds(options.sweep_interval_seconds)));
  });
  // Replicas sharing a PostgreSQL database: pick up the others' writes so
  // reads here see them within about one poll interval.
  absl::Notification stop_following;
  std::thread follower;
  if (options.store.kind == "postgres") {
    follower = std::thread([&] {
      bool failing = false;
      while (!stop_following.WaitForNotificationWithTimeout(
          absl::Milliseconds(options.replica_poll_ms))) {
        const absl::Status refreshed = registry_ptr->Refresh();
        if (ErrorReason(refreshed) == "STORE_WENT_BACK") {
          // Serving this view would mix two histories: out of rotation
          // until restarted (docs/operations.md, restore).
          LogEvent(*log, spdlog::level::err, "store_went_back",
                   {{"error", std::string(refreshed.message())}});
          health->SetServingStatus(false);
          health->SetServingStatus(service_name, false);
          break;
        }
        if (!refreshed.ok() && !failing) {
          LogEvent(*log, spdlog::level::warn, "replica_refresh_failed",
                   {{"error", std::string(refreshed.message())}});
        } else if (refreshed.ok() && failing) {
          LogEvent(*log, spdlog::level::info, "replica_refresh_recovered",
                   {{"revision", registry_ptr->applied_revision()}});
        }
        failing = !refreshed.ok();
      }
    });
  }
  health->SetServingStatus(true);
  health->SetServingStatus(service_name, true);
  const double load_ms = std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - load_start).count();
  if (!options.port_file.empty() && !WritePortFile(options.port_file, port)) {
    LogEvent(*log, spdlog::level::err, "port_file_failed", {{"path", options.port_file}});
  }
  LogEvent(*log, spdlog::level::info, "serving",
           {{"region", region->resource_name()},
            {"listen", options.listen},
            {"port", port},
            {"specialists", records},
            {"load_ms", load_ms}});

  const int signal_number = security::WaitForStopSignal(signals, server_security->gate.get());
  LogEvent(*log, spdlog::level::info, "shutting_down",
           {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  health->SetServingStatus(false);
  stop_sweeping.Notify();
  sweeper.join();
  stop_following.Notify();
  if (follower.joinable()) follower.join();
  sharing.EndWatches();
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::seconds(options.shutdown_grace_seconds));
  server->Wait();
  observability.Stop();
  executor.Shutdown();
  LogEvent(*log, spdlog::level::info, "stopped");
  return 0;
}

}  // namespace expertise::registry
