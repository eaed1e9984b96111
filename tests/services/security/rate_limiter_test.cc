#include "services/security/rate_limiter.h"

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/testutil/fake_clock.h"

namespace expertise::security {
namespace {

using ::expertise::testing::FakeClock;

const absl::Time kStart = absl::FromUnixSeconds(1767225600);

TEST(RateLimiterTest, BurstThenRefusalWithRetryAfter) {
  FakeClock clock(kStart);
  RateLimiter limiter(/*per_second=*/1, /*burst=*/3, &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("authority/E09000033")) << i;
  absl::Duration retry_after;
  EXPECT_FALSE(limiter.Allow("authority/E09000033", &retry_after));
  EXPECT_EQ(retry_after, absl::Seconds(1));
  EXPECT_FALSE(limiter.Allow("authority/E09000033"));  // null retry_after is fine
}

TEST(RateLimiterTest, RetryAfterCountsPartialRefill) {
  FakeClock clock(kStart);
  RateLimiter limiter(/*per_second=*/2, /*burst=*/1, &clock);
  EXPECT_TRUE(limiter.Allow("k"));
  absl::Duration retry_after;
  EXPECT_FALSE(limiter.Allow("k", &retry_after));
  EXPECT_EQ(retry_after, absl::Milliseconds(500));
  clock.Advance(absl::Milliseconds(200));
  EXPECT_FALSE(limiter.Allow("k", &retry_after));
  EXPECT_EQ(retry_after, absl::Milliseconds(300));
  clock.Advance(absl::Milliseconds(300));
  EXPECT_TRUE(limiter.Allow("k"));
}

TEST(RateLimiterTest, RefillsOverTimeUpToBurst) {
  FakeClock clock(kStart);
  RateLimiter limiter(/*per_second=*/1, /*burst=*/3, &clock);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Allow("k"));
  ASSERT_FALSE(limiter.Allow("k"));
  clock.Advance(absl::Seconds(2));
  EXPECT_TRUE(limiter.Allow("k"));
  EXPECT_TRUE(limiter.Allow("k"));
  EXPECT_FALSE(limiter.Allow("k"));
  clock.Advance(absl::Hours(1));  // capped at burst, not 3600
  int allowed = 0;
  while (limiter.Allow("k")) ++allowed;
  EXPECT_EQ(allowed, 3);
}

// Waiting exactly the advertised time must be enough, whatever the rounding.
TEST(RateLimiterTest, WaitingRetryAfterIsAlwaysEnough) {
  for (double rate : {0.7, 3.0, 7.0, 10.0 / 3, 1000.0, 12345.678}) {
    FakeClock clock(kStart);
    RateLimiter limiter(rate, /*burst=*/2.5, &clock);
    for (int round = 0; round < 50; ++round) {
      while (limiter.Allow("k")) {
      }
      absl::Duration retry_after;
      ASSERT_FALSE(limiter.Allow("k", &retry_after));
      ASSERT_GT(retry_after, absl::ZeroDuration());
      clock.Advance(retry_after);
      ASSERT_TRUE(limiter.Allow("k")) << "rate " << rate << " round " << round;
      clock.Advance(absl::Milliseconds(round * 37 % 1000));
    }
  }
}

TEST(RateLimiterTest, KeysAreIndependent) {
  FakeClock clock(kStart);
  RateLimiter limiter(/*per_second=*/1, /*burst=*/2, &clock);
  EXPECT_TRUE(limiter.Allow("a"));
  EXPECT_TRUE(limiter.Allow("a"));
  EXPECT_FALSE(limiter.Allow("a"));
  EXPECT_TRUE(limiter.Allow("b"));
  EXPECT_TRUE(limiter.Allow("b"));
  EXPECT_FALSE(limiter.Allow("b"));
}

TEST(RateLimiterTest, NonPositiveRateDisablesLimiting) {
  FakeClock clock(kStart);
  for (double rate : {0.0, -1.0}) {
    RateLimiter limiter(rate, /*burst=*/1, &clock, /*max_keys=*/1);
    absl::Duration retry_after = absl::Seconds(42);
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE(limiter.Allow(absl::StrCat("k", i % 3), &retry_after));
    }
    EXPECT_EQ(retry_after, absl::Seconds(42));  // untouched
  }
}

TEST(RateLimiterTest, BurstBelowOneStillAllowsOne) {
  FakeClock clock(kStart);
  RateLimiter limiter(/*per_second=*/1, /*burst=*/0.5, &clock);
  EXPECT_TRUE(limiter.Allow("k"));
  EXPECT_FALSE(limiter.Allow("k"));
}

TEST(RateLimiterTest, ClockGoingBackwardsGrantsNothingExtra) {
  FakeClock clock(kStart);
  RateLimiter limiter(/*per_second=*/1, /*burst=*/1, &clock);
  EXPECT_TRUE(limiter.Allow("k"));
  clock.Set(kStart - absl::Hours(1));
  EXPECT_FALSE(limiter.Allow("k"));
  clock.Set(kStart + absl::Seconds(1));
  EXPECT_TRUE(limiter.Allow("k"));
}

TEST(RateLimiterTest, FullTableDropsIdleBuckets) {
  FakeClock clock(kStart);
  RateLimiter limiter(/*per_second=*/1, /*burst=*/2, &clock, /*max_keys=*/2);
  EXPECT_TRUE(limiter.Allow("idle"));
  clock.Advance(absl::Seconds(1));  // "idle" is full again
  EXPECT_TRUE(limiter.Allow("busy"));
  EXPECT_TRUE(limiter.Allow("busy"));
  EXPECT_TRUE(limiter.Allow("new"));  // takes the idle bucket's place
  // "busy" was kept, with its bucket still empty.
  absl::Duration retry_after;
  EXPECT_FALSE(limiter.Allow("busy", &retry_after));
  EXPECT_EQ(retry_after, absl::Seconds(1));
}

TEST(RateLimiterTest, FullTableRefusesNewKeysWhenNoneIdle) {
  FakeClock clock(kStart);
  RateLimiter limiter(/*per_second=*/1, /*burst=*/2, &clock, /*max_keys=*/2);
  EXPECT_TRUE(limiter.Allow("a"));
  clock.Advance(absl::Milliseconds(400));
  EXPECT_TRUE(limiter.Allow("b"));
  absl::Duration retry_after;
  EXPECT_FALSE(limiter.Allow("c", &retry_after));  // fail closed
  EXPECT_EQ(retry_after, absl::Milliseconds(600));  // until "a" is full again
  // Known keys are unaffected.
  EXPECT_TRUE(limiter.Allow("a"));
  clock.Advance(absl::Milliseconds(599));
  EXPECT_FALSE(limiter.Allow("c"));
  clock.Advance(absl::Milliseconds(1));
  // "a" took another token, so it is not idle yet; "b" is not full until +1.4s.
  EXPECT_FALSE(limiter.Allow("c", &retry_after));
  EXPECT_EQ(retry_after, absl::Milliseconds(400));
  clock.Advance(absl::Milliseconds(400));
  EXPECT_TRUE(limiter.Allow("c"));  // "b" dropped
  EXPECT_FALSE(limiter.Allow("d"));  // "a" not full until +2s; "c" just started
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(limiter.Allow("d"));
}

TEST(RateLimiterTest, ManyDistinctKeysStayBounded) {
  FakeClock clock(kStart);
  RateLimiter limiter(/*per_second=*/1, /*burst=*/1, &clock, /*max_keys=*/100);
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += limiter.Allow(absl::StrCat("key", i)) ? 1 : 0;
  EXPECT_EQ(allowed, 100);
  clock.Advance(absl::Seconds(1));  // every bucket idle again
  allowed = 0;
  for (int i = 1000; i < 1100; ++i) allowed += limiter.Allow(absl::StrCat("key", i)) ? 1 : 0;
  EXPECT_EQ(allowed, 100);
}

// With the clock frozen, no tokens refill, so exactly `burst` calls per key
// succeed however the threads interleave.
TEST(RateLimiterConcurrencyTest, FrozenClockAllowsExactlyBurstPerKey) {
  constexpr int kThreads = 8;
  constexpr int kKeys = 4;
  constexpr int kBurst = 100;
  constexpr int kCallsPerThreadPerKey = 200;
  FakeClock clock(kStart);
  RateLimiter limiter(/*per_second=*/5, kBurst, &clock);
  std::array<std::atomic<int>, kKeys> allowed{};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kCallsPerThreadPerKey; ++i) {
        for (int k = 0; k < kKeys; ++k) {
          const int key = (k + t) % kKeys;  // threads start on different keys
          absl::Duration retry_after;
          if (limiter.Allow(absl::StrCat("principal/", key), &retry_after)) allowed[key]++;
        }
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  for (int k = 0; k < kKeys; ++k) EXPECT_EQ(allowed[k].load(), kBurst) << "key " << k;
}

// A table with room for two keys: with nothing ever idle, exactly two keys
// get buckets and the rest are refused throughout.
TEST(RateLimiterConcurrencyTest, FrozenClockFullTableFailsClosed) {
  constexpr int kThreads = 8;
  constexpr int kKeys = 4;
  constexpr int kBurst = 10;
  FakeClock clock(kStart);
  RateLimiter limiter(/*per_second=*/5, kBurst, &clock, /*max_keys=*/2);
  std::array<std::atomic<int>, kKeys> allowed{};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const int key = (i + t) % kKeys;
        if (limiter.Allow(absl::StrCat("principal/", key))) allowed[key]++;
      }
    });
  }
  for (auto& th : threads) th.join();
  int keys_served = 0;
  int total = 0;
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_TRUE(allowed[k] == 0 || allowed[k] == kBurst) << "key " << k << ": " << allowed[k];
    keys_served += allowed[k] > 0 ? 1 : 0;
    total += allowed[k];
  }
  EXPECT_EQ(keys_served, 2);
  EXPECT_EQ(total, 2 * kBurst);
}

}  // namespace
}  // namespace expertise::security
