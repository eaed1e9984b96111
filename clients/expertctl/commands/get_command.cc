#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "clients/expertctl/commands/commands.h"

namespace expertise::expertctl {
namespace {

struct GetOptions {
  std::string name;
  std::string region = "-";
};

std::string Date(const google::type::Date& d) {
  if (d.year() == 0) return "";
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

int RunGet(const GetOptions& o, const Context& ctx) {
  registry::v1::GetSpecialistRequest request;
  request.set_name(o.name.find('/') == std::string::npos
                       ? "regions/" + o.region + "/specialists/" + o.name
                       : o.name);
  registry::v1::Specialist s;
  if (auto failed = ctx.Call("get", &registry::v1::RegistryService::Stub::GetSpecialist, request, &s)) {
    return *failed;
  }
  if (ctx.PrintedAsJson(s)) return kExitOk;
  std::vector<std::string> modes;
  for (int m : s.delivery_modes()) {
    modes.push_back(m == registry::v1::DELIVERY_MODE_IN_PERSON ? "in-person" : "remote");
  }
  const auto& c = s.capacity();
  Table table;
  table.header = {"FIELD", "VALUE"};
  table.rows = {
      {"name", s.name()},
      {"display_name", s.display_name()},
      {"role", s.role()},
      {"owning_authority", s.owning_authority() + " " + AuthorityName(s.owning_authority())},
      {"source", s.source() + " / " + s.external_id()},
      {"specialisms", absl::StrJoin(s.specialisms(), ", ")},
      {"settings", absl::StrJoin(s.settings(), ", ")},
      {"ages", absl::StrFormat("%d-%d", s.age_range().min_age(), s.age_range().max_age())},
      {"languages", absl::StrJoin(s.languages(), ", ")},
      {"delivery", absl::StrJoin(modes, ", ")},
      {"base", absl::StrFormat("%.5f,%.5f%s", s.base_location().latitude(),
                               s.base_location().longitude(),
                               s.location_source() == registry::v1::LOCATION_SOURCE_AUTHORITY_CENTRE
                                   ? " (authority centre)" : "")},
      {"travel_radius_km", Hours(s.travel_radius_km())},
      {"covers", absl::StrJoin(s.covered_authorities(), ", ")},
      {"registration", absl::StrCat(s.registration().body(), " ", s.registration().number())},
      {"employer", registry::v1::EmployerType_Name(s.employer_type())},
      {"contact", absl::StrJoin({s.work_contact().email(), s.work_contact().phone(),
                                 s.work_contact().team()}, " | ")},
      {"visibility", registry::v1::Visibility_Name(s.visibility())},
      {"hours_per_week",
       absl::StrFormat("%s contracted, %s committed, %s shared with other authorities, %s available",
                       Hours(c.contracted_hours_per_week()), Hours(c.committed_hours_per_week()),
                       Hours(c.shared_committed_hours_per_week()),
                       Hours(c.available_hours_per_week()))},
      {"caseload", absl::StrFormat("%d of %d", c.current_caseload(), c.max_caseload())},
      {"waiting_weeks", std::to_string(c.waiting_time_weeks())},
      {"next_available", Date(c.next_available_date())},
      {"capacity_valid", absl::StrCat(Date(c.valid_from()), " .. ", Date(c.valid_to()))},
      {"accepting_external", c.accepting_external_requests() ? "yes" : "no"},
      {"last_verified", absl::FormatTime(absl::RFC3339_sec,
                                         absl::FromUnixSeconds(s.last_verify_time().seconds()),
                                         absl::UTCTimeZone())},
      {"etag", s.etag()},
  };
  // Hours offered to or committed for other authorities' support requests.
  for (const registry::v1::CapacityCommitment& commitment : s.commitments()) {
    table.rows.push_back(
        {"commitment",
         absl::StrFormat("%s: %s, %s h/wk for %s (%s), %s to %s",
                         commitment.name().substr(commitment.name().rfind('/') + 1),
                         registry::v1::CapacityCommitment::State_Name(commitment.state()),
                         Hours(commitment.hours_per_week()), commitment.requesting_authority(),
                         AuthorityName(commitment.requesting_authority()), Date(commitment.start_date()),
                         Date(commitment.end_date()))});
  }
  table.Print(ctx.format(), *ctx.out);
  return kExitOk;
}

}  // namespace

void SetupGet(CLI::App& app, const Context& ctx, int* exit_code) {
  auto options = std::make_shared<GetOptions>();
  CLI::App* cmd = app.add_subcommand("get", "Show one specialist");
  cmd->add_option("name", options->name,
                  "regions/{region}/specialists/{id}, or just the id")->required();
  cmd->add_option("--region", options->region, "Region id when only an id is given");
  cmd->callback([options, &ctx, exit_code] { *exit_code = RunGet(*options, ctx); });
}

}  // namespace expertise::expertctl
