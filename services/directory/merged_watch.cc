#include "services/directory/merged_watch.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>

#include <grpcpp/alarm.h>

#include "services/common/logging.h"
#include "services/common/mutex.h"
#include "services/directory/watch_merge.h"

namespace expertise::directory {

namespace v1 = ::expertise::registry::v1;

namespace {

// How long a broken region stream waits before it is opened again (doubling
// from the first, up to the last).
constexpr absl::Duration kFirstRetry = absl::Milliseconds(500);
constexpr absl::Duration kLastRetry = absl::Seconds(30);

// One merged watch: a stream from every region named, each read one update
// at a time and read again only once that update is written to the client.
// The registries coalesce for a slow reader, so this reactor holds about
// one update per region: its memory does not grow with the rate of change.
// A region whose stream breaks is opened again with its own resume token
// after a back-off, while the others go on. Deletes itself when the client's
// call is done and no upstream stream or retry timer is left.
class MergedWatch final
    : public grpc::ServerWriteReactor<v1::CapacityUpdate> {
 public:
  MergedWatch(const RegionPool* pool, grpc::CallbackServerContext* ctx, v1::WatchCapacityRequest request,
              std::vector<const RegionPool::Region*> regions)
      : pool_(pool), ctx_(ctx), request_(std::move(request)), sources_(std::move(regions)) {
    std::map<std::string, std::string> tokens = DecodeMergedToken(request_.resume_token());
    regions_.resize(sources_.size());
    for (size_t i = 0; i < sources_.size(); ++i) {
      regions_[i].token = tokens[sources_[i]->info->id];
      regions_[i].retry_after = kFirstRetry;
    }
  }

  void Start() {
    MutexLock lock(&mu_);
    for (size_t i = 0; i < regions_.size(); ++i) OpenLocked(i);
  }

 private:
  struct Upstream final : grpc::ClientReadReactor<v1::CapacityUpdate> {
    MergedWatch* watch;
    size_t index;
    std::unique_ptr<grpc::ClientContext> context;
    v1::WatchCapacityRequest request;
    v1::CapacityUpdate incoming;
    bool reading = false;  // a read is outstanding; guarded by the watch's mu_

    void OnReadDone(bool ok) override {
      if (ok) watch->Received(index, this);
      // !ok: the stream is over; OnDone follows with its status.
    }
    void OnDone(const grpc::Status& status) override {
      watch->Closed(index, status);
      delete this;
    }
  };

  struct Region {
    Upstream* stream = nullptr;   // open stream, owned by gRPC until its OnDone
    std::string token;            // last resume token delivered to the client
    bool snapshot_done = false;
    bool retry_pending = false;
    absl::Duration retry_after;
    std::unique_ptr<grpc::Alarm> alarm;
  };
  struct Queued {
    size_t region;
    v1::CapacityUpdate update;
  };

  void OpenLocked(size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto* upstream = new Upstream();
    upstream->watch = this;
    upstream->index = i;
    upstream->context = pool_->ChildContext(ctx_, CallKind::kRouted);  // no step cap: a stream
    upstream->request = request_;
    upstream->request.set_parent(sources_[i]->name());
    upstream->request.set_resume_token(regions_[i].token);
    regions_[i].stream = upstream;
    sources_[i]->sharing->async()->WatchCapacity(upstream->context.get(), &upstream->request, upstream);
    upstream->reading = true;
    upstream->StartRead(&upstream->incoming);
    upstream->StartCall();
  }

  void Received(size_t i, Upstream* upstream) {
    MutexLock lock(&mu_);
    upstream->reading = false;
    regions_[i].retry_after = kFirstRetry;  // it answers again
    queue_.push_back({i, upstream->incoming});
    if (!writing_) WriteNextLocked();
  }

  void Closed(size_t i, const grpc::Status& status) {
    bool remove = false;
    {
      MutexLock lock(&mu_);
      regions_[i].stream = nullptr;
      const grpc::StatusCode code = status.error_code();
      if (!finished_ && (code == grpc::StatusCode::PERMISSION_DENIED ||
                         code == grpc::StatusCode::UNAUTHENTICATED ||
                         code == grpc::StatusCode::INVALID_ARGUMENT)) {
        // The caller's problem, the same in every region: say so and stop.
        FinishLocked(FromRegion(sources_[i]->name(), status));
      } else if (!finished_) {
        LogEvent(*GetLogger("directory"), spdlog::level::warn, "watch_region_lost",
                 {{"region", sources_[i]->name()},
                  {"code", static_cast<int>(code)},
                  {"retry_ms", absl::ToInt64Milliseconds(regions_[i].retry_after)}});
        Region& region = regions_[i];
        region.retry_pending = true;
        region.alarm = std::make_unique<grpc::Alarm>();
        region.alarm->Set(std::chrono::system_clock::now() +
                              absl::ToChronoMilliseconds(region.retry_after),
                          [this, i](bool fired) { Retry(i, fired); });
        region.retry_after = std::min(region.retry_after * 2, kLastRetry);
      }
      remove = DoneLocked();
    }
    if (remove) delete this;
  }

  void Retry(size_t i, bool fired) {
    bool remove = false;
    {
      MutexLock lock(&mu_);
      regions_[i].retry_pending = false;
      if (fired && !finished_) OpenLocked(i);
      remove = DoneLocked();
    }
    if (remove) delete this;
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (!queue_.empty() && !finished_) {
      Queued next = std::move(queue_.front());
      queue_.pop_front();
      Region& region = regions_[next.region];
      v1::CapacityUpdate& update = next.update;
      if (!update.resume_token().empty()) region.token = update.resume_token();
      update.set_resume_token(EncodeMergedToken(Tokens()));
      if (update.snapshot_end()) {
        const bool first = !region.snapshot_done;
        region.snapshot_done = true;
        // The merged snapshot ends once every region's has.
        const bool all = std::all_of(regions_.begin(), regions_.end(),
                                     [](const Region& r) { return r.snapshot_done; });
        update.set_snapshot_end(all && first);
        if (update.specialist().empty() && !update.snapshot_end()) {
          // An empty region's end marker, not the merged end: nothing to send.
          ReadAgainLocked(next.region);
          continue;
        }
      }
      current_ = std::move(update);
      current_region_ = next.region;
      writing_ = true;
      StartWrite(&current_);
      return;
    }
  }

  std::map<std::string, std::string> Tokens() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::map<std::string, std::string> tokens;
    for (size_t i = 0; i < regions_.size(); ++i) tokens[sources_[i]->info->id] = regions_[i].token;
    return tokens;
  }

  void ReadAgainLocked(size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // A stream opened again since has its own read outstanding.
    Upstream* stream = regions_[i].stream;
    if (stream && !stream->reading) {
      stream->reading = true;
      stream->StartRead(&stream->incoming);
    }
  }

  void OnWriteDone(bool ok) override {
    MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the stream broke"));
      return;
    }
    ReadAgainLocked(current_region_);
    WriteNextLocked();
  }

  void OnCancel() override {
    MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watch was cancelled"));
  }

  void OnDone() override {
    bool remove;
    {
      MutexLock lock(&mu_);
      server_done_ = true;
      remove = DoneLocked();
    }
    if (remove) delete this;
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
    for (Region& region : regions_) {
      if (region.stream) region.stream->context->TryCancel();
      if (region.alarm) region.alarm->Cancel();  // its callback runs with fired=false
    }
  }

  bool DoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!server_done_) return false;
    for (const Region& region : regions_) {
      if (region.stream || region.retry_pending) return false;
    }
    return true;
  }

  const RegionPool* const pool_;
  grpc::CallbackServerContext* const ctx_;
  const v1::WatchCapacityRequest request_;
  const std::vector<const RegionPool::Region*> sources_;
  Mutex mu_;
  std::vector<Region> regions_ ABSL_GUARDED_BY(mu_);
  // At most one per open stream (two for a region briefly, after it is
  // reopened while its last update is still queued).
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  v1::CapacityUpdate current_ ABSL_GUARDED_BY(mu_);
  size_t current_region_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool server_done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::ServerWriteReactor<v1::CapacityUpdate>* StartMergedWatch(const RegionPool* pool,
                                                               grpc::CallbackServerContext* ctx,
                                                               const v1::WatchCapacityRequest& request,
                                                               std::vector<const RegionPool::Region*> regions) {
  auto* watch = new MergedWatch(pool, ctx, request, std::move(regions));
  watch->Start();
  return watch;
}

}  // namespace expertise::directory
