#include "services/registry/background.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/logging.h"

namespace expertise::registry {

std::unique_ptr<PeriodicTask> StartSweeper(Registry* registry, security::AuditLog* trail,
                                           absl::Duration interval,
                                           std::shared_ptr<spdlog::logger> log) {
  return std::make_unique<PeriodicTask>(interval, PeriodicTask::First::kRunNow, [=] {
    const std::string event_id = absl::StrCat("sweep-", absl::ToUnixMicros(absl::Now()));
    std::vector<std::string> changing;
    absl::StatusOr<int> swept =
        registry->Sweep([&](const std::vector<std::string>& resources) -> absl::Status {
          changing = resources;
          if (changing.size() > security::kAuditMaxResources) changing.resize(security::kAuditMaxResources);
          security::AuditRecord attempt;
          attempt.event_id = event_id;
          attempt.phase = "attempt";
          attempt.actor = "system/sweep";
          attempt.action = "Sweep";
          attempt.resources = changing;
          attempt.detail = "deadlines, start and end dates";
          return trail->Append(std::move(attempt)).status();
        });
    if (!changing.empty()) {
      security::AuditRecord outcome;
      outcome.event_id = event_id;
      outcome.phase = "outcome";
      outcome.actor = "system/sweep";
      outcome.action = "Sweep";
      outcome.resources = changing;
      outcome.outcome = absl::StatusCodeToString(swept.status().code());
      (void)trail->Append(std::move(outcome));
    }
    if (!swept.ok()) {
      LogEvent(*log, spdlog::level::err, "sweep_failed", {{"error", std::string(swept.status().message())}});
    } else if (*swept > 0) {
      LogEvent(*log, spdlog::level::info, "swept", {{"changed", *swept}});
    }
    return true;
  });
}

std::unique_ptr<PeriodicTask> StartReplicaFollower(Registry* registry, absl::Duration poll,
                                                   std::function<void()> out_of_rotation,
                                                   std::shared_ptr<spdlog::logger> log) {
  auto failing = std::make_shared<bool>(false);  // only the task's thread touches it
  return std::make_unique<PeriodicTask>(
      poll, PeriodicTask::First::kWaitOneInterval,
      [registry, out_of_rotation = std::move(out_of_rotation), log, failing] {
        const absl::Status refreshed = registry->Refresh();
        if (ErrorReason(refreshed) == reasons::kStoreWentBack) {
          LogEvent(*log, spdlog::level::err, "store_went_back", {{"error", std::string(refreshed.message())}});
          out_of_rotation();
          return false;
        }
        if (!refreshed.ok() && !*failing) {
          LogEvent(*log, spdlog::level::warn, "replica_refresh_failed",
                   {{"error", std::string(refreshed.message())}});
        } else if (refreshed.ok() && *failing) {
          LogEvent(*log, spdlog::level::info, "replica_refresh_recovered",
                   {{"revision", registry->applied_revision()}});
        }
        *failing = !refreshed.ok();
        return true;
      });
}

}  // namespace expertise::registry
