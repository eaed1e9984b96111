#ifndef EXPERTISE_SERVICES_REGISTRY_RECORD_RULES_H_
#define EXPERTISE_SERVICES_REGISTRY_RECORD_RULES_H_

// The rules every part of a registry applies to specialist records: names
// and parents in the region served, normalisation, stamping of output-only
// fields and validation. No state but the region, the options and the clock.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/specialist.pb.h"
#include "services/common/clock.h"
#include "services/common/errors.h"
#include "services/common/reference/reference_data.h"
#include "services/registry/registry_options.h"
#include "services/registry/specialist_index.h"

namespace expertise::registry {

// Thread-safe: immutable after construction (the clock is thread-safe).
class RecordRules {
 public:
  // `region` and the reference data outlive this object.
  RecordRules(const RegionInfo& region, RegistryOptions options);

  const RegionInfo& region() const { return region_; }
  const ReferenceData& reference() const { return reference_; }
  // With an id generator always set (the clock is Now()'s).
  const RegistryOptions& options() const { return options_; }
  absl::Time Now() const { return clock_->Now(); }
  DayNumber Today() const;

  // OK for this registry's region (or "regions/-"); INVALID_ARGUMENT or
  // NOT_FOUND (another region) otherwise.
  absl::Status CheckParent(const std::string& parent) const;
  // Returns the id from a specialist name in this region.
  absl::StatusOr<std::string> ParseName(const std::string& name, absl::string_view field) const;
  // Places a record without a base location at its authority's centre and
  // records where the location came from.
  void Normalize(v1::Specialist* record) const;
  // Fills output-only and derived fields of a record about to be stored.
  void Stamp(v1::Specialist* record, const v1::Specialist* previous, absl::Time now) const;
  // Validates a record built from a request and prepares it for storage.
  absl::Status CheckRecord(const v1::Specialist& record, const std::string& prefix) const;

 private:
  const RegionInfo& region_;
  const ReferenceData& reference_;
  RegistryOptions options_;
  Clock* clock_;
};

// Returns the page size to use for `requested` (0: the default), adding a
// violation for a negative one.
int ClampPageSize(int requested, const RegistryOptions& options, FieldViolations* v);

// Hours per week held by COMMITTED commitments of `record` that have not
// ended by `today`.
double SharedCommittedHours(const v1::Specialist& record, DayNumber today);

// Strip output-only fields, for comparing records by content.
v1::Specialist WritableContent(const v1::Specialist& record);
v1::Capacity WritableCapacity(const v1::Capacity& capacity);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_RECORD_RULES_H_
