#ifndef EXPERTISE_CLIENTS_LOADGEN_LATENCY_HISTOGRAM_H_
#define EXPERTISE_CLIENTS_LOADGEN_LATENCY_HISTOGRAM_H_

// A log-linear latency histogram in the manner of HdrHistogram: each power of
// two is split into kSubBuckets equal buckets, so every recorded value is
// kept to within 1/kSubBuckets (0.78%) of itself in a few kilobytes, whatever
// the spread of latencies. Histograms merge exactly, so each load-generator
// worker records into its own and the report merges them at the end.

#include <cstdint>
#include <vector>

namespace expertise::loadgen {

class LatencyHistogram {
 public:
  // Buckets per power of two (2^7). Values below 2 * kSubBuckets are kept
  // exactly; above that a bucket is at most 1/kSubBuckets of its lower bound.
  static constexpr int kSubBucketBits = 7;
  static constexpr int64_t kSubBuckets = int64_t{1} << kSubBucketBits;
  // Largest value told apart from larger ones (2^40 us, about 12.7 days);
  // larger values are counted in the last bucket, max() stays exact.
  static constexpr int64_t kMaxTrackableMicros = (int64_t{1} << 40) - 1;

  // One bin of the display histogram: values in [lower_micros, upper_micros).
  struct Bin {
    int64_t lower_micros = 0;
    int64_t upper_micros = 0;
    int64_t count = 0;
    bool operator==(const Bin&) const = default;
  };

  LatencyHistogram() = default;

  // Records one latency. Negative values (clock steps) count as 0.
  // Not thread-safe: give each thread its own histogram and Merge().
  void Record(int64_t micros);
  // Adds every value recorded in `other`.
  void Merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  // Exact smallest and largest recorded values; 0 when empty.
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return count_ == 0 ? 0 : max_; }
  // Exact mean of the recorded values; 0 when empty.
  double mean() const;

  // Returns the value below or at which `percentile` percent (0 to 100) of
  // the recorded values lie. Like HdrHistogram it reports the highest value
  // of the bucket holding that rank, so it never under-reports and
  // over-reports by at most 1/kSubBuckets; the result is clamped to
  // [min(), max()]. Returns 0 when empty.
  int64_t ValueAtPercentile(double percentile) const;

  // Returns counts in bins on a 1-2-5 log scale ([1, 2), [2, 5), [5, 10),
  // [10, 20) us ...; [0, 1) for 0), from the first to the last non-empty
  // bin, empty bins between included. A bucket of the fine histogram that
  // straddles a bin edge counts in the bin of its lower bound, so bin edges
  // are as exact as the histogram (exact below 256 us). Empty when nothing
  // was recorded.
  std::vector<Bin> LogBins() const;

  // Bucket layout, exposed for tests: index of the bucket holding `micros`
  // (clamped to [0, kMaxTrackableMicros]) and that bucket's value range.
  static int BucketIndex(int64_t micros);
  static int64_t BucketLowest(int index);
  static int64_t BucketHighest(int index);

 private:
  // Grown on demand to the highest bucket used, so the many per-worker
  // histograms of a run stay small (a few kilobytes for latencies up to
  // seconds) instead of each holding every bucket up to kMaxTrackableMicros.
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  // Sum of recorded values, for an exact mean. Overflows only after 2^63 us.
  int64_t sum_ = 0;
};

}  // namespace expertise::loadgen

#endif  // EXPERTISE_CLIENTS_LOADGEN_LATENCY_HISTOGRAM_H_
