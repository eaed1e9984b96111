// expertise-plugin-conformance: runs the conformance kit on one plugin.
//   expertise-plugin-conformance --plugin ./expertise_importer_x.so --fixtures conformance.json
// Other arguments go to GoogleTest (--gtest_filter=...).

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "plugins/conformance/conformance.h"

namespace {

expertise::conformance::Target& CommandLineTarget() {
  static expertise::conformance::Target target;
  return target;
}

}  // namespace

namespace expertise::conformance {
INSTANTIATE_TEST_SUITE_P(Plugin, PluginConformance, ::testing::Values(CommandLineTarget()),
                         [](const auto&) { return std::string("under_test"); });
}  // namespace expertise::conformance

int main(int argc, char** argv) {
  std::vector<char*> rest = {argv[0]};
  auto& target = CommandLineTarget();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--plugin") target.plugin_path = value();
    else if (arg == "--fixtures") target.fixtures_path = value();
    else if (arg == "--min-isolation") target.min_isolation = value();
    else if (arg == "--in-process") target.in_process = true;
    else rest.push_back(argv[i]);
  }
  if (target.plugin_path.empty() || target.fixtures_path.empty()) {
    std::cerr << "usage: expertise-plugin-conformance --plugin PATH.so --fixtures conformance.json "
                 "[--min-isolation none|rlimits|seccomp|bwrap] [--in-process] [gtest flags]\n";
    return 2;
  }
  int rest_argc = static_cast<int>(rest.size());
  ::testing::InitGoogleTest(&rest_argc, rest.data());
  return RUN_ALL_TESTS();
}
