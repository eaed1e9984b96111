#include "services/observability/http_endpoint.h"

#include <httplib.h>

namespace expertise::observability {

absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> MetricsHttpEndpoint::Start(
    HttpEndpointOptions options, const MetricsRegistry* registry) {
  auto endpoint = std::unique_ptr<MetricsHttpEndpoint>(new MetricsHttpEndpoint(std::move(options)));
  absl::Status s = endpoint->server_.Handle(
      "GET", "/metrics", [registry](const httplib::Request&, httplib::Response& res) {
        res.set_content(registry->Render(), "text/plain; version=0.0.4; charset=utf-8");
      });
  if (s.ok()) s = endpoint->server_.Start();
  if (!s.ok()) return s;
  return endpoint;
}

}  // namespace expertise::observability
