#ifndef EXPERTISE_SERVICES_OBSERVABILITY_HTTP_ENDPOINT_H_
#define EXPERTISE_SERVICES_OBSERVABILITY_HTTP_ENDPOINT_H_

// A minimal HTTP/1.1 server for Prometheus scrapes: `GET /metrics` answers
// the registry's exposition (Content-Type text/plain; version=0.0.4), any
// other path 404, any other method 405; every connection is closed after one
// answer (Connection: close). gRPC-free, plain sockets.
//
// One thread accepts and answers connections one at a time: a scrape is one
// small request every few seconds, and a serial loop cannot be made to hold
// more than one connection. A request head longer than `max_request_bytes`
// gets 431, and a client that has not sent its whole head (or read the whole
// answer) within `timeout` is disconnected, so a slow or hostile client holds
// the endpoint for at most `timeout` at a time.

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/observability/metrics.h"

namespace expertise::observability {

struct HttpEndpointOptions {
  // host:port. Host: an IPv4 or bracketed IPv6 literal, a name (resolved
  // once), or empty / "*" for every interface. Port 0 picks a free one.
  std::string listen;
  absl::Duration timeout = absl::Seconds(5);
  size_t max_request_bytes = 8 * 1024;
};

class MetricsHttpEndpoint {
 public:
  // Binds, listens and starts the serving thread. `registry` must outlive
  // the endpoint (or Stop()).
  static absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> Start(HttpEndpointOptions options,
                                                                    const MetricsRegistry* registry);
  ~MetricsHttpEndpoint();
  MetricsHttpEndpoint(const MetricsHttpEndpoint&) = delete;
  MetricsHttpEndpoint& operator=(const MetricsHttpEndpoint&) = delete;

  // The bound port.
  int port() const { return port_; }

  // Stops accepting, drops a connection in progress and joins the thread.
  // Idempotent; not to be called concurrently with itself.
  void Stop();

 private:
  MetricsHttpEndpoint(HttpEndpointOptions options, const MetricsRegistry* registry, int listen_fd,
                      int wake_fd, int port);
  void Serve();
  void HandleConnection(int fd);

  const HttpEndpointOptions options_;
  const MetricsRegistry* const registry_;
  const int listen_fd_;
  const int wake_fd_;  // eventfd: written by Stop() to end every poll at once
  const int port_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Splits "host:port" ("[::1]:9090", "0.0.0.0:0", ":9090"). Public for tests.
absl::Status SplitHostPort(const std::string& address, std::string* host, int* port);

}  // namespace expertise::observability

#endif  // EXPERTISE_SERVICES_OBSERVABILITY_HTTP_ENDPOINT_H_
