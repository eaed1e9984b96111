#ifndef EXPERTISE_SERVICES_OBSERVABILITY_HTTP_ENDPOINT_H_
#define EXPERTISE_SERVICES_OBSERVABILITY_HTTP_ENDPOINT_H_

// The Prometheus scrape endpoint: an HttpServer (http_server.h) with one
// route, `GET /metrics`, answering the registry's exposition with
// Content-Type text/plain; version=0.0.4. Any other path is 404, another
// method on /metrics 405; request caps, timeouts and Connection: close are
// HttpServer's. gRPC-free.

#include <memory>

#include "absl/status/statusor.h"
#include "services/observability/http_server.h"
#include "services/observability/metrics.h"

namespace expertise::observability {

// listen, timeout and max_request_bytes are what the endpoint uses.
using HttpEndpointOptions = HttpServerOptions;

class MetricsHttpEndpoint {
 public:
  // Binds, listens and starts serving. `registry` must outlive the endpoint
  // (or Stop()).
  static absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> Start(HttpEndpointOptions options,
                                                                    const MetricsRegistry* registry);
  MetricsHttpEndpoint(const MetricsHttpEndpoint&) = delete;
  MetricsHttpEndpoint& operator=(const MetricsHttpEndpoint&) = delete;

  // The bound port.
  int port() const { return server_.port(); }

  // Stops accepting, drops a connection in progress and joins the threads.
  // Idempotent; not to be called concurrently with itself. The destructor
  // calls it.
  void Stop() { server_.Stop(); }

 private:
  explicit MetricsHttpEndpoint(HttpEndpointOptions options) : server_(std::move(options)) {}

  HttpServer server_;
};

}  // namespace expertise::observability

#endif  // EXPERTISE_SERVICES_OBSERVABILITY_HTTP_ENDPOINT_H_
