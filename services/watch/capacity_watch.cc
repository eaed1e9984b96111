#include "services/watch/capacity_watch.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace expertise::watch {

using registry::v1::CapacityUpdate;

namespace {

// Watchers whose on_ready is running on this thread (innermost last): a
// callback may cancel its own watcher or publish to another hub, which can
// call further callbacks.
thread_local std::vector<const Watcher*> t_notifying;

bool NotifyingOnThisThread(const Watcher* w) { return absl::c_find(t_notifying, w) != t_notifying.end(); }

// Clears what describes a delivery rather than a change.
void ClearDeliveryFields(CapacityUpdate* u) {
  u->clear_coalesced();
  u->clear_resume_token();
  u->clear_snapshot();
  u->clear_snapshot_end();
}

uint64_t RandomEpoch() {
  absl::BitGen gen;
  uint64_t epoch = 0;
  while (epoch == 0) epoch = absl::Uniform<uint64_t>(gen);
  return epoch;
}

}  // namespace

// ---------------------------------------------------------------------------
// WatchFilter

bool WatchFilter::Matches(const CapacityUpdate& u) const {
  if (!authorities.empty() && absl::c_find(authorities, u.owning_authority()) == authorities.end()) return false;
  if (!roles.empty() && absl::c_find(roles, u.role()) == roles.end()) return false;
  if (visible && !visible(u)) return false;
  return true;
}

// ---------------------------------------------------------------------------
// HubCore: the hub's shared state. Watchers hold it weakly so Cancel() is
// safe after the hub is gone.

class HubCore {
 public:
  struct Entry {
    uint64_t sequence;
    CapacityUpdate update;
  };

  HubCore(CapacityWatchHub::Options options, uint64_t epoch) : options_(options), epoch_(epoch) {}

  // Removes `w` from the watchers; returns the hub's reference (null if it
  // was not registered) so the caller destroys it outside the lock.
  std::shared_ptr<Watcher> Remove(Watcher* w) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    auto it = watchers_.find(w);
    if (it == watchers_.end()) return nullptr;
    std::shared_ptr<Watcher> ref = std::move(it->second);
    watchers_.erase(it);
    return ref;
  }

  const CapacityWatchHub::Options options_;
  const uint64_t epoch_;

  mutable Mutex mu_;
  uint64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  // The last options_.history changes; sequences are contiguous and end at
  // last_sequence_.
  std::deque<Entry> ring_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Watcher*, std::shared_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------
// CapacityWatchHub

CapacityWatchHub::CapacityWatchHub(Options options) : core_(std::make_shared<HubCore>(options, RandomEpoch())) {}

CapacityWatchHub::CapacityWatchHub() : CapacityWatchHub(Options{}) {}

CapacityWatchHub::~CapacityWatchHub() {
  // Watchers held elsewhere keep their queues and receive nothing more.
  absl::flat_hash_map<Watcher*, std::shared_ptr<Watcher>> watchers;
  {
    MutexLock lock(&core_->mu_);
    watchers.swap(core_->watchers_);
  }
}

uint64_t CapacityWatchHub::Publish(CapacityUpdate update) {
  ClearDeliveryFields(&update);
  std::vector<std::shared_ptr<Watcher>> wake;
  uint64_t sequence;
  {
    MutexLock lock(&core_->mu_);
    sequence = ++core_->last_sequence_;
    const CapacityUpdate* stored = &update;
    if (core_->options_.history > 0) {
      while (core_->ring_.size() >= core_->options_.history) core_->ring_.pop_front();
      core_->ring_.push_back(HubCore::Entry{sequence, std::move(update)});
      stored = &core_->ring_.back().update;
    }
    // Delivering under the hub mutex gives every watcher the changes in
    // sequence order, so the value it keeps is always the latest one.
    for (auto& [ptr, watcher] : core_->watchers_) {
      if (watcher->filter_.Matches(*stored) && watcher->Deliver(sequence, *stored)) wake.push_back(watcher);
    }
  }
  for (const auto& watcher : wake) watcher->Notify();
  return sequence;
}

std::shared_ptr<Watcher> CapacityWatchHub::Subscribe(WatchFilter filter, const std::string& resume_token,
                                                     std::function<void()> on_ready) {
  uint64_t token_epoch = 0;
  uint64_t token_sequence = 0;
  const bool parsed = !resume_token.empty() && ParseToken(resume_token, &token_epoch, &token_sequence);
  const size_t max_pending = std::max<size_t>(core_->options_.max_pending_per_watcher, 1);

  MutexLock lock(&core_->mu_);
  const uint64_t last = core_->last_sequence_;
  // Usable: this run's, not from the future, and every change after it is
  // still in the ring.
  bool usable = parsed && token_epoch == core_->epoch_ && token_sequence <= last;
  if (usable && token_sequence < last) {
    usable = !core_->ring_.empty() && core_->ring_.front().sequence <= token_sequence + 1;
  }
  auto watcher = std::make_shared<Watcher>(Watcher::Key{}, std::move(filter), std::move(on_ready),
                                           std::weak_ptr<HubCore>(core_), core_->epoch_, max_pending, !usable, last);
  if (usable && token_sequence < last) {
    const size_t start = static_cast<size_t>(token_sequence + 1 - core_->ring_.front().sequence);
    for (size_t i = start; i < core_->ring_.size(); ++i) {
      const HubCore::Entry& entry = core_->ring_[i];
      // No on_ready here: the caller calls Next() after Subscribe() returns.
      if (watcher->filter_.Matches(entry.update)) (void)watcher->Deliver(entry.sequence, entry.update);
    }
  }
  core_->watchers_.emplace(watcher.get(), watcher);
  return watcher;
}

void CapacityWatchHub::Unsubscribe(Watcher* watcher) {
  if (watcher == nullptr) return;
  // Keeps the watcher alive until it is stopped, even if the hub held the
  // last reference.
  std::shared_ptr<Watcher> ref = core_->Remove(watcher);
  watcher->Stop();
  watcher->WaitForCallbacks();
}

uint64_t CapacityWatchHub::epoch() const { return core_->epoch_; }

uint64_t CapacityWatchHub::last_sequence() const {
  ReaderMutexLock lock(&core_->mu_);
  return core_->last_sequence_;
}

size_t CapacityWatchHub::watcher_count() const {
  ReaderMutexLock lock(&core_->mu_);
  return core_->watchers_.size();
}

std::string CapacityWatchHub::MakeToken(uint64_t epoch, uint64_t sequence) {
  return absl::StrFormat("w1.%016x.%d", epoch, sequence);
}

bool CapacityWatchHub::ParseToken(const std::string& token, uint64_t* epoch, uint64_t* sequence) {
  if (token.size() > 64) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0] != "w1") return false;
  if (parts[1].size() != 16 || !absl::c_all_of(parts[1], [](char c) { return absl::ascii_isxdigit(c); })) return false;
  if (parts[2].empty() || parts[2].size() > 20 || !absl::c_all_of(parts[2], [](char c) { return absl::ascii_isdigit(c); })) {
    return false;
  }
  uint64_t e = 0;
  uint64_t s = 0;
  if (!absl::SimpleHexAtoi(parts[1], &e) || !absl::SimpleAtoi(parts[2], &s)) return false;
  *epoch = e;
  *sequence = s;
  return true;
}

// ---------------------------------------------------------------------------
// Watcher

Watcher::Watcher(Key, WatchFilter filter, std::function<void()> on_ready, std::weak_ptr<HubCore> hub, uint64_t epoch,
                 size_t max_pending, bool needs_snapshot, uint64_t snapshot_sequence)
    : filter_(std::move(filter)),
      hub_(std::move(hub)),
      epoch_(epoch),
      max_pending_(max_pending),
      needs_snapshot_(needs_snapshot),
      snapshot_token_(CapacityWatchHub::MakeToken(epoch, snapshot_sequence)),
      on_ready_(std::move(on_ready)) {}

Watcher::~Watcher() = default;

bool Watcher::needs_snapshot() const { return needs_snapshot_; }

size_t Watcher::ReadableLocked() const {
  if (cancelled_ || overflowed_) return 0;
  // While the snapshot is open its newest item is held back (it may become
  // the snapshot_end one) and live updates wait behind it.
  if (SnapshotOpenLocked()) return snapshot_.empty() ? 0 : snapshot_.size() - 1;
  return snapshot_.size() + order_.size();
}

void Watcher::ClearLocked() {
  // Fresh containers, so the memory goes back too.
  std::deque<CapacityUpdate>().swap(snapshot_);
  std::deque<std::string>().swap(order_);
  absl::flat_hash_map<std::string, Pending>().swap(live_);
}

bool Watcher::OverflowIfFullLocked() {
  if (snapshot_.size() + live_.size() < max_pending_) return false;
  overflowed_ = true;
  ClearLocked();
  return true;
}

bool Watcher::Deliver(uint64_t sequence, const CapacityUpdate& update) {
  MutexLock lock(&mu_);
  if (cancelled_ || overflowed_) return false;
  last_received_sequence_ = std::max(last_received_sequence_, sequence);
  auto it = live_.find(update.specialist());
  if (it != live_.end()) {
    // Already queued: fold. The place in the queue and what is readable do
    // not change, so there is nobody to wake.
    Pending& pending = it->second;
    if (sequence > pending.sequence) {
      pending.update = update;
      pending.sequence = sequence;
    }
    ++pending.coalesced;
    ++changes_received_;
    return false;
  }
  const size_t readable_before = ReadableLocked();
  // An idle reader learns of the overflow through on_ready.
  if (OverflowIfFullLocked()) return readable_before == 0;
  order_.push_back(update.specialist());
  live_.emplace(update.specialist(), Pending{update, sequence, sequence, 1});
  ++changes_received_;
  return readable_before == 0 && ReadableLocked() > 0;
}

void Watcher::PushSnapshot(CapacityUpdate update) {
  if (!filter_.Matches(update)) return;
  bool notify = false;
  {
    MutexLock lock(&mu_);
    if (!SnapshotOpenLocked() || cancelled_ || overflowed_) return;
    const size_t readable_before = ReadableLocked();
    if (OverflowIfFullLocked()) {
      notify = readable_before == 0;
    } else {
      ClearDeliveryFields(&update);
      update.set_snapshot(true);
      update.set_coalesced(1);
      // No token until the snapshot is complete: resuming from the middle
      // of a snapshot would skip the rest of it, so a watch cut short there
      // starts again with a whole one.
      snapshot_.push_back(std::move(update));
      notify = readable_before == 0 && ReadableLocked() > 0;
    }
  }
  if (notify) Notify();
}

void Watcher::EndSnapshot() {
  bool notify = false;
  {
    MutexLock lock(&mu_);
    if (!SnapshotOpenLocked() || cancelled_) return;
    if (overflowed_) {
      snapshot_ended_ = true;
      return;
    }
    const size_t readable_before = ReadableLocked();
    if (!snapshot_.empty()) {
      // The held-back newest item ends the snapshot and carries its token.
      snapshot_.back().set_snapshot_end(true);
      snapshot_.back().set_resume_token(snapshot_token_);
      snapshot_ended_ = true;
    } else if (OverflowIfFullLocked()) {
      snapshot_ended_ = true;
      notify = readable_before == 0;
    } else {
      CapacityUpdate end;
      end.set_snapshot(true);
      end.set_snapshot_end(true);
      end.set_resume_token(snapshot_token_);
      snapshot_.push_back(std::move(end));
      snapshot_ended_ = true;
    }
    if (!overflowed_) notify = readable_before == 0 && ReadableLocked() > 0;
  }
  if (notify) Notify();
}

std::optional<CapacityUpdate> Watcher::Next() {
  MutexLock lock(&mu_);
  if (cancelled_ || overflowed_) return std::nullopt;
  const bool open = SnapshotOpenLocked();
  if (!snapshot_.empty() && (!open || snapshot_.size() > 1)) {
    CapacityUpdate out = std::move(snapshot_.front());
    snapshot_.pop_front();
    ++updates_delivered_;
    return out;
  }
  if (open || order_.empty()) return std::nullopt;

  auto node = live_.extract(order_.front());
  order_.pop_front();
  Pending& pending = node.mapped();
  // Never past a change still queued behind this one (see the header).
  uint64_t token_sequence = last_received_sequence_;
  if (!order_.empty()) {
    const uint64_t next_first = live_.find(order_.front())->second.first_sequence;
    token_sequence = std::min(pending.sequence, next_first - 1);
  }
  CapacityUpdate out = std::move(pending.update);
  out.set_coalesced(static_cast<int32_t>(std::min<int64_t>(pending.coalesced, std::numeric_limits<int32_t>::max())));
  out.set_resume_token(CapacityWatchHub::MakeToken(epoch_, token_sequence));
  ++updates_delivered_;
  return out;
}

size_t Watcher::pending() const {
  ReaderMutexLock lock(&mu_);
  return snapshot_.size() + live_.size();
}

bool Watcher::overflowed() const {
  ReaderMutexLock lock(&mu_);
  return overflowed_;
}

uint64_t Watcher::changes_received() const {
  ReaderMutexLock lock(&mu_);
  return changes_received_;
}

uint64_t Watcher::updates_delivered() const {
  ReaderMutexLock lock(&mu_);
  return updates_delivered_;
}

bool Watcher::cancelled() const {
  ReaderMutexLock lock(&mu_);
  return cancelled_;
}

void Watcher::Stop() {
  MutexLock lock(&mu_);
  cancelled_ = true;
  ClearLocked();
}

void Watcher::Cancel() {
  std::shared_ptr<Watcher> ref;  // The hub's reference, released after stopping.
  if (std::shared_ptr<HubCore> hub = hub_.lock()) ref = hub->Remove(this);
  Stop();
  WaitForCallbacks();
}

void Watcher::WaitForCallbacks() {
  // From inside this watcher's own on_ready: it cannot wait for itself, and
  // must not destroy the callback that is running. Stop() already keeps any
  // further call from starting.
  if (NotifyingOnThisThread(this)) return;
  std::function<void()> drop;
  {
    MutexLock lock(&callback_mu_);  // Waits for running callbacks.
    drop.swap(on_ready_);
  }
  // `drop` (and whatever it captured) is destroyed here, with no lock held.
}

void Watcher::Notify() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  // Nested call on a thread already inside this watcher's on_ready (its
  // callback published to a hub feeding this watcher): callback_mu_ is
  // already held shared further up this thread's stack, and taking it again
  // could deadlock behind a waiting Cancel().
  struct SharedHold {
    Mutex* mu;
    ~SharedHold() {
      if (mu != nullptr) mu->ReaderUnlock();
    }
  };
  const bool nested = NotifyingOnThisThread(this);
  if (!nested) callback_mu_.ReaderLock();
  SharedHold hold{nested ? nullptr : &callback_mu_};
  if (cancelled() || !on_ready_) return;
  t_notifying.push_back(this);
  struct Pop {
    ~Pop() { t_notifying.pop_back(); }
  } pop;
  on_ready_();
}

}  // namespace expertise::watch
