#ifndef EXPERTISE_SERVICES_DIRECTORY_FEDERATED_PAGING_H_
#define EXPERTISE_SERVICES_DIRECTORY_FEDERATED_PAGING_H_

// Page tokens of the federated directory (AIP-158 across regions, AIP-159).
// A directory token carries one cursor per region: where that region's
// results were last consumed (sort key and resource name of the last result
// taken from it), or that it has no more. Each page asks every region that
// may still have results for a page that starts after its cursor, merges
// the answers in the requested order and keeps only the first page_size, so
// a walk over all pages returns every match exactly once, in order, however
// the matches are spread over the regions. A region that did not answer
// keeps its cursor and is asked again on the next page.
//
// gRPC-free; unit-tested in tests/services/directory/.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace expertise::directory {

struct RegionCursor {
  bool started = false;    // something was consumed from this region
  bool exhausted = false;  // the region has no more results
  double key = 0;          // sort key of the last result consumed
  std::string last_name;   // resource name of the last result consumed
};

class FederatedPager {
 public:
  // Starts a walk (empty token) or resumes one. `fingerprint` identifies the
  // caller's request without its paging fields; `regions` are the resource
  // names of the regions the directory serves, in its configured order (a
  // token made under another configuration is refused). `first_day` is the
  // capacity day a new walk pins; a resumed walk keeps its own.
  static absl::StatusOr<FederatedPager> Resume(std::string_view token, uint64_t fingerprint,
                                               const std::vector<std::string>& regions,
                                               int32_t first_day);

  // The capacity day (days since 1970-01-01) every page of the walk uses.
  int32_t day() const { return day_; }
  size_t region_count() const { return cursors_.size(); }
  const RegionCursor& cursor(size_t region) const { return cursors_[region]; }
  // Whether `region` may still have results.
  bool active(size_t region) const { return !cursors_[region].exhausted; }

  // Records that results up to (key, name) of `region` were returned.
  void Consumed(size_t region, double key, const std::string& name);
  // Records that `region` has no results after its cursor.
  void Exhausted(size_t region);

  // The token for the next page; empty when every region is exhausted.
  std::string NextToken() const;

 private:
  uint64_t fingerprint_ = 0;
  uint64_t regions_hash_ = 0;
  int32_t day_ = 0;
  std::vector<RegionCursor> cursors_;
};

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_FEDERATED_PAGING_H_
