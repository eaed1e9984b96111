#ifndef EXPERTISE_PLUGINS_CONFORMANCE_CONFORMANCE_H_
#define EXPERTISE_PLUGINS_CONFORMANCE_CONFORMANCE_H_

// The importer plugin conformance kit: GoogleTest tests an author points at
// a plugin .so and its fixture file (FIXTURES.md). Every test runs the
// plugin through the real runner and sandbox, as production does.
//
//   INSTANTIATE_TEST_SUITE_P(MyPlugin, PluginConformance,
//       ::testing::Values(expertise::conformance::Target{"/path/expertise_importer_x.so",
//                                                        "/path/conformance.json"}));
//
// or, without writing code: expertise-plugin-conformance --plugin X.so --fixtures F.json

#include <ostream>
#include <string>

#include "gtest/gtest.h"

namespace expertise::conformance {

struct Target {
  std::string plugin_path;
  std::string fixtures_path;
  std::string min_isolation = "seccomp";  // none, rlimits, seccomp, bwrap
  bool in_process = false;                // debugging only
};

inline std::ostream& operator<<(std::ostream& out, const Target& t) {
  return out << t.plugin_path << " with " << t.fixtures_path;
}

class PluginConformance : public ::testing::TestWithParam<Target> {};

}  // namespace expertise::conformance

#endif  // EXPERTISE_PLUGINS_CONFORMANCE_CONFORMANCE_H_
