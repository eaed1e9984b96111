// expertctl imports: look at past imports and their rejects.

#include "absl/strings/str_cat.h"
#include "clients/expertctl/commands/commands.h"

namespace expertise::expertctl {
namespace {

namespace rv1 = registry::v1;

struct ImportsOptions {
  std::string name;
  int page_size = 100;
  bool all = false;
};

int Get(const Context& ctx, const ImportsOptions& o) {
  rv1::GetImportRequest request;
  request.set_name(o.name);
  rv1::Import response;
  if (auto failed = ctx.Call("imports get", &rv1::RegistryService::Stub::GetImport, request, &response)) {
    return *failed;
  }
  PrintJson(response, *ctx.out);
  return kExitOk;
}

int Rejects(const Context& ctx, const ImportsOptions& o) {
  rv1::ListImportRejectsRequest request;
  request.set_parent(o.name);
  request.set_page_size(o.page_size);
  Table table;
  table.header = {"file", "row", "column", "json_pointer", "resource_id", "reason", "external_id", "field", "message"};
  rv1::ListImportRejectsResponse all;
  do {
    rv1::ListImportRejectsResponse response;
    if (auto failed = ctx.Call("imports rejects", &rv1::RegistryService::Stub::ListImportRejects, request, &response)) {
      return *failed;
    }
    for (const auto& r : response.rejects()) {
      *all.add_rejects() = r;
      const auto& l = r.location();
      table.rows.push_back({l.file(), l.row() ? absl::StrCat(l.row()) : "", l.column(), l.json_pointer(),
                            l.resource_id(), rv1::ImportReject::Reason_Name(r.reason()), r.external_id(), r.field(),
                            r.message()});
    }
    request.set_page_token(response.next_page_token());
  } while (o.all && !request.page_token().empty());
  if (ctx.PrintedAsJson(all)) return kExitOk;
  table.Print(ctx.format(), *ctx.out);
  return kExitOk;
}

}  // namespace

void SetupImports(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<ImportsOptions>();
  CLI::App* cmd = app.add_subcommand("imports", "Show past imports and their rejects");
  cmd->require_subcommand(1);
  CLI::App* get = cmd->add_subcommand("get", "Show one import");
  get->add_option("name", options->name, "regions/{region}/imports/{import}")->required();
  get->callback([&ctx, options, exit_code] { *exit_code = Get(ctx, *options); });
  CLI::App* rejects = cmd->add_subcommand("rejects", "List an import's rejects with their locations");
  rejects->add_option("name", options->name, "regions/{region}/imports/{import}")->required();
  rejects->add_option("--page-size", options->page_size, "Rejects per call")->default_val(100);
  rejects->add_flag("--all", options->all, "Fetch every page");
  rejects->callback([&ctx, options, exit_code] { *exit_code = Rejects(ctx, *options); });
}

}  // namespace expertise::expertctl
