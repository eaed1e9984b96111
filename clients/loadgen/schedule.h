#ifndef EXPERTISE_CLIENTS_LOADGEN_SCHEDULE_H_
#define EXPERTISE_CLIENTS_LOADGEN_SCHEDULE_H_

// Which request goes next, and when: the bounds of a load-generator run
// (request count, duration, warm-up) and, with a rate, the open-loop
// schedule of intended send times.
//
// Open loop means request i is due at start + i / rate whatever happened to
// the requests before it. Latency is then measured from that intended time,
// so a server (or generator) that falls behind is charged for the time the
// request spent waiting to be sent; measuring from the actual send time
// would hide exactly the stalls a load test is for ("coordinated omission").

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/mutex.h"

namespace expertise::loadgen {

struct ScheduleOptions {
  // Measured requests (warm-up not included); 0 = no count limit.
  int64_t requests = 0;
  // Length of the measured phase; zero = no time limit. At least one of
  // `requests` and `duration` must be set, so that every run ends.
  absl::Duration duration = absl::ZeroDuration();
  // Requests per second; 0 = closed loop (each worker sends again as soon as
  // its previous call completes).
  double rate = 0;
  // Warm-up before the measured phase: a number of requests, or a time
  // (at most one of them).
  int64_t warmup_requests = 0;
  absl::Duration warmup_duration = absl::ZeroDuration();
};

// One request to send.
struct Ticket {
  // 0-based position in the run, warm-up included.
  int64_t sequence = 0;
  // Warm-up requests are sent but left out of the statistics.
  bool warmup = false;
  // With a rate: when the request is due. Latency counts from here.
  std::optional<absl::Time> intended_send;
};

// Hands out tickets in order until the run's bounds are reached.
// Thread-safe.
class RequestSchedule {
 public:
  // Fails with INVALID_ARGUMENT when the options do not bound the run or
  // are out of range. `clock` is not owned and must outlive the schedule;
  // only differences between its times are used.
  static absl::StatusOr<std::unique_ptr<RequestSchedule>> Create(const ScheduleOptions& options,
                                                                 const Clock* clock);

  // Returns the next ticket, or nullopt once the run is complete: the
  // measured request count is reached, or the next request would start (with
  // a rate: is due) at or after the end of the measured phase. The first
  // call starts the schedule's clock.
  //
  // With a rate, the run also ends when the clock passes the end of the
  // measured phase even if requests due before it are still unsent (the
  // sender fell behind): a run must end in time, and unsent() says what was
  // left out. For the same reason warm-up requests still unsent when the
  // warm-up time is over are skipped.
  std::optional<Ticket> Next();

  // When the measured phase began: the intended send time of its first
  // request with a rate, otherwise the time it was handed out. nullopt until
  // then.
  std::optional<absl::Time> measure_start() const;
  // Tickets handed out so far, warm-up included.
  int64_t issued() const;
  // With a rate and a duration: measured requests that were due before the
  // end of the measured phase but never handed out because the sender was
  // behind when the time ran out.
  int64_t unsent() const;

  bool open_loop() const { return options_.rate > 0; }

 private:
  RequestSchedule(const ScheduleOptions& options, const Clock* clock)
      : options_(options), clock_(clock) {}

  // Open loop: when request `sequence` is due; nullopt if that is centuries
  // away (beyond absl::Nanoseconds' range).
  std::optional<absl::Time> IntendedSend(int64_t sequence) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Open loop: how many requests are due before `time`.
  int64_t DueBefore(absl::Time time) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ScheduleOptions options_;
  const Clock* const clock_;

  mutable Mutex mu_;
  std::optional<absl::Time> start_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> measure_start_ ABSL_GUARDED_BY(mu_);
  int64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t issued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t measured_issued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t unsent_ ABSL_GUARDED_BY(mu_) = 0;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

// Returns a clock that follows std::chrono::steady_clock: the differences
// between its times are real elapsed time, unaffected by steps of the wall
// clock (NTP), which is all latencies and schedules need. Its times are not
// wall-clock times. Never destroyed; thread-safe.
Clock* SteadyClock();

}  // namespace expertise::loadgen

#endif  // EXPERTISE_CLIENTS_LOADGEN_SCHEDULE_H_
