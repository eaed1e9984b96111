#ifndef EXPERTISE_SERVICES_SHARING_LIFECYCLE_H_
#define EXPERTISE_SERVICES_SHARING_LIFECYCLE_H_

// The life of a support request: which transitions are legal from which
// state, validation of new requests, and the date arithmetic of matching
// windows and committed periods. Pure functions, no storage, no gRPC.

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/sharing.pb.h"
#include "google/type/date.pb.h"
#include "services/common/reference/reference_data.h"

namespace expertise::sharing {

enum class Transition { kOffer, kAccept, kStart, kComplete, kDecline, kWithdraw, kExpire, kEscalate };

// "offer", "accept", "start", "complete", "decline", "withdraw", "expire", "escalate".
absl::string_view TransitionVerb(Transition t);

// The state after `t`, or FAILED_PRECONDITION with ErrorInfo reason
// ILLEGAL_TRANSITION and a message like "cannot accept a support request that
// is OPEN (allowed from: OFFERED)".
absl::StatusOr<registry::v1::SupportRequestState> NextState(registry::v1::SupportRequestState from,
                                                            Transition t);

// COMPLETED, DECLINED, WITHDRAWN and EXPIRED: no transition leaves them.
bool IsFinal(registry::v1::SupportRequestState state);

// Short upper-case name without prefix: "OPEN", "UNMET", ...
std::string StateName(registry::v1::SupportRequestState state);

// Validates the writable fields of a new request (field paths prefixed
// "support_request."), listing every bad field at once (INVALID_ARGUMENT with
// BadRequest). `region_code` is the registry's region ("E12000001").
absl::Status ValidateNewSupportRequest(const registry::v1::SupportRequest& request, const ReferenceData& reference,
                                       absl::string_view region_code, absl::Time now);

// Free text: at most 500 code points of valid UTF-8 with no control
// characters at all (not even newline or tab). INVALID_ARGUMENT naming `field`.
absl::Status ValidateNote(absl::string_view note, absl::string_view field);

// Days given to find a match: ROUTINE/UNSPECIFIED 28, SOON 14, URGENT 5.
absl::Duration MatchWindow(registry::v1::Urgency urgency);

// Inclusive years of an age band: EARLY_YEARS 0-4, PRIMARY 5-10, SECONDARY
// 11-15, POST_16 16-25, UNSPECIFIED 0-25.
std::pair<int, int> AgeBandYears(registry::v1::AgeBand band);

// The last day of a period of `weeks` weeks starting on `start`
// (start + 7*weeks - 1 days).
google::type::Date PeriodEnd(const google::type::Date& start, int weeks);

}  // namespace expertise::sharing

#endif  // EXPERTISE_SERVICES_SHARING_LIFECYCLE_H_
