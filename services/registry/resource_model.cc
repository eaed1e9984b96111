#include "services/registry/resource_model.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "services/common/errors.h"
#include "services/registry/page_token.h"

namespace expertise::registry {

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t micros = absl::ToUnixMicros(t);
  ts.set_seconds(micros / 1000000);
  ts.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  return ts;
}

std::string NextEtag(const std::string& previous, absl::Time now) {
  int64_t old = 0;
  if (!previous.empty()) (void)absl::SimpleAtoi(previous.substr(0, previous.find('-')), &old);
  return absl::StrFormat("%d-%x", old + 1, absl::ToUnixMicros(now) & 0xffffffffff);
}

absl::StatusOr<v1::ListSupportRequestsResponse> PageSupportRequests(
    std::vector<v1::SupportRequest> requests, const v1::ListSupportRequestsRequest& req,
    int page_size) {
  const uint64_t fingerprint = RequestFingerprint(req);
  std::optional<PageCursor> cursor;
  if (!req.page_token().empty()) {
    absl::StatusOr<PageCursor> decoded = DecodePageToken(req.page_token());
    if (!decoded.ok() || decoded->fingerprint != fingerprint) {
      return InvalidFieldError("page_token", "is not a token from this listing with these filters");
    }
    cursor = *decoded;
  }
  auto key = [](const v1::SupportRequest& r) {
    return static_cast<double>(r.create_time().seconds()) * 1e6 + r.create_time().nanos() / 1000;
  };
  std::sort(requests.begin(), requests.end(), [&](const auto& a, const auto& b) {
    if (key(a) != key(b)) return key(a) < key(b);
    return a.name() < b.name();
  });
  v1::ListSupportRequestsResponse response;
  for (v1::SupportRequest& r : requests) {
    if (cursor && (key(r) < cursor->key || (key(r) == cursor->key && r.name() <= cursor->last_name))) {
      continue;
    }
    if (response.support_requests_size() == page_size) {
      const v1::SupportRequest& last = response.support_requests(page_size - 1);
      PageCursor next;
      next.fingerprint = fingerprint;
      next.key = key(last);
      next.last_name = last.name();
      response.set_next_page_token(EncodePageToken(next));
      break;
    }
    *response.add_support_requests() = std::move(r);
  }
  return response;
}

v1::ListTaxonomyTermsResponse ListTaxonomyTerms(const ReferenceData& reference_,
                                                const v1::ListTaxonomyTermsRequest& req) {
  v1::ListTaxonomyTermsResponse response;
  response.set_taxonomy_version(std::string(reference_.taxonomy_version()));
  for (const auto& term : reference_.terms()) {
    if (req.kind() == v1::TAXONOMY_KIND_UNSPECIFIED || term.kind() == req.kind()) {
      *response.add_terms() = term;
    }
  }
  return response;
}

absl::StatusOr<v1::ListLocalAuthoritiesResponse> ListLocalAuthorities(
    const ReferenceData& reference_, const v1::ListLocalAuthoritiesRequest& req) {
  const RegionInfo* only = nullptr;
  if (!req.parent().empty() && req.parent() != "regions/-") {
    only = absl::StartsWith(req.parent(), "regions/") ? reference_.FindRegion(req.parent()) : nullptr;
    if (!only) return InvalidFieldError("parent", "must be regions/- or a region such as regions/london");
  }
  std::vector<const AuthorityInfo*> selected;
  for (const AuthorityInfo& la : reference_.authorities()) {
    if (!only || la.region_code == only->code) selected.push_back(&la);
  }
  std::sort(selected.begin(), selected.end(),
            [](const AuthorityInfo* a, const AuthorityInfo* b) { return a->code < b->code; });
  v1::ListLocalAuthoritiesResponse response;
  for (const AuthorityInfo* la : selected) {
    v1::LocalAuthority* out = response.add_local_authorities();
    out->set_code(la->code);
    out->set_display_name(la->name);
    out->set_authority_type(la->type);
    out->set_region(reference_.FindRegion(la->region_code)->resource_name());
    out->mutable_centre()->set_latitude(la->latitude);
    out->mutable_centre()->set_longitude(la->longitude);
    out->set_former_code(la->former_code);
  }
  return response;
}

v1::ListRegionsResponse ListRegions(const ReferenceData& reference_) {
  v1::ListRegionsResponse response;
  for (const RegionInfo& region : reference_.regions()) {
    v1::Region* out = response.add_regions();
    out->set_name(region.resource_name());
    out->set_code(region.code);
    out->set_display_name(region.name);
    out->set_authority_count(static_cast<int32_t>(region.authorities.size()));
  }
  return response;
}

}  // namespace expertise::registry
