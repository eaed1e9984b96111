#ifndef EXPERTISE_SERVICES_REGISTRY_SERVER_H_
#define EXPERTISE_SERVICES_REGISTRY_SERVER_H_

#include <cstddef>
#include <string>

#include "services/security/grpc_security.h"

namespace expertise::registry {

struct ServerOptions {
  std::string region;     // E12 code or region id
  std::string listen;     // host:port; port 0 picks a free one
  std::string db_path;    // SQLite file
  std::string port_file;  // when set, the bound port is written here once serving
  size_t worker_threads = 4;
  size_t max_queued_calls = 4096;
  bool reflection = false;  // development only: served without a caller
  int shutdown_grace_seconds = 10;
  // How often support requests and commitments are moved on with the clock.
  int sweep_interval_seconds = 60;
  // TLS, API keys, rate and metadata limits.
  security::ServerSecurityOptions security;
  // Append-only audit trail; "<db>.audit.jsonl" when empty.
  std::string audit_log_path;
};

// Runs a registry until SIGTERM or SIGINT, then shuts down gracefully:
// health goes NOT_SERVING, calls in flight get `shutdown_grace_seconds` to
// finish, the store is closed. Returns the process exit code.
//
// Must be called before any other thread is started: it blocks SIGTERM and
// SIGINT in the calling thread so every thread gRPC starts inherits the mask
// and a dedicated waiter receives the signal.
int RunRegistryServer(const ServerOptions& options);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SERVER_H_
