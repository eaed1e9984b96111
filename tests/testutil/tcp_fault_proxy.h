#ifndef EXPERTISE_TESTS_TESTUTIL_TCP_FAULT_PROXY_H_
#define EXPERTISE_TESTS_TESTUTIL_TCP_FAULT_PROXY_H_

// A loopback TCP proxy for fault tests: put it between a client and a server
// (e.g. a database) and drop connections on demand, or exactly when a given
// message goes by (say, in the middle of a COMMIT).
//
// One thread runs a poll loop over every connection; the public methods are
// thread-safe and hand their requests to that thread.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"

namespace expertise::testing {

class TcpFaultProxy {
 public:
  enum class CutMode {
    // Forward everything up to and including the needle, then cut: the
    // server gets the message, the client never hears its answer.
    kForwardThenCut,
    // Forward what comes before the needle, then cut: the server never gets it.
    kDropAndCut,
  };

  // Listens on 127.0.0.1 on a port chosen by the kernel and forwards every
  // connection to 127.0.0.1:`upstream_port`.
  static absl::StatusOr<std::unique_ptr<TcpFaultProxy>> Start(int upstream_port);
  // Stops the thread and closes every socket.
  ~TcpFaultProxy();
  TcpFaultProxy(const TcpFaultProxy&) = delete;
  TcpFaultProxy& operator=(const TcpFaultProxy&) = delete;

  int port() const { return port_; }

  // Closes every open connection, both sides, before returning: clients see
  // the connection dropped. Later connections are unaffected.
  void CutAll();
  // One-shot: the next time `needle` appears in the client-to-server bytes of
  // any connection (counting only bytes read after this call; a needle split
  // across reads is found), cut that connection as `mode` says, without
  // passing on anything more from the server. While armed, a tail of a
  // connection's bytes that could be the start of the needle is held back
  // until the next bytes show whether it is. Replaces an earlier arming; an
  // empty needle disarms.
  //
  // The server acts on whole messages only, so for kForwardThenCut let the
  // needle end where a message ends: for a COMMIT sent by libpq's PQexec
  // (simple query protocol) that is std::string("COMMIT\0", 7), or
  // std::string("COMMIT;\0", 8) for psql, which keeps the semicolon.
  void ArmCut(std::string needle, CutMode mode);
  // Whether an ArmCut is still waiting for its needle.
  bool armed() const;

  int cuts() const;         // connections cut so far (by ArmCut or CutAll)
  int connections() const;  // connections accepted so far

 private:
  struct Connection;

  explicit TcpFaultProxy(int upstream_port) : upstream_port_(upstream_port) {}
  void Loop();
  void Wake();

  const int upstream_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_read_fd_ = -1;   // the loop polls it; Wake() writes to the other end
  int wake_write_fd_ = -1;
  std::thread thread_;

  // std::mutex rather than absl::Mutex: see services/common/mutex.h.
  mutable std::mutex mu_;
  std::condition_variable cut_all_done_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t cut_all_requested_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t cut_all_done_count_ ABSL_GUARDED_BY(mu_) = 0;
  std::string needle_ ABSL_GUARDED_BY(mu_);  // empty: not armed
  CutMode mode_ ABSL_GUARDED_BY(mu_) = CutMode::kForwardThenCut;
  uint64_t arm_generation_ ABSL_GUARDED_BY(mu_) = 0;
  int cuts_ ABSL_GUARDED_BY(mu_) = 0;
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace expertise::testing

#endif  // EXPERTISE_TESTS_TESTUTIL_TCP_FAULT_PROXY_H_
