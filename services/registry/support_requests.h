#ifndef EXPERTISE_SERVICES_REGISTRY_SUPPORT_REQUESTS_H_
#define EXPERTISE_SERVICES_REGISTRY_SUPPORT_REQUESTS_H_

// Support requests kept in this region (the requesting authority's): making
// them, reading them and suggesting providers for them. Cross-region steps
// are carried by the directory (services/directory/sharing_service.cc).

#include "absl/status/statusor.h"
#include "expertise/registry/v1/sharing_service.pb.h"
#include "services/registry/registry_core.h"
#include "services/registry/registry_options.h"
#include "services/registry/registry_queries.h"

namespace expertise::registry {

// Thread-safe, as the core it works on.
class SupportRequests {
 public:
  // The arguments outlive this object.
  SupportRequests(RegistryCore& core, const RegistryQueries& queries)
      : core_(core), queries_(queries) {}
  SupportRequests(const SupportRequests&) = delete;
  SupportRequests& operator=(const SupportRequests&) = delete;

  // `access.CheckWrite(authority)` decides who may ask for an authority. A
  // retry with the same request_id returns what the first call made.
  absl::StatusOr<v1::SupportRequest> Create(const v1::CreateSupportRequestRequest& request,
                                            const CallAccess& access = {});
  absl::StatusOr<v1::SupportRequest> Get(const v1::GetSupportRequestRequest& request) const;
  absl::StatusOr<v1::ListSupportRequestsResponse> List(
      const v1::ListSupportRequestsRequest& request) const;
  // Ranks this region's specialists the caller may see for a request.
  absl::StatusOr<v1::SuggestProvidersResponse> SuggestProviders(
      const v1::SuggestProvidersRequest& request, const CallAccess& access = {}) const;

 private:
  RegistryCore& core_;
  const RegistryQueries& queries_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SUPPORT_REQUESTS_H_
