#include "services/observability/http_endpoint.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/common/string_view.h"

namespace expertise::observability {
namespace {

using Clock = std::chrono::steady_clock;

spdlog::logger& Log() {
  static spdlog::logger* const logger = GetLogger("metrics").get();
  return *logger;
}

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// Waits until `fd` is ready for `events`, the deadline passes or the
// endpoint is stopped. Returns true when ready.
bool WaitReady(int fd, short events, int wake_fd, Clock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    const int n = poll(fds, 2, static_cast<int>(left.count()) + 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || (fds[1].revents & POLLIN)) return false;
    return true;  // ready, or an error / hang-up the next call reports
  }
}

// Sends all of `data` by the deadline; false when the client is gone or slow.
bool SendAll(int fd, std::string_view data, int wake_fd, Clock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitReady(fd, POLLOUT, wake_fd, deadline)) return false;
      continue;
    }
    return false;
  }
  return true;
}

std::string Response(std::string_view status, std::string_view content_type, std::string_view body,
                     std::string_view extra_headers = "") {
  return absl::StrCat("HTTP/1.1 ", ToAbsl(status), "\r\nContent-Type: ", ToAbsl(content_type),
                      "\r\nContent-Length: ", body.size(), "\r\n", ToAbsl(extra_headers),
                      "Connection: close\r\n\r\n", ToAbsl(body));
}

std::string Plain(std::string_view status, std::string_view extra_headers = "") {
  return Response(status, "text/plain; charset=utf-8", absl::StrCat(ToAbsl(status), "\n"), extra_headers);
}

// After an answer to a request that was not read to its end: half-close and
// discard what the client still sends for a moment, so closing does not
// reset the connection (a reset can destroy the answer before it is read).
void DrainBriefly(int fd, int wake_fd, Clock::time_point deadline) {
  shutdown(fd, SHUT_WR);
  deadline = std::min(deadline, Clock::now() + std::chrono::milliseconds(200));
  char sink[4096];
  size_t drained = 0;
  while (drained < 64 * 1024) {
    const ssize_t n = recv(fd, sink, sizeof(sink), 0);
    if (n > 0) {
      drained += static_cast<size_t>(n);
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return;
    if (errno != EINTR && !WaitReady(fd, POLLIN, wake_fd, deadline)) return;
  }
}

}  // namespace

absl::Status SplitHostPort(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", address, "' is not host:port"));
  }
  std::string h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", address, "': an IPv6 address needs brackets, as in [::1]:9090"));
  }
  int p = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("'", address, "': port must be 0 to 65535"));
  }
  *host = h == "*" ? "" : h;
  *port = p;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> MetricsHttpEndpoint::Start(
    HttpEndpointOptions options, const MetricsRegistry* registry) {
  std::string host;
  int port = 0;
  if (absl::Status s = SplitHostPort(options.listen, &host, &port); !s.ok()) return s;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address ", options.listen, ": ", gai_strerror(rc)));
  }
  int fd = -1;
  int last_errno = 0;
  // With no host, prefer the IPv6 wildcard, which also takes IPv4 on Linux.
  for (int pass = 0; pass < 2 && fd < 0; ++pass) {
    for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
      if (host.empty() && (pass == 0) != (ai->ai_family == AF_INET6)) continue;
      if (!host.empty() && pass == 1) break;
      int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
      if (s < 0) {
        last_errno = errno;
        continue;
      }
      const int one = 1;
      setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      if (bind(s, ai->ai_addr, ai->ai_addrlen) != 0 || listen(s, 16) != 0) {
        last_errno = errno;
        close(s);
        continue;
      }
      fd = s;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for metrics on ", options.listen, ": ",
                                               std::strerror(last_errno)));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    const int e = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("getsockname: ", std::strerror(e)));
  }
  const int bound_port =
      bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                  : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    const int e = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(e)));
  }
  auto endpoint = std::unique_ptr<MetricsHttpEndpoint>(
      new MetricsHttpEndpoint(std::move(options), registry, fd, wake, bound_port));
  endpoint->thread_ = std::thread([e = endpoint.get()] { e->Serve(); });
  return endpoint;
}

MetricsHttpEndpoint::MetricsHttpEndpoint(HttpEndpointOptions options, const MetricsRegistry* registry,
                                         int listen_fd, int wake_fd, int port)
    : options_(std::move(options)), registry_(registry), listen_fd_(listen_fd), wake_fd_(wake_fd), port_(port) {}

MetricsHttpEndpoint::~MetricsHttpEndpoint() {
  Stop();
  close(listen_fd_);
  close(wake_fd_);
}

void MetricsHttpEndpoint::Stop() {
  if (stopping_.exchange(true)) return;
  const uint64_t one = 1;
  // A full counter (impossible here) would still leave it readable.
  (void)!write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

void MetricsHttpEndpoint::Serve() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      LogEvent(Log(), spdlog::level::err, "metrics_poll_failed", {{"error", std::strerror(errno)}});
      return;
    }
    if (fds[1].revents & POLLIN) return;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The connection stays queued; wait a little instead of spinning.
        pollfd wake = {wake_fd_, POLLIN, 0};
        poll(&wake, 1, 100);
      }
      continue;
    }
    HandleConnection(fd);
    close(fd);
  }
}

void MetricsHttpEndpoint::HandleConnection(int fd) {
  const auto deadline = Clock::now() + absl::ToChronoNanoseconds(options_.timeout);
  std::string head;
  size_t end_of_head = std::string::npos;
  char buffer[2048];
  while (end_of_head == std::string::npos) {
    if (head.size() > options_.max_request_bytes) {
      if (SendAll(fd, Plain("431 Request Header Fields Too Large"), wake_fd_, deadline)) {
        DrainBriefly(fd, wake_fd_, deadline);
      }
      return;
    }
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      head.append(buffer, static_cast<size_t>(n));
      end_of_head = head.find("\r\n\r\n");
      if (end_of_head == std::string::npos) end_of_head = head.find("\n\n");  // lenient clients
      continue;
    }
    if (n == 0) return;  // closed before the whole head arrived
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return;
    if (!WaitReady(fd, POLLIN, wake_fd_, deadline)) {
      if (!stopping_.load()) {
        // Best effort: the client may not be reading either.
        (void)SendAll(fd, Plain("408 Request Timeout"), wake_fd_, Clock::now() + std::chrono::milliseconds(100));
      }
      return;
    }
  }
  if (end_of_head > options_.max_request_bytes) {
    (void)SendAll(fd, Plain("431 Request Header Fields Too Large"), wake_fd_, deadline);
    return;
  }
  // Request line: METHOD SP TARGET SP HTTP/1.x
  std::string_view line(head.data(), head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.substr(sp2 + 1).substr(0, 7) != "HTTP/1.") {
    (void)SendAll(fd, Plain("400 Bad Request"), wake_fd_, deadline);
    return;
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  std::string response;
  if (method != "GET") {
    response = Plain("405 Method Not Allowed", "Allow: GET\r\n");
  } else if (target != "/metrics") {
    response = Plain("404 Not Found");
  } else {
    response = Response("200 OK", kContentType, registry_->Render());
  }
  if (SendAll(fd, response, wake_fd_, deadline)) shutdown(fd, SHUT_WR);
}

}  // namespace expertise::observability
