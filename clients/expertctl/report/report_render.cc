#include "clients/expertctl/report/report_render.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "services/common/civil_date.h"
#include "services/common/reference/reference_data.h"

namespace expertise::expertctl {
namespace {

using registry::v1::CapacitySnapshot;
using registry::v1::CoverageGap;
using registry::v1::EquityReport;
using registry::v1::EquityRow;
using registry::v1::Phase;
using registry::v1::SupportRequest;
using registry::v1::TaxonomyKind;
using registry::v1::UnmetNeedGroup;
using registry::v1::UnmetNeedReport;

using Row = std::vector<std::string>;

constexpr char kNoChildData[] =
    "These figures contain no child's personal data: a request describes a need (role, setting, "
    "age band, hours), never a child.";

// ---------------------------------------------------------------------------
// Small formatting helpers.

std::string Num1(double value) { return absl::StrFormat("%.1f", value); }

// "12" or "7.5": for axis ticks and counts shown as doubles.
std::string Compact(double value) {
  const double rounded = std::round(value * 10) / 10;
  if (rounded == std::floor(rounded)) return absl::StrFormat("%.0f", rounded);
  return absl::StrFormat("%.1f", rounded);
}

std::string Rfc3339(absl::Time time) {
  // RFC 3339 in UTC with "Z" (absl::RFC3339_sec would print "+00:00").
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", time, absl::UTCTimeZone());
}

bool HasTime(const google::protobuf::Timestamp& ts) { return ts.seconds() != 0 || ts.nanos() != 0; }

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// Whole days from `since` to `now`, never negative; "" when unknown.
std::string OpenDays(const google::protobuf::Timestamp& since, absl::Time now) {
  if (!HasTime(since)) return "";
  const int64_t days = absl::ToInt64Hours(now - ToTime(since)) / 24;
  return absl::StrCat(std::max<int64_t>(days, 0));
}

std::string DateString(const google::type::Date& date) {
  return absl::StrFormat("%04d-%02d-%02d", date.year(), date.month(), date.day());
}

std::string RegionName(absl::string_view code) {
  if (code.empty()) return "";
  const RegionInfo* region = ReferenceData::Get().FindRegion(std::string_view(code.data(), code.size()));
  return region ? region->name : std::string(code);
}

std::string AuthorityName(absl::string_view code) {
  if (code.empty()) return "";
  const AuthorityInfo* authority = ReferenceData::Get().FindAuthority(std::string_view(code.data(), code.size()));
  return authority ? authority->name : std::string(code);
}

std::string RequestRegion(const SupportRequest& request) {
  if (!request.region_code().empty()) return request.region_code();
  const AuthorityInfo* authority = ReferenceData::Get().FindAuthority(request.requesting_authority());
  return authority ? authority->region_code : "";
}

// The taxonomy label of a code ("Educational psychologist"), or the code.
std::string TermLabel(TaxonomyKind kind, absl::string_view code) {
  const ReferenceData& data = ReferenceData::Get();
  if (data.TermIndex(kind, std::string_view(code.data(), code.size())) < 0) return std::string(code);
  for (const auto& term : data.terms()) {
    if (term.kind() == kind && term.code() == code) return term.label().empty() ? term.code() : term.label();
  }
  return std::string(code);
}

std::string RoleLabel(absl::string_view code) { return TermLabel(registry::v1::TAXONOMY_KIND_ROLE, code); }

constexpr Phase kPhases[] = {registry::v1::PHASE_EARLY_YEARS_MAINTAINED, registry::v1::PHASE_EARLY_YEARS_PVI,
                             registry::v1::PHASE_SCHOOLS, registry::v1::PHASE_POST_16,
                             registry::v1::PHASE_OTHER};

// Index of a phase in kPhases, or -1.
int PhaseIndex(Phase phase) {
  for (int i = 0; i < 5; ++i) {
    if (kPhases[i] == phase) return i;
  }
  return -1;
}

std::string PhaseName(Phase phase) {
  switch (phase) {
    case registry::v1::PHASE_EARLY_YEARS_MAINTAINED: return "early-years-maintained";
    case registry::v1::PHASE_EARLY_YEARS_PVI: return "early-years-pvi";
    case registry::v1::PHASE_SCHOOLS: return "schools";
    case registry::v1::PHASE_POST_16: return "post-16";
    case registry::v1::PHASE_OTHER: return "other";
    default: return "unspecified";
  }
}

std::string PhaseLabel(Phase phase) {
  switch (phase) {
    case registry::v1::PHASE_EARLY_YEARS_MAINTAINED: return "Early years (maintained)";
    case registry::v1::PHASE_EARLY_YEARS_PVI: return "Early years (PVI)";
    case registry::v1::PHASE_SCHOOLS: return "Schools";
    case registry::v1::PHASE_POST_16: return "Post-16";
    case registry::v1::PHASE_OTHER: return "Other (home and community)";
    default: return "Unspecified";
  }
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

// ---------------------------------------------------------------------------
// Plain-text tables.

// A cell for a plain-text table: one line, "-" when empty (so columns stay
// countable, as with `column -t`). Control characters (line breaks, tabs,
// terminal escape sequences) become spaces.
std::string TextCell(absl::string_view text) {
  if (text.empty()) return "-";
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::string TextTable(const Row& header, const std::vector<Row>& rows) {
  std::vector<Row> cells;
  cells.reserve(rows.size() + 1);
  cells.push_back(header);
  for (const Row& row : rows) cells.push_back(row);
  std::vector<size_t> widths(header.size(), 0);
  for (Row& row : cells) {
    row.resize(header.size());
    for (size_t i = 0; i < row.size(); ++i) {
      row[i] = TextCell(row[i]);
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  std::string out;
  for (const Row& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(widths[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

std::string TextTitle(absl::string_view title, absl::Time generated_at) {
  return absl::StrCat(title, " (generated ", Rfc3339(generated_at), ")\n");
}

std::string TextUnreachable(const google::protobuf::RepeatedPtrField<std::string>& regions) {
  if (regions.empty()) return "";
  std::vector<std::string> names;
  for (const auto& code : regions) names.push_back(TextCell(RegionName(code)));
  return absl::StrCat("warning: no answer from ", absl::StrJoin(names, ", "),
                      "; their figures are missing\n");
}

// ---------------------------------------------------------------------------
// CSV.

// Fields are either text, already passed through CsvField, or numbers
// formatted here, which need no quoting; so they are only joined.
std::string JoinCsvFields(const Row& fields) { return absl::StrCat(absl::StrJoin(fields, ","), "\r\n"); }

// ---------------------------------------------------------------------------
// HTML building blocks.

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

std::string HtmlUnreachable(const google::protobuf::RepeatedPtrField<std::string>& regions) {
  if (regions.empty()) return "";
  std::vector<std::string> names;
  for (const auto& code : regions) names.push_back(HtmlEscape(RegionName(code)));
  return absl::StrCat("<p class=\"warning\" role=\"alert\">No answer from ", absl::StrJoin(names, ", "),
                      ": their figures are missing from this report.</p>\n");
}

struct SummaryItem {
  std::string label;
  std::string value;
};

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
                      const std::vector<size_t>& numeric = {}) {
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

struct Bar {
  std::string label;    // shown left of the bar (shortened when long)
  double value = 0;
  std::string detail;   // added to the tooltip
};

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

struct BarGroup {
  std::string label;
  std::vector<double> values;  // one per series
};

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

struct LineSeries {
  std::string label;
  std::string css_class;  // "available" or "contracted"
  std::vector<double> values;
};

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

// Counts per key, in descending order of count (then key).
std::vector<std::pair<std::string, double>> SortedDescending(const std::map<std::string, double>& totals) {
  std::vector<std::pair<std::string, double>> sorted(totals.begin(), totals.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return sorted;
}

// ---------------------------------------------------------------------------
// Unmet need.

Row UnmetRequestFields(const SupportRequest& request, absl::Time now) {
  return {request.name(),
          RequestRegion(request),
          request.requesting_authority(),
          request.role(),
          absl::StrJoin(request.specialisms(), ";"),
          request.setting(),
          Num1(request.hours_per_week()),
          absl::StrCat(request.weeks()),
          OpenDays(request.create_time(), now),
          request.escalation_owner(),
          request.state_reason()};
}

// Bars for one dimension: from the report's groups when it has any for the
// dimension, else counted from the requests.
std::vector<Bar> UnmetBars(const UnmetNeedReport& report, absl::string_view dimension) {
  std::vector<Bar> bars;
  auto label_of = [&](const std::string& key) {
    return dimension == "region" ? RegionName(key) : RoleLabel(key);
  };
  for (const UnmetNeedGroup& group : report.groups()) {
    if (group.dimension() != dimension) continue;
    bars.push_back({label_of(group.key()), static_cast<double>(group.requests()),
                    absl::StrCat(Num1(group.hours_per_week()), " hours/week, oldest open ",
                                 group.oldest_open_days(), " days")});
  }
  if (bars.empty()) {
    std::map<std::string, double> counts;
    for (const auto& request : report.requests()) {
      counts[dimension == "region" ? RequestRegion(request) : request.role()] += 1;
    }
    for (const auto& [key, count] : counts) bars.push_back({label_of(key), count, ""});
  }
  std::stable_sort(bars.begin(), bars.end(), [](const Bar& a, const Bar& b) { return a.value > b.value; });
  return bars;
}

std::string GroupKeyName(const UnmetNeedGroup& group) {
  if (group.dimension() == "region") return RegionName(group.key());
  if (group.dimension() == "authority") return AuthorityName(group.key());
  if (group.dimension() == "role") return RoleLabel(group.key());
  if (group.dimension() == "specialism") return TermLabel(registry::v1::TAXONOMY_KIND_SPECIALISM, group.key());
  if (group.dimension() == "setting") return TermLabel(registry::v1::TAXONOMY_KIND_SETTING, group.key());
  return group.key();
}

std::string UnmetTable(const UnmetNeedReport& report, absl::Time now) {
  std::string out = TextTitle("Unmet need report", now);
  out += TextUnreachable(report.unreachable());
  if (report.requests().empty() && report.groups().empty()) {
    out += "No unmet need recorded.\n";
    return out;
  }
  std::vector<Row> rows;
  for (const auto& request : report.requests()) rows.push_back(UnmetRequestFields(request, now));
  absl::StrAppend(&out, "\nUnmet requests: ", report.requests_size(), "\n",
                  TextTable({"NAME", "REGION", "AUTHORITY", "ROLE", "SPECIALISMS", "SETTING", "HOURS/WEEK", "WEEKS",
                             "OPEN DAYS", "OWNER", "REASON"},
                            rows));
  if (!report.groups().empty()) {
    std::vector<Row> groups;
    for (const auto& group : report.groups()) {
      groups.push_back({group.dimension(), group.key(), GroupKeyName(group), absl::StrCat(group.requests()),
                        Num1(group.hours_per_week()), absl::StrCat(group.oldest_open_days())});
    }
    absl::StrAppend(&out, "\nGroups:\n",
                    TextTable({"DIMENSION", "KEY", "NAME", "REQUESTS", "HOURS/WEEK", "OLDEST OPEN DAYS"}, groups));
  }
  return out;
}

std::string UnmetCsv(const UnmetNeedReport& report, absl::Time now) {
  std::string out = JoinCsvFields({"name", "region", "requesting_authority", "role", "specialisms", "setting",
                                   "hours_per_week", "weeks", "open_days", "escalation_owner", "state_reason"});
  for (const auto& request : report.requests()) {
    Row fields = UnmetRequestFields(request, now);
    // Text fields are quoted and guarded; numbers (6, 7, 8) are ours.
    for (size_t i : {0, 1, 2, 3, 4, 5, 9, 10}) fields[i] = CsvField(fields[i]);
    out += JoinCsvFields(fields);
  }
  return out;
}

std::string UnmetHtml(const UnmetNeedReport& report, absl::Time now) {
  std::string out = HtmlHead("Unmet need report", now);
  out += HtmlUnreachable(report.unreachable());
  if (report.requests().empty() && report.groups().empty()) {
    out += HtmlEmpty("No unmet need recorded: every support request has been matched or is still open.");
    out += HtmlFoot(now);
    return out;
  }
  double hours = 0;
  int64_t oldest = 0;
  std::map<std::string, int> regions, authorities;
  for (const auto& request : report.requests()) {
    hours += request.hours_per_week();
    regions[RequestRegion(request)]++;
    authorities[request.requesting_authority()]++;
    if (HasTime(request.create_time())) {
      oldest = std::max<int64_t>(oldest, absl::ToInt64Hours(now - ToTime(request.create_time())) / 24);
    }
  }
  absl::StrAppend(&out, "<section>\n<h2>Summary</h2>\n",
                  HtmlSummary({{"unmet requests", absl::StrCat(report.requests_size())},
                               {"hours per week unmet", Num1(hours)},
                               {"regions", absl::StrCat(regions.size())},
                               {"requesting authorities", absl::StrCat(authorities.size())},
                               {"days the oldest has been open", absl::StrCat(oldest)}}),
                  "</section>\n");

  absl::StrAppend(&out, "<section>\n<h2>Unmet requests by region and role</h2>\n");
  const auto by_region = UnmetBars(report, "region");
  const auto by_role = UnmetBars(report, "role");
  out += by_region.empty() ? HtmlEmpty("No unmet need recorded by region.")
                           : BarChart("Unmet requests by region", "requests", by_region, true);
  out += by_role.empty() ? HtmlEmpty("No unmet need recorded by role.")
                         : BarChart("Unmet requests by role", "requests", by_role, true);
  out += "</section>\n";

  if (!report.groups().empty()) {
    std::vector<Row> groups;
    for (const auto& group : report.groups()) {
      groups.push_back({group.dimension(), group.key(), GroupKeyName(group), absl::StrCat(group.requests()),
                        Num1(group.hours_per_week()), absl::StrCat(group.oldest_open_days())});
    }
    absl::StrAppend(&out, "<section>\n<h2>Groups</h2>\n",
                    HtmlTable("Unmet need by region, authority, role, specialism and setting (a request with "
                              "several specialisms counts in each)",
                              {"Dimension", "Key", "Name", "Requests", "Hours/week", "Oldest open (days)"}, groups,
                              {3, 4, 5}),
                    "</section>\n");
  }

  std::vector<Row> rows;
  for (const auto& request : report.requests()) {
    rows.push_back({request.name(), RegionName(RequestRegion(request)),
                    absl::StrCat(AuthorityName(request.requesting_authority()), " (", request.requesting_authority(),
                                 ")"),
                    RoleLabel(request.role()), absl::StrJoin(request.specialisms(), ", "), request.setting(),
                    Num1(request.hours_per_week()), absl::StrCat(request.weeks()),
                    OpenDays(request.create_time(), now), request.escalation_owner(), request.state_reason()});
  }
  absl::StrAppend(&out, "<section>\n<h2>Requests</h2>\n",
                  rows.empty() ? HtmlEmpty("No unmet requests listed.")
                               : HtmlTable("Unmet requests, oldest first",
                                           {"Request", "Region", "Requesting authority", "Role", "Specialisms",
                                            "Setting", "Hours/week", "Weeks", "Open (days)", "Owner", "Reason"},
                                           rows, {6, 7, 8}),
                  "</section>\n");
  out += HtmlFoot(now);
  return out;
}

// ---------------------------------------------------------------------------
// Gaps (on their own and inside the equity report).

std::string GapAuthorityName(const CoverageGap& gap) {
  return gap.authority_name().empty() ? AuthorityName(gap.authority()) : gap.authority_name();
}

std::string GapNearest(const CoverageGap& gap) { return gap.nearest_found() ? Num1(gap.nearest_km()) : "none"; }

std::string GapsTable(const EquityReport& report) {
  if (report.gaps().empty()) {
    return absl::StrCat("No coverage gaps within ", Num1(report.within_km()), " km.\n");
  }
  std::vector<Row> rows;
  for (const auto& gap : report.gaps()) {
    rows.push_back({gap.region_code(), RegionName(gap.region_code()), gap.authority(), GapAuthorityName(gap),
                    gap.role(), GapNearest(gap)});
  }
  return absl::StrCat("Coverage gaps (no specialist of the role within ", Num1(report.within_km()),
                      " km): ", report.gaps_size(), "\n",
                      TextTable({"REGION", "REGION NAME", "AUTHORITY", "AUTHORITY NAME", "ROLE", "NEAREST KM"}, rows));
}

std::string GapsCsv(const EquityReport& report) {
  std::string out = JoinCsvFields({"region_code", "region_name", "authority", "authority_name", "role", "nearest_km",
                                   "nearest_found"});
  for (const auto& gap : report.gaps()) {
    out += JoinCsvFields({CsvField(gap.region_code()), CsvField(RegionName(gap.region_code())),
                          CsvField(gap.authority()), CsvField(GapAuthorityName(gap)), CsvField(gap.role()),
                          gap.nearest_found() ? Num1(gap.nearest_km()) : "", gap.nearest_found() ? "true" : "false"});
  }
  return out;
}

// The gaps section of the HTML pages: a chart of gaps per role and a table
// per region. `heading` is the h2 title.
std::string GapsHtmlSection(const EquityReport& report, bool has_other_data) {
  std::string out = "<section>\n<h2>Coverage gaps</h2>\n";
  if (!report.gaps().empty() || has_other_data) {
    absl::StrAppend(&out, "<p class=\"note\">Authorities with no specialist of a role within ",
                    Num1(report.within_km()), " km of their centre.</p>\n");
  }
  if (report.gaps().empty()) {
    out += HtmlEmpty(has_other_data ? absl::StrCat("No coverage gaps within ", Num1(report.within_km()), " km.")
                                    : std::string("No data: no coverage gaps recorded."));
    out += "</section>\n";
    return out;
  }
  std::map<std::string, double> per_role;
  std::map<std::string, std::vector<const CoverageGap*>> per_region;
  std::vector<std::string> region_order;
  for (const auto& gap : report.gaps()) {
    per_role[gap.role()] += 1;
    if (per_region[gap.region_code()].empty()) region_order.push_back(gap.region_code());
    per_region[gap.region_code()].push_back(&gap);
  }
  std::vector<Bar> bars;
  for (const auto& [role, count] : SortedDescending(per_role)) bars.push_back({RoleLabel(role), count, role});
  out += BarChart("Coverage gaps by role", "authorities without cover", bars, true);
  for (const auto& region : region_order) {
    const auto& gaps = per_region[region];
    std::vector<Row> rows;
    for (const CoverageGap* gap : gaps) {
      rows.push_back({GapAuthorityName(*gap), gap->authority(), RoleLabel(gap->role()),
                      gap->nearest_found() ? absl::StrCat(Num1(gap->nearest_km()), " km") : "none found"});
    }
    absl::StrAppend(&out, "<h3>", HtmlEscape(RegionName(region)), " (", gaps.size(), ")</h3>\n",
                    HtmlTable("", {"Authority", "GSS code", "Role", "Nearest specialist"}, rows, {3}));
  }
  out += "</section>\n";
  return out;
}

std::string GapsHtml(const EquityReport& report, absl::Time now) {
  std::string out = HtmlHead("Coverage gaps report", now);
  out += HtmlUnreachable(report.unreachable());
  if (!report.gaps().empty()) {
    std::map<std::string, int> authorities, roles, regions;
    for (const auto& gap : report.gaps()) {
      authorities[gap.authority()]++;
      roles[gap.role()]++;
      regions[gap.region_code()]++;
    }
    absl::StrAppend(&out, "<section>\n<h2>Summary</h2>\n",
                    HtmlSummary({{"coverage gaps", absl::StrCat(report.gaps_size())},
                                 {"authorities affected", absl::StrCat(authorities.size())},
                                 {"roles affected", absl::StrCat(roles.size())},
                                 {"regions", absl::StrCat(regions.size())},
                                 {"km radius", Num1(report.within_km())}}),
                    "</section>\n");
  }
  out += GapsHtmlSection(report, !report.rows().empty());
  out += HtmlFoot(now);
  return out;
}

// ---------------------------------------------------------------------------
// Equity.

bool EquityEmpty(const EquityReport& report) {
  return report.rows().empty() && report.gaps().empty() && report.trend().empty();
}

struct TrendPoint {
  absl::CivilDay day;
  double available = 0;
  double contracted = 0;
};

// Daily totals over the regions: the all-roles snapshots when there are
// any (so per-role ones are not counted twice), else every snapshot.
std::vector<TrendPoint> TrendByDay(const EquityReport& report) {
  bool any_all_roles = false;
  for (const auto& snapshot : report.trend()) any_all_roles |= snapshot.role().empty();
  std::map<absl::CivilDay, TrendPoint> by_day;
  for (const CapacitySnapshot& snapshot : report.trend()) {
    if (any_all_roles && !snapshot.role().empty()) continue;
    const absl::CivilDay day = ToCivilDay(snapshot.date());
    TrendPoint& point = by_day[day];
    point.day = day;
    point.available += snapshot.available_hours_per_week();
    point.contracted += snapshot.contracted_hours_per_week();
  }
  std::vector<TrendPoint> points;
  for (const auto& [day, point] : by_day) points.push_back(point);
  return points;
}

std::string EquityTable(const EquityReport& report, absl::Time now) {
  std::string out = TextTitle("Equity report", now);
  out += TextUnreachable(report.unreachable());
  if (EquityEmpty(report)) {
    out += "No data.\n";
    return out;
  }
  out += "\nAvailable hours by region, authority, role and phase (a specialist serving several phases counts in "
         "each):\n";
  if (report.rows().empty()) {
    out += "No data.\n";
  } else {
    std::vector<Row> rows;
    for (const EquityRow& row : report.rows()) {
      rows.push_back({row.region_code(), RegionName(row.region_code()), row.authority(), AuthorityName(row.authority()),
                      row.role(), PhaseName(row.phase()), absl::StrCat(row.specialists()),
                      Num1(row.available_hours_per_week())});
    }
    out += TextTable({"REGION", "REGION NAME", "AUTHORITY", "AUTHORITY NAME", "ROLE", "PHASE", "SPECIALISTS",
                      "AVAILABLE HOURS/WEEK"},
                     rows);
  }
  absl::StrAppend(&out, "\n", GapsTable(report));
  if (!report.trend().empty()) {
    std::vector<Row> rows;
    for (const CapacitySnapshot& snapshot : report.trend()) {
      rows.push_back({DateString(snapshot.date()), snapshot.region_code(),
                      snapshot.role().empty() ? "all" : snapshot.role(), absl::StrCat(snapshot.specialists()),
                      Num1(snapshot.contracted_hours_per_week()), Num1(snapshot.available_hours_per_week())});
    }
    absl::StrAppend(&out, "\nTrend:\n",
                    TextTable({"DATE", "REGION", "ROLE", "SPECIALISTS", "CONTRACTED HOURS/WEEK",
                               "AVAILABLE HOURS/WEEK"},
                              rows));
  }
  return out;
}

std::string EquityCsv(const EquityReport& report) {
  std::string out = JoinCsvFields({"region_code", "region_name", "authority", "authority_name", "role", "phase",
                                   "specialists", "available_hours_per_week"});
  for (const EquityRow& row : report.rows()) {
    out += JoinCsvFields({CsvField(row.region_code()), CsvField(RegionName(row.region_code())),
                          CsvField(row.authority()), CsvField(AuthorityName(row.authority())), CsvField(row.role()),
                          PhaseName(row.phase()), absl::StrCat(row.specialists()),
                          Num1(row.available_hours_per_week())});
  }
  return out;
}

std::vector<std::string> PhaseLabels() {
  std::vector<std::string> labels;
  for (Phase phase : kPhases) labels.push_back(PhaseLabel(phase));
  return labels;
}

std::string EquityHtml(const EquityReport& report, absl::Time now) {
  std::string out = HtmlHead("Equity report", now);
  out += HtmlUnreachable(report.unreachable());
  if (EquityEmpty(report)) {
    out += HtmlEmpty("No data: the report has no capacity figures, gaps or trend.");
    out += HtmlFoot(now);
    return out;
  }

  // Rows by region, then authority (in the report's order).
  std::vector<std::string> region_order;
  std::map<std::string, std::vector<std::string>> authority_order;
  std::map<std::string, std::vector<const EquityRow*>> rows_by_authority;
  double national[5] = {0, 0, 0, 0, 0};
  double national_specialists[5] = {0, 0, 0, 0, 0};
  for (const EquityRow& row : report.rows()) {
    auto& authorities = authority_order[row.region_code()];
    if (authorities.empty()) region_order.push_back(row.region_code());
    auto& rows = rows_by_authority[absl::StrCat(row.region_code(), "/", row.authority())];
    if (rows.empty()) authorities.push_back(row.authority());
    rows.push_back(&row);
    if (const int p = PhaseIndex(row.phase()); p >= 0) {
      national[p] += row.available_hours_per_week();
      national_specialists[p] += row.specialists();
    }
  }
  std::map<std::string, int> all_authorities;
  for (const EquityRow& row : report.rows()) all_authorities[row.authority()]++;
  const std::vector<TrendPoint> trend = TrendByDay(report);

  absl::StrAppend(&out, "<section>\n<h2>Summary</h2>\n",
                  HtmlSummary({{"regions", absl::StrCat(region_order.size())},
                               {"authorities", absl::StrCat(all_authorities.size())},
                               {"coverage gaps", absl::StrCat(report.gaps_size())},
                               {"km radius for gaps", Num1(report.within_km())},
                               {"days of trend", absl::StrCat(trend.size())}}),
                  "<p class=\"note\">Available hours are per week, today. A specialist who serves several phases "
                  "counts in each.</p>\n</section>\n");

  // National comparison of phases.
  absl::StrAppend(&out, "<section>\n<h2>Phases nationally</h2>\n");
  if (report.rows().empty()) {
    out += HtmlEmpty("No data: no capacity figures.");
  } else {
    std::vector<Bar> bars;
    for (int p = 0; p < 5; ++p) {
      bars.push_back({PhaseLabel(kPhases[p]), national[p], absl::StrCat(Compact(national_specialists[p]),
                                                                       " specialists")});
    }
    out += BarChart("Available hours per week by phase, all regions", "available hours/week", bars, false);
  }
  out += "</section>\n";

  // Trend.
  absl::StrAppend(&out, "<section>\n<h2>Trend</h2>\n");
  if (trend.size() >= 2) {
    std::vector<absl::CivilDay> days;
    LineSeries available{"Available hours/week", "available", {}};
    LineSeries contracted{"Contracted hours/week", "contracted", {}};
    for (const TrendPoint& point : trend) {
      days.push_back(point.day);
      available.values.push_back(point.available);
      contracted.values.push_back(point.contracted);
    }
    out += LineChart("Available and contracted hours per week by day", "hours/week", days, {available, contracted});
  } else {
    out += HtmlEmpty("No data for a trend: it needs daily figures for two or more days.");
  }
  out += "</section>\n";

  // Regions.
  for (const auto& region : region_order) {
    absl::StrAppend(&out, "<section>\n<h2>", HtmlEscape(RegionName(region)), "</h2>\n");
    std::vector<BarGroup> groups;
    for (const auto& authority : authority_order[region]) {
      BarGroup group{AuthorityName(authority), std::vector<double>(5, 0)};
      for (const EquityRow* row : rows_by_authority[absl::StrCat(region, "/", authority)]) {
        if (const int p = PhaseIndex(row->phase()); p >= 0) group.values[p] += row->available_hours_per_week();
      }
      groups.push_back(std::move(group));
    }
    out += GroupedBarChart(absl::StrCat("Available hours per week by phase, ", RegionName(region)),
                           "available hours/week", PhaseLabels(), groups, false);
    for (const auto& authority : authority_order[region]) {
      std::vector<Row> rows;
      for (const EquityRow* row : rows_by_authority[absl::StrCat(region, "/", authority)]) {
        rows.push_back({RoleLabel(row->role()), PhaseLabel(row->phase()), absl::StrCat(row->specialists()),
                        Num1(row->available_hours_per_week())});
      }
      absl::StrAppend(&out, "<h3>", HtmlEscape(AuthorityName(authority)), " <span class=\"meta\">",
                      HtmlEscape(authority), "</span></h3>\n",
                      HtmlTable("", {"Role", "Phase", "Specialists", "Available hours/week"}, rows, {2, 3}));
    }
    out += "</section>\n";
  }

  out += GapsHtmlSection(report, true);
  out += HtmlFoot(now);
  return out;
}

}  // namespace

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string RenderUnmetNeed(const registry::v1::UnmetNeedReport& report, ReportFormat format,
                            absl::Time generated_at) {
  switch (format) {
    case ReportFormat::kCsv: return UnmetCsv(report, generated_at);
    case ReportFormat::kHtml: return UnmetHtml(report, generated_at);
    case ReportFormat::kTable: break;
  }
  return UnmetTable(report, generated_at);
}

std::string RenderEquity(const registry::v1::EquityReport& report, ReportFormat format, absl::Time generated_at) {
  switch (format) {
    case ReportFormat::kCsv: return EquityCsv(report);
    case ReportFormat::kHtml: return EquityHtml(report, generated_at);
    case ReportFormat::kTable: break;
  }
  return EquityTable(report, generated_at);
}

std::string RenderGaps(const registry::v1::EquityReport& report, ReportFormat format, absl::Time generated_at) {
  switch (format) {
    case ReportFormat::kCsv: return GapsCsv(report);
    case ReportFormat::kHtml: return GapsHtml(report, generated_at);
    case ReportFormat::kTable: break;
  }
  std::string out = TextTitle("Coverage gaps report", generated_at);
  out += TextUnreachable(report.unreachable());
  if (report.gaps().empty() && report.rows().empty()) return out + "No data.\n";
  return out + GapsTable(report);
}

}  // namespace expertise::expertctl
