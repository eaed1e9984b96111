// Under ThreadSanitizer (label "concurrency"): what participants write before
// arriving is visible to the completion, which runs exactly once, on the
// last participant's thread.
#include "services/common/countdown.h"

#include <algorithm>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace expertise {
namespace {

TEST(CountdownTest, TheLastArrivalCompletesOnceAndSeesEveryonesWrites) {
  for (int round = 0; round < 200; ++round) {
    constexpr size_t kParticipants = 8;
    std::vector<int> slots(kParticipants, 0);  // plain ints: TSan checks the ordering
    int completions = 0;
    int sum_seen = 0;
    std::thread::id completed_on;
    Countdown countdown(kParticipants, [&] {
      ++completions;
      completed_on = std::this_thread::get_id();
      for (int v : slots) sum_seen += v;
    });
    std::vector<std::thread> threads;
    std::vector<std::thread::id> ids(kParticipants);
    for (size_t i = 0; i < kParticipants; ++i) {
      threads.emplace_back([&, i] {
        ids[i] = std::this_thread::get_id();
        slots[i] = static_cast<int>(i) + 1;
        countdown.Arrive();
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(completions, 1);
    EXPECT_EQ(sum_seen, 36);
    EXPECT_NE(std::find(ids.begin(), ids.end(), completed_on), ids.end());
  }
}

TEST(CountdownTest, ASingleParticipantCompletesInline) {
  bool done = false;
  Countdown countdown(1, [&] { done = true; });
  countdown.Arrive();
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace expertise
