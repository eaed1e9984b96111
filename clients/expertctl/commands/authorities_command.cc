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
  auto stub = ctx.RegistryStub();
  grpc::ClientContext call;
  ctx.Prepare(&call);
  registry::v1::ListLocalAuthoritiesResponse response;
  grpc::Status status = stub->ListLocalAuthorities(&call, request, &response);
  if (!status.ok()) return ctx.Fail("authorities", status);
  if (ctx.format() == OutputFormat::kJson) {
    PrintJson(response, *ctx.out);
    return kExitOk;
  }
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
  auto stub = ctx.RegistryStub();
  grpc::ClientContext call;
  ctx.Prepare(&call);
  registry::v1::ListRegionsResponse response;
  grpc::Status status = stub->ListRegions(&call, registry::v1::ListRegionsRequest(), &response);
  if (!status.ok()) return ctx.Fail("regions", status);
  if (ctx.format() == OutputFormat::kJson) {
    PrintJson(response, *ctx.out);
    return kExitOk;
  }
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
