#include "tests/testutil/registry_process.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testutil/credentials.h"

namespace expertise::testing {

std::string BinaryPath(const std::string& name) {
  static const std::map<std::string, std::string> kPaths = {
      {"expertise-registry", EXPERTISE_REGISTRY_BIN},
      {"expertctl", EXPERTCTL_BIN},
      {"expertise-sampledata", EXPERTISE_SAMPLEDATA_BIN},
      {"expertise-directory", EXPERTISE_DIRECTORY_BIN},
  };
  return kPaths.at(name);
}

namespace {

// Waits for the port file, then for health SERVING of `service`.
absl::Status WaitServing(Process& process, const std::string& port_file, const std::string& service,
                         const std::function<std::string()>& log, const std::string& caller, int* port,
                         std::shared_ptr<grpc::Channel>* channel) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    std::string text(absl::StripAsciiWhitespace(ReadFile(port_file)));
    if (!text.empty() && absl::SimpleAtoi(text, port)) break;
    if (!process.running()) return absl::InternalError(absl::StrCat("exited early: ", log()));
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError("did not start in 30 s: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *channel = ChannelAs("127.0.0.1:" + std::to_string(*port), caller);
  auto health = grpc::health::v1::Health::NewStub(*channel);
  while (true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    if (health->Check(&ctx, request, &response).ok() &&
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError("not SERVING in 30 s: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<DirectoryProcess>> DirectoryProcess::Start(
    const std::string& work_dir, const std::vector<std::pair<std::string, std::string>>& regions,
    const std::vector<std::string>& extra_args) {
  auto dp = std::unique_ptr<DirectoryProcess>(new DirectoryProcess());
  const std::string regions_file = work_dir + "/regions.txt";
  {
    std::ofstream out(regions_file, std::ios::trunc);
    for (const auto& [region, address] : regions) out << region << " " << address << "\n";
  }
  const std::string port_file = work_dir + "/directory.port";
  std::filesystem::remove(port_file);
  dp->log_path_ = work_dir + "/directory.log";
  std::vector<std::string> argv = {BinaryPath("expertise-directory"), "--regions", regions_file,
                                   "--listen", "127.0.0.1:0", "--port-file", port_file};
  for (const std::string& flag : DevServerFlags()) argv.push_back(flag);
  argv.push_back("--upstream-token-file");
  argv.push_back(TokenFileFor("service/directory"));
  if (std::find(extra_args.begin(), extra_args.end(), "--rate-limit") == extra_args.end()) {
    argv.insert(argv.end(), {"--rate-limit", "0"});
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  dp->process_ = std::make_unique<Process>(argv, dp->log_path_);
  // The directory's own health (service ""): it serves even while regions are down.
  const std::string caller = regions.empty() ? "admin/test" : CoordinatorOf(regions.front().first);
  if (absl::Status s = WaitServing(*dp->process_, port_file, "", [&] { return dp->log(); }, caller,
                                   &dp->port_, &dp->channel_);
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("directory ", s.message()));
  }
  return dp;
}

std::unique_ptr<registry::v1::RegistryService::Stub> DirectoryProcess::NewStub() const {
  return registry::v1::RegistryService::NewStub(channel_);
}

absl::StatusOr<std::unique_ptr<RegistryProcess>> RegistryProcess::Start(
    const std::string& region, const std::string& db_path,
    const std::vector<std::string>& extra_args) {
  auto rp = std::unique_ptr<RegistryProcess>(new RegistryProcess());
  const std::string port_file = db_path + ".port";
  std::filesystem::remove(port_file);
  rp->log_path_ = db_path + ".log";
  std::vector<std::string> argv = {BinaryPath("expertise-registry"), "--region", region,
                                   "--listen", "127.0.0.1:0", "--port-file", port_file};
  auto has = [&](const char* flag) {
    return std::find(extra_args.begin(), extra_args.end(), flag) != extra_args.end();
  };
  // With --store postgres, `db_path` only names the port file and the log.
  if (!has("--store")) argv.insert(argv.end(), {"--db", db_path});
  // A test that brings its own TLS or keyring brings its own security flags.
  if (!has("--tls-cert") && !has("--api-keys")) {
    for (const std::string& flag : DevServerFlags()) argv.push_back(flag);
  }
  // Tests make many calls as one caller; those about rate limits set one.
  if (!has("--rate-limit")) argv.insert(argv.end(), {"--rate-limit", "0"});
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
  rp->channel_ = ChannelAs(rp->address(), CoordinatorOf(region));
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
