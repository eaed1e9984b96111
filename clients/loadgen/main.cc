// expertise-loadgen: a gRPC load generator for the registry, in the spirit of
// ghz. See docs/loadgen.md.

#include <iostream>

#include <CLI/CLI.hpp>

#include "clients/loadgen/options.h"
#include "clients/loadgen/runner.h"

int main(int argc, char** argv) {
  using namespace expertise::loadgen;
  CLI::App app{
      "expertise-loadgen: load-tests a registry over gRPC and reports latency percentiles, a "
      "histogram and errors by status code"};
  Flags flags;
  AddFlags(app, &flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  auto config = BuildConfig(flags);
  if (!config.ok()) {
    std::cerr << "expertise-loadgen: " << config.status().message() << "\n";
    return kExitUsage;
  }
  return RunLoadgen(*config, std::cout, std::cerr);
}
