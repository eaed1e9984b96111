#ifndef EXPERTISE_SERVICES_OBSERVABILITY_METRICS_H_
#define EXPERTISE_SERVICES_OBSERVABILITY_METRICS_H_

// A thread-safe metrics registry over prometheus-cpp (core): the values are
// prometheus::Counter / Gauge / Histogram, the registry is a
// prometheus::Collectable, and Render() is prometheus::TextSerializer's text
// exposition format 0.0.4. gRPC-free.
//
// Why a thin layer of our own rather than prometheus::Registry / Family:
// those throw on a conflicting definition (we must never crash a server over
// a metric), key children by a name->value map (an allocation per lookup; we
// look up by positional values without allocating), cannot tell two
// histograms with other buckets apart, expose labels sorted by name and
// children unordered (we keep the declared label order and sorted children,
// so scrapes diff cleanly), and have no families computed at scrape time.
//
// Families hold the label names; each label set is one child (Counter, Gauge
// or Histogram) whose pointer stays valid for the registry's lifetime.
// Updating a counter or gauge is a lock-free atomic operation; a histogram
// observation takes prometheus-cpp's per-child mutex (so a scrape sees
// buckets, sum and count of the same moment). Neither allocates. WithLabels()
// takes a shared lock and one hash lookup for a label set seen before, and
// allocates only the first time a label set is used. Hot paths resolve their
// children once and keep the pointers.
//
// Adding a figure (for example the store's commit latency, store errors,
// import records by outcome):
//
//   // Once, at start-up (or in a function-local static): get-or-add by name.
//   observability::HistogramFamily* commit = observability::DefaultMetrics().AddHistogram(
//       "expertise_store_commit_seconds", "Time to commit one write transaction.",
//       {"store"}, {.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1});
//   observability::Histogram* sqlite_commit = commit->WithLabels({"sqlite"});
//   // On the hot path:
//   sqlite_commit->Observe(seconds);
//
//   observability::CounterFamily* records = DefaultMetrics().AddCounter(
//       "expertise_import_records_total", "Import records by outcome.", {"outcome"});
//   records->WithLabels({"created"})->Increment(n);
//
//   // A figure computed when scraped (registration removed with the handle):
//   auto held = DefaultMetrics().AddCallbackGauge("expertise_registry_specialists",
//       "Specialist records held.", [registry] { return double(registry->size()); });
//
// Naming (https://prometheus.io/docs/practices/naming/): snake_case, an
// `expertise_` prefix for our own figures, base units (seconds, bytes) as a
// suffix, counters end in `_total`. Label values must have a small, bounded
// set of values (a method, an outcome, a region; never a caller, a record id or
// free text), since every label set is kept for the life of the process.
//
// Definitions are get-or-add: asking again for a name with the same type,
// labels (and buckets) returns the same family, so code in several places (or
// two servers in one test process) share it. A conflicting or invalid
// definition never crashes the server: it is logged, recorded in
// definition_status(), and answered with a detached family that works but is
// never rendered. Tests check definition_status().

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/common/mutex.h"

namespace expertise::observability {

enum class MetricType { kCounter, kGauge, kHistogram };

// A monotonically increasing value.
class Counter {
 public:
  // Adds `delta`; negative or NaN deltas are ignored (a counter never goes down).
  void Increment(double delta = 1) {
    // prometheus::Counter drops negative deltas but would add NaN.
    if (delta > 0) counter_.Increment(delta);
  }
  double Value() const { return counter_.Value(); }

 private:
  template <typename T>
  friend class Family;
  prometheus::Counter counter_;
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { gauge_.Set(value); }
  void Add(double delta) { gauge_.Increment(delta); }
  double Value() const { return gauge_.Value(); }

 private:
  template <typename T>
  friend class Family;
  prometheus::Gauge gauge_;
};

// Observations counted in fixed buckets (upper bounds, inclusive, as
// Prometheus' `le`), plus their sum and count.
class Histogram {
 public:
  // NaN (comparable with no bound) counts in +Inf only.
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // Read under the child's lock (prometheus-cpp's), so `_count` always
  // equals the +Inf bucket even while other threads observe.
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  template <typename T>
  friend class Family;
  // `bounds`: strictly increasing finite upper bounds (the family checks
  // them: prometheus::Histogram throws otherwise); must outlive this (the
  // family owns them). +Inf is implicit.
  explicit Histogram(const std::vector<double>* bounds);

  const std::vector<double>* const bounds_;
  prometheus::Histogram histogram_;
};

// go-grpc-prometheus' (and Prometheus' DefBuckets) latency buckets, seconds.
const std::vector<double>& DefaultLatencyBuckets();

class MetricsRegistry;

namespace internal {

// Label values as stored (owning) and looked up (views), hashed and compared
// alike so a lookup never builds a key.
struct LabelsHash {
  using is_transparent = void;
  size_t operator()(absl::Span<const std::string_view> values) const;
  size_t operator()(const std::vector<std::string>& values) const;
};
struct LabelsEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::string_view(a[i]) != std::string_view(b[i])) return false;
    }
    return true;
  }
};

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Appends the family, its children sorted by label values, to `out`;
  // nothing when it has no samples, as client_golang does.
  virtual void Collect(std::vector<prometheus::MetricFamily>* out) const = 0;

 protected:
  // A family without samples, its HELP escaped (prometheus-cpp 1.0.1 writes
  // HELP verbatim).
  prometheus::MetricFamily NewMetricFamily() const;
  // `values` as labels, in the declared order.
  std::vector<prometheus::ClientMetric::Label> Labels(const std::vector<std::string>& values) const;

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
};

}  // namespace internal

// The children of one metric name, by label values. Thread-safe.
template <typename T>
class Family final : public internal::FamilyBase {
 public:
  // The child for these label values (in the order of the label names),
  // created on first use. Never null: a wrong number of values is a bug,
  // logged once and answered with a child that is never rendered.
  T* WithLabels(absl::Span<const std::string_view> values);
  T* WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(absl::Span<const std::string_view>(values.begin(), values.size()));
  }
  // The only child of a family without labels.
  T* Get() { return WithLabels(absl::Span<const std::string_view>()); }

  void Collect(std::vector<prometheus::MetricFamily>* out) const override;

 private:
  friend class MetricsRegistry;
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         std::vector<double> bounds = {});
  std::unique_ptr<T> NewChild() const;

  const std::vector<double> bounds_;  // histograms only
  mutable Mutex mu_;
  absl::flat_hash_map<std::vector<std::string>, std::unique_ptr<T>, internal::LabelsHash,
                      internal::LabelsEq>
      children_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<T> invalid_;  // answered for a wrong number of label values
  std::atomic<bool> invalid_logged_{false};
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// One sample of a callback family.
struct Sample {
  std::vector<std::string> label_values;  // in the order of the label names
  double value = 0;
};
// Fills `out` at scrape time. Runs on the scraping thread (never a gRPC
// thread) with the registry's lock held shared: it must be quick and must
// not define metrics or drop callback registrations itself.
using CollectFunction = std::function<void(std::vector<Sample>* out)>;

// Keeps a callback family registered; destroying it removes the family
// (waiting for a scrape in progress), so a callback never outlives the
// objects it reads.
class CallbackRegistration {
 public:
  ~CallbackRegistration();
  CallbackRegistration(const CallbackRegistration&) = delete;
  CallbackRegistration& operator=(const CallbackRegistration&) = delete;

 private:
  friend class MetricsRegistry;
  CallbackRegistration(MetricsRegistry* registry, const internal::FamilyBase* family)
      : registry_(registry), family_(family) {}
  MetricsRegistry* const registry_;
  const internal::FamilyBase* const family_;
};

// Thread-safe. A prometheus::Collectable, so it can also be handed to
// anything of prometheus-cpp that collects.
class MetricsRegistry final : public prometheus::Collectable {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Get-or-add (see the top of this file). Never null.
  CounterFamily* AddCounter(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names = {});
  GaugeFamily* AddGauge(std::string_view name, std::string_view help,
                        std::vector<std::string> label_names = {});
  // `bounds`: strictly increasing, finite; +Inf is added when rendering.
  HistogramFamily* AddHistogram(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names, std::vector<double> bounds);

  // A counter or gauge family whose samples `collect` produces at scrape
  // time. AlreadyExists when the name is taken; InvalidArgument for a bad
  // name, label or type (histograms are not supported).
  absl::StatusOr<std::unique_ptr<CallbackRegistration>> AddCallback(
      MetricType type, std::string_view name, std::string_view help,
      std::vector<std::string> label_names, CollectFunction collect);
  // One gauge without labels, read at scrape time.
  absl::StatusOr<std::unique_ptr<CallbackRegistration>> AddCallbackGauge(
      std::string_view name, std::string_view help, std::function<double()> value);

  // Every family with samples, sorted by name; children sorted by label
  // values, labels in their declared order.
  std::vector<prometheus::MetricFamily> Collect() const override;

  // Collect() in the text exposition format 0.0.4 (prometheus::TextSerializer).
  std::string Render() const;

  // The first conflicting or invalid definition, OK when there was none.
  absl::Status definition_status() const;

 private:
  friend class CallbackRegistration;
  template <typename F, typename... Extra>
  F* GetOrAdd(MetricType type, std::string_view name, std::string_view help,
              std::vector<std::string> label_names, Extra&&... extra);
  void Remove(const internal::FamilyBase* family);
  void RecordError(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  // Sorted by name: the exposition is stable from one scrape to the next.
  std::map<std::string, std::unique_ptr<internal::FamilyBase>, std::less<>> families_
      ABSL_GUARDED_BY(mu_);
  // Conflicting definitions, kept alive (callers hold pointers) but not rendered.
  std::vector<std::unique_ptr<internal::FamilyBase>> detached_ ABSL_GUARDED_BY(mu_);
  absl::Status definition_status_ ABSL_GUARDED_BY(mu_);
};

// The process-wide registry, with the process figures (see
// AddProcessMetrics) already registered.
MetricsRegistry& DefaultMetrics();

// process_start_time_seconds, process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds: read from /proc/self when scraped, as
// client_golang's process collector does. The registrations live as long as
// the returned handles.
absl::StatusOr<std::vector<std::unique_ptr<CallbackRegistration>>> AddProcessMetrics(
    MetricsRegistry* registry);

// Helpers in the exposition's conventions, for code that prints a figure
// itself (Render() leaves both to prometheus::TextSerializer, which writes
// NaN as "Nan" and 16 significant digits): a sample value ("+Inf", "NaN",
// shortest round-trip decimal otherwise) and an escaped label value
// (backslash, double quote, newline).
std::string FormatValue(double value);
std::string EscapeLabelValue(std::string_view value);

}  // namespace expertise::observability

#endif  // EXPERTISE_SERVICES_OBSERVABILITY_METRICS_H_
