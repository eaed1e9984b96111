#ifndef EXPERTISE_SERVICES_IMPORTER_FLOW_CHANNEL_H_
#define EXPERTISE_SERVICES_IMPORTER_FLOW_CHANNEL_H_

// The runner's side of the runner protocol socket: sends frames with flow
// control, so a fast plugin cannot make the host buffer without bound. At
// most `window` records and rejects are in flight before the host
// acknowledges them (HostMessage.ack.processed counts both).
//
// Threads: the plugin's thread calls Send(); the runner's control thread,
// which reads host messages, calls Ack(), Cancel() and Close(). Frames are
// written under their own mutex, so an Ack never waits behind a write that
// is blocked on a full socket buffer.

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "expertise/importer/v1/runner.pb.h"

namespace expertise::importer {

class FlowChannel {
 public:
  FlowChannel(int fd, uint64_t window) : fd_(fd), window_(window == 0 ? 1 : window) {}

  // Sends one message. Records and rejects wait for window space first.
  // False once the channel is cancelled or closed, or a write failed: the
  // plugin should stop.
  bool Send(const v1::RunnerMessage& message);
  // The host has processed `processed` records and rejects in total.
  void Ack(uint64_t processed);
  // The host asked to cancel: blocked and later sends of records fail.
  void Cancel();
  // The host went away: every later send fails.
  void Close();

  // Records and rejects sent so far (for tests and diagnostics).
  uint64_t sent() const;

 private:
  const int fd_;
  const uint64_t window_;
  mutable std::mutex mu_;
  std::condition_variable window_open_;
  uint64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // Serialises whole frames on the socket (control and plugin threads).
  std::mutex write_mu_;
};

}  // namespace expertise::importer

#endif  // EXPERTISE_SERVICES_IMPORTER_FLOW_CHANNEL_H_
