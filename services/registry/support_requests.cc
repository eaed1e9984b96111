#include "services/registry/support_requests.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/civil_date.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/registry/resource_model.h"
#include "services/registry/sharing_changes.h"
#include "services/sharing/lifecycle.h"
#include "services/sharing/matching.h"

namespace expertise::registry {
namespace {

using sharing_internal::CheckRequestId;
using sharing_internal::DerivedId;
using sharing_internal::RandomId;
using sharing_internal::ParseSupportRequestName;
using sharing_internal::StampSupportRequest;

constexpr int kDefaultSuggestions = 10;
constexpr int kMaxSuggestions = 100;

}  // namespace

absl::StatusOr<v1::SupportRequest> SupportRequests::Create(
    const v1::CreateSupportRequestRequest& req, const CallAccess& access) {
  const RecordRules& rules = core_.rules();
  const RegionInfo& region = rules.region();
  if (req.parent() == "regions/-") {
    return InvalidFieldError("parent", "must name the requesting authority's region");
  }
  RETURN_IF_ERROR(rules.CheckParent(req.parent()));
  const absl::Time now = rules.Now();
  FieldViolations v;
  CheckRequestId(req.request_id(), false, &v);
  if (!req.has_support_request()) v.Add("support_request", "is required");
  RETURN_IF_ERROR(v.ToStatus());
  // A retry returns what the first call made, even after its deadline.
  if (!req.request_id().empty()) {
    const std::string id =
        DerivedId("r-", req.support_request().requesting_authority(), req.request_id());
    ReaderMutexLock lock(&core_.mu());
    const SupportRequestMap& requests = core_.support_requests();
    auto it = requests.find(id);
    if (it != requests.end()) {
      RETURN_IF_ERROR(access.CheckWrite(it->second->requesting_authority()));
      return *it->second;
    }
  }
  RETURN_IF_ERROR(
      sharing::ValidateNewSupportRequest(req.support_request(), rules.reference(), region.code, now));
  RETURN_IF_ERROR(access.CheckWrite(req.support_request().requesting_authority()));

  auto record = std::make_shared<v1::SupportRequest>();
  {
    const v1::SupportRequest& in = req.support_request();
    record->set_requesting_authority(in.requesting_authority());
    record->set_role(in.role());
    *record->mutable_specialisms() = in.specialisms();
    record->set_setting(in.setting());
    record->set_age_band(in.age_band());
    record->set_hours_per_week(in.hours_per_week());
    record->set_weeks(in.weeks());
    record->set_location_authority(in.location_authority());
    record->set_delivery_mode(in.delivery_mode());
    record->set_urgency(in.urgency());
    record->set_note(in.note());
    *record->mutable_start_date() =
        in.has_start_date() ? in.start_date() : DateFromEpochDays(rules.Today());
    *record->mutable_match_deadline() =
        in.has_match_deadline() ? in.match_deadline()
                                : ToProto(now + sharing::MatchWindow(in.urgency()));
  }
  record->set_effective_location_authority(record->location_authority().empty()
                                               ? record->requesting_authority()
                                               : record->location_authority());
  record->set_region_code(region.code);
  record->set_state(v1::SUPPORT_REQUEST_STATE_OPEN);

  RegistryCore::WriteScope write_scope(&core_);
  RETURN_IF_ERROR(write_scope.status());
  std::string id;
  {
    ReaderMutexLock lock(&core_.mu());
    const SupportRequestMap& requests = core_.support_requests();
    if (!req.request_id().empty()) {
      id = DerivedId("r-", record->requesting_authority(), req.request_id());
      auto it = requests.find(id);
      if (it != requests.end()) return *it->second;  // a retry: same answer
    } else {
      do {
        id = RandomId("r-");
      } while (requests.contains(id));
    }
  }
  record->set_name(absl::StrCat(region.resource_name(), "/supportRequests/", id));
  StampSupportRequest(record.get(), nullptr, now);
  const v1::SupportRequest result = *record;
  RETURN_IF_ERROR(core_.CommitAndPublish({}, {}, std::nullopt, {std::move(record)}));
  return result;
}

absl::StatusOr<v1::SupportRequest> SupportRequests::Get(
    const v1::GetSupportRequestRequest& req) const {
  ASSIGN_OR_RETURN(std::string id, ParseSupportRequestName(core_.rules().region(), req.name(), "name"));
  ReaderMutexLock lock(&core_.mu());
  const SupportRequestMap& requests = core_.support_requests();
  auto it = requests.find(id);
  if (it == requests.end()) {
    return absl::NotFoundError(absl::StrCat(req.name(), " does not exist"));
  }
  return *it->second;
}

absl::StatusOr<v1::ListSupportRequestsResponse> SupportRequests::List(
    const v1::ListSupportRequestsRequest& req) const {
  const RecordRules& rules = core_.rules();
  const ReferenceData& reference = rules.reference();
  RETURN_IF_ERROR(rules.CheckParent(req.parent()));
  FieldViolations v;
  if (req.page_size() < 0) v.Add("page_size", "must not be negative");
  for (int i = 0; i < req.states_size(); ++i) {
    if (!v1::SupportRequestState_IsValid(req.states(i)) ||
        req.states(i) == v1::SUPPORT_REQUEST_STATE_UNSPECIFIED) {
      v.Add(absl::StrCat("states[", i, "]"), "is not a support request state");
    }
  }
  if (!req.requesting_authority().empty() && !reference.FindAuthority(req.requesting_authority())) {
    v.Add("requesting_authority", "is not a known GSS code");
  }
  if (!req.role().empty() && reference.TermIndex(v1::TAXONOMY_KIND_ROLE, req.role()) < 0) {
    v.Add("role", "is not a role code");
  }
  RETURN_IF_ERROR(v.ToStatus());
  const RegistryOptions& options = rules.options();
  const int page_size = req.page_size() == 0 ? options.default_page_size
                                             : std::min(req.page_size(), options.max_page_size);

  std::vector<v1::SupportRequest> matches;
  {
    ReaderMutexLock lock(&core_.mu());
    for (const auto& [id, r] : core_.support_requests()) {
      if (req.states_size() > 0 &&
          std::find(req.states().begin(), req.states().end(), r->state()) == req.states().end()) {
        continue;
      }
      if (!req.requesting_authority().empty() &&
          r->requesting_authority() != req.requesting_authority()) {
        continue;
      }
      if (!req.role().empty() && r->role() != req.role()) continue;
      matches.push_back(*r);
    }
  }
  return PageSupportRequests(std::move(matches), req, page_size);
}

absl::StatusOr<v1::SuggestProvidersResponse> SupportRequests::SuggestProviders(
    const v1::SuggestProvidersRequest& req, const CallAccess& access) const {
  const RecordRules& rules = core_.rules();
  const ReferenceData& reference = rules.reference();
  FieldViolations v;
  if (req.max_suggestions() < 0) v.Add("max_suggestions", "must not be negative");
  RETURN_IF_ERROR(v.ToStatus());
  v1::SupportRequest request;
  if (req.has_support_request()) {
    request = req.support_request();
    if (!reference.FindAuthority(request.effective_location_authority()) ||
        reference.TermIndex(v1::TAXONOMY_KIND_ROLE, request.role()) < 0) {
      return InvalidFieldError("support_request", "must be a stored support request");
    }
  } else {
    v1::GetSupportRequestRequest get;
    get.set_name(req.name());
    ASSIGN_OR_RETURN(request, Get(get));
  }
  v1::SearchSpecialistsRequest search;
  search.set_parent(rules.region().resource_name());
  search.add_roles(request.role());
  search.set_near_authority(request.effective_location_authority());
  search.set_order_by(v1::SEARCH_ORDER_DISTANCE);
  search.set_page_size(rules.options().max_page_size);  // the nearest ones; documented
  ASSIGN_OR_RETURN(v1::SearchSpecialistsResponse found, queries_.Search(search, access));
  v1::SuggestProvidersResponse response;
  std::vector<v1::ProviderSuggestion> suggestions;
  for (v1::SearchResult& hit : *found.mutable_results()) {
    sharing::MatchScore score = sharing::ScoreMatch(request, hit.specialist(), hit.distance_km(),
                                                    hit.available_hours_per_week());
    if (!score.eligible) continue;
    v1::ProviderSuggestion& s = suggestions.emplace_back();
    *s.mutable_specialist() = std::move(*hit.mutable_specialist());
    s.set_distance_km(hit.distance_km());
    s.set_available_hours_per_week(hit.available_hours_per_week());
    s.set_score(score.score);
    for (std::string& reason : score.reasons) s.add_reasons(std::move(reason));
  }
  sharing::RankSuggestions(&suggestions);
  const int limit = req.max_suggestions() == 0 ? kDefaultSuggestions
                                               : std::min(req.max_suggestions(), kMaxSuggestions);
  if (static_cast<int>(suggestions.size()) > limit) suggestions.resize(limit);
  for (auto& s : suggestions) *response.add_suggestions() = std::move(s);
  return response;
}

}  // namespace expertise::registry
