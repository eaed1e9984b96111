#ifndef EXPERTISE_SERVICES_REGISTRY_SERVER_H_
#define EXPERTISE_SERVICES_REGISTRY_SERVER_H_

#include <cstddef>
#include <string>

#include "services/observability/server_observability.h"
#include "services/registry/store_factory.h"
#include "services/security/grpc_security.h"

namespace expertise::registry {

struct ServerOptions {
  std::string region;     // E12 code or region id
  std::string listen;     // host:port; port 0 picks a free one
  // Where records live: SQLite file, or a PostgreSQL database shared by
  // the region's replicas.
  StoreConfig store;
  // With a shared store: how often other replicas' writes are picked up.
  int replica_poll_ms = 200;
  std::string port_file;  // when set, the bound port is written here once serving
  size_t worker_threads = 4;
  size_t max_queued_calls = 4096;
  bool reflection = false;  // development only: served without a caller
  int shutdown_grace_seconds = 10;
  // How often support requests and commitments are moved on with the clock.
  int sweep_interval_seconds = 60;
  // TLS, API keys, rate and metadata limits.
  security::ServerSecurityOptions security;
  // Append-only audit trail, one per process; "<db>.audit.jsonl" when empty
  // (SQLite only: each PostgreSQL replica must be given its own).
  std::string audit_log_path;
  // Prometheus metrics endpoint and plaintext health probe port (off when empty).
  observability::ObservabilityOptions observability;
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
