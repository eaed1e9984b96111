// expertctl watch: follows capacity changes live (WatchCapacity), one line
// per update, until --count updates, --duration seconds or Ctrl-C; then
// prints the last resume token so the watch can continue where it stopped.

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "clients/expertctl/commands/commands.h"
#include "expertise/registry/v1/sharing_service.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/csv.h"

namespace expertise::expertctl {
namespace {

namespace rv1 = registry::v1;

struct WatchOptions {
  std::string region = "-";
  std::vector<std::string> authorities, roles;
  std::string resume;
  int64_t count = 0;       // 0: no limit
  double duration = 0;     // seconds; 0: no limit
};

// Ctrl-C (SIGINT) and SIGTERM write a byte to this pipe (the one thing a
// handler may safely do); a thread reading it cancels the call.
int g_signal_pipe[2] = {-1, -1};

extern "C" void OnStopSignal(int) {
  const int saved = errno;
  const char byte = 1;
  (void)!write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

// Installs the handlers for the life of the object, and cancels `call` when
// one fires or, with a `deadline`, when it passes (the call's own deadline
// is set too; this makes the end prompt even when gRPC's timer is late).
class Stopper {
 public:
  Stopper(grpc::ClientContext* call, std::optional<absl::Time> deadline) {
    if (pipe(g_signal_pipe) == 0) {
      struct sigaction action = {};
      action.sa_handler = OnStopSignal;
      sigemptyset(&action.sa_mask);
      sigaction(SIGINT, &action, &old_int_);
      sigaction(SIGTERM, &action, &old_term_);
      installed_ = true;
    }
    thread_ = std::thread([this, call, deadline] {
      while (!done_.load()) {
        pollfd fd = {.fd = g_signal_pipe[0], .events = POLLIN, .revents = 0};
        if (installed_ && poll(&fd, 1, 50) > 0) {
          interrupted_.store(true);
          call->TryCancel();
          return;
        }
        if (!installed_) absl::SleepFor(absl::Milliseconds(50));
        if (deadline && absl::Now() >= *deadline) {
          timed_out_.store(true);
          call->TryCancel();
          return;
        }
      }
    });
  }
  ~Stopper() {
    done_.store(true);
    thread_.join();
    if (!installed_) return;
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    close(g_signal_pipe[0]);
    close(g_signal_pipe[1]);
    g_signal_pipe[0] = g_signal_pipe[1] = -1;
  }
  bool interrupted() const { return interrupted_.load(); }
  bool timed_out() const { return timed_out_.load(); }

 private:
  bool installed_ = false;
  struct sigaction old_int_ = {}, old_term_ = {};
  std::atomic<bool> done_{false}, interrupted_{false}, timed_out_{false};
  std::thread thread_;
};

std::string Time(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(t.seconds()), absl::UTCTimeZone());
}

void PrintUpdate(const Context& ctx, const rv1::CapacityUpdate& u) {
  std::ostream& out = *ctx.out;
  switch (ctx.format()) {
    case OutputFormat::kJson: {
      // JSON Lines: one compact object per update.
      google::protobuf::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      std::string json;
      (void)google::protobuf::util::MessageToJsonString(u, &json, options);
      out << json << "\n";
      break;
    }
    case OutputFormat::kCsv:
      out << CsvLine({Time(u.update_time()), u.specialist(), u.owning_authority(), u.role(),
                      Hours(u.available_hours_per_week()), Hours(u.contracted_hours_per_week()),
                      absl::StrCat(u.coalesced()), u.snapshot() ? "true" : "false",
                      u.removed() ? "true" : "false"});
      break;
    case OutputFormat::kTable: {
      std::string line = absl::StrFormat(
          "%s  %-50s  %-9s  %-28s  %5s/%-5s h/wk", Time(u.update_time()), u.specialist(),
          u.owning_authority(), u.role(), Hours(u.available_hours_per_week()),
          Hours(u.contracted_hours_per_week()));
      if (u.removed()) absl::StrAppend(&line, "  removed");
      if (u.coalesced() > 1) absl::StrAppend(&line, "  (", u.coalesced(), " changes)");
      if (u.snapshot()) absl::StrAppend(&line, "  [snapshot]");
      out << line << "\n";
      if (u.snapshot_end()) out << "-- end of snapshot; live changes follow\n";
      break;
    }
  }
  out.flush();
}

int RunWatch(const Context& ctx, const WatchOptions& o) {
  const std::string verb = "watch";
  if (o.count < 0 || o.duration < 0) {
    *ctx.err << "expertctl: watch: --count and --duration must not be negative\n";
    return kExitUsage;
  }
  rv1::WatchCapacityRequest request;
  request.set_parent(absl::StartsWith(o.region, "regions/") ? o.region : "regions/" + o.region);
  for (const auto& a : o.authorities) request.add_authorities(a);
  for (const auto& r : o.roles) request.add_roles(r);
  request.set_resume_token(o.resume);

  auto stub = rv1::CapacitySharingService::NewStub(ctx.Channel());
  grpc::ClientContext call;
  // A stream has no per-call timeout: --duration is its deadline, if given.
  std::optional<absl::Time> deadline;
  if (o.duration > 0) {
    deadline = absl::Now() + absl::Seconds(o.duration);
    call.set_deadline(absl::ToChronoTime(*deadline));
  }
  std::string last_token = o.resume;
  int64_t received = 0;
  bool count_reached = false;
  grpc::Status status;
  bool stopped = false;  // by Ctrl-C or --duration
  {
    Stopper stop(&call, deadline);
    std::unique_ptr<grpc::ClientReader<rv1::CapacityUpdate>> reader = stub->WatchCapacity(&call, request);
    if (ctx.format() == OutputFormat::kCsv) {
      *ctx.out << CsvLine({"time", "specialist", "authority", "role", "available_hours_per_week",
                           "contracted_hours_per_week", "coalesced", "snapshot", "removed"});
      ctx.out->flush();
    }
    rv1::CapacityUpdate update;
    while (reader->Read(&update)) {
      if (!update.resume_token().empty()) last_token = update.resume_token();
      PrintUpdate(ctx, update);
      if (o.count > 0 && ++received >= o.count) {
        count_reached = true;
        call.TryCancel();
        break;
      }
    }
    status = reader->Finish();
    stopped = stop.interrupted() || stop.timed_out();
  }
  int code = kExitOk;
  const bool expected_end =
      count_reached || (stopped && status.error_code() == grpc::StatusCode::CANCELLED) ||
      (o.duration > 0 && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  if (!status.ok() && !expected_end) code = ctx.Fail(verb, status);
  if (!last_token.empty()) {
    *ctx.err << "expertctl: watch: to continue from here: --resume " << last_token << "\n";
  }
  return code;
}

}  // namespace

void SetupWatch(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<WatchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "watch", "Follow capacity changes live, one line per update (a snapshot first)");
  cmd->add_option("--region", options->region,
                  "Region id; default '-' means every region the server holds");
  cmd->add_option("--authority", options->authorities, "Only specialists of these authorities (GSS)");
  cmd->add_option("--role", options->roles, "Only these roles");
  cmd->add_option("--resume", options->resume,
                  "Continue after this resume token (printed when a watch ends) instead of a snapshot");
  cmd->add_option("--count", options->count, "Stop after this many updates (default: no limit)");
  cmd->add_option("--duration", options->duration,
                  "Stop after this many seconds (default: until Ctrl-C)");
  cmd->callback([options, &ctx, exit_code] { *exit_code = RunWatch(ctx, *options); });
}

}  // namespace expertise::expertctl
