#ifndef EXPERTISE_SERVICES_DIRECTORY_FEDERATION_H_
#define EXPERTISE_SERVICES_DIRECTORY_FEDERATION_H_

// The directory's fan-out logic without gRPC: what to ask each region, and
// how to merge the answers into one response (AIP-159 `regions/-` reads,
// AIP-217 `unreachable`). The service adapter (directory_service.cc) sends
// the requests, gathers one answer per region (or none, when the region did
// not answer in time) and calls the Merge functions.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "services/directory/federated_paging.h"

namespace expertise::directory {

namespace v1 = ::expertise::registry::v1;

// Default and maximum page sizes, as a registry's (docs/api.md).
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// The order results are merged in; ties are broken by resource name, as a
// registry does, so the merged order is the order of the union.
enum class MergeOrder { kDistance, kAvailableHours, kName };
MergeOrder EffectiveOrder(const v1::SearchSpecialistsRequest& request);
// The sort key a registry gives a result in that order.
double SortKey(MergeOrder order, const v1::SearchResult& result);

// One region's part of a fan-out: the request to send, or nothing when the
// region has no more results for this walk.
template <typename Request>
struct RegionCall {
  std::optional<Request> request;
};

// A national search (parent `regions/-`) in progress.
class FederatedSearch {
 public:
  using Request = v1::SearchSpecialistsRequest;
  using Response = v1::SearchSpecialistsResponse;
  // A search no region answered has nothing partial to give (AIP-217).
  static constexpr bool kNoAnswerIsAnError = true;

  // Validates the paging fields of `request` (the regions validate the
  // rest) and prepares one request per region. `regions`: the directory's
  // region resource names, in order; `now` fixes the capacity day of a new
  // walk when the request gives none.
  static absl::StatusOr<FederatedSearch> Begin(const v1::SearchSpecialistsRequest& request,
                                               const std::vector<std::string>& regions,
                                               absl::Time now);

  // The request for region i (index into `regions`), or nullopt if it has
  // no more results for this walk.
  const std::optional<v1::SearchSpecialistsRequest>& request(size_t region) const {
    return requests_[region];
  }

  // Merges the answers: answers[i] is region i's response, or nullptr when
  // region i was asked but did not answer (it goes into `unreachable`), or
  // was not asked. Returns the page and the next token.
  v1::SearchSpecialistsResponse Merge(const std::vector<const v1::SearchSpecialistsResponse*>& answers);

 private:
  FederatedSearch(FederatedPager pager, std::vector<std::string> regions, MergeOrder order, int page_size)
      : pager_(std::move(pager)), regions_(std::move(regions)), order_(order), page_size_(page_size) {}

  FederatedPager pager_;
  std::vector<std::string> regions_;
  MergeOrder order_;
  int page_size_;
  std::vector<std::optional<v1::SearchSpecialistsRequest>> requests_;
};

// A national list of specialists (parent `regions/-`), in resource-name
// order, paged the same way.
class FederatedList {
 public:
  using Request = v1::ListSpecialistsRequest;
  using Response = v1::ListSpecialistsResponse;
  static constexpr bool kNoAnswerIsAnError = true;

  static absl::StatusOr<FederatedList> Begin(const v1::ListSpecialistsRequest& request,
                                             const std::vector<std::string>& regions);
  const std::optional<v1::ListSpecialistsRequest>& request(size_t region) const {
    return requests_[region];
  }
  v1::ListSpecialistsResponse Merge(const std::vector<const v1::ListSpecialistsResponse*>& answers);

 private:
  FederatedList(FederatedPager pager, std::vector<std::string> regions, int page_size)
      : pager_(std::move(pager)), regions_(std::move(regions)), page_size_(page_size) {}

  FederatedPager pager_;
  std::vector<std::string> regions_;
  int page_size_;
  std::vector<std::optional<v1::ListSpecialistsRequest>> requests_;
};

// The request each region gets for a national capacity summary: the
// caller's, with parent `regions/-` and the date pinned (so every region
// counts the same day).
v1::GetCapacitySummaryRequest RegionCapacityRequest(const v1::GetCapacitySummaryRequest& request,
                                                    absl::Time now);

// Merges regional capacity summaries into a national one: every region's
// rows and authority totals (region set on each), totals per region and
// role and per region, and the national total. answers[i] nullptr: region
// i did not answer.
v1::CapacitySummary MergeCapacity(const v1::GetCapacitySummaryRequest& region_request,
                                  const std::vector<std::string>& regions,
                                  const std::vector<const v1::CapacitySummary*>& answers);

// A national capacity summary: every region gets RegionCapacityRequest,
// and MergeCapacity joins the answers.
class FederatedCapacity {
 public:
  using Request = v1::GetCapacitySummaryRequest;
  using Response = v1::CapacitySummary;
  static constexpr bool kNoAnswerIsAnError = true;

  FederatedCapacity(const v1::GetCapacitySummaryRequest& request, std::vector<std::string> regions,
                    absl::Time now)
      : region_request_(RegionCapacityRequest(request, now)), regions_(std::move(regions)) {}
  std::optional<v1::GetCapacitySummaryRequest> request(size_t) const { return region_request_; }
  v1::CapacitySummary Merge(const std::vector<const v1::CapacitySummary*>& answers) const {
    return MergeCapacity(region_request_, regions_, answers);
  }

 private:
  v1::GetCapacitySummaryRequest region_request_;
  std::vector<std::string> regions_;
};

// Whether a region's error is the caller's doing (the same request would
// fail in every region), so the directory returns it instead of calling
// the region unreachable.
bool IsCallerError(int grpc_code);

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_FEDERATION_H_
