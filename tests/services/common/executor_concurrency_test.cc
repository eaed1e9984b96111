#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "services/common/executor.h"

namespace expertise {
namespace {

// Many producers against a small pool: every accepted task runs exactly once
// and refused ones never run. Run under ThreadSanitizer in CI.
TEST(ExecutorConcurrencyTest, ManyProducersEveryAcceptedTaskRunsOnce) {
  std::atomic<int> ran{0};
  std::atomic<int> accepted{0};
  {
    Executor executor(3, 64);
    std::vector<std::thread> producers;
    for (int p = 0; p < 4; ++p) {
      producers.emplace_back([&] {
        for (int i = 0; i < 2000; ++i) {
          if (executor.Submit([&] { ran.fetch_add(1, std::memory_order_relaxed); })) ++accepted;
        }
      });
    }
    for (auto& t : producers) t.join();
    executor.Shutdown();
  }
  EXPECT_EQ(ran.load(), accepted.load());
  EXPECT_GT(accepted.load(), 0);
}

}  // namespace
}  // namespace expertise
