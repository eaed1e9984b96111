#include "clients/loadgen/options.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "absl/strings/match.h"
#include "services/security/cli_flags.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.pb.h"
#include "services/common/status_macros.h"

namespace expertise::loadgen {
namespace {

// Short names for the calls a load test of a registry is usually about.
struct CallAlias {
  const char* name;
  const char* method;  // full protobuf name of the method
  // A default SearchSpecialistsRequest has no parent and would only measure
  // how fast the server says INVALID_ARGUMENT, so search needs a request.
  bool needs_request;
};
constexpr CallAlias kAliases[] = {
    {"health", "grpc.health.v1.Health.Check", false},
    {"search", "expertise.registry.v1.RegistryService.SearchSpecialists", true},
};

constexpr int kMaxConcurrency = 10000;

std::string ToString(google::protobuf::StringPiece text) { return std::string(text.data(), text.size()); }

// Returns the descriptor of a method linked into this binary: those of the
// registry and of the health service.
const google::protobuf::MethodDescriptor* FindMethod(const std::string& full_name) {
  // Touching a message of each file links it in and registers its
  // descriptors with the generated pool.
  (void)registry::v1::SearchSpecialistsRequest::descriptor();
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full_name);
}

absl::StatusOr<std::string> ReadWholeFile(absl::string_view what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(what, ": cannot read ", path, ": ", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

void AddFlags(CLI::App& app, Flags* flags) {
  security::AddClientSecurityFlags(app, &flags->security, &flags->token_file);
  app.add_option("--server,-s", flags->server, "Server address host:port")
      ->default_val("127.0.0.1:50051");
  auto* call = app.add_option(
      "--call", flags->call,
      "Method to call: health (grpc.health.v1.Health/Check, the empty call), search "
      "(RegistryService/SearchSpecialists) or a full unary method name such as "
      "expertise.registry.v1.RegistryService/ListRegions");
  auto* request = app.add_option("--request,-d", flags->request, "The --call's request as proto3 JSON");
  app.add_option("--request-file,-D", flags->request_file, "File holding the --call's request as proto3 JSON")
      ->excludes(request);
  app.add_option("--scenario", flags->scenarios,
                 "A scenario CALL, CALL=JSON or CALL=@FILE; repeat to run several, one after another, "
                 "on the same connections (instead of --call)")
      ->excludes(call)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--concurrency,-c", flags->concurrency, "Calls in flight at once")
      ->default_val(10);
  app.add_option("--connections", flags->connections,
                 "Connections (channels) the calls are spread over; at most --concurrency")
      ->default_val(1);
  app.add_option("--requests,-n", flags->requests,
                 absl::StrCat("Measured calls per scenario (default ", kDefaultRequests,
                              " when --duration is not given either)"));
  app.add_option("--duration,-z", flags->duration,
                 "Length of each scenario's measured phase: 10s, 500ms, 1m30s");
  app.add_option("--rate,-r", flags->rate,
                 "Calls per second, sent on a fixed schedule (open loop; latency counts from each "
                 "call's intended send time). Default: closed loop, as fast as --concurrency allows");
  app.add_option("--warmup", flags->warmup,
                 "Calls (100) or time (2s) at the start of each scenario left out of the statistics");
  app.add_option("--timeout,-t", flags->timeout, "Deadline of each call")->default_val("10s");
  app.add_option("--connect-timeout", flags->connect_timeout,
                 "How long to wait for the connections before giving up (exit 1)")
      ->default_val("5s");
  app.add_option("--output,-o", flags->output, "Report format: table, json or csv")
      ->default_val("table");
}

absl::StatusOr<absl::Duration> ParseTimeFlag(absl::string_view flag, absl::string_view text) {
  absl::Duration duration;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds) && std::isfinite(seconds)) {
    duration = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &duration)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", text, "\" is not a time (write 10s, 250ms or 1m30s)"));
  }
  if (duration <= absl::ZeroDuration() || duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " must be a positive, finite time, not \"", text, "\""));
  }
  return duration;
}

absl::Status ParseWarmup(absl::string_view text, ScheduleOptions* options) {
  if (text.empty()) return absl::OkStatus();
  int64_t requests = 0;
  if (absl::SimpleAtoi(text, &requests)) {
    if (requests < 0) return absl::InvalidArgumentError("--warmup must not be negative");
    options->warmup_requests = requests;
    return absl::OkStatus();
  }
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) || duration < absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--warmup: \"", text, "\" is neither a number of calls (100) nor a time (2s)"));
  }
  options->warmup_duration = duration;
  return absl::OkStatus();
}

absl::StatusOr<Scenario> MakeScenario(absl::string_view call, absl::string_view json,
                                      absl::string_view source) {
  Scenario scenario;
  std::string method_name;
  bool needs_request = false;
  for (const auto& alias : kAliases) {
    if (call == alias.name) {
      scenario.name = alias.name;
      method_name = alias.method;
      needs_request = alias.needs_request;
    }
  }
  if (method_name.empty()) {
    // "pkg.Service/Method", "/pkg.Service/Method" or "pkg.Service.Method".
    method_name = absl::StrReplaceAll(absl::StripPrefix(call, "/"), {{"/", "."}});
  }
  const google::protobuf::MethodDescriptor* method = FindMethod(method_name);
  if (method == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown call \"", call,
        "\": use health, search or a full method name such as "
        "expertise.registry.v1.RegistryService/ListRegions"));
  }
  if (method->client_streaming() || method->server_streaming()) {
    return absl::InvalidArgumentError(
        absl::StrCat(method->full_name(), " is a streaming method; only unary methods can be called"));
  }
  if (scenario.name.empty()) scenario.name = method->name();
  scenario.method = absl::StrCat("/", method->service()->full_name(), "/", method->name());

  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->input_type());
  if (prototype == nullptr) {
    return absl::InternalError(absl::StrCat("no message type for ", method->input_type()->full_name()));
  }
  std::unique_ptr<google::protobuf::Message> request(prototype->New());
  const absl::string_view trimmed = absl::StripAsciiWhitespace(json);
  if (trimmed.empty()) {
    if (needs_request) {
      return absl::InvalidArgumentError(absl::StrCat(
          scenario.name, " needs a request: --request JSON, --request-file FILE or --scenario ",
          scenario.name, "=@FILE (for example {\"parent\": \"regions/-\", \"roles\": [\"educational-psychologist\"]})"));
    }
  } else {
    // Unknown fields are refused (the default), so a misspelt field name is
    // an error instead of a silently different request.
    const auto parsed = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(trimmed.data(), trimmed.size()), request.get());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": not a valid ",
                                                     method->input_type()->full_name(),
                                                     " in proto3 JSON: ", ToString(parsed.message())));
    }
  }
  if (!request->SerializeToString(&scenario.request)) {
    return absl::InternalError(absl::StrCat("cannot serialise the ", scenario.name, " request"));
  }
  return scenario;
}

absl::StatusOr<Scenario> ParseScenario(absl::string_view spec) {
  const size_t equals = spec.find('=');
  const absl::string_view call = spec.substr(0, equals);
  if (equals == absl::string_view::npos) {
    return MakeScenario(call, "", absl::StrCat("--scenario ", spec));
  }
  absl::string_view rest = spec.substr(equals + 1);
  if (absl::ConsumePrefix(&rest, "@")) {
    const std::string path(rest);
    ASSIGN_OR_RETURN(std::string json, ReadWholeFile(absl::StrCat("--scenario ", spec), path));
    return MakeScenario(call, json, path);
  }
  return MakeScenario(call, rest, absl::StrCat("--scenario ", call));
}

absl::StatusOr<Config> BuildConfig(const Flags& flags) {
  Config config;
  if (flags.server.empty()) return absl::InvalidArgumentError("--server: no address");
  config.server = flags.server;
  config.security = flags.security;
  if (absl::Status s = security::ResolveTokenFile(flags.token_file, &config.security); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--token-file: ", s.message()));
  }

  if (!flags.call.empty() && !flags.scenarios.empty()) {
    return absl::InvalidArgumentError("use --call (one scenario) or --scenario (one or more), not both");
  }
  if (flags.call.empty() && flags.scenarios.empty()) {
    return absl::InvalidArgumentError(
        "nothing to call: give --call health, --call search --request JSON, or --scenario");
  }
  if (flags.call.empty() && !(flags.request.empty() && flags.request_file.empty())) {
    return absl::InvalidArgumentError(
        "--request and --request-file go with --call; with --scenario write CALL=JSON or CALL=@FILE");
  }
  if (!flags.call.empty()) {
    std::string json = flags.request;
    std::string source = "--request";
    if (!flags.request_file.empty()) {
      ASSIGN_OR_RETURN(json, ReadWholeFile("--request-file", flags.request_file));
      source = flags.request_file;
    }
    ASSIGN_OR_RETURN(Scenario scenario, MakeScenario(flags.call, json, source));
    config.scenarios.push_back(std::move(scenario));
  }
  for (const std::string& spec : flags.scenarios) {
    ASSIGN_OR_RETURN(Scenario scenario, ParseScenario(spec));
    config.scenarios.push_back(std::move(scenario));
  }
  // Names key the report, so a call given twice (say, two searches) is
  // told apart by its position.
  std::map<std::string, int> seen;
  for (Scenario& scenario : config.scenarios) {
    const int n = ++seen[scenario.name];
    if (n > 1) absl::StrAppend(&scenario.name, "#", n);
  }

  if (flags.concurrency < 1 || flags.concurrency > kMaxConcurrency) {
    return absl::InvalidArgumentError(
        absl::StrCat("--concurrency must be between 1 and ", kMaxConcurrency, ", not ", flags.concurrency));
  }
  if (flags.connections < 1 || flags.connections > flags.concurrency) {
    return absl::InvalidArgumentError(absl::StrCat("--connections must be between 1 and --concurrency (",
                                                   flags.concurrency, "), not ", flags.connections));
  }
  config.concurrency = flags.concurrency;
  config.connections = flags.connections;

  if (flags.requests < 0) return absl::InvalidArgumentError("--requests must not be negative");
  config.schedule.requests = flags.requests;
  if (!flags.duration.empty()) {
    ASSIGN_OR_RETURN(config.schedule.duration, ParseTimeFlag("--duration", flags.duration));
  }
  if (config.schedule.requests == 0 && config.schedule.duration == absl::ZeroDuration()) {
    config.schedule.requests = kDefaultRequests;
  }
  if (!(flags.rate >= 0) || !std::isfinite(flags.rate)) {
    return absl::InvalidArgumentError(absl::StrCat("--rate must be a positive number, not ", flags.rate));
  }
  config.schedule.rate = flags.rate;
  RETURN_IF_ERROR(ParseWarmup(flags.warmup, &config.schedule));
  // The schedule's own checks, so that a run cannot fail on them later.
  if (auto schedule = RequestSchedule::Create(config.schedule, SteadyClock()); !schedule.ok()) {
    return schedule.status();
  }

  ASSIGN_OR_RETURN(config.timeout, ParseTimeFlag("--timeout", flags.timeout));
  ASSIGN_OR_RETURN(config.connect_timeout, ParseTimeFlag("--connect-timeout", flags.connect_timeout));
  auto output = ParseOutputFormat(flags.output);
  if (!output.ok()) return absl::InvalidArgumentError(absl::StrCat("--output: ", output.status().message()));
  config.output = *output;

  if (config.scenarios.size() > 1) {
    for (size_t i = 0; i < config.scenarios.size(); ++i) {
      if (config.scenarios[i].method == "/grpc.health.v1.Health/Check") {
        config.baseline = i;
        break;
      }
    }
  }
  return config;
}

}  // namespace expertise::loadgen
