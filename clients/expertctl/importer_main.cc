// expertise-importer: the importer host for operators and schedulers. The
// same import and plugin commands as expertctl, without the query verbs.

#include <iostream>

#include <CLI/CLI.hpp>

#include "clients/expertctl/commands/commands.h"

int main(int argc, char** argv) {
  using namespace expertise::expertctl;
  Context ctx{.global = {}, .out = &std::cout, .err = &std::cerr};
  int exit_code = kExitOk;
  CLI::App app{"expertise-importer: run importer plugins, sandboxed, into a regional registry"};
  AddGlobalOptions(app, &ctx.global);
  app.require_subcommand(1);
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
