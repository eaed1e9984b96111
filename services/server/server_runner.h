#ifndef EXPERTISE_SERVICES_SERVER_SERVER_RUNNER_H_
#define EXPERTISE_SERVICES_SERVER_SERVER_RUNNER_H_

// The life of one of the project's gRPC servers, written once for the
// registry and the directory (the gRPC examples' RunServer, grown up):
//
//   ServerRunner runner({.program = "expertise-directory", .listen = ...}, GetLogger("directory"));
//   ... check options, set up security (runner.Fail(...) on errors) ...
//   observability::ServerObservability observability(options.observability, "directory");
//   if (!runner.Start(&*security, &observability, {&service, &sharing}).ok()) return 1;
//   runner.health()->SetServingStatus(true);
//   runner.WritePortFile();
//   LogEvent(..."serving"...);
//   runner.WaitForStop(security->gate.get());   // SIGTERM / SIGINT; SIGHUP reloads keys
//   ... stop the server's own background work ...
//   runner.Shutdown(&observability);            // calls in flight get the grace period
//
// What it does the same way for every server: signal mask, health checking,
// reflection (off unless asked), keepalive, message size, listening behind
// the security and metrics interceptors, the port file, graceful shutdown.

#include <signal.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/status/status.h"
#include "services/observability/server_observability.h"
#include "services/security/grpc_security.h"
#include "spdlog/spdlog.h"

namespace expertise::server {

struct RunnerOptions {
  std::string program;    // "expertise-registry": how messages on stderr start
  std::string listen;     // host:port; port 0 picks a free one
  std::string port_file;  // when set, the bound port is written here once serving
  bool reflection = false;  // development only: served without a caller
  int shutdown_grace_seconds = 10;
  // gRPC's default: larger requests get RESOURCE_EXHAUSTED from the library;
  // imports stream in batches well under it.
  int max_receive_message_bytes = 4 * 1024 * 1024;
};

class ServerRunner {
 public:
  // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread, so every thread
  // started afterwards (gRPC's too) inherits the mask and WaitForStop
  // receives them. Construct it before any other thread starts.
  ServerRunner(RunnerOptions options, std::shared_ptr<spdlog::logger> log);
  ~ServerRunner();
  ServerRunner(const ServerRunner&) = delete;
  ServerRunner& operator=(const ServerRunner&) = delete;

  // For start-up failures: logs `event` with the error, prints
  // "<program>: <message>" on stderr, stops the server if it was started,
  // and returns `exit_code` for main to return.
  int Fail(std::string_view event, const absl::Status& error, int exit_code);

  // Builds and starts the server with `services`, behind the security
  // interceptor and then the metrics interceptors, and starts the metrics
  // endpoint and the probe port. Health is mirrored on the probe port; it is
  // SERVING until the caller says otherwise. A failure is logged and printed
  // on stderr already; the caller only exits (code 1).
  absl::Status Start(security::ServerSecurity* security,
                     observability::ServerObservability* observability,
                     std::initializer_list<grpc::Service*> services);

  // Stops a started server at once, for start-up failures after Start: the
  // services and observability it points into go before this runner does.
  void StopNow();

  // After Start.
  grpc::HealthCheckServiceInterface* health() const { return health_; }
  int port() const { return port_; }

  // Writes the port file when one was asked for (a failure is logged: the
  // server still serves).
  void WritePortFile();

  // Blocks until SIGTERM or SIGINT (SIGHUP reloads the keyring through
  // `gate`), logs it and turns health to NOT_SERVING. Returns the signal.
  int WaitForStop(security::CallGate* gate);

  // Calls in flight get the grace period, then the metrics endpoint and the
  // probe port stop; logs "stopped".
  void Shutdown(observability::ServerObservability* observability);

 private:
  const RunnerOptions options_;
  const std::shared_ptr<spdlog::logger> log_;
  sigset_t signals_;
  std::unique_ptr<grpc::Server> server_;
  grpc::HealthCheckServiceInterface* health_ = nullptr;
  int port_ = 0;
};

}  // namespace expertise::server

#endif  // EXPERTISE_SERVICES_SERVER_SERVER_RUNNER_H_
