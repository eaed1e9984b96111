#include "clients/loadgen/schedule.h"

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace expertise::loadgen {

absl::StatusOr<std::unique_ptr<RequestSchedule>> RequestSchedule::Create(
    const ScheduleOptions& options, const Clock* clock) {
  if (clock == nullptr) return absl::InvalidArgumentError("no clock");
  if (options.requests < 0) return absl::InvalidArgumentError("requests must not be negative");
  if (options.duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("duration must not be negative");
  }
  if (options.requests == 0 && options.duration == absl::ZeroDuration()) {
    return absl::InvalidArgumentError("a run needs a request count or a duration to end");
  }
  if (!(options.rate >= 0) || !std::isfinite(options.rate)) {
    return absl::InvalidArgumentError(absl::StrCat("rate must be a positive number, not ", options.rate));
  }
  if (options.warmup_requests < 0 || options.warmup_duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("warm-up must not be negative");
  }
  if (options.warmup_requests > 0 && options.warmup_duration > absl::ZeroDuration()) {
    return absl::InvalidArgumentError("warm-up is a request count or a duration, not both");
  }
  return std::unique_ptr<RequestSchedule>(new RequestSchedule(options, clock));
}

std::optional<absl::Time> RequestSchedule::IntendedSend(int64_t sequence) const {
  // Computed from the sequence number, not from the previous ticket, so
  // rounding never accumulates and a late sender cannot shift the schedule.
  // Whole nanoseconds keep times exact for rates that divide a second.
  const double offset_ns = static_cast<double>(sequence) * 1e9 / options_.rate;
  if (offset_ns > 9e18) return std::nullopt;
  return *start_ + absl::Nanoseconds(std::llround(offset_ns));
}

int64_t RequestSchedule::DueBefore(absl::Time time) const {
  // Request i is due at i / rate, so those due before `time` number
  // ceil(elapsed * rate); the small tolerance keeps an exact multiple (due
  // exactly at `time`, so not before it) from rounding up.
  const double due = absl::ToDoubleSeconds(time - *start_) * options_.rate;
  return due <= 0 ? 0 : static_cast<int64_t>(std::ceil(due - 1e-6));
}

std::optional<Ticket> RequestSchedule::Next() {
  MutexLock lock(&mu_);
  if (done_) return std::nullopt;
  const absl::Time now = clock_->Now();
  if (!start_) start_ = now;
  if (open_loop() && !measure_start_ && options_.warmup_duration > absl::ZeroDuration()) {
    // Still behind when the warm-up time is over: its remaining calls would
    // only hold up the measured phase.
    const absl::Time warmup_end = *start_ + options_.warmup_duration;
    if (now >= warmup_end) next_sequence_ = std::max(next_sequence_, DueBefore(warmup_end));
  }
  Ticket ticket;
  ticket.sequence = next_sequence_;
  if (open_loop()) {
    ticket.intended_send = IntendedSend(ticket.sequence);
    if (!ticket.intended_send) {
      done_ = true;
      return std::nullopt;
    }
  }
  const absl::Time at = ticket.intended_send.value_or(now);
  ticket.warmup = !measure_start_ && (ticket.sequence < options_.warmup_requests ||
                                      at < *start_ + options_.warmup_duration);
  if (!ticket.warmup) {
    if (options_.requests > 0 && measured_issued_ >= options_.requests) {
      done_ = true;
      return std::nullopt;
    }
    if (!measure_start_) measure_start_ = at;
    if (options_.duration > absl::ZeroDuration()) {
      const absl::Time end = *measure_start_ + options_.duration;
      if (at >= end) {
        done_ = true;
        return std::nullopt;
      }
      if (now >= end) {
        // Only with a rate can the clock be past the end while this request
        // was due before it.
        unsent_ = DueBefore(end) - ticket.sequence;
        if (options_.requests > 0) unsent_ = std::min(unsent_, options_.requests - measured_issued_);
        unsent_ = std::max<int64_t>(unsent_, 0);
        done_ = true;
        return std::nullopt;
      }
    }
    ++measured_issued_;
  }
  next_sequence_ = ticket.sequence + 1;
  ++issued_;
  return ticket;
}

std::optional<absl::Time> RequestSchedule::measure_start() const {
  MutexLock lock(&mu_);
  return measure_start_;
}

int64_t RequestSchedule::issued() const {
  MutexLock lock(&mu_);
  return issued_;
}

int64_t RequestSchedule::unsent() const {
  MutexLock lock(&mu_);
  return unsent_;
}

Clock* SteadyClock() {
  class Steady final : public Clock {
   public:
    absl::Time Now() const override {
      return absl::UnixEpoch() + absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
    }
  };
  static Clock* const clock = new Steady();
  return clock;
}

}  // namespace expertise::loadgen
