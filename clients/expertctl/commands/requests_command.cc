// expertctl requests: support requests between local authorities (create,
// list, show, suggest, offer, accept, decline, withdraw, complete, escalate)
// through CapacitySharingService.

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "clients/expertctl/commands/commands.h"
#include "expertise/registry/v1/sharing_service.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/common/civil_date.h"
#include "services/common/error_reasons.h"
#include "services/common/reference/reference_data.h"

namespace expertise::expertctl {
namespace {

namespace rv1 = registry::v1;
using SharingStub = rv1::CapacitySharingService::Stub;

// One CapacitySharingService call with the global deadline. On failure the
// error is printed (and the status kept in *failed, when given) and its exit
// code returned.
template <typename Request, typename Response>
std::optional<int> SharingCall(const Context& ctx, const std::string& verb,
                               grpc::Status (SharingStub::*method)(grpc::ClientContext*,
                                                                   const Request&, Response*),
                               const Request& request, Response* response,
                               grpc::Status* failed = nullptr) {
  auto stub = rv1::CapacitySharingService::NewStub(ctx.Channel());
  grpc::ClientContext call;
  ctx.Prepare(&call);
  grpc::Status status = ((*stub).*method)(&call, request, response);
  if (status.ok()) return std::nullopt;
  if (failed) *failed = status;
  return ctx.Fail(verb, status);
}

// The ErrorInfo reason of a failed call, or "".
std::string ErrorReason(const grpc::Status& status) {
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) return "";
  google::rpc::ErrorInfo info;
  for (const auto& any : details.details()) {
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

// 128 random bits as 32 hex digits: an idempotency key.
std::string NewRequestId() {
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) id += absl::StrFormat("%08x", static_cast<uint32_t>(random()));
  return id;
}

// Uses `given` or makes a new id, printing it so the user can retry safely.
std::string RequestIdFor(const Context& ctx, const std::string& verb, const std::string& given) {
  if (!given.empty()) return given;
  std::string id = NewRequestId();
  *ctx.err << "expertctl: " << verb << ": request id " << id << " (retry with --request-id " << id
           << " if the outcome is unknown)\n";
  return id;
}

// A bare id is looked up in every region ("regions/-/supportRequests/ID").
std::string RequestName(const std::string& name) {
  return name.find('/') == std::string::npos ? "regions/-/supportRequests/" + name : name;
}

// "SUPPORT_REQUEST_STATE_OPEN" -> "open", "AGE_BAND_POST_16" -> "post-16".
std::string EnumText(const std::string& name, const std::string& prefix) {
  std::string text = name.substr(std::min(prefix.size(), name.size()));
  text = absl::AsciiStrToLower(text);
  return absl::StrReplaceAll(text, {{"_", "-"}});
}

std::string StateText(rv1::SupportRequestState state) {
  return EnumText(rv1::SupportRequestState_Name(state), "SUPPORT_REQUEST_STATE_");
}

const std::map<std::string, rv1::SupportRequestState>& States() {
  static const auto* states = [] {
    auto* m = new std::map<std::string, rv1::SupportRequestState>;
    for (int i = rv1::SupportRequestState_MIN + 1; i <= rv1::SupportRequestState_MAX; ++i) {
      if (!rv1::SupportRequestState_IsValid(i)) continue;
      const auto state = static_cast<rv1::SupportRequestState>(i);
      (*m)[StateText(state)] = state;
    }
    return m;
  }();
  return *states;
}

std::vector<std::string> Keys(const std::map<std::string, rv1::SupportRequestState>& m) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : m) keys.push_back(k);
  return keys;
}

std::string Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixSeconds(t.seconds()), absl::UTCTimeZone());
}

std::string Date(const google::type::Date& d) {
  if (d.year() == 0) return "";
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

std::string Location(const rv1::SupportRequest& r) {
  const std::string& code =
      r.effective_location_authority().empty() ? r.location_authority() : r.effective_location_authority();
  return code.empty() ? AuthorityName(r.requesting_authority()) : AuthorityName(code);
}

// Whole days since the request was created.
std::string AgeDays(const rv1::SupportRequest& r) {
  if (r.create_time().seconds() == 0) return "";
  const int64_t days =
      (absl::ToUnixSeconds(absl::Now()) - r.create_time().seconds()) / (24 * 60 * 60);
  return absl::StrCat(std::max<int64_t>(days, 0));
}

// The one-row summary printed after create and each state change.
int PrintSummary(const Context& ctx, const rv1::SupportRequest& r) {
  if (ctx.PrintedAsJson(r)) return kExitOk;
  Table table;
  table.header = {"NAME", "STATE", "ROLE", "SETTING", "HOURS", "LOCATION", "DEADLINE"};
  table.rows.push_back({r.name(), StateText(r.state()), r.role(), r.setting(),
                        absl::StrCat(Hours(r.hours_per_week()), " h/wk x ", r.weeks(), " wks"),
                        Location(r), Time(r.match_deadline())});
  table.Print(ctx.format(), *ctx.out);
  return kExitOk;
}

// ---------------------------------------------------------------------------
// create

struct CreateOptions {
  std::string authority, role, setting, age_band, location, mode, urgency, note, start, request_id;
  std::vector<std::string> specialisms;
  double hours = 0;
  int weeks = 0;
};

int RunCreate(const Context& ctx, const CreateOptions& o) {
  const std::string verb = "requests create";
  const AuthorityInfo* la = ReferenceData::Get().FindAuthority(o.authority);
  const RegionInfo* region = la ? ReferenceData::Get().FindRegion(la->region_code) : nullptr;
  if (!region) {
    *ctx.err << "expertctl: " << verb << ": --authority " << o.authority
             << " is not a known GSS code of an English upper-tier authority (see 'authorities')\n";
    return kExitUsage;
  }
  rv1::CreateSupportRequestRequest request;
  request.set_parent(region->resource_name());
  rv1::SupportRequest* r = request.mutable_support_request();
  r->set_requesting_authority(la->code);
  r->set_role(o.role);
  for (const auto& s : o.specialisms) r->add_specialisms(s);
  r->set_setting(o.setting);
  static const std::map<std::string, rv1::AgeBand> kAgeBands = {
      {"early-years", rv1::AGE_BAND_EARLY_YEARS},
      {"primary", rv1::AGE_BAND_PRIMARY},
      {"secondary", rv1::AGE_BAND_SECONDARY},
      {"post-16", rv1::AGE_BAND_POST_16}};
  if (!o.age_band.empty()) r->set_age_band(kAgeBands.at(o.age_band));
  r->set_hours_per_week(o.hours);
  r->set_weeks(o.weeks);
  r->set_location_authority(o.location);
  if (o.mode == "in-person") r->set_delivery_mode(rv1::DELIVERY_MODE_IN_PERSON);
  if (o.mode == "remote") r->set_delivery_mode(rv1::DELIVERY_MODE_REMOTE);
  static const std::map<std::string, rv1::Urgency> kUrgencies = {
      {"routine", rv1::URGENCY_ROUTINE}, {"soon", rv1::URGENCY_SOON}, {"urgent", rv1::URGENCY_URGENT}};
  if (!o.urgency.empty()) r->set_urgency(kUrgencies.at(o.urgency));
  r->set_note(o.note);
  if (!o.start.empty() && !ParseDate(o.start, r->mutable_start_date())) {
    *ctx.err << "expertctl: " << verb << ": --start must be a date YYYY-MM-DD\n";
    return kExitUsage;
  }
  request.set_request_id(RequestIdFor(ctx, verb, o.request_id));
  rv1::SupportRequest created;
  if (auto failed = SharingCall(ctx, verb, &SharingStub::CreateSupportRequest, request, &created)) {
    return *failed;
  }
  return PrintSummary(ctx, created);
}

// ---------------------------------------------------------------------------
// list

struct ListOptions {
  std::string region = "-";
  std::vector<std::string> states;
  std::string authority, role;
  int page_size = 0;
  bool all = false;
};

int RunList(const Context& ctx, const ListOptions& o) {
  const std::string verb = "requests list";
  rv1::ListSupportRequestsRequest request;
  request.set_parent(absl::StartsWith(o.region, "regions/") ? o.region : "regions/" + o.region);
  for (const auto& s : o.states) request.add_states(States().at(s));
  request.set_requesting_authority(o.authority);
  request.set_role(o.role);
  request.set_page_size(o.page_size);
  rv1::ListSupportRequestsResponse all;
  std::set<std::string> unreachable;
  while (true) {
    rv1::ListSupportRequestsResponse page;
    if (auto failed = SharingCall(ctx, verb, &SharingStub::ListSupportRequests, request, &page)) {
      return *failed;
    }
    unreachable.insert(page.unreachable().begin(), page.unreachable().end());
    for (auto& r : *page.mutable_support_requests()) *all.add_support_requests() = std::move(r);
    all.set_next_page_token(page.next_page_token());
    if (!o.all || page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  for (const std::string& region : unreachable) all.add_unreachable(region);
  WarnUnreachable(ctx, verb, all.unreachable());
  if (ctx.PrintedAsJson(all)) return kExitOk;
  Table table;
  table.header = {"NAME", "STATE", "AUTHORITY", "ROLE", "SETTING", "H/WK", "WEEKS", "OFFERS", "AGE (DAYS)"};
  for (const auto& r : all.support_requests()) {
    table.rows.push_back({r.name(), StateText(r.state()), AuthorityName(r.requesting_authority()),
                          r.role(), r.setting(), Hours(r.hours_per_week()), absl::StrCat(r.weeks()),
                          absl::StrCat(r.offers_size()), AgeDays(r)});
  }
  table.Print(ctx.format(), *ctx.out);
  if (ctx.format() == OutputFormat::kTable && !all.next_page_token().empty()) {
    *ctx.err << "expertctl: " << verb << ": more requests than shown; add --all for every page\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// show and suggest

struct NameOptions {
  std::string name;
  int max = 0;
  std::string specialist, note, request_id, offer_id, reason, commitment, provider_authority;
  double hours = 0;
  bool registry = false;
};

std::string OfferStateText(rv1::SupportOffer::State state) {
  return absl::AsciiStrToLower(rv1::SupportOffer::State_Name(state));
}

int RunShow(const Context& ctx, const NameOptions& o) {
  const std::string verb = "requests show";
  rv1::GetSupportRequestRequest request;
  request.set_name(RequestName(o.name));
  rv1::SupportRequest r;
  if (auto failed = SharingCall(ctx, verb, &SharingStub::GetSupportRequest, request, &r)) {
    return *failed;
  }
  if (ctx.PrintedAsJson(r)) return kExitOk;
  std::vector<std::string> specialisms(r.specialisms().begin(), r.specialisms().end());
  const std::string mode = r.delivery_mode() == rv1::DELIVERY_MODE_UNSPECIFIED
                               ? "any"
                               : EnumText(rv1::DeliveryMode_Name(r.delivery_mode()), "DELIVERY_MODE_");
  const std::string age = r.age_band() == rv1::AGE_BAND_UNSPECIFIED
                              ? "any"
                              : EnumText(rv1::AgeBand_Name(r.age_band()), "AGE_BAND_");
  const std::string urgency = r.urgency() == rv1::URGENCY_UNSPECIFIED
                                  ? "routine"
                                  : EnumText(rv1::Urgency_Name(r.urgency()), "URGENCY_");
  Table table;
  table.header = {"FIELD", "VALUE"};
  table.rows = {
      {"name", r.name()},
      {"state", StateText(r.state())},
      {"state_reason", r.state_reason()},
      {"requesting_authority", absl::StrCat(r.requesting_authority(), " (",
                                            AuthorityName(r.requesting_authority()), ")")},
      {"role", r.role()},
      {"specialisms", absl::StrJoin(specialisms, ", ")},
      {"setting", r.setting()},
      {"age_band", age},
      {"hours", absl::StrCat(Hours(r.hours_per_week()), " h/wk x ", r.weeks(), " wks")},
      {"start_date", Date(r.start_date())},
      {"location", Location(r)},
      {"delivery_mode", mode},
      {"urgency", urgency},
      {"note", r.note()},
      {"match_deadline", Time(r.match_deadline())},
      {"accepted_offer", r.accepted_offer_id()},
      {"escalation_owner", r.escalation_owner()},
      {"created", Time(r.create_time())},
      {"updated", Time(r.update_time())},
  };
  // Empty optional fields are left out of the table.
  std::erase_if(table.rows, [&](const std::vector<std::string>& row) {
    return ctx.format() == OutputFormat::kTable && row[1].empty();
  });
  table.Print(ctx.format(), *ctx.out);
  if (r.offers_size() == 0) {
    if (ctx.format() == OutputFormat::kTable) *ctx.out << "\nno offers yet\n";
    return kExitOk;
  }
  Table offers;
  offers.header = {"OFFER", "STATE", "SPECIALIST", "PROVIDER", "H/WK", "FROM", "TO", "OFFERED", "NOTE"};
  for (const auto& offer : r.offers()) {
    offers.rows.push_back({offer.offer_id(), OfferStateText(offer.state()), offer.specialist(),
                           AuthorityName(offer.provider_authority()), Hours(offer.hours_per_week()),
                           Date(offer.start_date()), Date(offer.end_date()), Time(offer.create_time()),
                           offer.note()});
  }
  *ctx.out << "\n";
  offers.Print(ctx.format(), *ctx.out);
  return kExitOk;
}

int RunSuggest(const Context& ctx, const NameOptions& o) {
  const std::string verb = "requests suggest";
  rv1::SuggestProvidersRequest request;
  request.set_name(RequestName(o.name));
  request.set_max_suggestions(o.max);
  rv1::SuggestProvidersResponse response;
  if (auto failed = SharingCall(ctx, verb, &SharingStub::SuggestProviders, request, &response)) {
    return *failed;
  }
  WarnUnreachable(ctx, verb, response.unreachable());
  if (ctx.PrintedAsJson(response)) return kExitOk;
  Table table;
  table.header = {"SCORE", "SPECIALIST", "DISPLAY NAME", "AUTHORITY", "KM", "AVAIL H/WK", "REASONS"};
  for (const auto& s : response.suggestions()) {
    std::vector<std::string> reasons(s.reasons().begin(), s.reasons().end());
    table.rows.push_back({absl::StrFormat("%.1f", s.score()), s.specialist().name(),
                          s.specialist().display_name(), AuthorityName(s.specialist().owning_authority()),
                          Hours(s.distance_km()), Hours(s.available_hours_per_week()),
                          absl::StrJoin(reasons, "; ")});
  }
  table.Print(ctx.format(), *ctx.out);
  if (ctx.format() == OutputFormat::kTable && response.suggestions_size() == 0) {
    *ctx.out << "no suggestions: no visible specialist of the role has hours to offer\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// offer and accept

// At a registry (--registry): the provider's OFFERED commitment is created
// first, as the directory does for offers made through it.
std::optional<int> CreateCommitment(const Context& ctx, const std::string& verb,
                                    const std::string& name, const NameOptions& o,
                                    const std::string& request_id, std::string* commitment,
                                    std::string* provider_authority) {
  rv1::GetSupportRequestRequest get;
  get.set_name(name);
  rv1::SupportRequest r;
  if (auto failed = SharingCall(ctx, verb, &SharingStub::GetSupportRequest, get, &r)) return failed;
  rv1::GetSpecialistRequest get_specialist;
  get_specialist.set_name(o.specialist);
  rv1::Specialist specialist;
  if (auto failed = ctx.Call(verb, &rv1::RegistryService::Stub::GetSpecialist, get_specialist,
                             &specialist)) {
    return failed;
  }
  *provider_authority = specialist.owning_authority();
  rv1::CreateCapacityCommitmentRequest create;
  create.set_parent(specialist.name());
  create.set_request_id(request_id);
  rv1::CapacityCommitment* c = create.mutable_commitment();
  c->set_support_request(r.name());
  c->set_requesting_authority(r.requesting_authority());
  c->set_hours_per_week(o.hours > 0 ? o.hours : r.hours_per_week());
  *c->mutable_start_date() = r.start_date();
  if (r.start_date().year() > 0) {
    *c->mutable_end_date() = ToDateProto(ToCivilDay(r.start_date()) + (7 * std::max(r.weeks(), 1) - 1));
  }
  rv1::CapacityCommitment created;
  if (auto failed = SharingCall(ctx, verb, &SharingStub::CreateCapacityCommitment, create, &created)) {
    return failed;
  }
  *commitment = created.name();
  return std::nullopt;
}

int RunOffer(const Context& ctx, const NameOptions& o) {
  const std::string verb = "requests offer";
  rv1::OfferSupportRequest request;
  request.set_name(RequestName(o.name));
  request.set_request_id(RequestIdFor(ctx, verb, o.request_id));
  rv1::SupportOffer* offer = request.mutable_offer();
  offer->set_specialist(o.specialist);
  offer->set_hours_per_week(o.hours);
  offer->set_note(o.note);
  offer->set_provider_authority(o.provider_authority);
  request.set_commitment(o.commitment);
  if (o.registry && o.commitment.empty()) {
    std::string provider;
    if (auto failed = CreateCommitment(ctx, verb, request.name(), o, request.request_id(),
                                       request.mutable_commitment(), &provider)) {
      return *failed;
    }
    if (offer->provider_authority().empty()) offer->set_provider_authority(provider);
  }
  rv1::SupportRequest r;
  grpc::Status status;
  if (auto failed = SharingCall(ctx, verb, &SharingStub::OfferSupport, request, &r, &status)) {
    // A registry wants the provider's commitment, which the directory makes.
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT && request.commitment().empty() &&
        absl::StrContains(status.error_message(), "commitment")) {
      *ctx.err << "expertctl: " << verb << ": is --server a regional registry rather than the "
               << "directory? Add --registry to create the provider's commitment first\n";
    }
    return *failed;
  }
  if (ctx.PrintedAsJson(r)) return kExitOk;
  PrintSummary(ctx, r);
  // The offer just made (the one with our specialist, newest first).
  for (int i = r.offers_size() - 1; i >= 0; --i) {
    if (r.offers(i).specialist() == o.specialist && ctx.format() == OutputFormat::kTable) {
      *ctx.out << "offer " << r.offers(i).offer_id() << ": " << Hours(r.offers(i).hours_per_week())
               << " h/wk from " << Date(r.offers(i).start_date()) << " to "
               << Date(r.offers(i).end_date()) << "\n";
      break;
    }
  }
  return kExitOk;
}

int RunAccept(const Context& ctx, const NameOptions& o) {
  const std::string verb = "requests accept";
  rv1::AcceptOfferRequest request;
  request.set_name(RequestName(o.name));
  request.set_offer_id(o.offer_id);
  request.set_request_id(RequestIdFor(ctx, verb, o.request_id));
  auto stub = rv1::CapacitySharingService::NewStub(ctx.Channel());
  grpc::ClientContext call;
  ctx.Prepare(&call);
  rv1::SupportRequest r;
  grpc::Status status = stub->AcceptOffer(&call, request, &r);
  if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
      ErrorReason(status) == reasons::kInsufficientCapacity) {
    *ctx.err << "expertctl: " << verb << ": another request took the offered hours since the offer "
             << "was made, so nothing was accepted (" << status.error_message()
             << "). Ask for another offer or decline this one.\n";
    return kExitConflict;
  }
  if (!status.ok()) return ctx.Fail(verb, status);
  return PrintSummary(ctx, r);
}

// ---------------------------------------------------------------------------
// decline, withdraw, complete, escalate

int RunDecline(const Context& ctx, const NameOptions& o) {
  rv1::DeclineOffersRequest request;
  request.set_name(RequestName(o.name));
  request.set_reason(o.reason);
  rv1::SupportRequest r;
  if (auto failed = SharingCall(ctx, "requests decline", &SharingStub::DeclineOffers, request, &r)) {
    return *failed;
  }
  return PrintSummary(ctx, r);
}

int RunWithdraw(const Context& ctx, const NameOptions& o) {
  rv1::WithdrawSupportRequestRequest request;
  request.set_name(RequestName(o.name));
  request.set_reason(o.reason);
  rv1::SupportRequest r;
  if (auto failed = SharingCall(ctx, "requests withdraw", &SharingStub::WithdrawSupportRequest,
                                request, &r)) {
    return *failed;
  }
  return PrintSummary(ctx, r);
}

int RunComplete(const Context& ctx, const NameOptions& o) {
  rv1::CompleteSupportRequestRequest request;
  request.set_name(RequestName(o.name));
  rv1::SupportRequest r;
  if (auto failed = SharingCall(ctx, "requests complete", &SharingStub::CompleteSupportRequest,
                                request, &r)) {
    return *failed;
  }
  return PrintSummary(ctx, r);
}

int RunEscalate(const Context& ctx, const NameOptions& o) {
  rv1::EscalateSupportRequestRequest request;
  request.set_name(RequestName(o.name));
  request.set_reason(o.reason);
  rv1::SupportRequest r;
  if (auto failed = SharingCall(ctx, "requests escalate", &SharingStub::EscalateSupportRequest,
                                request, &r)) {
    return *failed;
  }
  return PrintSummary(ctx, r);
}

CLI::App* NameCommand(CLI::App* parent, const std::string& verb, const std::string& what,
                      const std::shared_ptr<NameOptions>& options) {
  CLI::App* cmd = parent->add_subcommand(verb, what);
  cmd->add_option("name", options->name,
                  "The support request: regions/{region}/supportRequests/{id} (an id alone: any region)")
      ->required();
  return cmd;
}

}  // namespace

void SetupRequests(CLI::App& app, const Context& ctx, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "requests", "Support requests between authorities: ask for, offer and accept specialist hours");
  cmd->require_subcommand(1);

  auto create = std::make_shared<CreateOptions>();
  CLI::App* c = cmd->add_subcommand("create", "Ask for a specialist's hours (in the authority's region)");
  c->add_option("--authority", create->authority, "Requesting authority (GSS code)")->required();
  c->add_option("--role", create->role, "Role needed (see 'taxonomy --kind role')")->required();
  c->add_option("--specialism", create->specialisms, "Specialism the need calls for (repeatable)");
  c->add_option("--setting", create->setting, "Setting where support is delivered")->required();
  c->add_option("--age-band", create->age_band, "early-years, primary, secondary or post-16")
      ->check(CLI::IsMember({"early-years", "primary", "secondary", "post-16"}));
  c->add_option("--hours", create->hours, "Hours per week needed")->required();
  c->add_option("--weeks", create->weeks, "Number of weeks (1 to 104)")->required();
  c->add_option("--location", create->location,
                "Authority where support is needed (GSS code; default the requester)");
  c->add_option("--mode", create->mode, "Delivery: in-person or remote (default any)")
      ->check(CLI::IsMember({"in-person", "remote", "any"}));
  c->add_option("--urgency", create->urgency, "routine (28 days to match), soon (14) or urgent (5)")
      ->check(CLI::IsMember({"routine", "soon", "urgent"}));
  c->add_option("--note", create->note, "Describe the need, never a child (at most 500 characters)");
  c->add_option("--start", create->start, "First day support is needed, YYYY-MM-DD (default today)");
  c->add_option("--request-id", create->request_id,
                "Idempotency key; default a new random one, printed so a retry can reuse it");
  c->callback([&ctx, create, exit_code] { *exit_code = RunCreate(ctx, *create); });

  auto list = std::make_shared<ListOptions>();
  CLI::App* l = cmd->add_subcommand("list", "List support requests, oldest first");
  l->add_option("--region", list->region, "Region id; default '-' means every region the server holds");
  l->add_option("--state", list->states, "Only these states (repeatable)")
      ->check(CLI::IsMember(Keys(States())));
  l->add_option("--authority", list->authority, "Only requests from this authority (GSS code)");
  l->add_option("--role", list->role, "Only requests for this role");
  l->add_option("--page-size", list->page_size, "Requests per call (default the server's, 50)");
  l->add_flag("--all", list->all, "Fetch every page");
  l->callback([&ctx, list, exit_code] { *exit_code = RunList(ctx, *list); });

  auto options = std::make_shared<NameOptions>();
  NameCommand(cmd, "show", "One support request and its offers", options)
      ->callback([&ctx, options, exit_code] { *exit_code = RunShow(ctx, *options); });

  CLI::App* s = NameCommand(cmd, "suggest", "Rank specialists for a request, with reasons", options);
  s->add_option("--max", options->max, "Most suggestions (default 10, at most 100)");
  s->callback([&ctx, options, exit_code] { *exit_code = RunSuggest(ctx, *options); });

  CLI::App* o = NameCommand(cmd, "offer", "Offer a specialist's hours for a request", options);
  o->add_option("--specialist", options->specialist,
                "The specialist offered: regions/{region}/specialists/{id}")
      ->required();
  o->add_option("--hours", options->hours, "Hours per week offered (default the request's)");
  o->add_option("--note", options->note, "A short note to the requester (at most 500 characters)");
  o->add_option("--request-id", options->request_id,
                "Idempotency key; default a new random one, printed so a retry can reuse it");
  o->add_flag("--registry", options->registry,
              "The server is a regional registry, not the directory: create the provider's commitment "
              "first, as the directory does");
  o->add_option("--commitment", options->commitment,
                "At a registry: the provider's existing commitment ({specialist}/commitments/{id})");
  o->add_option("--provider-authority", options->provider_authority,
                "At a registry: GSS code of the authority owning the specialist");
  o->callback([&ctx, options, exit_code] { *exit_code = RunOffer(ctx, *options); });

  CLI::App* a = NameCommand(cmd, "accept", "Accept an offer: commits the provider's hours", options);
  a->add_option("--offer", options->offer_id, "The offer's id (o-1, o-2, ...; see 'requests show')")
      ->required();
  a->add_option("--request-id", options->request_id,
                "Idempotency key; default a new random one, printed so a retry can reuse it");
  a->callback([&ctx, options, exit_code] { *exit_code = RunAccept(ctx, *options); });

  CLI::App* d = NameCommand(cmd, "decline", "Decline the pending offers", options);
  d->add_option("--reason", options->reason, "Why (at most 500 characters)");
  d->callback([&ctx, options, exit_code] { *exit_code = RunDecline(ctx, *options); });

  CLI::App* w = NameCommand(cmd, "withdraw", "Withdraw a request, releasing committed hours", options);
  w->add_option("--reason", options->reason, "Why (at most 500 characters)");
  w->callback([&ctx, options, exit_code] { *exit_code = RunWithdraw(ctx, *options); });

  NameCommand(cmd, "complete", "Mark accepted or active work done", options)
      ->callback([&ctx, options, exit_code] { *exit_code = RunComplete(ctx, *options); });

  CLI::App* e = NameCommand(cmd, "escalate", "Escalate as unmet need to the region's coordinator",
                            options);
  e->add_option("--reason", options->reason, "Why the need cannot be met (at most 500 characters)")
      ->required();
  e->callback([&ctx, options, exit_code] { *exit_code = RunEscalate(ctx, *options); });
}

}  // namespace expertise::expertctl
