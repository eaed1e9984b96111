#ifndef EXPERTISE_SERVICES_REGISTRY_RESOURCE_MODEL_H_
#define EXPERTISE_SERVICES_REGISTRY_RESOURCE_MODEL_H_

// Store-free helpers for the registry API's resources, shared by a registry,
// the directory and clients (library expertise_registry_model: no stores, no
// gRPC): timestamps, etags, the support-request listing's paging and the
// reference-data reads.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "expertise/registry/v1/sharing_service.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/common/reference/reference_data.h"

namespace expertise::registry {

google::protobuf::Timestamp ToProto(absl::Time t);

// The etag after `previous` (empty for a new resource): a revision that
// makes etags unique per resource, and a time part that keeps a recreated
// resource (revision 1 again) from matching an old etag.
std::string NextEtag(const std::string& previous, absl::Time now);

// One page of `requests` oldest first (create time, then name), after the
// request's page token (INVALID_ARGUMENT "page_token" if it is not one for
// this listing): shared by a registry and the directory's national list.
absl::StatusOr<v1::ListSupportRequestsResponse> PageSupportRequests(
    std::vector<v1::SupportRequest> requests, const v1::ListSupportRequestsRequest& req,
    int page_size);

// Reference-data reads, the same from every registry and the directory.
v1::ListTaxonomyTermsResponse ListTaxonomyTerms(const ReferenceData& reference,
                                                const v1::ListTaxonomyTermsRequest& request);
absl::StatusOr<v1::ListLocalAuthoritiesResponse> ListLocalAuthorities(
    const ReferenceData& reference, const v1::ListLocalAuthoritiesRequest& request);
v1::ListRegionsResponse ListRegions(const ReferenceData& reference);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_RESOURCE_MODEL_H_
