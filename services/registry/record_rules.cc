#include "services/registry/record_rules.h"

#include <algorithm>
#include <random>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/common/civil_date.h"
#include "services/common/error_reasons.h"
#include "services/registry/resource_model.h"
#include "services/registry/validation.h"

namespace expertise::registry {
namespace {

std::string DefaultId() {
  static std::mt19937_64* const rng = new std::mt19937_64(std::random_device{}());
  return absl::StrFormat("s-%016x", (*rng)());
}

}  // namespace

v1::Capacity WritableCapacity(const v1::Capacity& capacity) {
  v1::Capacity copy = capacity;
  copy.clear_available_hours_per_week();
  copy.clear_shared_committed_hours_per_week();
  copy.clear_update_time();
  return copy;
}

v1::Specialist WritableContent(const v1::Specialist& record) {
  v1::Specialist copy = record;
  copy.clear_name();
  copy.clear_create_time();
  copy.clear_update_time();
  copy.clear_etag();
  copy.clear_location_source();
  copy.clear_commitments();
  if (copy.has_capacity()) *copy.mutable_capacity() = WritableCapacity(copy.capacity());
  return copy;
}

double SharedCommittedHours(const v1::Specialist& record, DayNumber today) {
  double hours = 0;
  for (const v1::CapacityCommitment& c : record.commitments()) {
    if (c.state() == v1::CapacityCommitment::COMMITTED && DaysSinceEpoch(c.end_date()) >= today) {
      hours += c.hours_per_week();
    }
  }
  return hours;
}

int ClampPageSize(int requested, const RegistryOptions& options, FieldViolations* v) {
  if (requested < 0) {
    v->Add("page_size", "must not be negative");
    return 0;
  }
  if (requested == 0) return options.default_page_size;
  return std::min(requested, options.max_page_size);
}

RecordRules::RecordRules(const RegionInfo& region, RegistryOptions options)
    : region_(region),
      reference_(ReferenceData::Get()),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : RealClock()) {
  if (!options_.id_generator) options_.id_generator = DefaultId;
}

DayNumber RecordRules::Today() const {
  return EpochDaysToday(clock_->Now());
}

absl::Status RecordRules::CheckParent(const std::string& parent) const {
  if (parent.empty()) return InvalidFieldError("parent", "is required, e.g. regions/north-east");
  // AIP-159: "regions/-" reads across every region this service holds,
  // which for a registry is its own.
  if (parent == region_.resource_name() || parent == "regions/-") return absl::OkStatus();
  if (!ReferenceData::Get().FindRegion(parent) || !absl::StartsWith(parent, "regions/")) {
    return InvalidFieldError("parent", "must be a region such as regions/north-east");
  }
  return WithReason(absl::NotFoundError(absl::StrCat("this registry serves ",
                                                     region_.resource_name(), ", not ", parent)),
                    reasons::kRegionNotServed);
}

absl::StatusOr<std::string> RecordRules::ParseName(const std::string& name,
                                                   absl::string_view field) const {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "regions" || parts[2] != "specialists" ||
      parts[3].empty()) {
    return InvalidFieldError(std::string(field),
                             "must be regions/{region}/specialists/{specialist}");
  }
  if (parts[1] != region_.id && parts[1] != "-") {
    return WithReason(absl::NotFoundError(absl::StrCat(
                          name, " is not in ", region_.resource_name(), ", which this registry serves")),
                      reasons::kRegionNotServed);
  }
  return parts[3];
}

void RecordRules::Normalize(v1::Specialist* record) const {
  // Stored records always carry a capacity block (available hours are
  // derived into it), so an input without one must compare equal to it.
  record->mutable_capacity();
  if (!record->has_base_location()) {
    const AuthorityInfo* la = reference_.FindAuthority(record->owning_authority());
    record->mutable_base_location()->set_latitude(la->latitude);
    record->mutable_base_location()->set_longitude(la->longitude);
    record->set_location_source(v1::LOCATION_SOURCE_AUTHORITY_CENTRE);
  } else if (record->location_source() == v1::LOCATION_SOURCE_UNSPECIFIED) {
    record->set_location_source(v1::LOCATION_SOURCE_EXPLICIT);
  }
}

void RecordRules::Stamp(v1::Specialist* record, const v1::Specialist* previous,
                        absl::Time now) const {
  // Commitments are output only: requests never carry them, so a record
  // rebuilt from a request keeps its predecessor's.
  if (previous && record->commitments().empty()) {
    *record->mutable_commitments() = previous->commitments();
  }
  v1::Capacity* capacity = record->mutable_capacity();
  capacity->set_shared_committed_hours_per_week(SharedCommittedHours(*record, Today()));
  capacity->set_available_hours_per_week(
      AvailableHours(capacity->contracted_hours_per_week(),
                     capacity->committed_hours_per_week() + capacity->shared_committed_hours_per_week()));
  const bool capacity_changed =
      !previous ||
      !google::protobuf::util::MessageDifferencer::Equals(WritableCapacity(previous->capacity()),
                                                          WritableCapacity(*capacity)) ||
      previous->capacity().shared_committed_hours_per_week() !=
          capacity->shared_committed_hours_per_week();
  if (capacity_changed) {
    *capacity->mutable_update_time() = ToProto(now);
  } else {
    *capacity->mutable_update_time() = previous->capacity().update_time();
  }
  *record->mutable_create_time() = previous ? previous->create_time() : ToProto(now);
  *record->mutable_update_time() = ToProto(now);
  record->set_etag(NextEtag(previous ? previous->etag() : "", now));
}

absl::Status RecordRules::CheckRecord(const v1::Specialist& record, const std::string& prefix) const {
  FieldViolations violations;
  ValidateSpecialist(record, region_, reference_, clock_->Now(), prefix, &violations);
  return violations.ToStatus();
}

}  // namespace expertise::registry
