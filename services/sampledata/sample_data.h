#ifndef EXPERTISE_SERVICES_SAMPLEDATA_SAMPLE_DATA_H_
#define EXPERTISE_SERVICES_SAMPLEDATA_SAMPLE_DATA_H_

// Synthetic SEND specialists for demos, tests and benchmarks. Names are
// invented (random first name + surname), contact details use reserved
// example domains and Ofcom drama numbers, so no record describes a real
// person. The same (region, count, seed, now) always gives the same records.
// Assumptions behind the mix are in docs/sample-data.md.

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "expertise/registry/v1/specialist.pb.h"
#include "services/common/reference/reference_data.h"

namespace expertise::sampledata {

namespace v1 = ::expertise::registry::v1;

struct SampleOptions {
  int count = 1000;
  uint64_t seed = 1;
  // Reference time for verification dates and term-time windows.
  absl::Time now = absl::FromCivil(absl::CivilSecond(2026, 11, 1, 9, 0, 0), absl::UTCTimeZone());
  // Source name written into every record.
  std::string source = "sample-hr";
};

// Returns `options.count` specialists owned by authorities of `region`, with
// no name (ready for BatchUpsert, keyed on the external id "<region>-<n>").
std::vector<v1::Specialist> GenerateSpecialists(const RegionInfo& region,
                                                const SampleOptions& options);

}  // namespace expertise::sampledata

#endif  // EXPERTISE_SERVICES_SAMPLEDATA_SAMPLE_DATA_H_
