// expertise-directory: one gRPC endpoint over every regional registry.

#include <cstdio>

#include <CLI/CLI.hpp>

#include "services/common/logging.h"
#include "services/observability/cli_flags.h"
#include "services/directory/directory_server.h"
#include "services/security/cli_flags.h"

int main(int argc, char** argv) {
  expertise::directory::DirectoryServerOptions options;
  std::string log_format = "text";
  std::string log_level = "info";
  double region_timeout_seconds = 5;
  CLI::App app{"expertise-directory: searches every regional registry at once"};
  app.add_option("--listen", options.listen, "Address to listen on, host:port (port 0 picks one)")
      ->default_val("127.0.0.1:50050");
  app.add_option("--regions", options.regions_file,
                 "File of '<region> <endpoint>' lines (docs/directory.md)")->required();
  app.add_option("--port-file", options.port_file, "Write the bound port to this file once serving");
  app.add_option("--region-timeout", region_timeout_seconds,
                 "Longest wait for a region, in seconds, when the caller's deadline is later")
      ->default_val(5)->check(CLI::Range(0.01, 600.0));
  app.add_flag("--reflection,!--no-reflection", options.reflection,
               "Serve gRPC server reflection (v1alpha); development only (see expertise-registry)")
      ->default_val(false);
  app.add_option("--shutdown-grace-seconds", options.shutdown_grace_seconds,
                 "Time calls in flight get to finish on SIGTERM")->default_val(10);
  expertise::security::AddServerSecurityFlags(app, &options.security);
  std::string upstream_token_file;
  expertise::security::AddClientSecurityFlags(app, &options.upstream, &upstream_token_file,
                                              "upstream-");
  expertise::observability::AddObservabilityFlags(app, &options.observability);
  app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}))
      ->envname("EXPERTISE_LOG_FORMAT");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->envname("EXPERTISE_LOG_LEVEL");
  CLI11_PARSE(app, argc, argv);
  options.region_timeout = absl::Seconds(region_timeout_seconds);
  if (absl::Status s = expertise::security::ResolveTokenFile(upstream_token_file, &options.upstream);
      !s.ok()) {
    std::fprintf(stderr, "expertise-directory: %s\n", std::string(s.message()).c_str());
    return 2;
  }

  expertise::LogFormat format;
  (void)expertise::ParseLogFormat(log_format, &format);
  expertise::InitLogging(format, spdlog::level::from_str(log_level));
  return expertise::directory::RunDirectoryServer(options);
}
