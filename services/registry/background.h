#ifndef EXPERTISE_SERVICES_REGISTRY_BACKGROUND_H_
#define EXPERTISE_SERVICES_REGISTRY_BACKGROUND_H_

// The registry's background work, started by the server once the registry
// is loaded and stopped before it shuts down. gRPC-free.

#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "services/common/periodic_task.h"
#include "services/registry/registry.h"
#include "services/security/audit_log.h"
#include "spdlog/spdlog.h"

namespace expertise::registry {

// Moves support requests and commitments on with the clock and takes the
// daily capacity snapshot (Registry::Sweep) at once and then every
// `interval`. Clock-driven transitions are audited like callers' changes: an
// attempt record first (no record, no change), then the outcome, as
// "system/sweep".
std::unique_ptr<PeriodicTask> StartSweeper(Registry* registry, security::AuditLog* trail,
                                           absl::Duration interval,
                                           std::shared_ptr<spdlog::logger> log);

// Replicas sharing a PostgreSQL database: applies the others' writes every
// `poll` so reads here see them within about one interval. When the store's
// revision goes back (a restored backup) it calls `out_of_rotation` and ends:
// serving that view would mix two histories (docs/operations.md, restore).
std::unique_ptr<PeriodicTask> StartReplicaFollower(Registry* registry, absl::Duration poll,
                                                   std::function<void()> out_of_rotation,
                                                   std::shared_ptr<spdlog::logger> log);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_BACKGROUND_H_
