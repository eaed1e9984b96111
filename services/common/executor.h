#ifndef EXPERTISE_SERVICES_COMMON_EXECUTOR_H_
#define EXPERTISE_SERVICES_COMMON_EXECUTOR_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include <mutex>

namespace expertise {

// A fixed pool of worker threads with a bounded queue. gRPC callback
// reactions must never block, so every blocking piece of work (database
// calls, file I/O) is handed to an Executor and the worker finishes the RPC.
//
// Thread-safe. Submit() never blocks: when the queue is full it refuses the
// task, so overload turns into RESOURCE_EXHAUSTED instead of unbounded memory.
class Executor {
 public:
  // Starts `threads` workers (at least 1) with room for `max_queued` waiting tasks.
  Executor(size_t threads, size_t max_queued);
  // Runs every task already accepted, then joins the workers.
  ~Executor();

  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`. Returns false, without running it, when the queue is full
  // or the executor is shutting down.
  [[nodiscard]] bool Submit(std::function<void()> task);

  // Stops accepting tasks, runs those already queued and joins the workers.
  // Idempotent.
  void Shutdown();

 private:
  void WorkerLoop();

  const size_t max_queued_;
  // std::mutex rather than absl::Mutex: see services/common/mutex.h.
  std::mutex mu_;
  std::condition_variable work_ready_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;  // Written only by the constructor and Shutdown().
  std::mutex join_mu_;                // Serialises concurrent Shutdown() calls.
};

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_EXECUTOR_H_
