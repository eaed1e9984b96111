// expertctl import: run an importer plugin on an input file and send what it
// reads to the authority's regional registry, with progress and a report.

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "clients/expertctl/commands/commands.h"
#include "services/importer/import_run.h"
#include "services/importer/plugin_catalog.h"

namespace expertise::expertctl {
namespace {

namespace rv1 = registry::v1;
using importer::ImportOptions;
using importer::ImportProgress;
using importer::ImportReport;

std::string LocationText(const rv1::SourceLocation& l) {
  std::string out = l.file();
  if (l.row() > 0) absl::StrAppend(&out, out.empty() ? "" : ":", "row ", l.row());
  if (!l.column().empty()) absl::StrAppend(&out, out.empty() ? "" : ", ", "column ", l.column());
  if (!l.json_pointer().empty()) absl::StrAppend(&out, out.empty() ? "" : " ", l.json_pointer());
  if (!l.resource_id().empty()) absl::StrAppend(&out, out.empty() ? "" : " ", l.resource_id());
  return out;
}

std::string Duration(absl::Duration d) {
  const int64_t s = absl::ToInt64Seconds(d);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

// Progress on stderr: a bar on a terminal, plain lines otherwise (logs,
// CI), nothing when asked.
class ProgressPrinter {
 public:
  ProgressPrinter(std::ostream* err, const std::string& mode) : err_(err) {
    if (mode == "auto") {
      mode_ = (err == &std::cerr && ::isatty(STDERR_FILENO)) ? "bar" : "lines";
    } else {
      mode_ = mode;
    }
  }
  void Update(const ImportProgress& p) {
    if (p.records + p.rejects == 0) return;  // nothing to say yet
    const double seconds = absl::ToDoubleSeconds(p.elapsed);
    const double rate = seconds > 0 ? static_cast<double>(p.records + p.rejects) / seconds : 0;
    std::string eta = "?";
    double fraction = -1;
    if (p.total_rows > 0 && p.row > 0) {
      fraction = std::min(1.0, static_cast<double>(p.row) / static_cast<double>(p.total_rows));
      if (fraction > 0) eta = Duration(absl::Seconds(seconds * (1 - fraction) / fraction));
    }
    if (mode_ == "bar") {
      constexpr int kWidth = 30;
      const int filled = fraction < 0 ? 0 : static_cast<int>(fraction * kWidth);
      *err_ << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] "
            << absl::StrFormat("%d records, %d rejects, %.0f/s, ETA %s   ", p.records, p.rejects, rate, eta)
            << std::flush;
      drew_bar_ = true;
    } else if (mode_ == "lines" && absl::Now() - last_line_ >= absl::Seconds(2)) {
      last_line_ = absl::Now();
      *err_ << absl::StrFormat("progress: %d records, %d rejects, %.0f records/s, ETA %s\n", p.records,
                               p.rejects, rate, eta);
    }
  }
  void Done() {
    if (drew_bar_) *err_ << "\n";
  }

 private:
  std::ostream* err_;
  std::string mode_;
  bool drew_bar_ = false;
  absl::Time last_line_ = absl::InfinitePast();
};

int ExitCodeFor(const ImportReport& report) {
  if (!report.import.has_value()) {
    return report.run.end == importer::RunEnd::kConfigRejected ? kExitUsage : kExitImportPluginFailed;
  }
  switch (report.import->state()) {
    case rv1::Import::SUCCEEDED: return kExitOk;
    case rv1::Import::SUCCEEDED_WITH_REJECTS: return kExitImportRejects;
    default: return kExitImportFailed;
  }
}

void PrintReport(const Context& ctx, const ImportReport& report) {
  std::ostream& out = *ctx.out;
  if (ctx.format() == OutputFormat::kJson && report.import.has_value()) {
    PrintJson(*report.import, out);
    return;
  }
  if (!report.import.has_value()) return;
  const rv1::Import& imp = *report.import;
  Table summary;
  summary.header = {"field", "value"};
  summary.rows.push_back({"import", imp.name()});
  summary.rows.push_back({"outcome", rv1::Import::State_Name(imp.state())});
  if (!imp.failure_reason().empty()) summary.rows.push_back({"reason", imp.failure_reason()});
  summary.rows.push_back({"authority", absl::StrCat(imp.authority(), " (", AuthorityName(imp.authority()), ")")});
  summary.rows.push_back({"source", imp.source()});
  summary.rows.push_back({"plugin", absl::StrCat(imp.plugin(), " ", imp.plugin_version(), ", isolation ",
                                                 imp.isolation())});
  summary.rows.push_back({"mode", imp.mode() == rv1::IMPORT_MODE_INCREMENTAL ? "incremental" : "snapshot"});
  summary.rows.push_back({"received", absl::StrCat(imp.records_received())});
  summary.rows.push_back({"created", absl::StrCat(imp.created_count())});
  summary.rows.push_back({"updated", absl::StrCat(imp.updated_count())});
  summary.rows.push_back({"unchanged", absl::StrCat(imp.unchanged_count())});
  summary.rows.push_back({"withdrawn", absl::StrCat(imp.withdrawn_count())});
  summary.rows.push_back({"rejected", absl::StrCat(imp.reject_count())});
  if (!imp.cursor().empty()) summary.rows.push_back({"cursor", imp.cursor()});
  if (imp.validate_only()) summary.rows.push_back({"dry run", "yes: nothing was written"});
  if (report.already_imported) summary.rows.push_back({"note", "already imported: nothing ran and nothing changed"});
  const double seconds = absl::ToDoubleSeconds(report.elapsed);
  if (!report.already_imported && seconds > 0) {
    summary.rows.push_back({"elapsed", absl::StrFormat("%.1f s (%.0f records/s)", seconds,
                                                       imp.records_received() / seconds)});
  }
  summary.Print(ctx.format(), out);
  if (!report.early_rejects.empty() && ctx.format() == OutputFormat::kTable) {
    out << "\nrejects (first " << std::min<size_t>(20, report.early_rejects.size())
        << "; `expertctl imports rejects " << imp.name() << "` lists all):\n";
    Table rejects;
    rejects.header = {"location", "reason", "external id", "field", "message"};
    for (size_t i = 0; i < report.early_rejects.size() && i < 20; ++i) {
      const rv1::ImportReject& r = report.early_rejects[i];
      rejects.rows.push_back({LocationText(r.location()), rv1::ImportReject::Reason_Name(r.reason()),
                              r.external_id(), r.field(), r.message()});
    }
    rejects.Print(OutputFormat::kTable, out);
  }
}

}  // namespace

bool ParseRejectPolicy(const std::string& text, rv1::RejectPolicy* policy, std::string* error) {
  if (text == "fail") {
    policy->set_kind(rv1::RejectPolicy::FAIL);
    return true;
  }
  if (text == "skip") {
    policy->set_kind(rv1::RejectPolicy::SKIP);
    return true;
  }
  absl::string_view rest = text;
  double percent = 0;
  if (absl::ConsumePrefix(&rest, "skip_up_to:") || absl::ConsumePrefix(&rest, "skip_up_to=")) {
    absl::ConsumeSuffix(&rest, "%");
    if (absl::SimpleAtod(rest, &percent) && percent >= 0 && percent <= 100) {
      policy->set_kind(rv1::RejectPolicy::SKIP_UP_TO);
      policy->set_max_reject_percent(percent);
      return true;
    }
  }
  *error = absl::StrCat("--on-record-error must be fail, skip or skip_up_to:N% (N from 0 to 100), not '", text, "'");
  return false;
}

int RunImport(const Context& ctx, const ImportCommandOptions& o) {
  ImportOptions options;
  const std::vector<std::string> dirs = o.plugin_dirs.empty() ? importer::DefaultPluginDirs() : o.plugin_dirs;
  absl::StatusOr<std::string> plugin = importer::ResolvePlugin(o.plugin, dirs);
  if (!plugin.ok()) {
    *ctx.err << "expertctl: import: " << plugin.status().message() << "\n";
    return kExitUsage;
  }
  options.run.plugin_path = *plugin;
  if (!o.config_file.empty()) {
    absl::StatusOr<importer::ConfigMap> config = importer::LoadConfigFile(o.config_file);
    if (!config.ok()) {
      *ctx.err << "expertctl: import: " << config.status().message() << "\n";
      return kExitUsage;
    }
    options.config = *config;
  }
  std::string error;
  if (!ParseRejectPolicy(o.on_record_error, &options.policy, &error)) {
    *ctx.err << "expertctl: import: " << error << "\n";
    return kExitUsage;
  }
  if (!importer::ParseIsolation(o.min_isolation, &options.run.min_isolation)) {
    *ctx.err << "expertctl: import: --min-isolation must be none, rlimits, seccomp or bwrap\n";
    return kExitUsage;
  }
  if (o.no_sandbox || o.in_process) {
    // Debugging modes: said loudly, never silently.
    *ctx.err << "expertctl: import: WARNING: " << (o.in_process ? "--in-process" : "--no-sandbox")
             << " runs the plugin without its sandbox; use only to debug a plugin you trust\n";
    options.run.min_isolation = o.in_process ? importer::Isolation::kNone : importer::Isolation::kRlimits;
  }
  options.run.no_sandbox = o.no_sandbox || o.in_process;
  options.run.in_process = o.in_process;
  options.run.wait_for_debugger = o.wait_for_debugger;
  options.run.timeout = absl::Seconds(o.plugin_timeout_seconds);
  options.run.memory_mb = o.memory_mb;
  options.input_path = o.input;
  options.authority = o.authority;
  options.source = o.source;
  options.mode = o.mode == "incremental" ? rv1::IMPORT_MODE_INCREMENTAL : rv1::IMPORT_MODE_SNAPSHOT;
  if (o.max_withdraw_percent >= 0) options.max_withdraw_fraction = o.max_withdraw_percent / 100.0;
  options.force = o.force;
  options.dry_run = o.dry_run;
  options.import_id = o.import_id;

  auto channel = ctx.Channel();
  auto stub = rv1::RegistryService::NewStub(channel);
  ProgressPrinter progress(ctx.err, o.progress);
  ImportReport report = importer::RunImport(options, stub.get(),
                                            [&](const ImportProgress& p) { progress.Update(p); });
  progress.Done();
  if (!report.error.empty()) {
    *ctx.err << "expertctl: import: " << report.error << "\n";
    if (report.run.isolation_detail.size() > 0) {
      *ctx.err << "  isolation: " << report.run.isolation_detail << "\n";
    }
    if (!report.run.config_errors.empty()) {
      *ctx.err << "  the plugin rejected its config:\n";
      for (const auto& e : report.run.config_errors) *ctx.err << "    config." << e.key() << ": " << e.message() << "\n";
    }
    if (!report.plugin_log.empty()) {
      *ctx.err << "  plugin log (last " << report.plugin_log.size() << " lines):\n";
      for (const std::string& line : report.plugin_log) *ctx.err << "    " << line << "\n";
    }
    if (!report.run.last_output.empty()) {
      *ctx.err << "  plugin output (last " << report.run.last_output.size() << " lines):\n";
      for (const std::string& line : report.run.last_output) *ctx.err << "    " << line << "\n";
    }
  }
  PrintReport(ctx, report);
  return ExitCodeFor(report);
}

void SetupImport(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<ImportCommandOptions>();
  CLI::App* cmd = app.add_subcommand("import", "Import an authority's records through an importer plugin");
  cmd->add_option("--plugin", options->plugin, "Plugin name (csv, openreferral, fhir) or path to a .so")->required();
  cmd->add_option("--authority", options->authority, "GSS code of the authority whose records these are")->required();
  cmd->add_option("--config", options->config_file, "Plugin config file (JSON object)");
  cmd->add_option("--mode", options->mode, "snapshot (a full export) or incremental (changes after a cursor)")
      ->check(CLI::IsMember({"snapshot", "incremental"}))
      ->default_val("snapshot");
  cmd->add_option("--on-record-error", options->on_record_error, "fail, skip or skip_up_to:N%")->default_val("fail");
  cmd->add_option("--max-withdraw", options->max_withdraw_percent,
                  "Snapshot: most records that may be withdrawn, in percent (default 20)");
  cmd->add_flag("--force", options->force, "Snapshot: withdraw even over --max-withdraw");
  cmd->add_flag("--dry-run", options->dry_run, "Validate and report without writing");
  cmd->add_option("--import-id", options->import_id, "Import id (default: derived from the input and options)");
  cmd->add_option("--source", options->source, "Source name (default: the plugin name)");
  cmd->add_option("--plugin-timeout", options->plugin_timeout_seconds, "Seconds the plugin may run")->default_val(1800);
  cmd->add_option("--memory-mb", options->memory_mb, "Plugin memory limit in MiB")->default_val(1024);
  cmd->add_option("--min-isolation", options->min_isolation, "Refuse to run below: none, rlimits, seccomp, bwrap")
      ->default_val("seccomp");
  cmd->add_flag("--no-sandbox", options->no_sandbox, "Debugging: run the plugin without bwrap and seccomp");
  cmd->add_flag("--in-process", options->in_process, "Debugging: load the plugin into this process (for gdb)");
  cmd->add_flag("--wait-for-debugger", options->wait_for_debugger, "The runner waits for gdb before loading");
  cmd->add_option("--plugin-dir", options->plugin_dirs, "Plugin folder (repeatable; default $EXPERTISE_IMPORTER_PATH)");
  cmd->add_option("--progress", options->progress, "auto, bar, lines or none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
      ->default_val("auto");
  cmd->add_option("input", options->input, "Input file")->required()->check(CLI::ExistingFile);
  cmd->callback([&ctx, options, exit_code] { *exit_code = RunImport(ctx, *options); });
}

}  // namespace expertise::expertctl
