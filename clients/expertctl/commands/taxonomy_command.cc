#include "clients/expertctl/commands/commands.h"

namespace expertise::expertctl {
namespace {

struct TaxonomyOptions {
  std::string kind;
  bool definitions = false;
};

int RunTaxonomy(const TaxonomyOptions& o, const Context& ctx) {
  registry::v1::ListTaxonomyTermsRequest request;
  if (o.kind == "role") request.set_kind(registry::v1::TAXONOMY_KIND_ROLE);
  if (o.kind == "specialism") request.set_kind(registry::v1::TAXONOMY_KIND_SPECIALISM);
  if (o.kind == "setting") request.set_kind(registry::v1::TAXONOMY_KIND_SETTING);
  registry::v1::ListTaxonomyTermsResponse response;
  if (auto failed = ctx.Call("taxonomy", &registry::v1::RegistryService::Stub::ListTaxonomyTerms,
                             request, &response)) {
    return *failed;
  }
  if (ctx.PrintedAsJson(response)) return kExitOk;
  Table table;
  table.header = {"KIND", "CODE", "LABEL", "GROUP", "SNOMED CT"};
  if (o.definitions || ctx.format() == OutputFormat::kCsv) table.header.push_back("DEFINITION");
  for (const auto& term : response.terms()) {
    std::string kind = registry::v1::TaxonomyKind_Name(term.kind()).substr(14);
    for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::vector<std::string> row = {kind, term.code(), term.label(), term.group(),
                                    term.snomed_ct_code()};
    if (table.header.size() == 6) row.push_back(term.definition());
    table.rows.push_back(std::move(row));
  }
  table.Print(ctx.format(), *ctx.out);
  return kExitOk;
}

}  // namespace

void SetupTaxonomy(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<TaxonomyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "taxonomy", "The shared glossary of roles, specialisms and settings, with their codes");
  cmd->add_option("--kind", options->kind, "role, specialism or setting")
      ->check(CLI::IsMember({"role", "specialism", "setting"}));
  cmd->add_flag("--definitions", options->definitions, "Show each term's definition");
  cmd->callback([options, &ctx, exit_code] { *exit_code = RunTaxonomy(*options, ctx); });
}

}  // namespace expertise::expertctl
