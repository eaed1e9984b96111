#ifndef EXPERTISE_SERVICES_IMPORTER_PLUGIN_SESSION_H_
#define EXPERTISE_SERVICES_IMPORTER_PLUGIN_SESSION_H_

// Drives one loaded plugin through check() and read(), turning its host
// function calls into runner protocol messages. Used by the sandboxed runner
// (messages become frames on the socket) and by the host's --in-process
// debugging mode (messages go straight to the host's handler).

#include <atomic>
#include <functional>
#include <mutex>

#include "expertise/importer/v1/runner.pb.h"
#include "services/importer/plugin_loader.h"

namespace expertise::importer {

// Largest record a plugin may emit.
inline constexpr size_t kMaxRecordBytes = 1u << 20;
// Largest checkpoint state.
inline constexpr size_t kMaxStateBytes = 4096;

class PluginSession {
 public:
  // `send` delivers one message; it returns false when the run must stop
  // (the plugin then sees EXPERTISE_STOP).
  using Sender = std::function<bool(const v1::RunnerMessage&)>;

  PluginSession(const LoadedPlugin& plugin, Sender send);
  ~PluginSession();

  // Runs check() and, unless check_only, read(). Sends Finished at the end.
  void Run(const v1::RunRequest& request);

  // Thread-safe: asks the plugin to stop (calls its cancel()).
  void Cancel();

  bool cancelled() const { return cancelled_.load(); }

 private:
  static PluginSession* Self(void* hctx) { return static_cast<PluginSession*>(hctx); }
  static void Log(void* hctx, int level, const char* message, const char* const* kv, size_t n_kv);
  static int Emit(void* hctx, const char* json, size_t len, const expertise_location* where);
  static int Reject(void* hctx, const expertise_location* where, int reason, const char* external_id,
                    const char* message, const char* raw_excerpt);
  static int Checkpoint(void* hctx, const char* state);
  static void ConfigError(void* hctx, const char* key, const char* message);
  int SendOrStop(const v1::RunnerMessage& message);
  void Finish(int result);

  const LoadedPlugin& plugin_;
  Sender send_;
  expertise_host_api api_{};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> stopped_{false};
  std::mutex instance_mu_;
  void* instance_ = nullptr;  // guarded by instance_mu_ for Cancel()
};

}  // namespace expertise::importer

#endif  // EXPERTISE_SERVICES_IMPORTER_PLUGIN_SESSION_H_
