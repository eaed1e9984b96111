#include "services/registry/registry_watch.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/registry/resource_model.h"

namespace expertise::registry {

absl::StatusOr<std::shared_ptr<watch::Watcher>> CapacityWatch::Watch(
    const v1::WatchCapacityRequest& req, const CallAccess& access, std::function<void()> on_ready) {
  const RecordRules& rules = core_.rules();
  const ReferenceData& reference = rules.reference();
  RETURN_IF_ERROR(rules.CheckParent(req.parent()));
  FieldViolations v;
  for (int i = 0; i < req.authorities_size(); ++i) {
    if (!reference.FindAuthority(req.authorities(i))) {
      v.Add(absl::StrCat("authorities[", i, "]"), "is not a known GSS code");
    }
  }
  for (int i = 0; i < req.roles_size(); ++i) {
    if (reference.TermIndex(v1::TAXONOMY_KIND_ROLE, req.roles(i)) < 0) {
      v.Add(absl::StrCat("roles[", i, "]"), "is not a role code");
    }
  }
  RETURN_IF_ERROR(v.ToStatus());
  watch::WatchFilter filter;
  filter.authorities.assign(req.authorities().begin(), req.authorities().end());
  filter.roles.assign(req.roles().begin(), req.roles().end());
  if (access.read) {
    filter.visible = [scope = *access.read](const v1::CapacityUpdate& u) {
      return scope.Allows(u.owning_authority(), u.visibility());
    };
  }
  // Publishing happens with mu() held exclusively, so no change can fall
  // between the snapshot and the live stream.
  ReaderMutexLock lock(&core_.mu());
  std::shared_ptr<watch::Watcher> watcher =
      core_.watch_hub().Subscribe(filter, req.resume_token(), std::move(on_ready));
  if (watcher->needs_snapshot()) {
    const absl::Time now = rules.Now();
    core_.index().ForEach([&](const v1::Specialist& s) {
      v1::CapacityUpdate update;
      update.set_specialist(s.name());
      update.set_owning_authority(s.owning_authority());
      update.set_role(s.role());
      update.set_visibility(s.visibility());
      update.set_contracted_hours_per_week(s.capacity().contracted_hours_per_week());
      update.set_available_hours_per_week(s.capacity().available_hours_per_week());
      *update.mutable_update_time() = s.capacity().has_update_time() ? s.capacity().update_time()
                                                                     : ToProto(now);
      if (filter.Matches(update)) watcher->PushSnapshot(std::move(update));
    });
    watcher->EndSnapshot();
  }
  return watcher;
}

}  // namespace expertise::registry
