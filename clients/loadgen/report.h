#ifndef EXPERTISE_CLIENTS_LOADGEN_REPORT_H_
#define EXPERTISE_CLIENTS_LOADGEN_REPORT_H_

// The results of a load-generator run and their three renderings: a table
// for people (with an ASCII latency histogram), JSON and CSV for scripts.
// gRPC-free: status codes arrive here as names.

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/loadgen/latency_histogram.h"

namespace expertise::loadgen {

// What one scenario (one method and request, run to its bounds) measured.
// Warm-up calls are not counted anywhere.
struct ScenarioResult {
  std::string name;    // "health", "search", "search#2" ...
  std::string method;  // full method path, "/grpc.health.v1.Health/Check"
  // Measured calls that completed, successfully or not.
  int64_t count = 0;
  // Failed calls by status code name ("UNAVAILABLE", "DEADLINE_EXCEEDED").
  std::map<std::string, int64_t> errors;
  // From the first measured send (with a rate: its intended time) to the
  // last measured completion.
  absl::Duration duration = absl::ZeroDuration();
  // Latencies of the successful calls, in microseconds.
  LatencyHistogram latencies;
  // With a rate: calls due in the measured phase but never sent because the
  // run's time was up while the generator was behind (see schedule.h).
  int64_t unsent = 0;

  int64_t error_count() const;
  int64_t ok_count() const { return count - error_count(); }
  // Completed calls per second over `duration`; 0 when it is zero.
  double achieved_rate() const;
};

// The settings every scenario of a run shared, echoed in the report.
struct RunSettings {
  std::string server;
  int concurrency = 0;
  int connections = 0;
  double rate = 0;  // 0: closed loop
  int64_t requests = 0;  // 0: no count limit
  absl::Duration duration = absl::ZeroDuration();  // zero: no time limit
  int64_t warmup_requests = 0;
  absl::Duration warmup_duration = absl::ZeroDuration();
  absl::Duration timeout = absl::ZeroDuration();
};

struct Report {
  RunSettings settings;
  std::vector<ScenarioResult> scenarios;
  // Index into `scenarios` of the one the others are compared with (the
  // run's first health call, the "empty call"); nullopt for none.
  std::optional<size_t> baseline;
};

// A scenario's latencies as multiples of the baseline's (2.0 = twice as slow).
struct BaselineRatios {
  std::string baseline;
  double mean = 0;
  double p50 = 0;
  double p99 = 0;
};

// Returns the ratios of scenario `index` to the report's baseline; nullopt
// when there is no baseline, `index` is the baseline, or either side has no
// successful calls to compare.
std::optional<BaselineRatios> RatiosToBaseline(const Report& report, size_t index);

enum class OutputFormat { kTable, kJson, kCsv };

// Parses "table", "json" or "csv".
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text);

// Writes the report in `format`.
void WriteReport(const Report& report, OutputFormat format, std::ostream& out);

// Formats a 1-2-5 histogram edge in the largest unit that keeps it whole:
// "500us", "2ms", "10s".
std::string FormatEdge(int64_t micros);

}  // namespace expertise::loadgen

#endif  // EXPERTISE_CLIENTS_LOADGEN_REPORT_H_
