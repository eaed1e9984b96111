// expertctl: the regional coordinator's command-line client.

#include <iostream>

#include <CLI/CLI.hpp>

#include "clients/expertctl/commands/commands.h"

int main(int argc, char** argv) {
  using namespace expertise::expertctl;
  Context ctx{.global = {}, .out = &std::cout, .err = &std::cerr};
  int exit_code = kExitOk;

  CLI::App app{"expertctl: find SEND specialists and their capacity in the expertise directory"};
  app.set_help_all_flag("--help-all", "Help for every command");
  AddGlobalOptions(app, &ctx.global);
  app.require_subcommand(1);
  SetupSearch(app, ctx, &exit_code);
  SetupGet(app, ctx, &exit_code);
  SetupCapacity(app, ctx, &exit_code);
  SetupTaxonomy(app, ctx, &exit_code);
  SetupAuthorities(app, ctx, &exit_code);
  SetupRegions(app, ctx, &exit_code);
  SetupUpsert(app, ctx, &exit_code);
  SetupImport(app, ctx, &exit_code);
  SetupImports(app, ctx, &exit_code);
  SetupPlugins(app, ctx, &exit_code);
  SetupAudit(app, ctx, &exit_code);
  SetupKeys(app, ctx, &exit_code);
  SetupRequests(app, ctx, &exit_code);
  SetupReport(app, ctx, &exit_code);
  SetupWatch(app, ctx, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  return exit_code;
}
