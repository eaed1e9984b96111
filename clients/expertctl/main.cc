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
  app.add_option("--server,-s", ctx.global.server, "Server address host:port")
      ->envname("EXPERTCTL_SERVER")
      ->default_val("127.0.0.1:50051");
  app.add_option("--output,-o", ctx.global.output, "Output format: table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->default_val("table");
  app.add_option("--timeout", ctx.global.timeout_seconds, "Seconds to wait for each call")
      ->check(CLI::PositiveNumber)
      ->default_val(10);
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  return exit_code;
}
