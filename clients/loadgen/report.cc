#include "clients/loadgen/report.h"

#include <algorithm>
#include <ostream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/common/csv.h"

namespace expertise::loadgen {
namespace {

// The percentiles every rendering reports, with their names in JSON and CSV.
struct PercentileColumn {
  double percentile;
  const char* label;  // table
  const char* key;    // JSON and CSV
};
constexpr PercentileColumn kPercentiles[] = {
    {50, "p50", "p50"}, {90, "p90", "p90"}, {99, "p99", "p99"}, {99.9, "p99.9", "p99_9"}};

// Width of the longest histogram bar, in characters.
constexpr int kBarWidth = 40;

std::string Millis(double micros) { return absl::StrFormat("%.3f", micros / 1000); }

std::string Ratio(double value) { return absl::StrFormat("%.2f", value); }

double ToSeconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

std::string ErrorsText(const ScenarioResult& s) {
  std::vector<std::string> parts;
  for (const auto& [code, n] : s.errors) parts.push_back(absl::StrCat(code, " ", n));
  return absl::StrJoin(parts, ", ");
}

// A one-line description of how the run was driven.
std::string SettingsLine(const RunSettings& s) {
  std::string line = absl::StrFormat("%s: %d in flight on %d connection%s, ", s.server, s.concurrency,
                                     s.connections, s.connections == 1 ? "" : "s");
  if (s.rate > 0) {
    absl::StrAppend(&line, absl::StrFormat("open loop at %g/s", s.rate));
  } else {
    absl::StrAppend(&line, "closed loop");
  }
  std::vector<std::string> bounds;
  if (s.requests > 0) bounds.push_back(absl::StrCat(s.requests, " requests"));
  if (s.duration > absl::ZeroDuration()) bounds.push_back(absl::FormatDuration(s.duration));
  absl::StrAppend(&line, ", ", absl::StrJoin(bounds, " or "), " per scenario");
  if (s.warmup_requests > 0) absl::StrAppend(&line, " after ", s.warmup_requests, " warm-up requests");
  if (s.warmup_duration > absl::ZeroDuration()) {
    absl::StrAppend(&line, " after ", absl::FormatDuration(s.warmup_duration), " of warm-up");
  }
  absl::StrAppend(&line, ", timeout ", absl::FormatDuration(s.timeout));
  return line;
}

void WriteHistogram(const LatencyHistogram& h, std::ostream& out) {
  const auto bins = h.LogBins();
  int64_t largest = 0;
  int lower_width = 0;
  int upper_width = 0;
  for (const auto& bin : bins) {
    largest = std::max(largest, bin.count);
    lower_width = std::max(lower_width, static_cast<int>(FormatEdge(bin.lower_micros).size()));
    upper_width = std::max(upper_width, static_cast<int>(FormatEdge(bin.upper_micros).size()));
  }
  for (const auto& bin : bins) {
    int bar = static_cast<int>(bin.count * kBarWidth / std::max<int64_t>(largest, 1));
    // A single slow call matters in a tail, so any non-empty bin shows.
    if (bin.count > 0 && bar == 0) bar = 1;
    out << absl::StrFormat("    %*s - %-*s |%-*s %d\n", lower_width, FormatEdge(bin.lower_micros),
                           upper_width, FormatEdge(bin.upper_micros), kBarWidth, std::string(bar, '#'),
                           bin.count);
  }
}

void WriteTable(const Report& report, std::ostream& out) {
  out << SettingsLine(report.settings) << "\n";
  for (size_t i = 0; i < report.scenarios.size(); ++i) {
    const ScenarioResult& s = report.scenarios[i];
    const LatencyHistogram& h = s.latencies;
    out << "\n" << s.name << "  " << s.method << "\n";
    out << absl::StrFormat("  calls      %d in %.3fs = %.1f/s; %d OK, %d errors\n", s.count,
                           ToSeconds(s.duration), s.achieved_rate(), s.ok_count(), s.error_count());
    if (h.count() > 0) {
      std::string line = absl::StrCat("  latency    mean ", Millis(h.mean()), " ms, min ", Millis(h.min()));
      for (const auto& p : kPercentiles) {
        absl::StrAppend(&line, ", ", p.label, " ", Millis(h.ValueAtPercentile(p.percentile)));
      }
      absl::StrAppend(&line, ", max ", Millis(h.max()));
      out << line << "\n";
      if (auto ratios = RatiosToBaseline(report, i)) {
        out << absl::StrFormat("  vs %-6s  mean x%s, p50 x%s, p99 x%s\n", ratios->baseline,
                               Ratio(ratios->mean), Ratio(ratios->p50), Ratio(ratios->p99));
      }
      out << "  histogram  (successful calls)\n";
      WriteHistogram(h, out);
    }
    if (!s.errors.empty()) out << "  errors     " << ErrorsText(s) << "\n";
    if (s.unsent > 0) {
      out << absl::StrFormat(
          "  behind     %d calls due were never sent: the time ran out while the generator was behind "
          "the rate (server too slow, or raise --concurrency)\n",
          s.unsent);
    }
  }
  if (report.scenarios.size() < 2) return;

  // Side by side, so scenarios of one run compare at a glance.
  const bool with_baseline = report.baseline.has_value();
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"scenario", "calls", "errors", "rate/s", "mean"};
  for (const auto& p : kPercentiles) header.push_back(p.label);
  header.push_back("max");
  if (with_baseline) {
    const std::string& name = report.scenarios[*report.baseline].name;
    for (const char* what : {"mean", "p50", "p99"}) header.push_back(absl::StrCat(what, "/", name));
  }
  rows.push_back(header);
  for (size_t i = 0; i < report.scenarios.size(); ++i) {
    const ScenarioResult& s = report.scenarios[i];
    const LatencyHistogram& h = s.latencies;
    std::vector<std::string> row = {s.name, absl::StrCat(s.count), absl::StrCat(s.error_count()),
                                    absl::StrFormat("%.1f", s.achieved_rate()), Millis(h.mean())};
    for (const auto& p : kPercentiles) row.push_back(Millis(h.ValueAtPercentile(p.percentile)));
    row.push_back(Millis(h.max()));
    if (with_baseline) {
      if (auto ratios = RatiosToBaseline(report, i)) {
        row.insert(row.end(), {Ratio(ratios->mean), Ratio(ratios->p50), Ratio(ratios->p99)});
      } else if (i == *report.baseline) {
        row.insert(row.end(), {Ratio(1), Ratio(1), Ratio(1)});
      } else {
        row.insert(row.end(), {"-", "-", "-"});
      }
    }
    rows.push_back(row);
  }
  std::vector<size_t> widths(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  out << "\nsummary (latencies in ms)\n";
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      // Names left-aligned, numbers right-aligned.
      const int width = static_cast<int>(widths[c]);
      absl::StrAppend(&line, c == 0 ? absl::StrFormat("%-*s", width, row[c])
                                    : absl::StrFormat("  %*s", width, row[c]));
    }
    out << line << "\n";
  }
}

void WriteJson(const Report& report, std::ostream& out) {
  const RunSettings& settings = report.settings;
  nlohmann::ordered_json json;
  json["server"] = settings.server;
  json["concurrency"] = settings.concurrency;
  json["connections"] = settings.connections;
  json["rate"] = settings.rate;
  json["requests"] = settings.requests;
  json["duration_seconds"] = ToSeconds(settings.duration);
  json["warmup_requests"] = settings.warmup_requests;
  json["warmup_seconds"] = ToSeconds(settings.warmup_duration);
  json["timeout_seconds"] = ToSeconds(settings.timeout);
  json["baseline"] = report.baseline ? nlohmann::ordered_json(report.scenarios[*report.baseline].name)
                                     : nlohmann::ordered_json(nullptr);
  json["scenarios"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < report.scenarios.size(); ++i) {
    const ScenarioResult& s = report.scenarios[i];
    const LatencyHistogram& h = s.latencies;
    nlohmann::ordered_json scenario;
    scenario["name"] = s.name;
    scenario["method"] = s.method;
    scenario["count"] = s.count;
    scenario["ok"] = s.ok_count();
    scenario["error_count"] = s.error_count();
    scenario["unsent"] = s.unsent;
    scenario["errors"] = nlohmann::ordered_json::object();
    for (const auto& [code, n] : s.errors) scenario["errors"][code] = n;
    scenario["duration_seconds"] = ToSeconds(s.duration);
    scenario["rate_per_second"] = s.achieved_rate();
    nlohmann::ordered_json latency;
    latency["mean"] = h.mean();
    latency["min"] = h.min();
    for (const auto& p : kPercentiles) latency[p.key] = h.ValueAtPercentile(p.percentile);
    latency["max"] = h.max();
    scenario["latency_us"] = latency;
    scenario["histogram"] = nlohmann::ordered_json::array();
    for (const auto& bin : h.LogBins()) {
      scenario["histogram"].push_back(
          {{"lower_us", bin.lower_micros}, {"upper_us", bin.upper_micros}, {"count", bin.count}});
    }
    if (auto ratios = RatiosToBaseline(report, i)) {
      scenario["vs_baseline"] = {{"baseline", ratios->baseline},
                                 {"mean", ratios->mean},
                                 {"p50", ratios->p50},
                                 {"p99", ratios->p99}};
    }
    json["scenarios"].push_back(std::move(scenario));
  }
  out << json.dump(2) << "\n";
}

void WriteCsv(const Report& report, std::ostream& out) {
  CsvRow header = {"scenario", "method", "count", "ok", "errors", "unsent", "duration_s", "rate_per_s",
                   "mean_us", "min_us"};
  for (const auto& p : kPercentiles) header.push_back(absl::StrCat(p.key, "_us"));
  for (const char* column : {"max_us", "errors_by_code", "baseline", "mean_vs_baseline",
                             "p50_vs_baseline", "p99_vs_baseline"}) {
    header.push_back(column);
  }
  out << CsvLine(header);
  for (size_t i = 0; i < report.scenarios.size(); ++i) {
    const ScenarioResult& s = report.scenarios[i];
    const LatencyHistogram& h = s.latencies;
    CsvRow row = {s.name,
                  s.method,
                  absl::StrCat(s.count),
                  absl::StrCat(s.ok_count()),
                  absl::StrCat(s.error_count()),
                  absl::StrCat(s.unsent),
                  absl::StrFormat("%.6f", ToSeconds(s.duration)),
                  absl::StrFormat("%.1f", s.achieved_rate()),
                  absl::StrFormat("%.1f", h.mean()),
                  absl::StrCat(h.min())};
    for (const auto& p : kPercentiles) row.push_back(absl::StrCat(h.ValueAtPercentile(p.percentile)));
    row.push_back(absl::StrCat(h.max()));
    std::vector<std::string> errors;
    for (const auto& [code, n] : s.errors) errors.push_back(absl::StrCat(code, "=", n));
    row.push_back(absl::StrJoin(errors, ";"));
    if (auto ratios = RatiosToBaseline(report, i)) {
      row.insert(row.end(), {ratios->baseline, Ratio(ratios->mean), Ratio(ratios->p50), Ratio(ratios->p99)});
    } else {
      row.insert(row.end(), {"", "", "", ""});
    }
    out << CsvLine(row);
  }
}

}  // namespace

int64_t ScenarioResult::error_count() const {
  int64_t total = 0;
  for (const auto& [code, n] : errors) total += n;
  return total;
}

double ScenarioResult::achieved_rate() const {
  const double seconds = absl::ToDoubleSeconds(duration);
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

std::optional<BaselineRatios> RatiosToBaseline(const Report& report, size_t index) {
  if (!report.baseline || *report.baseline == index || index >= report.scenarios.size() ||
      *report.baseline >= report.scenarios.size()) {
    return std::nullopt;
  }
  const ScenarioResult& base = report.scenarios[*report.baseline];
  const LatencyHistogram& b = base.latencies;
  const LatencyHistogram& h = report.scenarios[index].latencies;
  if (b.count() == 0 || h.count() == 0) return std::nullopt;
  // A zero baseline (sub-microsecond calls) would divide by zero: one
  // microsecond is the resolution anyway.
  auto ratio = [](double value, double base_value) { return value / std::max(base_value, 1.0); };
  return BaselineRatios{
      .baseline = base.name,
      .mean = ratio(h.mean(), b.mean()),
      .p50 = ratio(h.ValueAtPercentile(50), b.ValueAtPercentile(50)),
      .p99 = ratio(h.ValueAtPercentile(99), b.ValueAtPercentile(99)),
  };
}

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "json") return OutputFormat::kJson;
  if (text == "csv") return OutputFormat::kCsv;
  return absl::InvalidArgumentError(absl::StrCat("unknown output format \"", text, "\": use table, json or csv"));
}

void WriteReport(const Report& report, OutputFormat format, std::ostream& out) {
  switch (format) {
    case OutputFormat::kTable:
      WriteTable(report, out);
      return;
    case OutputFormat::kJson:
      WriteJson(report, out);
      return;
    case OutputFormat::kCsv:
      WriteCsv(report, out);
      return;
  }
}

std::string FormatEdge(int64_t micros) {
  if (micros >= 1000000 && micros % 1000000 == 0) return absl::StrCat(micros / 1000000, "s");
  if (micros >= 1000 && micros % 1000 == 0) return absl::StrCat(micros / 1000, "ms");
  return absl::StrCat(micros, "us");
}

}  // namespace expertise::loadgen
