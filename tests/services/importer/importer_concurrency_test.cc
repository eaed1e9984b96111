// The importer's concurrent parts, run under ThreadSanitizer in CI
// (label "concurrency"): the runner's flow-controlled channel (plugin thread
// sending, control thread acknowledging and cancelling) and the in-process
// run's watchdog cancelling a plugin that is reading.

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "expertise/importer_abi.h"
#include "services/importer/flow_channel.h"
#include "services/importer/frame_io.h"
#include "services/importer/plugin_run.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::importer {
namespace {

class SocketPair {
 public:
  SocketPair() {
    ::signal(SIGPIPE, SIG_IGN);
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_), 0);
  }
  ~SocketPair() {
    CloseRunnerEnd();
    CloseHostEnd();
  }
  int runner() const { return fds_[0]; }
  int host() const { return fds_[1]; }
  void CloseHostEnd() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }
  void CloseRunnerEnd() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    fds_[0] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

v1::RunnerMessage Record(int i) {
  v1::RunnerMessage m;
  m.mutable_record()->set_json(absl::StrCat(R"({"externalId":"r-)", i, R"("})"));
  return m;
}

TEST(FlowChannelTest, NeverMoreThanTheWindowInFlightAndEverythingArrives) {
  constexpr int kRecords = 5000;
  constexpr uint64_t kWindow = 16;
  SocketPair sockets;
  FlowChannel channel(sockets.runner(), kWindow);

  std::thread plugin([&] {
    for (int i = 0; i < kRecords; ++i) ASSERT_TRUE(channel.Send(Record(i)));
    v1::RunnerMessage finished;
    finished.mutable_finished()->set_result(0);
    ASSERT_TRUE(channel.Send(finished));
  });
  // The host: reads, checks the bound, acknowledges every few frames from
  // its own thread, as the control thread would deliver them.
  uint64_t received = 0;
  uint64_t acknowledged = 0;
  uint64_t max_in_flight = 0;
  for (;;) {
    v1::RunnerMessage m;
    ASSERT_TRUE(ReadFrameBlocking(sockets.host(), &m).ok());
    if (m.has_finished()) break;
    ASSERT_TRUE(m.has_record());
    EXPECT_EQ(m.record().json(), absl::StrCat(R"({"externalId":"r-)", received, R"("})"));
    ++received;
    max_in_flight = std::max(max_in_flight, received - acknowledged);
    if (received % 5 == 0) {
      acknowledged = received;
      std::thread([&channel, acknowledged] { channel.Ack(acknowledged); }).join();
    }
  }
  plugin.join();
  EXPECT_EQ(received, static_cast<uint64_t>(kRecords));
  EXPECT_LE(max_in_flight, kWindow);
  EXPECT_EQ(channel.sent(), static_cast<uint64_t>(kRecords));
}

// A plugin blocked on a full window must be released by a cancel or by the
// host going away, or a cancelled import would hang until SIGKILL.
TEST(FlowChannelTest, CancelAndCloseReleaseASenderWaitingForTheWindow) {
  for (const bool close : {false, true}) {
    SCOPED_TRACE(close ? "close" : "cancel");
    SocketPair sockets;
    FlowChannel channel(sockets.runner(), 4);
    std::atomic<int> sent{0};
    std::atomic<bool> released{false};
    std::thread plugin([&] {
      while (channel.Send(Record(sent.load()))) sent.fetch_add(1);
      released.store(true);
    });
    while (sent.load() < 4) std::this_thread::yield();
    EXPECT_FALSE(released.load());  // full window, no acknowledgement: waiting
    if (close) {
      channel.Close();
    } else {
      channel.Cancel();
    }
    plugin.join();
    EXPECT_TRUE(released.load());
    EXPECT_EQ(sent.load(), 4);
  }
}

TEST(FlowChannelTest, LogsAreNotHeldBackByAFullWindowButNothingIsSentAfterClose) {
  SocketPair sockets;
  FlowChannel channel(sockets.runner(), 1);
  ASSERT_TRUE(channel.Send(Record(0)));
  v1::RunnerMessage log;
  log.mutable_log()->set_message("still here");
  EXPECT_TRUE(channel.Send(log));  // window full, but logs are not counted
  channel.Close();
  EXPECT_FALSE(channel.Send(log));
}

TEST(FlowChannelTest, AWriteToAVanishedHostFailsAndClosesTheChannel) {
  SocketPair sockets;
  FlowChannel channel(sockets.runner(), 8);
  sockets.CloseHostEnd();
  std::thread plugin([&] { EXPECT_FALSE(channel.Send(Record(0))); });
  plugin.join();
  v1::RunnerMessage log;
  log.mutable_log()->set_message("after");
  EXPECT_FALSE(channel.Send(log));
}

// Counts records and cancels from another thread once the plugin is busy.
class CancellingObserver : public RunObserver {
 public:
  absl::Status OnHello(const v1::PluginDescription&, Isolation, v1::RunRequest* request) override {
    request->set_sync_mode(1);
    return absl::OkStatus();
  }
  bool OnRecord(const v1::EmittedRecord&) override {
    records.fetch_add(1);
    return true;
  }
  bool OnReject(const v1::PluginReject& reject) override {
    ADD_FAILURE() << "unexpected reject: " << reject.message();
    return false;
  }
  std::atomic<uint64_t> records{0};
};

// The in-process (debugging) mode: its watchdog thread calls the plugin's
// cancel() while read() runs on the test thread.
TEST(InProcessRunTest, CancelFromAnotherThreadStopsAReadingPlugin) {
  testing::TempDir dir;
  const std::string input = dir.path() + "/many.csv";
  {
    std::ofstream out(input);
    out << "external_id,display_name,role,delivery_modes,employer_type,visibility,updated_at\n";
    for (int i = 0; i < 200000; ++i) {
      out << "c-" << i << ",Sam Example " << i << ",audiologist,remote,NHS,region,2026-05-01T00:00:00Z\n";
    }
  }
  RunOptions options;
  options.plugin_path = std::string(EXPERTISE_PLUGIN_DIR) + "/expertise_importer_csv.so";
  options.in_process = true;
  options.min_isolation = Isolation::kNone;
  options.timeout = absl::Seconds(60);
  v1::RunRequest request;
  request.set_input_path(input);
  CancellingObserver observer;
  CancelFlag cancel;
  std::atomic<bool> run_over{false};
  std::thread canceller([&] {
    while (observer.records.load() < 100 && !run_over.load()) std::this_thread::yield();
    cancel.cancelled.store(true);
  });
  RunResult result = RunPlugin(options, request, &observer, &cancel);
  run_over.store(true);
  canceller.join();
  EXPECT_EQ(result.end, RunEnd::kFinished) << DescribeRun(result);
  EXPECT_EQ(result.plugin_result, EXPERTISE_CANCELLED) << DescribeRun(result);
  EXPECT_GE(observer.records.load(), 100u);
  EXPECT_LT(observer.records.load(), 200000u);
}

}  // namespace
}  // namespace expertise::importer
