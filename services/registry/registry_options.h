#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_OPTIONS_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_OPTIONS_H_

// What a registry is opened with (RegistryOptions) and what one call may see
// and change (CallAccess): shared by the registry core and every part.

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/specialist.pb.h"
#include "services/common/clock.h"
#include "services/security/access_policy.h"

namespace expertise::registry {

struct RegistryOptions {
  // Region served: ONS code ("E12000001") or id ("north-east").
  std::string region;
  // Time source; RealClock() when null. Not owned.
  Clock* clock = nullptr;
  // Makes ids for new specialists ("s-" + 16 hex digits by default). Called
  // with the write lock held, so it need not be thread-safe.
  std::function<std::string()> id_generator;
  int default_page_size = 50;
  int max_page_size = 1000;
  int max_batch_size = 1000;
  // Offers not answered within this time expire.
  absl::Duration offer_response_window = absl::Hours(24 * 14);
  // Largest import, in records plus client rejects.
  int max_import_records = 200000;
  // Rejects kept per import (all are counted).
  int max_stored_rejects = 10000;
};

// What one call may see and change: the object-level half of the access
// policy (services/security/access_policy.h), applied here so the check and
// the change happen under the same lock. The default allows everything: for
// tools and domain tests; the service adapter always sets both.
struct CallAccess {
  // Records the caller may read; others behave as if they did not exist.
  std::optional<security::ReadScope> read;
  // Whether the caller may create, change, delete or import records owned
  // by an authority (GSS code); PERMISSION_DENIED saying why, or OK.
  std::function<absl::Status(absl::string_view owning_authority)> may_write;
  // The call came through a trusted forwarder (the directory), which has
  // done the cross-region half of a capacity-sharing step first.
  bool forwarded = false;

  bool CanSee(const v1::Specialist& record) const {
    return !read || read->Allows(record.owning_authority(), record.visibility());
  }
  absl::Status CheckWrite(absl::string_view owning_authority) const {
    return may_write ? may_write(owning_authority) : absl::OkStatus();
  }
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_OPTIONS_H_
