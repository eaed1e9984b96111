#include "tests/testutil/tcp_fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "tests/testutil/postgres_cluster.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/subprocess.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using Mode = TcpFaultProxy::CutMode;

constexpr auto kWait = std::chrono::seconds(5);

// What psql says when the connection drops (FIN, or RST if bytes were unread).
::testing::Matcher<std::string> ConnectionLost() {
  return AnyOf(HasSubstr("server closed the connection unexpectedly"), HasSubstr("reset by peer"));
}

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// Echoes every connection back, one thread per connection, and remembers
// what each connection received and whether it has ended.
class EchoServer {
 public:
  EchoServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr = Loopback(0);
    socklen_t len = sizeof(addr);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        listen(listen_fd_, 16) == 0 &&
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~EchoServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      // Wakes the blocked accept() and recv()s (Linux).
      shutdown(listen_fd_, SHUT_RDWR);
      for (const Conn& c : conns_) shutdown(c.fd, SHUT_RDWR);
    }
    accept_thread_.join();
    for (std::thread& t : threads_) t.join();
    close(listen_fd_);
    for (const Conn& c : conns_) close(c.fd);
  }

  int port() const { return port_; }

  // What connection `i` (in accept order) has received so far.
  std::string received(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return i < conns_.size() ? conns_[i].received : "<no connection " + std::to_string(i) + ">";
  }

  // Waits until connection `i` has been accepted and has ended.
  bool WaitEnded(size_t i) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, kWait, [&] { return i < conns_.size() && conns_[i].ended; });
  }

 private:
  struct Conn {
    int fd;
    std::string received;
    bool ended = false;
  };

  void AcceptLoop() {
    while (true) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      std::lock_guard<std::mutex> lock(mu_);
      if (fd < 0 || stopping_) {
        if (fd >= 0) close(fd);
        return;
      }
      conns_.push_back({fd, "", false});
      const size_t index = conns_.size() - 1;
      threads_.emplace_back([this, fd, index] { Echo(fd, index); });
    }
  }

  void Echo(int fd, size_t index) {
    char buffer[65536];
    while (true) {
      const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      {
        std::lock_guard<std::mutex> lock(mu_);
        conns_[index].received.append(buffer, static_cast<size_t>(n));
      }
      for (ssize_t sent = 0; sent < n;) {
        const ssize_t m = send(fd, buffer + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
        if (m <= 0) break;
        sent += m;
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    conns_[index].ended = true;
    changed_.notify_all();
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Conn> conns_ ABSL_GUARDED_BY(mu_);  // closed by the destructor only
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// A blocking client socket whose reads give up after kWait.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{static_cast<time_t>(kWait.count()), 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    const sockaddr_in addr = Loopback(port);
    connected_ = connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { close(fd_); }

  bool connected() const { return connected_; }

  bool Send(const std::string& data) {
    for (size_t sent = 0; sent < data.size();) {
      const ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads `size` bytes (fewer if the connection ends or kWait passes).
  std::string Read(size_t size) {
    std::string out;
    char buffer[65536];
    while (out.size() < size) {
      const ssize_t n = recv(fd_, buffer, std::min(sizeof(buffer), size - out.size()), 0);
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }

  // Reads until the connection ends: true if it did (EOF or reset), false if
  // kWait passed first. `*data` gets whatever arrived before.
  bool ReadUntilClosed(std::string* data) {
    char buffer[4096];
    while (true) {
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n > 0) {
        data->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno == ECONNRESET) {
        return true;
      } else {
        return false;  // time-out (EAGAIN) or something unexpected
      }
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// Round trip of `text` through the proxy and the echo server.
void ExpectEcho(Client& client, const std::string& text) {
  ASSERT_TRUE(client.Send(text));
  EXPECT_EQ(client.Read(text.size()), text);
}

class TcpFaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(echo_.port(), 0);
    auto proxy = TcpFaultProxy::Start(echo_.port());
    ASSERT_THAT(proxy, IsOk());
    proxy_ = *std::move(proxy);
    ASSERT_GT(proxy_->port(), 0);
    ASSERT_NE(proxy_->port(), echo_.port());
  }

  EchoServer echo_;
  std::unique_ptr<TcpFaultProxy> proxy_;
};

TEST_F(TcpFaultProxyTest, BytesPassBothWays) {
  Client client(proxy_->port());
  ASSERT_TRUE(client.connected());
  ExpectEcho(client, "hello");
  ExpectEcho(client, "world");
  // More than the socket buffers and the proxy's read-ahead hold at once, so
  // back-pressure is exercised; the writer runs on its own thread.
  std::string big(3 * 1024 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  bool sent = false;
  std::thread writer([&] { sent = client.Send(big); });
  const std::string back = client.Read(big.size());
  writer.join();
  EXPECT_TRUE(sent);
  EXPECT_EQ(back.size(), big.size());
  EXPECT_TRUE(back == big);
  EXPECT_TRUE(echo_.received(0) == "helloworld" + big);  // not EXPECT_EQ: 3 MiB diffs

  Client second(proxy_->port());
  ExpectEcho(second, "again");
  EXPECT_EQ(proxy_->connections(), 2);
  EXPECT_EQ(proxy_->cuts(), 0);
}

TEST_F(TcpFaultProxyTest, CutAllDropsEveryOpenConnection) {
  Client a(proxy_->port());
  Client b(proxy_->port());
  ExpectEcho(a, "from a");
  ExpectEcho(b, "from b");
  proxy_->CutAll();
  EXPECT_EQ(proxy_->cuts(), 2);
  std::string rest;
  EXPECT_TRUE(a.ReadUntilClosed(&rest));
  EXPECT_TRUE(b.ReadUntilClosed(&rest));
  EXPECT_EQ(rest, "");
  EXPECT_TRUE(echo_.WaitEnded(0));
  EXPECT_TRUE(echo_.WaitEnded(1));

  // New connections are not affected.
  Client c(proxy_->port());
  ExpectEcho(c, "after the cut");
  EXPECT_EQ(proxy_->connections(), 3);
  EXPECT_EQ(proxy_->cuts(), 2);
}

TEST_F(TcpFaultProxyTest, CutAllAlsoCutsConnectionsNotYetAccepted) {
  // Connected (by the kernel) before CutAll(), possibly before the loop
  // accepted it: it still counts as open.
  Client a(proxy_->port());
  ASSERT_TRUE(a.connected());
  proxy_->CutAll();
  std::string rest;
  EXPECT_TRUE(a.ReadUntilClosed(&rest));
  EXPECT_EQ(proxy_->cuts(), 1);
  EXPECT_EQ(proxy_->connections(), 1);
}

TEST_F(TcpFaultProxyTest, ForwardThenCutPassesTheNeedleButNoReply) {
  Client client(proxy_->port());
  ExpectEcho(client, "before ");
  proxy_->ArmCut("NEEDLE", Mode::kForwardThenCut);
  EXPECT_TRUE(proxy_->armed());
  // "NEE" could be the start of the needle, so it is held back: only "hello"
  // comes back.
  ASSERT_TRUE(client.Send("helloNEE"));
  EXPECT_EQ(client.Read(5), "hello");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(client.Send("DLE and more"));
  std::string rest;
  EXPECT_TRUE(client.ReadUntilClosed(&rest));
  EXPECT_EQ(rest, "");  // no echo of the needle
  ASSERT_TRUE(echo_.WaitEnded(0));
  EXPECT_EQ(echo_.received(0), "before helloNEEDLE");
  EXPECT_EQ(proxy_->cuts(), 1);
  EXPECT_FALSE(proxy_->armed());

  // One-shot: the needle now passes, and new connections work.
  Client next(proxy_->port());
  ExpectEcho(next, "NEEDLE");
  EXPECT_EQ(proxy_->cuts(), 1);
}

TEST_F(TcpFaultProxyTest, DropAndCutNeverDeliversTheNeedle) {
  Client client(proxy_->port());
  proxy_->ArmCut("NEEDLE", Mode::kDropAndCut);
  ASSERT_TRUE(client.Send("abcNE"));
  EXPECT_EQ(client.Read(3), "abc");
  ASSERT_TRUE(client.Send("E"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(client.Send("DLExyz"));
  std::string rest;
  EXPECT_TRUE(client.ReadUntilClosed(&rest));
  EXPECT_EQ(rest, "");
  ASSERT_TRUE(echo_.WaitEnded(0));
  EXPECT_EQ(echo_.received(0), "abc");
  EXPECT_EQ(proxy_->cuts(), 1);

  Client next(proxy_->port());
  ExpectEcho(next, "xyz");
}

TEST_F(TcpFaultProxyTest, NeedleInOneReadAndHeldBytesReleasedWhenNotTheNeedle) {
  Client client(proxy_->port());
  proxy_->ArmCut("NEEDLE", Mode::kForwardThenCut);
  // A prefix that turns out not to be the needle is passed on.
  ASSERT_TRUE(client.Send("NEED"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(client.Send("S"));
  EXPECT_EQ(client.Read(5), "NEEDS");
  // Held bytes are released when the proxy is disarmed.
  ASSERT_TRUE(client.Send("NEEDL"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  proxy_->ArmCut("", Mode::kForwardThenCut);
  EXPECT_EQ(client.Read(5), "NEEDL");
  // A whole needle in one write, on a second connection while the first stays open.
  proxy_->ArmCut("STOP", Mode::kForwardThenCut);
  Client other(proxy_->port());
  ASSERT_TRUE(other.Send("xSTOPy"));
  std::string rest;
  EXPECT_TRUE(other.ReadUntilClosed(&rest));
  ASSERT_TRUE(echo_.WaitEnded(1));
  EXPECT_EQ(echo_.received(1), "xSTOP");
  ExpectEcho(client, "still open");
  EXPECT_EQ(proxy_->cuts(), 1);
}

TEST_F(TcpFaultProxyTest, UpstreamDownClosesTheClient) {
  // A port nobody listens on: take one from the kernel and give it back.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TcpFaultProxy> dead, TcpFaultProxy::Start(ntohs(addr.sin_port)));
  Client client(dead->port());
  std::string rest;
  EXPECT_TRUE(client.ReadUntilClosed(&rest));
  EXPECT_EQ(rest, "");
  EXPECT_EQ(dead->connections(), 1);
}

// The proxy in front of a real PostgreSQL: sessions work, CutAll() breaks an
// open one, and a COMMIT can be cut after or before the server gets it.
TEST(TcpFaultProxyPostgresTest, CutsPostgresSessionsAndCommits) {
  PostgresCluster& cluster = SharedPostgresCluster();
  ASSERT_OK_AND_ASSIGN(const std::string url, cluster.CreateDatabase("proxied"));
  ASSERT_THAT(cluster.Psql("proxied", "CREATE TABLE t (v int)"), IsOk());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<TcpFaultProxy> proxy, TcpFaultProxy::Start(cluster.port()));
  const std::string conninfo = absl::StrCat("host=127.0.0.1 port=", proxy->port(),
                                            " user=expertise dbname=proxied sslmode=disable "
                                            "gssencmode=disable connect_timeout=5");
  const std::string psql = "/usr/lib/postgresql/15/bin/psql";
  const auto through_proxy = [&](std::vector<std::string> commands) {
    std::vector<std::string> argv = {psql, "-X", "-A", "-t", "-d", conninfo};
    // Each -c is its own simple-protocol Query message, like PQexec.
    for (std::string& c : commands) {
      argv.push_back("-c");
      argv.push_back(std::move(c));
    }
    return RunCommand(argv, {}, std::chrono::seconds(20));
  };
  const auto count = [&](const std::string& where) {
    auto out = cluster.Psql("proxied", "SELECT count(*) FROM t WHERE " + where);
    return out.ok() ? *out : out.status().ToString();
  };

  const CommandResult hello = through_proxy({"select 1"});
  EXPECT_EQ(hello.exit_code, 0) << hello.err;
  EXPECT_EQ(hello.out, "1\n");

  // CutAll() breaks a session that is waiting for its answer.
  {
    TempDir tmp;
    Process session({psql, "-X", "-d", conninfo, "-c", "select pg_sleep(10)"}, tmp.File("psql.log"));
    const std::string sleeping =
        "SELECT count(*) FROM pg_stat_activity WHERE query = 'select pg_sleep(10)'";
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (cluster.Psql("proxied", sleeping).value_or("") != "1\n" &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const int cuts = proxy->cuts();
    proxy->CutAll();
    EXPECT_EQ(proxy->cuts(), cuts + 1);
    const int exit_code = session.Wait(std::chrono::seconds(5));
    EXPECT_NE(exit_code, 0);
    EXPECT_NE(exit_code, -1) << "psql still running after CutAll()";
    EXPECT_THAT(ReadFile(tmp.File("psql.log")), ConnectionLost());
    // The server notices a lost client only when it next talks to it; end
    // the sleeping session so that it does not count below.
    EXPECT_THAT(cluster.Psql("proxied",
                             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE query = 'select pg_sleep(10)'"),
                IsOk());
  }

  // Forward then cut: the server commits, the client only sees the
  // connection go.
  proxy->ArmCut(std::string("COMMIT\0", 7), Mode::kForwardThenCut);
  const CommandResult forwarded = through_proxy({"BEGIN", "INSERT INTO t VALUES (1)", "COMMIT"});
  EXPECT_NE(forwarded.exit_code, 0);
  EXPECT_THAT(forwarded.err, ConnectionLost());
  EXPECT_FALSE(proxy->armed());
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (count("v = 1") != "1\n" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(count("v = 1"), "1\n");

  // Drop and cut: the server never gets the COMMIT and rolls back once the
  // session ends.
  proxy->ArmCut(std::string("COMMIT\0", 7), Mode::kDropAndCut);
  const CommandResult dropped = through_proxy({"BEGIN", "INSERT INTO t VALUES (2)", "COMMIT"});
  EXPECT_NE(dropped.exit_code, 0);
  EXPECT_THAT(dropped.err, ConnectionLost());
  EXPECT_FALSE(proxy->armed());
  const auto ended = std::chrono::steady_clock::now() + kWait;
  while (cluster.Psql("proxied",
                      "SELECT count(*) FROM pg_stat_activity WHERE datname = 'proxied' "
                      "AND pid <> pg_backend_pid()")
                 .value_or("") != "0\n" &&
         std::chrono::steady_clock::now() < ended) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(count("v = 2"), "0\n");
  EXPECT_EQ(proxy->cuts(), 3);

  // And the proxy still works.
  const CommandResult after = through_proxy({"SELECT count(*) FROM t"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, "1\n");
}

}  // namespace
}  // namespace expertise::testing
