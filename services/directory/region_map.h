#ifndef EXPERTISE_SERVICES_DIRECTORY_REGION_MAP_H_
#define EXPERTISE_SERVICES_DIRECTORY_REGION_MAP_H_

// The directory's --regions file: which registry serves which region.
//
//   # region    endpoint
//   north-east  registry-north-east:50051
//   E12000002   127.0.0.1:50052
//   regions/yorkshire-and-the-humber  dns:///registry-yh.expertise.svc:50051
//
// One region per line: the region as an ONS code, an id or a resource
// name, then a gRPC target (host:port, a DNS name resolved by gRPC, so the
// same file works in Kubernetes, or any gRPC URI). `#` starts a comment.
// Regions may be left out; the directory then serves the others (and says
// so at start-up). Entries are kept in region-code order.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/reference/reference_data.h"

namespace expertise::directory {

struct RegionEndpoint {
  const RegionInfo* region = nullptr;
  std::string target;
};

// Parses the file's text. Errors name the line.
absl::StatusOr<std::vector<RegionEndpoint>> ParseRegionMap(std::string_view text);

// Reads and parses a file.
absl::StatusOr<std::vector<RegionEndpoint>> LoadRegionMap(const std::string& path);

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_REGION_MAP_H_
