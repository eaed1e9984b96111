#include "services/registry/registry.h"

#include <utility>

#include "services/common/status_macros.h"

namespace expertise::registry {

Registry::Registry(std::unique_ptr<RegistryCore> core)
    : core_(std::move(core)),
      specialists_(*core_),
      queries_(*core_),
      imports_(*core_),
      support_requests_(*core_, queries_),
      offers_(*core_, support_requests_),
      commitments_(*core_),
      reports_(*core_),
      sweeper_(*core_),
      watch_(*core_) {}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(RegistryOptions options,
                                                         std::unique_ptr<SpecialistStore> store) {
  ASSIGN_OR_RETURN(std::unique_ptr<RegistryCore> core,
                   RegistryCore::Open(std::move(options), std::move(store)));
  return std::unique_ptr<Registry>(new Registry(std::move(core)));
}

absl::StatusOr<int> Registry::Sweep(const BeforeSweepCommit& before_commit) {
  return sweeper_.Run(before_commit);
}

absl::StatusOr<std::shared_ptr<watch::Watcher>> Registry::WatchCapacity(
    const v1::WatchCapacityRequest& request, const CallAccess& access,
    std::function<void()> on_ready) {
  return watch_.Watch(request, access, std::move(on_ready));
}

absl::Status Registry::Refresh() { return core_->Refresh(); }

size_t Registry::size() const { return core_->size(); }

int64_t Registry::applied_revision() const { return core_->applied_revision(); }

}  // namespace expertise::registry
