// expertctl report: the coordinator's reports (unmet need, equity, coverage
// gaps) as a table, CSV, JSON or one self-contained HTML page.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clients/expertctl/commands/commands.h"
#include "clients/expertctl/report/report_render.h"
#include "expertise/registry/v1/sharing_service.grpc.pb.h"

namespace expertise::expertctl {
namespace {

namespace rv1 = registry::v1;
using SharingStub = rv1::CapacitySharingService::Stub;

struct ReportOptions {
  std::string region = "-";
  std::string output;  // table, csv, html or json; empty: the global -o
  std::string out_file;
  double within_km = 0;
  std::vector<std::string> roles;
  int trend_days = 0;
};

std::string Parent(const std::string& region) {
  return absl::StartsWith(region, "regions/") ? region : "regions/" + region;
}

// Writes `text` to `path` atomically: a temporary file in the same folder,
// flushed and closed, then renamed over `path`.
bool WriteAtomically(const std::string& path, const std::string& text, std::string* error) {
  const std::string temp = absl::StrCat(path, ".tmp-", getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      *error = absl::StrCat("cannot create ", temp, ": ", std::strerror(errno));
      return false;
    }
    out << text;
    out.flush();
    if (!out) {
      *error = absl::StrCat("cannot write ", temp, ": ", std::strerror(errno));
      std::remove(temp.c_str());
      return false;
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    *error = absl::StrCat("cannot rename ", temp, " to ", path, ": ", std::strerror(errno));
    std::remove(temp.c_str());
    return false;
  }
  return true;
}

// Renders (or prints as JSON) and writes to --out or standard output.
int Emit(const Context& ctx, const std::string& verb, const ReportOptions& o,
         const google::protobuf::Message& report,
         const std::function<std::string(ReportFormat)>& render) {
  std::string format = o.output;
  if (format.empty()) format = ctx.global.output;
  std::string text;
  if (format == "json") {
    std::ostringstream json;
    PrintJson(report, json);
    text = json.str();
  } else {
    text = render(format == "csv" ? ReportFormat::kCsv
                  : format == "html" ? ReportFormat::kHtml
                                     : ReportFormat::kTable);
  }
  if (o.out_file.empty() || o.out_file == "-") {
    *ctx.out << text;
    ctx.out->flush();
    return kExitOk;
  }
  std::string error;
  if (!WriteAtomically(o.out_file, text, &error)) {
    *ctx.err << "expertctl: " << verb << ": " << error << "\n";
    return kExitError;
  }
  *ctx.out << o.out_file << "\n";
  return kExitOk;
}

template <typename Request, typename Response>
std::optional<int> SharingCall(const Context& ctx, const std::string& verb,
                               grpc::Status (SharingStub::*method)(grpc::ClientContext*,
                                                                   const Request&, Response*),
                               const Request& request, Response* response) {
  auto stub = rv1::CapacitySharingService::NewStub(ctx.Channel());
  grpc::ClientContext call;
  ctx.Prepare(&call);
  grpc::Status status = ((*stub).*method)(&call, request, response);
  if (status.ok()) return std::nullopt;
  return ctx.Fail(verb, status);
}

int RunUnmet(const Context& ctx, const ReportOptions& o) {
  const std::string verb = "report unmet";
  rv1::GetUnmetNeedReportRequest request;
  request.set_parent(Parent(o.region));
  rv1::UnmetNeedReport report;
  if (auto failed = SharingCall(ctx, verb, &SharingStub::GetUnmetNeedReport, request, &report)) {
    return *failed;
  }
  WarnUnreachable(ctx, verb, report.unreachable());
  const absl::Time now = absl::Now();
  return Emit(ctx, verb, o, report,
              [&](ReportFormat f) { return RenderUnmetNeed(report, f, now); });
}

int RunEquity(const Context& ctx, const ReportOptions& o, bool gaps) {
  const std::string verb = gaps ? "report gaps" : "report equity";
  rv1::GetEquityReportRequest request;
  request.set_parent(Parent(o.region));
  request.set_within_km(o.within_km);
  for (const auto& role : o.roles) request.add_roles(role);
  request.set_trend_days(o.trend_days);
  rv1::EquityReport report;
  if (auto failed = SharingCall(ctx, verb, &SharingStub::GetEquityReport, request, &report)) {
    return *failed;
  }
  WarnUnreachable(ctx, verb, report.unreachable());
  const absl::Time now = absl::Now();
  return Emit(ctx, verb, o, report, [&](ReportFormat f) {
    return gaps ? RenderGaps(report, f, now) : RenderEquity(report, f, now);
  });
}

void AddCommon(CLI::App* cmd, ReportOptions* o) {
  cmd->add_option("--region", o->region, "Region id; default '-' means every region the server holds");
  cmd->add_option("-o,--output", o->output,
                  "table, csv, html (one self-contained page) or json; default the global -o")
      ->check(CLI::IsMember({"table", "csv", "html", "json"}));
  cmd->add_option("--out", o->out_file,
                  "Write to this file (atomically) and print its path; default standard output");
}

}  // namespace

void SetupReport(CLI::App& app, const Context& ctx, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("report", "The coordinator's reports: unmet need, equity, gaps");
  cmd->require_subcommand(1);

  auto unmet = std::make_shared<ReportOptions>();
  CLI::App* u = cmd->add_subcommand(
      "unmet", "Every UNMET request, with totals by region, authority, role, specialism and setting");
  AddCommon(u, unmet.get());
  u->callback([&ctx, unmet, exit_code] { *exit_code = RunUnmet(ctx, *unmet); });

  auto equity = std::make_shared<ReportOptions>();
  CLI::App* e = cmd->add_subcommand(
      "equity", "Specialists and available hours by authority, role and phase; gaps; daily trend");
  AddCommon(e, equity.get());
  e->add_option("--within-km", equity->within_km, "Radius for coverage gaps in km (default 30)");
  e->add_option("--role", equity->roles, "Only these roles (repeatable)");
  e->add_option("--trend-days", equity->trend_days, "Days of trend, newest last (default 30)");
  e->callback([&ctx, equity, exit_code] { *exit_code = RunEquity(ctx, *equity, false); });

  auto gaps = std::make_shared<ReportOptions>();
  CLI::App* g = cmd->add_subcommand(
      "gaps", "Authorities with no specialist of a role within the radius, and the nearest one");
  AddCommon(g, gaps.get());
  g->add_option("--within-km", gaps->within_km, "Radius in km (default 30)");
  g->add_option("--role", gaps->roles, "Only these roles (repeatable)");
  g->callback([&ctx, gaps, exit_code] { *exit_code = RunEquity(ctx, *gaps, true); });
}

}  // namespace expertise::expertctl
