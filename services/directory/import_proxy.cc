#include "services/directory/import_proxy.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "services/common/errors.h"

namespace expertise::directory {

namespace v1 = ::expertise::registry::v1;

namespace {

// Proxies one import stream to the authority's region, one message at a
// time: a message read from the caller is written upstream, and only when
// that write is done is the next one read, so memory stays at one message
// however large the import. State changes happen under mu_; reactor
// operations are started after it is released, so a reaction the library
// runs inline can never deadlock on it.
class ImportProxy final : public grpc::ServerReadReactor<v1::ImportSpecialistsRequest>,
                          public grpc::ClientWriteReactor<v1::ImportSpecialistsRequest> {
  using Server = grpc::ServerReadReactor<v1::ImportSpecialistsRequest>;
  using Upstream = grpc::ClientWriteReactor<v1::ImportSpecialistsRequest>;

 public:
  ImportProxy(const RegionPool* pool, grpc::CallbackServerContext* ctx, v1::Import* response)
      : pool_(pool), ctx_(ctx), response_(response) {
    const security::CallDecision decision = pool->gate().Decision(ctx);
    if (!decision.status.ok()) {
      finished_ = true;  // nothing is read, nothing goes upstream
      Server::Finish(Error(decision.status));
      return;
    }
    Server::StartRead(&message_);
  }

  // Caller side: a message (or the end of the stream) arrived.
  void OnReadDone(bool ok) override {
    enum { kNothing, kFinish, kStartAndWrite, kWrite, kWritesDone } action = kNothing;
    grpc::Status error;
    const RegionPool::Region* region = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      if (!ok) {
        if (!upstream_started_) {
          error = Error(InvalidFieldError("header", "the stream ended before its header"));
          action = kFinish;
        } else if (!upstream_done_) {
          action = kWritesDone;
        }
      } else if (!upstream_started_) {
        if (!message_.has_header()) {
          error = Error(InvalidFieldError("header", "the first message must be the header"));
          action = kFinish;
        } else if (absl::StatusOr<const RegionPool::Region*> routed =
                       pool_->ForAuthority(message_.header().authority(), "header.authority");
                   !routed.ok()) {
          error = Error(routed.status());
          action = kFinish;
        } else {
          region = *routed;
          region_ = region->name();
          // Routed by authority; the region's registry wants its own name.
          message_.mutable_header()->set_parent(region_);
          upstream_context_ = pool_->ChildContext(ctx_, CallKind::kStream);
          upstream_started_ = true;
          action = kStartAndWrite;
        }
      } else if (!upstream_done_) {
        action = kWrite;
      }
      if (action == kFinish) finished_ = true;
    }
    switch (action) {
      case kFinish: Server::Finish(error); break;
      case kStartAndWrite:
        region->registry->async()->ImportSpecialists(upstream_context_.get(), response_, this);
        // Held until no further upstream operation will start, so the
        // upstream call cannot end (and free its stream) between our
        // decision to write and the write itself.
        Upstream::AddHold();
        Upstream::StartWrite(&message_);
        Upstream::StartCall();
        break;
      case kWrite: Upstream::StartWrite(&message_); break;
      case kWritesDone:
        Upstream::StartWritesDone();
        ReleaseUpstream();
        break;
      case kNothing: break;
    }
  }

  void OnCancel() override {
    grpc::ClientContext* upstream = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      upstream = upstream_context_.get();
    }
    if (upstream) upstream->TryCancel();
  }

  void OnDone() override {
    bool last;
    {
      std::lock_guard<std::mutex> lock(mu_);
      server_done_ = true;
      last = !upstream_started_ || upstream_done_;
    }
    if (last) delete this;
  }

  // Upstream side: a write went out. Not ok: the registry ended the call,
  // and its OnDone brings the status.
  void OnWriteDone(bool ok) override {
    if (!ok) {
      ReleaseUpstream();  // nothing more will be written
      return;
    }
    Server::StartRead(&message_);
  }

  void OnDone(const grpc::Status& status) override {
    bool finish, last;
    {
      std::lock_guard<std::mutex> lock(mu_);
      upstream_done_ = true;
      finish = !finished_;
      finished_ = true;
      last = server_done_;
    }
    if (finish) Server::Finish(FromRegion(region_, status));
    if (last) delete this;
  }

 private:
  // Lets the upstream call end, once.
  void ReleaseUpstream() {
    if (!hold_released_.exchange(true)) Upstream::RemoveHold();
  }

  const RegionPool* const pool_;
  grpc::CallbackServerContext* const ctx_;
  v1::Import* const response_;
  std::atomic<bool> hold_released_{false};
  std::mutex mu_;
  // One message in flight: read from the caller, then written upstream.
  v1::ImportSpecialistsRequest message_;
  std::unique_ptr<grpc::ClientContext> upstream_context_;  // set once, under mu_
  std::string region_;                                      // set once, before the upstream starts
  bool upstream_started_ = false;  // guarded by mu_
  bool upstream_done_ = false;     // guarded by mu_
  bool finished_ = false;          // guarded by mu_: Finish was called
  bool server_done_ = false;       // guarded by mu_
};

}  // namespace

grpc::ServerReadReactor<v1::ImportSpecialistsRequest>* NewImportProxy(const RegionPool* pool,
                                                                      grpc::CallbackServerContext* ctx,
                                                                      v1::Import* response) {
  return new ImportProxy(pool, ctx, response);
}

}  // namespace expertise::directory
