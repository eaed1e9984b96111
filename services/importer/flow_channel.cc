#include "services/importer/flow_channel.h"

#include "services/importer/frame_io.h"

namespace expertise::importer {

bool FlowChannel::Send(const v1::RunnerMessage& message) {
  const bool counted = message.has_record() || message.has_reject();
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (counted) {
      window_open_.wait(lock, [&] { return closed_ || cancelled_ || sent_ - acked_ < window_; });
      if (cancelled_) return false;
    }
    if (closed_) return false;
    if (counted) ++sent_;
  }
  std::lock_guard<std::mutex> write_lock(write_mu_);
  if (!WriteFrame(fd_, message).ok()) {
    Close();
    return false;
  }
  return true;
}

void FlowChannel::Ack(uint64_t processed) {
  std::lock_guard<std::mutex> lock(mu_);
  if (processed > acked_) acked_ = processed;
  window_open_.notify_all();
}

void FlowChannel::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  window_open_.notify_all();
}

void FlowChannel::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  window_open_.notify_all();
}

uint64_t FlowChannel::sent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sent_;
}

}  // namespace expertise::importer
