#ifndef EXPERTISE_SERVICES_REGISTRY_SHARING_CHANGES_H_
#define EXPERTISE_SERVICES_REGISTRY_SHARING_CHANGES_H_

// What capacity sharing's parts share: changes to support requests and to
// commitments on this region's specialists, prepared under the core's write
// lock and committed together, so a request's state and the commitments it
// holds never disagree, and the checks of names and ids they have in
// common. Used by support_requests, offer_lifecycle, capacity_commitments
// and the sweep; not by callers.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/sharing_service.pb.h"
#include "services/common/errors.h"
#include "services/registry/registry_core.h"
#include "services/registry/registry_options.h"

namespace expertise::registry::sharing_internal {

// Changes prepared under the write lock and committed together.
struct SharingWrite {
  std::vector<std::shared_ptr<v1::Specialist>> specialists;
  std::vector<std::shared_ptr<v1::SupportRequest>> requests;
};

// Changes a copy of a support request (the time of the change given).
using RequestChange = std::function<absl::Status(v1::SupportRequest*, absl::Time now)>;
// Changes a copy of a commitment of `before`.
using CommitmentChange =
    std::function<absl::Status(const v1::Specialist& before, v1::CapacityCommitment*)>;

// Parses `regions/{region}/supportRequests/{id}` of `region` into the id.
absl::StatusOr<std::string> ParseSupportRequestName(const RegionInfo& region, const std::string& name,
                                                    absl::string_view field);
// Fills the output-only fields of a request about to be stored.
void StampSupportRequest(v1::SupportRequest* request, const v1::SupportRequest* previous,
                         absl::Time now);
// Runs `change` on a copy of the request and stamps it; nullptr when the
// change changed nothing (a retry). Nothing is written yet.
absl::StatusOr<std::shared_ptr<v1::SupportRequest>> PrepareRequestChange(
    RegistryCore& core, const std::string& name, absl::string_view field,
    const RequestChange& change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(core.write_mu());
// Runs `change` on a copy of the commitment's specialist (the copy already
// in `write` if there is one), restamps it and adds it to `write`.
absl::StatusOr<v1::CapacityCommitment> PrepareCommitmentChange(RegistryCore& core,
                                                               const std::string& name,
                                                               const CallAccess& access,
                                                               const CommitmentChange& change,
                                                               SharingWrite* write)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(core.write_mu());
// Releases the commitments of this region held by `request`'s offers in
// `states`, into `write`.
absl::Status PrepareLocalReleases(RegistryCore& core, const v1::SupportRequest& request,
                                  std::vector<v1::SupportOffer::State> states, bool completed,
                                  const CallAccess& access, SharingWrite* write)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(core.write_mu());
// Commits `write` and publishes it.
absl::Status CommitSharing(RegistryCore& core, SharingWrite write)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(core.write_mu());

// Splits `regions/{r}/specialists/{s}/commitments/{c}`.
struct CommitmentName {
  std::string region_id, specialist_id, commitment_id;
};
std::optional<CommitmentName> ParseCommitmentName(const std::string& name);
bool IsSupportRequestName(const std::string& name);
// Checks a client's idempotency key.
void CheckRequestId(const std::string& request_id, bool required, FieldViolations* v);
// An id derived from a client's idempotency key, so a retry finds it.
std::string DerivedId(absl::string_view prefix, absl::string_view scope, absl::string_view key);
std::string RandomId(absl::string_view prefix);
// Offers still pending become CLOSED.
void ClosePendingOffers(v1::SupportRequest* request);
// Commits an OFFERED commitment's hours if the specialist has them (the
// step that decides a race); a COMMITTED one answers as it is. `access`
// must outlive the change.
CommitmentChange ConfirmChange(std::string request_id, std::string support_request,
                               const CallAccess& access, DayNumber today);
// Returns a commitment's hours; already released or completed stays so.
CommitmentChange ReleaseChange(bool completed);

}  // namespace expertise::registry::sharing_internal

#endif  // EXPERTISE_SERVICES_REGISTRY_SHARING_CHANGES_H_
