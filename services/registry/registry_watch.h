#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_WATCH_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_WATCH_H_

// The live capacity watch of one region: a watcher on the core's hub with,
// when it needs one, a consistent snapshot of the records it may see. The
// core publishes every committed capacity change to the hub.

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "expertise/registry/v1/sharing_service.pb.h"
#include "services/registry/registry_core.h"
#include "services/registry/registry_options.h"
#include "services/watch/capacity_watch.h"

namespace expertise::registry {

// Thread-safe, as the core it reads.
class CapacityWatch {
 public:
  // `core` outlives this object.
  explicit CapacityWatch(RegistryCore& core) : core_(core) {}
  CapacityWatch(const CapacityWatch&) = delete;
  CapacityWatch& operator=(const CapacityWatch&) = delete;

  // See Registry::WatchCapacity.
  absl::StatusOr<std::shared_ptr<watch::Watcher>> Watch(const v1::WatchCapacityRequest& request,
                                                        const CallAccess& access,
                                                        std::function<void()> on_ready);

 private:
  RegistryCore& core_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_WATCH_H_
