#include "services/observability/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/logging.h"
#include "services/common/string_view.h"

namespace expertise::observability {
namespace {

spdlog::logger& Log() {
  static spdlog::logger* const logger = GetLogger("metrics").get();
  return *logger;
}

bool ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

absl::Status CheckDefinition(MetricType type, std::string_view name,
                             const std::vector<std::string>& label_names) {
  if (!ValidMetricName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid metric name '", ToAbsl(name), "'"));
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!ValidLabelName(label) || (type == MetricType::kHistogram && label == "le")) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(name), ": invalid label name '", label, "'"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (label_names[j] == label) {
        return absl::InvalidArgumentError(absl::StrCat(ToAbsl(name), ": label '", label, "' given twice"));
      }
    }
  }
  return absl::OkStatus();
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escapes backslash and newline only (format 0.0.4).
std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void AppendHeader(const internal::FamilyBase& family, std::string* out) {
  absl::StrAppend(out, "# HELP ", family.name(), " ", EscapeHelp(family.help()), "\n");
  absl::StrAppend(out, "# TYPE ", family.name(), " ", TypeName(family.type()), "\n");
}

// `{a="x",b="y"}`, with an optional extra label (le) last; nothing when empty.
void AppendLabels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view extra_name, std::string_view extra_value, std::string* out) {
  if (names.empty() && extra_name.empty()) return;
  out->push_back('{');
  bool first = true;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out->push_back(',');
    first = false;
    absl::StrAppend(out, names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra_name.empty()) {
    if (!first) out->push_back(',');
    absl::StrAppend(out, ToAbsl(extra_name), "=\"", ToAbsl(extra_value), "\"");
  }
  out->push_back('}');
}

void AppendSample(std::string_view name, std::string_view suffix,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values, std::string_view extra_name,
                  std::string_view extra_value, std::string_view value, std::string* out) {
  absl::StrAppend(out, ToAbsl(name), ToAbsl(suffix));
  AppendLabels(label_names, label_values, extra_name, extra_value, out);
  absl::StrAppend(out, " ", ToAbsl(value), "\n");
}

// Counts that fit a double exactly print as integers.
std::string FormatCount(uint64_t count) { return absl::StrCat(count); }

// A family whose samples come from a function at scrape time.
class CallbackFamily final : public internal::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names, CollectFunction collect)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        collect_(std::move(collect)) {}

  void Render(std::string* out) const override {
    std::vector<Sample> samples;
    collect_(&samples);
    // Samples with the wrong number of values are dropped: the exposition
    // must stay parseable whatever a callback does.
    std::erase_if(samples, [&](const Sample& s) { return s.label_values.size() != label_names().size(); });
    if (samples.empty()) return;
    std::sort(samples.begin(), samples.end(),
              [](const Sample& a, const Sample& b) { return a.label_values < b.label_values; });
    AppendHeader(*this, out);
    for (const Sample& s : samples) {
      AppendSample(name(), "", label_names(), s.label_values, "", "", FormatValue(s.value), out);
    }
  }

 private:
  const CollectFunction collect_;
};

// --- /proc/self readers for the process figures --------------------------

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

// --- values ----------------------------------------------------------------

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (ec != std::errc()) return "NaN";
  return std::string(buffer, end);
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double>* const buckets =
      new std::vector<double>{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
  return *buckets;
}

// --- Histogram ---------------------------------------------------------------

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  const std::vector<double>& b = *bounds_;
  // Linear: a dozen buckets fit in a cache line or two, and small values
  // (the common case for latencies) are found first. NaN goes to +Inf.
  size_t i = 0;
  while (i < b.size() && !(value <= b[i])) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.cumulative.resize(bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// --- Family ------------------------------------------------------------------

namespace internal {

size_t LabelsHash::operator()(absl::Span<const std::string_view> values) const {
  size_t h = values.size();
  for (std::string_view v : values) h = absl::HashOf(h, v);
  return h;
}

size_t LabelsHash::operator()(const std::vector<std::string>& values) const {
  size_t h = values.size();
  for (const std::string& v : values) h = absl::HashOf(h, std::string_view(v));
  return h;
}

}  // namespace internal

template <typename T>
Family<T>::Family(std::string name, std::string help, MetricType type,
                  std::vector<std::string> label_names, std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
      bounds_(std::move(bounds)) {
  invalid_ = NewChild();
}

template <typename T>
std::unique_ptr<T> Family<T>::NewChild() const {
  if constexpr (std::is_same_v<T, Histogram>) {
    return std::make_unique<Histogram>(&bounds_);
  } else {
    return std::make_unique<T>();
  }
}

template <typename T>
T* Family<T>::WithLabels(absl::Span<const std::string_view> values) {
  if (values.size() != label_names().size()) {
    if (!invalid_logged_.exchange(true)) {
      LogEvent(Log(), spdlog::level::err, "metric_labels_invalid",
               {{"metric", name()},
                {"expected", label_names().size()},
                {"given", values.size()},
                {"note", "updates go to a child that is never exported"}});
    }
    return invalid_.get();
  }
  {
    ReaderMutexLock lock(&mu_);
    auto it = children_.find(values);
    if (it != children_.end()) return it->second.get();
  }
  MutexLock lock(&mu_);
  auto it = children_.find(values);
  if (it != children_.end()) return it->second.get();
  std::vector<std::string> key(values.begin(), values.end());
  return children_.emplace(std::move(key), NewChild()).first->second.get();
}

template <typename T>
void Family<T>::Render(std::string* out) const {
  std::vector<std::pair<std::vector<std::string>, const T*>> children;
  {
    ReaderMutexLock lock(&mu_);
    children.reserve(children_.size());
    for (const auto& [labels, child] : children_) children.emplace_back(labels, child.get());
  }
  if (children.empty()) return;
  std::sort(children.begin(), children.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  AppendHeader(*this, out);
  for (const auto& [labels, child] : children) {
    if constexpr (std::is_same_v<T, Histogram>) {
      const Histogram::Snapshot s = child->Read();
      for (size_t i = 0; i < bounds_.size(); ++i) {
        AppendSample(name(), "_bucket", label_names(), labels, "le", FormatValue(bounds_[i]),
                     FormatCount(s.cumulative[i]), out);
      }
      AppendSample(name(), "_bucket", label_names(), labels, "le", "+Inf", FormatCount(s.count), out);
      AppendSample(name(), "_sum", label_names(), labels, "", "", FormatValue(s.sum), out);
      AppendSample(name(), "_count", label_names(), labels, "", "", FormatCount(s.count), out);
    } else {
      AppendSample(name(), "", label_names(), labels, "", "", FormatValue(child->Value()), out);
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- MetricsRegistry ---------------------------------------------------------

void MetricsRegistry::RecordError(absl::Status status) {
  LogEvent(Log(), spdlog::level::err, "metric_definition_invalid",
           {{"error", std::string(status.message())},
            {"note", "the metric works but is not exported"}});
  if (definition_status_.ok()) definition_status_ = std::move(status);
}

template <typename F, typename... Extra>
F* MetricsRegistry::GetOrAdd(MetricType type, std::string_view name, std::string_view help,
                             std::vector<std::string> label_names, Extra&&... extra) {
  MutexLock lock(&mu_);
  absl::Status problem = CheckDefinition(type, name, label_names);
  if (problem.ok()) {
    auto it = families_.find(name);
    if (it == families_.end()) {
      auto* family = new F(std::string(name), std::string(help), type, std::move(label_names),
                           std::forward<Extra>(extra)...);
      families_.emplace(std::string(name), std::unique_ptr<internal::FamilyBase>(family));
      return family;
    }
    auto* existing = dynamic_cast<F*>(it->second.get());
    bool same = existing != nullptr && existing->type() == type &&
                existing->label_names() == label_names;
    if constexpr (std::is_same_v<F, HistogramFamily>) {
      same = same && (existing->bounds_ == std::vector<double>(extra...));
    }
    if (same) return existing;
    problem = absl::AlreadyExistsError(
        absl::StrCat("metric '", ToAbsl(name), "' is already defined with another type, labels or buckets"));
  }
  RecordError(std::move(problem));
  auto* detached = new F(std::string(name), std::string(help), type, std::move(label_names),
                         std::forward<Extra>(extra)...);
  detached_.emplace_back(detached);
  return detached;
}

CounterFamily* MetricsRegistry::AddCounter(std::string_view name, std::string_view help,
                                           std::vector<std::string> label_names) {
  return GetOrAdd<CounterFamily>(MetricType::kCounter, name, help, std::move(label_names));
}

GaugeFamily* MetricsRegistry::AddGauge(std::string_view name, std::string_view help,
                                       std::vector<std::string> label_names) {
  return GetOrAdd<GaugeFamily>(MetricType::kGauge, name, help, std::move(label_names));
}

HistogramFamily* MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> bounds) {
  bool increasing = !bounds.empty();
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) increasing = false;
  }
  if (!increasing) {
    {
      MutexLock lock(&mu_);
      RecordError(absl::InvalidArgumentError(
          absl::StrCat(ToAbsl(name), ": histogram bounds must be finite and strictly increasing")));
    }
    auto* detached = new HistogramFamily(std::string(name), std::string(help), MetricType::kHistogram,
                                         std::move(label_names), std::vector<double>{1});
    MutexLock lock(&mu_);
    detached_.emplace_back(detached);
    return detached;
  }
  return GetOrAdd<HistogramFamily>(MetricType::kHistogram, name, help, std::move(label_names),
                                   std::move(bounds));
}

absl::StatusOr<std::unique_ptr<CallbackRegistration>> MetricsRegistry::AddCallback(
    MetricType type, std::string_view name, std::string_view help,
    std::vector<std::string> label_names, CollectFunction collect) {
  if (type == MetricType::kHistogram) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(name), ": callback histograms are not supported"));
  }
  if (!collect) return absl::InvalidArgumentError(absl::StrCat(ToAbsl(name), ": no collect function"));
  if (absl::Status s = CheckDefinition(type, name, label_names); !s.ok()) return s;
  MutexLock lock(&mu_);
  if (families_.find(name) != families_.end()) {
    return absl::AlreadyExistsError(absl::StrCat("metric '", ToAbsl(name), "' is already defined"));
  }
  auto* family = new CallbackFamily(std::string(name), std::string(help), type,
                                    std::move(label_names), std::move(collect));
  families_.emplace(std::string(name), std::unique_ptr<internal::FamilyBase>(family));
  return std::unique_ptr<CallbackRegistration>(new CallbackRegistration(this, family));
}

absl::StatusOr<std::unique_ptr<CallbackRegistration>> MetricsRegistry::AddCallbackGauge(
    std::string_view name, std::string_view help, std::function<double()> value) {
  if (!value) return absl::InvalidArgumentError(absl::StrCat(ToAbsl(name), ": no value function"));
  return AddCallback(MetricType::kGauge, name, help, {},
                     [value = std::move(value)](std::vector<Sample>* out) {
                       out->push_back(Sample{{}, value()});
                     });
}

void MetricsRegistry::Remove(const internal::FamilyBase* family) {
  MutexLock lock(&mu_);
  auto it = families_.find(family->name());
  if (it != families_.end() && it->second.get() == family) families_.erase(it);
}

CallbackRegistration::~CallbackRegistration() { registry_->Remove(family_); }

std::string MetricsRegistry::Render() const {
  std::string out;
  ReaderMutexLock lock(&mu_);
  for (const auto& [name, family] : families_) family->Render(&out);
  return out;
}

absl::Status MetricsRegistry::definition_status() const {
  ReaderMutexLock lock(&mu_);
  return definition_status_;
}

// --- process figures ---------------------------------------------------------

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

MetricsRegistry& DefaultMetrics() {
  // Never destroyed (servers' threads may scrape until exit); the process
  // figures stay registered as long as it.
  struct Default {
    MetricsRegistry registry;
    std::vector<std::unique_ptr<CallbackRegistration>> process;
  };
  static Default* const instance = [] {
    auto* d = new Default();
    absl::StatusOr<std::vector<std::unique_ptr<CallbackRegistration>>> process =
        AddProcessMetrics(&d->registry);
    if (process.ok()) {
      d->process = *std::move(process);
    } else {
      LogEvent(Log(), spdlog::level::err, "process_metrics_failed",
               {{"error", std::string(process.status().message())}});
    }
    return d;
  }();
  return instance->registry;
}

}  // namespace expertise::observability
