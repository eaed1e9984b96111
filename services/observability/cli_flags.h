#ifndef EXPERTISE_SERVICES_OBSERVABILITY_CLI_FLAGS_H_
#define EXPERTISE_SERVICES_OBSERVABILITY_CLI_FLAGS_H_

// The metrics and probe flags every server binary accepts, spelled once
// (docs/observability.md).

#include <CLI/CLI.hpp>

#include "services/observability/server_observability.h"

namespace expertise::observability {

// --metrics-listen, --health-listen (environment EXPERTISE_METRICS_LISTEN,
// EXPERTISE_HEALTH_LISTEN), --metrics-port-file, --health-port-file.
inline void AddObservabilityFlags(CLI::App& app, ObservabilityOptions* o) {
  app.add_option("--metrics-listen", o->metrics_listen,
                 "Serve Prometheus metrics over plain HTTP at http://HOST:PORT/metrics (port 0 "
                 "picks one); empty: off")
      ->envname("EXPERTISE_METRICS_LISTEN");
  app.add_option("--health-listen", o->health_listen,
                 "Serve only grpc.health.v1.Health in plaintext on HOST:PORT, for Kubernetes gRPC "
                 "probes (port 0 picks one); empty: off")
      ->envname("EXPERTISE_HEALTH_LISTEN");
  app.add_option("--metrics-port-file", o->metrics_port_file,
                 "Write the bound metrics port to this file once listening");
  app.add_option("--health-port-file", o->health_port_file,
                 "Write the bound health probe port to this file once listening");
}

}  // namespace expertise::observability

#endif  // EXPERTISE_SERVICES_OBSERVABILITY_CLI_FLAGS_H_
