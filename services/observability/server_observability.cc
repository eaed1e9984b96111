#include "services/observability/server_observability.h"

#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/common/net_address.h"
#include "services/rpc/server_util.h"

namespace expertise::observability {

ServerObservability::ServerObservability(ObservabilityOptions options, std::string component,
                                         MetricsRegistry* metrics)
    : options_(std::move(options)),
      component_(std::move(component)),
      metrics_(metrics),
      grpc_metrics_(metrics) {}

ServerObservability::~ServerObservability() { Stop(); }

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
ServerObservability::InterceptorFactories() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  if (!options_.metrics_listen.empty()) factories.push_back(grpc_metrics_.NewInterceptorFactory());
  return factories;
}

absl::Status ServerObservability::Start() {
  auto log = GetLogger(component_);
  if (!options_.metrics_listen.empty() && !endpoint_) {
    HttpEndpointOptions http;
    http.listen = options_.metrics_listen;
    absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> endpoint =
        MetricsHttpEndpoint::Start(std::move(http), metrics_);
    if (!endpoint.ok()) return endpoint.status();
    endpoint_ = *std::move(endpoint);
    if (!options_.metrics_port_file.empty() && !WritePortFile(options_.metrics_port_file, endpoint_->port())) {
      return absl::InternalError(absl::StrCat("cannot write ", options_.metrics_port_file));
    }
    LogEvent(*log, spdlog::level::info, "metrics_serving",
             {{"listen", options_.metrics_listen}, {"port", endpoint_->port()}, {"path", "/metrics"}});
  }
  if (!options_.health_listen.empty() && !probe_) {
    absl::StatusOr<std::unique_ptr<HealthProbeServer>> probe = HealthProbeServer::Start(options_.health_listen);
    if (!probe.ok()) return probe.status();
    probe_ = *std::move(probe);
    if (!options_.health_port_file.empty() && !WritePortFile(options_.health_port_file, probe_->port())) {
      return absl::InternalError(absl::StrCat("cannot write ", options_.health_port_file));
    }
    LogEvent(*log, spdlog::level::info, "health_probe_serving",
             {{"listen", options_.health_listen},
              {"port", probe_->port()},
              {"note", "plaintext, grpc.health.v1.Health only"}});
  }
  return absl::OkStatus();
}

grpc::HealthCheckServiceInterface* ServerObservability::MirrorHealth(
    grpc::HealthCheckServiceInterface* primary) {
  mirror_ = std::make_unique<HealthMirror>(primary, probe_.get());
  return mirror_.get();
}

void ServerObservability::Stop() {
  if (probe_) probe_->Shutdown();
  if (endpoint_) endpoint_->Stop();
}

}  // namespace expertise::observability
