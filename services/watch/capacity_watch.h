#ifndef EXPERTISE_SERVICES_WATCH_CAPACITY_WATCH_H_
#define EXPERTISE_SERVICES_WATCH_CAPACITY_WATCH_H_

// Capacity watch hub: the gRPC-free core of WatchCapacity.
//
// The registry publishes every committed capacity change to a
// CapacityWatchHub; each open stream holds a Watcher. A watcher never queues
// more than one update per specialist: a change to a specialist that is
// already pending is folded into the pending update (latest values win,
// `coalesced` counts the folded changes), so a slow reader costs memory in
// proportion to the number of distinct specialists, never to the rate of
// change. The hub keeps the last `history` changes in a ring so a client that
// reconnects with a resume token replays only what it missed; otherwise it
// starts again from a snapshot.
//
// Nothing here blocks on a reader: Publish() takes the hub mutex and each
// matching watcher's mutex for a few map operations, and Watcher::Next() is
// a non-blocking poll. A watcher's `on_ready` callback tells the reader
// (the gRPC reactor) when it has something again.
//
// Locks, in the only order they are ever nested:
//   1. HubCore::mu_        (ring, sequence numbers, set of watchers)
//   2. Watcher::mu_        (one watcher's queue)
// Watcher::callback_mu_ (held shared while on_ready runs, exclusively by
// Cancel() to wait for running callbacks) is never held together with either
// of them. on_ready is always called with no hub or watcher mutex held.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "expertise/registry/v1/sharing.pb.h"
#include "services/common/mutex.h"

namespace expertise::watch {

// One change, as published by the registry after each durable commit.
struct Change {
  registry::v1::CapacityUpdate update;  // specialist, owning_authority, role, hours, removed, update_time filled by the publisher
};

// Which changes a watcher wants. Empty lists match everything.
struct WatchFilter {
  std::vector<std::string> authorities;  // owning_authority must be one of these
  std::vector<std::string> roles;        // role must be one of these
  // Optional extra check (caller's read scope); null = all. Called under the
  // hub mutex from publishing threads and from PushSnapshot()'s thread, so it
  // must be thread-safe, quick, and must not call into the hub.
  std::function<bool(const registry::v1::CapacityUpdate&)> visible;
  bool Matches(const registry::v1::CapacityUpdate& u) const;
};

class Watcher;
class HubCore;

// Thread-safe. Keeps the last `history` changes (ring) with sequence numbers, so a watcher can resume from a token.
// Epoch: a random 64-bit value chosen at construction (tokens from another process run are "too old").
//
// The hub may be destroyed while watchers are still held elsewhere: they keep
// what is queued and receive nothing more; Cancel() stays safe.
class CapacityWatchHub {
 public:
  struct Options {
    size_t history = 4096;
    size_t max_pending_per_watcher = 100000;
  };
  explicit CapacityWatchHub(Options options);
  CapacityWatchHub();  // default options
  ~CapacityWatchHub();
  CapacityWatchHub(const CapacityWatchHub&) = delete;
  CapacityWatchHub& operator=(const CapacityWatchHub&) = delete;

  // Assigns the next sequence number, stores the change in the ring, and hands it to every matching watcher. Never blocks on
  // readers (only a short mutex). Returns the sequence number.
  //
  // The hub's own fields of `update` (coalesced, resume_token, snapshot,
  // snapshot_end) are cleared: they describe a delivery, not a change, so an
  // update read from another hub's watcher can be republished as it is.
  // Changes reach each watcher in sequence order (delivery happens under the
  // hub mutex), so the latest value of a specialist is always the one kept.
  uint64_t Publish(registry::v1::CapacityUpdate update);

  // Registers a watcher. `resume_token` empty or unusable (bad format, other epoch, older than the ring) => the watcher needs a
  // snapshot: Watcher::needs_snapshot() is true and the caller must call Watcher::PushSnapshot(...) with the current state
  // (the registry reads it) and then Watcher::EndSnapshot(). A usable token => the ring's changes after it that match are
  // queued (coalesced) and needs_snapshot() is false. `on_ready` is called (from the publishing thread, without holding hub
  // locks, possibly concurrently with reads) whenever the watcher goes from nothing pending to something pending; it must not block.
  // Registration and the snapshot are consistent: changes published after Subscribe returns are queued (after the snapshot items).
  //
  // Notes for the caller:
  //  * Subscribe() itself never calls on_ready, even when the replay queued
  //    something: call Next() once after Subscribe() returns.
  //  * on_ready may run on a publishing thread before Subscribe() has
  //    returned to the caller, and on several threads at once.
  //  * on_ready may call Next(), Cancel(), Unsubscribe() and Publish() on
  //    another hub, but must not Cancel() a watcher whose on_ready can cancel
  //    this one at the same time.
  //  * on_ready is also called by PushSnapshot()/EndSnapshot() (on the
  //    caller's thread, without locks) when they make something readable,
  //    and once when the watcher overflows while its reader is idle.
  std::shared_ptr<Watcher> Subscribe(WatchFilter filter, const std::string& resume_token, std::function<void()> on_ready);

  // Stops delivering to `watcher` and frees its queue. Idempotent. Also done by Watcher::Cancel().
  // Once it returns no on_ready call for the watcher is running or will start
  // (it waits for a running one unless called from inside that on_ready).
  void Unsubscribe(Watcher* watcher);

  uint64_t epoch() const;
  uint64_t last_sequence() const;
  size_t watcher_count() const;

  // Token string for (epoch, sequence): opaque to clients, e.g. "w1.<epoch hex>.<seq>".
  static std::string MakeToken(uint64_t epoch, uint64_t sequence);
  // Inverse of MakeToken; false for anything MakeToken cannot produce.
  static bool ParseToken(const std::string& token, uint64_t* epoch, uint64_t* sequence);

 private:
  std::shared_ptr<HubCore> core_;
};

class Watcher {
  // Only the hub creates watchers (std::make_shared needs a public constructor).
  struct Key {
    explicit Key() = default;
  };

 public:
  Watcher(Key, WatchFilter filter, std::function<void()> on_ready, std::weak_ptr<HubCore> hub, uint64_t epoch,
          size_t max_pending, bool needs_snapshot, uint64_t snapshot_sequence);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  bool needs_snapshot() const;
  // Snapshot items are queued in order, not coalesced with each other; they are marked snapshot=true, the last one
  // (EndSnapshot) gets snapshot_end=true (if the snapshot is empty, EndSnapshot queues one update with only snapshot_end=true and
  // snapshot=true and the current resume token). Only the snapshot_end item carries a resume_token (the hub's sequence at
  // Subscribe time); the others carry none, so a client cut off mid-snapshot starts again with a whole snapshot.
  //
  // Items that do not match the filter are dropped, so the caller may push
  // its whole state. Until EndSnapshot() the most recent snapshot item is
  // held back (it may become the snapshot_end one) and no live update is
  // released. Ignored when no snapshot is needed, after EndSnapshot(), after
  // Cancel() and after an overflow. Snapshot items count towards pending().
  void PushSnapshot(registry::v1::CapacityUpdate update);
  void EndSnapshot();

  // Non-blocking: the next update to send, or nullopt when none is pending. Live updates come out coalesced: if several changes
  // to the same specialist arrived while the reader was busy, one update carries the latest values with coalesced = number of
  // changes folded (1 when none) and resume_token = token of the latest folded change's sequence. Order: by the sequence of
  // each specialist's first pending change (a specialist keeps its place in the queue when updated again).
  //
  // Resume token detail: because a specialist keeps its place, an update can
  // carry a later change than one still queued behind it (A changed at 10,
  // B at 20, A again at 30: A goes out first with the change at 30 while B's
  // change at 20 is still pending). Resuming from 30 would lose B's change,
  // so a live update's token is the latest folded sequence capped at (the
  // first pending sequence of the next queued specialist - 1): resuming from
  // any delivered token never loses a change (it may repeat some, which is
  // harmless since every update carries full values). With nothing else
  // pending, the token is the last change this watcher received (so at
  // least the latest folded change's sequence).
  // Tokens never decrease along one stream.
  std::optional<registry::v1::CapacityUpdate> Next();

  // Number of distinct specialists pending (bounded: at most max_pending_per_watcher; beyond that, the watcher is marked
  // overflowed: pending is cleared and the next Next() returns nullopt and overflowed() is true so the caller can end the stream
  // with RESOURCE_EXHAUSTED telling the client to resume with its last token).
  // (Queued snapshot items count too, one each.)
  size_t pending() const;
  bool overflowed() const;

  // Totals for tests and metrics. changes_received counts live changes
  // accepted into the queue (replayed ones included, snapshot items and
  // changes after an overflow or Cancel() not); updates_delivered counts
  // everything Next() returned.
  uint64_t changes_received() const;
  uint64_t updates_delivered() const;

  // Unsubscribes from the hub (if it still exists) and frees the queue. Idempotent; same guarantee as Unsubscribe().
  void Cancel();
  bool cancelled() const;

 private:
  friend class CapacityWatchHub;
  friend class HubCore;

  // One specialist's pending live update.
  struct Pending {
    registry::v1::CapacityUpdate update;  // latest values
    uint64_t first_sequence = 0;          // first folded change (its place in the queue)
    uint64_t sequence = 0;                // latest folded change
    int64_t coalesced = 0;                // changes folded
  };

  // Called by the hub under HubCore::mu_ (takes mu_). Returns true when the
  // caller must call Notify() once it has released every lock.
  bool Deliver(uint64_t sequence, const registry::v1::CapacityUpdate& update);
  // Marks the watcher cancelled and clears its queue (mu_ only).
  void Stop();
  // Waits until no on_ready call is running (except on this thread) and
  // drops the callback. No lock may be held.
  void WaitForCallbacks();
  // Calls on_ready unless cancelled. No hub or watcher lock may be held.
  void Notify();

  // Updates Next() would release now.
  size_t ReadableLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  bool SnapshotOpenLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return needs_snapshot_ && !snapshot_ended_; }
  // When one more entry would exceed the bound: marks the watcher
  // overflowed, clears the queue and returns true.
  bool OverflowIfFullLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const WatchFilter filter_;
  const std::weak_ptr<HubCore> hub_;
  const uint64_t epoch_;
  const size_t max_pending_;
  const bool needs_snapshot_;
  const std::string snapshot_token_;

  mutable Mutex mu_;
  bool snapshot_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool overflowed_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<registry::v1::CapacityUpdate> snapshot_ ABSL_GUARDED_BY(mu_);
  // Live updates: one entry per specialist, released in the order of their
  // first pending change. order_ and live_ always hold the same keys.
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Pending> live_ ABSL_GUARDED_BY(mu_);
  uint64_t last_received_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t changes_received_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t updates_delivered_ ABSL_GUARDED_BY(mu_) = 0;

  // Held shared while on_ready runs; Cancel() takes it exclusively to wait
  // for running callbacks, then drops the callback.
  Mutex callback_mu_;
  std::function<void()> on_ready_ ABSL_GUARDED_BY(callback_mu_);
};

}  // namespace expertise::watch

#endif  // EXPERTISE_SERVICES_WATCH_CAPACITY_WATCH_H_
