// The general HTTP server (over cpp-httplib) on loopback sockets: routing,
// 404/405/413/431/500 answers, and the life cycle. The /metrics endpoint's
// own cases are in http_endpoint_test.cc.

#include "services/observability/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

namespace expertise::observability {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Exchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect failed";
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

void Text(httplib::Response& res, const std::string& body) { res.set_content(body, "text/plain"); }

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() : server_(Options()) {}
  static HttpServerOptions Options() {
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.max_body_bytes = 1024;
    return options;
  }
  void SetUp() override {
    ASSERT_TRUE(server_.Handle("GET", "/items", [](const httplib::Request&, httplib::Response& res) {
                  Text(res, "list\n");
                }).ok());
    ASSERT_TRUE(server_.Handle("POST", "/items", [](const httplib::Request& req, httplib::Response& res) {
                  res.status = 201;
                  Text(res, "created " + req.body + "\n");
                }).ok());
    ASSERT_TRUE(server_.Handle("GET", R"(/items/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
                  Text(res, "item " + std::string(req.matches[1]) + "\n");
                }).ok());
    ASSERT_TRUE(server_.Handle("GET", "/boom", [](const httplib::Request&, httplib::Response&) {
                  throw std::runtime_error("handler bug");
                }).ok());
    EXPECT_EQ(server_.port(), 0);
    ASSERT_TRUE(server_.Start().ok());
    ASSERT_GT(server_.port(), 0);
  }
  HttpServer server_;
};

TEST_F(HttpServerTest, RoutesByMethodAndPattern) {
  EXPECT_THAT(Exchange(server_.port(), "GET /items HTTP/1.1\r\n\r\n"), EndsWith("\r\n\r\nlist\n"));
  const std::string created =
      Exchange(server_.port(), "POST /items HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_THAT(created, StartsWith("HTTP/1.1 201 "));
  EXPECT_THAT(created, EndsWith("created abc\n"));
  EXPECT_THAT(Exchange(server_.port(), "GET /items/42?x=1 HTTP/1.1\r\n\r\n"), EndsWith("item 42\n"));
  EXPECT_THAT(Exchange(server_.port(), "GET /items HTTP/1.1\r\n\r\n"), HasSubstr("\r\nConnection: close\r\n"));
}

TEST_F(HttpServerTest, ErrorsAreAnsweredWithShortText) {
  const std::string missing = Exchange(server_.port(), "GET /nothing HTTP/1.1\r\n\r\n");
  EXPECT_THAT(missing, StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(missing, EndsWith("\r\n\r\n404 Not Found\n"));
  // Known path, other method: 405 with every method served there.
  const std::string put = Exchange(server_.port(), "PUT /items HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_THAT(put, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(put, HasSubstr("\r\nAllow: GET, POST\r\n"));
  EXPECT_THAT(Exchange(server_.port(), "HEAD /items HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 405 "));
  // A handler's exception: 500, logged, the message not sent.
  const std::string boom = Exchange(server_.port(), "GET /boom HTTP/1.1\r\n\r\n");
  EXPECT_THAT(boom, StartsWith("HTTP/1.1 500 Internal Server Error\r\n"));
  EXPECT_THAT(boom, ::testing::Not(HasSubstr("handler bug")));
  // A body over max_body_bytes.
  EXPECT_THAT(Exchange(server_.port(), "POST /items HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x')),
              StartsWith("HTTP/1.1 413 "));
  // A head over max_request_bytes, sent whole before reading.
  EXPECT_THAT(Exchange(server_.port(), "GET /items HTTP/1.1\r\nX-Padding: " + std::string(9000, 'a') + "\r\n\r\n"),
              StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  // Still serving.
  EXPECT_THAT(Exchange(server_.port(), "GET /items HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpServerTest, RoutesAreFixedOnceStarted) {
  EXPECT_EQ(server_.Handle("GET", "/late", [](const httplib::Request&, httplib::Response&) {}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(server_.Start().code(), absl::StatusCode::kFailedPrecondition);
  server_.Stop();
  server_.Stop();
}

TEST(HttpServerSetupTest, BadRoutesAndAddresses) {
  HttpServer server(HttpServerOptions{.listen = "127.0.0.1:0"});
  auto noop = [](const httplib::Request&, httplib::Response&) {};
  EXPECT_EQ(server.Handle("HEAD", "/x", noop).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.Handle("BREW", "/x", noop).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.Handle("GET", "/x(", noop).code(), absl::StatusCode::kInvalidArgument);
  HttpServer bad(HttpServerOptions{.listen = "no-port"});
  EXPECT_EQ(bad.Start().code(), absl::StatusCode::kInvalidArgument);
  HttpServer never_started(HttpServerOptions{.listen = "127.0.0.1:0"});
  never_started.Stop();  // harmless
}

}  // namespace
}  // namespace expertise::observability
