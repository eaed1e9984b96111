#include <optional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "clients/expertctl/commands/commands.h"
#include "services/common/reference/reference_data.h"
#include "services/common/string_view.h"

namespace expertise::expertctl {
namespace {

struct SearchOptions {
  std::string region = "-";
  std::vector<std::string> roles, specialisms, settings, languages, authorities;
  std::optional<int> age;
  std::string delivery, near_authority, near, order, available_on;
  double within_km = 0, min_hours = 0;
  bool accepting = false;
  int limit = 20;
};

int RunSearch(const SearchOptions& o, const Context& ctx) {
  registry::v1::SearchSpecialistsRequest request;
  request.set_parent("regions/" + o.region);
  for (const auto& v : o.roles) request.add_roles(v);
  for (const auto& v : o.specialisms) request.add_specialisms(v);
  for (const auto& v : o.settings) request.add_settings(v);
  for (const auto& v : o.languages) request.add_languages(v);
  for (const auto& v : o.authorities) request.add_authorities(v);
  if (o.age) request.set_age(*o.age);
  if (o.delivery == "in-person") request.set_delivery_mode(registry::v1::DELIVERY_MODE_IN_PERSON);
  if (o.delivery == "remote") request.set_delivery_mode(registry::v1::DELIVERY_MODE_REMOTE);
  if (!o.near_authority.empty()) request.set_near_authority(o.near_authority);
  if (!o.near.empty()) {
    std::vector<std::string> parts = absl::StrSplit(o.near, ',');
    double lat, lon;
    if (parts.size() != 2 || !absl::SimpleAtod(parts[0], &lat) || !absl::SimpleAtod(parts[1], &lon)) {
      *ctx.err << "expertctl: search: --near must be LAT,LON, for example 54.6,-2.9\n";
      return kExitUsage;
    }
    request.mutable_point()->set_latitude(lat);
    request.mutable_point()->set_longitude(lon);
  }
  request.set_within_km(o.within_km);
  request.set_min_available_hours(o.min_hours);
  request.set_accepting_external_requests(o.accepting);
  if (o.order == "distance") request.set_order_by(registry::v1::SEARCH_ORDER_DISTANCE);
  if (o.order == "hours") request.set_order_by(registry::v1::SEARCH_ORDER_AVAILABLE_HOURS);
  if (o.order == "name") request.set_order_by(registry::v1::SEARCH_ORDER_NAME);
  if (!o.available_on.empty() && !ParseDate(o.available_on, request.mutable_available_on())) {
    *ctx.err << "expertctl: search: --available-on must be a date YYYY-MM-DD\n";
    return kExitUsage;
  }

  // Walk pages until --limit results (0: all of them).
  auto stub = ctx.RegistryStub();
  registry::v1::SearchSpecialistsResponse all;
  std::set<std::string> unreachable;
  while (true) {
    const int remaining = o.limit > 0 ? o.limit - all.results_size() : 1000;
    request.set_page_size(std::min(remaining, 1000));
    grpc::ClientContext call;
    ctx.Prepare(&call);
    registry::v1::SearchSpecialistsResponse page;
    grpc::Status status = stub->SearchSpecialists(&call, request, &page);
    if (!status.ok()) return ctx.Fail("search", status);
    all.set_total_size(page.total_size());
    unreachable.insert(page.unreachable().begin(), page.unreachable().end());
    for (auto& result : *page.mutable_results()) *all.add_results() = std::move(result);
    if (page.next_page_token().empty() || (o.limit > 0 && all.results_size() >= o.limit)) {
      all.set_next_page_token(page.next_page_token());
      break;
    }
    request.set_page_token(page.next_page_token());
  }

  for (const std::string& region : unreachable) all.add_unreachable(region);
  WarnUnreachable(ctx, "search", all.unreachable());
  if (ctx.PrintedAsJson(all)) return kExitOk;
  const bool has_point = !o.near.empty() || !o.near_authority.empty();
  Table table;
  table.header = {"NAME", "DISPLAY NAME", "ROLE", "AUTHORITY"};
  if (has_point) table.header.push_back("KM");
  for (const char* h : {"AVAIL H/WK", "WAIT WKS", "EXTERNAL"}) table.header.push_back(h);
  for (const auto& r : all.results()) {
    const auto& s = r.specialist();
    std::vector<std::string> row = {s.name(), s.display_name(), s.role(),
                                    AuthorityName(s.owning_authority())};
    if (has_point) row.push_back(Hours(r.distance_km()));
    row.push_back(Hours(r.available_hours_per_week()));
    row.push_back(std::to_string(s.capacity().waiting_time_weeks()));
    row.push_back(s.capacity().accepting_external_requests() ? "yes" : "no");
    table.rows.push_back(std::move(row));
  }
  table.Print(ctx.format(), *ctx.out);
  if (ctx.format() == OutputFormat::kTable) {
    *ctx.out << all.results_size() << " of " << all.total_size() << " matches shown\n";
  }
  return kExitOk;
}

}  // namespace

void SetupSearch(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<SearchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "search", "Find specialists by need, setting, age, language, place and capacity");
  cmd->add_option("--region", options->region,
                  "Region id (north-east ...); default '-' means every region the server holds");
  cmd->add_option("--role", options->roles, "Role code (any of; repeatable). See 'taxonomy'");
  cmd->add_option("--specialism", options->specialisms, "Specialism code (all of; repeatable)");
  cmd->add_option("--setting", options->settings, "Setting code (all of; repeatable)");
  cmd->add_option("--language", options->languages, "Language tag, e.g. bfi for BSL (all of)");
  cmd->add_option("--authority", options->authorities,
                  "GSS code: owned by or covering (any of; repeatable)");
  cmd->add_option("--age", options->age, "Age that must be served (0-25)");
  cmd->add_option("--delivery", options->delivery, "in-person or remote")
      ->check(CLI::IsMember({"in-person", "remote"}));
  auto* near_la = cmd->add_option("--near-authority", options->near_authority,
                                  "Search from this authority's centre (GSS code)");
  cmd->add_option("--near", options->near, "Search from LAT,LON")->excludes(near_la);
  cmd->add_option("--within-km", options->within_km, "Only within this distance (km)");
  cmd->add_option("--min-hours", options->min_hours, "At least this many free hours per week");
  cmd->add_flag("--accepting", options->accepting, "Only those accepting other authorities' requests");
  cmd->add_option("--order", options->order, "distance, hours or name")
      ->check(CLI::IsMember({"distance", "hours", "name"}));
  cmd->add_option("--available-on", options->available_on, "Evaluate capacity on YYYY-MM-DD");
  cmd->add_option("--limit", options->limit, "Most results to show; 0 for all")->default_val(20);
  cmd->callback([options, &ctx, exit_code] { *exit_code = RunSearch(*options, ctx); });
}

}  // namespace expertise::expertctl
