#ifndef EXPERTISE_TESTS_TESTUTIL_FAKE_CLOCK_H_
#define EXPERTISE_TESTS_TESTUTIL_FAKE_CLOCK_H_

#include "services/common/mutex.h"
#include "services/common/clock.h"

namespace expertise::testing {

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace expertise::testing

#endif  // EXPERTISE_TESTS_TESTUTIL_FAKE_CLOCK_H_
