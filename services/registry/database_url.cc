#include "services/registry/database_url.h"

#include <libpq-fe.h>

#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace expertise::registry {

namespace {

bool IsHostAndPort(std::string_view text) {
  if (text.empty()) return false;
  const size_t colon = text.find(':');
  const std::string_view host = text.substr(0, colon);
  if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
      })) {
    return false;
  }
  if (colon == std::string_view::npos) return true;
  const std::string_view port = text.substr(colon + 1);
  return !port.empty() && std::all_of(port.begin(), port.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

// The parts of a connection URI that redaction needs, found without
// decoding it. A keyword/value string has an empty scheme.
struct UriShape {
  std::string_view scheme;     // "postgresql://" or "postgres://"
  std::string_view authority;  // after the scheme, up to the first '/', '?' or '#'
  size_t at_signs = 0;         // raw '@' in the whole string
};

UriShape ShapeOf(std::string_view url) {
  UriShape uri;
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (url.substr(0, scheme.size()) == scheme) uri.scheme = scheme;
  }
  if (uri.scheme.empty()) return uri;
  const std::string_view rest = url.substr(uri.scheme.size());
  uri.authority = rest.substr(0, rest.find_first_of("/?#"));
  uri.at_signs = static_cast<size_t>(std::count(url.begin(), url.end(), '@'));
  return uri;
}

// libpq ends the user info at the first '@' and the authority at the first
// '/', '?' or '#': a password holding one of those unencoded spills its
// tail into the host, port or database name, which would then be shown. A
// URI is safe to parse only when its one '@', if any, is inside the
// authority.
bool UserInfoIsUnambiguous(const UriShape& uri) {
  if (uri.at_signs == 0) return true;
  return uri.at_signs == 1 && uri.authority.find('@') != std::string_view::npos;
}

// Returns the fixed text shown for a connection string that cannot be
// redacted safely: the URI scheme and host at most, the host only when no
// part of a password can have been taken for it.
std::string NotShown(const UriShape& uri, std::string_view why) {
  std::string shown;
  if (!uri.scheme.empty()) {
    shown.append(uri.scheme);
    const size_t at = uri.authority.rfind('@');
    const std::string_view host = at == std::string_view::npos ? uri.authority : uri.authority.substr(at + 1);
    if (UserInfoIsUnambiguous(uri) && IsHostAndPort(host)) shown.append(host);
    shown.append(" ");
  }
  return shown.append("(connection string not shown: ").append(why).append(")");
}

// Returns `value` as a keyword/value connection string writes it.
std::string ConninfoValue(std::string_view value) {
  if (!value.empty() && value.find_first_of(" \t\n\r\f\v'\\") == std::string_view::npos) {
    return std::string(value);
  }
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace

std::string RedactedDatabaseUrl(const std::string& url) {
  const UriShape uri = ShapeOf(url);
  if (!uri.scheme.empty() && !UserInfoIsUnambiguous(uri)) {
    return NotShown(uri, "an unencoded '@', '/', '?' or '#' in its user info makes it ambiguous");
  }
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(url.c_str(), &error),
                                                                       &PQconninfoFree);
  // The message may quote the text it could not parse: never shown.
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return NotShown(uri, "libpq cannot parse it");
  // libpq marks every secret option (password, sslpassword) with the
  // display character '*'; only options the string sets have a value.
  bool has_secret = false;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    has_secret |= o->val != nullptr && o->dispchar != nullptr && o->dispchar[0] == '*';
  }
  if (!has_secret) return url;
  std::vector<std::string> parts;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const bool secret = o->dispchar != nullptr && o->dispchar[0] == '*';
    parts.push_back(absl::StrCat(o->keyword, "=", secret ? "***" : ConninfoValue(o->val)));
  }
  return absl::StrJoin(parts, " ");
}

}  // namespace expertise::registry
