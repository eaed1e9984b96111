#include "tests/testutil/tcp_fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace expertise::testing {
namespace {

// Per direction, at most this much is read ahead of what the other side has
// taken, so a slow reader slows the writer down instead of growing memory.
constexpr size_t kMaxPending = 256 * 1024;
constexpr size_t kReadChunk = 64 * 1024;
// Bounds the blocking write of a cut: the server is on loopback and reading.
constexpr int kCutWriteTimeoutSeconds = 5;

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

void SetNoDelay(int fd) {
  // Request/response traffic through the proxy must not wait on Nagle.
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

bool WouldBlock() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

// Writes all of `data` in blocking mode (bounded by a send time-out), so that
// it is in the kernel's hands before the socket is shut down.
bool WriteAllBlocking(int fd, const std::string& data) {
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  timeval timeout{kCutWriteTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = send(fd, data.data() + written, data.size() - written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

// Length of the longest suffix of `buffer` that is a proper prefix of
// `needle`: bytes that may turn into the needle with the next read.
size_t PartialMatchAtEnd(const std::string& buffer, const std::string& needle) {
  for (size_t k = std::min(buffer.size(), needle.size() - 1); k > 0; --k) {
    if (buffer.compare(buffer.size() - k, k, needle, 0, k) == 0) return k;
  }
  return 0;
}

}  // namespace

struct TcpFaultProxy::Connection {
  int client = -1;
  int upstream = -1;
  bool connecting = true;       // upstream connect() still in progress
  std::string c2s;              // read from the client, not yet written upstream
  std::string s2c;              // read from upstream, not yet written to the client
  std::string held;             // client bytes that may be the start of the needle
  uint64_t generation = 0;      // the arming `held` was kept for
  bool client_eof = false;      // the client has finished sending
  bool upstream_eof = false;    // upstream has finished sending
  bool upstream_shut = false;   // we passed the client's EOF on
  bool client_shut = false;     // we passed upstream's EOF on
  bool done = false;            // close both sockets at the end of this round

  void Close() {
    if (client >= 0) close(client);
    if (upstream >= 0) close(upstream);
    client = upstream = -1;
  }
};

absl::StatusOr<std::unique_ptr<TcpFaultProxy>> TcpFaultProxy::Start(int upstream_port) {
  auto proxy = std::unique_ptr<TcpFaultProxy>(new TcpFaultProxy(upstream_port));
  proxy->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (proxy->listen_fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  const int one = 1;
  setsockopt(proxy->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (bind(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(proxy->listen_fd_, 128) != 0 ||
      getsockname(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::InternalError(absl::StrCat("listen on 127.0.0.1: ", std::strerror(errno)));
  }
  proxy->port_ = ntohs(addr.sin_port);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  proxy->wake_read_fd_ = pipe_fds[0];
  proxy->wake_write_fd_ = pipe_fds[1];
  proxy->thread_ = std::thread([p = proxy.get()] { p->Loop(); });
  return proxy;
}

TcpFaultProxy::~TcpFaultProxy() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cut_all_done_.notify_all();
  if (thread_.joinable()) {
    Wake();
    thread_.join();
  }
  for (int fd : {listen_fd_, wake_read_fd_, wake_write_fd_}) {
    if (fd >= 0) close(fd);
  }
}

void TcpFaultProxy::Wake() {
  // A full pipe already means "wake up", so a failed write is fine.
  const char byte = 0;
  (void)!write(wake_write_fd_, &byte, 1);
}

void TcpFaultProxy::CutAll() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t ticket = ++cut_all_requested_;
  Wake();
  // The loop owns the sockets, so it does the closing; wait for it (bounded:
  // a loop round never blocks for long).
  cut_all_done_.wait_for(lock, std::chrono::seconds(10),
                         [&] { return cut_all_done_count_ >= ticket || stopping_; });
}

void TcpFaultProxy::ArmCut(std::string needle, CutMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  needle_ = std::move(needle);
  mode_ = mode;
  ++arm_generation_;
  Wake();  // so held-back bytes of an earlier arming are released
}

bool TcpFaultProxy::armed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !needle_.empty();
}

int TcpFaultProxy::cuts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cuts_;
}

int TcpFaultProxy::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}

void TcpFaultProxy::Loop() {
  std::vector<std::unique_ptr<Connection>> conns;
  std::vector<pollfd> fds;
  uint64_t cut_all_handled = 0;
  char buffer[kReadChunk];

  while (true) {
    fds.clear();
    fds.push_back({wake_read_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const auto& c : conns) {
      short client_events = 0, upstream_events = 0;
      if (!c->client_eof && c->c2s.size() < kMaxPending) client_events |= POLLIN;
      if (!c->s2c.empty()) client_events |= POLLOUT;
      if (c->connecting) {
        upstream_events = POLLOUT;
      } else {
        if (!c->upstream_eof && c->s2c.size() < kMaxPending) upstream_events |= POLLIN;
        if (!c->c2s.empty()) upstream_events |= POLLOUT;
      }
      // A negative fd is skipped by poll: no POLLHUP spinning on a socket we
      // have nothing to do with right now.
      fds.push_back({client_events ? c->client : -1, client_events, 0});
      fds.push_back({upstream_events ? c->upstream : -1, upstream_events, 0});
    }
    // Every request wakes the loop through the pipe; the time-out is only a backstop.
    poll(fds.data(), fds.size(), 1000);
    if (fds[0].revents & POLLIN) {
      while (read(wake_read_fd_, buffer, sizeof(buffer)) > 0) {
      }
    }

    // Read the shared state after poll, so bytes that arrive after an
    // ArmCut() returned are matched against its needle.
    std::string needle;
    CutMode mode = CutMode::kForwardThenCut;
    uint64_t generation = 0;
    uint64_t cut_all_requested = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
      needle = needle_;
      mode = mode_;
      generation = arm_generation_;
      cut_all_requested = cut_all_requested_;
    }

    if (cut_all_requested != cut_all_handled) {
      // Connections still in the accept queue were open before CutAll() too.
      int accepted = 0;
      for (int fd; (fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0; ++accepted) {
        close(fd);
      }
      const int cut = static_cast<int>(conns.size()) + accepted;
      for (auto& c : conns) c->Close();
      conns.clear();
      cut_all_handled = cut_all_requested;
      {
        std::lock_guard<std::mutex> lock(mu_);
        connections_ += accepted;
        cuts_ += cut;
        cut_all_done_count_ = cut_all_handled;
      }
      cut_all_done_.notify_all();
      continue;  // the revents belong to sockets just closed
    }

    const size_t polled = conns.size();
    if (fds[1].revents & POLLIN) {
      for (int fd; (fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++connections_;
        }
        auto c = std::make_unique<Connection>();
        c->client = fd;
        c->generation = generation;
        SetNoDelay(fd);
        c->upstream = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->upstream < 0) {
          c->Close();
          continue;
        }
        SetNoDelay(c->upstream);
        const sockaddr_in upstream = Loopback(upstream_port_);
        if (connect(c->upstream, reinterpret_cast<const sockaddr*>(&upstream), sizeof(upstream)) == 0) {
          c->connecting = false;
        } else if (errno != EINPROGRESS) {
          c->Close();  // upstream down: the client sees its connection closed
          continue;
        }
        conns.push_back(std::move(c));
      }
    }

    for (size_t i = 0; i < polled; ++i) {
      Connection& c = *conns[i];
      const short client_revents = fds[2 + 2 * i].revents;
      const short upstream_revents = fds[3 + 2 * i].revents;

      if (c.connecting && upstream_revents != 0) {
        int error = 0;
        socklen_t len = sizeof(error);
        getsockopt(c.upstream, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0) {
          c.done = true;
          continue;
        }
        c.connecting = false;
      }

      if ((fds[2 + 2 * i].events & POLLIN) && (client_revents & (POLLIN | POLLHUP | POLLERR))) {
        const ssize_t n = recv(c.client, buffer, sizeof(buffer), 0);
        if (n > 0) {
          std::string data(buffer, static_cast<size_t>(n));
          if (needle.empty()) {
            c.c2s += data;
          } else {
            if (c.generation != generation) {
              // Held back for an arming that has been replaced.
              c.c2s += c.held;
              c.held.clear();
              c.generation = generation;
            }
            std::string scan = std::move(c.held) + data;
            c.held.clear();
            const size_t at = scan.find(needle);
            if (at != std::string::npos) {
              const size_t keep = mode == CutMode::kForwardThenCut ? at + needle.size() : at;
              {
                std::lock_guard<std::mutex> lock(mu_);
                if (arm_generation_ == generation) needle_.clear();  // one-shot
                ++cuts_;
              }
              needle.clear();  // not for the other connections this round either
              if (!c.connecting) {
                WriteAllBlocking(c.upstream, c.c2s + scan.substr(0, keep));
                // FIN after the data; drain what the server already sent so
                // that close() does not turn into a reset that could beat
                // the data to the server's application.
                shutdown(c.upstream, SHUT_WR);
                while (recv(c.upstream, buffer, sizeof(buffer), MSG_DONTWAIT) > 0) {
                }
              }
              c.done = true;
              continue;
            }
            const size_t partial = PartialMatchAtEnd(scan, needle);
            c.c2s.append(scan, 0, scan.size() - partial);
            c.held = scan.substr(scan.size() - partial);
          }
        } else if (n == 0) {
          c.client_eof = true;
          c.c2s += c.held;
          c.held.clear();
        } else if (!WouldBlock()) {
          c.done = true;
          continue;
        }
      }

      if (!c.connecting && (fds[3 + 2 * i].events & POLLIN) &&
          (upstream_revents & (POLLIN | POLLHUP | POLLERR))) {
        const ssize_t n = recv(c.upstream, buffer, sizeof(buffer), 0);
        if (n > 0) {
          c.s2c.append(buffer, static_cast<size_t>(n));
        } else if (n == 0) {
          c.upstream_eof = true;
        } else if (!WouldBlock()) {
          c.done = true;
          continue;
        }
      }

      // Write whatever is pending without waiting for POLLOUT: usually the
      // socket has room, and this saves a round of the loop.
      if (!c.connecting && !c.c2s.empty()) {
        const ssize_t n = send(c.upstream, c.c2s.data(), c.c2s.size(), MSG_NOSIGNAL);
        if (n > 0) {
          c.c2s.erase(0, static_cast<size_t>(n));
        } else if (n < 0 && !WouldBlock()) {
          c.done = true;
          continue;
        }
      }
      if (!c.s2c.empty()) {
        const ssize_t n = send(c.client, c.s2c.data(), c.s2c.size(), MSG_NOSIGNAL);
        if (n > 0) {
          c.s2c.erase(0, static_cast<size_t>(n));
        } else if (n < 0 && !WouldBlock()) {
          c.done = true;
          continue;
        }
      }

      // Pass half-closes on once everything before them is delivered.
      if (c.client_eof && !c.connecting && c.c2s.empty() && !c.upstream_shut) {
        shutdown(c.upstream, SHUT_WR);
        c.upstream_shut = true;
      }
      if (c.upstream_eof && c.s2c.empty() && !c.client_shut) {
        shutdown(c.client, SHUT_WR);
        c.client_shut = true;
      }
      if (c.upstream_shut && c.client_shut) c.done = true;
    }

    for (auto& c : conns) {
      // Bytes held back for a needle that is gone (found elsewhere, or
      // disarmed) go on to the server.
      if (!c->held.empty() && (needle.empty() || c->generation != generation)) {
        c->c2s += c->held;
        c->held.clear();
      }
      if (c->done) c->Close();
    }
    conns.erase(std::remove_if(conns.begin(), conns.end(), [](const auto& c) { return c->done; }),
                conns.end());
  }

  for (auto& c : conns) c->Close();
}

}  // namespace expertise::testing
