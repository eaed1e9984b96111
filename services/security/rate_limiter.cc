#include "services/security/rate_limiter.h"

#include <algorithm>
#include <string>

namespace expertise::security {
namespace {

// Absorbs floating-point error, so that waiting exactly the advertised
// retry_after is always enough.
constexpr double kEpsilon = 1e-9;

absl::Duration RoundUp(absl::Duration d) { return absl::Ceil(d, absl::Microseconds(1)); }

}  // namespace

RateLimiter::RateLimiter(double per_second, double burst, Clock* clock, size_t max_keys)
    : enabled_(per_second > 0),
      per_second_(per_second),
      // Written this way round so that NaN also becomes 1: a bucket smaller
      // than one token would refuse everything.
      burst_(burst >= 1 ? burst : 1.0),
      clock_(clock),
      max_keys_(std::max<size_t>(max_keys, 1)) {}

absl::Time RateLimiter::FullAt(const Bucket& b) const {
  if (b.tokens >= burst_ - kEpsilon) return b.updated;
  return b.updated + absl::Seconds((burst_ - b.tokens) / per_second_);
}

void RateLimiter::DropIdleLocked(absl::Time now) {
  absl::Time earliest = absl::InfiniteFuture();
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const absl::Time full = FullAt(it->second);
    if (full <= now) {
      buckets_.erase(it++);
    } else {
      earliest = std::min(earliest, full);
      ++it;
    }
  }
  earliest_full_ = earliest;
}

bool RateLimiter::Allow(absl::string_view key, absl::Duration* retry_after) {
  if (!enabled_) return true;
  const absl::Time now = clock_->Now();
  MutexLock lock(&mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      if (now >= earliest_full_) DropIdleLocked(now);
      if (buckets_.size() >= max_keys_) {
        // Fail closed: every bucket is still in use.
        if (retry_after != nullptr) {
          *retry_after = RoundUp(std::max(earliest_full_ - now, absl::ZeroDuration()));
        }
        return false;
      }
    }
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
    Bucket& fresh = it->second;
    fresh.tokens -= 1;  // burst_ >= 1, so a new key is always allowed
    earliest_full_ = std::min(earliest_full_, FullAt(fresh));
    return true;
  }

  Bucket& b = it->second;
  // Another thread may have read a later time and updated first; never refill
  // backwards.
  if (now > b.updated) {
    b.tokens = std::min(burst_, b.tokens + absl::ToDoubleSeconds(now - b.updated) * per_second_);
    b.updated = now;
  }
  if (b.tokens >= 1 - kEpsilon) {
    b.tokens = std::max(0.0, b.tokens - 1);
    return true;
  }
  if (retry_after != nullptr) {
    *retry_after = RoundUp(absl::Seconds((1 - b.tokens) / per_second_));
  }
  return false;
}

}  // namespace expertise::security
