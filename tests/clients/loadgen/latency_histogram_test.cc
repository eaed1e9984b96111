#include "clients/loadgen/latency_histogram.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace expertise::loadgen {
namespace {

using Bin = LatencyHistogram::Bin;
using ::testing::ElementsAre;

// Values spread over every magnitude the histogram tracks, deterministically:
// all values below 4096, then a geometric walk with an odd step.
std::vector<int64_t> SampleValues() {
  std::vector<int64_t> values;
  for (int64_t v = 0; v < 4096; ++v) values.push_back(v);
  for (double v = 4096; v < static_cast<double>(LatencyHistogram::kMaxTrackableMicros); v *= 1.0137) {
    values.push_back(static_cast<int64_t>(v));
  }
  values.push_back(LatencyHistogram::kMaxTrackableMicros);
  return values;
}

TEST(LatencyHistogramTest, EveryValueLiesInItsBucket) {
  for (int64_t v : SampleValues()) {
    const int index = LatencyHistogram::BucketIndex(v);
    ASSERT_LE(LatencyHistogram::BucketLowest(index), v) << v;
    ASSERT_GE(LatencyHistogram::BucketHighest(index), v) << v;
  }
}

TEST(LatencyHistogramTest, BucketsTileTheRangeWithoutGaps) {
  const int last = LatencyHistogram::BucketIndex(LatencyHistogram::kMaxTrackableMicros);
  EXPECT_EQ(LatencyHistogram::BucketLowest(0), 0);
  for (int i = 0; i < last; ++i) {
    ASSERT_EQ(LatencyHistogram::BucketHighest(i) + 1, LatencyHistogram::BucketLowest(i + 1)) << i;
  }
  EXPECT_EQ(LatencyHistogram::BucketHighest(last), LatencyHistogram::kMaxTrackableMicros);
}

TEST(LatencyHistogramTest, BucketWidthIsWithinOnePercentOfItsValues) {
  const int last = LatencyHistogram::BucketIndex(LatencyHistogram::kMaxTrackableMicros);
  for (int i = 1; i <= last; ++i) {
    const int64_t lowest = LatencyHistogram::BucketLowest(i);
    const int64_t width = LatencyHistogram::BucketHighest(i) - lowest + 1;
    ASSERT_LE(static_cast<double>(width - 1) / static_cast<double>(lowest), 0.01) << i;
  }
}

TEST(LatencyHistogramTest, ValuesBelow256AreExact) {
  for (int64_t v = 0; v < 256; ++v) {
    const int index = LatencyHistogram::BucketIndex(v);
    EXPECT_EQ(LatencyHistogram::BucketLowest(index), v);
    EXPECT_EQ(LatencyHistogram::BucketHighest(index), v);
  }
}

TEST(LatencyHistogramTest, EmptyReportsZeros) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0);
  EXPECT_EQ(h.ValueAtPercentile(50), 0);
  EXPECT_TRUE(h.LogBins().empty());
}

TEST(LatencyHistogramTest, KeepsExactCountMinMaxAndMean) {
  LatencyHistogram h;
  for (int64_t v : {1000, 3000, 123457, 17}) h.Record(v);
  EXPECT_EQ(h.count(), 4);
  EXPECT_EQ(h.min(), 17);
  EXPECT_EQ(h.max(), 123457);
  EXPECT_DOUBLE_EQ(h.mean(), (1000 + 3000 + 123457 + 17) / 4.0);
}

TEST(LatencyHistogramTest, NegativeCountsAsZeroAndHugeKeepsExactMax) {
  LatencyHistogram h;
  h.Record(-5);
  h.Record(int64_t{1} << 50);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), int64_t{1} << 50);
  EXPECT_EQ(h.ValueAtPercentile(100), int64_t{1} << 50);
}

struct PercentileCase {
  const char* name;
  double percentile;
  int64_t exact;  // of the values 1..100000
};

void PrintTo(const PercentileCase& c, std::ostream* os) { *os << c.name; }

class LatencyHistogramPercentileTest : public ::testing::TestWithParam<PercentileCase> {
 protected:
  static LatencyHistogram OneToHundredThousand() {
    LatencyHistogram h;
    for (int64_t v = 1; v <= 100000; ++v) h.Record(v);
    return h;
  }
};

TEST_P(LatencyHistogramPercentileTest, NeverUnderReportsAndIsWithinOnePercent) {
  const int64_t got = OneToHundredThousand().ValueAtPercentile(GetParam().percentile);
  EXPECT_GE(got, GetParam().exact);
  EXPECT_LE(static_cast<double>(got - GetParam().exact), 0.01 * static_cast<double>(GetParam().exact));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LatencyHistogramPercentileTest,
    ::testing::Values(PercentileCase{"P0", 0, 1}, PercentileCase{"P1", 1, 1000},
                      PercentileCase{"P50", 50, 50000}, PercentileCase{"P90", 90, 90000},
                      PercentileCase{"P99", 99, 99000}, PercentileCase{"P99_9", 99.9, 99900},
                      PercentileCase{"P99_99", 99.99, 99990}, PercentileCase{"P100", 100, 100000}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(LatencyHistogramTest, RankRoundsLikeHdrHistogram) {
  LatencyHistogram h;
  for (int64_t v = 1; v <= 1000; ++v) h.Record(v * 1000);
  // 99.9% of 1000 values is the 999th, however 0.999 * 1000 rounds.
  EXPECT_EQ(LatencyHistogram::BucketIndex(h.ValueAtPercentile(99.9)), LatencyHistogram::BucketIndex(999000));
  EXPECT_EQ(h.ValueAtPercentile(100), 1000000);
}

TEST(LatencyHistogramTest, PercentilesAreOrdered) {
  LatencyHistogram h;
  for (int64_t v : SampleValues()) h.Record(v % 5000000);
  int64_t previous = h.min();
  for (double p : {0.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const int64_t value = h.ValueAtPercentile(p);
    EXPECT_GE(value, previous) << p;
    previous = value;
  }
  EXPECT_LE(previous, h.max());
}

TEST(LatencyHistogramTest, MergingEqualsRecordingInOne) {
  LatencyHistogram all;
  std::vector<LatencyHistogram> parts(4);
  int i = 0;
  for (int64_t v : SampleValues()) {
    const int64_t value = v % 20000000;
    all.Record(value);
    parts[i++ % parts.size()].Record(value);
  }
  LatencyHistogram merged;
  merged.Merge(LatencyHistogram());  // an empty one changes nothing
  for (const auto& part : parts) merged.Merge(part);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_DOUBLE_EQ(merged.mean(), all.mean());
  for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(merged.ValueAtPercentile(p), all.ValueAtPercentile(p)) << p;
  }
  EXPECT_EQ(merged.LogBins(), all.LogBins());
}

TEST(LatencyHistogramTest, LogBinsFollowTheOneTwoFiveScale) {
  LatencyHistogram h;
  for (int64_t v : {0, 3, 7, 150, 199, 1500}) h.Record(v);
  EXPECT_THAT(h.LogBins(),
              ElementsAre(Bin{0, 1, 1}, Bin{1, 2, 0}, Bin{2, 5, 1}, Bin{5, 10, 1}, Bin{10, 20, 0},
                          Bin{20, 50, 0}, Bin{50, 100, 0}, Bin{100, 200, 2}, Bin{200, 500, 0},
                          Bin{500, 1000, 0}, Bin{1000, 2000, 1}));
}

TEST(LatencyHistogramTest, LogBinsStartAtTheSmallestValue) {
  LatencyHistogram h;
  for (int i = 0; i < 10; ++i) h.Record(120000);
  h.Record(250000);
  EXPECT_THAT(h.LogBins(), ElementsAre(Bin{100000, 200000, 10}, Bin{200000, 500000, 1}));
}

}  // namespace
}  // namespace expertise::loadgen
