#ifndef EXPERTISE_SERVICES_OBSERVABILITY_SERVER_OBSERVABILITY_H_
#define EXPERTISE_SERVICES_OBSERVABILITY_SERVER_OBSERVABILITY_H_

// Everything a gRPC server binary wires for metrics and probes, in one
// object, so each server adds a handful of lines:
//
//   observability::ServerObservability observability(options.observability, "registry");
//   server_security->Install(&builder, listen, &port, observability.InterceptorFactories());
//   std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
//   if (absl::Status s = observability.Start(); !s.ok()) { ...exit... }
//   auto* health = observability.MirrorHealth(server->GetHealthCheckService());
//   ... health->SetServingStatus(...) as before ...
//   observability.Stop();   // at shutdown, before the objects metrics read go away
//
// Declare it before the grpc::Server (the server's interceptors point into
// it, so it must outlive the server).

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>

#include "absl/status/status.h"
#include "services/observability/grpc_metrics.h"
#include "services/observability/health_probe.h"
#include "services/observability/http_endpoint.h"
#include "services/observability/metrics.h"

namespace expertise::observability {

struct ObservabilityOptions {
  std::string metrics_listen;     // --metrics-listen host:port; empty: no metrics endpoint
  std::string health_listen;      // --health-listen host:port; empty: no probe port
  // When set, the bound port is written here once listening (port 0 in tests).
  std::string metrics_port_file;
  std::string health_port_file;
};

class ServerObservability {
 public:
  // `component`: the logger name ("registry", "directory").
  ServerObservability(ObservabilityOptions options, std::string component,
                      MetricsRegistry* metrics = &DefaultMetrics());
  ~ServerObservability();
  ServerObservability(const ServerObservability&) = delete;
  ServerObservability& operator=(const ServerObservability&) = delete;

  // For the main server, after the security interceptor (so the handled
  // code is the one the client receives). Empty when metrics are off.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  InterceptorFactories();
  GrpcServerMetrics& grpc_metrics() { return grpc_metrics_; }
  MetricsRegistry& metrics() { return *metrics_; }

  // Starts the metrics endpoint and the probe port (each when configured),
  // logs their ports and writes the port files. An error means the server
  // should not start (a port it was told to serve is not served).
  absl::Status Start();

  // `primary` with every status mirrored on the probe port (just `primary`'s
  // behaviour when there is none). Valid while this object lives.
  grpc::HealthCheckServiceInterface* MirrorHealth(grpc::HealthCheckServiceInterface* primary);

  // Stops the probe port and the metrics endpoint (no scrape runs after it
  // returns). Idempotent; the destructor calls it.
  void Stop();

  int metrics_port() const { return endpoint_ ? endpoint_->port() : 0; }
  int health_port() const { return probe_ ? probe_->port() : 0; }

 private:
  const ObservabilityOptions options_;
  const std::string component_;
  MetricsRegistry* const metrics_;
  GrpcServerMetrics grpc_metrics_;
  std::unique_ptr<MetricsHttpEndpoint> endpoint_;
  std::unique_ptr<HealthProbeServer> probe_;
  std::unique_ptr<HealthMirror> mirror_;
};

}  // namespace expertise::observability

#endif  // EXPERTISE_SERVICES_OBSERVABILITY_SERVER_OBSERVABILITY_H_
