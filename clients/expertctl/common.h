#ifndef EXPERTISE_CLIENTS_EXPERTCTL_COMMON_H_
#define EXPERTISE_CLIENTS_EXPERTCTL_COMMON_H_

// What every expertctl command shares: connection options, output formats,
// error reporting and exit codes.

#include <chrono>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "google/protobuf/message.h"
#include "services/security/grpc_security.h"

namespace expertise::expertctl {

// Exit codes, documented in docs/expertctl.md.
enum ExitCode {
  kExitOk = 0,
  kExitError = 1,         // the server failed the call for another reason
  kExitUsage = 2,         // bad flags or arguments (locally or INVALID_ARGUMENT)
  kExitUnavailable = 3,   // server unreachable, overloaded or too slow
  kExitNotFound = 4,      // the named resource does not exist
  kExitConflict = 5,      // ALREADY_EXISTS or a stale etag (FAILED_PRECONDITION)
  kExitImportRejects = 6,       // import SUCCEEDED_WITH_REJECTS
  kExitImportFailed = 7,        // import FAILED (policy or withdrawal guard); nothing changed
  kExitImportPluginFailed = 8,  // the plugin crashed, hung, was refused or misbehaved; nothing changed
  kExitDenied = 9,              // UNAUTHENTICATED or PERMISSION_DENIED
};

enum class OutputFormat { kTable, kJson, kCsv };

struct GlobalOptions {
  std::string server = "127.0.0.1:50051";
  std::string output = "table";
  double timeout_seconds = 10;
  // Who we are: a client certificate, an API key, or both.
  security::ClientSecurityOptions security;
  std::string token_file;
};

// Streams and options a command runs with, so commands are testable
// without a shell.
struct Context {
  GlobalOptions global;
  std::ostream* out;
  std::ostream* err;

  OutputFormat format() const;
  std::unique_ptr<registry::v1::RegistryService::Stub> RegistryStub() const;
  // A channel to --server with the credentials given (checked at start-up
  // by AddGlobalOptions, so this does not fail in a command).
  std::shared_ptr<grpc::Channel> Channel() const;
  // Prepares a client context with the global deadline.
  void Prepare(grpc::ClientContext* ctx) const;
  // Prints "expertctl: <verb>: <message>" plus each bad field, and returns
  // the exit code for the status.
  int Fail(const std::string& verb, const grpc::Status& status) const;

  // Makes one registry call with the global deadline. Returns nullopt on
  // success; on failure prints the error and returns the exit code.
  template <typename Request, typename Response>
  std::optional<int> Call(const std::string& verb,
                          grpc::Status (registry::v1::RegistryService::Stub::*method)(
                              grpc::ClientContext*, const Request&, Response*),
                          const Request& request, Response* response) const {
    auto stub = RegistryStub();
    grpc::ClientContext call;
    Prepare(&call);
    grpc::Status status = ((*stub).*method)(&call, request, response);
    if (!status.ok()) return Fail(verb, status);
    return std::nullopt;
  }

  // Prints `message` as JSON and returns true when -o json was asked for.
  bool PrintedAsJson(const google::protobuf::Message& message) const;
};

// A table of strings rendered as aligned columns or CSV.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // Writes the table as aligned text (table format) or RFC 4180 CSV.
  void Print(OutputFormat format, std::ostream& out) const;
};

// Registers --server, --output, --timeout, the credentials (--ca, --cert,
// --key, --token, --token-file; EXPERTISE_* environment variables) and
// --config (a TOML file of the same long options, by default
// ~/.config/expertise/expertctl.toml) on `app`; expertctl and
// expertise-importer share them. Bad credentials fail the parse.
void AddGlobalOptions(CLI::App& app, GlobalOptions* global);

// Writes `message` as JSON (proto3 JSON mapping, original field names).
void PrintJson(const google::protobuf::Message& message, std::ostream& out);

// Formats a number with at most one decimal place ("7.5", "12").
// Prints a warning naming the regions a directory could not reach (AIP-217
// `unreachable`), whose results are missing from what is shown.
void WarnUnreachable(const Context& ctx, const std::string& verb,
                     const google::protobuf::RepeatedPtrField<std::string>& regions);

std::string Hours(double value);

}  // namespace expertise::expertctl

#endif  // EXPERTISE_CLIENTS_EXPERTCTL_COMMON_H_
