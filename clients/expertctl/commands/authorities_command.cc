#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "clients/expertctl/commands/commands.h"

namespace expertise::expertctl {
namespace {

struct AuthoritiesOptions {
  std::string region = "-";
};

int RunAuthorities(const AuthoritiesOptions& o, const Context& ctx) {
  registry::v1::ListLocalAuthoritiesRequest request;
  request.set_parent("regions/" + o.region);
  registry::v1::ListLocalAuthoritiesResponse response;
  if (auto failed = ctx.Call("authorities",
                             &registry::v1::RegistryService::Stub::ListLocalAuthorities, request,
                             &response)) {
    return *failed;
  }
  if (ctx.PrintedAsJson(response)) return kExitOk;
  Table table;
  table.header = {"CODE", "NAME", "TYPE", "REGION", "CENTRE"};
  for (const auto& la : response.local_authorities()) {
    table.rows.push_back({la.code(), la.display_name(), la.authority_type(), la.region(),
                          absl::StrFormat("%.4f,%.4f", la.centre().latitude(),
                                          la.centre().longitude())});
  }
  table.Print(ctx.format(), *ctx.out);
  return kExitOk;
}

int RunRegions(const Context& ctx) {
  registry::v1::ListRegionsResponse response;
  if (auto failed = ctx.Call("regions", &registry::v1::RegistryService::Stub::ListRegions,
                             registry::v1::ListRegionsRequest(), &response)) {
    return *failed;
  }
  if (ctx.PrintedAsJson(response)) return kExitOk;
  Table table;
  table.header = {"NAME", "CODE", "REGION", "AUTHORITIES"};
  for (const auto& r : response.regions()) {
    table.rows.push_back({r.name(), r.code(), r.display_name(), std::to_string(r.authority_count())});
  }
  table.Print(ctx.format(), *ctx.out);
  return kExitOk;
}

}  // namespace

void SetupAuthorities(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<AuthoritiesOptions>();
  CLI::App* cmd = app.add_subcommand(
      "authorities", "English upper-tier local authorities with GSS codes and centres");
  cmd->add_option("--region", options->region, "Only this region (id such as london)");
  cmd->callback([options, &ctx, exit_code] { *exit_code = RunAuthorities(*options, ctx); });
}

namespace {

std::string Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixSeconds(t.seconds()), absl::UTCTimeZone());
}

const char* StateName(registry::v1::RegionStatus::State state) {
  switch (state) {
    case registry::v1::RegionStatus::SERVING: return "serving";
    case registry::v1::RegionStatus::NOT_SERVING: return "not serving";
    case registry::v1::RegionStatus::UNREACHABLE: return "UNREACHABLE";
    default: return "unknown";
  }
}

// Exit 0 when every region serves, kExitUnavailable when any does not, so
// the command works as a health check in scripts.
int RunRegionsStatus(const Context& ctx) {
  registry::v1::ListRegionStatusesResponse response;
  if (auto failed = ctx.Call("regions status", &registry::v1::RegistryService::Stub::ListRegionStatuses,
                             registry::v1::ListRegionStatusesRequest(), &response)) {
    return *failed;
  }
  bool all_serving = true;
  for (const auto& s : response.region_statuses()) {
    all_serving &= s.state() == registry::v1::RegionStatus::SERVING;
  }
  if (ctx.PrintedAsJson(response)) return all_serving ? kExitOk : kExitUnavailable;
  Table table;
  table.header = {"REGION", "CODE", "STATE", "SPECIALISTS", "LAS WITH DATA", "OLDEST VERIFIED",
                  "MEDIAN VERIFIED", "LAST IMPORT (UTC)", "LAST CHANGE (UTC)"};
  for (const auto& s : response.region_statuses()) {
    const bool answered = s.state() != registry::v1::RegionStatus::UNREACHABLE;
    table.rows.push_back({s.region_display_name(), s.region_code(), StateName(s.state()),
                          answered ? std::to_string(s.specialist_count()) : "-",
                          answered ? absl::StrCat(s.authorities_with_specialists(), "/", s.authority_count()) : "-",
                          Time(s.oldest_verify_time()), Time(s.median_verify_time()),
                          Time(s.last_import_time()), Time(s.last_update_time())});
  }
  table.Print(ctx.format(), *ctx.out);
  for (const auto& s : response.region_statuses()) {
    if (s.state() == registry::v1::RegionStatus::UNREACHABLE) {
      *ctx.err << "expertctl: regions status: " << s.region_display_name() << " (" << s.region_code()
               << ") is unreachable: " << s.unreachable_reason() << "\n";
    }
  }
  return all_serving ? kExitOk : kExitUnavailable;
}

}  // namespace

void SetupRegions(CLI::App& app, const Context& ctx, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("regions", "The nine English regions");
  CLI::App* status = cmd->add_subcommand(
      "status", "Each region's registry: serving, record counts, data freshness (exit 3 if any is down)");
  cmd->require_subcommand(0, 1);
  status->callback([&ctx, exit_code] { *exit_code = RunRegionsStatus(ctx); });
  cmd->callback([cmd, &ctx, exit_code] {
    if (cmd->get_subcommands().empty()) *exit_code = RunRegions(ctx);
  });
}

}  // namespace expertise::expertctl
