#ifndef EXPERTISE_SERVICES_REGISTRY_VALIDATION_H_
#define EXPERTISE_SERVICES_REGISTRY_VALIDATION_H_

// Field checks for specialists and capacity. Every check adds to a
// FieldViolations list so a caller hears about all bad fields at once.

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "expertise/registry/v1/specialist.pb.h"
#include "google/type/date.pb.h"
#include "services/common/errors.h"
#include "services/common/reference/reference_data.h"

namespace expertise::registry {

inline constexpr double kMaxHoursPerWeek = 168;
inline constexpr double kMaxTravelRadiusKm = 500;
inline constexpr int kMaxAge = 25;
inline constexpr int kMaxListEntries = 64;

// Checks every writable field of `specialist` (output-only fields are
// ignored) for a registry serving `region`. `prefix` is prepended to field
// paths, e.g. "specialist." or "specialists[3].".
void ValidateSpecialist(const v1::Specialist& specialist, const RegionInfo& region,
                        const ReferenceData& reference, absl::Time now, const std::string& prefix,
                        FieldViolations* violations);

// Checks the writable capacity fields.
void ValidateCapacity(const v1::Capacity& capacity, const std::string& prefix,
                      FieldViolations* violations);

// Returns true for a resource id: 4 to 63 of [a-z0-9-], starting with a
// letter and not ending with '-'.
bool IsValidResourceId(std::string_view id);

// Returns true for a BCP 47 language tag of the simple form used here:
// 2-3 letter primary language, optional subtags ("en", "bfi", "pt-BR").
bool IsValidLanguageTag(std::string_view tag);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_VALIDATION_H_
