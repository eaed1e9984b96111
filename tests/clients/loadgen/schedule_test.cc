#include "clients/loadgen/schedule.h"

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testutil/fake_clock.h"
#include "tests/testutil/status_matchers.h"

namespace expertise::loadgen {
namespace {

using ::expertise::testing::FakeClock;
using ::expertise::testing::IsOk;
using ::expertise::testing::StatusIs;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

struct Issued {
  int64_t sequence;
  bool warmup;
  std::optional<absl::Duration> intended;  // after kStart
  bool operator==(const Issued&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Issued& i) {
  os << "{" << i.sequence << (i.warmup ? " warm-up" : "");
  if (i.intended) os << " at +" << absl::FormatDuration(*i.intended);
  return os << "}";
}

class RequestScheduleTest : public ::testing::Test {
 protected:
  std::unique_ptr<RequestSchedule> Make(const ScheduleOptions& options) {
    auto schedule = RequestSchedule::Create(options, &clock_);
    EXPECT_THAT(schedule, IsOk());
    return schedule.ok() ? *std::move(schedule) : nullptr;
  }

  // Takes every ticket, moving the clock on by `step` after each, and checks
  // the schedule stays exhausted.
  std::vector<Issued> Drain(RequestSchedule& schedule, absl::Duration step = absl::ZeroDuration()) {
    std::vector<Issued> issued;
    while (auto ticket = schedule.Next()) {
      std::optional<absl::Duration> intended;
      if (ticket->intended_send) intended = *ticket->intended_send - kStart;
      issued.push_back({ticket->sequence, ticket->warmup, intended});
      clock_.Advance(step);
      if (issued.size() > 1000) break;  // a runaway schedule fails, not hangs
    }
    EXPECT_FALSE(schedule.Next().has_value());
    return issued;
  }

  FakeClock clock_{kStart};
};

struct InvalidCase {
  const char* name;
  ScheduleOptions options;
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class RequestScheduleInvalidTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(RequestScheduleInvalidTest, IsRefused) {
  FakeClock clock(kStart);
  EXPECT_THAT(RequestSchedule::Create(GetParam().options, &clock),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RequestScheduleInvalidTest,
    ::testing::Values(
        InvalidCase{"Unbounded", {}},
        InvalidCase{"NegativeRequests", {.requests = -1, .duration = absl::Seconds(1)}},
        InvalidCase{"NegativeDuration", {.requests = 1, .duration = absl::Seconds(-1)}},
        InvalidCase{"NegativeRate", {.requests = 1, .rate = -5}},
        InvalidCase{"NanRate", {.requests = 1, .rate = std::numeric_limits<double>::quiet_NaN()}},
        InvalidCase{"InfiniteRate", {.requests = 1, .rate = std::numeric_limits<double>::infinity()}},
        InvalidCase{"NegativeWarmup", {.requests = 1, .warmup_requests = -1}},
        InvalidCase{"TwoKindsOfWarmup",
                    {.requests = 1, .warmup_requests = 5, .warmup_duration = absl::Seconds(1)}}),
    [](const auto& test_case) { return test_case.param.name; });

TEST_F(RequestScheduleTest, ClosedLoopCountsMeasuredRequestsAfterWarmup) {
  auto schedule = Make({.requests = 3, .warmup_requests = 2});
  EXPECT_THAT(Drain(*schedule), ::testing::ElementsAre(Issued{0, true, std::nullopt}, Issued{1, true, std::nullopt},
                                                      Issued{2, false, std::nullopt}, Issued{3, false, std::nullopt},
                                                      Issued{4, false, std::nullopt}));
  EXPECT_EQ(schedule->issued(), 5);
}

TEST_F(RequestScheduleTest, OpenLoopTimesFollowTheRateWhateverTheClock) {
  auto schedule = Make({.requests = 5, .rate = 4});
  // The sender falls 3 s behind after the first ticket: intended times stay.
  auto first = schedule->Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->intended_send, kStart);
  clock_.Advance(absl::Seconds(3));
  EXPECT_THAT(Drain(*schedule, absl::Milliseconds(7)),
              ::testing::ElementsAre(Issued{1, false, absl::Milliseconds(250)},
                                     Issued{2, false, absl::Milliseconds(500)},
                                     Issued{3, false, absl::Milliseconds(750)},
                                     Issued{4, false, absl::Seconds(1)}));
  EXPECT_EQ(schedule->measure_start(), kStart);
}

TEST_F(RequestScheduleTest, OpenLoopDurationEndsAtTheLastDueRequest) {
  auto schedule = Make({.duration = absl::Seconds(1), .rate = 10});
  const auto issued = Drain(*schedule);
  ASSERT_EQ(issued.size(), 10u);
  EXPECT_EQ(issued.back().intended, absl::Milliseconds(900));
}

TEST_F(RequestScheduleTest, OpenLoopWarmupByTimeShiftsTheMeasuredPhase) {
  auto schedule = Make({.duration = absl::Seconds(1), .rate = 10, .warmup_duration = absl::Milliseconds(500)});
  const auto issued = Drain(*schedule);
  ASSERT_EQ(issued.size(), 15u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(issued[i].warmup, i < 5) << i;
  EXPECT_EQ(issued.back().intended, absl::Milliseconds(1400));
  EXPECT_EQ(schedule->measure_start(), kStart + absl::Milliseconds(500));
}

TEST_F(RequestScheduleTest, ClosedLoopDurationCountsFromTheFirstMeasuredRequest) {
  auto schedule = Make({.duration = absl::Seconds(1), .warmup_duration = absl::Seconds(1)});
  // Handed out at +0, +0.4, +0.8 (warm-up), +1.2, +1.6, +2.0 (measured), +2.4.
  const auto issued = Drain(*schedule, absl::Milliseconds(400));
  ASSERT_EQ(issued.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(issued[i].warmup, i < 3) << i;
  EXPECT_EQ(schedule->measure_start(), kStart + absl::Milliseconds(1200));
}

TEST_F(RequestScheduleTest, WhicheverBoundComesFirstEndsTheRun) {
  EXPECT_EQ(Drain(*Make({.requests = 3, .duration = absl::Seconds(10)}), absl::Seconds(1)).size(), 3u);
  EXPECT_EQ(Drain(*Make({.requests = 300, .duration = absl::Seconds(10)}), absl::Seconds(1)).size(), 10u);
}

TEST_F(RequestScheduleTest, OpenLoopEndsInTimeWhenBehindAndCountsWhatWasLeft) {
  auto schedule = Make({.duration = absl::Seconds(1), .rate = 10});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(schedule->Next().has_value());
  // The sender stalls past the end of the measured phase.
  clock_.Advance(absl::Milliseconds(1200));
  EXPECT_FALSE(schedule->Next().has_value());
  EXPECT_EQ(schedule->unsent(), 7);
  EXPECT_EQ(schedule->issued(), 3);
}

TEST_F(RequestScheduleTest, OpenLoopUnsentIsCappedByTheRequestCount) {
  auto schedule = Make({.requests = 5, .duration = absl::Seconds(1), .rate = 10});
  ASSERT_TRUE(schedule->Next().has_value());
  clock_.Advance(absl::Seconds(2));
  EXPECT_FALSE(schedule->Next().has_value());
  EXPECT_EQ(schedule->unsent(), 4);
}

TEST_F(RequestScheduleTest, OpenLoopOnScheduleLeavesNothingUnsent) {
  auto schedule = Make({.duration = absl::Seconds(1), .rate = 10});
  EXPECT_EQ(Drain(*schedule, absl::Milliseconds(100)).size(), 10u);
  EXPECT_EQ(schedule->unsent(), 0);
}

TEST_F(RequestScheduleTest, OpenLoopSkipsWarmupCallsStillDueWhenTheWarmupTimeIsOver) {
  auto schedule = Make({.requests = 3, .rate = 10, .warmup_duration = absl::Milliseconds(500)});
  auto first = schedule->Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->warmup);
  clock_.Advance(absl::Seconds(2));
  EXPECT_THAT(Drain(*schedule),
              ::testing::ElementsAre(Issued{5, false, absl::Milliseconds(500)},
                                     Issued{6, false, absl::Milliseconds(600)},
                                     Issued{7, false, absl::Milliseconds(700)}));
  EXPECT_EQ(schedule->measure_start(), kStart + absl::Milliseconds(500));
}

TEST_F(RequestScheduleTest, NoMeasureStartBeforeTheMeasuredPhase) {
  auto schedule = Make({.requests = 1, .warmup_requests = 1});
  EXPECT_FALSE(schedule->measure_start().has_value());
  ASSERT_TRUE(schedule->Next().has_value());
  EXPECT_FALSE(schedule->measure_start().has_value());
  ASSERT_TRUE(schedule->Next().has_value());
  EXPECT_EQ(schedule->measure_start(), kStart);
}

TEST_F(RequestScheduleTest, HandsOutEachTicketOnceAcrossThreads) {
  auto schedule = Make({.requests = 20000, .rate = 1000});
  std::vector<std::vector<int64_t>> taken(4);
  std::vector<std::thread> threads;
  for (auto& mine : taken) {
    threads.emplace_back([&schedule, &mine] {
      while (auto ticket = schedule->Next()) mine.push_back(ticket->sequence);
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> all;
  for (const auto& mine : taken) all.insert(mine.begin(), mine.end());
  EXPECT_EQ(all.size(), 20000u);
  EXPECT_EQ(*all.rbegin(), 19999);
}

TEST(SteadyClockTest, NeverGoesBack) {
  absl::Time previous = SteadyClock()->Now();
  for (int i = 0; i < 1000; ++i) {
    const absl::Time now = SteadyClock()->Now();
    ASSERT_GE(now, previous);
    previous = now;
  }
}

}  // namespace
}  // namespace expertise::loadgen
