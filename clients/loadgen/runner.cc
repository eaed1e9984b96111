#include "clients/loadgen/runner.h"

#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <ostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/status_macros.h"

namespace expertise::loadgen {
namespace {

// A channel argument of our own whose value differs per connection. gRPC
// shares one subchannel (one TCP connection) between channels with equal
// arguments, so without it --connections 4 would still be one connection.
constexpr char kConnectionIndexArg[] = "expertise.loadgen.connection_index";

// One scenario's calls.
//
// Why the callback API through a GenericStub: a finished call starts the
// next one from its completion callback, on gRPC's own threads, so there is
// no thread per call in flight and no polling loop of ours; a thousand calls
// in flight are a thousand small slots, not a thousand threads, and two cores
// drive well over 10k calls/s. The GenericStub sends the request serialised
// once, as bytes, and leaves responses unparsed, so the generator's CPU goes
// on calls, not on protobuf, and what is measured is the server and the
// transport.
//
// Closed loop (no rate): each slot's completion callback takes the next
// ticket and starts it at once. Open loop (a rate): the calling thread sends
// each ticket at its intended time on a free slot; when every slot is busy it
// waits for one, and that wait counts in the call's latency.
class ScenarioRun {
 public:
  ScenarioRun(const Scenario& scenario, RequestSchedule* schedule,
              const std::vector<std::unique_ptr<grpc::GenericStub>>& stubs, int concurrency,
              absl::Duration timeout, const Clock* clock)
      : scenario_(scenario), schedule_(schedule), timeout_(timeout), clock_(clock) {
    grpc::Slice request(scenario.request);
    for (int i = 0; i < concurrency; ++i) {
      auto slot = std::make_unique<Slot>();
      slot->stub = stubs[static_cast<size_t>(i) % stubs.size()].get();
      // A buffer per slot, so concurrent calls never share one.
      slot->request = grpc::ByteBuffer(&request, 1);
      slots_.push_back(std::move(slot));
    }
  }

  // Sends calls until the schedule is exhausted and every call has completed.
  ScenarioResult Run() {
    if (schedule_->open_loop()) {
      RunOpenLoop();
    } else {
      RunClosedLoop();
    }
    return Collect();
  }

 private:
  // One call in flight at a time. Between StartCall() and the completion
  // callback only gRPC touches a slot; the callback then owns it until it
  // starts the next call or hands the slot back, so a slot's statistics need
  // no lock.
  struct Slot {
    grpc::GenericStub* stub = nullptr;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    // A ClientContext serves one call only, so each call gets a new one.
    std::unique_ptr<grpc::ClientContext> context;
    Ticket ticket;
    absl::Time sent;

    LatencyHistogram latencies;
    std::map<grpc::StatusCode, int64_t> errors;
    int64_t completed = 0;
    absl::Time last_completion = absl::InfinitePast();
  };

  void RunClosedLoop() {
    for (auto& slot : slots_) {
      if (auto ticket = schedule_->Next()) {
        StartCall(slot.get(), *ticket);
      } else {
        RetireSlot();
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return retired_slots_ == static_cast<int>(slots_.size()); });
  }

  void RunOpenLoop() {
    // Sleeps end up to the thread's timer slack (50 us by default) late, and
    // the schedule charges lateness to the calls' latency; 1 ns of slack
    // makes them end on time, give or take scheduling.
    const int saved_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& slot : slots_) free_slots_.push_back(slot.get());
    }
    while (auto ticket = schedule_->Next()) {
      const absl::Duration early = *ticket->intended_send - clock_->Now();
      if (early > absl::ZeroDuration()) absl::SleepFor(early);
      Slot* slot = nullptr;
      {
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait(lock, [this] { return !free_slots_.empty(); });
        slot = free_slots_.back();
        free_slots_.pop_back();
      }
      StartCall(slot, *ticket);
    }
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return free_slots_.size() == slots_.size(); });
    if (saved_slack > 0) prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(saved_slack), 0, 0, 0);
  }

  void StartCall(Slot* slot, const Ticket& ticket) {
    slot->ticket = ticket;
    slot->context = std::make_unique<grpc::ClientContext>();
    slot->context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(timeout_));
    slot->sent = clock_->Now();
    slot->stub->UnaryCall(slot->context.get(), scenario_.method, grpc::StubOptions(), &slot->request,
                          &slot->response,
                          [this, slot](grpc::Status status) { OnCallDone(slot, status); });
  }

  // Runs on a gRPC thread; must not block.
  void OnCallDone(Slot* slot, const grpc::Status& status) {
    const absl::Time now = clock_->Now();
    if (!slot->ticket.warmup) {
      ++slot->completed;
      slot->last_completion = std::max(slot->last_completion, now);
      if (status.ok()) {
        // From the intended send time when there is one: see schedule.h.
        const absl::Time from = slot->ticket.intended_send.value_or(slot->sent);
        slot->latencies.Record(absl::ToInt64Microseconds(now - from));
      } else {
        ++slot->errors[status.error_code()];
      }
    }
    slot->context.reset();
    slot->response.Clear();
    if (schedule_->open_loop()) {
      // Nothing of `this` may be touched once the slot is back: the last one
      // back lets Run() return.
      std::lock_guard<std::mutex> lock(mu_);
      free_slots_.push_back(slot);
      changed_.notify_all();
    } else if (auto ticket = schedule_->Next()) {
      StartCall(slot, *ticket);
    } else {
      RetireSlot();
    }
  }

  void RetireSlot() {
    std::lock_guard<std::mutex> lock(mu_);
    ++retired_slots_;
    changed_.notify_all();
  }

  ScenarioResult Collect() const {
    ScenarioResult result;
    result.name = scenario_.name;
    result.method = scenario_.method;
    absl::Time last_completion = absl::InfinitePast();
    for (const auto& slot : slots_) {
      result.count += slot->completed;
      result.latencies.Merge(slot->latencies);
      for (const auto& [code, n] : slot->errors) {
        // absl::StatusCode numbers are gRPC's, and so are the names.
        result.errors[absl::StatusCodeToString(static_cast<absl::StatusCode>(code))] += n;
      }
      last_completion = std::max(last_completion, slot->last_completion);
    }
    result.unsent = schedule_->unsent();
    if (auto start = schedule_->measure_start(); start && result.count > 0) {
      result.duration = std::max(last_completion - *start, absl::ZeroDuration());
    }
    return result;
  }

  const Scenario& scenario_;
  RequestSchedule* const schedule_;
  const absl::Duration timeout_;
  const Clock* const clock_;
  // Pointers into it stay valid while calls run.
  std::vector<std::unique_ptr<Slot>> slots_;

  // std::mutex rather than expertise::Mutex for its condition variable.
  // State below is protected by mu_.
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Slot*> free_slots_;  // open loop: slots with no call in flight
  int retired_slots_ = 0;          // closed loop: slots whose calls have ended
};

}  // namespace

absl::StatusOr<std::unique_ptr<Runner>> Runner::Connect(const Config& config, const Clock* clock) {
  auto runner = std::unique_ptr<Runner>(new Runner(config, clock));
  for (int i = 0; i < config.connections; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(kConnectionIndexArg, i);
    // Also keep subchannels out of the process-wide pool, the documented
    // way to stop channels sharing connections.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    absl::StatusOr<std::shared_ptr<grpc::Channel>> made =
        security::NewClientChannel(config.server, config.security, args);
    if (!made.ok()) return made.status();
    std::shared_ptr<grpc::Channel> channel = *std::move(made);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   absl::ToChronoMilliseconds(config.connect_timeout))) {
      return absl::UnavailableError(absl::StrCat("cannot reach ", config.server, " within ",
                                                 absl::FormatDuration(config.connect_timeout),
                                                 config.connections > 1
                                                     ? absl::StrCat(" (connection ", i + 1, " of ",
                                                                    config.connections, ")")
                                                     : ""));
    }
    runner->stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
    runner->channels_.push_back(std::move(channel));
  }
  return runner;
}

absl::StatusOr<ScenarioResult> Runner::Run(const Scenario& scenario) {
  ASSIGN_OR_RETURN(std::unique_ptr<RequestSchedule> schedule,
                   RequestSchedule::Create(config_.schedule, clock_));
  ScenarioRun run(scenario, schedule.get(), stubs_, config_.concurrency, config_.timeout, clock_);
  return run.Run();
}

int RunLoadgen(const Config& config, std::ostream& out, std::ostream& err) {
  auto runner = Runner::Connect(config, SteadyClock());
  if (!runner.ok()) {
    err << "expertise-loadgen: " << runner.status().message() << "\n";
    return kExitUnreachable;
  }
  Report report;
  report.settings = RunSettings{
      .server = config.server,
      .concurrency = config.concurrency,
      .connections = config.connections,
      .rate = config.schedule.rate,
      .requests = config.schedule.requests,
      .duration = config.schedule.duration,
      .warmup_requests = config.schedule.warmup_requests,
      .warmup_duration = config.schedule.warmup_duration,
      .timeout = config.timeout,
  };
  report.baseline = config.baseline;
  for (const Scenario& scenario : config.scenarios) {
    err << "expertise-loadgen: running " << scenario.name << " (" << scenario.method << ")\n";
    auto result = (*runner)->Run(scenario);
    if (!result.ok()) {
      err << "expertise-loadgen: " << scenario.name << ": " << result.status().message() << "\n";
      return kExitUsage;
    }
    report.scenarios.push_back(*std::move(result));
  }
  WriteReport(report, config.output, out);
  return kExitOk;
}

}  // namespace expertise::loadgen
