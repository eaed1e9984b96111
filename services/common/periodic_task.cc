#include "services/common/periodic_task.h"

#include <utility>

namespace expertise {

PeriodicTask::PeriodicTask(absl::Duration interval, First first, std::function<bool()> run)
    : thread_([this, interval, first, run = std::move(run)] {
        if (first == First::kWaitOneInterval && stop_.WaitForNotificationWithTimeout(interval)) return;
        do {
          if (!run()) return;
        } while (!stop_.WaitForNotificationWithTimeout(interval));
      }) {}

PeriodicTask::~PeriodicTask() { Stop(); }

void PeriodicTask::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace expertise
