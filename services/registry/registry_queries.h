#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_QUERIES_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_QUERIES_H_

// Read-only questions about the region: search, the capacity summary, the
// reference tables and the region's status. Nothing here writes.

#include "absl/status/statusor.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "services/registry/registry_core.h"
#include "services/registry/registry_options.h"

namespace expertise::registry {

// Thread-safe, as the core it reads.
class RegistryQueries {
 public:
  // `core` outlives this object.
  explicit RegistryQueries(RegistryCore& core) : core_(core) {}
  RegistryQueries(const RegistryQueries&) = delete;
  RegistryQueries& operator=(const RegistryQueries&) = delete;

  absl::StatusOr<v1::SearchSpecialistsResponse> Search(const v1::SearchSpecialistsRequest& request,
                                                       const CallAccess& access = {}) const;
  absl::StatusOr<v1::CapacitySummary> GetCapacitySummary(
      const v1::GetCapacitySummaryRequest& request) const;
  v1::ListTaxonomyTermsResponse ListTaxonomyTerms(const v1::ListTaxonomyTermsRequest& request) const;
  absl::StatusOr<v1::ListLocalAuthoritiesResponse> ListLocalAuthorities(
      const v1::ListLocalAuthoritiesRequest& request) const;
  v1::ListRegionsResponse ListRegions() const;
  // Health is the adapter's business; this fills counts and freshness.
  absl::StatusOr<v1::RegionStatus> GetRegionStatus(const v1::GetRegionStatusRequest& request) const;
  // This registry's status (state SERVING), as GetRegionStatus.
  v1::RegionStatus RegionStatusNow() const;

 private:
  RegistryCore& core_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_QUERIES_H_
