#include "services/security/api_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <utility>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace expertise::security {
namespace {

constexpr absl::string_view kTokenPrefix = "ek_";
constexpr absl::string_view kHashPrefix = "sha256:";
constexpr absl::string_view kExpiresPrefix = "expires=";
constexpr size_t kMaxKeyIdLength = 32;
constexpr size_t kMaxCodeLength = 64;
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded
constexpr size_t kSha256HexChars = 2 * SHA256_DIGEST_LENGTH;

constexpr absl::string_view kKeyIdRule = "1-32 characters from a-z, 0-9 and '-'";
constexpr absl::string_view kPrincipalRule =
    "kind/code (kind: a-z; code: 1-64 characters from A-Z, a-z, 0-9, '.', '_' and '-')";

bool IsKeyIdChar(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-'; }

bool IsValidKeyId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxKeyIdLength) return false;
  for (char c : id) {
    if (!IsKeyIdChar(c)) return false;
  }
  return true;
}

bool IsValidPrincipal(absl::string_view principal) {
  const size_t slash = principal.find('/');
  if (slash == absl::string_view::npos || slash == 0) return false;
  const absl::string_view kind = principal.substr(0, slash);
  const absl::string_view code = principal.substr(slash + 1);
  for (char c : kind) {
    if (!absl::ascii_islower(c)) return false;
  }
  if (code.empty() || code.size() > kMaxCodeLength) return false;
  for (char c : code) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

bool IsBase64UrlChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_'; }

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", what));
}

absl::Status Unauthenticated(absl::string_view what) {
  return absl::UnauthenticatedError(what);
}

// Checks the hash field; on success sets *hex to the lower-case digest.
absl::Status ParseHash(int line, absl::string_view field, std::string* hex) {
  if (!absl::ConsumePrefix(&field, kHashPrefix)) {
    return LineError(line, "third field must be sha256:<64 hex digits>");
  }
  if (field.size() != kSha256HexChars) {
    return LineError(line, absl::StrCat("hash has ", field.size(), " characters after sha256:, want ",
                                        kSha256HexChars, " hex digits"));
  }
  for (size_t i = 0; i < field.size(); ++i) {
    if (!absl::ascii_isxdigit(field[i])) {
      return LineError(line, absl::StrCat("hash has a non-hex character at position ", i + 1));
    }
  }
  *hex = absl::AsciiStrToLower(field);
  return absl::OkStatus();
}

}  // namespace

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<ApiKeyring> ApiKeyring::Parse(absl::string_view text) {
  ApiKeyring ring;
  absl::flat_hash_map<std::string, int> first_line;  // key id -> line, for duplicate messages
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    absl::ConsumeSuffix(&line, "\r");
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    // A field starting with '#' ends the line: no valid field can start with one.
    for (size_t i = 0; i < fields.size(); ++i) {
      if (absl::StartsWith(fields[i], "#")) {
        fields.resize(i);
        break;
      }
    }
    if (fields.empty()) continue;
    if (fields.size() < 3) {
      return LineError(line_number,
                       absl::StrCat("expected <key_id> <principal> sha256:<64 hex> "
                                    "[expires=<RFC 3339>], found ",
                                    fields.size(), fields.size() == 1 ? " field" : " fields"));
    }
    if (fields.size() > 4) {
      // Not echoed: a stray field could be a secret pasted into the wrong place.
      return LineError(line_number, "too many fields (only expires=<RFC 3339> may follow the hash)");
    }

    ApiKey key;
    if (!IsValidKeyId(fields[0])) {
      return LineError(line_number, absl::StrCat("key id must be ", kKeyIdRule, " (got ",
                                                 fields[0].size(), " characters)"));
    }
    key.key_id = std::string(fields[0]);
    if (!IsValidPrincipal(fields[1])) {
      return LineError(line_number, absl::StrCat("principal must look like ", kPrincipalRule));
    }
    key.principal = std::string(fields[1]);
    if (absl::Status s = ParseHash(line_number, fields[2], &key.sha256_hex); !s.ok()) return s;
    if (fields.size() == 4) {
      absl::string_view expires = fields[3];
      if (!absl::ConsumePrefix(&expires, kExpiresPrefix)) {
        return LineError(line_number, "fourth field must be expires=<RFC 3339>");
      }
      std::string error;
      if (!absl::ParseTime(absl::RFC3339_full, expires, &key.expires, &error)) {
        return LineError(line_number,
                         absl::StrCat("expires=\"", absl::CHexEscape(expires.substr(0, 40)),
                                      "\" is not an RFC 3339 time such as 2030-01-31T00:00:00Z (",
                                      error, ")"));
      }
    }
    auto [it, inserted] = first_line.try_emplace(key.key_id, line_number);
    if (!inserted) {
      return LineError(line_number, absl::StrCat("duplicate key id \"", key.key_id,
                                                 "\" (first on line ", it->second, ")"));
    }
    std::string id = key.key_id;
    ring.keys_.emplace(std::move(id), std::move(key));
  }
  return ring;
}

absl::StatusOr<ApiKeyring> ApiKeyring::Load(const std::string& path) {
  // O_NONBLOCK so that a FIFO cannot hang the open; it is refused below anyway.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot open API keyring ", path));
  }
  absl::Cleanup close_fd = [fd] { close(fd); };
  // fstat on the open descriptor, so the checks apply to the file actually read.
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot stat API keyring ", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("API keyring ", path, " is not a regular file"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::FailedPreconditionError(
        absl::StrCat("API keyring ", path, " is writable by group or others (mode ", mode,
                     "), so anyone who can write it can grant access; run chmod go-w on it"));
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot read API keyring ", path));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  absl::StatusOr<ApiKeyring> ring = Parse(text);
  if (!ring.ok()) {
    return absl::Status(ring.status().code(),
                        absl::StrCat("API keyring ", path, ": ", ring.status().message()));
  }
  return ring;
}

absl::StatusOr<std::string> ApiKeyring::Verify(absl::string_view token, absl::Time now) const {
  absl::string_view rest = token;
  if (!absl::ConsumePrefix(&rest, kTokenPrefix)) {
    return Unauthenticated("malformed API key: it does not start with \"ek_\"");
  }
  // Key ids never contain '_', so the first one ends the id; the secret may contain more.
  const size_t sep = rest.find('_');
  if (sep == absl::string_view::npos) {
    return Unauthenticated("malformed API key: expected ek_<key id>_<secret>");
  }
  const absl::string_view key_id = rest.substr(0, sep);
  const absl::string_view secret = rest.substr(sep + 1);
  if (!IsValidKeyId(key_id)) {
    return Unauthenticated(absl::StrCat("malformed API key: the key id must be ", kKeyIdRule));
  }
  bool secret_ok = secret.size() == kSecretChars;
  for (char c : secret) secret_ok = secret_ok && IsBase64UrlChar(c);
  if (!secret_ok) {
    return Unauthenticated(
        absl::StrCat("malformed API key \"", key_id, "\": the secret must be ", kSecretChars,
                     " base64url characters"));
  }
  auto it = keys_.find(key_id);
  if (it == keys_.end()) {
    return Unauthenticated(absl::StrCat("unknown API key id \"", key_id, "\""));
  }
  const ApiKey& key = it->second;
  const std::string hash = Sha256Hex(token);
  // Both are always 64 hex characters; the length check only guards the memcmp.
  if (hash.size() != key.sha256_hex.size() ||
      CRYPTO_memcmp(hash.data(), key.sha256_hex.data(), hash.size()) != 0) {
    return Unauthenticated(absl::StrCat("wrong secret for API key \"", key_id, "\""));
  }
  // Checked only after the secret, so expiry dates are not revealed to guessers.
  if (now >= key.expires) {
    return Unauthenticated(absl::StrCat(
        "API key \"", key_id, "\" expired at ",
        absl::FormatTime(absl::RFC3339_full, key.expires, absl::UTCTimeZone())));
  }
  return key.principal;
}

absl::StatusOr<GeneratedKey> GenerateApiKey(absl::string_view principal, absl::string_view key_id,
                                            absl::Time expires) {
  if (!IsValidPrincipal(principal)) {
    return absl::InvalidArgumentError(
        absl::StrCat("principal must look like ", kPrincipalRule));
  }
  std::string id(key_id);
  if (id.empty()) {
    unsigned char random_id[4];
    if (RAND_bytes(random_id, sizeof(random_id)) != 1) {
      return absl::InternalError("random number generator failed");
    }
    id = absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(random_id), sizeof(random_id)));
  } else if (!IsValidKeyId(id)) {
    return absl::InvalidArgumentError(absl::StrCat("key id must be ", kKeyIdRule));
  }
  unsigned char raw[kSecretBytes];
  if (RAND_bytes(raw, sizeof(raw)) != 1) {
    return absl::InternalError("random number generator failed");
  }
  std::string secret =
      absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(raw), sizeof(raw)));
  OPENSSL_cleanse(raw, sizeof(raw));

  GeneratedKey generated;
  generated.token = absl::StrCat(kTokenPrefix, id, "_", secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  generated.keyring_line = absl::StrCat(id, " ", principal, " ", kHashPrefix, Sha256Hex(generated.token));
  if (expires != absl::InfiniteFuture()) {
    absl::StrAppend(&generated.keyring_line, " ", kExpiresPrefix,
                    absl::FormatTime(absl::RFC3339_full, expires, absl::UTCTimeZone()));
  }
  return generated;
}

}  // namespace expertise::security
