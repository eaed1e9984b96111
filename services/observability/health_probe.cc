#include "services/observability/health_probe.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/mutex.h"
#include "services/rpc/server_util.h"

namespace expertise::observability {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ServingStatus = HealthCheckResponse::ServingStatus;

// One Watch call, shared by the service (which pushes changes) and the
// reactor (which writes them). One write in flight at a time; changes that
// arrive meanwhile coalesce into the latest. StartWrite and Finish are
// always called with no lock held, because gRPC may run a reaction (OnDone
// included) inline inside them.
class ProbeWatchCall {
 public:
  class Reactor final : public grpc::ServerWriteReactor<HealthCheckResponse> {
   public:
    explicit Reactor(std::shared_ptr<ProbeWatchCall> call) : call_(std::move(call)) {}
    void OnWriteDone(bool ok) override { call_->OnWriteDone(ok); }
    void OnCancel() override { call_->RequestFinish(grpc::Status::CANCELLED); }
    void OnDone() override;

   private:
    std::shared_ptr<ProbeWatchCall> call_;
  };

  ProbeWatchCall(ProbeHealthService* service, std::string name) : service_(service), name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  void Bind(Reactor* reactor) {
    MutexLock lock(&mu_);
    reactor_ = reactor;
  }

  // A status as of change number `seq`; older changes than one already seen
  // are ignored (pushes from racing setters may arrive out of order).
  void Push(ServingStatus status, uint64_t seq) {
    Reactor* reactor = nullptr;
    {
      MutexLock lock(&mu_);
      if (seq < seen_seq_) return;
      seen_seq_ = seq;
      if (finished_ || finish_.has_value() || reactor_ == nullptr) return;
      if (writing_) {
        pending_ = status;
        return;
      }
      if (last_sent_ == status) return;
      reactor = StartWriteLocked(status);
    }
    reactor->StartWrite(&response_);
  }

  void OnWriteDone(bool ok) {
    Reactor* writer = nullptr;
    Reactor* finisher = nullptr;
    grpc::Status status;
    {
      MutexLock lock(&mu_);
      writing_ = false;
      if (ok && pending_.has_value() && *pending_ != last_sent_ && !finished_) {
        // A change made before the finish was asked for goes out first, so
        // a watcher sees the last status (NOT_SERVING at shutdown) before
        // the stream ends; no change is queued once a finish is asked for.
        writer = StartWriteLocked(*pending_);
      } else if (finish_.has_value() && !finished_) {
        // Also when !ok: OnCancel finds the finish already asked for.
        finished_ = true;
        status = *finish_;
        finisher = reactor_;
      }
      // !ok without a finish asked for: the stream is broken; OnCancel
      // follows and finishes it.
      pending_.reset();
    }
    if (writer != nullptr) writer->StartWrite(&response_);
    if (finisher != nullptr) finisher->Finish(status);
  }

  void RequestFinish(const grpc::Status& status) {
    Reactor* reactor = nullptr;
    {
      MutexLock lock(&mu_);
      if (finished_ || finish_.has_value() || reactor_ == nullptr) return;
      if (writing_) {
        finish_ = status;  // OnWriteDone finishes
        return;
      }
      finished_ = true;
      reactor = reactor_;
    }
    reactor->Finish(status);
  }

 private:
  Reactor* StartWriteLocked(ServingStatus status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = true;
    last_sent_ = status;
    // Only the holder of writing_ touches response_ until OnWriteDone.
    response_.set_status(status);
    return reactor_;
  }
  void Done() {
    MutexLock lock(&mu_);
    reactor_ = nullptr;
  }

  ProbeHealthService* const service_;
  const std::string name_;
  Mutex mu_;
  Reactor* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;  // null once done
  uint64_t seen_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<ServingStatus> last_sent_ ABSL_GUARDED_BY(mu_);
  std::optional<ServingStatus> pending_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
  HealthCheckResponse response_;
};

// grpc.health.v1.Health with gRPC's HealthCheckServiceInterface semantics.
class ProbeHealthService final : public grpc::health::v1::Health::CallbackService,
                                 public grpc::HealthCheckServiceInterface {
 public:
  ProbeHealthService() { statuses_[""] = HealthCheckResponse::NOT_SERVING; }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx, const HealthCheckRequest* request,
                                  HealthCheckResponse* response) override {
    std::optional<ServingStatus> status;
    {
      ReaderMutexLock lock(&mu_);
      auto it = statuses_.find(request->service());
      if (it != statuses_.end()) status = it->second;
    }
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (!status.has_value()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "service name unknown"));
    } else {
      response->set_status(*status);
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

  grpc::ServerWriteReactor<HealthCheckResponse>* Watch(grpc::CallbackServerContext* ctx,
                                                       const HealthCheckRequest* request) override {
    auto call = std::make_shared<ProbeWatchCall>(this, request->service());
    auto* reactor = new ProbeWatchCall::Reactor(call);
    call->Bind(reactor);
    ServingStatus status = HealthCheckResponse::SERVICE_UNKNOWN;
    uint64_t seq = 0;
    bool ending = false;
    {
      MutexLock lock(&mu_);
      ending = ending_;
      if (!ending) watches_.insert(call);
      auto it = statuses_.find(request->service());
      if (it != statuses_.end()) status = it->second;
      seq = seq_;
    }
    if (ending) {
      call->RequestFinish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    } else {
      // Unknown names get SERVICE_UNKNOWN and stay open (health.proto).
      call->Push(status, seq);
    }
    return reactor;
  }

  void SetServingStatus(const std::string& service_name, bool serving) override {
    const ServingStatus status = serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
    std::vector<std::shared_ptr<ProbeWatchCall>> notify;
    uint64_t seq = 0;
    {
      MutexLock lock(&mu_);
      if (shut_down_) return;
      statuses_[service_name] = status;
      seq = ++seq_;
      for (const auto& w : watches_) {
        if (w->name() == service_name) notify.push_back(w);
      }
    }
    for (const auto& w : notify) w->Push(status, seq);
  }

  void SetServingStatus(bool serving) override {
    SetAll(serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING, false);
  }

  void Shutdown() override { SetAll(HealthCheckResponse::NOT_SERVING, true); }

  // Ends every open Watch (and any that starts later) with UNAVAILABLE, so
  // the server's shutdown need not wait for its deadline.
  void EndWatches() {
    std::vector<std::shared_ptr<ProbeWatchCall>> open;
    {
      MutexLock lock(&mu_);
      ending_ = true;
      open.assign(watches_.begin(), watches_.end());
    }
    for (const auto& w : open) {
      w->RequestFinish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    }
  }

  void Unregister(const std::shared_ptr<ProbeWatchCall>& call) {
    MutexLock lock(&mu_);
    watches_.erase(call);
  }

 private:
  void SetAll(ServingStatus status, bool shut_down) {
    std::vector<std::pair<std::shared_ptr<ProbeWatchCall>, ServingStatus>> notify;
    uint64_t seq = 0;
    {
      MutexLock lock(&mu_);
      if (shut_down_) return;
      shut_down_ = shut_down;
      for (auto& [name, s] : statuses_) s = status;
      seq = ++seq_;
      for (const auto& w : watches_) {
        auto it = statuses_.find(w->name());
        if (it != statuses_.end()) notify.emplace_back(w, it->second);
      }
    }
    for (const auto& [w, s] : notify) w->Push(s, seq);
  }

  Mutex mu_;
  absl::flat_hash_map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::shared_ptr<ProbeWatchCall>> watches_ ABSL_GUARDED_BY(mu_);
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;  // numbers every change, for Push ordering
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
};

void ProbeWatchCall::Reactor::OnDone() {
  std::shared_ptr<ProbeWatchCall> call = std::move(call_);
  call->Done();
  call->service_->Unregister(call);
  delete this;
}

absl::StatusOr<std::unique_ptr<HealthProbeServer>> HealthProbeServer::Start(const std::string& listen) {
  auto service = std::make_unique<ProbeHealthService>();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service.get());
  // Our own service only: gRPC's default health service (enabled process-
  // wide by the main server) and reflection (its library adds a plugin to
  // every builder) stay off this port.
  builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
  DisableReflection(&builder);
  // gRPC sets SO_REUSEPORT by default, so a second process could share the
  // port and answer half the probes; a taken port must fail the start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for health probes on ", listen));
  }
  return std::unique_ptr<HealthProbeServer>(new HealthProbeServer(std::move(service), std::move(server), port));
}

HealthProbeServer::HealthProbeServer(std::unique_ptr<ProbeHealthService> service,
                                     std::unique_ptr<grpc::Server> server, int port)
    : service_(std::move(service)), server_(std::move(server)), port_(port) {}

HealthProbeServer::~HealthProbeServer() { Shutdown(); }

grpc::HealthCheckServiceInterface* HealthProbeServer::health() const { return service_.get(); }

void HealthProbeServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  service_->Shutdown();
  service_->EndWatches();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
}

void HealthMirror::SetServingStatus(const std::string& service_name, bool serving) {
  primary_->SetServingStatus(service_name, serving);
  if (probe_ != nullptr) probe_->health()->SetServingStatus(service_name, serving);
}

void HealthMirror::SetServingStatus(bool serving) {
  primary_->SetServingStatus(serving);
  if (probe_ != nullptr) probe_->health()->SetServingStatus(serving);
}

void HealthMirror::Shutdown() {
  primary_->Shutdown();
  if (probe_ != nullptr) probe_->health()->Shutdown();
}

}  // namespace expertise::observability
