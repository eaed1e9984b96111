#include "clients/expertctl/common.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/common/csv.h"
#include "services/common/errors.h"
#include "services/security/cli_flags.h"

namespace expertise::expertctl {

OutputFormat Context::format() const {
  if (global.output == "json") return OutputFormat::kJson;
  if (global.output == "csv") return OutputFormat::kCsv;
  return OutputFormat::kTable;
}

std::shared_ptr<grpc::Channel> Context::Channel() const {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      security::NewClientChannel(global.server, global.security);
  if (channel.ok()) return *std::move(channel);
  // Unreachable after AddGlobalOptions' check; a call on this channel fails
  // UNAVAILABLE rather than silently going out without credentials.
  return grpc::CreateChannel("unix:/nonexistent/expertctl-no-credentials",
                             grpc::InsecureChannelCredentials());
}

std::unique_ptr<registry::v1::RegistryService::Stub> Context::RegistryStub() const {
  return registry::v1::RegistryService::NewStub(Channel());
}

void Context::Prepare(grpc::ClientContext* ctx) const {
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(global.timeout_seconds * 1000)));
}

int Context::Fail(const std::string& verb, const grpc::Status& status) const {
  std::string message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      message = absl::StrFormat("cannot reach %s (%s)", global.server, message);
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      message = absl::StrFormat("no answer from %s within %gs (raise --timeout?)", global.server,
                                global.timeout_seconds);
      break;
    default:
      break;
  }
  // With field details, list each bad field on its own line instead of the
  // one-line summary the server puts in the message.
  google::rpc::BadRequest bad_request;
  google::rpc::Status details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const auto& any : details.details()) {
      if (any.UnpackTo(&bad_request)) break;
    }
  }
  if (bad_request.field_violations_size() > 0) {
    *err << "expertctl: " << verb << ": the request has invalid fields:\n";
    for (const auto& v : bad_request.field_violations()) {
      *err << "  " << v.field() << ": " << v.description() << "\n";
    }
  } else {
    *err << "expertctl: " << verb << ": " << message << "\n";
  }
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return kExitUsage;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return kExitUnavailable;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kExitDenied;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
      return kExitConflict;
    default:
      return kExitError;
  }
}

bool Context::PrintedAsJson(const google::protobuf::Message& message) const {
  if (format() != OutputFormat::kJson) return false;
  PrintJson(message, *out);
  return true;
}

void Table::Print(OutputFormat format, std::ostream& out) const {
  if (format == OutputFormat::kCsv) {
    out << CsvLine(header);
    for (const auto& row : rows) out << CsvLine(row);
    return;
  }
  std::vector<size_t> widths(header.size());
  for (size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text += std::string(widths[i] - cells[i].size() + 2, ' ');
    }
    out << text << "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
}

void PrintJson(const google::protobuf::Message& message, std::ostream& out) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  out << json;
  if (json.empty() || json.back() != '\n') out << "\n";
}

std::string Hours(double value) {
  const double rounded = std::round(value * 10) / 10;
  if (rounded == std::floor(rounded)) return absl::StrFormat("%.0f", rounded);
  return absl::StrFormat("%.1f", rounded);
}

void AddGlobalOptions(CLI::App& app, GlobalOptions* global) {
  app.add_option("--server,-s", global->server, "Directory or registry address, host:port (default: the local directory)")
      ->envname("EXPERTCTL_SERVER")
      ->default_val("127.0.0.1:50050");
  app.add_option("--output,-o", global->output, "Output format: table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->default_val("table");
  app.add_option("--timeout", global->timeout_seconds, "Seconds to wait for each call")
      ->check(CLI::PositiveNumber)
      ->default_val(10);
  security::AddClientSecurityFlags(app, &global->security, &global->token_file);
  const char* config_home = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  const std::string default_config =
      config_home && *config_home ? std::string(config_home) + "/expertise/expertctl.toml"
      : home && *home             ? std::string(home) + "/.config/expertise/expertctl.toml"
                                  : std::string();
  app.set_config("--config", default_config,
                 "TOML file of long options (server, ca, cert, key, token-file, ...)", false);
  // Credentials are checked once, before any command runs: a missing
  // certificate or a plaintext remote server is a usage error, not a failed
  // call.
  app.parse_complete_callback([global] {
    if (absl::Status s = security::ResolveTokenFile(global->token_file, &global->security); !s.ok()) {
      throw CLI::ValidationError("--token-file", std::string(s.message()));
    }
    absl::Status s = security::NewClientChannel(global->server, global->security).status();
    if (!s.ok()) throw CLI::ValidationError("credentials", std::string(s.message()));
  });
}

void WarnUnreachable(const Context& ctx, const std::string& verb,
                     const google::protobuf::RepeatedPtrField<std::string>& regions) {
  if (regions.empty()) return;
  *ctx.err << "expertctl: " << verb << ": warning: no answer in time from "
           << absl::StrJoin(regions, ", ") << "; their results are missing\n";
}

}  // namespace expertise::expertctl
