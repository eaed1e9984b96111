#ifndef EXPERTISE_SERVICES_REGISTRY_PAGE_TOKEN_H_
#define EXPERTISE_SERVICES_REGISTRY_PAGE_TOKEN_H_

// Opaque keyset page tokens (AIP-158). A token carries where the previous
// page ended and a fingerprint of the request, so a token reused with other
// filters is refused instead of silently returning the wrong rows.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "expertise/internal/v1/page_token.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/message_lite.h"

namespace expertise::registry {

struct PageCursor {
  uint64_t fingerprint = 0;  // of the request without its paging fields
  int32_t day = 0;           // the capacity day the first page used
  double key = 0;            // sort key of the last result
  std::string last_name;     // resource name of the last result
};

std::string EncodePageToken(const PageCursor& cursor);

// Fails with INVALID_ARGUMENT (field "page_token") for anything that is not
// a token this service made.
absl::StatusOr<PageCursor> DecodePageToken(std::string_view token);

// The envelope every listing's tokens share (proto/expertise/internal/v1/
// page_token.proto), for listings with cursors of their own (the directory).

// Returns `cursor` serialized into a `kind` PageToken with its checksum, as
// unpadded base64url.
std::string SealPageToken(internal::v1::PageToken::Kind kind,
                          const google::protobuf::MessageLite& cursor);

// Parses `token` into `*cursor` (not null) and returns true when it is a
// base64url PageToken of `kind`, at most `max_token_size` characters, in the
// exact encoding SealPageToken makes, whose checksum matches and whose
// cursor parses. Returns false, leaving `*cursor` unspecified, otherwise.
bool OpenPageToken(std::string_view token, size_t max_token_size, internal::v1::PageToken::Kind kind,
                   google::protobuf::MessageLite* cursor);

// Returns a stable 64-bit fingerprint of `request` (serialised
// deterministically) after clearing the fields named page_size and page_token.
uint64_t RequestFingerprint(const google::protobuf::Message& request);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_PAGE_TOKEN_H_
