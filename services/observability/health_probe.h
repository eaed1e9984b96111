#ifndef EXPERTISE_SERVICES_OBSERVABILITY_HEALTH_PROBE_H_
#define EXPERTISE_SERVICES_OBSERVABILITY_HEALTH_PROBE_H_

// A plaintext gRPC port serving only grpc.health.v1.Health (Check and Watch),
// for Kubernetes' native gRPC probes: the kubelet cannot present a client
// certificate or do TLS, and the main port requires both (or an API key).
// The port tells nothing but serving / not serving: no other service, no
// reflection, no interceptors; the statuses mirror the main server's (see
// HealthMirror), so readiness follows the main server exactly.
//
// A second grpc::Server with our own implementation of the service (gRPC
// 1.51 refuses to build a server whose only service is its default health
// service: no completion queue would be polled).

#include <memory>
#include <string>

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>

#include "absl/status/statusor.h"

namespace expertise::observability {

class ProbeHealthService;

class HealthProbeServer {
 public:
  // Listens on `listen` (host:port; port 0 picks one) in plaintext. Every
  // status starts NOT_SERVING, "" (the whole server) included.
  static absl::StatusOr<std::unique_ptr<HealthProbeServer>> Start(const std::string& listen);
  ~HealthProbeServer();
  HealthProbeServer(const HealthProbeServer&) = delete;
  HealthProbeServer& operator=(const HealthProbeServer&) = delete;

  int port() const { return port_; }
  // The statuses served, with gRPC's semantics: SetServingStatus(bool)
  // applies to every name set so far, "" included; Shutdown() sets all
  // NOT_SERVING and ignores later changes. Thread-safe; never blocks on a
  // client.
  grpc::HealthCheckServiceInterface* health() const;
  // Everything NOT_SERVING, open Watch streams ended (UNAVAILABLE), then the
  // server stops. Idempotent.
  void Shutdown();

 private:
  HealthProbeServer(std::unique_ptr<ProbeHealthService> service, std::unique_ptr<grpc::Server> server,
                    int port);
  std::unique_ptr<ProbeHealthService> service_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  const int port_;
  bool shut_down_ = false;
};

// Sets each status on the main server's health service and the probe's, so
// code that set them on the main server (`health->SetServingStatus(...)`)
// keeps doing exactly that with this in its place. `probe` may be null.
class HealthMirror final : public grpc::HealthCheckServiceInterface {
 public:
  HealthMirror(grpc::HealthCheckServiceInterface* primary, HealthProbeServer* probe)
      : primary_(primary), probe_(probe) {}
  void SetServingStatus(const std::string& service_name, bool serving) override;
  void SetServingStatus(bool serving) override;
  void Shutdown() override;

 private:
  grpc::HealthCheckServiceInterface* const primary_;
  HealthProbeServer* const probe_;
};

}  // namespace expertise::observability

#endif  // EXPERTISE_SERVICES_OBSERVABILITY_HEALTH_PROBE_H_
