#ifndef EXPERTISE_CLIENTS_EXPERTCTL_REPORT_REPORT_HTML_H_
#define EXPERTISE_CLIENTS_EXPERTCTL_REPORT_REPORT_HTML_H_

// The building blocks of the self-contained HTML reports (a page with its
// own style sheet, summaries, tables, inline SVG charts; no scripts) and the
// number, text and time formatting the reports share.

#include <cstddef>
#include <map>
#include <utility>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace expertise::expertctl::html {

// RFC 3339 in UTC, to the second.
std::string Rfc3339(absl::Time time);

// The page up to and including the opening of <main>: title, style sheet
// (no scripts, no external resources) and the generation time.
std::string HtmlHead(absl::string_view title, absl::Time generated_at);
// The end of the page: a note that the figures hold no child's personal
// data, and the generation time.
std::string HtmlFoot(absl::Time generated_at);
// A paragraph saying there is nothing to show.
std::string HtmlEmpty(absl::string_view message);

struct SummaryItem {
  std::string label;
  std::string value;
};
// The report's key figures as a list.
std::string HtmlSummary(const std::vector<SummaryItem>& items);
// A table; columns listed in `numeric` are right-aligned.
std::string HtmlTable(absl::string_view caption, const std::vector<std::string>& header,
                      const std::vector<std::vector<std::string>>& rows, const std::vector<size_t>& numeric = {});

// "12.5": one decimal.
std::string Num1(double value);
// "12" or "7.5": for axis ticks and counts shown as doubles.
std::string Compact(double value);
// Number of code points in UTF-8 text (for column widths).
size_t DisplayWidth(absl::string_view text);
// At most `max_chars` code points, ending in "..." when cut.
std::string Shorten(absl::string_view text, size_t max_chars);

struct Bar {
  std::string label;    // shown left of the bar (shortened when long)
  double value = 0;
  std::string detail;   // added to the tooltip
};

struct BarGroup {
  std::string label;
  std::vector<double> values;  // one per series
};

struct LineSeries {
  std::string label;
  std::string css_class;  // "available" or "contracted"
  std::vector<double> values;
};

// Counts per key, in descending order of count (then key): the order of a
// chart's bars.
std::vector<std::pair<std::string, double>> SortedDescending(const std::map<std::string, double>& totals);

// A horizontal bar chart; bar length is proportional to the value.
std::string BarChart(absl::string_view title, absl::string_view axis_label, const std::vector<Bar>& bars,
                     bool integer);

// A horizontal grouped bar chart: for each group one bar per series, each
// series in its own colour (classes s0, s1, ...) with a legend on top.
std::string GroupedBarChart(absl::string_view title, absl::string_view axis_label,
                            const std::vector<std::string>& series, const std::vector<BarGroup>& groups,
                            bool integer);

// A line chart over days: x is the day (spaced by date), one polyline per
// series with a point marker (and tooltip) per day.
std::string LineChart(absl::string_view title, absl::string_view axis_label,
                      const std::vector<absl::CivilDay>& days, const std::vector<LineSeries>& series);

}  // namespace expertise::expertctl::html

#endif  // EXPERTISE_CLIENTS_EXPERTCTL_REPORT_REPORT_HTML_H_
