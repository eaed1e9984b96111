#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_SWEEP_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_SWEEP_H_

// The clock-driven part of capacity sharing: requests and commitments that
// move on by themselves, and the day's capacity snapshot.

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/registry/registry_core.h"
#include "services/registry/specialist_index.h"

namespace expertise::registry {

// Called with the names of the requests and specialists about to change.
using BeforeSweepCommit = std::function<absl::Status(const std::vector<std::string>& resources)>;

// Thread-safe, as the core it works on.
class Sweeper {
 public:
  // `core` outlives this object.
  explicit Sweeper(RegistryCore& core) : core_(core) {}
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  // See Registry::Sweep. Returns how many records changed.
  absl::StatusOr<int> Run(const BeforeSweepCommit& before_commit);

 private:
  RegistryCore& core_;
  // The last day a capacity snapshot was stored.
  DayNumber last_snapshot_day_ ABSL_GUARDED_BY(core_.write_mu()) = -1;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_SWEEP_H_
