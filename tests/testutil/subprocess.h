#ifndef EXPERTISE_TESTS_TESTUTIL_SUBPROCESS_H_
#define EXPERTISE_TESTS_TESTUTIL_SUBPROCESS_H_

// Starting the real binaries from tests: servers in the background, CLI
// commands to completion with their output captured.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace expertise::testing {

struct CommandResult {
  int exit_code = -1;  // -1 if killed by a signal or not run
  std::string out;
  std::string err;
};

// Runs `argv` to completion (killed after `timeout`), with extra environment
// variables, and returns its exit code and output.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60),
                         const std::string& stdin_text = "");

// A background process; killed with SIGKILL on destruction if still running.
class Process {
 public:
  // Starts `argv` with stdout and stderr appended to `log_path`.
  Process(const std::vector<std::string>& argv, const std::string& log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `signal` (e.g. SIGTERM, SIGKILL).
  void Signal(int signal);
  // Waits up to `timeout` for exit; returns the exit code, 128+signal when
  // killed, or -1 on time-out.
  int Wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

// Returns the contents of a file, or "" if it cannot be read.
std::string ReadFile(const std::string& path);

}  // namespace expertise::testing

#endif  // EXPERTISE_TESTS_TESTUTIL_SUBPROCESS_H_
