// expertctl plugins: what importer plugins are installed, what they take,
// and whether a config is right for one. Plugins are always loaded in the
// sandboxed runner, even just to describe them.

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/expertctl/commands/commands.h"
#include "services/importer/plugin_catalog.h"
#include "services/importer/plugin_config.h"
#include "services/importer/plugin_run.h"

namespace expertise::expertctl {
namespace {

struct PluginsOptions {
  std::vector<std::string> plugin_dirs;
  std::string name;
  std::string config_file;
  std::string min_isolation = "seccomp";
};

std::vector<std::string> Dirs(const PluginsOptions& o) {
  return o.plugin_dirs.empty() ? importer::DefaultPluginDirs() : o.plugin_dirs;
}

importer::RunOptions RunOptionsFor(const PluginsOptions& o, const std::string& path) {
  importer::RunOptions run;
  run.plugin_path = path;
  (void)importer::ParseIsolation(o.min_isolation, &run.min_isolation);
  run.timeout = absl::Seconds(30);
  return run;
}

std::string SyncModes(uint32_t bits) {
  std::vector<std::string> modes;
  if (bits & 1) modes.push_back("snapshot");
  if (bits & 2) modes.push_back("incremental");
  return absl::StrJoin(modes, ",");
}

int List(const Context& ctx, const PluginsOptions& o) {
  Table table;
  table.header = {"name", "version", "abi", "sync", "description", "path"};
  int code = kExitOk;
  for (const importer::PluginFile& file : importer::ListPluginFiles(Dirs(o))) {
    absl::StatusOr<importer::v1::PluginDescription> d = importer::DescribePlugin(RunOptionsFor(o, file.path));
    if (!d.ok()) {
      table.rows.push_back({file.name, "?", "?", "?", absl::StrCat("REFUSED: ", d.status().message()), file.path});
      code = kExitError;
      continue;
    }
    table.rows.push_back({d->name(), d->version(), absl::StrCat(d->abi_major(), ".", d->abi_minor()),
                          SyncModes(d->sync_modes()), d->description(), file.path});
  }
  table.Print(ctx.format(), *ctx.out);
  return code;
}

absl::StatusOr<importer::v1::PluginDescription> Load(const PluginsOptions& o, std::string* path) {
  absl::StatusOr<std::string> resolved = importer::ResolvePlugin(o.name, Dirs(o));
  if (!resolved.ok()) return resolved.status();
  *path = *resolved;
  return importer::DescribePlugin(RunOptionsFor(o, *resolved));
}

int Describe(const Context& ctx, const PluginsOptions& o) {
  std::string path;
  absl::StatusOr<importer::v1::PluginDescription> d = Load(o, &path);
  if (!d.ok()) {
    *ctx.err << "expertctl: plugins describe: " << d.status().message() << "\n";
    return d.status().code() == absl::StatusCode::kNotFound ? kExitNotFound : kExitError;
  }
  if (ctx.PrintedAsJson(*d)) return kExitOk;
  *ctx.out << d->name() << " " << d->version() << ": " << d->description() << "\n"
           << "ABI " << d->abi_major() << "." << d->abi_minor() << ", record format "
           << d->record_format_major() << "." << d->record_format_minor() << ", sync "
           << SyncModes(d->sync_modes()) << ", input " << d->input_media_types() << "\n"
           << "file " << path << "\n\nconfig keys:\n";
  Table table;
  table.header = {"key", "type", "required", "default", "description"};
  for (const auto& key : d->config_keys()) {
    std::string type = key.type();
    if (key.allowed_values_size() > 0) absl::StrAppend(&type, " (", absl::StrJoin(key.allowed_values(), "|"), ")");
    table.rows.push_back({key.name(), type, key.required() ? "yes" : "no",
                          key.secret() ? "(secret)" : key.has_default_value() ? key.default_value() : "",
                          key.description()});
  }
  table.Print(ctx.format(), *ctx.out);
  return kExitOk;
}

int Check(const Context& ctx, const PluginsOptions& o) {
  std::string path;
  absl::StatusOr<std::string> resolved = importer::ResolvePlugin(o.name, Dirs(o));
  if (!resolved.ok()) {
    *ctx.err << "expertctl: plugins check: " << resolved.status().message() << "\n";
    return kExitNotFound;
  }
  importer::ConfigMap given;
  if (!o.config_file.empty()) {
    absl::StatusOr<importer::ConfigMap> loaded = importer::LoadConfigFile(o.config_file);
    if (!loaded.ok()) {
      *ctx.err << "expertctl: plugins check: " << loaded.status().message() << "\n";
      return kExitUsage;
    }
    given = *loaded;
  }
  // The host's checks (types, required, unknown keys) first, then the
  // plugin's own check() in the sandbox.
  class CheckObserver : public importer::RunObserver {
   public:
    explicit CheckObserver(const importer::ConfigMap& given) : given_(given) {}
    absl::Status OnHello(const importer::v1::PluginDescription& plugin, importer::Isolation,
                         importer::v1::RunRequest* request) override {
      importer::ConfigMap resolved = importer::ResolveConfig(plugin, given_, &violations);
      if (!violations.empty()) return absl::InvalidArgumentError("config has invalid keys");
      for (const auto& [k, v] : resolved) (*request->mutable_config())[k] = v;
      request->set_check_only(true);
      return absl::OkStatus();
    }
    FieldViolations violations;

   private:
    const importer::ConfigMap& given_;
  } observer(given);
  importer::RunResult result = importer::RunPlugin(RunOptionsFor(o, *resolved), {}, &observer);
  if (!observer.violations.empty() || !result.config_errors.empty()) {
    *ctx.err << "expertctl: plugins check: the config is not valid for plugin '" << result.plugin.name() << "':\n";
    for (const auto& v : observer.violations.violations()) *ctx.err << "  " << v.field() << ": " << v.description() << "\n";
    for (const auto& e : result.config_errors) *ctx.err << "  config." << e.key() << ": " << e.message() << "\n";
    return kExitUsage;
  }
  if (!result.ok()) {
    *ctx.err << "expertctl: plugins check: " << importer::DescribeRun(result) << "\n";
    return kExitImportPluginFailed;
  }
  *ctx.out << "config OK for plugin '" << result.plugin.name() << "' " << result.plugin.version()
           << " (isolation " << importer::IsolationName(result.isolation) << ")\n";
  return kExitOk;
}

}  // namespace

void SetupPlugins(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<PluginsOptions>();
  CLI::App* cmd = app.add_subcommand("plugins", "List, describe and check importer plugins");
  cmd->require_subcommand(1);
  cmd->add_option("--plugin-dir", options->plugin_dirs, "Plugin folder (repeatable; default $EXPERTISE_IMPORTER_PATH)");
  cmd->add_option("--min-isolation", options->min_isolation, "none, rlimits, seccomp or bwrap")->default_val("seccomp");
  CLI::App* list = cmd->add_subcommand("list", "List installed plugins");
  list->callback([&ctx, options, exit_code] { *exit_code = List(ctx, *options); });
  CLI::App* describe = cmd->add_subcommand("describe", "Show a plugin's versions and config keys");
  describe->add_option("name", options->name, "Plugin name or path")->required();
  describe->callback([&ctx, options, exit_code] { *exit_code = Describe(ctx, *options); });
  CLI::App* check = cmd->add_subcommand("check", "Check a config file against a plugin");
  check->add_option("name", options->name, "Plugin name or path")->required();
  check->add_option("--config", options->config_file, "Config file (JSON object)");
  check->callback([&ctx, options, exit_code] { *exit_code = Check(ctx, *options); });
}

}  // namespace expertise::expertctl
