#ifndef EXPERTISE_TESTS_TESTUTIL_REFERENCE_SEARCH_H_
#define EXPERTISE_TESTS_TESTUTIL_REFERENCE_SEARCH_H_

// A deliberately naive search over stored records, written apart from the
// production index (own distance formula, string comparisons, full sort), to
// check search results against.

#include <string>
#include <vector>

#include "expertise/registry/v1/registry_service.pb.h"

namespace expertise::testing {

struct ExpectedHit {
  std::string name;
  double distance_km = 0;
  double available_hours = 0;
};

// Returns every record matching `request` (paging fields ignored) in the
// requested order, evaluating capacity on the given civil date.
std::vector<ExpectedHit> BruteForceSearch(const std::vector<registry::v1::Specialist>& records,
                                          const registry::v1::SearchSpecialistsRequest& request,
                                          int year, int month, int day);

// Builds a varied set of search requests for `region_id` from `seed`.
std::vector<registry::v1::SearchSpecialistsRequest> RandomSearchRequests(
    const std::string& region_id, int count, uint64_t seed);

}  // namespace expertise::testing

#endif  // EXPERTISE_TESTS_TESTUTIL_REFERENCE_SEARCH_H_
