#include "services/observability/grpc_metrics.h"

#include <chrono>

#include <google/protobuf/descriptor.h>
#include <grpcpp/server_context.h>

#include "absl/strings/str_cat.h"
#include "services/common/string_view.h"

namespace expertise::observability {
namespace {

using grpc::experimental::InterceptionHookPoints;
using RpcType = grpc::experimental::ServerRpcInfo::Type;

constexpr std::string_view kCodeNames[17] = {
    "OK",       "Canceled",          "Unknown",           "InvalidArgument", "DeadlineExceeded",
    "NotFound", "AlreadyExists",     "PermissionDenied",  "ResourceExhausted",
    "FailedPrecondition",            "Aborted",           "OutOfRange",      "Unimplemented",
    "Internal", "Unavailable",       "DataLoss",          "Unauthenticated"};

// gRPC's own services, served by the library without generated C++ code in
// our binaries (so absent from the descriptor pool).
bool IsLibraryMethod(std::string_view service, std::string_view method) {
  if (service == "grpc.health.v1.Health") return method == "Check" || method == "Watch";
  if (service == "grpc.reflection.v1alpha.ServerReflection" ||
      service == "grpc.reflection.v1.ServerReflection") {
    return method == "ServerReflectionInfo";
  }
  return false;
}

bool IsKnownMethod(std::string_view service, std::string_view method) {
  if (service.empty() || method.empty()) return false;
  if (IsLibraryMethod(service, method)) return true;
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
  return descriptor != nullptr && descriptor->FindMethodByName(std::string(method)) != nullptr;
}

// "/pkg.Service/Method" -> ("pkg.Service", "Method"); empty parts otherwise.
void SplitMethod(std::string_view full, std::string_view* service, std::string_view* method) {
  *service = {};
  *method = {};
  if (full.size() < 4 || full.front() != '/') return;
  full.remove_prefix(1);
  const size_t slash = full.find('/');
  if (slash == std::string_view::npos || full.find('/', slash + 1) != std::string_view::npos) return;
  *service = full.substr(0, slash);
  *method = full.substr(slash + 1);
}

}  // namespace

std::string_view GrpcCodeName(grpc::StatusCode code) {
  const int c = static_cast<int>(code);
  return c >= 0 && c < 17 ? kCodeNames[c] : kCodeNames[grpc::StatusCode::UNKNOWN];
}

std::string_view GrpcTypeName(RpcType type) {
  switch (type) {
    case RpcType::UNARY:
      return "unary";
    case RpcType::CLIENT_STREAMING:
      return "client_stream";
    case RpcType::SERVER_STREAMING:
      return "server_stream";
    case RpcType::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "bidi_stream";
}

GrpcServerMetrics::GrpcServerMetrics(MetricsRegistry* registry)
    : started_(registry->AddCounter("grpc_server_started_total",
                                    "Total number of RPCs started on the server.",
                                    {"grpc_type", "grpc_service", "grpc_method"})),
      handled_(registry->AddCounter(
          "grpc_server_handled_total",
          "Total number of RPCs completed on the server, regardless of success or failure.",
          {"grpc_type", "grpc_service", "grpc_method", "grpc_code"})),
      received_(registry->AddCounter("grpc_server_msg_received_total",
                                     "Total number of RPC stream messages received on the server.",
                                     {"grpc_type", "grpc_service", "grpc_method"})),
      sent_(registry->AddCounter("grpc_server_msg_sent_total",
                                 "Total number of gRPC stream messages sent by the server.",
                                 {"grpc_type", "grpc_service", "grpc_method"})),
      handling_(registry->AddHistogram(
          "grpc_server_handling_seconds",
          "Histogram of response latency (seconds) of gRPC that had been application-level "
          "handled by the server.",
          {"grpc_type", "grpc_service", "grpc_method"}, DefaultLatencyBuckets())) {}

Counter* GrpcServerMetrics::Method::Handled(grpc::StatusCode code) const {
  int c = static_cast<int>(code);
  if (c < 0 || c >= 17) c = grpc::StatusCode::UNKNOWN;
  Counter* counter = handled_[c].load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Racing first uses resolve the same child; either store is fine.
    counter = handled_family_->WithLabels({type_, service_, method_, kCodeNames[c]});
    handled_[c].store(counter, std::memory_order_release);
  }
  return counter;
}

const GrpcServerMetrics::Method* GrpcServerMetrics::Create(std::string key, std::string_view service,
                                                           std::string_view method, RpcType type) {
  MutexLock lock(&mu_);
  auto it = methods_.find(key);
  if (it != methods_.end()) return it->second.get();
  auto m = std::unique_ptr<Method>(new Method());
  m->type_ = std::string(GrpcTypeName(type));
  m->service_ = std::string(service);
  m->method_ = std::string(method);
  const std::initializer_list<std::string_view> labels = {m->type_, m->service_, m->method_};
  m->started = started_->WithLabels(labels);
  m->received = received_->WithLabels(labels);
  m->sent = sent_->WithLabels(labels);
  m->handling = handling_->WithLabels(labels);
  m->handled_family_ = handled_;
  return methods_.emplace(std::move(key), std::move(m)).first->second.get();
}

const GrpcServerMetrics::Method* GrpcServerMetrics::Resolve(std::string_view full_method, RpcType type) {
  {
    ReaderMutexLock lock(&mu_);
    auto it = methods_.find(ToAbsl(full_method));
    if (it != methods_.end()) return it->second.get();
  }
  std::string_view service, method;
  SplitMethod(full_method, &service, &method);
  if (IsKnownMethod(service, method)) return Create(std::string(full_method), service, method, type);
  const std::string key = absl::StrCat("?", ToAbsl(GrpcTypeName(type)));
  {
    ReaderMutexLock lock(&mu_);
    auto it = methods_.find(key);
    if (it != methods_.end()) return it->second.get();
  }
  return Create(key, "unknown", "unknown", type);
}

void GrpcServerMetrics::InitializeService(std::string_view service_full_name) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(service_full_name));
  if (service == nullptr) return;
  for (int i = 0; i < service->method_count(); ++i) {
    const google::protobuf::MethodDescriptor* m = service->method(i);
    const RpcType type = m->client_streaming()
                             ? (m->server_streaming() ? RpcType::BIDI_STREAMING : RpcType::CLIENT_STREAMING)
                             : (m->server_streaming() ? RpcType::SERVER_STREAMING : RpcType::UNARY);
    Create(absl::StrCat("/", service->full_name(), "/", m->name()), service->full_name(), m->name(), type);
  }
}

// How much earlier than the server's deadline an expired client deadline
// may reach it as a cancellation (transit and scheduling of the call's
// arrival).
constexpr std::chrono::seconds kDeadlineSkew{1};

// One per call; gRPC runs a call's interceptions one at a time, so the
// members need no lock.
class GrpcServerMetrics::Interceptor final : public grpc::experimental::Interceptor {
 public:
  Interceptor(const Method* method, grpc::experimental::ServerRpcInfo* info)
      : method_(method), info_(info) {}

  ~Interceptor() override {
    // No status was ever sent (the call was torn down first): the client
    // saw the call cancelled.
    if (started_ && !handled_) Handled(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA) &&
        !started_) {
      started_ = true;
      start_ = std::chrono::steady_clock::now();
      method_->started->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr) {
      method_->received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_SEND_MESSAGE) &&
        methods->GetSendMessageStatus()) {
      method_->sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) && !handled_) {
      grpc::StatusCode code = methods->GetSendStatus().error_code();
      grpc::ServerContextBase* ctx = info_->server_context();
      // A cancelled call's status never reaches the client, which has
      // already ended it: CANCELLED, or DEADLINE_EXCEEDED when its deadline
      // passed. The server's deadline starts when the call arrives, so a
      // client whose own deadline expired cancels a little before the
      // server's passes: within kDeadlineSkew of it counts as expired too.
      // (IsCancelled is safe at any time with the callback API.)
      if (ctx != nullptr && ctx->IsCancelled()) {
        code = ctx->deadline() <= std::chrono::system_clock::now() + kDeadlineSkew
                   ? grpc::StatusCode::DEADLINE_EXCEEDED
                   : grpc::StatusCode::CANCELLED;
      }
      Handled(code);
    }
    methods->Proceed();
  }

 private:
  void Handled(grpc::StatusCode code) {
    handled_ = true;
    if (!started_) {
      // Defensive: a status without initial metadata still started a call.
      started_ = true;
      start_ = std::chrono::steady_clock::now();
      method_->started->Increment();
    }
    method_->Handled(code)->Increment();
    method_->handling->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }

  const Method* const method_;
  grpc::experimental::ServerRpcInfo* const info_;
  bool started_ = false;
  bool handled_ = false;
  std::chrono::steady_clock::time_point start_;
};

class GrpcServerMetrics::Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(GrpcServerMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    return new Interceptor(metrics_->Resolve(method ? method : "", info->type()), info);
  }

 private:
  GrpcServerMetrics* const metrics_;
};

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcServerMetrics::NewInterceptorFactory() {
  return std::make_unique<Factory>(this);
}

}  // namespace expertise::observability
