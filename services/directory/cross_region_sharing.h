#ifndef EXPERTISE_SERVICES_DIRECTORY_CROSS_REGION_SHARING_H_
#define EXPERTISE_SERVICES_DIRECTORY_CROSS_REGION_SHARING_H_

// Capacity-sharing steps that span two regions, carried by the directory.
// gRPC-free: regions are reached through the RegionClient interface (the
// service adapter gives one over gRPC; tests give fakes). Each half of a
// step is idempotent, so a retry after an unknown outcome is safe:
//   - Offer: the OFFERED commitment on the provider's specialist (its
//     request id derived from the support request and specialist), then the
//     offer recorded on the request;
//   - Accept: the commitment confirmed in the provider's region (the atomic,
//     race-deciding step), then the acceptance recorded in the requester's
//     region, both with the caller's request_id; if the requester's region
//     refuses for good, the hours go back;
//   - Decline, Withdraw, Complete, Escalate: the request changes first (its
//     region settles local commitments itself), then commitments held in
//     other regions are released (completed, for the accepted one of a
//     finished request).
// Errors from a region come back as that region gave them (its message
// prefixed with its name, its ErrorInfo kept).

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "expertise/registry/v1/sharing_service.pb.h"

namespace expertise::directory {

// One region's registry, as the sharing steps use it. Every call is
// blocking and returns the region's status.
class RegionClient {
 public:
  virtual ~RegionClient() = default;

  // The region's resource name, e.g. "regions/north-west".
  virtual const std::string& name() const = 0;

  virtual absl::Status GetSpecialist(const registry::v1::GetSpecialistRequest& request,
                                     registry::v1::Specialist* response) = 0;
  virtual absl::Status GetSupportRequest(const registry::v1::GetSupportRequestRequest& request,
                                         registry::v1::SupportRequest* response) = 0;
  virtual absl::Status ListSupportRequests(const registry::v1::ListSupportRequestsRequest& request,
                                           registry::v1::ListSupportRequestsResponse* response) = 0;
  virtual absl::Status CreateCapacityCommitment(const registry::v1::CreateCapacityCommitmentRequest& request,
                                                registry::v1::CapacityCommitment* response) = 0;
  virtual absl::Status ConfirmCapacityCommitment(const registry::v1::ConfirmCapacityCommitmentRequest& request,
                                                 registry::v1::CapacityCommitment* response) = 0;
  virtual absl::Status ReleaseCapacityCommitment(const registry::v1::ReleaseCapacityCommitmentRequest& request,
                                                 registry::v1::CapacityCommitment* response) = 0;
  virtual absl::Status OfferSupport(const registry::v1::OfferSupportRequest& request,
                                    registry::v1::SupportRequest* response) = 0;
  virtual absl::Status AcceptOffer(const registry::v1::AcceptOfferRequest& request,
                                   registry::v1::SupportRequest* response) = 0;
  virtual absl::Status DeclineOffers(const registry::v1::DeclineOffersRequest& request,
                                     registry::v1::SupportRequest* response) = 0;
  virtual absl::Status WithdrawSupportRequest(const registry::v1::WithdrawSupportRequestRequest& request,
                                              registry::v1::SupportRequest* response) = 0;
  virtual absl::Status CompleteSupportRequest(const registry::v1::CompleteSupportRequestRequest& request,
                                              registry::v1::SupportRequest* response) = 0;
  virtual absl::Status EscalateSupportRequest(const registry::v1::EscalateSupportRequestRequest& request,
                                              registry::v1::SupportRequest* response) = 0;
};

// The regions a step may reach.
class RegionClients {
 public:
  virtual ~RegionClients() = default;
  // The region serving a resource name (`regions/{region}/...`); `field`
  // names the request field in the error.
  virtual absl::StatusOr<RegionClient*> ForName(const std::string& name, std::string_view field) = 0;
  // Every configured region, in order.
  virtual std::vector<RegionClient*> All() = 0;
  // Replaces a support request named in any region
  // (`regions/-/supportRequests/{id}`) by its full name, asking every
  // region; other names are left as they are.
  virtual absl::Status ResolveSupportRequest(std::string* name) = 0;
};

class CrossRegionSharing {
 public:
  explicit CrossRegionSharing(RegionClients* regions) : regions_(regions) {}

  absl::StatusOr<registry::v1::SupportRequest> Offer(registry::v1::OfferSupportRequest request);
  absl::StatusOr<registry::v1::SupportRequest> Accept(registry::v1::AcceptOfferRequest request);
  absl::StatusOr<registry::v1::SupportRequest> Decline(registry::v1::DeclineOffersRequest request);
  absl::StatusOr<registry::v1::SupportRequest> Withdraw(registry::v1::WithdrawSupportRequestRequest request);
  absl::StatusOr<registry::v1::SupportRequest> Complete(registry::v1::CompleteSupportRequestRequest request);
  absl::StatusOr<registry::v1::SupportRequest> Escalate(registry::v1::EscalateSupportRequestRequest request);

  // The support request itself, wherever it lives (for SuggestProviders,
  // which ranks every region's specialists against it).
  absl::StatusOr<registry::v1::SupportRequest> Get(std::string name);

  // A national listing (parent `regions/-`): every region's requests
  // matching the filters, gathered whole (at most kMaxListedPerRegion per
  // region; a region with more is named in `unreachable`, as is one that
  // does not answer) and paged oldest first.
  absl::StatusOr<registry::v1::ListSupportRequestsResponse> ListEverywhere(
      const registry::v1::ListSupportRequestsRequest& request);
  static constexpr int kMaxListedPerRegion = 20000;

 private:
  // The request-side change of Decline/Withdraw/Complete/Escalate, then the
  // release of commitments held in other regions.
  template <typename Request>
  absl::StatusOr<registry::v1::SupportRequest> Settle(
      Request request,
      absl::Status (RegionClient::*change)(const Request&, registry::v1::SupportRequest*),
      bool complete_accepted);

  RegionClients* regions_;
};

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_CROSS_REGION_SHARING_H_
