#include "services/common/mutex.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace expertise {
namespace {

// A waiting writer must shut out new readers, or a stream of searches could
// starve a write. Bounded: gives up after 10 seconds.
TEST(MutexTest, WaitingWriterBlocksNewReaders) {
  Mutex mu;
  mu.ReaderLock();  // a long search holds the lock
  std::atomic<bool> written{false};
  std::thread writer([&] {
    MutexLock lock(&mu);
    written = true;
  });
  bool new_reader_refused = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!new_reader_refused && std::chrono::steady_clock::now() < deadline) {
    if (mu.ReaderTryLock()) {
      mu.ReaderUnlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } else {
      new_reader_refused = true;  // the writer has queued, and is preferred
    }
  }
  EXPECT_TRUE(new_reader_refused);
  EXPECT_FALSE(written.load());
  mu.ReaderUnlock();
  writer.join();
  EXPECT_TRUE(written.load());
}

TEST(MutexTest, ReadersShare) {
  Mutex mu;
  ReaderMutexLock first(&mu);
  ASSERT_TRUE(mu.ReaderTryLock());
  mu.ReaderUnlock();
}

}  // namespace
}  // namespace expertise
