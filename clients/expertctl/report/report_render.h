#ifndef EXPERTISE_CLIENTS_EXPERTCTL_REPORT_REPORT_RENDER_H_
#define EXPERTISE_CLIENTS_EXPERTCTL_REPORT_REPORT_RENDER_H_

// Renders the coordinator's reports (unmet need, equity, coverage gaps) as
// aligned plain text, RFC 4180 CSV, or one self-contained HTML5 page.
//
// The HTML page opens offline: its style is inline, it needs no script, and
// it refers to no external URL (no fonts, images or stylesheets from the
// network). Charts are inline SVG (role="img" with an aria-label, a <title>
// tooltip on every bar and point). Every piece of text that comes from the
// report goes through HtmlEscape.
//
// CSV holds one kind of row per report, so it stays loadable by any
// spreadsheet:
//   unmet:  one row per request; the groups (totals by region, authority,
//           role, specialism and setting) are in the table and HTML output
//           only, as a second section would break the CSV.
//   equity: one row per EquityRow; gaps and trend are in table/HTML only.
//   gaps:   one row per CoverageGap.
// Regions a directory could not reach (`unreachable`) are named in the table
// and HTML output only.
//
// Names of regions and authorities come from ReferenceData; an unknown code
// is shown as it is.

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/sharing.pb.h"
#include "services/common/csv.h"  // CsvField, for the text cells of the CSV renderings

namespace expertise::expertctl {

enum class ReportFormat { kTable, kCsv, kHtml };

// Each returns the whole output text. `generated_at` is printed in the HTML
// and table headers and is "now" for open days (injectable for tests).
std::string RenderUnmetNeed(const registry::v1::UnmetNeedReport& report, ReportFormat format,
                            absl::Time generated_at);
std::string RenderEquity(const registry::v1::EquityReport& report, ReportFormat format,
                         absl::Time generated_at);
std::string RenderGaps(const registry::v1::EquityReport& report, ReportFormat format,
                       absl::Time generated_at);

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(absl::string_view text);

}  // namespace expertise::expertctl

#endif  // EXPERTISE_CLIENTS_EXPERTCTL_REPORT_REPORT_RENDER_H_
