// TLS and mTLS on the real binaries, with certificates from the project's
// own development CA script (deploy/tls/make-dev-certs.sh): a registry and a
// directory that require client certificates, the directory's own
// certificate towards the registry, and expertctl's credentials from flags,
// environment and a config file.
//
// Addresses are literal (127.0.0.1, matched against the certificate's IP
// SAN): resolving "localhost" goes through c-ares, which leaks a few bytes
// at exit that LeakSanitizer reports in the ASan build.

#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "services/security/grpc_security.h"
#include "tests/testutil/credentials.h"
#include "tests/testutil/registry_process.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/subprocess.h"
#include "tests/testutil/temp_dir.h"

namespace expertise {
namespace {

namespace v1 = registry::v1;
using ::testing::HasSubstr;

const std::string kSource = EXPERTISE_SOURCE_DIR;

// Waits for a port file; returns the port or 0.
int WaitForPort(testing::Process& process, const std::string& port_file) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline && process.running()) {
    int port = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(testing::ReadFile(port_file)), &port)) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    certs_ = dir_->File("certs");
    auto made = testing::RunCommand({"/bin/bash", kSource + "/deploy/tls/make-dev-certs.sh", certs_,
                                     "authority/E06000047", "authority/E08000021",
                                     "service/directory"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    // A second CA nobody trusts, with a certificate for the same authority.
    auto foreign = testing::RunCommand({"/bin/bash", kSource + "/deploy/tls/make-dev-certs.sh",
                                        dir_->File("foreign"), "authority/E06000047"});
    ASSERT_EQ(foreign.exit_code, 0) << foreign.err;

    registry_ = StartServer({testing::BinaryPath("expertise-registry"), "--region", "north-east", "--db",
                             dir_->File("ne.db")},
                            "registry", &registry_port_);
    ASSERT_NE(registry_port_, 0) << testing::ReadFile(dir_->File("registry.log"));
    std::ofstream(dir_->File("regions.txt")) << "north-east 127.0.0.1:" << registry_port_ << "\n";
    directory_ = StartServer({testing::BinaryPath("expertise-directory"), "--regions",
                              dir_->File("regions.txt"), "--upstream-ca", Cert("ca.pem"),
                              "--upstream-cert", Cert("service-directory.pem"), "--upstream-key",
                              Cert("service-directory.key")},
                             "directory", &directory_port_);
    ASSERT_NE(directory_port_, 0) << testing::ReadFile(dir_->File("directory.log"));
  }
  static void TearDownTestSuite() {
    delete directory_;
    delete registry_;
    delete dir_;
  }

  static std::string Cert(const std::string& name) { return certs_ + "/" + name; }

  static testing::Process* StartServer(std::vector<std::string> argv, const std::string& name, int* port) {
    const std::string port_file = dir_->File(name + ".port");
    for (const std::string& a : {std::string("--listen"), std::string("127.0.0.1:0"),
                                 std::string("--port-file"), port_file, std::string("--tls-cert"),
                                 Cert("server.pem"), std::string("--tls-key"), Cert("server.key"),
                                 std::string("--tls-ca"), Cert("ca.pem"), std::string("--api-keys"),
                                 testing::KeyringPath(), std::string("--rate-limit"), std::string("0")}) {
      argv.push_back(a);
    }
    auto* process = new testing::Process(argv, dir_->File(name + ".log"));
    *port = WaitForPort(*process, port_file);
    return process;
  }

  static std::unique_ptr<v1::RegistryService::Stub> Stub(int port, security::ClientSecurityOptions options) {
    auto channel = security::NewClientChannel("127.0.0.1:" + std::to_string(port), options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return v1::RegistryService::NewStub(*channel);
  }

  static security::ClientSecurityOptions As(const std::string& file_stem) {
    security::ClientSecurityOptions o;
    o.tls.ca = Cert("ca.pem");
    o.tls.cert = Cert(file_stem + ".pem");
    o.tls.key = Cert(file_stem + ".key");
    return o;
  }

  static grpc::Status Regions(v1::RegistryService::Stub& stub) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::ListRegionsResponse out;
    return stub.ListRegions(&ctx, {}, &out);
  }

  static testing::TempDir* dir_;
  static std::string certs_;
  static testing::Process* registry_;
  static testing::Process* directory_;
  static int registry_port_;
  static int directory_port_;
};
testing::TempDir* TlsTest::dir_ = nullptr;
std::string TlsTest::certs_;
testing::Process* TlsTest::registry_ = nullptr;
testing::Process* TlsTest::directory_ = nullptr;
int TlsTest::registry_port_ = 0;
int TlsTest::directory_port_ = 0;

TEST_F(TlsTest, TheCertificateNamesTheCaller) {
  auto durham = Stub(registry_port_, As("authority-E06000047"));
  v1::CreateSpecialistRequest create;
  create.set_parent("regions/north-east");
  *create.mutable_specialist() = testing::ValidSpecialist("tls-1", "E06000047");
  create.mutable_specialist()->clear_covered_authorities();
  create.mutable_specialist()->set_visibility(v1::VISIBILITY_OWN_AUTHORITY);
  v1::Specialist created;
  {
    grpc::ClientContext ctx;
    grpc::Status status = durham->CreateSpecialist(&ctx, create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // Newcastle's certificate may neither see nor change Durham's record.
  auto newcastle = Stub(registry_port_, As("authority-E08000021"));
  v1::GetSpecialistRequest get;
  get.set_name(created.name());
  v1::Specialist found;
  grpc::ClientContext ctx;
  EXPECT_EQ(newcastle->GetSpecialist(&ctx, get, &found).error_code(), grpc::StatusCode::NOT_FOUND);
  // Through the directory (mTLS on both legs), the same rules hold.
  auto via_directory = Stub(directory_port_, As("authority-E06000047"));
  grpc::ClientContext dctx;
  ASSERT_TRUE(via_directory->GetSpecialist(&dctx, get, &found).ok());
  EXPECT_EQ(found.work_contact().email(), create.specialist().work_contact().email());
  auto other_via_directory = Stub(directory_port_, As("authority-E08000021"));
  grpc::ClientContext octx;
  EXPECT_EQ(other_via_directory->GetSpecialist(&octx, get, &found).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(TlsTest, PeersWithoutATrustedCertificateNeverGetIn) {
  // No client certificate (the server requires one), even with a valid key.
  security::ClientSecurityOptions token_only;
  token_only.tls.ca = Cert("ca.pem");
  token_only.token = testing::TokenFor("authority/E06000047");
  EXPECT_EQ(Regions(*Stub(registry_port_, token_only)).error_code(), grpc::StatusCode::UNAVAILABLE);
  // A certificate from a CA the server does not trust.
  security::ClientSecurityOptions foreign;
  foreign.tls.ca = Cert("ca.pem");
  foreign.tls.cert = dir_->File("foreign/authority-E06000047.pem");
  foreign.tls.key = dir_->File("foreign/authority-E06000047.key");
  EXPECT_EQ(Regions(*Stub(registry_port_, foreign)).error_code(), grpc::StatusCode::UNAVAILABLE);
  // Plaintext to a TLS port.
  auto plain = v1::RegistryService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(registry_port_), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(Regions(*plain).error_code(), grpc::StatusCode::UNAVAILABLE);
  // A certificate and a key that name different callers.
  security::ClientSecurityOptions mixed = As("authority-E06000047");
  mixed.token = testing::TokenFor("authority/E08000021");
  grpc::Status status = Regions(*Stub(registry_port_, mixed));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("name different callers"));
}

TEST_F(TlsTest, ApiKeysOverTlsWhenClientCertificatesAreOptional) {
  int port = 0;
  std::unique_ptr<testing::Process> optional(StartServer(
      {testing::BinaryPath("expertise-registry"), "--region", "north-east", "--db", dir_->File("opt.db"),
       "--tls-client-auth", "optional"},
      "optional", &port));
  ASSERT_NE(port, 0) << testing::ReadFile(dir_->File("optional.log"));
  security::ClientSecurityOptions token_only;
  token_only.tls.ca = Cert("ca.pem");
  token_only.token = testing::TokenFor("authority/E06000047");
  EXPECT_TRUE(Regions(*Stub(port, token_only)).ok());
  security::ClientSecurityOptions anonymous;
  anonymous.tls.ca = Cert("ca.pem");
  EXPECT_EQ(Regions(*Stub(port, anonymous)).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(TlsTest, ExpertctlTakesCredentialsFromFlagsEnvironmentAndConfig) {
  const std::string server = "127.0.0.1:" + std::to_string(directory_port_);
  auto by_flags = testing::RunCommand({testing::BinaryPath("expertctl"), "--server", server, "--ca",
                                       Cert("ca.pem"), "--cert", Cert("authority-E06000047.pem"), "--key",
                                       Cert("authority-E06000047.key"), "regions"});
  EXPECT_EQ(by_flags.exit_code, 0) << by_flags.err;
  EXPECT_THAT(by_flags.out, HasSubstr("North East"));
  auto by_env = testing::RunCommand({testing::BinaryPath("expertctl"), "--server", server, "regions"},
                                    {{"EXPERTISE_CA", Cert("ca.pem")},
                                     {"EXPERTISE_CERT", Cert("authority-E06000047.pem")},
                                     {"EXPERTISE_KEY", Cert("authority-E06000047.key")},
                                     {"EXPERTISE_TOKEN", ""}});
  EXPECT_EQ(by_env.exit_code, 0) << by_env.err;
  const std::string config = dir_->File("expertctl.toml");
  std::ofstream(config) << "server = \"" << server << "\"\nca = \"" << Cert("ca.pem") << "\"\ncert = \""
                        << Cert("authority-E06000047.pem") << "\"\nkey = \""
                        << Cert("authority-E06000047.key") << "\"\n";
  auto by_config = testing::RunCommand({testing::BinaryPath("expertctl"), "--config", config, "regions"},
                                       {{"EXPERTISE_TOKEN", ""}});
  EXPECT_EQ(by_config.exit_code, 0) << by_config.err;
  // Without credentials the directory refuses, and expertctl says why.
  auto none = testing::RunCommand({testing::BinaryPath("expertctl"), "--server", server, "--ca",
                                   Cert("ca.pem"), "regions"},
                                  {{"EXPERTISE_TOKEN", ""}});
  EXPECT_NE(none.exit_code, 0);
  // Plaintext to a remote address is refused before any call.
  auto remote = testing::RunCommand({testing::BinaryPath("expertctl"), "--server", "192.0.2.1:50050",
                                     "regions"},
                                    {{"EXPERTISE_TOKEN", ""}});
  EXPECT_EQ(remote.exit_code, 2);
  EXPECT_THAT(remote.err, HasSubstr("TLS is required"));
}

}  // namespace
}  // namespace expertise
