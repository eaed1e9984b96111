#ifndef EXPERTISE_CLIENTS_EXPERTCTL_COMMANDS_COMMANDS_H_
#define EXPERTISE_CLIENTS_EXPERTCTL_COMMANDS_COMMANDS_H_

// Each verb lives in its own file: an options struct, Setup<Verb>() to
// register it with CLI11 and Run<Verb>() to run it (callable from tests).
// Setup functions store the verb's exit code in *exit_code when it runs.

#include <CLI/CLI.hpp>

#include "clients/expertctl/common.h"

namespace expertise::expertctl {

void SetupSearch(CLI::App& app, const Context& ctx, int* exit_code);
void SetupGet(CLI::App& app, const Context& ctx, int* exit_code);
void SetupCapacity(CLI::App& app, const Context& ctx, int* exit_code);
void SetupTaxonomy(CLI::App& app, const Context& ctx, int* exit_code);
void SetupAuthorities(CLI::App& app, const Context& ctx, int* exit_code);
void SetupRegions(CLI::App& app, const Context& ctx, int* exit_code);
void SetupUpsert(CLI::App& app, const Context& ctx, int* exit_code);
void SetupImport(CLI::App& app, const Context& ctx, int* exit_code);
void SetupImports(CLI::App& app, const Context& ctx, int* exit_code);
void SetupPlugins(CLI::App& app, const Context& ctx, int* exit_code);
void SetupAudit(CLI::App& app, const Context& ctx, int* exit_code);
void SetupKeys(CLI::App& app, const Context& ctx, int* exit_code);
void SetupRequests(CLI::App& app, const Context& ctx, int* exit_code);
void SetupReport(CLI::App& app, const Context& ctx, int* exit_code);
void SetupWatch(CLI::App& app, const Context& ctx, int* exit_code);

struct ImportCommandOptions {
  std::string plugin;
  std::string authority;
  std::string config_file;
  std::string mode = "snapshot";
  std::string on_record_error = "fail";
  double max_withdraw_percent = -1;  // < 0: the registry's default (20%)
  bool force = false;
  bool dry_run = false;
  std::string import_id;
  std::string source;
  double plugin_timeout_seconds = 1800;
  uint64_t memory_mb = 1024;
  std::string min_isolation = "seccomp";
  bool no_sandbox = false;
  bool in_process = false;
  bool wait_for_debugger = false;
  std::vector<std::string> plugin_dirs;
  std::string progress = "auto";
  std::string input;
};
int RunImport(const Context& ctx, const ImportCommandOptions& options);
// Parses fail, skip or skip_up_to:N%.
bool ParseRejectPolicy(const std::string& text, registry::v1::RejectPolicy* policy, std::string* error);

// Parses "YYYY-MM-DD" into a google.type.Date; false if malformed.
bool ParseDate(const std::string& text, google::type::Date* date);

// Returns the authority's name for a GSS code, or the code if unknown.
std::string AuthorityName(const std::string& code);

}  // namespace expertise::expertctl

#endif  // EXPERTISE_CLIENTS_EXPERTCTL_COMMANDS_COMMANDS_H_
