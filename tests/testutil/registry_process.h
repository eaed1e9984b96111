#ifndef EXPERTISE_TESTS_TESTUTIL_REGISTRY_PROCESS_H_
#define EXPERTISE_TESTS_TESTUTIL_REGISTRY_PROCESS_H_

// Starts the real expertise-registry binary on a loopback port chosen at
// run time and waits until its health service says SERVING.

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "tests/testutil/subprocess.h"

namespace expertise::testing {

class RegistryProcess {
 public:
  // Starts a registry for `region` on `db_path`; its log goes to
  // `db_path`.log. Fails if it is not serving within 30 seconds.
  // `extra_args` are appended to the command line; when they choose a
  // --store, `db_path` only names the port file and the log.
  static absl::StatusOr<std::unique_ptr<RegistryProcess>> Start(
      const std::string& region, const std::string& db_path,
      const std::vector<std::string>& extra_args = {});

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  Process& process() { return *process_; }
  std::unique_ptr<registry::v1::RegistryService::Stub> NewStub() const;
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string log() const { return ReadFile(log_path_); }

 private:
  std::unique_ptr<Process> process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string log_path_;
  int port_ = 0;
};

// Starts the real expertise-directory binary over `regions` (resource name
// or id -> registry address) and waits until it is SERVING.
class DirectoryProcess {
 public:
  static absl::StatusOr<std::unique_ptr<DirectoryProcess>> Start(
      const std::string& work_dir, const std::vector<std::pair<std::string, std::string>>& regions,
      const std::vector<std::string>& extra_args = {});

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  Process& process() { return *process_; }
  std::unique_ptr<registry::v1::RegistryService::Stub> NewStub() const;
  std::string log() const { return ReadFile(log_path_); }

 private:
  std::unique_ptr<Process> process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string log_path_;
  int port_ = 0;
};

// Path of a built binary, from the EXPERTISE_BIN_DIR compile definition.
std::string BinaryPath(const std::string& name);

}  // namespace expertise::testing

#endif  // EXPERTISE_TESTS_TESTUTIL_REGISTRY_PROCESS_H_
