// expertctl audit: the registry's audit trail; expertctl keys: API keys.

#include <iostream>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "clients/expertctl/commands/commands.h"
#include "services/common/reference/reference_data.h"
#include "services/security/api_keys.h"
#include "services/security/audit_log.h"
#include "services/security/principal.h"

namespace expertise::expertctl {
namespace {

struct AuditOptions {
  std::string region;
  std::string actor;
  std::string action;
  std::string resource;
  std::string outcome;
  std::string since;
  std::string until;
  int limit = 100;
};

bool ParseTime(const std::string& text, google::protobuf::Timestamp* out) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return false;
  out->set_seconds(absl::ToUnixSeconds(t));
  return true;
}

// Trail fields come partly from callers: control characters are shown as
// '?' so a crafted value cannot rewrite the reader's terminal.
std::string Printable(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

int RunAudit(const AuditOptions& o, const Context& ctx) {
  const RegionInfo* region = ReferenceData::Get().FindRegion(o.region);
  if (region == nullptr) {
    *ctx.err << "expertctl: audit: unknown region '" << o.region << "'\n";
    return kExitUsage;
  }
  registry::v1::ListAuditRecordsRequest request;
  request.set_parent(region->resource_name());
  request.set_actor(o.actor);
  request.set_action(o.action);
  request.set_resource_prefix(o.resource);
  request.set_outcome(o.outcome);
  if (!o.since.empty() && !ParseTime(o.since, request.mutable_start_time())) {
    *ctx.err << "expertctl: audit: --since must be an RFC 3339 time such as 2026-11-23T09:00:00Z\n";
    return kExitUsage;
  }
  if (!o.until.empty() && !ParseTime(o.until, request.mutable_end_time())) {
    *ctx.err << "expertctl: audit: --until must be an RFC 3339 time such as 2026-11-23T17:00:00Z\n";
    return kExitUsage;
  }
  registry::v1::ListAuditRecordsResponse all;
  do {
    request.set_page_size(std::min(o.limit - all.audit_records_size(), 1000));
    registry::v1::ListAuditRecordsResponse page;
    if (auto failed = ctx.Call("audit", &registry::v1::RegistryService::Stub::ListAuditRecords,
                               request, &page)) {
      return *failed;
    }
    for (auto& r : *page.mutable_audit_records()) *all.add_audit_records() = std::move(r);
    request.set_page_token(page.next_page_token());
    all.set_next_page_token(page.next_page_token());
  } while (!request.page_token().empty() && all.audit_records_size() < o.limit);
  if (ctx.PrintedAsJson(all)) return kExitOk;
  Table table;
  table.header = {"SEQ", "TIME", "ACTOR", "VIA", "ACTION", "PHASE", "OUTCOME", "RESOURCES", "DETAIL"};
  for (const auto& r : all.audit_records()) {
    table.rows.push_back({std::to_string(r.sequence()), FormatTimestamp(r.time()), Printable(r.actor()),
                          r.via().empty() ? "-" : Printable(r.via()), Printable(r.action()),
                          Printable(r.phase()), r.outcome().empty() ? "-" : Printable(r.outcome()),
                          Printable(absl::StrJoin(r.resources(), " ")), Printable(r.detail())});
  }
  table.Print(ctx.format(), *ctx.out);
  if (!all.next_page_token().empty() && ctx.format() == OutputFormat::kTable) {
    *ctx.err << "expertctl: audit: more records follow; raise --limit or narrow the filters\n";
  }
  return kExitOk;
}

struct KeysCreateOptions {
  std::string principal;
  std::string key_id;
  std::string expires;
};

int RunKeysCreate(const KeysCreateOptions& o, const Context& ctx) {
  absl::StatusOr<security::Principal> principal =
      security::ParsePrincipal(o.principal, ReferenceData::Get());
  if (!principal.ok()) {
    *ctx.err << "expertctl: keys create: " << principal.status().message() << "\n";
    return kExitUsage;
  }
  absl::Time expires = absl::InfiniteFuture();
  std::string error;
  if (!o.expires.empty() && !absl::ParseTime(absl::RFC3339_full, o.expires, &expires, &error)) {
    *ctx.err << "expertctl: keys create: --expires must be an RFC 3339 time\n";
    return kExitUsage;
  }
  absl::StatusOr<security::GeneratedKey> key =
      security::GenerateApiKey(principal->ToString(), o.key_id, expires);
  if (!key.ok()) {
    *ctx.err << "expertctl: keys create: " << key.status().message() << "\n";
    return kExitUsage;
  }
  // The token goes to stdout alone so it can be piped into a file; the
  // keyring line (a hash only) goes to stderr for the administrator.
  *ctx.out << key->token << "\n";
  *ctx.err << "Append this line to the servers' keyring (--api-keys); the key above is shown "
              "once and stored nowhere:\n"
           << key->keyring_line << "\n";
  return kExitOk;
}

int RunAuditVerify(const std::string& path, const Context& ctx) {
  absl::Status status = security::VerifyAuditLog(path);
  if (!status.ok()) {
    *ctx.err << "expertctl: audit verify: " << status.message() << "\n";
    return kExitError;
  }
  *ctx.out << path << ": hash chain intact\n";
  return kExitOk;
}

}  // namespace

void SetupAudit(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<AuditOptions>();
  CLI::App* cmd = app.add_subcommand(
      "audit", "Who changed, imported or read what, from a region's append-only audit trail");
  cmd->add_option("--region", options->region, "Region: ONS code, id or regions/{id} (required to list)");
  cmd->add_option("--actor", options->actor, "Only this caller, e.g. authority/E09000033");
  cmd->add_option("--action", options->action, "Only this method, e.g. UpdateSpecialist");
  cmd->add_option("--resource", options->resource, "Only resources starting with this name");
  cmd->add_option("--outcome", options->outcome, "Only this outcome, e.g. PERMISSION_DENIED");
  cmd->add_option("--since", options->since, "From this time (RFC 3339)");
  cmd->add_option("--until", options->until, "Before this time (RFC 3339)");
  cmd->add_option("--limit", options->limit, "Most records to show")
      ->default_val(100)->check(CLI::Range(1, 100000));
  auto verify_path = std::make_shared<std::string>();
  CLI::App* verify = cmd->add_subcommand(
      "verify", "Check an audit trail file's hash chain (run on the registry's machine)");
  verify->add_option("file", *verify_path, "The registry's audit trail (<db>.audit.jsonl)")
      ->required();
  verify->callback([verify_path, &ctx, exit_code] { *exit_code = RunAuditVerify(*verify_path, ctx); });
  cmd->require_subcommand(0, 1);
  // The listing runs unless `audit verify` was asked for.
  cmd->callback([options, verify, &ctx, exit_code] {
    if (verify->parsed()) return;
    if (options->region.empty()) {
      *ctx.err << "expertctl: audit: --region is required\n";
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = RunAudit(*options, ctx);
  });
}

void SetupKeys(CLI::App& app, const Context& ctx, int* exit_code) {
  CLI::App* keys = app.add_subcommand("keys", "API keys (administrators)");
  keys->require_subcommand(1);
  auto options = std::make_shared<KeysCreateOptions>();
  CLI::App* create = keys->add_subcommand(
      "create", "Make a new API key: prints the key, and the keyring line holding only its hash");
  create->add_option("--principal", options->principal,
                     "Who the key is for: authority/<GSS>, coordinator/<region>, "
                     "importer/<GSS>, admin/<name> or service/<name>")
      ->required();
  create->add_option("--id", options->key_id, "Key id (random when not given)");
  create->add_option("--expires", options->expires, "Expiry time (RFC 3339); none by default");
  create->callback([options, &ctx, exit_code] { *exit_code = RunKeysCreate(*options, ctx); });
}

}  // namespace expertise::expertctl
