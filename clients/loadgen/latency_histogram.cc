#include "clients/loadgen/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <map>

namespace expertise::loadgen {
namespace {

// Index on the 1-2-5 scale of the bin holding `micros` (>= 1): bin 3d is
// [10^d, 2*10^d), 3d+1 is [2*10^d, 5*10^d), 3d+2 is [5*10^d, 10^(d+1)).
int LogBinIndex(int64_t micros) {
  int index = 0;
  int64_t decade = 1;
  while (micros >= decade * 10) {
    decade *= 10;
    index += 3;
  }
  if (micros >= 5 * decade) return index + 2;
  if (micros >= 2 * decade) return index + 1;
  return index;
}

// Lower edge of 1-2-5 bin `index`.
int64_t LogBinLower(int index) {
  static constexpr int64_t kMantissas[] = {1, 2, 5};
  int64_t decade = 1;
  for (int i = 0; i < index / 3; ++i) decade *= 10;
  return kMantissas[index % 3] * decade;
}

}  // namespace

int LatencyHistogram::BucketIndex(int64_t micros) {
  const uint64_t value =
      static_cast<uint64_t>(std::clamp<int64_t>(micros, 0, kMaxTrackableMicros));
  if (value < static_cast<uint64_t>(kSubBuckets)) return static_cast<int>(value);
  // Position of the highest set bit (>= kSubBucketBits); the kSubBucketBits
  // bits below it pick the bucket within that power of two.
  const int magnitude = std::bit_width(value) - 1;
  const int shift = magnitude - kSubBucketBits;
  const int sub_bucket = static_cast<int>((value >> shift) - kSubBuckets);
  return (magnitude - kSubBucketBits + 1) * static_cast<int>(kSubBuckets) + sub_bucket;
}

int64_t LatencyHistogram::BucketLowest(int index) {
  if (index < kSubBuckets) return index;
  const int block = index / static_cast<int>(kSubBuckets);  // >= 1
  const int64_t sub_bucket = index % kSubBuckets;
  return (kSubBuckets + sub_bucket) << (block - 1);
}

int64_t LatencyHistogram::BucketHighest(int index) {
  if (index < kSubBuckets) return index;
  const int block = index / static_cast<int>(kSubBuckets);
  return BucketLowest(index) + (int64_t{1} << (block - 1)) - 1;
}

void LatencyHistogram::Record(int64_t micros) {
  micros = std::max<int64_t>(micros, 0);
  const size_t index = static_cast<size_t>(BucketIndex(micros));
  if (index >= counts_.size()) counts_.resize(index + 1, 0);
  ++counts_[index];
  if (count_ == 0) {
    min_ = max_ = micros;
  } else {
    min_ = std::min(min_, micros);
    max_ = std::max(max_, micros);
  }
  ++count_;
  sum_ += micros;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  if (other.counts_.size() > counts_.size()) counts_.resize(other.counts_.size(), 0);
  for (size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_ += other.sum_;
}

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

int64_t LatencyHistogram::ValueAtPercentile(double percentile) const {
  if (count_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  // The rank rounds to nearest, as HdrHistogram does, so that 99.9% of 1000
  // values is the 999th and not (through 0.999 * 1000 = 999.0000001) the last.
  int64_t rank = static_cast<int64_t>(percentile / 100 * static_cast<double>(count_) + 0.5);
  rank = std::clamp<int64_t>(rank, 1, count_);
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // The bucket of max() ends at or above it, except the last, which
      // also holds everything beyond kMaxTrackableMicros.
      if (static_cast<int>(i) == BucketIndex(max_)) return max_;
      return std::clamp(BucketHighest(static_cast<int>(i)), min_, max_);
    }
  }
  return max_;
}

std::vector<LatencyHistogram::Bin> LatencyHistogram::LogBins() const {
  std::vector<Bin> bins;
  if (count_ == 0) return bins;
  // Bin index -1 is [0, 1).
  std::map<int, int64_t> by_bin;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    // The exact extremes say where the first and last buckets really start.
    const int64_t value = std::clamp(BucketLowest(static_cast<int>(i)), min_, max_);
    by_bin[value == 0 ? -1 : LogBinIndex(value)] += counts_[i];
  }
  const int first = by_bin.begin()->first;
  const int last = by_bin.rbegin()->first;
  for (int index = first; index <= last; ++index) {
    Bin bin;
    bin.lower_micros = index < 0 ? 0 : LogBinLower(index);
    bin.upper_micros = LogBinLower(index + 1);
    auto it = by_bin.find(index);
    bin.count = it == by_bin.end() ? 0 : it->second;
    bins.push_back(bin);
  }
  return bins;
}

}  // namespace expertise::loadgen
