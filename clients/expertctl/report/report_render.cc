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
#include "clients/expertctl/report/report_html.h"
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

using html::Bar;
using html::HtmlEmpty;
using html::HtmlFoot;
using html::HtmlHead;
using html::HtmlSummary;
using html::HtmlTable;
using html::Rfc3339;
using html::SummaryItem;
using html::BarChart;
using html::BarGroup;
using html::Compact;
using html::DisplayWidth;
using html::GroupedBarChart;
using html::LineChart;
using html::LineSeries;
using html::Num1;
using html::Shorten;
using html::SortedDescending;

// ---------------------------------------------------------------------------
// Small formatting helpers.

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


std::string HtmlUnreachable(const google::protobuf::RepeatedPtrField<std::string>& regions) {
  if (regions.empty()) return "";
  std::vector<std::string> names;
  for (const auto& code : regions) names.push_back(HtmlEscape(RegionName(code)));
  return absl::StrCat("<p class=\"warning\" role=\"alert\">No answer from ", absl::StrJoin(names, ", "),
                      ": their figures are missing from this report.</p>\n");
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
