// Report rendering for expertctl: plain-text tables, CSV and the
// self-contained HTML page with SVG charts.

#include "clients/expertctl/report/report_render.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string_view>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace expertise::expertctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using registry::v1::EquityReport;
using registry::v1::UnmetNeedReport;

constexpr char kHostile[] = "<script>alert(1)</script>";
constexpr char kHostileEscaped[] = "&lt;script&gt;alert(1)&lt;/script&gt;";

absl::Time Now() { return absl::FromCivil(absl::CivilSecond(2025, 3, 14, 9, 30, 0), absl::UTCTimeZone()); }

void SetTime(google::protobuf::Timestamp* ts, absl::Time time) { ts->set_seconds(absl::ToUnixSeconds(time)); }

std::vector<std::string> Lines(const std::string& text, const char* separator = "\n") {
  std::vector<std::string> lines = absl::StrSplit(text, separator);
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// Checks that every non-void element is closed in order; returns the first
// problem or "".
std::string TagBalance(const std::string& html) {
  static const std::vector<std::string> kVoid = {"meta", "br", "hr", "img", "link", "input"};
  std::vector<std::string> stack;
  size_t at = 0;
  while ((at = html.find('<', at)) != std::string::npos) {
    const size_t end = html.find('>', at);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(at);
    std::string tag = html.substr(at + 1, end - at - 1);
    at = end + 1;
    if (tag.empty() || tag[0] == '!') continue;
    const bool closing = tag[0] == '/';
    const bool self_closing = tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" /\n"));
    if (closing) {
      if (stack.empty() || stack.back() != name) {
        return "</" + name + "> does not close <" + (stack.empty() ? "" : stack.back()) + ">";
      }
      stack.pop_back();
    } else if (!self_closing && std::find(kVoid.begin(), kVoid.end(), name) == kVoid.end()) {
      stack.push_back(name);
    }
  }
  if (!stack.empty()) return "<" + stack.back() + "> never closed";
  return "";
}

// What every HTML report must satisfy.
void ExpectSelfContainedHtml(const std::string& html) {
  EXPECT_THAT(html, ::testing::StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, HasSubstr("<style>"));
  EXPECT_EQ(Count(html, "<svg"), Count(html, "</svg>"));
  EXPECT_EQ(TagBalance(html), "");
  // Every chart is accessible.
  EXPECT_EQ(Count(html, "<svg"), Count(html, "<svg role=\"img\" aria-label=\""));
  EXPECT_THAT(html, HasSubstr("no child&#39;s personal data"));
  EXPECT_THAT(html, HasSubstr("2025-03-14T09:30:00Z"));
}

// The widths of the bars (class "bar") whose tooltip starts with `label`.
std::vector<double> BarWidths(const std::string& html, const std::string& label) {
  std::vector<double> widths;
  constexpr std::string_view kBar = "<rect class=\"bar\" ";
  for (size_t at = html.find(kBar); at != std::string::npos; at = html.find(kBar, at + 1)) {
    const size_t end = html.find("</title>", at);
    if (end == std::string::npos) break;
    const std::string element = html.substr(at, end - at);
    const size_t width = element.find(" width=\"");
    const size_t title = element.find("><title>");
    if (width == std::string::npos || title == std::string::npos) continue;
    if (element.compare(title + 8, label.size() + 1, label + ":") != 0) continue;
    widths.push_back(std::stod(element.substr(width + 8, element.find('"', width + 8) - (width + 8))));
  }
  return widths;
}

// The points of the polyline with the given class.
std::vector<std::string> PolylinePoints(const std::string& html, const std::string& css_class) {
  const std::string start = "<polyline class=\"" + css_class + "\" points=\"";
  const size_t at = html.find(start);
  if (at == std::string::npos) return {};
  const size_t from = at + start.size();
  return absl::StrSplit(html.substr(from, html.find('"', from) - from), ' ', absl::SkipEmpty());
}

UnmetNeedReport SampleUnmet() {
  UnmetNeedReport report;
  auto* a = report.add_requests();
  a->set_name("regions/north-east/supportRequests/r1");
  a->set_requesting_authority("E06000001");  // Hartlepool
  a->set_region_code("E12000001");
  a->set_role("educational-psychologist");
  a->add_specialisms("autism");
  a->add_specialisms("semh");
  a->set_setting("mainstream-primary");
  a->set_hours_per_week(7.5);
  a->set_weeks(12);
  a->set_escalation_owner("coordinator/E12000001");
  a->set_state_reason("no offer before the deadline");
  SetTime(a->mutable_create_time(), Now() - absl::Hours(24 * 10 + 5));

  auto* b = report.add_requests();
  b->set_name("regions/london/supportRequests/r2");
  b->set_requesting_authority(kHostile);  // not a GSS code: shown as given
  b->set_region_code("E12000007");
  b->set_role("speech-language-therapist");
  b->set_setting("home");
  b->set_hours_per_week(3);
  b->set_weeks(6);
  b->set_escalation_owner("coordinator/E12000007");
  b->set_state_reason("=HYPERLINK(\"x\",\"click\")");
  SetTime(b->mutable_create_time(), Now() - absl::Hours(24 * 2));

  auto* g1 = report.add_groups();
  g1->set_dimension("region");
  g1->set_key("E12000001");
  g1->set_requests(10);
  g1->set_hours_per_week(75);
  g1->set_oldest_open_days(10);
  auto* g2 = report.add_groups();
  g2->set_dimension("region");
  g2->set_key("E12000007");
  g2->set_requests(20);
  g2->set_hours_per_week(60);
  g2->set_oldest_open_days(2);
  auto* g3 = report.add_groups();
  g3->set_dimension("role");
  g3->set_key("educational-psychologist");
  g3->set_requests(1);
  g3->set_hours_per_week(7.5);
  g3->set_oldest_open_days(10);
  return report;
}

registry::v1::EquityRow* AddRow(EquityReport* report, const std::string& region, const std::string& authority,
                                const std::string& role, registry::v1::Phase phase, int specialists,
                                double hours) {
  auto* row = report->add_rows();
  row->set_region_code(region);
  row->set_authority(authority);
  row->set_role(role);
  row->set_phase(phase);
  row->set_specialists(specialists);
  row->set_available_hours_per_week(hours);
  return row;
}

void AddSnapshot(EquityReport* report, int day, double contracted, double available) {
  auto* snapshot = report->add_trend();
  snapshot->mutable_date()->set_year(2025);
  snapshot->mutable_date()->set_month(3);
  snapshot->mutable_date()->set_day(day);
  snapshot->set_region_code("E12000001");
  snapshot->set_specialists(40);
  snapshot->set_contracted_hours_per_week(contracted);
  snapshot->set_available_hours_per_week(available);
}

EquityReport SampleEquity() {
  EquityReport report;
  report.set_within_km(40);
  AddRow(&report, "E12000001", "E06000001", "educational-psychologist", registry::v1::PHASE_EARLY_YEARS_PVI, 3, 12.5);
  AddRow(&report, "E12000001", "E06000001", "educational-psychologist", registry::v1::PHASE_SCHOOLS, 5, 20);
  AddRow(&report, "E12000001", "E06000047", "speech-language-therapist", registry::v1::PHASE_POST_16, 1, 2);
  AddRow(&report, "E12000007", "E09000002", "aac-specialist", registry::v1::PHASE_EARLY_YEARS_MAINTAINED, 2, 10);
  AddRow(&report, "E12000007", kHostile, "aac-specialist", registry::v1::PHASE_OTHER, 1, 4);
  auto* gap = report.add_gaps();
  gap->set_authority("E06000001");
  gap->set_authority_name("Hartlepool");
  gap->set_region_code("E12000001");
  gap->set_role("aac-specialist");
  gap->set_nearest_km(52.26);
  gap->set_nearest_found(true);
  gap = report.add_gaps();
  gap->set_authority("E09000002");
  gap->set_authority_name("Barking & Dagenham \"East\"");
  gap->set_region_code("E12000007");
  gap->set_role("orthoptist");
  gap->set_nearest_found(false);
  gap = report.add_gaps();
  gap->set_authority("E09000001");
  gap->set_authority_name(kHostile);
  gap->set_region_code("E12000007");
  gap->set_role("aac-specialist");
  gap->set_nearest_km(41);
  gap->set_nearest_found(true);
  AddSnapshot(&report, 10, 300, 120);
  AddSnapshot(&report, 11, 310, 118.5);
  AddSnapshot(&report, 13, 305, 90);
  return report;
}

// ---------------------------------------------------------------------------

TEST(HtmlEscapeTest, EscapesMarkupCharacters) {
  EXPECT_EQ(HtmlEscape("plain text"), "plain text");
  EXPECT_EQ(HtmlEscape("a < b & c > \"d\" 'e'"), "a &lt; b &amp; c &gt; &quot;d&quot; &#39;e&#39;");
  EXPECT_EQ(HtmlEscape(kHostile), kHostileEscaped);
  EXPECT_EQ(HtmlEscape("&amp;"), "&amp;amp;");
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(CsvFieldTest, QuotesPerRfc4180) {
  EXPECT_EQ(CsvField("Hartlepool"), "Hartlepool");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("Bournemouth, Christchurch and Poole"), "\"Bournemouth, Christchurch and Poole\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(CsvField("it's fine"), "it's fine");
}

TEST(CsvFieldTest, NeutralisesFormulas) {
  EXPECT_EQ(CsvField("=1+1"), "'=1+1");
  EXPECT_EQ(CsvField("+44 20"), "'+44 20");
  EXPECT_EQ(CsvField("-2"), "'-2");
  EXPECT_EQ(CsvField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvField("\tcmd"), "'\tcmd");
  EXPECT_EQ(CsvField("\rcmd"), "\"'\rcmd\"");
  EXPECT_EQ(CsvField("=HYPERLINK(\"x\",\"y\")"), "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
  // Only the first character matters.
  EXPECT_EQ(CsvField("a=b"), "a=b");
  EXPECT_EQ(CsvField("post-16"), "post-16");
}

// ---------------------------------------------------------------------------
// Unmet need.

TEST(UnmetNeedTest, TableIsAlignedWithValues) {
  const std::string text = RenderUnmetNeed(SampleUnmet(), ReportFormat::kTable, Now());
  const auto lines = Lines(text);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], "Unmet need report (generated 2025-03-14T09:30:00Z)");
  // Find the request table's header and its two rows.
  size_t header = 0;
  while (header < lines.size() && lines[header].rfind("NAME ", 0) != 0) ++header;
  ASSERT_LT(header + 2, lines.size());
  const std::string& h = lines[header];
  const std::string& r1 = lines[header + 1];
  const std::string& r2 = lines[header + 2];
  EXPECT_THAT(r1, HasSubstr("regions/north-east/supportRequests/r1"));
  EXPECT_THAT(r2, HasSubstr("regions/london/supportRequests/r2"));
  // Columns start at the same offset on every line.
  for (const char* column : {"REGION", "AUTHORITY", "ROLE", "HOURS/WEEK", "WEEKS", "OPEN DAYS", "OWNER"}) {
    SCOPED_TRACE(column);
    const size_t at = h.find(std::string(" ") + column + " ") + 1;
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(r1[at - 1], ' ');
    EXPECT_NE(r1[at], ' ');
    EXPECT_NE(r2[at], ' ');
  }
  const size_t region = h.find(" REGION ") + 1;
  EXPECT_EQ(r1.substr(region, 9), "E12000001");
  EXPECT_EQ(r2.substr(region, 9), "E12000007");
  const size_t hours = h.find("HOURS/WEEK");
  EXPECT_EQ(r1.substr(hours, 4), "7.5 ");
  EXPECT_EQ(r2.substr(hours, 4), "3.0 ");
  const size_t open = h.find("OPEN DAYS");
  EXPECT_EQ(r1.substr(open, 3), "10 ");
  EXPECT_EQ(r2.substr(open, 2), "2 ");
  EXPECT_THAT(r1, HasSubstr("autism;semh"));
  // An empty cell shows as "-" so columns stay countable.
  EXPECT_THAT(r2, HasSubstr(" - "));
  // Groups come after the requests, with names.
  EXPECT_THAT(text, HasSubstr("Groups:"));
  EXPECT_THAT(text, HasSubstr("North East"));
  EXPECT_THAT(text, HasSubstr("Educational psychologist"));
}

TEST(UnmetNeedTest, CsvHasOneRowPerRequestAndNoGroups) {
  const std::string csv = RenderUnmetNeed(SampleUnmet(), ReportFormat::kCsv, Now());
  const auto lines = Lines(csv, "\r\n");
  ASSERT_EQ(lines.size(), 3u) << csv;
  EXPECT_EQ(lines[0],
            "name,region,requesting_authority,role,specialisms,setting,hours_per_week,weeks,open_days,"
            "escalation_owner,state_reason");
  EXPECT_EQ(lines[1],
            "regions/north-east/supportRequests/r1,E12000001,E06000001,educational-psychologist,autism;semh,"
            "mainstream-primary,7.5,12,10,coordinator/E12000001,no offer before the deadline");
  EXPECT_EQ(lines[2],
            "regions/london/supportRequests/r2,E12000007,<script>alert(1)</script>,speech-language-therapist,,"
            "home,3.0,6,2,coordinator/E12000007,\"'=HYPERLINK(\"\"x\"\",\"\"click\"\")\"");
  EXPECT_THAT(csv, Not(HasSubstr("oldest")));
}

TEST(UnmetNeedTest, TableCellsStayOnOneLine) {
  UnmetNeedReport report = SampleUnmet();
  report.mutable_requests(0)->set_state_reason("line one\nline two\t\x1b[31mred");
  const std::string text = RenderUnmetNeed(report, ReportFormat::kTable, Now());
  EXPECT_THAT(text, HasSubstr("line one line two  [31mred"));
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
  EXPECT_THAT(text, Not(HasSubstr("\t")));
}

TEST(UnmetNeedTest, HtmlIsSelfContainedAndEscaped) {
  const std::string html = RenderUnmetNeed(SampleUnmet(), ReportFormat::kHtml, Now());
  ExpectSelfContainedHtml(html);
  EXPECT_THAT(html, Not(HasSubstr(kHostile)));
  EXPECT_THAT(html, HasSubstr(kHostileEscaped));
  EXPECT_THAT(html, HasSubstr("Unmet requests by region"));
  EXPECT_THAT(html, HasSubstr("Unmet requests by role"));
  EXPECT_EQ(Count(html, "<svg"), 2);
  // Summary, groups and requests with open days and owner.
  EXPECT_THAT(html, HasSubstr("<strong>2</strong>unmet requests"));
  EXPECT_THAT(html, HasSubstr("<strong>10.5</strong>hours per week unmet"));
  EXPECT_THAT(html, HasSubstr("<td>coordinator/E12000001</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"n\">10</td>"));
  EXPECT_THAT(html, HasSubstr("Hartlepool (E06000001)"));
  EXPECT_THAT(html, HasSubstr("<td>region</td><td>E12000007</td><td>London</td>"));
}

TEST(UnmetNeedTest, BarLengthsAreProportional) {
  const std::string html = RenderUnmetNeed(SampleUnmet(), ReportFormat::kHtml, Now());
  const auto north_east = BarWidths(html, "North East");
  const auto london = BarWidths(html, "London");
  ASSERT_EQ(north_east.size(), 1u);
  ASSERT_EQ(london.size(), 1u);
  ASSERT_GT(london[0], 0);
  EXPECT_NEAR(north_east[0] / london[0], 0.5, 1e-3);
}

TEST(UnmetNeedTest, CountsFromRequestsWhenNoGroups) {
  UnmetNeedReport report = SampleUnmet();
  report.clear_groups();
  const std::string html = RenderUnmetNeed(report, ReportFormat::kHtml, Now());
  ExpectSelfContainedHtml(html);
  const auto north_east = BarWidths(html, "North East");
  const auto london = BarWidths(html, "London");
  ASSERT_EQ(north_east.size(), 1u);
  ASSERT_EQ(london.size(), 1u);
  EXPECT_DOUBLE_EQ(north_east[0], london[0]);
  EXPECT_THAT(html, Not(HasSubstr("<h2>Groups</h2>")));
}

TEST(UnmetNeedTest, EmptyReportSaysSo) {
  const UnmetNeedReport empty;
  const std::string html = RenderUnmetNeed(empty, ReportFormat::kHtml, Now());
  ExpectSelfContainedHtml(html);
  EXPECT_THAT(html, HasSubstr("No unmet need recorded"));
  EXPECT_THAT(html, Not(HasSubstr("<svg")));
  EXPECT_THAT(html, Not(HasSubstr("<table")));
  EXPECT_THAT(RenderUnmetNeed(empty, ReportFormat::kTable, Now()), HasSubstr("No unmet need recorded."));
  EXPECT_EQ(Lines(RenderUnmetNeed(empty, ReportFormat::kCsv, Now()), "\r\n").size(), 1u);
}

TEST(UnmetNeedTest, NamesUnreachableRegions) {
  UnmetNeedReport report = SampleUnmet();
  report.add_unreachable("E12000009");
  EXPECT_THAT(RenderUnmetNeed(report, ReportFormat::kTable, Now()),
              HasSubstr("warning: no answer from South West"));
  EXPECT_THAT(RenderUnmetNeed(report, ReportFormat::kHtml, Now()), HasSubstr("No answer from South West"));
}

// ---------------------------------------------------------------------------
// Equity.

TEST(EquityTest, TableIsAlignedWithValues) {
  const std::string text = RenderEquity(SampleEquity(), ReportFormat::kTable, Now());
  const auto lines = Lines(text);
  EXPECT_EQ(lines[0], "Equity report (generated 2025-03-14T09:30:00Z)");
  size_t header = 0;
  while (header < lines.size() && lines[header].rfind("REGION ", 0) != 0) ++header;
  ASSERT_LT(header + 5, lines.size());
  const std::string& h = lines[header];
  const size_t phase = h.find("PHASE");
  const size_t hours = h.find("AVAILABLE HOURS/WEEK");
  const size_t name = h.find("AUTHORITY NAME");
  EXPECT_EQ(lines[header + 1].substr(phase, 16), "early-years-pvi ");
  EXPECT_EQ(lines[header + 1].substr(hours), "12.5");
  EXPECT_EQ(lines[header + 1].substr(name, 11), "Hartlepool ");
  EXPECT_EQ(lines[header + 2].substr(hours), "20.0");
  EXPECT_EQ(lines[header + 3].substr(name, 14), "County Durham ");
  EXPECT_EQ(lines[header + 4].substr(phase, 23), "early-years-maintained ");
  EXPECT_EQ(lines[header + 5].substr(phase, 6), "other ");
  // Gaps and trend follow.
  EXPECT_THAT(text, HasSubstr("Coverage gaps (no specialist of the role within 40.0 km): 3"));
  EXPECT_THAT(text, HasSubstr("52.3"));
  EXPECT_THAT(text, HasSubstr("2025-03-13"));
}

TEST(EquityTest, CsvHasOneRowPerEquityRow) {
  const std::string csv = RenderEquity(SampleEquity(), ReportFormat::kCsv, Now());
  const auto lines = Lines(csv, "\r\n");
  ASSERT_EQ(lines.size(), 6u) << csv;
  EXPECT_EQ(lines[0],
            "region_code,region_name,authority,authority_name,role,phase,specialists,available_hours_per_week");
  EXPECT_EQ(lines[1], "E12000001,North East,E06000001,Hartlepool,educational-psychologist,early-years-pvi,3,12.5");
  EXPECT_EQ(lines[3], "E12000001,North East,E06000047,County Durham,speech-language-therapist,post-16,1,2.0");
  EXPECT_EQ(lines[4], "E12000007,London,E09000002,Barking and Dagenham,aac-specialist,early-years-maintained,2,10.0");
  EXPECT_THAT(lines[5], HasSubstr(",other,1,4.0"));
}

TEST(EquityTest, HtmlHasChartsPerRegionTrendAndGaps) {
  const std::string html = RenderEquity(SampleEquity(), ReportFormat::kHtml, Now());
  ExpectSelfContainedHtml(html);
  EXPECT_THAT(html, Not(HasSubstr(kHostile)));
  EXPECT_THAT(html, HasSubstr(kHostileEscaped));
  EXPECT_THAT(html, HasSubstr("Barking &amp; Dagenham &quot;East&quot;"));
  // National phases, trend, one grouped chart per region, gaps by role.
  EXPECT_EQ(Count(html, "<svg"), 5);
  EXPECT_THAT(html, HasSubstr("Available hours per week by phase, North East"));
  EXPECT_THAT(html, HasSubstr("Available hours per week by phase, London"));
  for (const char* phase : {"Early years (maintained)", "Early years (PVI)", "Schools", "Post-16",
                            "Other (home and community)"}) {
    EXPECT_THAT(html, HasSubstr(phase));
  }
  // A table per authority.
  EXPECT_THAT(html, HasSubstr("<h3>Hartlepool <span class=\"meta\">E06000001</span></h3>"));
  EXPECT_THAT(html, HasSubstr("<h3>County Durham"));
  EXPECT_THAT(html, HasSubstr("<h2>Coverage gaps</h2>"));
  EXPECT_THAT(html, HasSubstr("52.3 km"));
  EXPECT_THAT(html, HasSubstr("none found"));
  // National phase bars: schools 20 and early years maintained 10.
  const auto schools = BarWidths(html, "Schools");
  const auto maintained = BarWidths(html, "Early years (maintained)");
  ASSERT_EQ(schools.size(), 1u);
  ASSERT_EQ(maintained.size(), 1u);
  EXPECT_NEAR(maintained[0] / schools[0], 0.5, 1e-3);
}

TEST(EquityTest, TrendPolylineHasAPointPerDay) {
  const std::string html = RenderEquity(SampleEquity(), ReportFormat::kHtml, Now());
  const auto available = PolylinePoints(html, "available");
  const auto contracted = PolylinePoints(html, "contracted");
  ASSERT_EQ(available.size(), 3u);
  ASSERT_EQ(contracted.size(), 3u);
  // Days are spaced by date: 10, 11, 13 March.
  auto x = [](const std::string& point) { return std::stod(point.substr(0, point.find(','))); };
  auto y = [](const std::string& point) { return std::stod(point.substr(point.find(',') + 1)); };
  EXPECT_NEAR((x(available[1]) - x(available[0])) * 2, x(available[2]) - x(available[1]), 0.2);
  // Less available hours is lower on the chart (larger y).
  EXPECT_LT(y(available[0]), y(available[2]));
  // Contracted hours are above available hours.
  EXPECT_LT(y(contracted[0]), y(available[0]));
  EXPECT_EQ(Count(html, "<circle"), 6);
}

TEST(EquityTest, TrendNeedsTwoDays) {
  EquityReport report = SampleEquity();
  report.mutable_trend()->DeleteSubrange(1, 2);
  const std::string html = RenderEquity(report, ReportFormat::kHtml, Now());
  ExpectSelfContainedHtml(html);
  EXPECT_THAT(html, Not(HasSubstr("<polyline")));
  EXPECT_THAT(html, HasSubstr("No data for a trend"));
}

TEST(EquityTest, TrendSumsRegionsPerDay) {
  EquityReport report;
  AddSnapshot(&report, 1, 100, 50);
  AddSnapshot(&report, 1, 100, 50);  // a second region on the same day
  AddSnapshot(&report, 2, 100, 40);
  auto* per_role = report.add_trend();  // ignored: all-roles totals exist
  *per_role->mutable_date() = report.trend(0).date();
  per_role->set_role("aac-specialist");
  per_role->set_available_hours_per_week(1000);
  const std::string html = RenderEquity(report, ReportFormat::kHtml, Now());
  EXPECT_EQ(PolylinePoints(html, "available").size(), 2u);
  EXPECT_THAT(html, HasSubstr("2025-03-01: Available hours/week 100.0 hours/week"));
  EXPECT_THAT(html, Not(HasSubstr("1000")));
}

TEST(EquityTest, EmptyReportSaysNoData) {
  const EquityReport empty;
  const std::string html = RenderEquity(empty, ReportFormat::kHtml, Now());
  ExpectSelfContainedHtml(html);
  EXPECT_THAT(html, HasSubstr("No data"));
  EXPECT_THAT(html, Not(HasSubstr("<svg")));
  EXPECT_THAT(RenderEquity(empty, ReportFormat::kTable, Now()), HasSubstr("No data."));
  EXPECT_EQ(Lines(RenderEquity(empty, ReportFormat::kCsv, Now()), "\r\n").size(), 1u);
}

// ---------------------------------------------------------------------------
// Gaps.

TEST(GapsTest, TableAndCsv) {
  const EquityReport report = SampleEquity();
  const auto lines = Lines(RenderGaps(report, ReportFormat::kTable, Now()));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "Coverage gaps report (generated 2025-03-14T09:30:00Z)");
  const std::string& h = lines[2];
  EXPECT_EQ(h.rfind("REGION ", 0), 0u);
  const size_t nearest = h.find("NEAREST KM");
  EXPECT_EQ(lines[3].substr(nearest), "52.3");
  EXPECT_EQ(lines[4].substr(nearest), "none");
  EXPECT_EQ(lines[5].substr(nearest), "41.0");

  const auto csv = Lines(RenderGaps(report, ReportFormat::kCsv, Now()), "\r\n");
  EXPECT_THAT(csv, ElementsAre("region_code,region_name,authority,authority_name,role,nearest_km,nearest_found",
                               "E12000001,North East,E06000001,Hartlepool,aac-specialist,52.3,true",
                               "E12000007,London,E09000002,\"Barking & Dagenham \"\"East\"\"\",orthoptist,,false",
                               "E12000007,London,E09000001,<script>alert(1)</script>,aac-specialist,41.0,true"));
}

TEST(GapsTest, HtmlCountsPerRoleAndTablesByRegion) {
  const std::string html = RenderGaps(SampleEquity(), ReportFormat::kHtml, Now());
  ExpectSelfContainedHtml(html);
  EXPECT_THAT(html, Not(HasSubstr(kHostile)));
  EXPECT_THAT(html, HasSubstr(kHostileEscaped));
  EXPECT_EQ(Count(html, "<svg"), 1);
  const auto aac = BarWidths(html, "AAC specialist");
  const auto orthoptist = BarWidths(html, "Orthoptist");
  ASSERT_EQ(aac.size(), 1u);
  ASSERT_EQ(orthoptist.size(), 1u);
  EXPECT_NEAR(orthoptist[0] / aac[0], 0.5, 1e-3);
  EXPECT_THAT(html, HasSubstr("<h3>North East (1)</h3>"));
  EXPECT_THAT(html, HasSubstr("<h3>London (2)</h3>"));
}

TEST(GapsTest, EmptyReportSaysNoData) {
  const EquityReport empty;
  const std::string html = RenderGaps(empty, ReportFormat::kHtml, Now());
  ExpectSelfContainedHtml(html);
  EXPECT_THAT(html, HasSubstr("No data"));
  EXPECT_THAT(html, Not(HasSubstr("<svg")));
  EXPECT_THAT(RenderGaps(empty, ReportFormat::kTable, Now()), HasSubstr("No data."));
  // Capacity figures but no gaps: good news, said plainly.
  EquityReport covered;
  covered.set_within_km(25);
  AddRow(&covered, "E12000001", "E06000001", "aac-specialist", registry::v1::PHASE_SCHOOLS, 1, 5);
  EXPECT_THAT(RenderGaps(covered, ReportFormat::kHtml, Now()), HasSubstr("No coverage gaps within 25.0 km."));
  EXPECT_THAT(RenderGaps(covered, ReportFormat::kTable, Now()), HasSubstr("No coverage gaps within 25.0 km."));
}

// Writes sample output when REPORT_SAMPLE_DIR is set, to look at by eye.
TEST(SampleTest, WritesSamplesOnRequest) {
  const char* dir = std::getenv("REPORT_SAMPLE_DIR");
  if (dir == nullptr) GTEST_SKIP() << "REPORT_SAMPLE_DIR not set";
  std::ofstream(std::string(dir) + "/equity.html") << RenderEquity(SampleEquity(), ReportFormat::kHtml, Now());
  std::ofstream(std::string(dir) + "/unmet.html") << RenderUnmetNeed(SampleUnmet(), ReportFormat::kHtml, Now());
  std::ofstream(std::string(dir) + "/gaps.html") << RenderGaps(SampleEquity(), ReportFormat::kHtml, Now());
  std::ofstream(std::string(dir) + "/unmet.txt") << RenderUnmetNeed(SampleUnmet(), ReportFormat::kTable, Now());
  std::ofstream(std::string(dir) + "/equity.txt") << RenderEquity(SampleEquity(), ReportFormat::kTable, Now());
  std::ofstream(std::string(dir) + "/gaps.csv") << RenderGaps(SampleEquity(), ReportFormat::kCsv, Now());
}

}  // namespace
}  // namespace expertise::expertctl
