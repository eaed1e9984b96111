#ifndef EXPERTISE_SERVICES_DIRECTORY_SHARING_FEDERATION_H_
#define EXPERTISE_SERVICES_DIRECTORY_SHARING_FEDERATION_H_

// Plans for the national capacity-sharing reads (parent `regions/-`), in
// the shape Forwarder::Federated takes (see federation.h): what each region
// is asked, and how the answers become one report. gRPC-free.

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "expertise/registry/v1/sharing_service.pb.h"
#include "services/common/reference/reference_data.h"

namespace expertise::directory {

// The national unmet-need report: every region's unmet requests, reported
// as one (ages and counts recomputed over the union).
class FederatedUnmetNeed {
 public:
  using Request = registry::v1::GetUnmetNeedReportRequest;
  using Response = registry::v1::UnmetNeedReport;
  // A report names the regions it could not read and still answers.
  static constexpr bool kNoAnswerIsAnError = false;

  FederatedUnmetNeed(const Request& request, std::vector<const RegionInfo*> regions, absl::Time now)
      : request_(request), regions_(std::move(regions)), now_(now) {}
  std::optional<Request> request(size_t region) const;
  Response Merge(const std::vector<const Response*>& answers) const;

 private:
  Request request_;
  std::vector<const RegionInfo*> regions_;
  absl::Time now_;
};

// The national equity report: every region's rows and trend, with coverage
// gaps recomputed over the nearest specialists of every region that
// answered (the nearest to an authority may work across a border).
// Authorities of regions that did not answer are left out, not reported as
// gaps.
class FederatedEquity {
 public:
  using Request = registry::v1::GetEquityReportRequest;
  using Response = registry::v1::EquityReport;
  static constexpr bool kNoAnswerIsAnError = false;

  FederatedEquity(const Request& request, std::vector<const RegionInfo*> regions)
      : request_(request), regions_(std::move(regions)) {}
  std::optional<Request> request(size_t region) const;
  Response Merge(const std::vector<const Response*>& answers) const;

 private:
  Request request_;
  std::vector<const RegionInfo*> regions_;
};

// Every region's suggestions for one support request, best first, at most
// `max_suggestions` (0: 10; never more than 100). answers[i] nullptr: region
// i did not answer, named in `unreachable`.
registry::v1::SuggestProvidersResponse MergeSuggestions(
    const std::vector<const registry::v1::SuggestProvidersResponse*>& answers,
    const std::vector<const RegionInfo*>& regions, int max_suggestions);

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_SHARING_FEDERATION_H_
