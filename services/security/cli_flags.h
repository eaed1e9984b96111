#ifndef EXPERTISE_SERVICES_SECURITY_CLI_FLAGS_H_
#define EXPERTISE_SERVICES_SECURITY_CLI_FLAGS_H_

// The security flags every server and client binary accepts, so they are
// spelled and documented once (docs/security.md).

#include <CLI/CLI.hpp>

#include "services/security/grpc_security.h"

namespace expertise::security {

// Server side: --tls-cert, --tls-key, --tls-ca, --tls-client-auth,
// --insecure-dev, --api-keys, --trust-domain, --rate-limit, --rate-burst,
// --max-metadata-bytes.
inline void AddServerSecurityFlags(CLI::App& app, ServerSecurityOptions* o) {
  app.add_option("--tls-cert", o->tls.cert, "PEM certificate chain this server presents")
      ->envname("EXPERTISE_TLS_CERT");
  app.add_option("--tls-key", o->tls.key, "PEM private key of --tls-cert")
      ->envname("EXPERTISE_TLS_KEY");
  app.add_option("--tls-ca", o->tls.ca, "PEM CA certificate(s) that sign client certificates")
      ->envname("EXPERTISE_TLS_CA");
  app.add_option("--tls-client-auth", o->client_auth,
                 "require: every client presents a certificate (mTLS); optional: clients may use "
                 "an API key over TLS instead")
      ->default_val("require")
      ->check(CLI::IsMember({"require", "optional"}));
  app.add_flag("--insecure-dev", o->insecure_dev,
               "Development only: serve plaintext (loopback addresses only; loudly logged)");
  app.add_option("--api-keys", o->api_keys_path,
                 "Keyring file of API keys (hashes only): <key-id> <principal> sha256:<hex>")
      ->envname("EXPERTISE_API_KEYS");
  app.add_option("--trust-domain", o->trust_domain,
                 "SPIFFE trust domain of client certificates")
      ->default_val(kDefaultTrustDomain);
  app.add_option("--trusted-forwarder", o->trusted_forwarders,
                 "Service principal allowed to act on behalf of callers (repeatable)")
      ->capture_default_str();
  app.add_option("--rate-limit", o->rate_per_second,
                 "Calls per second allowed per caller (0: no limit)")
      ->default_val(200)->check(CLI::Range(0.0, 1e6));
  app.add_option("--rate-burst", o->rate_burst, "Calls a caller may make at once above the rate")
      ->default_val(400)->check(CLI::Range(1.0, 1e7));
  app.add_option("--max-metadata-bytes", o->max_metadata_bytes,
                 "Largest request metadata (headers) accepted")
      ->default_val(16384)->check(CLI::Range(1024, 1 << 20));
}

// Client side: --ca, --cert, --key, --token / --token-file (environment
// EXPERTISE_CA, EXPERTISE_CERT, EXPERTISE_KEY, EXPERTISE_TOKEN).
inline void AddClientSecurityFlags(CLI::App& app, ClientSecurityOptions* o, std::string* token_file,
                                   const std::string& prefix = "") {
  // Environment variables only for the plain client flags: a server's
  // upstream identity must never come from a user's shell by accident.
  auto env = [&](CLI::Option* option, const char* name) {
    if (prefix.empty()) option->envname(name);
  };
  env(app.add_option("--" + prefix + "ca", o->tls.ca,
                     "PEM CA certificate that signs the server's certificate"),
      "EXPERTISE_CA");
  env(app.add_option("--" + prefix + "cert", o->tls.cert, "PEM client certificate (mTLS)"),
      "EXPERTISE_CERT");
  env(app.add_option("--" + prefix + "key", o->tls.key, "PEM private key of the client certificate"),
      "EXPERTISE_KEY");
  env(app.add_option("--" + prefix + "token", o->token,
                     "API key (prefer a token file or EXPERTISE_TOKEN: arguments are visible to "
                     "other users of the machine)"),
      "EXPERTISE_TOKEN");
  app.add_option("--" + prefix + "token-file", *token_file, "File holding the API key");
}

// Reads --token-file into the options when given.
inline absl::Status ResolveTokenFile(const std::string& token_file, ClientSecurityOptions* o) {
  if (token_file.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> token = ReadSecretFile(token_file);
  if (!token.ok()) return token.status();
  std::string value = *token;
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
    value.pop_back();
  }
  o->token = value;
  return absl::OkStatus();
}

}  // namespace expertise::security

#endif  // EXPERTISE_SERVICES_SECURITY_CLI_FLAGS_H_
