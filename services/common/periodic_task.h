#ifndef EXPERTISE_SERVICES_COMMON_PERIODIC_TASK_H_
#define EXPERTISE_SERVICES_COMMON_PERIODIC_TASK_H_

// A function run on its own thread every `interval` until stopped: the shape
// of a server's background work (the registry's sweep, a replica following
// the others' writes). Stop() wakes the thread at once instead of waiting
// for the interval, and the destructor stops and joins it.

#include <functional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace expertise {

class PeriodicTask {
 public:
  enum class First { kRunNow, kWaitOneInterval };

  // `run` returns false to end the task early (for good).
  PeriodicTask(absl::Duration interval, First first, std::function<bool()> run);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // Returns once the task's thread has ended; no run starts after it.
  // Idempotent.
  void Stop();

 private:
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_PERIODIC_TASK_H_
