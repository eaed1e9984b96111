#include "services/observability/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>

#include <prometheus/check_names.h>
#include <prometheus/text_serializer.h>

#include "absl/hash/hash.h"
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

absl::Status CheckDefinition(MetricType type, std::string_view name,
                             const std::vector<std::string>& label_names) {
  // The data model's rules (a name starting "__" is reserved).
  if (!prometheus::CheckMetricName(std::string(name))) {
    return absl::InvalidArgumentError(absl::StrCat("invalid metric name '", ToAbsl(name), "'"));
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!prometheus::CheckLabelName(label) || (type == MetricType::kHistogram && label == "le")) {
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

prometheus::MetricType ToPrometheus(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return prometheus::MetricType::Counter;
    case MetricType::kGauge:
      return prometheus::MetricType::Gauge;
    case MetricType::kHistogram:
      return prometheus::MetricType::Histogram;
  }
  return prometheus::MetricType::Untyped;
}

// A sample of a counter or gauge family.
prometheus::ClientMetric ScalarSample(MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == MetricType::kCounter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return metric;
}

// prometheus-cpp 1.0.1 writes each histogram child as _count, _sum, then
// the buckets; client_golang, and our exposition from the start, write the
// buckets, then _sum, then _count. Prometheus reads either, but scrapes
// should diff cleanly across the change (the golden test holds us to it),
// so the two lines move behind the buckets. `text` is the serialised
// `family`; help and label values are escaped, so each sample is one line.
std::string SumAndCountAfterBuckets(const prometheus::MetricFamily& family, std::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(ToAbsl(text), '\n', absl::SkipEmpty());
  size_t next = (family.help.empty() ? 0 : 1) + 1;  // past # HELP and # TYPE
  for (const prometheus::ClientMetric& metric : family.metric) {
    const std::vector<prometheus::ClientMetric::Bucket>& buckets = metric.histogram.bucket;
    const bool inf_listed =
        !buckets.empty() && buckets.back().upper_bound == std::numeric_limits<double>::infinity();
    const size_t group = 2 + buckets.size() + (inf_listed ? 0 : 1);
    if (next + group > lines.size()) return std::string(text);  // not the layout we know
    const absl::string_view count = lines[next];
    const absl::string_view sum = lines[next + 1];
    std::copy(lines.begin() + next + 2, lines.begin() + next + group, lines.begin() + next);
    lines[next + group - 2] = sum;
    lines[next + group - 1] = count;
    next += group;
  }
  std::string out;
  out.reserve(text.size());
  for (absl::string_view line : lines) absl::StrAppend(&out, line, "\n");
  return out;
}

// A family whose samples come from a function at scrape time.
class CallbackFamily final : public internal::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names, CollectFunction collect)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        collect_(std::move(collect)) {}

  void Collect(std::vector<prometheus::MetricFamily>* out) const override {
    std::vector<Sample> samples;
    collect_(&samples);
    // Samples with the wrong number of values are dropped: the exposition
    // must stay parseable whatever a callback does.
    std::erase_if(samples, [&](const Sample& s) { return s.label_values.size() != label_names().size(); });
    if (samples.empty()) return;
    std::sort(samples.begin(), samples.end(),
              [](const Sample& a, const Sample& b) { return a.label_values < b.label_values; });
    prometheus::MetricFamily family = NewMetricFamily();
    family.metric.reserve(samples.size());
    for (const Sample& s : samples) {
      prometheus::ClientMetric& metric = family.metric.emplace_back(ScalarSample(type(), s.value));
      metric.label = Labels(s.label_values);
    }
    out->push_back(std::move(family));
  }

 private:
  const CollectFunction collect_;
};

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

Histogram::Histogram(const std::vector<double>* bounds) : bounds_(bounds), histogram_(*bounds) {}

void Histogram::Observe(double value) {
  if (std::isnan(value)) {
    // prometheus::Histogram's bucket search would file NaN under the first
    // bound; it belongs in +Inf only (it is not <= any bound).
    std::vector<double> increments(bounds_->size() + 1, 0);
    increments.back() = 1;
    histogram_.ObserveMultiple(increments, value);
    return;
  }
  histogram_.Observe(value);
}

Histogram::Snapshot Histogram::Read() const {
  const prometheus::ClientMetric metric = histogram_.Collect();
  Snapshot s;
  s.cumulative.reserve(metric.histogram.bucket.size());
  for (const prometheus::ClientMetric::Bucket& bucket : metric.histogram.bucket) {
    s.cumulative.push_back(bucket.cumulative_count);
  }
  s.count = metric.histogram.sample_count;
  s.sum = metric.histogram.sample_sum;
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

prometheus::MetricFamily FamilyBase::NewMetricFamily() const {
  prometheus::MetricFamily family;
  family.name = name_;
  family.help = EscapeHelp(help_);
  family.type = ToPrometheus(type_);
  return family;
}

std::vector<prometheus::ClientMetric::Label> FamilyBase::Labels(
    const std::vector<std::string>& values) const {
  std::vector<prometheus::ClientMetric::Label> labels;
  labels.reserve(label_names_.size());
  for (size_t i = 0; i < label_names_.size() && i < values.size(); ++i) {
    labels.push_back({label_names_[i], values[i]});
  }
  return labels;
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
    return std::unique_ptr<Histogram>(new Histogram(&bounds_));
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
void Family<T>::Collect(std::vector<prometheus::MetricFamily>* out) const {
  std::vector<std::pair<std::vector<std::string>, const T*>> children;
  {
    ReaderMutexLock lock(&mu_);
    children.reserve(children_.size());
    for (const auto& [labels, child] : children_) children.emplace_back(labels, child.get());
  }
  if (children.empty()) return;
  std::sort(children.begin(), children.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  prometheus::MetricFamily family = NewMetricFamily();
  family.metric.reserve(children.size());
  for (const auto& [labels, child] : children) {
    prometheus::ClientMetric metric;
    if constexpr (std::is_same_v<T, Counter>) {
      metric = child->counter_.Collect();
    } else if constexpr (std::is_same_v<T, Gauge>) {
      metric = child->gauge_.Collect();
    } else {
      metric = child->histogram_.Collect();
    }
    metric.label = Labels(labels);
    family.metric.push_back(std::move(metric));
  }
  out->push_back(std::move(family));
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

std::vector<prometheus::MetricFamily> MetricsRegistry::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  ReaderMutexLock lock(&mu_);
  families.reserve(families_.size());
  // families_ is sorted by name, so the result is too.
  for (const auto& [name, family] : families_) family->Collect(&families);
  return families;
}

std::string MetricsRegistry::Render() const {
  // TextSerializer writes through std::ostream and may throw (bad_alloc, or
  // a value it cannot format); a scrape must not take the server down.
  try {
    const prometheus::TextSerializer serializer;
    std::string out;
    for (prometheus::MetricFamily& family : Collect()) {
      std::vector<prometheus::MetricFamily> one;
      one.push_back(std::move(family));
      std::string text = serializer.Serialize(one);
      if (one.front().type == prometheus::MetricType::Histogram) text = SumAndCountAfterBuckets(one.front(), text);
      out += text;
    }
    return out;
  } catch (const std::exception& e) {
    LogEvent(Log(), spdlog::level::err, "metrics_render_failed", {{"error", std::string(e.what())}});
    return "";
  }
}

absl::Status MetricsRegistry::definition_status() const {
  ReaderMutexLock lock(&mu_);
  return definition_status_;
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
