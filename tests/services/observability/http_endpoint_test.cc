// The /metrics HTTP endpoint over real loopback sockets: answers, errors, and
// clients that send too much or too slowly (each case bounded in time).

#include "services/observability/http_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace expertise::observability {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

// A connected client socket (receive timeout 10 s so a bug cannot hang the test).
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early; the reply says why
    sent += static_cast<size_t>(n);
  }
}

// Reads until the server closes (or resets) the connection.
std::string ReadAll(int fd) {
  std::string out;
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

std::string Exchange(int port, const std::string& request) {
  const int fd = Connect(port);
  if (fd < 0) return "connect failed";
  SendAll(fd, request);
  std::string reply = ReadAll(fd);
  close(fd);
  return reply;
}

class HttpEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddCounter("test_scrapes_total", "Test counter.", {"kind"})->WithLabels({"a"})->Increment(3);
  }
  std::unique_ptr<MetricsHttpEndpoint> Start(absl::Duration timeout = absl::Seconds(5)) {
    HttpEndpointOptions options;
    options.listen = "127.0.0.1:0";
    options.timeout = timeout;
    auto endpoint = MetricsHttpEndpoint::Start(options, &registry_);
    EXPECT_TRUE(endpoint.ok()) << endpoint.status();
    return endpoint.ok() ? *std::move(endpoint) : nullptr;
  }
  MetricsRegistry registry_;
};

TEST_F(HttpEndpointTest, GetMetricsAnswersTheExposition) {
  auto endpoint = Start();
  ASSERT_NE(endpoint, nullptr);
  ASSERT_GT(endpoint->port(), 0);
  const std::string body = registry_.Render();
  const std::string reply =
      Exchange(endpoint->port(), "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(reply, HasSubstr("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  EXPECT_THAT(reply, HasSubstr("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"));
  EXPECT_THAT(reply, HasSubstr("\r\nConnection: close\r\n"));
  const size_t head_end = reply.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  EXPECT_EQ(reply.substr(head_end + 4), body);
  EXPECT_THAT(body, HasSubstr("test_scrapes_total{kind=\"a\"} 3\n"));

  // A query string is ignored (Prometheus may add params); HTTP/1.0 works.
  EXPECT_THAT(Exchange(endpoint->port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n"), StartsWith("HTTP/1.1 200 OK"));
  // Values are read at scrape time.
  registry_.AddCounter("test_scrapes_total", "Test counter.", {"kind"})->WithLabels({"a"})->Increment();
  EXPECT_THAT(Exchange(endpoint->port(), "GET /metrics HTTP/1.1\r\n\r\n"),
              HasSubstr("test_scrapes_total{kind=\"a\"} 4\n"));
}

TEST_F(HttpEndpointTest, OtherPathsMethodsAndGarbage) {
  auto endpoint = Start();
  ASSERT_NE(endpoint, nullptr);
  EXPECT_THAT(Exchange(endpoint->port(), "GET / HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(Exchange(endpoint->port(), "GET /metrics/x HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 404 "));
  const std::string post = Exchange(endpoint->port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(post, HasSubstr("\r\nAllow: GET\r\n"));
  EXPECT_THAT(Exchange(endpoint->port(), "HEAD /metrics HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 405 "));
  EXPECT_THAT(Exchange(endpoint->port(), "hello\r\n\r\n"), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(Exchange(endpoint->port(), "GET /metrics SPDY/3\r\n\r\n"), StartsWith("HTTP/1.1 400 "));
  // Still serving after all that.
  EXPECT_THAT(Exchange(endpoint->port(), "GET /metrics HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 200 OK"));
}

TEST_F(HttpEndpointTest, OversizedRequestHeadIsRefused) {
  auto endpoint = Start();
  ASSERT_NE(endpoint, nullptr);
  const auto start = Clock::now();
  const std::string huge = "GET /metrics HTTP/1.1\r\nX-Padding: " + std::string(16 * 1024, 'a') + "\r\n\r\n";
  const std::string reply = Exchange(endpoint->port(), huge);
  // The server answers 431 as soon as the cap is passed (it may reset the
  // connection when the client keeps sending, so the reply can be cut).
  if (!reply.empty()) {
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 431 "));
  }
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  EXPECT_THAT(Exchange(endpoint->port(), "GET /metrics HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 200 OK"));
}

TEST_F(HttpEndpointTest, UnfinishedRequestIsDroppedAtTheTimeout) {
  auto endpoint = Start(absl::Milliseconds(300));
  ASSERT_NE(endpoint, nullptr);
  const int fd = Connect(endpoint->port());
  ASSERT_GE(fd, 0);
  SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: slow");  // and nothing more
  const auto start = Clock::now();
  const std::string reply = ReadAll(fd);  // returns when the server closes
  const auto waited = Clock::now() - start;
  close(fd);
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_LT(waited, std::chrono::seconds(3));
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 408 "));

  // A client that connects and sends nothing holds the endpoint no longer.
  const int idle = Connect(endpoint->port());
  ASSERT_GE(idle, 0);
  const auto idle_start = Clock::now();
  EXPECT_THAT(Exchange(endpoint->port(), "GET /metrics HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 200 OK"));
  EXPECT_LT(Clock::now() - idle_start, std::chrono::seconds(3));
  close(idle);
}

TEST_F(HttpEndpointTest, StopIsPromptEvenWithAClientConnected) {
  auto endpoint = Start(absl::Seconds(30));
  ASSERT_NE(endpoint, nullptr);
  const int fd = Connect(endpoint->port());
  ASSERT_GE(fd, 0);
  SendAll(fd, "GET /met");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // being read by the server
  const auto start = Clock::now();
  endpoint->Stop();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  endpoint->Stop();  // idempotent
  close(fd);
  const int port = endpoint->port();
  endpoint.reset();
  EXPECT_EQ(Connect(port), -1);
}

TEST_F(HttpEndpointTest, ListenErrors) {
  auto first = Start();
  ASSERT_NE(first, nullptr);
  HttpEndpointOptions taken;
  taken.listen = "127.0.0.1:" + std::to_string(first->port());
  EXPECT_EQ(MetricsHttpEndpoint::Start(taken, &registry_).status().code(), absl::StatusCode::kUnavailable);
  for (const char* bad : {"127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", "::1:9090"}) {
    HttpEndpointOptions options;
    options.listen = bad;
    EXPECT_FALSE(MetricsHttpEndpoint::Start(options, &registry_).ok()) << bad;
  }
  HttpEndpointOptions v6;
  v6.listen = "[::1]:0";
  auto ipv6 = MetricsHttpEndpoint::Start(v6, &registry_);
  if (ipv6.ok()) {  // hosts without IPv6 loopback may refuse
    EXPECT_GT((*ipv6)->port(), 0);
  }
}

TEST(SplitHostPortTest, Forms) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(SplitHostPort("0.0.0.0:9090", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9090);
  ASSERT_TRUE(SplitHostPort("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(SplitHostPort(":9464", &host, &port).ok());
  EXPECT_EQ(host, "");
  ASSERT_TRUE(SplitHostPort("*:9464", &host, &port).ok());
  EXPECT_EQ(host, "");
  EXPECT_FALSE(SplitHostPort("9090", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort("host:-1", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort("host:", &host, &port).ok());
}

}  // namespace
}  // namespace expertise::observability
