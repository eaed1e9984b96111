#include "services/security/grpc_security.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/client_interceptor.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/rpc/grpc_status.h"
#include "services/common/logging.h"
#include "services/common/net_address.h"

namespace expertise::security {
namespace {

using grpc::experimental::InterceptionHookPoints;

spdlog::logger& Log() {
  static spdlog::logger* const logger = GetLogger("security").get();
  return *logger;
}

absl::string_view ShortMethod(absl::string_view full_method) {
  const size_t slash = full_method.rfind('/');
  return slash == absl::string_view::npos ? full_method : full_method.substr(slash + 1);
}

absl::string_view View(const grpc::string_ref& ref) { return {ref.data(), ref.size()}; }

}  // namespace

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream out;
  out << in.rdbuf();
  if (out.str().size() > 1 << 20) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is larger than 1 MiB"));
  }
  return out.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerSecurityOptions& options, const std::string& listen) {
  const bool any_tls = !options.tls.empty();
  if (any_tls) {
    if (options.tls.cert.empty() || options.tls.key.empty() || options.tls.ca.empty()) {
      return absl::InvalidArgumentError(
          "TLS needs all of --tls-cert, --tls-key and --tls-ca (the CA of client certificates)");
    }
    if (options.insecure_dev) {
      return absl::InvalidArgumentError("--insecure-dev and TLS options exclude each other");
    }
    if (options.client_auth != "require" && options.client_auth != "optional") {
      return absl::InvalidArgumentError("--tls-client-auth must be require or optional");
    }
    grpc::SslServerCredentialsOptions ssl(
        options.client_auth == "require"
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    absl::StatusOr<std::string> cert = ReadSecretFile(options.tls.cert);
    absl::StatusOr<std::string> key = ReadSecretFile(options.tls.key);
    absl::StatusOr<std::string> ca = ReadSecretFile(options.tls.ca);
    for (const auto* s : {&cert, &key, &ca}) {
      if (!s->ok()) return s->status();
    }
    ssl.pem_root_certs = *ca;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    return grpc::SslServerCredentials(ssl);
  }
  if (!options.insecure_dev) {
    return absl::FailedPreconditionError(
        "no TLS configured: give --tls-cert, --tls-key and --tls-ca, or --insecure-dev for a "
        "plaintext development server on loopback");
  }
  if (!IsLoopbackAddress(listen)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to listen in plaintext on ", listen,
        ": --insecure-dev is allowed only on loopback (127.0.0.1, [::1], localhost)"));
  }
  LogEvent(Log(), spdlog::level::warn, "insecure_dev_listener",
           {{"listen", listen},
            {"note", "PLAINTEXT, development only: no transport security, API keys travel in clear"}});
  return grpc::InsecureServerCredentials();
}

absl::StatusOr<ServerSecurity> SetUpServerSecurity(ServerSecurityOptions options,
                                                   const std::string& listen,
                                                   absl::string_view error_domain) {
  options.error_domain = std::string(error_domain);
  ServerSecurity security;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options, listen);
  if (!credentials.ok()) return credentials.status();
  security.credentials = *std::move(credentials);
  absl::StatusOr<std::unique_ptr<CallGate>> gate =
      CallGate::Create(ReferenceData::Get(), std::move(options));
  if (!gate.ok()) return gate.status();
  security.gate = *std::move(gate);
  return security;
}

void ServerSecurity::Install(
    grpc::ServerBuilder* builder, const std::string& listen, int* port,
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> after) {
  builder->AddListeningPort(listen, credentials, port);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(gate->NewInterceptorFactory());
  for (auto& factory : after) interceptors.push_back(std::move(factory));
  builder->experimental().SetInterceptorCreators(std::move(interceptors));
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<CallGate>> CallGate::Create(const ReferenceData& reference,
                                                           ServerSecurityOptions options,
                                                           Clock* clock) {
  ApiKeyring keys;
  if (!options.api_keys_path.empty()) {
    absl::StatusOr<ApiKeyring> loaded = ApiKeyring::Load(options.api_keys_path);
    if (!loaded.ok()) return loaded.status();
    keys = *std::move(loaded);
  } else if (options.tls.empty()) {
    return absl::FailedPreconditionError(
        "no way to authenticate callers: give --api-keys, or TLS with client certificates");
  }
  return std::unique_ptr<CallGate>(
      new CallGate(reference, std::move(options), std::move(keys), clock ? clock : RealClock()));
}

CallGate::CallGate(const ReferenceData& reference, ServerSecurityOptions options, ApiKeyring keys,
                   Clock* clock)
    : reference_(reference),
      options_(std::move(options)),
      policy_(reference),
      clock_(clock),
      keys_(std::make_shared<const ApiKeyring>(std::move(keys))),
      limiter_(options_.rate_per_second, options_.rate_burst, clock) {}

absl::Status CallGate::ReloadKeys() {
  if (options_.api_keys_path.empty()) {
    return absl::FailedPreconditionError("no keyring file (--api-keys) to reload");
  }
  absl::StatusOr<ApiKeyring> loaded = ApiKeyring::Load(options_.api_keys_path);
  if (!loaded.ok()) return loaded.status();
  const size_t count = loaded->size();
  {
    MutexLock lock(&keys_mu_);
    keys_ = std::make_shared<const ApiKeyring>(*std::move(loaded));
  }
  LogEvent(Log(), spdlog::level::info, "keyring_reloaded", {{"keys", count}});
  return absl::OkStatus();
}

int WaitForStopSignal(const sigset_t& signals, CallGate* gate) {
  while (true) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number != SIGHUP) return signal_number;
    if (absl::Status s = gate->ReloadKeys(); !s.ok()) {
      LogEvent(Log(), spdlog::level::err, "keyring_reload_failed",
               {{"error", std::string(s.message())}, {"note", "the previous keyring stays in force"}});
    }
  }
}

CallDecision CallGate::Authenticate(const grpc::AuthContext& auth,
                                    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                                    const std::string& peer, absl::string_view full_method) {
  CallDecision d;
  d.peer = peer;
  d.method = std::string(ShortMethod(full_method));

  size_t metadata_bytes = 0;
  for (const auto& [key, value] : metadata) metadata_bytes += key.size() + value.size();
  if (metadata_bytes > options_.max_metadata_bytes) {
    d.status = absl::ResourceExhaustedError(absl::StrCat(
        "request metadata is ", metadata_bytes, " bytes; the limit is ",
        options_.max_metadata_bytes));
    return d;
  }

  // The transport's identity: a verified client certificate's SPIFFE id.
  std::optional<Principal> from_certificate;
  if (auth.IsPeerAuthenticated()) {
    std::vector<grpc::string_ref> ids = auth.FindPropertyValues(GRPC_PEER_SPIFFE_ID_PROPERTY_NAME);
    if (ids.size() != 1) {
      d.status = absl::UnauthenticatedError(
          "the client certificate carries no single SPIFFE id (URI SAN spiffe://...)");
      return d;
    }
    absl::StatusOr<Principal> p = ParseSpiffeId(View(ids[0]), options_.trust_domain, reference_);
    if (!p.ok()) {
      d.status = absl::UnauthenticatedError(p.status().message());
      return d;
    }
    from_certificate = *std::move(p);
  }

  // The call's own credential: a bearer API key.
  std::optional<Principal> from_token;
  auto auth_header = metadata.equal_range("authorization");
  if (auth_header.first != auth_header.second) {
    if (std::next(auth_header.first) != auth_header.second) {
      d.status = absl::UnauthenticatedError("more than one authorization header");
      return d;
    }
    absl::string_view value = View(auth_header.first->second);
    if (!absl::ConsumePrefix(&value, "Bearer ") && !absl::ConsumePrefix(&value, "bearer ")) {
      d.status = absl::UnauthenticatedError("the authorization header is not 'Bearer <key>'");
      return d;
    }
    std::shared_ptr<const ApiKeyring> keys;
    {
      ReaderMutexLock lock(&keys_mu_);
      keys = keys_;
    }
    absl::StatusOr<std::string> principal = keys->Verify(value, clock_->Now());
    if (!principal.ok()) {
      // Which part was wrong stays in the server's debug log: telling the
      // caller would let it probe for valid key ids.
      LogEvent(Log(), spdlog::level::debug, "api_key_refused",
               {{"reason", std::string(principal.status().message())}});
      d.status = absl::UnauthenticatedError("the API key is not valid (unknown, wrong or expired)");
      return d;
    }
    absl::StatusOr<Principal> p = ParsePrincipal(*principal, reference_);
    if (!p.ok()) {
      d.status = absl::UnauthenticatedError(p.status().message());
      return d;
    }
    from_token = *std::move(p);
  }

  if (from_certificate && from_token && !(*from_certificate == *from_token)) {
    d.status = absl::UnauthenticatedError(
        "the client certificate and the API key name different callers");
    return d;
  }
  std::optional<Principal> direct = from_certificate ? from_certificate : from_token;

  if (direct) {
    auto obo = metadata.equal_range(kOnBehalfOfKey);
    if (obo.first != obo.second) {
      const std::string forwarder = direct->ToString();
      if (std::find(options_.trusted_forwarders.begin(), options_.trusted_forwarders.end(),
                    forwarder) == options_.trusted_forwarders.end()) {
        d.status = absl::PermissionDeniedError(
            absl::StrCat(forwarder, " may not act on behalf of another caller"));
        d.caller = direct;
        return d;
      }
      if (std::next(obo.first) != obo.second) {
        d.status = absl::InvalidArgumentError("more than one on-behalf-of header");
        return d;
      }
      absl::StatusOr<Principal> actor = ParsePrincipal(View(obo.first->second), reference_);
      // Administrators call directly: a forwarder cannot lend their rights.
      // A service named by the directory keeps a service's (small) rights.
      if (!actor.ok() || actor->kind == PrincipalKind::kAdministrator) {
        d.status = absl::PermissionDeniedError("the on-behalf-of principal is not a valid caller");
        return d;
      }
      d.via = direct;
      d.caller = *std::move(actor);
    } else {
      d.caller = direct;
    }
  }

  // Rate limits apply per caller, and per peer address before a caller is
  // known, so a flood of bad keys is throttled too.
  absl::Duration retry_after;
  const std::string limit_key =
      d.caller ? d.caller->ToString() : absl::StrCat("peer:", peer.substr(0, peer.rfind(':')));
  if (!limiter_.Allow(limit_key, &retry_after)) {
    d.rate_limited = true;
    d.status = absl::ResourceExhaustedError(absl::StrCat(
        "rate limit for ", limit_key, " exceeded (", options_.rate_per_second,
        " calls per second); retry after ", absl::FormatDuration(absl::Ceil(retry_after, absl::Milliseconds(1)))));
    return d;
  }
  d.rule = FindMethodRule(full_method);
  d.status = policy_.CheckMethod(d.caller ? &*d.caller : nullptr, d.rule, full_method);
  return d;
}

void CallGate::Put(const void* call, CallDecision decision) {
  MutexLock lock(&mu_);
  decisions_[call] = std::move(decision);
}

void CallGate::Erase(const void* call) {
  MutexLock lock(&mu_);
  decisions_.erase(call);
}

CallDecision CallGate::Decision(const grpc::ServerContextBase* ctx) const {
  {
    ReaderMutexLock lock(&mu_);
    auto it = decisions_.find(static_cast<const void*>(ctx));
    if (it != decisions_.end()) return it->second;
  }
  CallDecision refused;
  refused.status = absl::InternalError("the call was not authenticated (no security interceptor)");
  return refused;
}

class CallGate::Interceptor final : public grpc::experimental::Interceptor {
 public:
  Interceptor(CallGate* gate, grpc::experimental::ServerRpcInfo* info) : gate_(gate), info_(info) {}
  ~Interceptor() override {
    if (decided_) gate_->Erase(info_->server_context());
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      grpc::ServerContextBase* ctx = info_->server_context();
      std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
      CallDecision decision = gate_->Authenticate(*auth, *methods->GetRecvInitialMetadata(),
                                                  ctx->peer(), info_->method());
      if (!decision.status.ok()) {
        denial_ = ToGrpcStatus(decision.status, gate_->options_.error_domain);
        // Information level: the principal and method name no person.
        LogEvent(Log(), spdlog::level::info, "call_refused",
                 {{"method", decision.method},
                  {"caller", decision.caller ? decision.caller->ToString() : "-"},
                  {"code", absl::StatusCodeToString(decision.status.code())}});
      }
      gate_->Put(ctx, std::move(decision));
      decided_ = true;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        denial_.has_value()) {
      // Whatever the handler answered, a refused call ends with the refusal.
      methods->ModifySendStatus(*denial_);
    }
    methods->Proceed();
  }

 private:
  CallGate* const gate_;
  grpc::experimental::ServerRpcInfo* const info_;
  bool decided_ = false;
  std::optional<grpc::Status> denial_;
};

class CallGate::Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(CallGate* gate) : gate_(gate) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new Interceptor(gate_, info);
  }

 private:
  CallGate* const gate_;
};

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
CallGate::NewInterceptorFactory() {
  return std::make_unique<Factory>(this);
}

// ---------------------------------------------------------------------------

namespace {

class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string* header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      auto* metadata = methods->GetSendInitialMetadata();
      if (metadata->find("authorization") == metadata->end()) {
        metadata->emplace("authorization", *header_);
      }
    }
    methods->Proceed();
  }

 private:
  const std::string* header_;
};

class BearerFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerFactory(std::string token) : header_(absl::StrCat("Bearer ", token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new BearerInterceptor(&header_);
  }

 private:
  const std::string header_;  // lives as long as the channel
};

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> NewClientChannel(
    const std::string& target, const ClientSecurityOptions& options, grpc::ChannelArguments args) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (!options.tls.ca.empty()) {
    grpc::SslCredentialsOptions ssl;
    absl::StatusOr<std::string> ca = ReadSecretFile(options.tls.ca);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    if (options.tls.cert.empty() != options.tls.key.empty()) {
      return absl::InvalidArgumentError("a client certificate needs both --cert and --key");
    }
    if (!options.tls.cert.empty()) {
      absl::StatusOr<std::string> cert = ReadSecretFile(options.tls.cert);
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadSecretFile(options.tls.key);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    if (!options.tls.cert.empty() || !options.tls.key.empty()) {
      return absl::InvalidArgumentError("a client certificate needs the CA too (--ca)");
    }
    if (!IsLoopbackAddress(target)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no CA given (--ca): TLS is required for ", target,
          "; plaintext is allowed only to loopback development servers"));
    }
    credentials = grpc::InsecureChannelCredentials();
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> creators;
  if (!options.token.empty()) {
    creators.push_back(std::make_unique<BearerFactory>(options.token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials, args,
                                                                 std::move(creators));
}

}  // namespace expertise::security
