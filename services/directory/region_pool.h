#ifndef EXPERTISE_SERVICES_DIRECTORY_REGION_POOL_H_
#define EXPERTISE_SERVICES_DIRECTORY_REGION_POOL_H_

// The directory's connections to the regional registries, and the one way
// it calls several of them at once.
//
//   - One channel per configured region (round_robin over the addresses a
//     name resolves to, keepalive on), with its registry and sharing stubs.
//   - Routing: which region serves a parent, a resource name or an
//     authority; errors are the directory's own (FAILED_PRECONDITION
//     REGION_NOT_CONFIGURED, INVALID_ARGUMENT naming the field).
//   - Child contexts: every outbound call carries the caller it acts for
//     (security::kOnBehalfOfKey), the caller's cancellation, and a deadline
//     that leaves a margin to merge and answer.
//   - FanOut: requests sent to every region at once with the callback API;
//     nothing blocks, and the last answer to arrive finishes the fan-out.
//     FanOutAndWait is the same fan-out for the sharing steps that run on
//     the directory's executor threads.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "expertise/registry/v1/sharing_service.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/countdown.h"
#include "services/common/reference/reference_data.h"
#include "services/directory/federation.h"
#include "services/directory/region_map.h"
#include "services/security/grpc_security.h"

namespace expertise::directory {

inline constexpr char kDirectoryErrorDomain[] = "directory.expertise";
// The parent and name prefix that mean "every region" (AIP-159).
inline constexpr char kAllRegions[] = "regions/-";

// A status of the directory's own, with the directory's ErrorInfo domain.
grpc::Status Error(const absl::Status& status);
// A region's answer passed on, its message prefixed with the region's name.
grpc::Status FromRegion(const std::string& region, const grpc::Status& status);

// (`class` because Stub::async() the method hides Stub::async the class.)
using RegistryAsync = class registry::v1::RegistryService::Stub::async;
using SharingAsync = class registry::v1::CapacitySharingService::Stub::async;

// An outbound call with the callback API, e.g. &RegistryAsync::GetImport.
template <typename Async, typename Request, typename Response>
using AsyncMethod = void (Async::*)(grpc::ClientContext*, const Request*, Response*,
                                    std::function<void(grpc::Status)>);

struct RegionPoolOptions {
  std::vector<RegionEndpoint> regions;
  // Longest wait for a region in a fan-out when the caller gives no tighter
  // deadline.
  absl::Duration region_timeout = absl::Seconds(5);
  Clock* clock = nullptr;  // RealClock() when null
  // Decides who each call is for; required. Not owned.
  security::CallGate* gate = nullptr;
  // How the directory reaches the registries (its own service identity);
  // each call carries the caller it acts for (security::kOnBehalfOfKey).
  security::ClientSecurityOptions upstream;
};

// How long an outbound call may take.
enum class CallKind {
  // One region, for a call that forwards the caller's request: all the
  // time the caller gave (less the margin), so a write is not cut short
  // while the region may still commit it.
  kRouted,
  // One of several regions asked at once: at most region_timeout.
  kFanOut,
  // One step of a cross-region operation on an executor thread: as
  // kRouted, but never more than kLongestStep, even when the caller set no
  // deadline, so a hung registry cannot hold the thread.
  kStep,
  // A client stream proxied message by message (an import): the caller's
  // own deadline, with no margin, since the region answers only at its end.
  kStream,
};
// The longest a kStep call may take.
inline constexpr std::chrono::seconds kLongestStep{30};

// How a fan-out reads the regions' errors.
struct FanOutOptions {
  // For the logs: the method asked.
  const char* method = "";
  // NOT_FOUND means the region answered "not here" (a lookup by id in
  // every region), not that it is unreachable.
  bool not_found_is_an_answer = false;
  // A caller error (IsCallerError: the same request fails everywhere) ends
  // the call with that error. When false, every failing region is just
  // unreachable (suggestions, which are best effort).
  bool caller_errors_end_the_call = true;
  // Called from an executor thread: each call is also capped as a kStep.
  bool from_step = false;
};

// What a fan-out heard: `answers[i]` is region i's response, or nullptr
// when it was not asked or did not answer (then `statuses[i]` says why).
// `caller_error` is set when a region refused the request itself.
template <typename Response>
struct FanOutAnswers {
  grpc::Status caller_error;
  std::vector<const Response*> answers;
  std::vector<grpc::Status> statuses;
  // Resource names of the regions asked that did not answer, in order.
  std::vector<std::string> unreachable;
};

class RegionPool {
 public:
  struct Region {
    const RegionInfo* info;
    std::string resource_name;  // info->resource_name(), kept
    std::string target;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<registry::v1::RegistryService::Stub> registry;
    std::unique_ptr<registry::v1::CapacitySharingService::Stub> sharing;
    // Whether the last fan-out heard from the region: a change is logged
    // once, not every query while a region is down.
    mutable std::atomic<bool> answering{true};

    const std::string& name() const { return resource_name; }
    RegistryAsync* async(const RegistryAsync*) const { return registry->async(); }
    SharingAsync* async(const SharingAsync*) const { return sharing->async(); }
  };

  // Creates one channel per region (connected lazily).
  explicit RegionPool(RegionPoolOptions options);
  ~RegionPool();
  RegionPool(const RegionPool&) = delete;
  RegionPool& operator=(const RegionPool&) = delete;

  size_t size() const { return regions_.size(); }
  const Region& region(size_t i) const { return *regions_[i]; }
  // The configured regions' resource names, in order.
  const std::vector<std::string>& names() const { return names_; }
  security::CallGate& gate() const { return *options_.gate; }
  Clock& clock() const { return *clock_; }

  // The region serving `parent` (`regions/{region}`), a name inside a region
  // (`regions/{region}/...`) or an authority (GSS code); `field` names the
  // request field in the error.
  absl::StatusOr<const Region*> ForParent(const std::string& parent, std::string_view field) const;
  absl::StatusOr<const Region*> ForName(const std::string& name, std::string_view field) const;
  absl::StatusOr<const Region*> ForAuthority(const std::string& code, std::string_view field) const;

  // A client context for a call made on behalf of `ctx` (see CallKind).
  std::unique_ptr<grpc::ClientContext> ChildContext(grpc::CallbackServerContext* ctx, CallKind kind) const;
  // Lowers `context`'s deadline to kLongestStep from now if it is later.
  static void CapAsStep(grpc::ClientContext* context);

  // Sends requests[i] (when set) to region i and calls `done` once with
  // everything heard, on the thread of the last answer.
  template <typename Async, typename Request, typename Response>
  void FanOut(grpc::CallbackServerContext* ctx, std::vector<std::optional<Request>> requests,
              AsyncMethod<Async, Request, Response> method, const FanOutOptions& options,
              std::function<void(const FanOutAnswers<Response>&)> done) const;

  // FanOut for an executor thread: returns once every region has answered
  // or timed out, with copies of the answers.
  template <typename Async, typename Request, typename Response>
  void FanOutAndWait(grpc::CallbackServerContext* ctx, std::vector<std::optional<Request>> requests,
                     AsyncMethod<Async, Request, Response> method, FanOutOptions options,
                     std::vector<std::optional<Response>>* answers, grpc::Status* caller_error,
                     std::vector<std::string>* unreachable) const;

  // Each configured region's id and whether it answered the last fan-out
  // that asked it (true until the first). Thread-safe; read by metrics.
  std::vector<std::pair<std::string, bool>> RegionsAnswering() const;

 private:
  absl::StatusOr<const Region*> ForRegion(const RegionInfo* region) const;
  // Notes whether region i answered a fan-out, logging changes.
  void NoteOutcome(size_t i, const char* method, const grpc::Status& status, const FanOutOptions& options,
                   bool caller_gone) const;
  void LogFanOut(const char* method, const std::vector<std::string>& unreachable,
                 std::chrono::steady_clock::time_point start) const;

  RegionPoolOptions options_;
  Clock* clock_;
  std::vector<std::unique_ptr<Region>> regions_;
  std::vector<std::string> names_;
};

template <typename Async, typename Request, typename Response>
void RegionPool::FanOut(grpc::CallbackServerContext* ctx, std::vector<std::optional<Request>> requests,
                        AsyncMethod<Async, Request, Response> method, const FanOutOptions& options,
                        std::function<void(const FanOutAnswers<Response>&)> done) const {
  // Shared by the outbound calls' callbacks; each writes only its own slot,
  // and the last one to finish (the countdown reaching zero) reads them all.
  struct State {
    std::vector<std::optional<Request>> requests;
    std::vector<Response> responses;
    std::vector<grpc::Status> statuses;
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::unique_ptr<Countdown> countdown;
    std::function<void(const FanOutAnswers<Response>&)> done;
    grpc::CallbackServerContext* ctx;  // valid until done() finishes the call
    FanOutOptions options;
    std::chrono::steady_clock::time_point start;
  };
  auto state = std::make_shared<State>();
  const size_t n = requests.size();
  state->requests = std::move(requests);
  state->responses.resize(n);
  state->statuses.resize(n);
  state->contexts.resize(n);
  state->done = std::move(done);
  state->ctx = ctx;
  state->options = options;
  state->start = std::chrono::steady_clock::now();
  auto finish = [this](State& s) {
    FanOutAnswers<Response> heard;
    heard.answers.assign(s.responses.size(), nullptr);
    heard.statuses = s.statuses;
    // When the caller gave up, every region "failed" for the caller's
    // reason: that says nothing about the regions.
    const bool caller_gone = s.ctx->IsCancelled();
    for (size_t i = 0; i < s.responses.size(); ++i) {
      if (!s.requests[i].has_value()) continue;
      const grpc::Status& status = s.statuses[i];
      NoteOutcome(i, s.options.method, status, s.options, caller_gone);
      if (status.ok()) {
        heard.answers[i] = &s.responses[i];
      } else if (s.options.caller_errors_end_the_call && IsCallerError(static_cast<int>(status.error_code()))) {
        heard.caller_error = FromRegion(names_[i], status);
        break;
      } else if (!(s.options.not_found_is_an_answer && status.error_code() == grpc::StatusCode::NOT_FOUND)) {
        heard.unreachable.push_back(names_[i]);
      }
    }
    LogFanOut(s.options.method, heard.unreachable, s.start);
    s.done(heard);
  };
  size_t asked = 0;
  for (const auto& request : state->requests) asked += request.has_value() ? 1 : 0;
  if (asked == 0) {
    finish(*state);
    return;
  }
  // The last answer finishes; it holds `state` alive until then.
  state->countdown = std::make_unique<Countdown>(asked, [state_ptr = state.get(), finish] { finish(*state_ptr); });
  // Contexts are made before any call starts, so a fast answer cannot
  // finish the fan-out while the loop still fills the vectors.
  for (size_t i = 0; i < n; ++i) {
    if (state->requests[i].has_value()) {
      state->contexts[i] = ChildContext(ctx, CallKind::kFanOut);
      if (options.from_step) CapAsStep(state->contexts[i].get());
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (!state->requests[i].has_value()) continue;
    Async* stub = regions_[i]->async(static_cast<const Async*>(nullptr));
    (stub->*method)(state->contexts[i].get(), &*state->requests[i], &state->responses[i],
                    [state, i](grpc::Status status) {
                      state->statuses[i] = std::move(status);
                      state->countdown->Arrive();
                    });
  }
}

template <typename Async, typename Request, typename Response>
void RegionPool::FanOutAndWait(grpc::CallbackServerContext* ctx, std::vector<std::optional<Request>> requests,
                               AsyncMethod<Async, Request, Response> method, FanOutOptions options,
                               std::vector<std::optional<Response>>* answers, grpc::Status* caller_error,
                               std::vector<std::string>* unreachable) const {
  absl::Notification finished;
  options.from_step = true;
  FanOut<Async, Request, Response>(ctx, std::move(requests), method, options,
                                   [&](const FanOutAnswers<Response>& heard) {
                                     answers->clear();
                                     for (const Response* answer : heard.answers) {
                                       answers->push_back(answer ? std::optional<Response>(*answer)
                                                                 : std::nullopt);
                                     }
                                     *caller_error = heard.caller_error;
                                     *unreachable = heard.unreachable;
                                     finished.Notify();
                                   });
  finished.WaitForNotification();
}

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_REGION_POOL_H_
