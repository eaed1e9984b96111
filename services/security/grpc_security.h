#ifndef EXPERTISE_SERVICES_SECURITY_GRPC_SECURITY_H_
#define EXPERTISE_SERVICES_SECURITY_GRPC_SECURITY_H_

// The security edge of every server and client: TLS and mTLS credentials,
// the server interceptor that authenticates and authorises each call, and
// client channels that carry a certificate or an API key.
//
// gRPC 1.51's C++ server interceptors cannot end a call (grpc/grpc#24017), so
// the interceptor decides and the handler obeys: the interceptor records a
// CallDecision per call (identity, or the error to answer with) and forces
// that error onto the call's final status; every handler asks CallGate for
// the decision before doing anything and answers with its error. A call for
// which no decision exists (the interceptor was not installed) is refused.

#include <signal.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/common/clock.h"
#include "services/common/mutex.h"
#include "services/common/reference/reference_data.h"
#include "services/security/access_policy.h"
#include "services/security/api_keys.h"
#include "services/security/principal.h"
#include "services/security/rate_limiter.h"

namespace expertise::security {

// Metadata key a trusted service (the directory) sets to the principal it
// acts for. Honoured only when the direct caller is a service principal.
inline constexpr char kOnBehalfOfKey[] = "x-expertise-on-behalf-of";

// PEM files for TLS.
struct TlsFiles {
  std::string cert;  // certificate chain
  std::string key;   // private key
  std::string ca;    // CA that signs the other side's certificates
  bool empty() const { return cert.empty() && key.empty() && ca.empty(); }
};

struct ServerSecurityOptions {
  TlsFiles tls;                     // all three set: TLS with client certificates
  // "require": every client presents a certificate (mTLS); "optional":
  // clients may instead authenticate with an API key over TLS.
  std::string client_auth = "require";
  bool insecure_dev = false;        // plaintext on loopback, for development only
  std::string api_keys_path;        // keyring file; none: certificates only
  std::string trust_domain = kDefaultTrustDomain;
  // Principals whose calls may name another caller (x-expertise-on-behalf-of).
  std::vector<std::string> trusted_forwarders = {"service/directory"};
  double rate_per_second = 200;     // per caller; <= 0 turns limiting off
  double rate_burst = 400;
  size_t max_metadata_bytes = 16 * 1024;
  std::string error_domain;         // google.rpc.ErrorInfo domain of denials
};

// Server credentials for `listen`, or an error when the options would open a
// plaintext listener other than an explicitly allowed loopback one.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerSecurityOptions& options, const std::string& listen);

class CallGate;

// What a server needs for security: credentials for its listening port and
// the CallGate behind its interceptor.
struct ServerSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::unique_ptr<CallGate> gate;

  // Adds the listening port with the credentials and the interceptor.
  // `after` are installed behind the security interceptor: PRE_SEND_STATUS
  // runs interceptors in order, so they see the refusal it forces onto the
  // final status (the metrics interceptor counts the code the client gets).
  void Install(grpc::ServerBuilder* builder, const std::string& listen, int* port,
               std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
                   after = {});
};

// Checks `options` for a server listening on `listen` (TLS files, the
// plaintext rule, a way to authenticate callers) and builds both.
absl::StatusOr<ServerSecurity> SetUpServerSecurity(ServerSecurityOptions options,
                                                   const std::string& listen,
                                                   absl::string_view error_domain);

// The outcome of authenticating and authorising one call.
struct CallDecision {
  absl::Status status;              // OK: go ahead; else answer with it
  std::optional<Principal> caller;  // who the call is for
  std::optional<Principal> via;     // the service that forwarded it
  std::string peer;
  std::string method;               // short name, e.g. "GetSpecialist"
  bool rate_limited = false;        // refused for the caller's rate
  const MethodRule* rule = nullptr; // the method's access rule; null: none (refused)
};

// Authenticates and authorises calls. Thread-safe; outlives the server.
class CallGate {
 public:
  static absl::StatusOr<std::unique_ptr<CallGate>> Create(const ReferenceData& reference,
                                                          ServerSecurityOptions options,
                                                          Clock* clock = nullptr);

  // Register with ServerBuilder::experimental().SetInterceptorCreators.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  // The decision for a call in progress (copy). Refused when none exists.
  CallDecision Decision(const grpc::ServerContextBase* ctx) const;

  const AccessPolicy& policy() const { return policy_; }

  // Reads the keyring file again (SIGHUP): keys added are accepted and keys
  // removed refused from the next call on. On error the old keyring stays.
  absl::Status ReloadKeys();
  const ServerSecurityOptions& options() const { return options_; }

  // Derives a call's identity from its transport (mTLS) and metadata
  // (bearer key, on-behalf-of). Public for tests.
  CallDecision Authenticate(const grpc::AuthContext& auth,
                            const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                            const std::string& peer, absl::string_view full_method);

 private:
  class Interceptor;
  class Factory;
  CallGate(const ReferenceData& reference, ServerSecurityOptions options, ApiKeyring keys,
           Clock* clock);

  void Put(const void* call, CallDecision decision);
  void Erase(const void* call);

  const ReferenceData& reference_;
  const ServerSecurityOptions options_;
  const AccessPolicy policy_;
  Clock* const clock_;
  mutable Mutex keys_mu_;
  std::shared_ptr<const ApiKeyring> keys_ ABSL_GUARDED_BY(keys_mu_);
  RateLimiter limiter_;
  mutable Mutex mu_;
  absl::flat_hash_map<const void*, CallDecision> decisions_ ABSL_GUARDED_BY(mu_);
};

// How a client reaches a service.
struct ClientSecurityOptions {
  TlsFiles tls;       // ca alone: TLS with an API key; cert+key+ca: mTLS
  std::string token;  // API key sent as "authorization: Bearer ..."
};

// A channel to `target`: TLS when a CA is given; otherwise plaintext, which
// is allowed only to a loopback target. The token, if any, is added to every
// call that does not already carry an authorization header.
absl::StatusOr<std::shared_ptr<grpc::Channel>> NewClientChannel(
    const std::string& target, const ClientSecurityOptions& options,
    grpc::ChannelArguments args = grpc::ChannelArguments());

// Waits for SIGTERM or SIGINT (blocked in every thread by the caller, with
// SIGHUP) and returns it; each SIGHUP in between reloads `gate`'s keyring.
int WaitForStopSignal(const sigset_t& signals, CallGate* gate);

// Reads a whole (small) file, for PEM material and token files.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace expertise::security

#endif  // EXPERTISE_SERVICES_SECURITY_GRPC_SECURITY_H_
