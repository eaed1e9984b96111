#ifndef EXPERTISE_SERVICES_COMMON_ERROR_REASONS_H_
#define EXPERTISE_SERVICES_COMMON_ERROR_REASONS_H_

// Every google.rpc.ErrorInfo reason the services send. Clients branch on these
// values, so they are part of the API: never rename one. Errors without a
// reason of their own carry their status code name (grpc_status.cc).

#include <string_view>

namespace expertise::reasons {

// A request names fields that fail validation; BadRequest lists them.
inline constexpr std::string_view kInvalidFields = "INVALID_FIELDS";
// An update's etag differs from the stored one: someone else changed it.
inline constexpr std::string_view kEtagMismatch = "ETAG_MISMATCH";
// The store's revision went backwards (restored from a backup): restart.
inline constexpr std::string_view kStoreWentBack = "STORE_WENT_BACK";
// A resource name is in a region this registry does not serve.
inline constexpr std::string_view kRegionNotServed = "REGION_NOT_SERVED";
// The directory has no registry configured for the region asked about.
inline constexpr std::string_view kRegionNotConfigured = "REGION_NOT_CONFIGURED";
// Another specialist has the same owning authority, source and external id.
inline constexpr std::string_view kDuplicateSourceRecord = "DUPLICATE_SOURCE_RECORD";
// An import id was already used by a different import.
inline constexpr std::string_view kImportIdReused = "IMPORT_ID_REUSED";
// An incremental import's expected cursor no longer matches the stored one.
inline constexpr std::string_view kCursorMoved = "CURSOR_MOVED";
// An import stream ended without its end message.
inline constexpr std::string_view kImportIncomplete = "IMPORT_INCOMPLETE";
// The database connection was lost during COMMIT and the outcome is unknown.
inline constexpr std::string_view kCommitOutcomeUnknown = "COMMIT_OUTCOME_UNKNOWN";
// A change was refused (or contacts withheld) because auditing failed.
inline constexpr std::string_view kAuditUnavailable = "AUDIT_UNAVAILABLE";
// A commitment serves a different support request than the one named.
inline constexpr std::string_view kCommitmentMismatch = "COMMITMENT_MISMATCH";
// A commitment was offered before and closed; a new one is needed.
inline constexpr std::string_view kCommitmentClosed = "COMMITMENT_CLOSED";
// The state machine of a request, offer or commitment forbids the change.
inline constexpr std::string_view kIllegalTransition = "ILLEGAL_TRANSITION";
// The specialist no longer has the hours a commitment needs.
inline constexpr std::string_view kInsufficientCapacity = "INSUFFICIENT_CAPACITY";
// A support request has no offer with the id given.
inline constexpr std::string_view kOfferNotFound = "OFFER_NOT_FOUND";
// Commitments are confirmed only by accepting an offer (AcceptOffer).
inline constexpr std::string_view kUseAcceptOffer = "USE_ACCEPT_OFFER";
// An offer whose hours are in another region must be accepted via the directory.
inline constexpr std::string_view kCrossRegionViaDirectory = "CROSS_REGION_VIA_DIRECTORY";

}  // namespace expertise::reasons

#endif  // EXPERTISE_SERVICES_COMMON_ERROR_REASONS_H_
