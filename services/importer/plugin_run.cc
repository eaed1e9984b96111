#include "services/importer/plugin_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/importer/frame_io.h"
#include "services/importer/plugin_catalog.h"
#include "services/importer/plugin_loader.h"
#include "services/importer/plugin_session.h"
#include "services/importer/runner_exit_codes.h"

extern char** environ;

namespace expertise::importer {
namespace {

namespace fs = std::filesystem;

// Environment the child gets: nothing of ours (no credentials), only what
// the runtime and sanitizers need.
std::vector<std::string> ChildEnvironment() {
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8"};
  for (const char* name : {"UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name)) env.push_back(absl::StrCat(name, "=", value));
  }
  // In sanitizer builds of the runner, a plugin's crash must stay a signal
  // the host can name, not become an AddressSanitizer report and exit 1.
  // (Ignored by non-sanitizer builds.)
  const char* asan = std::getenv("ASAN_OPTIONS");
  env.push_back(absl::StrCat("ASAN_OPTIONS=", asan ? asan : "", asan && *asan ? ":" : "",
                             "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0"));
  return env;
}

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd(other.fd) { other.fd = -1; }
  ~Fd() { Reset(); }
  void Reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  const char* description = strsignal(sig);
  return absl::StrCat("SIG", abbrev ? abbrev : std::to_string(sig), " (", description ? description : "", ")");
}

// Bounded line splitter for the plugin's stderr.
class OutputTail {
 public:
  explicit OutputTail(size_t keep) : keep_(keep) {}
  void Append(const char* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (data[i] == '\n') {
        Push();
      } else if (partial_.size() < 1000) {
        partial_ += data[i];
      }
    }
  }
  std::deque<std::string> Take() {
    if (!partial_.empty()) Push();
    return std::move(lines_);
  }

 private:
  void Push() {
    lines_.push_back(std::move(partial_));
    partial_.clear();
    while (lines_.size() > keep_) lines_.pop_front();
  }
  size_t keep_;
  std::string partial_;
  std::deque<std::string> lines_;
};

// Handles runner messages in order; shared by the child-process and
// in-process paths so both behave the same.
class MessageHandler {
 public:
  MessageHandler(RunObserver* observer, RunResult* result) : observer_(observer), result_(result) {}

  // Returns false when the run must stop; *violation set for protocol errors.
  bool Handle(const v1::RunnerMessage& m, std::string* violation) {
    if (!saw_hello_ && !m.has_hello()) {
      *violation = "the first message was not a hello";
      return false;
    }
    switch (m.kind_case()) {
      case v1::RunnerMessage::kHello:
        if (saw_hello_) {
          *violation = "a second hello";
          return false;
        }
        saw_hello_ = true;
        return true;
      case v1::RunnerMessage::kRecord:
        ++result_->records;
        ++processed_;
        return observer_->OnRecord(m.record());
      case v1::RunnerMessage::kReject:
        ++result_->rejects;
        ++processed_;
        return observer_->OnReject(m.reject());
      case v1::RunnerMessage::kCheckpoint:
        return observer_->OnCheckpoint(m.checkpoint());
      case v1::RunnerMessage::kLog:
        observer_->OnLog(m.log());
        return true;
      case v1::RunnerMessage::kConfigError:
        if (result_->config_errors.size() < 100) result_->config_errors.push_back(m.config_error());
        return true;
      case v1::RunnerMessage::kFinished:
        finished_ = true;
        result_->plugin_result = m.finished().result();
        return true;
      default:
        *violation = "an unknown message";
        return false;
    }
  }
  bool finished() const { return finished_; }
  uint64_t processed() const { return processed_; }

 private:
  RunObserver* observer_;
  RunResult* result_;
  bool saw_hello_ = false;
  bool finished_ = false;
  uint64_t processed_ = 0;
};

Isolation FromHello(const v1::Hello& hello, bool bwrap) {
  bool seccomp = false;
  for (const std::string& m : hello.isolation()) seccomp |= m == "seccomp";
  if (bwrap && seccomp) return Isolation::kBwrap;
  if (seccomp) return Isolation::kSeccomp;
  return Isolation::kRlimits;
}

std::vector<std::string> BwrapArgs(const std::string& bwrap, const std::string& runner,
                                   const std::string& plugin, const std::string& input) {
  std::vector<std::string> args = {
      bwrap, "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
      "--die-with-parent", "--new-session", "--cap-drop", "ALL",
      "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
      "--symlink", "usr/bin", "/bin", "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
      "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/tmp"};
  // Host paths are bound read-only at the same place (runner, plugin) or at
  // /input (the data), so nothing else of the host is visible.
  for (const std::string& path : {runner, plugin}) {
    if (!absl::StartsWith(path, "/usr/")) {
      args.insert(args.end(), {"--ro-bind", path, path});
    }
  }
  if (!input.empty()) args.insert(args.end(), {"--ro-bind", input, "/input/" + fs::path(input).filename().string()});
  return args;
}

struct Child {
  pid_t pid = -1;
  Fd socket;
  Fd output;
};

absl::StatusOr<Child> Spawn(const std::vector<std::string>& argv) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
  }
  Fd host_end(sv[0]);
  // The child's end must land on fd 3 with CLOEXEC cleared; dup2 onto
  // itself would not clear it, so move it out of the way first.
  Fd child_end(::fcntl(sv[1], F_DUPFD_CLOEXEC, 10));
  ::close(sv[1]);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  Fd out_read(pipefd[0]);
  Fd out_write(::fcntl(pipefd[1], F_DUPFD_CLOEXEC, 10));
  ::close(pipefd[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, 2);
  posix_spawn_file_actions_adddup2(&actions, child_end.fd, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);  // the host may block SIGTERM for sigwait
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = ChildEnvironment();
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);

  Child child;
  const int rc = ::posix_spawn(&child.pid, args[0], &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return absl::FailedPreconditionError(absl::StrCat("cannot start ", argv[0], ": ", strerror(rc)));
  child.socket.fd = host_end.fd;
  host_end.fd = -1;
  child.output.fd = out_read.fd;
  out_read.fd = -1;
  ::fcntl(child.output.fd, F_SETFL, O_NONBLOCK);
  return child;
}

void KillGroup(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
}

// Classifies how the child ended.
void Classify(int status, bool finished, const RunOptions& options, RunResult* result) {
  if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) > 128 && WEXITSTATUS(status) < 160)) {
    // bwrap reports a signal-killed child as exit 128 + signal.
    const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status) - 128;
    result->signal = sig;
    if (sig == SIGXCPU) {
      result->end = RunEnd::kCpuLimit;
      result->cause = "exceeded its CPU time limit";
    } else {
      result->end = RunEnd::kCrashed;
      result->cause = absl::StrCat("crashed with ", SignalName(sig));
    }
    return;
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result->exit_code = code;
  if (code == kRunnerExitMemoryLimit) {
    result->end = RunEnd::kMemoryLimit;
    result->cause = absl::StrCat("exceeded its memory limit of ", options.memory_mb, " MiB");
  } else if (finished) {
    result->end = RunEnd::kFinished;
  } else if (code == kRunnerExitLoadFailed) {
    result->end = RunEnd::kLoadFailed;
  } else {
    result->end = RunEnd::kExited;
    result->cause = absl::StrCat("exited with code ", code, " before finishing");
  }
}

RunResult RunInProcess(const RunOptions& options, v1::RunRequest request, RunObserver* observer,
                       CancelFlag* cancel) {
  RunResult result;
  result.isolation = Isolation::kNone;
  result.isolation_detail = "none (in-process: debugging only)";
  absl::StatusOr<LoadedPlugin> plugin = LoadPlugin(options.plugin_path);
  if (!plugin.ok()) {
    result.end = RunEnd::kLoadFailed;
    result.cause = std::string(plugin.status().message());
    return result;
  }
  result.plugin = Describe(*plugin);
  if (absl::Status s = observer->OnHello(result.plugin, result.isolation, &request); !s.ok()) {
    result.end = RunEnd::kConfigRejected;
    result.cause = std::string(s.message());
    return result;
  }
  MessageHandler handler(observer, &result);
  std::string violation;
  v1::RunnerMessage hello;
  hello.mutable_hello()->add_isolation("none");
  handler.Handle(hello, &violation);
  bool stopped = false;
  PluginSession session(*plugin, [&](const v1::RunnerMessage& m) {
    if (!handler.Handle(m, &violation)) stopped = true;
    return !stopped;
  });
  // A watchdog thread turns the timeout and cancel flag into cancel();
  // nothing can be killed in process, which is why this mode is for
  // debugging only.
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    const absl::Time deadline = absl::Now() + options.timeout;
    while (!done.load()) {
      if (absl::Now() > deadline || (cancel && cancel->cancelled.load())) {
        session.Cancel();
        return;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  session.Run(request);
  done.store(true);
  watchdog.join();
  result.end = stopped ? RunEnd::kStopped : RunEnd::kFinished;
  return result;
}

}  // namespace

const char* IsolationName(Isolation isolation) {
  switch (isolation) {
    case Isolation::kNone: return "none";
    case Isolation::kRlimits: return "rlimits";
    case Isolation::kSeccomp: return "seccomp";
    case Isolation::kBwrap: return "bwrap";
  }
  return "none";
}

bool ParseIsolation(std::string_view name, Isolation* isolation) {
  for (Isolation i : {Isolation::kNone, Isolation::kRlimits, Isolation::kSeccomp, Isolation::kBwrap}) {
    if (name == IsolationName(i)) {
      *isolation = i;
      return true;
    }
  }
  return false;
}

const char* RunEndName(RunEnd end) {
  switch (end) {
    case RunEnd::kFinished: return "finished";
    case RunEnd::kLoadFailed: return "load_failed";
    case RunEnd::kIsolationRefused: return "isolation_refused";
    case RunEnd::kConfigRejected: return "config_rejected";
    case RunEnd::kCrashed: return "crashed";
    case RunEnd::kExited: return "exited";
    case RunEnd::kTimedOut: return "timed_out";
    case RunEnd::kMemoryLimit: return "memory_limit";
    case RunEnd::kCpuLimit: return "cpu_limit";
    case RunEnd::kProtocolError: return "protocol_error";
    case RunEnd::kStopped: return "stopped";
    case RunEnd::kHostError: return "host_error";
  }
  return "unknown";
}

absl::Status ProbeBwrap(const std::string& bwrap_path) {
  static std::mutex mu;
  static std::map<std::string, absl::Status> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(bwrap_path); it != cache.end()) return it->second;
  absl::Status status;
  if (::access(bwrap_path.c_str(), X_OK) != 0) {
    status = absl::UnavailableError(absl::StrCat(bwrap_path, " is not installed (Debian package bubblewrap)"));
  } else {
    std::vector<std::string> argv = BwrapArgs(bwrap_path, "/usr/bin/true", "/usr/bin/true", "");
    argv.push_back("/usr/bin/true");
    absl::StatusOr<Child> child = Spawn(argv);
    if (!child.ok()) {
      status = child.status();
    } else {
      int wstatus = 0;
      ::waitpid(child->pid, &wstatus, 0);
      char buffer[512] = {0};
      ssize_t n = ::read(child->output.fd, buffer, sizeof buffer - 1);
      std::string message = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
      while (!message.empty() && message.back() == '\n') message.pop_back();
      if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        status = absl::UnavailableError(absl::StrCat(
            "bubblewrap cannot create namespaces here (", message.empty() ? "no message" : message,
            "); user namespaces may be disabled, as in many containers"));
      }
    }
  }
  cache[bwrap_path] = status;
  return status;
}

RunResult RunPlugin(const RunOptions& options, v1::RunRequest request, RunObserver* observer,
                    CancelFlag* cancel) {
  RunObserver default_observer;
  if (observer == nullptr) observer = &default_observer;
  if (options.in_process) {
    if (options.min_isolation > Isolation::kNone) {
      RunResult refused;
      refused.end = RunEnd::kIsolationRefused;
      refused.cause = absl::StrCat("--in-process gives isolation 'none', below the required minimum '",
                                   IsolationName(options.min_isolation), "' (set --min-isolation none to debug)");
      return refused;
    }
    return RunInProcess(options, std::move(request), observer, cancel);
  }

  RunResult result;
  const std::string runner = options.runner_path.empty() ? DefaultRunnerPath() : options.runner_path;
  std::string bwrap_note;
  bool use_bwrap = false;
  if (!options.no_sandbox) {
    absl::Status probe = ProbeBwrap(options.bwrap_path);
    use_bwrap = probe.ok();
    if (!probe.ok()) bwrap_note = std::string(probe.message());
  }
  // Refuse before loading anything when the level is known to fall short.
  if (options.no_sandbox && options.min_isolation > Isolation::kRlimits) {
    result.end = RunEnd::kIsolationRefused;
    result.cause = absl::StrCat("--no-sandbox gives isolation 'rlimits', below the required minimum '",
                                IsolationName(options.min_isolation), "'");
    return result;
  }
  // Refuse early when bwrap is required but unavailable.
  if (options.min_isolation == Isolation::kBwrap && !use_bwrap) {
    result.end = RunEnd::kIsolationRefused;
    result.cause = absl::StrCat("isolation 'bwrap' is required but not available: ",
                                options.no_sandbox ? "--no-sandbox was given" : bwrap_note);
    return result;
  }

  const std::string input_host_path = request.input_path();
  std::vector<std::string> argv;
  std::string plugin_in_child = options.plugin_path;
  if (use_bwrap) {
    argv = BwrapArgs(options.bwrap_path, runner, options.plugin_path, input_host_path);
    argv.push_back("--");
    if (!input_host_path.empty()) {
      request.set_input_path("/input/" + fs::path(input_host_path).filename().string());
    }
  }
  const uint64_t cpu_seconds =
      options.cpu_seconds > 0 ? options.cpu_seconds
                              : static_cast<uint64_t>(absl::ToInt64Seconds(options.timeout)) + 5;
  for (const std::string& a :
       {runner, std::string("--fd"), std::string("3"), std::string("--plugin"), plugin_in_child,
        std::string("--memory-mb"), std::to_string(options.memory_mb), std::string("--cpu-seconds"),
        std::to_string(cpu_seconds), std::string("--window"), std::to_string(options.window)}) {
    argv.push_back(a);
  }
  if (!options.no_sandbox) argv.push_back("--seccomp");
  if (options.wait_for_debugger) argv.push_back("--wait-for-debugger");

  absl::StatusOr<Child> spawned = Spawn(argv);
  if (!spawned.ok()) {
    result.end = RunEnd::kHostError;
    result.cause = std::string(spawned.status().message());
    return result;
  }
  Child& child = *spawned;
  MessageHandler handler(observer, &result);
  FrameReader reader;
  OutputTail tail(options.output_lines_kept);
  const absl::Time deadline = absl::Now() + options.timeout;
  absl::Time kill_at = absl::InfiniteFuture();
  bool socket_open = true, output_open = true, cancel_sent = false, killed = false;
  bool sent_run = false;
  uint64_t last_acked = 0;
  std::string violation;
  RunEnd forced_end = RunEnd::kFinished;
  std::string forced_cause;

  auto send_cancel = [&](RunEnd end, std::string cause) {
    if (forced_end == RunEnd::kFinished) {
      forced_end = end;
      forced_cause = std::move(cause);
    }
    if (!cancel_sent && socket_open) {
      v1::HostMessage m;
      m.mutable_cancel();
      (void)WriteFrame(child.socket.fd, m);
    }
    cancel_sent = true;
    if (kill_at == absl::InfiniteFuture()) kill_at = absl::Now() + options.cancel_grace;
  };
  auto kill_now = [&](RunEnd end, std::string cause) {
    if (forced_end == RunEnd::kFinished || forced_end == RunEnd::kStopped) {
      forced_end = end;
      forced_cause = std::move(cause);
    }
    if (!killed) KillGroup(child.pid);
    killed = true;
  };

  while (socket_open || output_open) {
    const absl::Time now = absl::Now();
    if (!killed && now > deadline && forced_end != RunEnd::kTimedOut) {
      send_cancel(RunEnd::kTimedOut, absl::StrCat("timed out after ", absl::FormatDuration(options.timeout)));
      forced_end = RunEnd::kTimedOut;
    }
    if (!killed && cancel != nullptr && cancel->cancelled.load() && !cancel_sent) {
      send_cancel(RunEnd::kStopped, "cancelled by the host");
    }
    if (!killed && now > kill_at) {
      kill_now(forced_end, forced_cause.empty() ? "did not stop after cancel" : forced_cause + "; killed");
    }
    pollfd fds[2] = {{socket_open ? child.socket.fd : -1, POLLIN, 0},
                     {output_open ? child.output.fd : -1, POLLIN, 0}};
    const int rc = ::poll(fds, 2, 50);
    if (rc < 0 && errno != EINTR) break;
    if (output_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buffer[8192];
      ssize_t n = ::read(child.output.fd, buffer, sizeof buffer);
      if (n > 0) {
        tail.Append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        output_open = false;
      }
    }
    if (socket_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      absl::Status fill = reader.Fill(child.socket.fd);
      std::string payload;
      while (!killed && reader.Next(&payload)) {
        v1::RunnerMessage message;
        if (!message.ParseFromString(payload)) {
          kill_now(RunEnd::kProtocolError, "sent a frame that is not a runner message");
          break;
        }
        if (message.has_hello() && !sent_run) {
          result.plugin = message.hello().plugin();
          result.isolation = FromHello(message.hello(), use_bwrap);
          result.isolation_detail = absl::StrCat(use_bwrap ? "bwrap+" : "",
                                                 absl::StrJoin(message.hello().isolation(), "+"));
          if (!use_bwrap && !options.no_sandbox) absl::StrAppend(&result.isolation_detail, " (no bwrap: ", bwrap_note, ")");
          if (!message.hello().load_error().empty()) {
            forced_end = RunEnd::kLoadFailed;
            forced_cause = message.hello().load_error();
            continue;
          }
          if (!handler.Handle(message, &violation)) {
            kill_now(RunEnd::kProtocolError, violation);
            break;
          }
          if (result.isolation < options.min_isolation) {
            forced_end = RunEnd::kIsolationRefused;
            forced_cause = absl::StrCat("isolation '", IsolationName(result.isolation),
                                        "' is below the required minimum '", IsolationName(options.min_isolation),
                                        "'", bwrap_note.empty() ? "" : absl::StrCat(": ", bwrap_note));
            child.socket.Reset();  // the runner exits at end of stream, having run nothing
            socket_open = false;
            break;
          }
          if (absl::Status s = observer->OnHello(result.plugin, result.isolation, &request); !s.ok()) {
            forced_end = RunEnd::kConfigRejected;
            forced_cause = std::string(s.message());
            child.socket.Reset();
            socket_open = false;
            break;
          }
          v1::HostMessage run;
          *run.mutable_run() = request;
          if (!WriteFrame(child.socket.fd, run).ok()) {
            kill_now(RunEnd::kExited, "went away before the run started");
            break;
          }
          sent_run = true;
          continue;
        }
        if (handler.finished()) {
          kill_now(RunEnd::kProtocolError, "sent messages after finishing");
          break;
        }
        if (!handler.Handle(message, &violation)) {
          if (!violation.empty()) {
            kill_now(RunEnd::kProtocolError, violation);
            break;
          }
          send_cancel(RunEnd::kStopped, "stopped by the host");
        }
      }
      if (socket_open && !killed && handler.processed() > last_acked) {
        v1::HostMessage ack;
        ack.mutable_ack()->set_processed(handler.processed());
        (void)WriteFrame(child.socket.fd, ack);
        last_acked = handler.processed();
      }
      if (fill.ok() && handler.finished() && reader.buffered() == 0) {
        // The plugin is done: close our end so the runner can exit.
        child.socket.Reset();
        socket_open = false;
      }
      if (socket_open && !fill.ok()) {
        // An oversized frame is a protocol violation; a reset or end of
        // stream means the child ended, and its exit status says how.
        if (fill.code() == absl::StatusCode::kDataLoss) {
          kill_now(RunEnd::kProtocolError, std::string(fill.message()));
        } else if (reader.buffered() > 0) {
          forced_end = forced_end == RunEnd::kFinished ? RunEnd::kProtocolError : forced_end;
          if (forced_cause.empty()) forced_cause = "stream ended inside a frame";
        }
        child.socket.Reset();  // lets the runner, waiting for our close, exit
        socket_open = false;
      }
    }
    if (killed && !socket_open) break;
    if (killed) {
      // Drain what is left quickly, but never wait on a killed child's pipes.
      socket_open = false;
    }
  }
  int status = 0;
  while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Whatever the sandbox child left behind in its process group goes too.
  ::kill(-child.pid, SIGKILL);
  // Collect any output still buffered in the pipe.
  for (;;) {
    char buffer[8192];
    ssize_t n = ::read(child.output.fd, buffer, sizeof buffer);
    if (n <= 0) break;
    tail.Append(buffer, static_cast<size_t>(n));
  }
  result.last_output = tail.Take();
  Classify(status, handler.finished(), options, &result);
  // Causes we decided on (timeout, protocol error, refusal) outrank the
  // exit status they led to; a crash during a cancel is still a crash.
  if (forced_end != RunEnd::kFinished && !(result.end == RunEnd::kCrashed && forced_end == RunEnd::kStopped) &&
      result.end != RunEnd::kMemoryLimit) {
    result.end = forced_end;
    result.cause = forced_cause;
  } else if (forced_end == RunEnd::kStopped && result.end == RunEnd::kFinished) {
    result.end = RunEnd::kStopped;
    result.cause = forced_cause;
  }
  if (result.end == RunEnd::kLoadFailed && result.cause.empty()) result.cause = "the runner could not load the plugin";
  return result;
}

absl::StatusOr<v1::PluginDescription> DescribePlugin(const RunOptions& options) {
  class DescribeOnly : public RunObserver {
   public:
    absl::Status OnHello(const v1::PluginDescription&, Isolation, v1::RunRequest*) override {
      return absl::CancelledError("described");
    }
  } observer;
  RunOptions o = options;
  o.timeout = std::min(o.timeout, absl::Seconds(30));
  RunResult result = RunPlugin(o, v1::RunRequest(), &observer);
  if (result.end == RunEnd::kConfigRejected && result.plugin.name().size() > 0) return result.plugin;
  return absl::FailedPreconditionError(DescribeRun(result));
}

std::string DescribeRun(const RunResult& result) {
  const std::string who = result.plugin.name().empty()
                              ? std::string("the plugin")
                              : absl::StrCat("plugin '", result.plugin.name(), "' ", result.plugin.version());
  std::string line;
  switch (result.end) {
    case RunEnd::kFinished:
      line = absl::StrCat(who, " finished (result ", result.plugin_result, ")");
      break;
    case RunEnd::kLoadFailed:
      return result.cause;  // names the plugin and what to rebuild or upgrade
    case RunEnd::kIsolationRefused:
    case RunEnd::kConfigRejected:
    case RunEnd::kHostError:
      line = absl::StrCat(who, ": ", result.cause);
      return line;
    default:
      line = absl::StrCat(who, " ", result.cause);
  }
  absl::StrAppend(&line, " after ", result.records, " records and ", result.rejects, " rejects");
  return line;
}

}  // namespace expertise::importer
