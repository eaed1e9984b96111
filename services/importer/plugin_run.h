#ifndef EXPERTISE_SERVICES_IMPORTER_PLUGIN_RUN_H_
#define EXPERTISE_SERVICES_IMPORTER_PLUGIN_RUN_H_

// Runs one plugin in a sandboxed child process (the runner) and reports
// what it did. The child is started with posix_spawn (never a bare fork of
// a process holding gRPC threads or database handles), inside bubblewrap
// when the machine allows, with rlimits, no_new_privs and seccomp applied
// before the plugin is loaded. The isolation actually achieved is reported,
// and a run is refused when it is below the configured minimum.

#include <atomic>
#include <deque>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "expertise/importer/v1/runner.pb.h"

namespace expertise::importer {

// Ordered from weakest to strongest.
enum class Isolation {
  kNone = 0,     // in the host process (--in-process debugging)
  kRlimits = 1,  // child process with resource limits only (--no-sandbox)
  kSeccomp = 2,  // + no_new_privs and a seccomp filter (no network, no exec)
  kBwrap = 3,    // + bubblewrap namespaces: no network, own filesystem view
};
const char* IsolationName(Isolation isolation);
bool ParseIsolation(std::string_view name, Isolation* isolation);

struct RunOptions {
  std::string plugin_path;
  std::string runner_path;            // DefaultRunnerPath() when empty
  std::string bwrap_path = "/usr/bin/bwrap";
  Isolation min_isolation = Isolation::kSeccomp;
  bool no_sandbox = false;            // child process, rlimits only
  bool in_process = false;            // load into this process (debugging; implies no_sandbox)
  bool wait_for_debugger = false;     // runner prints its pid and waits before dlopen
  absl::Duration timeout = absl::Minutes(30);
  absl::Duration cancel_grace = absl::Seconds(5);  // after cancel, before SIGKILL
  uint64_t memory_mb = 1024;
  uint64_t cpu_seconds = 0;           // 0: derived from the timeout
  uint64_t window = 512;              // records in flight before the runner waits
  size_t output_lines_kept = 50;
};

// Why a run ended.
enum class RunEnd {
  kFinished,           // read()/check() returned; see plugin_result
  kLoadFailed,         // the runner refused the plugin (ABI, malformed info)
  kIsolationRefused,   // achieved isolation below the minimum
  kConfigRejected,     // the host's config checks failed (before the plugin ran)
  kCrashed,            // killed by a signal
  kExited,             // exited without finishing
  kTimedOut,           // wall-clock timeout
  kMemoryLimit,        // RSS watchdog or RLIMIT_DATA
  kCpuLimit,           // RLIMIT_CPU
  kProtocolError,      // the child sent something invalid
  kStopped,            // the host stopped it (observer returned false / cancel)
  kHostError,          // could not start the child
};
const char* RunEndName(RunEnd end);

struct RunResult {
  RunEnd end = RunEnd::kHostError;
  int plugin_result = -1;      // expertise_result when kFinished
  std::string cause;           // one line, e.g. "crashed with SIGSEGV (Segmentation fault)"
  int signal = 0;
  int exit_code = -1;
  Isolation isolation = Isolation::kNone;
  std::string isolation_detail;  // e.g. "bwrap+seccomp (rlimits cpu,nofile,...)"
  v1::PluginDescription plugin;  // from the runner's hello (empty if it never came)
  uint64_t records = 0;
  uint64_t rejects = 0;
  std::deque<std::string> last_output;  // the plugin's last lines of stderr/stdout
  std::vector<v1::ConfigError> config_errors;
  bool ok() const { return end == RunEnd::kFinished && plugin_result == 0; }
};

// Receives what the plugin sends, in order, on the calling thread.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // After the hello, before the plugin runs: may fill the run request's
  // config (the host's config checks need the plugin's declared keys).
  // Returning an error stops the run with kConfigRejected.
  virtual absl::Status OnHello(const v1::PluginDescription& plugin, Isolation isolation,
                               v1::RunRequest* request) {
    return absl::OkStatus();
  }
  // Return false to stop the run (the plugin is cancelled).
  virtual bool OnRecord(const v1::EmittedRecord& record) { return true; }
  virtual bool OnReject(const v1::PluginReject& reject) { return true; }
  virtual bool OnCheckpoint(const v1::Checkpoint& checkpoint) { return true; }
  virtual void OnLog(const v1::LogLine& line) {}
};

// Set from any thread to cancel a run.
struct CancelFlag {
  std::atomic<bool> cancelled{false};
};

// Runs check() (request.check_only) or check() + read(). `request` holds
// the input path as the host sees it; the sandbox maps it.
RunResult RunPlugin(const RunOptions& options, v1::RunRequest request, RunObserver* observer,
                    CancelFlag* cancel = nullptr);

// Loads the plugin in the runner (sandboxed) and returns its description.
absl::StatusOr<v1::PluginDescription> DescribePlugin(const RunOptions& options);

// What bubblewrap can do here: OK, or why it cannot be used (probed once).
absl::Status ProbeBwrap(const std::string& bwrap_path);

// One-line report of a run for people.
std::string DescribeRun(const RunResult& result);

}  // namespace expertise::importer

#endif  // EXPERTISE_SERVICES_IMPORTER_PLUGIN_RUN_H_
