#include "absl/strings/str_format.h"
#include "clients/expertctl/commands/commands.h"

namespace expertise::expertctl {
namespace {

struct AuthoritiesOptions {
  std::string region = "-";
};

int RunAuthorities(const AuthoritiesOptions& o, const Context& ctx) {
  registry::v1::ListLocalAuthoritiesRequest request;
  request.set_parent("regions/" + o.region);
  registry::v1::ListLocalAuthoritiesResponse response;
  if (auto failed = ctx.Call("authorities",
                             &registry::v1::RegistryService::Stub::ListLocalAuthorities, request,
                             &response)) {
    return *failed;
  }
  if (ctx.PrintedAsJson(response)) return kExitOk;
  Table table;
  table.header = {"CODE", "NAME", "TYPE", "REGION", "CENTRE"};
  for (const auto& la : response.local_authorities()) {
    table.rows.push_back({la.code(), la.display_name(), la.authority_type(), la.region(),
                          absl::StrFormat("%.4f,%.4f", la.centre().latitude(),
                                          la.centre().longitude())});
  }
  table.Print(ctx.format(), *ctx.out);
  return kExitOk;
}

int RunRegions(const Context& ctx) {
  registry::v1::ListRegionsResponse response;
  if (auto failed = ctx.Call("regions", &registry::v1::RegistryService::Stub::ListRegions,
                             registry::v1::ListRegionsRequest(), &response)) {
    return *failed;
  }
  if (ctx.PrintedAsJson(response)) return kExitOk;
  Table table;
  table.header = {"NAME", "CODE", "REGION", "AUTHORITIES"};
  for (const auto& r : response.regions()) {
    table.rows.push_back({r.name(), r.code(), r.display_name(), std::to_string(r.authority_count())});
  }
  table.Print(ctx.format(), *ctx.out);
  return kExitOk;
}

}  // namespace

void SetupAuthorities(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<AuthoritiesOptions>();
  CLI::App* cmd = app.add_subcommand(
      "authorities", "English upper-tier local authorities with GSS codes and centres");
  cmd->add_option("--region", options->region, "Only this region (id such as london)");
  cmd->callback([options, &ctx, exit_code] { *exit_code = RunAuthorities(*options, ctx); });
}

void SetupRegions(CLI::App& app, const Context& ctx, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("regions", "The nine English regions");
  cmd->callback([&ctx, exit_code] { *exit_code = RunRegions(ctx); });
}

}  // namespace expertise::expertctl
