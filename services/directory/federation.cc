#include "services/directory/federation.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "services/common/civil_date.h"
#include "services/common/errors.h"
#include "services/registry/page_token.h"

namespace expertise::directory {
namespace {

using registry::EncodePageToken;
using registry::PageCursor;
using registry::RequestFingerprint;

absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested < 0) return InvalidFieldError("page_size", "must not be negative");
  if (requested == 0) return kDefaultPageSize;
  return std::min<int>(requested, kMaxPageSize);
}

// Where one merged item came from.
struct Candidate {
  double key;
  const std::string* name;
  size_t region;
  int index;
};

bool Before(const Candidate& a, const Candidate& b) {
  if (a.key != b.key) return a.key < b.key;
  return *a.name < *b.name;
}

// Takes the first `page_size` candidates in order and advances the pager:
// a region whose answer was used up and had no next page is exhausted. If
// no region that answered has anything left, regions that did not answer
// are given up on too, so a walk ends while a region is down (each page
// lists them in `unreachable`).
template <typename Answer>
std::vector<Candidate> TakePage(std::vector<Candidate> candidates, int page_size,
                                const std::vector<const Answer*>& answers,
                                const std::vector<int>& answer_sizes, FederatedPager* pager) {
  std::sort(candidates.begin(), candidates.end(), Before);
  if (candidates.size() > static_cast<size_t>(page_size)) candidates.resize(page_size);
  std::vector<int> used(answers.size(), 0);
  for (const Candidate& c : candidates) {
    ++used[c.region];
    pager->Consumed(c.region, c.key, *c.name);
  }
  bool answered_with_more = false;
  for (size_t r = 0; r < answers.size(); ++r) {
    if (answers[r] == nullptr || !pager->active(r)) continue;
    if (used[r] == answer_sizes[r] && answers[r]->next_page_token().empty()) {
      pager->Exhausted(r);
    } else {
      answered_with_more = true;
    }
  }
  if (!answered_with_more) {
    for (size_t r = 0; r < answers.size(); ++r) pager->Exhausted(r);
  }
  return candidates;
}

// One merged page of a national list or search: every answering region's
// items (`items` of its answer), in (`key`, `name`) order, the first
// `page_size` of them kept; regions asked that did not answer go into
// `unreachable`. total_size counts matches in the regions that answered on
// this page; regions already exhausted are not asked again, so later pages
// may count fewer.
template <typename Response, typename Request, typename Item, typename Key, typename Name>
void MergePage(const std::vector<const Response*>& answers, const std::vector<std::optional<Request>>& requests,
               const std::vector<std::string>& regions, int page_size, FederatedPager* pager,
               const google::protobuf::RepeatedPtrField<Item>& (Response::*items)() const, Key key, Name name,
               Response* out, google::protobuf::RepeatedPtrField<Item>* out_items) {
  std::vector<Candidate> candidates;
  std::vector<int> sizes(answers.size(), 0);
  int64_t total = 0;
  for (size_t r = 0; r < answers.size(); ++r) {
    if (answers[r] == nullptr) {
      if (requests[r].has_value()) out->add_unreachable(regions[r]);
      continue;
    }
    total += answers[r]->total_size();
    const auto& region_items = (answers[r]->*items)();
    sizes[r] = region_items.size();
    for (int i = 0; i < region_items.size(); ++i) {
      candidates.push_back({key(region_items[i]), &name(region_items[i]), r, i});
    }
  }
  for (const Candidate& c : TakePage(std::move(candidates), page_size, answers, sizes, pager)) {
    *out_items->Add() = (answers[c.region]->*items)()[c.index];
  }
  out->set_total_size(static_cast<int32_t>(std::min<int64_t>(total, INT32_MAX)));
  out->set_next_page_token(pager->NextToken());
}

}  // namespace

MergeOrder EffectiveOrder(const v1::SearchSpecialistsRequest& request) {
  switch (request.order_by()) {
    case v1::SEARCH_ORDER_DISTANCE: return MergeOrder::kDistance;
    case v1::SEARCH_ORDER_AVAILABLE_HOURS: return MergeOrder::kAvailableHours;
    case v1::SEARCH_ORDER_NAME: return MergeOrder::kName;
    default:
      return request.has_point() || request.has_near_authority() ? MergeOrder::kDistance
                                                                 : MergeOrder::kName;
  }
}

double SortKey(MergeOrder order, const v1::SearchResult& result) {
  switch (order) {
    case MergeOrder::kDistance: return result.distance_km();
    case MergeOrder::kAvailableHours: return -result.available_hours_per_week();
    case MergeOrder::kName: return 0;
  }
  return 0;
}

absl::StatusOr<FederatedSearch> FederatedSearch::Begin(const v1::SearchSpecialistsRequest& request,
                                                       const std::vector<std::string>& regions,
                                                       absl::Time now) {
  absl::StatusOr<int> page_size = PageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  if (request.has_available_on() && !IsFullCalendarDate(request.available_on())) {
    return InvalidFieldError("available_on", "must be a full calendar date");
  }
  const int32_t first_day =
      request.has_available_on() ? DaysSinceEpoch(request.available_on()) : EpochDaysToday(now);
  absl::StatusOr<FederatedPager> pager =
      FederatedPager::Resume(request.page_token(), RequestFingerprint(request), regions, first_day);
  if (!pager.ok()) return pager.status();
  FederatedSearch search(*std::move(pager), regions, EffectiveOrder(request), *page_size);
  // Every region gets the same request on every page, apart from its
  // cursor, so the registry accepts the tokens made here for it.
  v1::SearchSpecialistsRequest base = request;
  base.set_parent("regions/-");
  base.set_page_size(*page_size);
  base.clear_page_token();
  *base.mutable_available_on() = DateFromEpochDays(search.pager_.day());
  const uint64_t region_fingerprint = RequestFingerprint(base);
  search.requests_.resize(regions.size());
  for (size_t r = 0; r < regions.size(); ++r) {
    if (!search.pager_.active(r)) continue;
    v1::SearchSpecialistsRequest& out = search.requests_[r].emplace(base);
    const RegionCursor& cursor = search.pager_.cursor(r);
    if (cursor.started) {
      out.set_page_token(EncodePageToken(PageCursor{.fingerprint = region_fingerprint,
                                                    .day = search.pager_.day(),
                                                    .key = cursor.key,
                                                    .last_name = cursor.last_name}));
    }
  }
  return search;
}

v1::SearchSpecialistsResponse FederatedSearch::Merge(
    const std::vector<const v1::SearchSpecialistsResponse*>& answers) {
  v1::SearchSpecialistsResponse out;
  MergePage(answers, requests_, regions_, page_size_, &pager_, &v1::SearchSpecialistsResponse::results,
            [this](const v1::SearchResult& r) { return SortKey(order_, r); },
            [](const v1::SearchResult& r) -> const std::string& { return r.specialist().name(); }, &out,
            out.mutable_results());
  return out;
}

absl::StatusOr<FederatedList> FederatedList::Begin(const v1::ListSpecialistsRequest& request,
                                                   const std::vector<std::string>& regions) {
  absl::StatusOr<int> page_size = PageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  absl::StatusOr<FederatedPager> pager =
      FederatedPager::Resume(request.page_token(), RequestFingerprint(request), regions, 0);
  if (!pager.ok()) return pager.status();
  FederatedList list(*std::move(pager), regions, *page_size);
  v1::ListSpecialistsRequest base = request;
  base.set_parent("regions/-");
  base.set_page_size(*page_size);
  base.clear_page_token();
  const uint64_t region_fingerprint = RequestFingerprint(base);
  list.requests_.resize(regions.size());
  for (size_t r = 0; r < regions.size(); ++r) {
    if (!list.pager_.active(r)) continue;
    v1::ListSpecialistsRequest& out = list.requests_[r].emplace(base);
    const RegionCursor& cursor = list.pager_.cursor(r);
    if (cursor.started) {
      // A registry's list token holds the last specialist id.
      const size_t slash = cursor.last_name.rfind('/');
      out.set_page_token(EncodePageToken(PageCursor{
          .fingerprint = region_fingerprint, .last_name = cursor.last_name.substr(slash + 1)}));
    }
  }
  return list;
}

v1::ListSpecialistsResponse FederatedList::Merge(const std::vector<const v1::ListSpecialistsResponse*>& answers) {
  v1::ListSpecialistsResponse out;
  MergePage(answers, requests_, regions_, page_size_, &pager_, &v1::ListSpecialistsResponse::specialists,
            [](const v1::Specialist&) { return 0.0; },
            [](const v1::Specialist& s) -> const std::string& { return s.name(); }, &out, out.mutable_specialists());
  return out;
}

v1::GetCapacitySummaryRequest RegionCapacityRequest(const v1::GetCapacitySummaryRequest& request,
                                                    absl::Time now) {
  v1::GetCapacitySummaryRequest out = request;
  out.set_parent("regions/-");
  if (!out.has_as_of()) *out.mutable_as_of() = DateFromEpochDays(EpochDaysToday(now));
  return out;
}

v1::CapacitySummary MergeCapacity(const v1::GetCapacitySummaryRequest& region_request,
                                  const std::vector<std::string>& regions,
                                  const std::vector<const v1::CapacitySummary*>& answers) {
  v1::CapacitySummary out;
  out.set_region("regions/-");
  *out.mutable_as_of() = region_request.as_of();
  auto add = [](v1::CapacitySummaryRow* into, const v1::CapacitySummaryRow& row) {
    into->set_headcount(into->headcount() + row.headcount());
    into->set_contracted_hours_per_week(into->contracted_hours_per_week() + row.contracted_hours_per_week());
    into->set_committed_hours_per_week(into->committed_hours_per_week() + row.committed_hours_per_week());
    into->set_available_hours_per_week(into->available_hours_per_week() + row.available_hours_per_week());
    into->set_accepting_external_count(into->accepting_external_count() + row.accepting_external_count());
  };
  // (region, role) -> totals; role "" is the region's total.
  std::map<std::pair<std::string, std::string>, v1::CapacitySummaryRow> region_totals;
  std::vector<v1::CapacitySummaryRow> rows, authority_totals;
  for (size_t r = 0; r < answers.size(); ++r) {
    if (answers[r] == nullptr) {
      out.add_unreachable(regions[r]);
      continue;
    }
    for (v1::CapacitySummaryRow row : answers[r]->rows()) {
      row.set_region(regions[r]);
      v1::CapacitySummaryRow& by_role = region_totals[{regions[r], row.role()}];
      by_role.set_region(regions[r]);
      by_role.set_role(row.role());
      add(&by_role, row);
      rows.push_back(std::move(row));
    }
    for (v1::CapacitySummaryRow row : answers[r]->authority_totals()) {
      row.set_region(regions[r]);
      authority_totals.push_back(std::move(row));
    }
    v1::CapacitySummaryRow& total = region_totals[{regions[r], ""}];
    total = answers[r]->total();
    total.set_region(regions[r]);
    total.clear_authority();
    total.clear_role();
    add(out.mutable_total(), answers[r]->total());
  }
  auto by_authority_then_role = [](const v1::CapacitySummaryRow& a, const v1::CapacitySummaryRow& b) {
    return std::tie(a.authority(), a.role()) < std::tie(b.authority(), b.role());
  };
  std::sort(rows.begin(), rows.end(), by_authority_then_role);
  std::sort(authority_totals.begin(), authority_totals.end(), by_authority_then_role);
  for (auto& row : rows) *out.add_rows() = std::move(row);
  for (auto& row : authority_totals) *out.add_authority_totals() = std::move(row);
  // Per region: its roles first, then its total (role "").
  std::string current;
  const v1::CapacitySummaryRow* pending_total = nullptr;
  for (const auto& [key, row] : region_totals) {
    if (key.first != current) {
      if (pending_total) *out.add_region_totals() = *pending_total;
      current = key.first;
      pending_total = nullptr;
    }
    if (key.second.empty()) {
      pending_total = &row;
    } else {
      *out.add_region_totals() = row;
    }
  }
  if (pending_total) *out.add_region_totals() = *pending_total;
  return out;
}

bool IsCallerError(int grpc_code) {
  switch (grpc_code) {
    case 3:   // INVALID_ARGUMENT
    case 7:   // PERMISSION_DENIED
    case 9:   // FAILED_PRECONDITION
    case 11:  // OUT_OF_RANGE
    case 16:  // UNAUTHENTICATED
      return true;
    default:
      return false;
  }
}

}  // namespace expertise::directory
