#ifndef EXPERTISE_SERVICES_SECURITY_API_KEYS_H_
#define EXPERTISE_SERVICES_SECURITY_API_KEYS_H_

// Bearer API keys for callers that cannot present a client certificate.
// The server keeps only SHA-256 hashes of the tokens, so a leaked keyring file
// does not leak working credentials.
//
// Token:        ek_<key_id>_<secret>   (secret: 43 base64url characters, 32 random bytes)
// Keyring line: <key_id> <principal> sha256:<64 hex> [expires=<RFC 3339>]

#include <cstddef>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace expertise::security {

struct ApiKey {
  std::string key_id;      // [a-z0-9-]{1,32}
  // Stored verbatim; the keyring checks only the shape kind/code:
  // [a-z]+ "/" [A-Za-z0-9._-]{1,64}, e.g. "authority/E09000033".
  std::string principal;
  std::string sha256_hex;  // SHA-256 (hex, lower case) of the whole token string
  absl::Time expires = absl::InfiniteFuture();
};

// A set of API keys by key id. Immutable once built, so concurrent Verify()
// calls need no locking.
class ApiKeyring {
 public:
  // An empty keyring: every token is refused.
  ApiKeyring() = default;

  // Parses the text format, one key per line:
  //   <key_id> <principal> sha256:<64 hex> [expires=<RFC 3339>]
  // Fields are separated by spaces or tabs. Blank lines and lines starting
  // with '#' are ignored, as is anything after a field starting with '#'.
  // Hex digits may be upper or lower case (stored lower case).
  // Errors are INVALID_ARGUMENT naming the line and the problem; the message
  // never repeats a hash or an unrecognised field (it might be a secret pasted
  // in the wrong place). A repeated key_id is an error.
  static absl::StatusOr<ApiKeyring> Parse(absl::string_view text);

  // Reads and parses the file at `path`. Unreadable files give the errno's
  // code (NOT_FOUND, PERMISSION_DENIED, ...). A file writable by group or
  // others (mode & 022) is refused with FAILED_PRECONDITION, because anyone
  // who can write it can mint access. Non-regular files are refused too.
  static absl::StatusOr<ApiKeyring> Load(const std::string& path);

  // Checks a bearer token and returns the principal of its key. Refusals are
  // UNAUTHENTICATED and say why (malformed, unknown key id, wrong secret,
  // expired) without ever repeating the secret. A key is expired from its
  // `expires` instant onwards; expiry is reported only for the right secret.
  absl::StatusOr<std::string> Verify(absl::string_view token, absl::Time now) const;

  size_t size() const { return keys_.size(); }

 private:
  absl::flat_hash_map<std::string, ApiKey> keys_;
};

struct GeneratedKey {
  std::string token;         // give to the caller once; it is not stored anywhere
  std::string keyring_line;  // what an administrator appends to the keyring file
};

// Makes a new random key (OpenSSL RAND_bytes) for `principal`. An empty
// `key_id` gets a random 8-hex-digit id. INVALID_ARGUMENT for a badly shaped
// principal or key id; INTERNAL if the random generator fails.
absl::StatusOr<GeneratedKey> GenerateApiKey(absl::string_view principal, absl::string_view key_id,
                                            absl::Time expires = absl::InfiniteFuture());

// Returns the lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

}  // namespace expertise::security

#endif  // EXPERTISE_SERVICES_SECURITY_API_KEYS_H_
