#include "services/common/periodic_task.h"

#include <atomic>

#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"

namespace expertise {
namespace {

// An interval no test waits out: a run that happens after the first one
// would have to be woken early, which only Stop() does (and it ends the task).
constexpr absl::Duration kForever = absl::Hours(24);

TEST(PeriodicTaskTest, RunNowRunsOnceBeforeTheFirstInterval) {
  std::atomic<int> runs{0};
  absl::Notification ran;
  PeriodicTask task(kForever, PeriodicTask::First::kRunNow, [&] {
    if (runs.fetch_add(1) == 0) ran.Notify();
    return true;
  });
  ran.WaitForNotification();
  task.Stop();  // wakes the wait at once: the test would time out otherwise
  EXPECT_EQ(runs.load(), 1);
}

TEST(PeriodicTaskTest, WaitOneIntervalDoesNotRunWhenStoppedFirst) {
  std::atomic<int> runs{0};
  PeriodicTask task(kForever, PeriodicTask::First::kWaitOneInterval, [&] {
    runs.fetch_add(1);
    return true;
  });
  task.Stop();
  EXPECT_EQ(runs.load(), 0);
}

TEST(PeriodicTaskTest, ReturningFalseEndsTheTaskForGood) {
  std::atomic<int> runs{0};
  absl::Notification third;
  PeriodicTask task(absl::Milliseconds(1), PeriodicTask::First::kRunNow, [&] {
    if (runs.fetch_add(1) + 1 == 3) {
      third.Notify();
      return false;
    }
    return true;
  });
  third.WaitForNotification();
  task.Stop();
  EXPECT_EQ(runs.load(), 3);
}

TEST(PeriodicTaskTest, StopIsIdempotentAndTheDestructorStopsToo) {
  std::atomic<int> runs{0};
  {
    PeriodicTask task(absl::Milliseconds(1), PeriodicTask::First::kRunNow, [&] {
      runs.fetch_add(1);
      return true;
    });
    task.Stop();
    const int after_stop = runs.load();
    task.Stop();
    EXPECT_EQ(runs.load(), after_stop);  // no run starts after Stop returns
  }
  PeriodicTask untouched(kForever, PeriodicTask::First::kWaitOneInterval, [] { return true; });
}

}  // namespace
}  // namespace expertise
