// expertise-plugin-runner: the sandboxed side of an import run. Started by
// the importer host (inside bubblewrap when available) with the runner
// protocol socket on an inherited fd. Order matters: limits, no_new_privs
// and seccomp are applied FIRST, and only then is the plugin dlopen()ed,
// because a plugin's constructors run inside dlopen.

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/importer/flow_channel.h"
#include "services/importer/frame_io.h"
#include "services/importer/plugin_loader.h"
#include "services/importer/plugin_session.h"
#include "services/importer/runner_exit_codes.h"

namespace expertise::importer {
namespace {

struct Options {
  int fd = -1;
  std::string plugin;
  uint64_t memory_mb = 0;
  uint64_t cpu_seconds = 0;
  uint64_t max_open_files = 64;
  uint64_t file_size_mb = 0;  // 0: no files may be written
  bool seccomp = false;
  bool wait_for_debugger = false;
  uint64_t window = 512;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "expertise-plugin-runner: %s\n", message.c_str());
  std::_Exit(kRunnerExitInternalError);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(absl::StrCat(arg, " needs a value"));
      return argv[++i];
    };
    auto number = [&]() -> uint64_t {
      uint64_t n = 0;
      std::string v = value();
      if (!absl::SimpleAtoi(v, &n)) Die(absl::StrCat(arg, ": not a number: ", v));
      return n;
    };
    if (arg == "--fd") o.fd = static_cast<int>(number());
    else if (arg == "--plugin") o.plugin = value();
    else if (arg == "--memory-mb") o.memory_mb = number();
    else if (arg == "--cpu-seconds") o.cpu_seconds = number();
    else if (arg == "--max-open-files") o.max_open_files = number();
    else if (arg == "--file-size-mb") o.file_size_mb = number();
    else if (arg == "--window") o.window = number();
    else if (arg == "--seccomp") o.seccomp = true;
    else if (arg == "--wait-for-debugger") o.wait_for_debugger = true;
    else Die(absl::StrCat("unknown argument ", arg));
  }
  if (o.fd < 0 || o.plugin.empty()) Die("usage: expertise-plugin-runner --fd N --plugin PATH [limits]");
  return o;
}

bool SanitizerBuild() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

void SetLimit(int resource, rlim_t value, const char* name, std::vector<std::string>* applied) {
  struct rlimit limit {value, value};
  if (::setrlimit(resource, &limit) != 0) Die(absl::StrCat("setrlimit(", name, "): ", std::strerror(errno)));
  applied->push_back(name);
}

// Resident set size of this process, from /proc/self/statm.
uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

// Denies what an importer never needs: network sockets, new processes and
// programs, tracing, mounts, namespaces, kernel modules, keyrings, BPF.
// A deny-list on top of the namespaces bwrap removes; docs/plugins.md says
// why it is not (yet) an allow-list.
void InstallSeccomp() {
  scmp_filter_ctx ctx = ::seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) Die("seccomp_init failed");
  auto deny = [&](int syscall, int error) {
    if (::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(error), syscall, 0) != 0) {
      Die(absl::StrCat("seccomp rule for syscall ", syscall, " failed"));
    }
  };
  if (::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
                         SCMP_A0(SCMP_CMP_NE, AF_UNIX)) != 0) {
    Die("seccomp rule for socket failed");
  }
  // clone() without CLONE_THREAD makes a process; threads stay allowed.
  if (::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)) != 0) {
    Die("seccomp rule for clone failed");
  }
  deny(SCMP_SYS(clone3), ENOSYS);  // glibc falls back to clone(), filtered above
  for (int sys : {SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(execve), SCMP_SYS(execveat),
                  SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
                  SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
                  SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
                  SCMP_SYS(kexec_load), SCMP_SYS(init_module), SCMP_SYS(finit_module),
                  SCMP_SYS(delete_module), SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
                  SCMP_SYS(reboot), SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(io_uring_setup),
                  SCMP_SYS(userfaultfd), SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at)}) {
    deny(sys, EPERM);
  }
  if (::seccomp_load(ctx) != 0) Die("seccomp_load failed");
  ::seccomp_release(ctx);
}

void WaitForDebugger() {
  std::fprintf(stderr, "expertise-plugin-runner: pid %d waiting for a debugger (gdb -p %d)\n",
               ::getpid(), ::getpid());
  for (;;) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("TracerPid:", 0) == 0 && std::atoi(line.c_str() + 10) != 0) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int Main(int argc, char** argv) {
  const Options options = ParseArgs(argc, argv);
  // A stray printf in a plugin must never reach the data channel: stdout
  // goes to stderr, which the host captures as unstructured plugin output.
  if (::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) Die("dup2 failed");
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> isolation;
  if (options.cpu_seconds > 0) SetLimit(RLIMIT_CPU, options.cpu_seconds, "cpu", &isolation);
  SetLimit(RLIMIT_NOFILE, options.max_open_files, "nofile", &isolation);
  SetLimit(RLIMIT_FSIZE, options.file_size_mb << 20, "fsize", &isolation);
  SetLimit(RLIMIT_CORE, 0, "core", &isolation);
  // RLIMIT_DATA, not RLIMIT_AS (fragile with threads; see plugin-design.md).
  // Sanitizer runtimes reserve terabytes of shadow memory, so those builds
  // rely on the RSS watchdog below alone.
  if (options.memory_mb > 0 && !SanitizerBuild()) {
    SetLimit(RLIMIT_DATA, (options.memory_mb * 2 + 64) << 20, "data", &isolation);
  }
  if (options.memory_mb > 0) {
    isolation.push_back("rss_watchdog");
    std::thread([limit = options.memory_mb << 20] {
      for (;;) {
        if (ResidentBytes() > limit) {
          static const char kMessage[] = "expertise-plugin-runner: memory limit exceeded\n";
          (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
          std::_Exit(kRunnerExitMemoryLimit);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }).detach();
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Die("PR_SET_NO_NEW_PRIVS failed");
  isolation.push_back("no_new_privs");
  if (options.seccomp) {
    InstallSeccomp();
    isolation.push_back("seccomp");
  }
  if (options.wait_for_debugger) WaitForDebugger();

  FlowChannel channel(options.fd, options.window);
  v1::RunnerMessage hello;
  for (const std::string& measure : isolation) hello.mutable_hello()->add_isolation(measure);
  absl::StatusOr<LoadedPlugin> plugin = LoadPlugin(options.plugin);
  if (!plugin.ok()) {
    hello.mutable_hello()->set_load_error(std::string(plugin.status().message()));
    channel.Send(hello);
    return kRunnerExitLoadFailed;
  }
  *hello.mutable_hello()->mutable_plugin() = Describe(*plugin);
  if (!channel.Send(hello)) return kRunnerExitInternalError;

  v1::HostMessage first;
  if (absl::Status s = ReadFrameBlocking(options.fd, &first); !s.ok()) {
    return s.code() == absl::StatusCode::kOutOfRange ? 0 : kRunnerExitInternalError;  // host only described
  }
  if (!first.has_run()) Die("expected a run request");

  PluginSession session(*plugin, [&](const v1::RunnerMessage& m) { return channel.Send(m); });
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool host_closed = false;
  std::thread control([&] {
    for (;;) {
      v1::HostMessage message;
      if (!ReadFrameBlocking(options.fd, &message).ok()) {
        // The host went away or closed after the end: stop the plugin.
        channel.Close();
        session.Cancel();
        std::lock_guard<std::mutex> lock(done_mu);
        host_closed = true;
        done_cv.notify_all();
        return;
      }
      if (message.has_ack()) channel.Ack(message.ack().processed());
      if (message.has_cancel()) {
        session.Cancel();
        channel.Cancel();
      }
    }
  });
  session.Run(first.run());
  ::shutdown(options.fd, SHUT_WR);
  // Wait for the host to close its end, so no acknowledgement is left
  // unread: exiting with unread data would reset the connection under the
  // host's last reads.
  {
    std::unique_lock<std::mutex> lock(done_mu);
    done_cv.wait_for(lock, std::chrono::seconds(5), [&] { return host_closed; });
  }
  control.detach();  // may still be blocked in read(); the process exits now
  return 0;
}

}  // namespace
}  // namespace expertise::importer

int main(int argc, char** argv) {
  // _Exit: plugin destructors and atexit handlers have nothing to save, and
  // a buggy one must not turn a finished run into a crash report.
  std::_Exit(expertise::importer::Main(argc, argv));
}
