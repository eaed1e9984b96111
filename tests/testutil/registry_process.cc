#include "tests/testutil/registry_process.h"

#include <unistd.h>

#include <filesystem>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace expertise::testing {

std::string BinaryPath(const std::string& name) {
  static const std::map<std::string, std::string> kPaths = {
      {"expertise-registry", EXPERTISE_REGISTRY_BIN},
      {"expertctl", EXPERTCTL_BIN},
      {"expertise-sampledata", EXPERTISE_SAMPLEDATA_BIN},
  };
  return kPaths.at(name);
}

absl::StatusOr<std::unique_ptr<RegistryProcess>> RegistryProcess::Start(
    const std::string& region, const std::string& db_path,
    const std::vector<std::string>& extra_args) {
  auto rp = std::unique_ptr<RegistryProcess>(new RegistryProcess());
  const std::string port_file = db_path + ".port";
  std::filesystem::remove(port_file);
  rp->log_path_ = db_path + ".log";
  std::vector<std::string> argv = {BinaryPath("expertise-registry"), "--region", region,
                                   "--listen", "127.0.0.1:0", "--db", db_path, "--port-file",
                                   port_file};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  rp->process_ = std::make_unique<Process>(argv, rp->log_path_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    std::string text(absl::StripAsciiWhitespace(ReadFile(port_file)));
    if (!text.empty() && absl::SimpleAtoi(text, &rp->port_)) break;
    if (!rp->process_->running()) {
      return absl::InternalError(absl::StrCat("registry exited early: ", rp->log()));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError("registry did not start in 30 s: " + rp->log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  rp->channel_ = grpc::CreateChannel(rp->address(), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(rp->channel_);
  while (true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("expertise.registry.v1.RegistryService");
    grpc::health::v1::HealthCheckResponse response;
    if (health->Check(&ctx, request, &response).ok() &&
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError("registry not SERVING in 30 s: " + rp->log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return rp;
}

std::unique_ptr<registry::v1::RegistryService::Stub> RegistryProcess::NewStub() const {
  return registry::v1::RegistryService::NewStub(channel_);
}

}  // namespace expertise::testing
