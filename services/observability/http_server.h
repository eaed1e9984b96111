#ifndef EXPERTISE_SERVICES_OBSERVABILITY_HTTP_SERVER_H_
#define EXPERTISE_SERVICES_OBSERVABILITY_HTTP_SERVER_H_

// The project's one HTTP server: cpp-httplib's httplib::Server (HTTP/1.1
// parsing, routing, answers), with the connection handling hardened for a
// port that may be reached by anyone on the cluster network:
//
//  - every connection gets one request and is closed (Connection: close);
//  - a request head over `max_request_bytes` is answered 431 and a client
//    that has not sent its head (or read the answer) within `timeout` is
//    dropped, with 408 when its request line had arrived, so a slow or
//    hostile client holds a worker for at most `timeout`;
//  - a path served for other methods is answered 405 with Allow, an unknown
//    path 404, an unparseable request 400; error bodies are short text;
//  - Stop() is prompt: it ends the connections in progress;
//  - nothing throws out of it: httplib's exceptions and a handler's are
//    caught (a handler's becomes a 500 and a log line).
//
// cpp-httplib 0.11.4 answers an over-long head and a read timeout with 400,
// limits only each header line, and waits for its workers' reads to time out
// on stop, hence our own stream under its request processing.
//
// Usage (the /metrics endpoint, http_endpoint.cc, is one):
//
//   HttpServer server({.listen = "127.0.0.1:0"});
//   absl::Status s = server.Handle("GET", "/healthz", [](const httplib::Request&, httplib::Response& res) {
//     res.set_content("ok\n", "text/plain; charset=utf-8");
//   });
//   if (s.ok()) s = server.Start();
//   ... server.port() ...
//   server.Stop();

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

// Handlers include <httplib.h> themselves; this header keeps it (and the
// OpenSSL headers it pulls in) out of everything that only starts a server.
namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace expertise::observability {

struct HttpServerOptions {
  // host:port. Host: an IPv4 or bracketed IPv6 literal, a name, or empty /
  // "*" for every interface (IPv6 and IPv4 where the host has IPv6). Port 0
  // picks a free one.
  std::string listen;
  // For the whole exchange of one connection: request in, answer out.
  absl::Duration timeout = absl::Seconds(5);
  // Request line and headers together.
  size_t max_request_bytes = 8 * 1024;
  // Request bodies (413 beyond).
  size_t max_body_bytes = 64 * 1024;
  // Connections are served in parallel by this many threads; more wait.
  int worker_threads = 2;
};

// Thread-safe after Start(); Handle() before Start() only.
class HttpServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes `method` ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
  // requests whose whole path matches `path_pattern` (an ECMAScript regular
  // expression; the query string is not part of the path; captures land in
  // Request::matches) to `handler`, which runs on a worker thread and may
  // throw. HEAD is never routed (405). InvalidArgument for another method or
  // a bad pattern; FailedPrecondition once started.
  absl::Status Handle(std::string_view method, const std::string& path_pattern, Handler handler);

  // Binds, listens and starts serving. Unavailable when the address cannot
  // be bound, InvalidArgument when it is malformed.
  absl::Status Start();

  // The bound port (0 before Start()).
  int port() const { return port_; }

  // Stops accepting, ends the connections in progress and joins every
  // thread. Idempotent; not to be called concurrently with itself.
  void Stop();

 private:
  class Server;  // httplib::Server with our connection handling
  struct Route;

  const HttpServerOptions options_;
  std::unique_ptr<Server> server_;
  std::vector<Route> routes_;  // fixed once started
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
  bool started_ = false;
  int port_ = 0;
};

// Splits "host:port" ("[::1]:9090", "0.0.0.0:0", ":9090", "*:9090"; the
// last two give an empty host). Public for tests.
absl::Status SplitHostPort(const std::string& address, std::string* host, int* port);

}  // namespace expertise::observability

#endif  // EXPERTISE_SERVICES_OBSERVABILITY_HTTP_SERVER_H_
