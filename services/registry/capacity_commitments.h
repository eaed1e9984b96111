#ifndef EXPERTISE_SERVICES_REGISTRY_CAPACITY_COMMITMENTS_H_
#define EXPERTISE_SERVICES_REGISTRY_CAPACITY_COMMITMENTS_H_

// Commitments of hours on this region's specialists, kept on the
// specialist's record: made by the provider (OFFERED), confirmed when an
// offer is accepted (COMMITTED) and released or completed.

#include "absl/status/statusor.h"
#include "expertise/registry/v1/sharing_service.pb.h"
#include "services/registry/registry_core.h"
#include "services/registry/registry_options.h"

namespace expertise::registry {

// Thread-safe, as the core it works on.
class CapacityCommitments {
 public:
  // `core` outlives this object.
  explicit CapacityCommitments(RegistryCore& core) : core_(core) {}
  CapacityCommitments(const CapacityCommitments&) = delete;
  CapacityCommitments& operator=(const CapacityCommitments&) = delete;

  absl::StatusOr<v1::CapacityCommitment> Create(const v1::CreateCapacityCommitmentRequest& request,
                                                const CallAccess& access = {});
  // Commits the hours if the specialist still has them.
  absl::StatusOr<v1::CapacityCommitment> Confirm(
      const v1::ConfirmCapacityCommitmentRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::CapacityCommitment> Release(
      const v1::ReleaseCapacityCommitmentRequest& request, const CallAccess& access = {});

 private:
  RegistryCore& core_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_CAPACITY_COMMITMENTS_H_
