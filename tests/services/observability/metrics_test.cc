// The metrics registry: exposition format (golden), escaping, histogram
// buckets, definitions, callbacks, process figures; and 8-thread cases (the
// concurrency label puts this file in the ThreadSanitizer job).

#include "services/observability/metrics.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace expertise::observability {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, ExpositionGolden) {
  MetricsRegistry r;
  CounterFamily* requests = r.AddCounter("test_requests_total", "Requests served.", {"method", "code"});
  requests->WithLabels({"Get", "OK"})->Increment();
  requests->WithLabels({"Get", "OK"})->Increment(2);
  requests->WithLabels({"A\\b\"c\nd", "x"})->Increment(0.5);
  r.AddGauge("test_temperature", "Line one\nwith \\ backslash.")->Get()->Set(-1.5);
  Histogram* read = r.AddHistogram("test_latency_seconds", "Latency.", {"op"}, {0.25, 1, 2.5})
                        ->WithLabels({"read"});
  for (double v : {0.125, 0.25, 2.0, 100.0}) read->Observe(v);
  r.AddCounter("test_unused_total", "Never incremented: no child, so not rendered.", {"x"});

  EXPECT_EQ(r.Render(),
            "# HELP test_latency_seconds Latency.\n"
            "# TYPE test_latency_seconds histogram\n"
            "test_latency_seconds_bucket{op=\"read\",le=\"0.25\"} 2\n"
            "test_latency_seconds_bucket{op=\"read\",le=\"1\"} 2\n"
            "test_latency_seconds_bucket{op=\"read\",le=\"2.5\"} 3\n"
            "test_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
            "test_latency_seconds_sum{op=\"read\"} 102.375\n"
            "test_latency_seconds_count{op=\"read\"} 4\n"
            "# HELP test_requests_total Requests served.\n"
            "# TYPE test_requests_total counter\n"
            "test_requests_total{method=\"A\\\\b\\\"c\\nd\",code=\"x\"} 0.5\n"
            "test_requests_total{method=\"Get\",code=\"OK\"} 3\n"
            "# HELP test_temperature Line one\\nwith \\\\ backslash.\n"
            "# TYPE test_temperature gauge\n"
            "test_temperature -1.5\n");
  EXPECT_TRUE(r.definition_status().ok()) << r.definition_status();
}

TEST(MetricsTest, FormatValue) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(0.005), "0.005");
  EXPECT_EQ(FormatValue(2.5), "2.5");
  EXPECT_EQ(FormatValue(1e6), "1e+06");
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatValue(NAN), "NaN");
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndInclusive) {
  MetricsRegistry r;
  Histogram* h = r.AddHistogram("h_seconds", "h", {}, DefaultLatencyBuckets())->Get();
  // Exactly on a bound counts in that bound's bucket (le is "less or equal").
  h->Observe(0.005);
  h->Observe(0.0051);
  h->Observe(10);
  h->Observe(11);
  h->Observe(NAN);  // not comparable: +Inf only
  for (int i = 0; i < 1000; ++i) h->Observe(i / 100.0);
  const Histogram::Snapshot s = h->Read();
  ASSERT_EQ(s.cumulative.size(), DefaultLatencyBuckets().size() + 1);
  for (size_t i = 1; i < s.cumulative.size(); ++i) EXPECT_LE(s.cumulative[i - 1], s.cumulative[i]);
  EXPECT_EQ(s.cumulative.back(), s.count);
  EXPECT_EQ(s.count, 1005u);
  EXPECT_EQ(s.cumulative[0], 2u);  // 0.005 and 0.00 (i = 0)
  EXPECT_EQ(s.cumulative[1], 4u);  // + 0.0051 and 1 / 100.0 (exactly the bound 0.01)
  // Every bucket in the rendering, +Inf last, _count equal to it.
  const std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("h_seconds_bucket{le=\"0.005\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("h_seconds_bucket{le=\"10\"} 1003\n"));
  EXPECT_THAT(text, HasSubstr("h_seconds_bucket{le=\"+Inf\"} 1005\n"));
  EXPECT_THAT(text, HasSubstr("h_seconds_count 1005\n"));
}

TEST(MetricsTest, DefinitionsAreGetOrAdd) {
  MetricsRegistry r;
  CounterFamily* a = r.AddCounter("x_total", "x", {"k"});
  EXPECT_EQ(r.AddCounter("x_total", "other help is fine", {"k"}), a);
  Counter* child = a->WithLabels({"v"});
  EXPECT_EQ(a->WithLabels({"v"}), child);  // stable pointer
  HistogramFamily* h = r.AddHistogram("y_seconds", "y", {}, {1, 2});
  EXPECT_EQ(r.AddHistogram("y_seconds", "y", {}, {1, 2}), h);
  EXPECT_TRUE(r.definition_status().ok());
}

TEST(MetricsTest, ConflictsAreDetachedNotFatal) {
  MetricsRegistry r;
  r.AddCounter("x_total", "x", {"k"})->WithLabels({"v"})->Increment();
  // Another type, other labels, other buckets, bad names: usable, never rendered.
  r.AddGauge("x_total", "x", {"k"})->WithLabels({"v"})->Set(7);
  r.AddCounter("x_total", "x", {"other"})->WithLabels({"v"})->Increment(9);
  r.AddHistogram("h_seconds", "h", {}, {1})->Get()->Observe(1);
  r.AddHistogram("h_seconds", "h", {}, {1, 2})->Get()->Observe(1);
  r.AddHistogram("bad_bounds", "h", {}, {2, 1})->Get()->Observe(1);
  r.AddCounter("bad-name", "x")->Get()->Increment();
  r.AddCounter("bad_label_total", "x", {"__reserved"})->WithLabels({"v"})->Increment();
  r.AddHistogram("le_seconds", "x", {"le"}, {1})->WithLabels({"v"})->Observe(1);
  EXPECT_EQ(r.definition_status().code(), absl::StatusCode::kAlreadyExists);
  // A wrong number of label values: a child that is never rendered.
  Counter* wrong = r.AddCounter("x_total", "x", {"k"})->WithLabels({"v", "extra"});
  ASSERT_NE(wrong, nullptr);
  wrong->Increment(100);
  const std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("x_total{k=\"v\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("gauge")));
  EXPECT_THAT(text, Not(HasSubstr("other")));
  EXPECT_THAT(text, Not(HasSubstr("100")));
  EXPECT_THAT(text, Not(HasSubstr("bad")));
  EXPECT_THAT(text, Not(HasSubstr("le_seconds")));
  EXPECT_THAT(text, HasSubstr("h_seconds_bucket{le=\"1\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("le=\"2\"")));
}

TEST(MetricsTest, CountersNeverGoDown) {
  MetricsRegistry r;
  Counter* c = r.AddCounter("c_total", "c")->Get();
  c->Increment(2);
  c->Increment(-1);
  c->Increment(NAN);
  EXPECT_EQ(c->Value(), 2);
  Gauge* g = r.AddGauge("g", "g")->Get();
  g->Add(3);
  g->Add(-5);
  EXPECT_EQ(g->Value(), -2);
}

TEST(MetricsTest, CallbacksAreReadAtScrapeAndRemovedWithTheirHandle) {
  MetricsRegistry r;
  std::atomic<int> held{3};
  auto gauge = r.AddCallbackGauge("records", "Records held.", [&] { return double(held.load()); });
  ASSERT_TRUE(gauge.ok()) << gauge.status();
  auto regions = r.AddCallback(MetricType::kGauge, "region_up", "1 when up.", {"region"},
                               [](std::vector<Sample>* out) {
                                 out->push_back({{"south-west"}, 0});
                                 out->push_back({{"north-east"}, 1});
                                 out->push_back({{"too", "many"}, 1});  // dropped
                               });
  ASSERT_TRUE(regions.ok()) << regions.status();
  EXPECT_THAT(r.Render(), HasSubstr("# TYPE records gauge\nrecords 3\n"));
  held = 5;
  const std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("records 5\n"));
  EXPECT_THAT(text, HasSubstr("region_up{region=\"north-east\"} 1\nregion_up{region=\"south-west\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("many")));

  EXPECT_EQ(r.AddCallbackGauge("records", "again", [] { return 1.0; }).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r.AddCallback(MetricType::kHistogram, "h", "h", {}, [](std::vector<Sample>*) {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.AddCallbackGauge("bad name", "x", [] { return 1.0; }).status().code(),
            absl::StatusCode::kInvalidArgument);

  gauge->reset();
  EXPECT_THAT(r.Render(), Not(HasSubstr("records")));
  // The name is free again.
  EXPECT_TRUE(r.AddCallbackGauge("records", "Records held.", [] { return 1.0; }).ok());
}

TEST(MetricsTest, CollectKeepsDeclaredLabelOrderAndSortsChildren) {
  MetricsRegistry r;
  CounterFamily* c = r.AddCounter("z_total", "z", {"zone", "app"});
  c->WithLabels({"b", "x"})->Increment();
  c->WithLabels({"a", "y"})->Increment(2);
  r.AddGauge("a_gauge", "a")->Get()->Set(1);
  const std::vector<prometheus::MetricFamily> families = r.Collect();
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(families[0].name, "a_gauge");
  EXPECT_EQ(families[1].type, prometheus::MetricType::Counter);
  ASSERT_EQ(families[1].metric.size(), 2u);
  const prometheus::ClientMetric& first = families[1].metric[0];
  ASSERT_EQ(first.label.size(), 2u);
  EXPECT_EQ(first.label[0].name, "zone");
  EXPECT_EQ(first.label[0].value, "a");
  EXPECT_EQ(first.label[1].name, "app");
  EXPECT_EQ(first.counter.value, 2);
}

TEST(MetricsTest, NaNObservationsCountInInfOnly) {
  MetricsRegistry r;
  Histogram* h = r.AddHistogram("n_seconds", "n", {}, {1, 2})->Get();
  h->Observe(NAN);
  h->Observe(1.5);
  const Histogram::Snapshot s = h->Read();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(s.count, 2u);
  EXPECT_TRUE(std::isnan(s.sum));
  // Reserved names ("__" prefix) are refused like any invalid one.
  r.AddCounter("__internal_total", "x")->Get()->Increment();
  EXPECT_EQ(r.definition_status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.Render(), Not(HasSubstr("__internal")));
}

double SampleValue(const std::string& text, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.size() > name.size() && line.substr(0, name.size() + 1) == absl::string_view(name + " ")) {
      double value = 0;
      if (absl::SimpleAtod(line.substr(name.size() + 1), &value)) return value;
    }
  }
  return -1;
}

TEST(MetricsTest, ProcessFigures) {
  const std::string text = DefaultMetrics().Render();
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  EXPECT_GE(SampleValue(text, "process_cpu_seconds_total"), 0);
  EXPECT_GT(SampleValue(text, "process_resident_memory_bytes"), 1e5);
  EXPECT_GT(SampleValue(text, "process_virtual_memory_bytes"), 1e5);
  EXPECT_GE(SampleValue(text, "process_open_fds"), 3);  // stdin, stdout, stderr at least
  EXPECT_GT(SampleValue(text, "process_max_fds"), 0);
  const double start = SampleValue(text, "process_start_time_seconds");
  const double now = static_cast<double>(time(nullptr));
  EXPECT_GT(start, now - 3600);
  EXPECT_LE(start, now + 2);
  EXPECT_TRUE(DefaultMetrics().definition_status().ok());
}

// --- 8 threads ---------------------------------------------------------------

TEST(MetricsConcurrencyTest, IncrementsFromEightThreadsAddUp) {
  MetricsRegistry r;
  CounterFamily* calls = r.AddCounter("calls_total", "c", {"method"});
  GaugeFamily* level = r.AddGauge("level", "g", {"method"});
  HistogramFamily* latency = r.AddHistogram("latency_seconds", "h", {"method"}, DefaultLatencyBuckets());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::atomic<bool> done{false};
  // A scraper renders all the time, as Prometheus would, while the
  // writers resolve label sets (first use races) and update them.
  std::thread scraper([&] {
    while (!done.load()) (void)r.Render();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string mine = "m" + std::to_string(t % 2);
      for (int i = 0; i < kPerThread; ++i) {
        calls->WithLabels({"shared"})->Increment();
        calls->WithLabels({mine})->Increment();
        level->WithLabels({"shared"})->Add(1);
        latency->WithLabels({"shared"})->Observe((i % 100) / 1000.0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  done = true;
  scraper.join();
  EXPECT_EQ(calls->WithLabels({"shared"})->Value(), kThreads * kPerThread);
  EXPECT_EQ(calls->WithLabels({"m0"})->Value(), kThreads / 2 * kPerThread);
  EXPECT_EQ(calls->WithLabels({"m1"})->Value(), kThreads / 2 * kPerThread);
  EXPECT_EQ(level->WithLabels({"shared"})->Value(), kThreads * kPerThread);
  const Histogram::Snapshot s = latency->WithLabels({"shared"})->Read();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.cumulative.back(), s.count);
  EXPECT_NEAR(s.sum, kThreads * (kPerThread / 100) * 4.95, 1e-6);
}

TEST(MetricsConcurrencyTest, CallbacksComeAndGoWhileScraping) {
  MetricsRegistry r;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) (void)r.Render();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto value = std::make_unique<int>(i);
        auto handle = r.AddCallbackGauge("cb_" + std::to_string(t), "x",
                                         [p = value.get()] { return double(*p); });
        ASSERT_TRUE(handle.ok());
        handle->reset();  // removed before the value it reads goes away
      }
    });
  }
  for (auto& thread : threads) thread.join();
  done = true;
  scraper.join();
  EXPECT_EQ(r.Render(), "");
}

}  // namespace
}  // namespace expertise::observability
