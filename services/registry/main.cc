// expertise-registry: one regional registry of SEND specialists.

#include <CLI/CLI.hpp>

#include "services/common/logging.h"
#include "services/registry/server.h"
#include "services/security/cli_flags.h"

int main(int argc, char** argv) {
  expertise::registry::ServerOptions options;
  std::string log_format = "text";
  std::string log_level = "info";
  CLI::App app{"expertise-registry: the regional registry of SEND specialists and their capacity"};
  app.add_option("--region", options.region, "Region served: ONS code E12000001..E12000009 or id "
                                              "such as north-east")->required();
  app.add_option("--listen", options.listen, "Address to listen on, host:port (port 0 picks one)")
      ->default_val("127.0.0.1:50051");
  app.add_option("--db", options.db_path, "SQLite database file (created if missing)")->required();
  app.add_option("--port-file", options.port_file,
                 "Write the bound port to this file once serving");
  app.add_option("--workers", options.worker_threads, "Threads for database work")
      ->default_val(4)->check(CLI::Range(1, 256));
  app.add_option("--max-queued-calls", options.max_queued_calls,
                 "Calls waiting for a worker before new ones get RESOURCE_EXHAUSTED")
      ->default_val(4096)->check(CLI::Range(1, 1000000));
  app.add_flag("--reflection,!--no-reflection", options.reflection,
               "Serve gRPC server reflection (v1alpha) for grpcurl and buf curl; development only: "
               "gRPC 1.51 serves it to any peer that passes the TLS handshake, without asking for "
               "a caller")->default_val(false);
  app.add_option("--sweep-interval-seconds", options.sweep_interval_seconds,
                 "How often support requests and commitments are moved on with the clock "
                 "(deadlines, start and end dates) and the daily capacity snapshot is taken")
      ->check(CLI::Range(1, 86400));
  app.add_option("--shutdown-grace-seconds", options.shutdown_grace_seconds,
                 "Time calls in flight get to finish on SIGTERM")->default_val(10);
  app.add_option("--audit-log", options.audit_log_path,
                 "Append-only audit trail (JSON lines, hash-chained); default <db>.audit.jsonl");
  expertise::security::AddServerSecurityFlags(app, &options.security);
  app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);

  expertise::LogFormat format;
  (void)expertise::ParseLogFormat(log_format, &format);
  expertise::InitLogging(format, spdlog::level::from_str(log_level));
  return expertise::registry::RunRegistryServer(options);
}
