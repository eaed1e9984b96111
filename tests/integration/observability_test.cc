// Metrics and probes on the real binaries: a registry on mutual TLS with
// --metrics-listen and --health-listen, calls that succeed, fail and are
// refused, a Prometheus scrape of the go-grpc-prometheus series (the refused
// calls counted with their refusal code), the plaintext probe port answering
// SERVING while the main port refuses plaintext, the probe following a
// SIGTERM, and the directory's metrics (calls and per-region reachability).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/security/grpc_security.h"
#include "tests/testutil/credentials.h"
#include "tests/testutil/registry_process.h"
#include "tests/testutil/subprocess.h"
#include "tests/testutil/temp_dir.h"

namespace expertise {
namespace {

namespace v1 = registry::v1;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

const std::string kSource = EXPERTISE_SOURCE_DIR;
constexpr char kRegistryService[] = "expertise.registry.v1.RegistryService";

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

// GET /metrics on 127.0.0.1:port; the whole HTTP response.
std::string Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    (void)!send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buffer[8192];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) out.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// The value of one series, 0 when absent (a counter not yet created).
double Series(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.size() > series.size() && line.substr(0, series.size()) == series && line[series.size()] == ' ') {
      double value = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
    }
  }
  return 0;
}

std::string Labels(const std::string& type, const std::string& service, const std::string& method) {
  return "{grpc_type=\"" + type + "\",grpc_service=\"" + service + "\",grpc_method=\"" + method + "\"";
}
std::string Started(const std::string& method, const std::string& service = kRegistryService) {
  return "grpc_server_started_total" + Labels("unary", service, method) + "}";
}
std::string Handled(const std::string& method, const std::string& code,
                    const std::string& service = kRegistryService) {
  return "grpc_server_handled_total" + Labels("unary", service, method) + ",grpc_code=\"" + code + "\"}";
}
std::string HandlingCount(const std::string& method) {
  return "grpc_server_handling_seconds_count" + Labels("unary", kRegistryService, method) + "}";
}

HealthCheckResponse::ServingStatus Check(const std::shared_ptr<grpc::Channel>& channel,
                                         const std::string& service, grpc::StatusCode* code) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  *code = Health::NewStub(channel)->Check(&ctx, request, &response).error_code();
  return response.status();
}

std::shared_ptr<grpc::Channel> Plaintext(int port) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
}

class ObservabilityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto made = testing::RunCommand({"/bin/bash", kSource + "/deploy/tls/make-dev-certs.sh", dir_->File("certs"),
                                     "authority/E06000047", "service/directory"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    registry_ = new testing::Process(
        {testing::BinaryPath("expertise-registry"), "--region", "north-east", "--db", dir_->File("ne.db"),
         "--listen", "127.0.0.1:0", "--port-file", dir_->File("registry.port"), "--tls-cert",
         Cert("server.pem"), "--tls-key", Cert("server.key"), "--tls-ca", Cert("ca.pem"), "--api-keys",
         testing::KeyringPath(), "--rate-limit", "0", "--metrics-listen", "127.0.0.1:0",
         "--metrics-port-file", dir_->File("metrics.port"), "--health-listen", "127.0.0.1:0",
         "--health-port-file", dir_->File("health.port")},
        dir_->File("registry.log"));
    // The main port file is written once serving; the others before it.
    port_ = WaitForPort(*registry_, dir_->File("registry.port"));
    ASSERT_NE(port_, 0) << Log();
    metrics_port_ = WaitForPort(*registry_, dir_->File("metrics.port"));
    health_port_ = WaitForPort(*registry_, dir_->File("health.port"));
    ASSERT_NE(metrics_port_, 0) << Log();
    ASSERT_NE(health_port_, 0) << Log();
  }
  static void TearDownTestSuite() {
    delete registry_;
    delete dir_;
  }
  static std::string Cert(const std::string& name) { return dir_->File("certs/" + name); }
  static std::string Log() { return testing::ReadFile(dir_->File("registry.log")); }

  static security::ClientSecurityOptions As(const std::string& file_stem) {
    security::ClientSecurityOptions o;
    o.tls.ca = Cert("ca.pem");
    o.tls.cert = Cert(file_stem + ".pem");
    o.tls.key = Cert(file_stem + ".key");
    return o;
  }
  static std::shared_ptr<grpc::Channel> Channel(const security::ClientSecurityOptions& options) {
    auto channel = security::NewClientChannel("127.0.0.1:" + std::to_string(port_), options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return *channel;
  }

  static testing::TempDir* dir_;
  static testing::Process* registry_;
  static int port_;
  static int metrics_port_;
  static int health_port_;
};
testing::TempDir* ObservabilityTest::dir_ = nullptr;
testing::Process* ObservabilityTest::registry_ = nullptr;
int ObservabilityTest::port_ = 0;
int ObservabilityTest::metrics_port_ = 0;
int ObservabilityTest::health_port_ = 0;

TEST_F(ObservabilityTest, ScrapeCountsCallsByFinalCode) {
  const std::string before_reply = Scrape(metrics_port_);
  ASSERT_THAT(before_reply, ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(before_reply, HasSubstr("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  const std::string before = before_reply.substr(before_reply.find("\r\n\r\n") + 4);

  auto durham = v1::RegistryService::NewStub(Channel(As("authority-E06000047")));
  {  // OK
    grpc::ClientContext ctx;
    v1::ListRegionsResponse out;
    ASSERT_TRUE(durham->ListRegions(&ctx, {}, &out).ok());
  }
  {  // NOT_FOUND from the handler
    grpc::ClientContext ctx;
    v1::GetSpecialistRequest get;
    get.set_name("regions/north-east/specialists/no-such-specialist");
    v1::Specialist out;
    ASSERT_EQ(durham->GetSpecialist(&ctx, get, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {  // PERMISSION_DENIED by the security interceptor: a service may not read records
    auto directory = v1::RegistryService::NewStub(Channel(As("service-directory")));
    grpc::ClientContext ctx;
    v1::ListSpecialistsRequest list;
    list.set_parent("regions/north-east");
    v1::ListSpecialistsResponse out;
    ASSERT_EQ(directory->ListSpecialists(&ctx, list, &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  // UNAUTHENTICATED: a certificate and a key naming different callers.
  security::ClientSecurityOptions mixed = As("authority-E06000047");
  mixed.token = testing::TokenFor("authority/E08000021");
  auto mixed_channel = Channel(mixed);
  {
    grpc::ClientContext ctx;
    v1::ListRegionsResponse out;
    ASSERT_EQ(v1::RegistryService::NewStub(mixed_channel)->ListRegions(&ctx, {}, &out).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // gRPC's own health service answers every caller SERVING; the security
  // interceptor forces the refusal onto its final status, and that is the
  // code counted (the metrics interceptor runs after it).
  grpc::StatusCode code;
  Check(mixed_channel, "", &code);
  ASSERT_EQ(code, grpc::StatusCode::UNAUTHENTICATED);

  // Messages sent are counted just after the response leaves: poll briefly.
  std::string after;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const std::string sent =
      "grpc_server_msg_sent_total" + Labels("unary", kRegistryService, "ListRegions") + "}";
  do {
    const std::string reply = Scrape(metrics_port_);
    after = reply.substr(reply.find("\r\n\r\n") + 4);
  } while (Series(after, sent) - Series(before, sent) < 1 && std::chrono::steady_clock::now() < deadline);
  auto delta = [&](const std::string& series) { return Series(after, series) - Series(before, series); };

  EXPECT_EQ(delta(Started("ListRegions")), 2);
  EXPECT_EQ(delta(Handled("ListRegions", "OK")), 1);
  EXPECT_EQ(delta(Handled("ListRegions", "Unauthenticated")), 1);
  EXPECT_EQ(delta(HandlingCount("ListRegions")), 2);
  EXPECT_EQ(delta(sent), 1);  // only the successful call answered a message
  EXPECT_EQ(delta(Handled("GetSpecialist", "NotFound")), 1);
  EXPECT_EQ(delta(Handled("ListSpecialists", "PermissionDenied")), 1);
  EXPECT_EQ(delta(Handled("ListSpecialists", "OK")), 0);
  EXPECT_EQ(delta(Handled("Check", "Unauthenticated", "grpc.health.v1.Health")), 1);
  EXPECT_EQ(delta(Handled("Check", "OK", "grpc.health.v1.Health")), 0);
  EXPECT_EQ(delta("grpc_server_handling_seconds_bucket" + Labels("unary", kRegistryService, "ListRegions") +
                  ",le=\"+Inf\"}"),
            2);

  // Registry and process figures.
  EXPECT_THAT(after, HasSubstr("# TYPE expertise_registry_specialists gauge\nexpertise_registry_specialists 0\n"));
  EXPECT_THAT(after, HasSubstr("# TYPE grpc_server_handling_seconds histogram\n"));
  EXPECT_GT(Series(after, "process_resident_memory_bytes"), 0);
  EXPECT_GT(Series(after, "process_open_fds"), 0);
  EXPECT_GT(Series(after, "process_start_time_seconds"), 0);
}

TEST_F(ObservabilityTest, HealthProbePortIsPlaintextAndMainPortIsNot) {
  grpc::StatusCode code;
  EXPECT_EQ(Check(Plaintext(health_port_), "", &code), HealthCheckResponse::SERVING);
  EXPECT_EQ(code, grpc::StatusCode::OK);
  EXPECT_EQ(Check(Plaintext(health_port_), kRegistryService, &code), HealthCheckResponse::SERVING);
  EXPECT_EQ(code, grpc::StatusCode::OK);
  // The main port wants TLS and a client certificate.
  Check(Plaintext(port_), "", &code);
  EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE);
  // The probe port serves nothing but health.
  grpc::ClientContext ctx;
  v1::ListRegionsResponse out;
  EXPECT_EQ(v1::RegistryService::NewStub(Plaintext(health_port_))->ListRegions(&ctx, {}, &out).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(ObservabilityTest, OtherPathsAndTheFlagsEnvironment) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(metrics_port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request = "GET / HTTP/1.1\r\n\r\n";
  ASSERT_GT(send(fd, request.data(), request.size(), MSG_NOSIGNAL), 0);
  char buffer[256];
  const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
  close(fd);
  ASSERT_GT(n, 0);
  EXPECT_THAT(std::string(buffer, static_cast<size_t>(n)), ::testing::StartsWith("HTTP/1.1 404 "));

  for (const char* binary : {"expertise-registry", "expertise-directory"}) {
    auto help = testing::RunCommand({testing::BinaryPath(binary), "--help"});
    for (const char* env : {"EXPERTISE_METRICS_LISTEN", "EXPERTISE_HEALTH_LISTEN", "EXPERTISE_LOG_FORMAT",
                            "EXPERTISE_LOG_LEVEL"}) {
      EXPECT_THAT(help.out, HasSubstr(env)) << binary;
    }
  }
}

// Its own registry (plaintext development mode): SIGTERM turns the probe
// NOT_SERVING, the Watch stream ends, the process exits cleanly.
TEST(ObservabilityShutdownTest, ProbeFollowsShutdown) {
  testing::TempDir dir;
  auto registry = testing::RegistryProcess::Start(
      "north-east", dir.File("ne.db"),
      {"--health-listen", "127.0.0.1:0", "--health-port-file", dir.File("health.port"), "--metrics-listen",
       "127.0.0.1:0", "--metrics-port-file", dir.File("metrics.port")});
  ASSERT_TRUE(registry.ok()) << registry.status();
  const int health_port = WaitForPort((*registry)->process(), dir.File("health.port"));
  ASSERT_NE(health_port, 0);
  auto stub = Health::NewStub(Plaintext(health_port));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  HealthCheckRequest request;
  request.set_service(kRegistryService);
  auto watch = stub->Watch(&ctx, request);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  (*registry)->process().Signal(SIGTERM);
  HealthCheckResponse::ServingStatus last = response.status();
  while (watch->Read(&response)) last = response.status();
  EXPECT_EQ(last, HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ((*registry)->process().Wait(std::chrono::seconds(20)), 0) << (*registry)->log();
  EXPECT_THAT((*registry)->log(), HasSubstr("health_probe_serving"));
  EXPECT_THAT((*registry)->log(), HasSubstr("metrics_serving"));
}

// The directory: its calls are counted and each region's reachability shown.
TEST(ObservabilityDirectoryTest, CallsAndRegionReachability) {
  testing::TempDir dir;
  auto north_east = testing::RegistryProcess::Start("north-east", dir.File("ne.db"));
  ASSERT_TRUE(north_east.ok()) << north_east.status();
  // A region whose registry is not running: nothing listens on port 1.
  auto directory = testing::DirectoryProcess::Start(
      dir.path(), {{"north-east", (*north_east)->address()}, {"south-west", "127.0.0.1:1"}},
      {"--metrics-listen", "127.0.0.1:0", "--metrics-port-file", dir.File("metrics.port"), "--health-listen",
       "127.0.0.1:0", "--health-port-file", dir.File("health.port"), "--region-timeout", "2"});
  ASSERT_TRUE(directory.ok()) << directory.status();
  const int metrics_port = WaitForPort((*directory)->process(), dir.File("metrics.port"));
  ASSERT_NE(metrics_port, 0);
  const int health_port = WaitForPort((*directory)->process(), dir.File("health.port"));
  ASSERT_NE(health_port, 0);
  grpc::StatusCode code;
  EXPECT_EQ(Check(Plaintext(health_port), "", &code), HealthCheckResponse::SERVING);

  auto stub = (*directory)->NewStub();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::SearchSpecialistsRequest search;
  search.set_parent("regions/-");
  v1::SearchSpecialistsResponse out;
  ASSERT_TRUE(stub->SearchSpecialists(&ctx, search, &out).ok());
  EXPECT_THAT(out.unreachable(), ::testing::ElementsAre("regions/south-west"));

  const std::string reply = Scrape(metrics_port);
  ASSERT_THAT(reply, ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Series(reply, Handled("SearchSpecialists", "OK")), 1);
  EXPECT_EQ(Series(reply, HandlingCount("SearchSpecialists")), 1);
  EXPECT_THAT(reply, HasSubstr("expertise_directory_region_up{region=\"north-east\"} 1\n"));
  EXPECT_THAT(reply, HasSubstr("expertise_directory_region_up{region=\"south-west\"} 0\n"));
  EXPECT_THAT((*directory)->log(), HasSubstr("metrics_serving"));
}

}  // namespace
}  // namespace expertise
