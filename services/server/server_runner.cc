#include "services/server/server_runner.h"

#include <chrono>
#include <cstdio>
#include <utility>

#include <grpcpp/ext/proto_server_reflection_plugin.h>

#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/rpc/server_util.h"

namespace expertise::server {

ServerRunner::ServerRunner(RunnerOptions options, std::shared_ptr<spdlog::logger> log)
    : options_(std::move(options)), log_(std::move(log)) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGHUP);  // reloads the keyring
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

ServerRunner::~ServerRunner() { StopNow(); }

int ServerRunner::Fail(std::string_view event, const absl::Status& error, int exit_code) {
  const std::string message(error.message());
  LogEvent(*log_, spdlog::level::err, event, {{"error", message}});
  std::fprintf(stderr, "%s: %s\n", options_.program.c_str(), message.c_str());
  StopNow();
  return exit_code;
}

void ServerRunner::StopNow() {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now());
  server_.reset();
}

absl::Status ServerRunner::Start(security::ServerSecurity* security,
                                 observability::ServerObservability* observability,
                                 std::initializer_list<grpc::Service*> services) {
  grpc::EnableDefaultHealthCheckService(true);
  if (options_.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  security->Install(&builder, options_.listen, &port_, observability->InterceptorFactories());
  for (grpc::Service* service : services) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  ApplyServerKeepalive(&builder);
  if (!options_.reflection) DisableReflection(&builder);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    LogEvent(*log_, spdlog::level::err, "listen_failed", {{"listen", options_.listen}});
    std::fprintf(stderr, "%s: cannot listen on %s\n", options_.program.c_str(), options_.listen.c_str());
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen));
  }
  if (absl::Status started = observability->Start(); !started.ok()) {
    Fail("observability_failed", started, 1);
    return started;
  }
  // Every status set here is mirrored on the probe port (--health-listen).
  health_ = observability->MirrorHealth(server_->GetHealthCheckService());
  return absl::OkStatus();
}

void ServerRunner::WritePortFile() {
  if (!options_.port_file.empty() && !expertise::WritePortFile(options_.port_file, port_)) {
    LogEvent(*log_, spdlog::level::err, "port_file_failed", {{"path", options_.port_file}});
  }
}

int ServerRunner::WaitForStop(security::CallGate* gate) {
  const int signal_number = security::WaitForStopSignal(signals_, gate);
  LogEvent(*log_, spdlog::level::info, "shutting_down",
           {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  health_->SetServingStatus(false);
  return signal_number;
}

void ServerRunner::Shutdown(observability::ServerObservability* observability) {
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::seconds(options_.shutdown_grace_seconds));
  server_->Wait();
  server_.reset();
  observability->Stop();
  LogEvent(*log_, spdlog::level::info, "stopped");
}

}  // namespace expertise::server
