#ifndef EXPERTISE_SERVICES_REGISTRY_SPECIALIST_STORE_H_
#define EXPERTISE_SERVICES_REGISTRY_SPECIALIST_STORE_H_

// The durable store behind a registry: a narrow interface so SQLite (the
// embedded default) and PostgreSQL can sit behind the same domain logic.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "expertise/registry/v1/specialist.pb.h"

namespace expertise::registry {

// One atomic change: every put and delete is applied, or none.
struct WriteBatch {
  // Full records to insert or replace, keyed by the id in their name.
  std::vector<const v1::Specialist*> puts;
  // Ids of records to delete, with all their data.
  std::vector<std::string> deletes;
};

// Implementations are not thread-safe: the Registry serialises writers and
// loads once at start-up.
class SpecialistStore {
 public:
  virtual ~SpecialistStore() = default;

  // Calls `visit` with every stored record. Stops at the first error.
  virtual absl::Status LoadAll(const std::function<absl::Status(v1::Specialist)>& visit) = 0;

  // Applies `batch` atomically and durably: when this returns OK the change
  // survives a crash or power loss.
  virtual absl::Status Commit(const WriteBatch& batch) = 0;

  // Returns the schema version the store is at.
  virtual int schema_version() const = 0;
};

// Returns the id part of `regions/{region}/specialists/{id}`.
std::string SpecialistIdFromName(const std::string& name);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SPECIALIST_STORE_H_
