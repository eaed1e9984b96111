#ifndef EXPERTISE_SERVICES_REGISTRY_SPECIALIST_RECORDS_H_
#define EXPERTISE_SERVICES_REGISTRY_SPECIALIST_RECORDS_H_

// Reading and changing specialist records one at a time or in a batch:
// names, etags, update masks and the (owning_authority, source,
// external_id) key.

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "services/registry/registry_core.h"
#include "services/registry/registry_options.h"

namespace expertise::registry {

// Thread-safe, as the core it works on.
class SpecialistRecords {
 public:
  // `core` outlives this object.
  explicit SpecialistRecords(RegistryCore& core) : core_(core) {}
  SpecialistRecords(const SpecialistRecords&) = delete;
  SpecialistRecords& operator=(const SpecialistRecords&) = delete;

  absl::StatusOr<v1::Specialist> Get(const v1::GetSpecialistRequest& request,
                                     const CallAccess& access = {}) const;
  absl::StatusOr<v1::ListSpecialistsResponse> List(const v1::ListSpecialistsRequest& request,
                                                   const CallAccess& access = {}) const;
  absl::StatusOr<v1::Specialist> Create(const v1::CreateSpecialistRequest& request,
                                        const CallAccess& access = {});
  absl::StatusOr<v1::Specialist> Update(const v1::UpdateSpecialistRequest& request,
                                        const CallAccess& access = {});
  absl::Status Delete(const v1::DeleteSpecialistRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::Specialist> UpdateCapacity(const v1::UpdateCapacityRequest& request,
                                                const CallAccess& access = {});
  // All or nothing: every record is validated and allowed before any is
  // written, and all are committed together.
  absl::StatusOr<v1::BatchUpsertSpecialistsResponse> BatchUpsert(
      const v1::BatchUpsertSpecialistsRequest& request, const CallAccess& access = {});

 private:
  // Shared body of Update and UpdateCapacity.
  absl::StatusOr<v1::Specialist> ApplyUpdate(
      const std::string& id, const std::string& etag, const CallAccess& access,
      const std::function<absl::Status(v1::Specialist*)>& change);

  RegistryCore& core_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SPECIALIST_RECORDS_H_
