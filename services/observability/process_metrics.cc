// The process figures client_golang's process collector exports, read from
// /proc/self when scraped (prometheus-cpp's core library has no such
// collector).

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "services/observability/metrics.h"

namespace expertise::observability {
namespace {

// Fields of /proc/self/stat after the command name: index 0 is the state
// (field 3 in proc(5)).
std::vector<std::string> ProcStatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  // The command name may contain spaces and parentheses: skip to the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  return absl::StrSplit(line.substr(close + 1), ' ', absl::SkipEmpty());
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) {
      double value = 0;
      if (absl::SimpleAtod(line.substr(6), &value)) return value;
    }
  }
  return 0;
}

double StatField(const std::vector<std::string>& fields, size_t proc5_field) {
  // proc(5) numbers fields from 1; our vector starts at field 3.
  const size_t i = proc5_field - 3;
  double value = 0;
  if (i >= fields.size() || !absl::SimpleAtod(fields[i], &value)) return 0;
  return value;
}

}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<CallbackRegistration>>> AddProcessMetrics(
    MetricsRegistry* registry) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // The start time cannot change: read once.
  const double start_time = BootTimeSeconds() + StatField(ProcStatFields(), 22) / ticks;

  std::vector<std::unique_ptr<CallbackRegistration>> handles;
  auto add = [&](MetricType type, const char* name, const char* help,
                 std::function<double()> value) -> absl::Status {
    absl::StatusOr<std::unique_ptr<CallbackRegistration>> r = registry->AddCallback(
        type, name, help, {}, [value = std::move(value)](std::vector<Sample>* out) {
          out->push_back(Sample{{}, value()});
        });
    if (!r.ok()) return r.status();
    handles.push_back(*std::move(r));
    return absl::OkStatus();
  };
  absl::Status s = add(MetricType::kGauge, "process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.",
                       [start_time] { return start_time; });
  if (s.ok()) {
    s = add(MetricType::kCounter, "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.", [ticks] {
              const std::vector<std::string> f = ProcStatFields();
              return (StatField(f, 14) + StatField(f, 15)) / ticks;
            });
  }
  if (s.ok()) {
    s = add(MetricType::kGauge, "process_resident_memory_bytes", "Resident memory size in bytes.",
            [page] { return StatField(ProcStatFields(), 24) * page; });
  }
  if (s.ok()) {
    s = add(MetricType::kGauge, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
            [] { return StatField(ProcStatFields(), 23); });
  }
  if (s.ok()) {
    s = add(MetricType::kGauge, "process_open_fds", "Number of open file descriptors.", [] {
      double count = 0;
      if (DIR* dir = opendir("/proc/self/fd")) {
        while (dirent* entry = readdir(dir)) {
          if (entry->d_name[0] != '.') ++count;
        }
        closedir(dir);
        --count;  // the descriptor opendir itself holds
      }
      return count;
    });
  }
  if (s.ok()) {
    s = add(MetricType::kGauge, "process_max_fds", "Maximum number of open file descriptors.", [] {
      rlimit limit{};
      if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return -1.0;
      return static_cast<double>(limit.rlim_cur);
    });
  }
  if (!s.ok()) return s;
  return handles;
}

}  // namespace expertise::observability
