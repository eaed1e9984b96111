#include "services/directory/directory_server.h"

#include <cstdio>
#include <memory>

#include "absl/strings/str_join.h"
#include "services/common/logging.h"
#include "services/server/server_runner.h"
#include "services/directory/directory_service.h"
#include "services/directory/region_map.h"
#include "services/directory/region_pool.h"
#include "services/directory/sharing_service.h"

namespace expertise::directory {

int RunDirectoryServer(const DirectoryServerOptions& options) {
  auto log = GetLogger("directory");
  server::ServerRunner runner({.program = "expertise-directory",
                               .listen = options.listen,
                               .port_file = options.port_file,
                               .reflection = options.reflection,
                               .shutdown_grace_seconds = options.shutdown_grace_seconds},
                              log);
  absl::StatusOr<std::vector<RegionEndpoint>> regions = LoadRegionMap(options.regions_file);
  if (!regions.ok()) {
    std::fprintf(stderr, "expertise-directory: %s\n", std::string(regions.status().message()).c_str());
    return 2;
  }
  std::vector<std::string> missing;
  for (const RegionInfo& region : ReferenceData::Get().regions()) {
    bool listed = false;
    for (const RegionEndpoint& e : *regions) listed |= e.region == &region;
    if (!listed) missing.push_back(region.resource_name());
  }
  if (!missing.empty()) {
    LogEvent(*log, spdlog::level::warn, "regions_not_configured",
             {{"regions", absl::StrJoin(missing, ",")},
              {"note", "national searches cover only the configured regions"}});
  }
  absl::StatusOr<security::ServerSecurity> server_security =
      security::SetUpServerSecurity(options.security, options.listen, kDirectoryErrorDomain);
  // The upstream identity is checked once here, so a typo in a path fails
  // the start instead of every region.
  absl::Status upstream_ok =
      regions->empty() ? absl::OkStatus()
                       : security::NewClientChannel(regions->front().target, options.upstream).status();
  if (server_security.ok() && !upstream_ok.ok()) server_security = upstream_ok;
  if (server_security.ok() && options.upstream.tls.cert.empty() && options.upstream.token.empty()) {
    server_security = absl::FailedPreconditionError(
        "the directory needs its own identity towards the registries: --upstream-cert/--upstream-key "
        "or --upstream-token-file (a service principal such as service/directory)");
  }
  if (!server_security.ok()) return runner.Fail("security_setup_failed", server_security.status(), 2);

  RegionPoolOptions pool_options;
  pool_options.regions = *regions;
  pool_options.region_timeout = options.region_timeout;
  pool_options.gate = server_security->gate.get();
  pool_options.upstream = options.upstream;
  const RegionPool pool(std::move(pool_options));
  DirectoryService service(&pool);
  DirectorySharingService sharing(&pool);

  // Metrics and the probe port; declared before the server, whose
  // interceptors point into it.
  observability::ServerObservability observability(options.observability, "directory");
  observability.grpc_metrics().InitializeService(registry::v1::RegistryService::service_full_name());
  observability.grpc_metrics().InitializeService(registry::v1::CapacitySharingService::service_full_name());
  // 1 when the region answered the last fan-out that asked it, read at scrape time.
  auto region_up_metric = observability.metrics().AddCallback(
      observability::MetricType::kGauge, "expertise_directory_region_up",
      "1 if the region answered the directory's last fan-out to it (1 before the first), else 0.",
      {"region"}, [&pool](std::vector<observability::Sample>* out) {
        for (const auto& [region, up] : pool.RegionsAnswering()) out->push_back({{region}, up ? 1.0 : 0.0});
      });
  if (!region_up_metric.ok()) {
    LogEvent(*log, spdlog::level::warn, "metric_not_registered",
             {{"error", std::string(region_up_metric.status().message())}});
  }

  if (!runner.Start(&*server_security, &observability, {&service, &sharing}).ok()) return 1;
  runner.health()->SetServingStatus(true);
  runner.WritePortFile();
  std::vector<std::string> listed;
  for (const RegionEndpoint& e : *regions) listed.push_back(e.region->id + "=" + e.target);
  LogEvent(*log, spdlog::level::info, "serving",
           {{"listen", options.listen}, {"port", runner.port()}, {"regions", absl::StrJoin(listed, ",")}});

  runner.WaitForStop(server_security->gate.get());
  runner.Shutdown(&observability);
  return 0;
}

}  // namespace expertise::directory
