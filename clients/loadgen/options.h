#ifndef EXPERTISE_CLIENTS_LOADGEN_OPTIONS_H_
#define EXPERTISE_CLIENTS_LOADGEN_OPTIONS_H_

// expertise-loadgen's command line: the flags as CLI11 fills them in, and
// their translation into a checked run configuration. Every mistake a user
// can make is caught here, before any connection is opened, so bad usage
// always exits 2 whether or not the server is up.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "services/security/grpc_security.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/loadgen/report.h"
#include "clients/loadgen/schedule.h"

namespace expertise::loadgen {

// Exit codes, documented in docs/loadgen.md. Failed calls during a run are
// reported, not turned into an exit code.
enum ExitCode {
  kExitOk = 0,
  kExitUnreachable = 1,  // the server could not be reached at all
  kExitUsage = 2,        // bad flags, request JSON or request file
};

// Used when neither --requests nor --duration bounds the run.
inline constexpr int64_t kDefaultRequests = 1000;

// The command line as given.
struct Flags {
  std::string server = "127.0.0.1:50051";
  security::ClientSecurityOptions security;  // --ca, --cert, --key, --token
  std::string token_file;
  std::string call;
  std::string request;
  std::string request_file;
  std::vector<std::string> scenarios;
  int concurrency = 10;
  int connections = 1;
  int64_t requests = 0;
  std::string duration;
  double rate = 0;
  std::string warmup;
  std::string timeout = "10s";
  std::string connect_timeout = "5s";
  std::string output = "table";
};

// Registers every flag on `app`, storing into `*flags` (not owned; must
// outlive parsing).
void AddFlags(CLI::App& app, Flags* flags);

// One scenario: a unary method and the request to send to it, again and again.
struct Scenario {
  std::string name;     // "health", "search", "search#2", "ListRegions"
  std::string method;   // gRPC path: "/grpc.health.v1.Health/Check"
  std::string request;  // the request in protobuf wire format
};

// A checked run configuration.
struct Config {
  std::string server;
  security::ClientSecurityOptions security;
  int concurrency = 0;
  int connections = 0;
  ScheduleOptions schedule;
  absl::Duration timeout = absl::ZeroDuration();
  absl::Duration connect_timeout = absl::ZeroDuration();
  OutputFormat output = OutputFormat::kTable;
  std::vector<Scenario> scenarios;  // run in this order
  // The scenario the others are compared with: the first health call, when
  // there are other scenarios.
  std::optional<size_t> baseline;
};

// Checks the flags and builds the configuration: parses times, reads request
// files and parses request JSON. Fails with INVALID_ARGUMENT and a message
// naming the flag at fault.
absl::StatusOr<Config> BuildConfig(const Flags& flags);

// Builds a scenario for `call` (an alias, "health" or "search", or a full
// unary method name, "expertise.registry.v1.RegistryService/ListRegions")
// with its request given as proto3 JSON (empty: the default request).
// `source` names where the JSON came from, for error messages.
absl::StatusOr<Scenario> MakeScenario(absl::string_view call, absl::string_view json,
                                      absl::string_view source);

// Parses one --scenario: CALL, CALL=JSON or CALL=@FILE.
absl::StatusOr<Scenario> ParseScenario(absl::string_view spec);

// Parses a time flag ("10s", "250ms", "1m30s", or a plain number of
// seconds); `flag` names it in errors. Must be positive.
absl::StatusOr<absl::Duration> ParseTimeFlag(absl::string_view flag, absl::string_view text);

// Parses --warmup into `options`: a request count ("100") or a time ("2s").
absl::Status ParseWarmup(absl::string_view text, ScheduleOptions* options);

}  // namespace expertise::loadgen

#endif  // EXPERTISE_CLIENTS_LOADGEN_OPTIONS_H_
