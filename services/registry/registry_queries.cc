#include "services/registry/registry_queries.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/civil_date.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/registry/page_token.h"
#include "services/registry/resource_model.h"
#include "services/registry/validation.h"

namespace expertise::registry {
namespace {

// Resolves taxonomy codes into a bit mask, reporting unknown codes.
uint64_t CodeMask(const google::protobuf::RepeatedPtrField<std::string>& codes,
                  v1::TaxonomyKind kind, absl::string_view field, const ReferenceData& reference,
                  FieldViolations* v) {
  uint64_t mask = 0;
  for (int i = 0; i < codes.size(); ++i) {
    const int index = reference.TermIndex(kind, codes[i]);
    if (index < 0) {
      v->Add(absl::StrCat(field, "[", i, "]"),
             absl::StrCat("unknown code '", codes[i].substr(0, 80), "'"));
    } else {
      mask |= uint64_t{1} << index;
    }
  }
  return mask;
}

}  // namespace

absl::StatusOr<v1::SearchSpecialistsResponse> RegistryQueries::Search(
    const v1::SearchSpecialistsRequest& req, const CallAccess& access) const {
  const RecordRules& rules = core_.rules();
  const ReferenceData& reference = rules.reference();
  RETURN_IF_ERROR(rules.CheckParent(req.parent()));
  FieldViolations v;
  SearchQuery q;
  for (const auto& [field, size, cap] :
       {std::tuple{"roles", req.roles_size(), 64}, std::tuple{"specialisms", req.specialisms_size(), 64},
        std::tuple{"settings", req.settings_size(), 64}, std::tuple{"languages", req.languages_size(), 20},
        std::tuple{"authorities", req.authorities_size(), 200}}) {
    if (size > cap) {
      v.Add(field, absl::StrCat("at most ", cap, " entries"));
      return v.ToStatus();
    }
  }
  q.role_mask = CodeMask(req.roles(), v1::TAXONOMY_KIND_ROLE, "roles", reference, &v);
  q.specialism_mask =
      CodeMask(req.specialisms(), v1::TAXONOMY_KIND_SPECIALISM, "specialisms", reference, &v);
  q.setting_mask = CodeMask(req.settings(), v1::TAXONOMY_KIND_SETTING, "settings", reference, &v);
  if (req.has_age()) {
    if (req.age() < 0 || req.age() > kMaxAge) v.Add("age", "must be between 0 and 25");
    q.age = req.age();
  }
  for (int i = 0; i < req.languages_size(); ++i) {
    if (!IsValidLanguageTag(req.languages(i))) {
      v.Add(absl::StrCat("languages[", i, "]"), "must be a BCP 47 tag such as 'en' or 'bfi'");
    }
  }
  if (!v1::DeliveryMode_IsValid(req.delivery_mode())) {
    v.Add("delivery_mode", "is not a known delivery mode");
  }
  q.delivery_mode = req.delivery_mode();
  for (int i = 0; i < req.authorities_size(); ++i) {
    const AuthorityInfo* la = reference.FindAuthority(req.authorities(i));
    if (!la) {
      v.Add(absl::StrCat("authorities[", i, "]"), "is not a known GSS code");
    } else {
      q.authorities.push_back(la->index);
    }
  }
  if (req.has_point()) {
    const double lat = req.point().latitude(), lon = req.point().longitude();
    if (!std::isfinite(lat) || lat < -90 || lat > 90) v.Add("point.latitude", "must be -90 to 90");
    if (!std::isfinite(lon) || lon < -180 || lon > 180) {
      v.Add("point.longitude", "must be -180 to 180");
    }
    q.has_point = true;
    q.latitude = lat;
    q.longitude = lon;
  } else if (req.has_near_authority()) {
    const AuthorityInfo* la = reference.FindAuthority(req.near_authority());
    if (!la) {
      v.Add("near_authority", "is not a known GSS code");
    } else {
      q.has_point = true;
      q.latitude = la->latitude;
      q.longitude = la->longitude;
    }
  }
  if (!std::isfinite(req.within_km()) || req.within_km() < 0 || req.within_km() > 2000) {
    v.Add("within_km", "must be between 0 and 2000");
  } else if (req.within_km() > 0 && !req.has_point() && !req.has_near_authority()) {
    v.Add("within_km", "needs a search point (point or near_authority)");
  }
  q.within_km = req.within_km();
  if (!std::isfinite(req.min_available_hours()) || req.min_available_hours() < 0 ||
      req.min_available_hours() > kMaxHoursPerWeek) {
    v.Add("min_available_hours", "must be between 0 and 168");
  }
  q.min_available_hours = req.min_available_hours();
  q.accepting_only = req.accepting_external_requests();
  if (req.has_available_on() && !IsFullCalendarDate(req.available_on())) {
    v.Add("available_on", "must be a full calendar date");
  }
  switch (req.order_by()) {
    case v1::SEARCH_ORDER_UNSPECIFIED:
      q.order = q.has_point ? SearchQuery::Order::kDistance : SearchQuery::Order::kName;
      break;
    case v1::SEARCH_ORDER_DISTANCE:
      if (!req.has_point() && !req.has_near_authority()) {
        v.Add("order_by", "distance order needs a search point (point or near_authority)");
      }
      q.order = SearchQuery::Order::kDistance;
      break;
    case v1::SEARCH_ORDER_AVAILABLE_HOURS:
      q.order = SearchQuery::Order::kAvailableHours;
      break;
    case v1::SEARCH_ORDER_NAME:
      q.order = SearchQuery::Order::kName;
      break;
    default:
      v.Add("order_by", "is not a known order");
  }
  q.limit = ClampPageSize(req.page_size(), rules.options(), &v);
  RETURN_IF_ERROR(v.ToStatus());

  const uint64_t fingerprint = RequestFingerprint(req);
  q.day = req.has_available_on() ? DaysSinceEpoch(req.available_on())
                                 : rules.Today();
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(PageCursor cursor, DecodePageToken(req.page_token()));
    if (cursor.fingerprint != fingerprint) {
      return InvalidFieldError("page_token", "was made for a request with other parameters");
    }
    // Later pages keep the first page's day, so a walk across midnight stays consistent.
    q.day = cursor.day;
    q.has_cursor = true;
    q.cursor_key = cursor.key;
    q.cursor_name = cursor.last_name;
  }

  SearchPage page;
  {
    ReaderMutexLock lock(&core_.mu());
    const SpecialistIndex& index = core_.index();
    for (const std::string& tag : req.languages()) {
      if (auto id = index.LanguageId(tag)) {
        q.languages.push_back(*id);
      } else {
        q.impossible = true;  // no record works in that language
      }
    }
    q.scope = access.read ? &*access.read : nullptr;
    page = index.Search(q);
  }
  v1::SearchSpecialistsResponse response;
  response.mutable_results()->Reserve(static_cast<int>(page.hits.size()));
  for (const SearchHit& hit : page.hits) {
    v1::SearchResult* result = response.add_results();
    *result->mutable_specialist() = *hit.specialist;
    result->set_distance_km(hit.distance_km);
    result->set_available_hours_per_week(hit.available_hours);
  }
  response.set_total_size(static_cast<int32_t>(page.total));
  if (page.more && !page.hits.empty()) {
    PageCursor cursor;
    cursor.fingerprint = fingerprint;
    cursor.day = q.day;
    cursor.key = page.hits.back().sort_key;
    cursor.last_name = page.hits.back().specialist->name();
    response.set_next_page_token(EncodePageToken(cursor));
  }
  return response;
}

absl::StatusOr<v1::CapacitySummary> RegistryQueries::GetCapacitySummary(
    const v1::GetCapacitySummaryRequest& req) const {
  const RecordRules& rules = core_.rules();
  const ReferenceData& reference = rules.reference();
  RETURN_IF_ERROR(rules.CheckParent(req.parent()));
  FieldViolations v;
  const uint64_t role_mask = CodeMask(req.roles(), v1::TAXONOMY_KIND_ROLE, "roles", reference, &v);
  std::vector<int> authorities;
  for (int i = 0; i < req.authorities_size(); ++i) {
    const AuthorityInfo* la = reference.FindAuthority(req.authorities(i));
    if (!la) {
      v.Add(absl::StrCat("authorities[", i, "]"), "is not a known GSS code");
    } else {
      authorities.push_back(la->index);
    }
  }
  if (req.has_as_of() && !IsFullCalendarDate(req.as_of())) v.Add("as_of", "must be a full date");
  RETURN_IF_ERROR(v.ToStatus());
  const DayNumber day = req.has_as_of() ? DaysSinceEpoch(req.as_of())
                                        : rules.Today();
  absl::btree_map<std::pair<std::string, std::string>, CapacityCell> cells;
  {
    ReaderMutexLock lock(&core_.mu());
    cells = core_.index().Summarise(day, role_mask, authorities);
  }
  v1::CapacitySummary summary;
  summary.set_region(rules.region().resource_name());
  *summary.mutable_as_of() = DateFromEpochDays(day);
  auto add = [](v1::CapacitySummaryRow* row, const CapacityCell& cell) {
    row->set_headcount(row->headcount() + cell.headcount);
    row->set_contracted_hours_per_week(row->contracted_hours_per_week() + cell.contracted);
    row->set_committed_hours_per_week(row->committed_hours_per_week() + cell.committed);
    row->set_available_hours_per_week(row->available_hours_per_week() + cell.available);
    row->set_accepting_external_count(row->accepting_external_count() + cell.accepting);
  };
  v1::CapacitySummaryRow* la_total = nullptr;
  for (const auto& [key, cell] : cells) {
    v1::CapacitySummaryRow* row = summary.add_rows();
    row->set_authority(key.first);
    row->set_role(key.second);
    add(row, cell);
    if (!la_total || la_total->authority() != key.first) {
      la_total = summary.add_authority_totals();
      la_total->set_authority(key.first);
    }
    add(la_total, cell);
    add(summary.mutable_total(), cell);
  }
  if (!summary.has_total()) summary.mutable_total();
  return summary;
}

v1::ListTaxonomyTermsResponse RegistryQueries::ListTaxonomyTerms(
    const v1::ListTaxonomyTermsRequest& req) const {
  return registry::ListTaxonomyTerms(core_.rules().reference(), req);
}

absl::StatusOr<v1::ListLocalAuthoritiesResponse> RegistryQueries::ListLocalAuthorities(
    const v1::ListLocalAuthoritiesRequest& req) const {
  return registry::ListLocalAuthorities(core_.rules().reference(), req);
}

v1::ListRegionsResponse RegistryQueries::ListRegions() const {
  return registry::ListRegions(core_.rules().reference());
}

absl::StatusOr<v1::RegionStatus> RegistryQueries::GetRegionStatus(
    const v1::GetRegionStatusRequest& req) const {
  const RegionInfo& region = core_.rules().region();
  if (req.name() != region.resource_name() + "/status") {
    const RegionInfo* other = nullptr;
    if (absl::StartsWith(req.name(), "regions/") && absl::EndsWith(req.name(), "/status")) {
      other = core_.rules().reference().FindRegion(req.name().substr(0, req.name().size() - 7));
    }
    if (!other) return InvalidFieldError("name", "must be regions/{region}/status, e.g. regions/north-east/status");
    return WithReason(absl::NotFoundError(absl::StrCat("this registry serves ", region.resource_name(),
                                                       ", not ", other->resource_name())),
                      reasons::kRegionNotServed);
  }
  return RegionStatusNow();
}

v1::RegionStatus RegistryQueries::RegionStatusNow() const {
  const RegionInfo& region = core_.rules().region();
  v1::RegionStatus status;
  status.set_name(region.resource_name() + "/status");
  status.set_region_code(region.code);
  status.set_region_display_name(region.name);
  status.set_state(v1::RegionStatus::SERVING);
  status.set_authority_count(static_cast<int32_t>(region.authorities.size()));
  std::vector<int64_t> verified;  // seconds, for the median
  absl::flat_hash_set<std::string> authorities;
  google::protobuf::Timestamp last_update;
  {
    ReaderMutexLock lock(&core_.mu());
    const SpecialistIndex& index = core_.index();
    verified.reserve(index.size());
    index.ForEach([&](const v1::Specialist& s) {
      verified.push_back(s.last_verify_time().seconds());
      authorities.insert(s.owning_authority());
      if (s.update_time().seconds() > last_update.seconds() ||
          (s.update_time().seconds() == last_update.seconds() && s.update_time().nanos() > last_update.nanos())) {
        last_update = s.update_time();
      }
    });
    if (const std::optional<v1::Import>& last_import = core_.last_applied_import()) {
      status.set_last_import(last_import->name());
      *status.mutable_last_import_time() = last_import->complete_time();
    }
  }
  status.set_specialist_count(static_cast<int32_t>(verified.size()));
  status.set_authorities_with_specialists(static_cast<int32_t>(authorities.size()));
  if (!verified.empty()) {
    const auto middle = verified.begin() + static_cast<std::ptrdiff_t>(verified.size() / 2);
    std::nth_element(verified.begin(), middle, verified.end());
    status.mutable_median_verify_time()->set_seconds(*middle);
    status.mutable_oldest_verify_time()->set_seconds(*std::min_element(verified.begin(), middle + 1));
    *status.mutable_last_update_time() = last_update;
  }
  *status.mutable_check_time() = ToProto(core_.rules().Now());
  return status;
}

}  // namespace expertise::registry
