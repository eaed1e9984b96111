#include "clients/expertctl/commands/commands.h"

namespace expertise::expertctl {
namespace {

struct CapacityOptions {
  std::string region = "-";
  bool national = false;
  bool by_authority = false;
  std::vector<std::string> authorities, roles;
  std::string as_of;
};

int RunCapacity(const CapacityOptions& o, const Context& ctx) {
  if (o.national && o.region != "-") {
    *ctx.err << "expertctl: capacity: --national covers every region; leave out --region\n";
    return kExitUsage;
  }
  registry::v1::GetCapacitySummaryRequest request;
  request.set_parent("regions/" + o.region);
  for (const auto& v : o.authorities) request.add_authorities(v);
  for (const auto& v : o.roles) request.add_roles(v);
  if (!o.as_of.empty() && !ParseDate(o.as_of, request.mutable_as_of())) {
    *ctx.err << "expertctl: capacity: --as-of must be a date YYYY-MM-DD\n";
    return kExitUsage;
  }
  registry::v1::CapacitySummary summary;
  if (auto failed = ctx.Call("capacity", &registry::v1::RegistryService::Stub::GetCapacitySummary,
                             request, &summary)) {
    return *failed;
  }
  WarnUnreachable(ctx, "capacity", summary.unreachable());
  if (ctx.PrintedAsJson(summary)) return kExitOk;
  if (o.national && !o.by_authority) {
    // Region by role, each region followed by its total, then England.
    Table table;
    table.header = {"REGION", "ROLE", "HEADCOUNT", "CONTRACTED", "COMMITTED", "AVAILABLE", "EXTERNAL"};
    auto add = [&](const registry::v1::CapacitySummaryRow& row, const std::string& region,
                   const std::string& role) {
      table.rows.push_back({region, role, std::to_string(row.headcount()), Hours(row.contracted_hours_per_week()),
                            Hours(row.committed_hours_per_week()), Hours(row.available_hours_per_week()),
                            std::to_string(row.accepting_external_count())});
    };
    // A region's total is shown when it has more than one role.
    int roles_in_region = 0;
    for (const auto& row : summary.region_totals()) {
      if (!row.role().empty()) {
        add(row, row.region(), row.role());
        ++roles_in_region;
      } else {
        if (roles_in_region != 1) add(row, row.region(), "(all roles)");
        roles_in_region = 0;
      }
    }
    add(summary.total(), "England", "(all roles)");
    table.Print(ctx.format(), *ctx.out);
    return kExitOk;
  }
  Table table;
  table.header = {"AUTHORITY", "NAME", "ROLE", "HEADCOUNT", "CONTRACTED", "COMMITTED",
                  "AVAILABLE", "EXTERNAL"};
  auto add = [&](const registry::v1::CapacitySummaryRow& row, const std::string& role) {
    table.rows.push_back({row.authority().empty() ? "ALL" : row.authority(),
                          row.authority().empty() ? summary.region() : AuthorityName(row.authority()),
                          role, std::to_string(row.headcount()),
                          Hours(row.contracted_hours_per_week()),
                          Hours(row.committed_hours_per_week()),
                          Hours(row.available_hours_per_week()),
                          std::to_string(row.accepting_external_count())});
  };
  // Each authority's rows are followed by its total, when it has more than one role.
  for (const auto& total : summary.authority_totals()) {
    int rows_for_authority = 0;
    for (const auto& row : summary.rows()) {
      if (row.authority() != total.authority()) continue;
      add(row, row.role());
      ++rows_for_authority;
    }
    if (rows_for_authority > 1) add(total, "(all roles)");
  }
  add(summary.total(), "(all roles)");
  table.Print(ctx.format(), *ctx.out);
  return kExitOk;
}

}  // namespace

void SetupCapacity(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<CapacityOptions>();
  CLI::App* cmd = app.add_subcommand(
      "capacity", "Headcount and contracted, committed and available hours by authority and role");
  cmd->add_option("--region", options->region, "Region id; default '-' (the server's)");
  cmd->add_flag("--national", options->national,
                "Every region through the directory: region by role, then the national total");
  cmd->add_flag("--by-authority", options->by_authority,
                "With --national: authority by role (every region's authorities) instead");
  cmd->add_option("--authority", options->authorities, "Only these authorities (GSS codes)");
  cmd->add_option("--role", options->roles, "Only these roles");
  cmd->add_option("--as-of", options->as_of, "Evaluate capacity on YYYY-MM-DD (default today)");
  cmd->callback([options, &ctx, exit_code] { *exit_code = RunCapacity(*options, ctx); });
}

}  // namespace expertise::expertctl
