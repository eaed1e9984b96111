#include "services/directory/directory_server.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_join.h"
#include "services/common/logging.h"
#include "services/common/server_util.h"
#include "services/directory/directory_service.h"
#include "services/directory/region_map.h"

namespace expertise::directory {

int RunDirectoryServer(const DirectoryServerOptions& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto log = GetLogger("directory");
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
  if (!IsLoopbackAddress(options.listen)) {
    LogEvent(*log, spdlog::level::warn, "plaintext_listener",
             {{"listen", options.listen}, {"note", "no TLS yet: expose only on a trusted network"}});
  }

  DirectoryOptions directory_options;
  directory_options.regions = *regions;
  directory_options.region_timeout = options.region_timeout;
  DirectoryService service(std::move(directory_options));

  grpc::EnableDefaultHealthCheckService(true);
  if (options.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(8 * 1024 * 1024);
  ApplyServerKeepalive(&builder);
  if (!options.reflection) DisableReflection(&builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "expertise-directory: cannot listen on %s\n", options.listen.c_str());
    return 1;
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  if (!options.port_file.empty() && !WritePortFile(options.port_file, port)) {
    LogEvent(*log, spdlog::level::err, "port_file_failed", {{"path", options.port_file}});
  }
  std::vector<std::string> listed;
  for (const RegionEndpoint& e : *regions) listed.push_back(e.region->id + "=" + e.target);
  LogEvent(*log, spdlog::level::info, "serving",
           {{"listen", options.listen}, {"port", port}, {"regions", absl::StrJoin(listed, ",")}});

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogEvent(*log, spdlog::level::info, "shutting_down",
           {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server->GetHealthCheckService()->SetServingStatus(false);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(options.shutdown_grace_seconds));
  server->Wait();
  LogEvent(*log, spdlog::level::info, "stopped");
  return 0;
}

}  // namespace expertise::directory
