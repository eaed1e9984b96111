#include "clients/expertctl/report/report_html.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/expertctl/report/report_render.h"

namespace expertise::expertctl::html {

using Row = std::vector<std::string>;

constexpr char kNoChildData[] =
    "These figures contain no child's personal data: a request describes a need (role, setting, "
    "age band, hours), never a child.";

std::string Num1(double value) { return absl::StrFormat("%.1f", value); }

// "12" or "7.5": for axis ticks and counts shown as doubles.
std::string Compact(double value) {
  const double rounded = std::round(value * 10) / 10;
  if (rounded == std::floor(rounded)) return absl::StrFormat("%.0f", rounded);
  return absl::StrFormat("%.1f", rounded);
}

// Number of code points in UTF-8 text (for column widths).
size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

// At most `max_chars` code points, ending in "..." when cut.
std::string Shorten(absl::string_view text, size_t max_chars) {
  if (DisplayWidth(text) <= max_chars) return std::string(text);
  size_t chars = 0;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars - 1) break;
      ++chars;
    }
  }
  return absl::StrCat(text.substr(0, i), "\xE2\x80\xA6");  // U+2026
}

std::string Rfc3339(absl::Time time) {
  // RFC 3339 in UTC with "Z" (absl::RFC3339_sec would print "+00:00").
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", time, absl::UTCTimeZone());
}

constexpr char kStyle[] = R"css(
:root{color-scheme:light;--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--bar:#0969da;--accent:#bf3989}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:var(--ink);margin:0;background:#fff}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 20px}
header{border-bottom:3px solid var(--bar);padding-top:16px;padding-bottom:8px}
h1{font-size:1.6em;margin:0 0 4px}
h2{font-size:1.3em;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:1.05em;margin:18px 0 6px}
.meta,.note{color:var(--muted)}
.empty{font-size:1.15em;padding:16px;border:1px dashed var(--line);background:#f6f8fa}
.warning{padding:10px 14px;border-left:4px solid #bf8700;background:#fff8c5}
.summary{display:flex;flex-wrap:wrap;gap:12px;list-style:none;padding:0}
.summary li{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:150px}
.summary strong{display:block;font-size:1.5em}
table{border-collapse:collapse;margin:6px 0 16px;font-size:.92em}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:10px 0 18px}
svg{max-width:100%;height:auto;font-size:12px;font-family:inherit}
svg .bar{fill:#0969da}
svg .axis{stroke:#57606a;stroke-width:1}
svg .grid{stroke:#eaeef2;stroke-width:1}
svg .label{fill:var(--ink)}
svg .value{fill:var(--muted);font-size:11px}
svg .title{font-weight:600;font-size:13px}
svg .s0{fill:#0969da} svg .s1{fill:#8250df} svg .s2{fill:#1a7f37} svg .s3{fill:#bc4c00} svg .s4{fill:#6e7781}
svg polyline{fill:none;stroke-width:2}
svg polyline.available{stroke:#0969da} svg polyline.contracted{stroke:#bf3989;stroke-dasharray:6 3}
svg circle.available{fill:#0969da} svg circle.contracted{fill:#bf3989}
svg line.available{stroke:#0969da;stroke-width:2} svg line.contracted{stroke:#bf3989;stroke-width:2;stroke-dasharray:6 3}
footer{margin-top:32px;border-top:1px solid var(--line);padding-top:10px;padding-bottom:24px;color:var(--muted);font-size:.9em}
@media print{header{border-bottom-color:#000} .summary li{break-inside:avoid} figure,table{break-inside:avoid}}
)css";

std::string HtmlHead(absl::string_view title, absl::Time generated_at) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
      // Nothing may be fetched or run: the page is complete in itself.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; img-src data:\">\n",
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
      HtmlEscape(title), "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n<header>\n<h1>",
      HtmlEscape(title), "</h1>\n<p class=\"meta\">Generated ", Rfc3339(generated_at),
      " (UTC) by expertctl.</p>\n</header>\n<main>\n");
}

std::string HtmlFoot(absl::Time generated_at) {
  return absl::StrCat("</main>\n<footer>\n<p>", HtmlEscape(kNoChildData), "</p>\n<p>Generated ",
                      Rfc3339(generated_at), " (UTC).</p>\n</footer>\n</body>\n</html>\n");
}

std::string HtmlEmpty(absl::string_view message) {
  return absl::StrCat("<p class=\"empty\">", HtmlEscape(message), "</p>\n");
}

std::string HtmlSummary(const std::vector<SummaryItem>& items) {
  std::string out = "<ul class=\"summary\">\n";
  for (const auto& item : items) {
    absl::StrAppend(&out, "<li><strong>", HtmlEscape(item.value), "</strong>", HtmlEscape(item.label),
                    "</li>\n");
  }
  out += "</ul>\n";
  return out;
}

// A table; columns listed in `numeric` are right-aligned.
std::string HtmlTable(absl::string_view caption, const Row& header, const std::vector<Row>& rows,
                      const std::vector<size_t>& numeric) {
  auto is_numeric = [&](size_t i) { return std::find(numeric.begin(), numeric.end(), i) != numeric.end(); };
  std::string out = "<table>\n";
  if (!caption.empty()) absl::StrAppend(&out, "<caption>", HtmlEscape(caption), "</caption>\n");
  out += "<thead><tr>";
  for (const auto& cell : header) absl::StrAppend(&out, "<th scope=\"col\">", HtmlEscape(cell), "</th>");
  out += "</tr></thead>\n<tbody>\n";
  for (const Row& row : rows) {
    out += "<tr>";
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&out, is_numeric(i) ? "<td class=\"n\">" : "<td>", HtmlEscape(row[i]), "</td>");
    }
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  return out;
}

// Counts per key, in descending order of count (then key).
std::vector<std::pair<std::string, double>> SortedDescending(const std::map<std::string, double>& totals) {
  std::vector<std::pair<std::string, double>> sorted(totals.begin(), totals.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return sorted;
}

namespace {

// A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten).
double NiceMax(double value, bool integer) {
  if (!(value > 0)) return integer ? 5 : 1;
  const double step = std::pow(10.0, std::floor(std::log10(value)));
  double nice = 10 * step;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * step >= value - 1e-9) {
      nice = m * step;
      break;
    }
  }
  if (integer && nice < 5) nice = 5;
  return nice;
}

std::string FormatValue(double value, bool integer) { return integer ? Compact(value) : Num1(value); }

constexpr int kChartWidth = 760;
constexpr int kLabelWidth = 230;
constexpr int kPlotWidth = 440;

std::string SvgOpen(int height, absl::string_view aria_label) {
  return absl::StrFormat(
      "<svg role=\"img\" aria-label=\"%s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">\n"
      "<title>%s</title>\n",
      HtmlEscape(aria_label), kChartWidth, height, kChartWidth, height, HtmlEscape(aria_label));
}

// The horizontal value axis of a bar chart at `y`: ticks, grid lines from
// `grid_top`, and the axis title.
std::string ValueAxis(int grid_top, int y, double max, bool integer, absl::string_view axis_label) {
  std::string out;
  constexpr int kTicks = 5;
  for (int i = 0; i <= kTicks; ++i) {
    const double x = kLabelWidth + static_cast<double>(kPlotWidth) * i / kTicks;
    absl::StrAppend(&out, absl::StrFormat("<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                                          "<text class=\"label\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                                          x, grid_top, x, y + 5, x, y + 18,
                                          FormatValue(max * i / kTicks, integer || max >= 10)));
  }
  absl::StrAppend(&out,
                  absl::StrFormat("<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", kLabelWidth,
                                  y, kLabelWidth + kPlotWidth, y),
                  absl::StrFormat("<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", kLabelWidth,
                                  grid_top, kLabelWidth, y),
                  absl::StrFormat("<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                                  kLabelWidth + kPlotWidth / 2, y + 34, HtmlEscape(axis_label)));
  return out;
}

}  // namespace

// A horizontal bar chart; bar length is proportional to the value.
std::string BarChart(absl::string_view title, absl::string_view axis_label, const std::vector<Bar>& bars,
                     bool integer) {
  constexpr int kTop = 28, kRow = 24, kBar = 16, kBottom = 44;
  double max = 0;
  for (const Bar& bar : bars) max = std::max(max, bar.value);
  const double axis_max = NiceMax(max, integer);
  const int plot_bottom = kTop + kRow * static_cast<int>(bars.size()) + 4;
  const int height = plot_bottom + kBottom;
  std::string out = "<figure>\n";
  absl::StrAppend(&out, SvgOpen(height, title),
                  absl::StrFormat("<text class=\"title\" x=\"0\" y=\"16\">%s</text>\n", HtmlEscape(title)),
                  ValueAxis(kTop - 4, plot_bottom, axis_max, integer, axis_label));
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& bar = bars[i];
    const int y = kTop + kRow * static_cast<int>(i) + (kRow - kBar) / 2;
    const double width = std::max(0.0, bar.value) / axis_max * kPlotWidth;
    const std::string value = FormatValue(bar.value, integer);
    std::string tooltip = absl::StrCat(bar.label, ": ", value, " ", axis_label);
    if (!bar.detail.empty()) absl::StrAppend(&tooltip, " (", bar.detail, ")");
    absl::StrAppend(
        &out, "<g>",
        absl::StrFormat("<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", kLabelWidth - 8,
                        y + kBar - 4, HtmlEscape(Shorten(bar.label, 30))),
        absl::StrFormat("<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.2f\" height=\"%d\"><title>%s</title></rect>",
                        kLabelWidth, y, width, kBar, HtmlEscape(tooltip)),
        absl::StrFormat("<text class=\"value\" x=\"%.2f\" y=\"%d\">%s</text>", kLabelWidth + width + 4,
                        y + kBar - 4, HtmlEscape(value)),
        "</g>\n");
  }
  out += "</svg>\n</figure>\n";
  return out;
}

// A horizontal grouped bar chart: for each group one bar per series, each
// series in its own colour (classes s0, s1, ...) with a legend on top.
std::string GroupedBarChart(absl::string_view title, absl::string_view axis_label,
                            const std::vector<std::string>& series, const std::vector<BarGroup>& groups,
                            bool integer) {
  constexpr int kBar = 10, kGap = 2, kGroupGap = 12, kBottom = 44;
  // Legend items laid out left to right, wrapping; text width is estimated.
  std::vector<std::pair<int, int>> legend_at;  // x, y of each item
  int legend_x = 0, legend_y = 26;
  for (const auto& label : series) {
    const int width = 16 + static_cast<int>(DisplayWidth(label)) * 7 + 20;
    if (legend_x > 0 && legend_x + width > kChartWidth) {
      legend_x = 0;
      legend_y += 18;
    }
    legend_at.emplace_back(legend_x, legend_y);
    legend_x += width;
  }
  const int kLegend = legend_y + 26;
  const int group_height = static_cast<int>(series.size()) * (kBar + kGap) + kGroupGap;
  double max = 0;
  for (const auto& group : groups) {
    for (double v : group.values) max = std::max(max, v);
  }
  const double axis_max = NiceMax(max, integer);
  const int plot_bottom = kLegend + group_height * static_cast<int>(groups.size());
  const int height = plot_bottom + kBottom;
  std::string out = "<figure>\n";
  absl::StrAppend(&out, SvgOpen(height, title),
                  absl::StrFormat("<text class=\"title\" x=\"0\" y=\"16\">%s</text>\n", HtmlEscape(title)));
  // Legend.
  for (size_t s = 0; s < series.size(); ++s) {
    const auto [x, y] = legend_at[s];
    absl::StrAppend(&out, absl::StrFormat("<rect class=\"s%d\" x=\"%d\" y=\"%d\" width=\"12\" height=\"12\"/>"
                                          "<text class=\"label\" x=\"%d\" y=\"%d\">%s</text>\n",
                                          s % 5, x, y, x + 16, y + 10, HtmlEscape(series[s])));
  }
  absl::StrAppend(&out, ValueAxis(kLegend - 4, plot_bottom, axis_max, integer, axis_label));
  for (size_t g = 0; g < groups.size(); ++g) {
    const BarGroup& group = groups[g];
    const int top = kLegend + group_height * static_cast<int>(g);
    const int label_y = top + (static_cast<int>(series.size()) * (kBar + kGap)) / 2 + 4;
    absl::StrAppend(&out, "<g>",
                    absl::StrFormat("<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s<title>%s</title></text>\n",
                                    kLabelWidth - 8, label_y, HtmlEscape(Shorten(group.label, 30)),
                                    HtmlEscape(group.label)));
    for (size_t s = 0; s < series.size(); ++s) {
      const double value = s < group.values.size() ? group.values[s] : 0;
      const int y = top + static_cast<int>(s) * (kBar + kGap);
      const double width = std::max(0.0, value) / axis_max * kPlotWidth;
      const std::string text = FormatValue(value, integer);
      absl::StrAppend(
          &out,
          absl::StrFormat("<rect class=\"s%d\" x=\"%d\" y=\"%d\" width=\"%.2f\" height=\"%d\"><title>%s</title></rect>",
                          s % 5, kLabelWidth, y, width, kBar,
                          HtmlEscape(absl::StrCat(group.label, ", ", series[s], ": ", text, " ", axis_label))),
          // Zero bars keep their tooltip but get no label, to keep the chart readable.
          value == 0 ? std::string("\n")
                     : absl::StrFormat("<text class=\"value\" x=\"%.2f\" y=\"%d\">%s</text>\n",
                                       kLabelWidth + width + 4, y + kBar - 1, HtmlEscape(text)));
    }
    out += "</g>\n";
  }
  out += "</svg>\n</figure>\n";
  return out;
}

// A line chart over days: x is the day (spaced by date), one polyline per
// series with a point marker (and tooltip) per day.
std::string LineChart(absl::string_view title, absl::string_view axis_label, const std::vector<absl::CivilDay>& days,
                      const std::vector<LineSeries>& series) {
  constexpr int kLeft = 70, kRight = 50, kTop = 50, kPlotHeight = 220, kBottom = 56;
  const int plot_width = kChartWidth - kLeft - kRight;
  const int height = kTop + kPlotHeight + kBottom;
  double max = 0;
  for (const auto& s : series) {
    for (double v : s.values) max = std::max(max, v);
  }
  const double axis_max = NiceMax(max, false);
  const int64_t span = std::max<int64_t>(1, days.back() - days.front());
  auto x_of = [&](size_t i) { return kLeft + static_cast<double>(days[i] - days.front()) / span * plot_width; };
  auto y_of = [&](double v) { return kTop + kPlotHeight - std::max(0.0, v) / axis_max * kPlotHeight; };
  auto day_text = [](absl::CivilDay day) { return absl::FormatCivilTime(day); };

  std::string out = "<figure>\n";
  absl::StrAppend(&out, SvgOpen(height, title),
                  absl::StrFormat("<text class=\"title\" x=\"0\" y=\"16\">%s</text>\n", HtmlEscape(title)));
  for (size_t s = 0; s < series.size(); ++s) {
    const int x = kLeft + static_cast<int>(s) * 220;
    absl::StrAppend(&out, absl::StrFormat("<line class=\"%s\" x1=\"%d\" y1=\"32\" x2=\"%d\" y2=\"32\"/>"
                                          "<text class=\"label\" x=\"%d\" y=\"36\">%s</text>\n",
                                          series[s].css_class, x, x + 24, x + 30, HtmlEscape(series[s].label)));
  }
  // Y axis with ticks and grid.
  constexpr int kTicks = 5;
  for (int i = 0; i <= kTicks; ++i) {
    const double value = axis_max * i / kTicks;
    const double y = y_of(value);
    absl::StrAppend(&out, absl::StrFormat("<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                                          "<text class=\"label\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                                          kLeft, y, kLeft + plot_width, y, kLeft - 6, y + 4,
                                          Compact(value)));
  }
  absl::StrAppend(&out,
                  absl::StrFormat("<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", kLeft, kTop,
                                  kLeft, kTop + kPlotHeight),
                  absl::StrFormat("<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", kLeft,
                                  kTop + kPlotHeight, kLeft + plot_width, kTop + kPlotHeight),
                  absl::StrFormat("<text class=\"label\" x=\"14\" y=\"%d\" text-anchor=\"middle\" "
                                  "transform=\"rotate(-90 14 %d)\">%s</text>\n",
                                  kTop + kPlotHeight / 2, kTop + kPlotHeight / 2, HtmlEscape(axis_label)));
  // X axis labels: at most 6 days, always the first and last.
  const size_t n = days.size();
  const size_t label_step = std::max<size_t>(1, (n + 4) / 5);
  for (size_t i = 0; i < n; ++i) {
    // The first and last day, and every label_step-th day not crowding the last.
    const bool show = i == 0 || i + 1 == n || (i % label_step == 0 && n - 1 - i > label_step / 2);
    if (!show) continue;
    const double x = x_of(i);
    absl::StrAppend(&out, absl::StrFormat("<line class=\"axis\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                                          "<text class=\"label\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                                          x, kTop + kPlotHeight, x, kTop + kPlotHeight + 5, x,
                                          kTop + kPlotHeight + 20, day_text(days[i])));
  }
  absl::StrAppend(&out, absl::StrFormat("<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">day</text>\n",
                                        kLeft + plot_width / 2, kTop + kPlotHeight + 40));
  for (const auto& s : series) {
    std::vector<std::string> points;
    for (size_t i = 0; i < s.values.size() && i < n; ++i) {
      points.push_back(absl::StrFormat("%.1f,%.1f", x_of(i), y_of(s.values[i])));
    }
    absl::StrAppend(&out, "<polyline class=\"", s.css_class, "\" points=\"", absl::StrJoin(points, " "), "\"/>\n");
    for (size_t i = 0; i < s.values.size() && i < n; ++i) {
      absl::StrAppend(&out, absl::StrFormat("<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>%s</title></circle>\n",
                                            s.css_class, x_of(i), y_of(s.values[i]),
                                            HtmlEscape(absl::StrCat(day_text(days[i]), ": ", s.label, " ",
                                                                    Num1(s.values[i]), " ", axis_label))));
    }
  }
  out += "</svg>\n</figure>\n";
  return out;
}

}  // namespace expertise::expertctl::html
