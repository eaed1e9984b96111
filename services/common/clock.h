#ifndef EXPERTISE_SERVICES_COMMON_CLOCK_H_
#define EXPERTISE_SERVICES_COMMON_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace expertise {

// Source of the current time. Injected everywhere time matters so tests are
// deterministic (tests/testutil/fake_clock.h). Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Returns the process-wide wall clock. Never destroyed.
inline Clock* RealClock() {
  class Real final : public Clock {
   public:
    absl::Time Now() const override { return absl::Now(); }
  };
  static Clock* const clock = new Real();
  return clock;
}

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_CLOCK_H_
