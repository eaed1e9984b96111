#ifndef EXPERTISE_SERVICES_DIRECTORY_DIRECTORY_SERVER_H_
#define EXPERTISE_SERVICES_DIRECTORY_DIRECTORY_SERVER_H_

#include <string>

#include "absl/time/time.h"
#include "services/observability/server_observability.h"
#include "services/security/grpc_security.h"

namespace expertise::directory {

struct DirectoryServerOptions {
  std::string listen;        // host:port; port 0 picks a free one
  std::string regions_file;  // see region_map.h
  std::string port_file;     // when set, the bound port is written here once serving
  absl::Duration region_timeout = absl::Seconds(5);
  bool reflection = false;  // development only: served without a caller
  int shutdown_grace_seconds = 10;
  security::ServerSecurityOptions security;   // callers of the directory
  security::ClientSecurityOptions upstream;   // the directory's identity towards the registries
  // Prometheus metrics endpoint and plaintext health probe port (off when empty).
  observability::ObservabilityOptions observability;
};

// Runs the directory until SIGTERM or SIGINT, then shuts down gracefully.
// Must be called before any other thread starts (see RunRegistryServer).
int RunDirectoryServer(const DirectoryServerOptions& options);

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_DIRECTORY_SERVER_H_
