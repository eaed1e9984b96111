#ifndef EXPERTISE_CLIENTS_LOADGEN_RUNNER_H_
#define EXPERTISE_CLIENTS_LOADGEN_RUNNER_H_

// The gRPC side of expertise-loadgen: connections, and calls driven by a
// RequestSchedule until its bounds are reached.

#include <iosfwd>
#include <memory>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "clients/loadgen/options.h"
#include "clients/loadgen/report.h"
#include "services/common/clock.h"

namespace expertise::loadgen {

// Holds the connections of a run and runs scenarios over them, one at a
// time. Not thread-safe: call Run() from one thread.
class Runner {
 public:
  // Opens config.connections channels to config.server and waits for each to
  // connect. UNAVAILABLE if one does not within config.connect_timeout.
  // `config` is copied; `clock` (not owned, outlives the runner) times calls.
  static absl::StatusOr<std::unique_ptr<Runner>> Connect(const Config& config,
                                                         const Clock* clock);

  // Runs `scenario` to the configured bounds and returns what it measured.
  // Blocks; returns after every call has completed. Failed calls are
  // counted in the result, not returned as an error.
  absl::StatusOr<ScenarioResult> Run(const Scenario& scenario);

 private:
  Runner(const Config& config, const Clock* clock) : config_(config), clock_(clock) {}

  const Config config_;
  const Clock* const clock_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
};

// Connects, runs every scenario of `config` in order and writes the report
// to `out`; progress and errors go to `err`. Returns the exit code.
int RunLoadgen(const Config& config, std::ostream& out, std::ostream& err);

}  // namespace expertise::loadgen

#endif  // EXPERTISE_CLIENTS_LOADGEN_RUNNER_H_
