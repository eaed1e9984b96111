// expertise-registry: one regional registry of SEND specialists.

#include <CLI/CLI.hpp>

#include "services/common/logging.h"
#include "services/observability/cli_flags.h"
#include "services/registry/server.h"
#include "services/security/cli_flags.h"

int main(int argc, char** argv) {
  expertise::registry::ServerOptions options;
  std::string log_format = "text";
  std::string log_level = "info";
  CLI::App app{"expertise-registry: the regional registry of SEND specialists and their capacity"};
  app.add_option("--region", options.region, "Region served: ONS code E12000001..E12000009 or id "
                                              "such as north-east")
      ->envname("EXPERTISE_REGION");
  app.add_option("--listen", options.listen, "Address to listen on, host:port (port 0 picks one)")
      ->default_val("127.0.0.1:50051")->envname("EXPERTISE_LISTEN");
  // The store: flags shared with the migrate subcommand.
  auto add_store_flags = [](CLI::App& on, expertise::registry::StoreConfig* store) {
    on.add_option("--store", store->kind,
                  "sqlite (embedded, one process per database) or postgres (one database "
                  "shared by the region's replicas)")
        ->default_val("sqlite")->check(CLI::IsMember({"sqlite", "postgres"}))
        ->envname("EXPERTISE_STORE");
    on.add_option("--db", store->sqlite_path, "SQLite database file (created if missing)")
        ->envname("EXPERTISE_DB");
    on.add_option("--database-url", store->database_url,
                  "PostgreSQL connection URI, e.g. postgresql://expertise@db:5432/north_east?"
                  "sslmode=verify-full; the password comes from PGPASSWORD or PGPASSFILE")
        ->envname("EXPERTISE_DATABASE_URL");
  };
  add_store_flags(app, &options.store);
  app.add_flag("--migrate-on-start,!--no-migrate-on-start", options.store.migrate,
               "Apply missing schema migrations at start-up; with replicas, run "
               "`expertise-registry migrate` once instead and start them with --no-migrate-on-start")
      ->default_val(true)->envname("EXPERTISE_MIGRATE_ON_START");
  app.add_option("--replica-poll-ms", options.replica_poll_ms,
                 "With --store postgres: how often other replicas' writes are picked up")
      ->default_val(200)->check(CLI::Range(10, 60000))->envname("EXPERTISE_REPLICA_POLL_MS");
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
                 "Append-only audit trail (JSON lines, hash-chained), one per process; default "
                 "<db>.audit.jsonl; required with --store postgres")
      ->envname("EXPERTISE_AUDIT_LOG");
  expertise::security::AddServerSecurityFlags(app, &options.security);
  expertise::observability::AddObservabilityFlags(app, &options.observability);
  app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}))
      ->envname("EXPERTISE_LOG_FORMAT");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->envname("EXPERTISE_LOG_LEVEL");
  expertise::registry::StoreConfig migrate_store;
  CLI::App* migrate = app.add_subcommand(
      "migrate", "Apply the store's schema migrations and exit (before starting replicas)");
  add_store_flags(*migrate, &migrate_store);
  std::string migrate_region;
  migrate->add_option("--region", migrate_region, "Region the database serves (named in the output)")
      ->envname("EXPERTISE_REGION");
  CLI11_PARSE(app, argc, argv);

  if (migrate->parsed()) {
    expertise::InitLogging(expertise::LogFormat::kText, spdlog::level::warn);
    absl::StatusOr<expertise::registry::MigrationReport> report =
        expertise::registry::MigrateStore(migrate_store);
    if (!report.ok()) {
      fprintf(stderr, "expertise-registry migrate: %s\n",
              std::string(report.status().message()).c_str());
      return report.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
    }
    printf("%s%s%s: schema version %d -> %d (latest %d)\n", migrate_region.c_str(),
           migrate_region.empty() ? "" : " ",
           expertise::registry::DescribeStore(migrate_store).c_str(), report->from, report->to,
           report->latest);
    return 0;
  }
  if (options.region.empty()) {
    fprintf(stderr, "expertise-registry: --region is required\n");
    return 2;
  }
  if (absl::Status s = expertise::registry::CheckStoreConfig(options.store); !s.ok()) {
    fprintf(stderr, "expertise-registry: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (options.store.kind == "postgres" && options.audit_log_path.empty()) {
    fprintf(stderr,
            "expertise-registry: --store postgres needs --audit-log: each replica keeps its own "
            "audit trail\n");
    return 2;
  }

  expertise::LogFormat format;
  (void)expertise::ParseLogFormat(log_format, &format);
  expertise::InitLogging(format, spdlog::level::from_str(log_level));
  return expertise::registry::RunRegistryServer(options);
}
