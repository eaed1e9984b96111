#include "services/common/executor.h"

#include <atomic>

#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"

namespace expertise {
namespace {

TEST(ExecutorTest, RunsEveryAcceptedTaskBeforeShutdownReturns) {
  std::atomic<int> ran{0};
  Executor executor(2, 1000);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(executor.Submit([&] { ++ran; }));
  executor.Shutdown();
  EXPECT_EQ(ran.load(), 500);
}

TEST(ExecutorTest, RefusesWhenTheQueueIsFull) {
  Executor executor(1, 2);
  absl::Notification release, started;
  ASSERT_TRUE(executor.Submit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();  // the worker is busy, the queue is empty
  EXPECT_TRUE(executor.Submit([] {}));
  EXPECT_TRUE(executor.Submit([] {}));
  EXPECT_FALSE(executor.Submit([] {}));  // third waiting task: refused
  release.Notify();
}

TEST(ExecutorTest, RefusesAfterShutdown) {
  Executor executor(1, 10);
  executor.Shutdown();
  EXPECT_FALSE(executor.Submit([] {}));
  executor.Shutdown();  // idempotent
}

}  // namespace
}  // namespace expertise
