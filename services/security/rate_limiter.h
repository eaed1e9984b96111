#ifndef EXPERTISE_SERVICES_SECURITY_RATE_LIMITER_H_
#define EXPERTISE_SERVICES_SECURITY_RATE_LIMITER_H_

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/mutex.h"

namespace expertise::security {

// A token bucket per caller key (typically a principal). Thread-safe.
//
// Each key's bucket holds up to `burst` tokens (at least 1) and refills at
// `per_second` tokens per second; a new key starts with a full bucket. Each
// allowed call takes one token.
//
// Memory is bounded: at most `max_keys` (at least 1) buckets are kept. When
// the table is full and a new key arrives, buckets that have refilled to
// `burst` are dropped (forgetting them loses nothing: a new bucket starts
// full). If none has, the new key is refused — fail closed — until one does,
// so a flood of distinct keys cannot push out the buckets of callers that are
// being limited right now. Size `max_keys` well above the number of
// legitimate callers.
class RateLimiter {
 public:
  // `per_second` <= 0 (or NaN) disables limiting: Allow() always returns true.
  RateLimiter(double per_second, double burst, Clock* clock, size_t max_keys = 100000);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes one token for `key`. On refusal sets *retry_after (if not null) to
  // how long until a token is available (rounded up to a microsecond).
  bool Allow(absl::string_view key, absl::Duration* retry_after = nullptr);

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;  // when `tokens` was last brought up to date
  };

  // When `b` will hold `burst_` tokens again.
  absl::Time FullAt(const Bucket& b) const;
  // Drops every bucket that is full at `now`; recomputes earliest_full_.
  void DropIdleLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const bool enabled_;
  const double per_second_;
  const double burst_;
  Clock* const clock_;
  const size_t max_keys_;

  Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  // No bucket is full before this time: a lower bound that lets a full table
  // refuse new keys without rescanning every bucket each time. Taking tokens
  // only moves a bucket's full time later; new buckets lower the bound.
  absl::Time earliest_full_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace expertise::security

#endif  // EXPERTISE_SERVICES_SECURITY_RATE_LIMITER_H_
