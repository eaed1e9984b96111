#ifndef EXPERTISE_SERVICES_COMMON_COUNTDOWN_H_
#define EXPERTISE_SERVICES_COMMON_COUNTDOWN_H_

// Runs a completion once `count` participants have arrived, on the thread of
// the last one, without blocking anybody: the shape of a fan-out whose
// answers come back on gRPC's callback threads. Whatever a participant wrote
// before Arrive() is visible to the completion (the countdown is an
// acquire-release read-modify-write).

#include <atomic>
#include <cstddef>
#include <functional>
#include <utility>

namespace expertise {

class Countdown {
 public:
  // `count` must be at least 1.
  Countdown(size_t count, std::function<void()> on_zero) : remaining_(count), on_zero_(std::move(on_zero)) {}
  Countdown(const Countdown&) = delete;
  Countdown& operator=(const Countdown&) = delete;

  // Called exactly once per participant, from any thread.
  void Arrive() {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) on_zero_();
  }

 private:
  std::atomic<size_t> remaining_;
  std::function<void()> on_zero_;
};

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_COUNTDOWN_H_
