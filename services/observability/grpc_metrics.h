#ifndef EXPERTISE_SERVICES_OBSERVABILITY_GRPC_METRICS_H_
#define EXPERTISE_SERVICES_OBSERVABILITY_GRPC_METRICS_H_

// gRPC server metrics with go-grpc-prometheus' names and labels, so its
// dashboards and alerts work unchanged:
//
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_msg_received_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_msg_sent_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}  (histogram,
//       buckets .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10)
//
// grpc_type is unary, client_stream, server_stream or bidi_stream (the
// method's type as gRPC reports it to the interceptor); grpc_code is grpc-go's
// codes.Code.String() ("OK", "InvalidArgument", "PermissionDenied", ...).
//
// Recorded by a server interceptor that only counts (it never blocks and
// allocates only the first time a method or code is seen):
//   - started and the latency clock at POST_RECV_INITIAL_METADATA;
//   - a message received at POST_RECV_MESSAGE when one arrived, sent at
//     POST_SEND_MESSAGE when it went out (a unary call counts one of each,
//     the response only when the call succeeds, as in go-grpc-prometheus);
//   - handled, with the latency, at PRE_SEND_STATUS: the status being sent,
//     or CANCELLED / DEADLINE_EXCEEDED when the call was already cancelled
//     (that is what the client gets). A call that ends without a status
//     being sent at all counts as CANCELLED.
// PRE_SEND_STATUS runs the interceptors in the order they were registered,
// so this one must come AFTER any interceptor that changes the final status
// (the security interceptor forces refusals onto it): then it counts the code
// the client really receives.
//
// Methods are labelled by name only when the method is known: its service is
// compiled into the binary (the generated protobuf descriptor pool) or is
// gRPC's own health or reflection service. Other paths, which any client can
// invent, are counted as grpc_service="unknown", grpc_method="unknown", so
// the number of series stays bounded.

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "services/common/mutex.h"
#include "services/observability/metrics.h"

namespace expertise::observability {

// grpc-go's codes.Code.String(); "Unknown" for a code outside 0..16.
std::string_view GrpcCodeName(grpc::StatusCode code);
// "unary", "client_stream", "server_stream", "bidi_stream".
std::string_view GrpcTypeName(grpc::experimental::ServerRpcInfo::Type type);

class GrpcServerMetrics {
 public:
  // Defines the five families in `registry` (get-or-add: several servers in
  // one process share them). `registry` must outlive this.
  explicit GrpcServerMetrics(MetricsRegistry* registry = &DefaultMetrics());
  GrpcServerMetrics(const GrpcServerMetrics&) = delete;
  GrpcServerMetrics& operator=(const GrpcServerMetrics&) = delete;

  // A factory for ServerBuilder::experimental().SetInterceptorCreators,
  // placed after the security interceptor's (see above). This object must
  // outlive every server it is installed on.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  // Creates the zero-valued started, message and latency series of every
  // method of `service_full_name` (a service in the descriptor pool), as
  // go-grpc-prometheus' InitializeMetrics does, so rates exist before the
  // first call. Handled counters appear with their first code.
  void InitializeService(std::string_view service_full_name);

  // The per-method children, resolved once.
  class Method {
   public:
    Counter* started;
    Counter* received;
    Counter* sent;
    Histogram* handling;
    // The handled counter of `code`, resolved on first use.
    Counter* Handled(grpc::StatusCode code) const;

   private:
    friend class GrpcServerMetrics;
    Method() = default;
    std::string type_, service_, method_;
    CounterFamily* handled_family_ = nullptr;
    mutable std::array<std::atomic<Counter*>, 17> handled_{};
  };

  // The children of a call to `full_method` ("/pkg.Service/Method") of
  // `type`. Never null. Public for tests.
  const Method* Resolve(std::string_view full_method, grpc::experimental::ServerRpcInfo::Type type);

 private:
  class Interceptor;
  class Factory;
  const Method* Create(std::string key, std::string_view service, std::string_view method,
                       grpc::experimental::ServerRpcInfo::Type type);

  CounterFamily* const started_;
  CounterFamily* const handled_;
  CounterFamily* const received_;
  CounterFamily* const sent_;
  HistogramFamily* const handling_;

  mutable Mutex mu_;
  // By full method for known methods; by "?<type>" for the unknown ones.
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_ ABSL_GUARDED_BY(mu_);
};

}  // namespace expertise::observability

#endif  // EXPERTISE_SERVICES_OBSERVABILITY_GRPC_METRICS_H_
