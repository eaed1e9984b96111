#ifndef EXPERTISE_SERVICES_REGISTRY_OFFER_LIFECYCLE_H_
#define EXPERTISE_SERVICES_REGISTRY_OFFER_LIFECYCLE_H_

// A support request's life after it is made: offers, their acceptance
// (which commits the provider's hours), declining them, and withdrawing,
// completing or escalating the request, each releasing the commitments of
// this region that the change leaves unused. A step and its releases are
// one store transaction.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "expertise/registry/v1/sharing_service.pb.h"
#include "services/registry/registry_core.h"
#include "services/registry/registry_options.h"
#include "services/registry/sharing_changes.h"
#include "services/registry/support_requests.h"

namespace expertise::registry {

// Thread-safe, as the core it works on. `access.CheckWrite(authority)`
// decides who may act for an authority.
class OfferLifecycle {
 public:
  // The arguments outlive this object.
  OfferLifecycle(RegistryCore& core, const SupportRequests& requests)
      : core_(core), requests_(requests) {}
  OfferLifecycle(const OfferLifecycle&) = delete;
  OfferLifecycle& operator=(const OfferLifecycle&) = delete;

  // Records an offer of a provider's commitment on a request.
  absl::StatusOr<v1::SupportRequest> Offer(const v1::OfferSupportRequest& request,
                                           const CallAccess& access = {});
  // Accepts one offer and commits its hours; of racing acceptances exactly
  // one wins and the others change nothing.
  absl::StatusOr<v1::SupportRequest> Accept(const v1::AcceptOfferRequest& request,
                                            const CallAccess& access = {});
  absl::StatusOr<v1::SupportRequest> Decline(const v1::DeclineOffersRequest& request,
                                             const CallAccess& access = {});
  // Withdraws, completes or escalates the request itself (its offers follow).
  absl::StatusOr<v1::SupportRequest> Withdraw(const v1::WithdrawSupportRequestRequest& request,
                                              const CallAccess& access = {});
  absl::StatusOr<v1::SupportRequest> Complete(const v1::CompleteSupportRequestRequest& request,
                                              const CallAccess& access = {});
  absl::StatusOr<v1::SupportRequest> Escalate(const v1::EscalateSupportRequestRequest& request,
                                              const CallAccess& access = {});

 private:
  // A request change with the releases it implies, committed at once.
  absl::StatusOr<v1::SupportRequest> ChangeRequestAndRelease(
      const std::string& name, const sharing_internal::RequestChange& change,
      std::vector<v1::SupportOffer::State> release_states, bool completed,
      const CallAccess& access);

  RegistryCore& core_;
  const SupportRequests& requests_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_OFFER_LIFECYCLE_H_
