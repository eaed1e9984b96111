#include "services/observability/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <exception>
#include <set>

#include <httplib.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"
#include "absl/strings/str_join.h"
#include "services/common/logging.h"
#include "services/common/mutex.h"
#include "services/common/string_view.h"

namespace expertise::observability {
namespace {

using Clock = std::chrono::steady_clock;

spdlog::logger& Log() {
  static spdlog::logger* const logger = GetLogger("http").get();
  return *logger;
}

// After a read timed out, the time left to send the 408.
constexpr auto kAnswerGrace = std::chrono::milliseconds(100);

// One connection's bytes for httplib's request processing: a deadline for
// the whole exchange, a cap on the request head, and no SIGPIPE. Stop()
// shuts the socket down, which ends any wait here at once.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int fd, Clock::time_point deadline, size_t max_head_bytes)
      : fd_(fd), deadline_(deadline), max_head_bytes_(max_head_bytes) {}

  bool is_readable() const override { return begin_ < end_ || Wait(POLLIN); }
  bool is_writable() const override { return Wait(POLLOUT); }

  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_ && !Fill()) return eof_ ? 0 : -1;
    size_t n = std::min(size, end_ - begin_);
    if (!head_done_) {
      if (head_bytes_ == max_head_bytes_) {
        head_too_large_ = true;
        return -1;
      }
      n = std::min(n, max_head_bytes_ - head_bytes_);
      // Stop at the blank line ending the head: what follows is the body.
      for (size_t i = 0; i < n; ++i) {
        if (AdvanceHeadEnd(buffer_[begin_ + i])) {
          head_done_ = true;
          n = i + 1;
          break;
        }
      }
      head_bytes_ += n;
    }
    std::memcpy(ptr, buffer_ + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    while (true) {
      const ssize_t n = send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !Wait(POLLOUT)) return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Address(getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Address(getsockname, ip, port);
  }
  socket_t socket() const override { return fd_; }

  bool head_too_large() const { return head_too_large_; }
  bool timed_out() const { return timed_out_; }

 private:
  // Reads what has arrived into the buffer; false at the end of the stream
  // (eof_), a timeout or an error.
  bool Fill() {
    while (true) {
      const ssize_t n = recv(fd_, buffer_, sizeof(buffer_), MSG_DONTWAIT);
      if (n > 0) {
        begin_ = 0;
        end_ = static_cast<size_t>(n);
        return true;
      }
      if (n == 0) {
        eof_ = true;
        return false;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
      if (!Wait(POLLIN)) {
        if (timed_out_) deadline_ = Clock::now() + kAnswerGrace;
        return false;
      }
    }
  }

  // Waits until the socket is ready for `events` or the deadline passes.
  // True when ready (or in error: the next call reports it).
  bool Wait(short events) const {
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0) {
        timed_out_ = true;
        return false;
      }
      pollfd p = {fd_, events, 0};
      const int n = poll(&p, 1, static_cast<int>(left.count()) + 1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (n == 0) continue;  // the deadline check above decides
      return true;
    }
  }

  // Feeds one head byte to a matcher for "\r\n\r\n"; true when it completes.
  bool AdvanceHeadEnd(char c) {
    static constexpr char kEnd[] = "\r\n\r\n";
    if (c == kEnd[matched_]) {
      ++matched_;
    } else {
      matched_ = c == '\r' ? 1 : 0;
    }
    return matched_ == 4;
  }

  void Address(int (*get)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    ip.clear();
    port = -1;
    if (get(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return;
    char text[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
      port = ntohs(in6->sin6_port);
    } else if (address.ss_family == AF_INET) {
      const auto* in4 = reinterpret_cast<const sockaddr_in*>(&address);
      inet_ntop(AF_INET, &in4->sin_addr, text, sizeof(text));
      port = ntohs(in4->sin_port);
    }
    ip = text;
  }

  const int fd_;
  Clock::time_point deadline_;
  const size_t max_head_bytes_;
  char buffer_[4096];
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  size_t head_bytes_ = 0;
  size_t matched_ = 0;  // of "\r\n\r\n"
  bool head_done_ = false;
  bool head_too_large_ = false;
  mutable bool timed_out_ = false;
};

// The connection this worker thread is processing, for the error handler
// (httplib hands it the request and response only).
thread_local const ConnectionStream* current_connection = nullptr;

const char* Reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    default:
      return "";
  }
}

// Answers what httplib read as a 400 for what it was, and gives every error
// a short text body.
httplib::Server::HandlerResponse OnError(const httplib::Request&, httplib::Response& res) {
  if (res.status == 400 && current_connection != nullptr) {
    if (current_connection->head_too_large()) {
      res.status = 431;
    } else if (current_connection->timed_out()) {
      res.status = 408;
    }
  }
  if (res.body.empty()) {
    res.set_content(absl::StrCat(res.status, " ", Reason(res.status), "\n"), "text/plain; charset=utf-8");
  }
  return httplib::Server::HandlerResponse::Handled;
}

void OnException(const httplib::Request& req, httplib::Response& res, std::exception_ptr exception) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(exception);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  LogEvent(Log(), spdlog::level::err, "http_handler_failed",
           {{"method", req.method}, {"path", req.path}, {"error", what}});
  res.status = 500;
  res.body.clear();
}

// Only SO_REUSEADDR: httplib's default sets SO_REUSEPORT, which would let a
// second server bind a port already in use.
void ListenSocketOptions(socket_t fd) {
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
}

// After answering a request whose head was not read to its end: half-close
// and discard what the client still sends for a moment, so closing does not
// reset the connection (a reset can destroy the answer before it is read).
void DrainBriefly(int fd) {
  shutdown(fd, SHUT_WR);
  const auto deadline = Clock::now() + std::chrono::milliseconds(200);
  char sink[4096];
  size_t drained = 0;
  while (drained < 64 * 1024) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return;
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    const ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return;
    if (n > 0) drained += static_cast<size_t>(n);
  }
}

}  // namespace

struct HttpServer::Route {
  std::string method;
  // The path pattern as RE2 reads it (httplib matches the same pattern as an
  // ECMAScript std::regex; for paths the two agree).
  std::shared_ptr<const re2::RE2> pattern;
};

// httplib::Server processing each accepted socket through ConnectionStream,
// and able to end the connections in progress.
class HttpServer::Server final : public httplib::Server {
 public:
  explicit Server(const HttpServerOptions* options) : options_(options) {}

  // Ends every connection in progress and refuses those accepted after.
  void EndConnections() {
    MutexLock lock(&mu_);
    stopping_ = true;
    for (int fd : open_) shutdown(fd, SHUT_RDWR);
  }

 private:
  // Called by httplib's workers for each accepted socket.
  bool process_and_close_socket(socket_t fd) override {
    {
      MutexLock lock(&mu_);
      if (stopping_) {
        close(fd);
        return false;
      }
      open_.insert(fd);
    }
    // httplib accepts without SOCK_CLOEXEC; keep the socket from children
    // the process spawns from here on.
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    bool ok = false;
    try {
      ConnectionStream stream(fd, Clock::now() + absl::ToChronoNanoseconds(options_->timeout),
                              options_->max_request_bytes);
      current_connection = &stream;
      bool connection_closed = false;
      ok = process_request(stream, /*close_connection=*/true, connection_closed, nullptr);
      current_connection = nullptr;
      if (stream.head_too_large()) DrainBriefly(fd);
    } catch (const std::exception& e) {
      current_connection = nullptr;
      LogEvent(Log(), spdlog::level::err, "http_connection_failed", {{"error", std::string(e.what())}});
    } catch (...) {
      current_connection = nullptr;
    }
    {
      MutexLock lock(&mu_);
      open_.erase(fd);
    }
    shutdown(fd, SHUT_WR);
    close(fd);
    return ok;
  }

  const HttpServerOptions* const options_;
  Mutex mu_;
  absl::flat_hash_set<int> open_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

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

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)), server_(std::make_unique<Server>(&options_)) {}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Handle(std::string_view method, const std::string& path_pattern,
                                Handler handler) {
  if (started_) return absl::FailedPreconditionError("routes are fixed once the server has started");
  using Register = httplib::Server& (httplib::Server::*)(const std::string&, httplib::Server::Handler);
  Register add = nullptr;
  if (method == "GET") {
    add = &httplib::Server::Get;
  } else if (method == "POST") {
    add = &httplib::Server::Post;
  } else if (method == "PUT") {
    add = &httplib::Server::Put;
  } else if (method == "PATCH") {
    add = &httplib::Server::Patch;
  } else if (method == "DELETE") {
    add = &httplib::Server::Delete;
  } else if (method == "OPTIONS") {
    add = &httplib::Server::Options;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("HTTP method '", ToAbsl(method), "' cannot be routed"));
  }
  auto pattern = std::make_shared<const re2::RE2>(path_pattern, re2::RE2::Quiet);
  if (!pattern->ok()) {
    return absl::InvalidArgumentError(absl::StrCat("path pattern '", path_pattern, "': ", pattern->error()));
  }
  try {
    Route route{std::string(method), std::move(pattern)};
    (server_.get()->*add)(path_pattern, std::move(handler));
    routes_.push_back(std::move(route));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("path pattern '", path_pattern, "': ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status HttpServer::Start() {
  if (started_) return absl::FailedPreconditionError("the HTTP server was started before");
  std::string host;
  int port = 0;
  if (absl::Status s = SplitHostPort(options_.listen, &host, &port); !s.ok()) return s;

  const int workers = std::max(1, options_.worker_threads);
  server_->new_task_queue = [workers] { return new httplib::ThreadPool(static_cast<size_t>(workers)); };
  server_->set_socket_options(ListenSocketOptions);
  server_->set_keep_alive_max_count(1);
  server_->set_payload_max_length(options_.max_body_bytes);
  server_->set_error_handler(httplib::Server::HandlerWithResponse(OnError));
  server_->set_exception_handler(OnException);
  // A path served for other methods: 405 with Allow (httplib would say 404,
  // and would answer HEAD with the GET handler).
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    std::set<std::string> allowed;
    for (const Route& route : routes_) {
      if (!re2::RE2::FullMatch(req.path, *route.pattern)) continue;
      if (route.method == req.method) return httplib::Server::HandlerResponse::Unhandled;
      allowed.insert(route.method);
    }
    if (allowed.empty()) return httplib::Server::HandlerResponse::Unhandled;  // 404
    res.status = 405;
    res.set_header("Allow", absl::StrJoin(allowed, ", "));
    return httplib::Server::HandlerResponse::Handled;
  });

  // With no host, the IPv6 wildcard first: on Linux it takes IPv4 as well.
  std::vector<std::string> hosts = host.empty() ? std::vector<std::string>{"::", "0.0.0.0"}
                                                : std::vector<std::string>{host};
  int bound = -1;
  try {
    for (const std::string& h : hosts) {
      bound = port == 0 ? server_->bind_to_any_port(h) : (server_->bind_to_port(h, port) ? port : -1);
      if (bound > 0) break;
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("HTTP server on ", options_.listen, ": ", e.what()));
  }
  if (bound <= 0) return absl::UnavailableError(absl::StrCat("cannot listen for HTTP on ", options_.listen));
  started_ = true;
  port_ = bound;
  thread_ = std::thread([this] {
    try {
      server_->listen_after_bind();
    } catch (const std::exception& e) {
      LogEvent(Log(), spdlog::level::err, "http_server_failed", {{"error", std::string(e.what())}});
    }
    listen_returned_ = true;
  });
  // httplib's stop() does nothing until its loop runs; wait for that so a
  // Stop() right after Start() is never lost.
  while (!server_->is_running() && !listen_returned_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  server_->EndConnections();
  server_->stop();
  thread_.join();
}

}  // namespace expertise::observability
