#include "services/watch/capacity_watch.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace expertise::watch {
namespace {

using registry::v1::CapacityUpdate;
using ::testing::ElementsAre;

CapacityUpdate Upd(const std::string& specialist, double available, const std::string& authority = "E06000001",
                      const std::string& role = "SLT") {
  CapacityUpdate u;
  u.set_specialist(specialist);
  u.set_owning_authority(authority);
  u.set_role(role);
  u.set_contracted_hours_per_week(37.5);
  u.set_available_hours_per_week(available);
  return u;
}

std::vector<CapacityUpdate> Drain(Watcher& w) {
  std::vector<CapacityUpdate> out;
  while (std::optional<CapacityUpdate> u = w.Next()) out.push_back(*std::move(u));
  return out;
}

std::vector<std::string> Specialists(const std::vector<CapacityUpdate>& updates) {
  std::vector<std::string> out;
  for (const auto& u : updates) out.push_back(u.specialist());
  return out;
}

uint64_t TokenSequence(const std::string& token) {
  uint64_t epoch = 0;
  uint64_t sequence = 0;
  EXPECT_TRUE(CapacityWatchHub::ParseToken(token, &epoch, &sequence)) << token;
  return sequence;
}

// --- Tokens -----------------------------------------------------------------

TEST(CapacityWatchTokenTest, RoundTripsAndRejectsGarbage) {
  const std::string token = CapacityWatchHub::MakeToken(0xabcdef0123456789ULL, 42);
  EXPECT_EQ(token, "w1.abcdef0123456789.42");
  uint64_t epoch = 0;
  uint64_t sequence = 0;
  ASSERT_TRUE(CapacityWatchHub::ParseToken(token, &epoch, &sequence));
  EXPECT_EQ(epoch, 0xabcdef0123456789ULL);
  EXPECT_EQ(sequence, 42u);
  for (const std::string bad : {"", "w1", "w1..", "w2.abcdef0123456789.42", "w1.abcdef012345678.42",
                                "w1.abcdef0123456789.", "w1.abcdef0123456789.-1", "w1.abcdef0123456789.4x",
                                "w1.0xcdef0123456789.4", "w1.abcdef0123456789.42.1", "w1.ghijkl0123456789.1",
                                "w1.abcdef0123456789.99999999999999999999999"}) {
    EXPECT_FALSE(CapacityWatchHub::ParseToken(bad, &epoch, &sequence)) << bad;
  }
}

TEST(CapacityWatchTokenTest, EpochsDifferBetweenHubs) {
  CapacityWatchHub a;
  CapacityWatchHub b;
  EXPECT_NE(a.epoch(), 0u);
  EXPECT_NE(a.epoch(), b.epoch());
}

// --- Snapshot then live -------------------------------------------------------

TEST(CapacityWatchTest, SnapshotThenLive) {
  CapacityWatchHub hub;
  hub.Publish(Upd("s-old", 1));
  hub.Publish(Upd("s-old", 2));
  ASSERT_EQ(hub.last_sequence(), 2u);
  const std::string subscribe_token = CapacityWatchHub::MakeToken(hub.epoch(), 2);

  int ready = 0;
  auto w = hub.Subscribe({}, "", [&] { ++ready; });
  ASSERT_TRUE(w->needs_snapshot());
  EXPECT_EQ(hub.watcher_count(), 1u);
  EXPECT_FALSE(w->Next().has_value());

  w->PushSnapshot(Upd("a", 10));
  EXPECT_EQ(ready, 0) << "the newest snapshot item is held back, nothing readable yet";
  w->PushSnapshot(Upd("b", 11));
  EXPECT_EQ(ready, 1);
  // A live change during the snapshot waits behind it.
  const uint64_t live_seq = hub.Publish(Upd("a", 12));
  EXPECT_EQ(ready, 1);
  w->PushSnapshot(Upd("c", 13));

  std::optional<CapacityUpdate> u = w->Next();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->specialist(), "a");
  EXPECT_TRUE(u->snapshot());
  EXPECT_FALSE(u->snapshot_end());
  // Mid-snapshot items carry no token: resuming there would skip the rest.
  EXPECT_EQ(u->resume_token(), "");
  u = w->Next();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->specialist(), "b");
  EXPECT_FALSE(w->Next().has_value()) << "c is held back until EndSnapshot, live waits";
  EXPECT_EQ(w->pending(), 2u);  // c + the live change

  w->EndSnapshot();
  EXPECT_EQ(ready, 2);
  u = w->Next();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->specialist(), "c");
  EXPECT_TRUE(u->snapshot());
  EXPECT_TRUE(u->snapshot_end());
  EXPECT_EQ(u->resume_token(), subscribe_token);

  u = w->Next();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->specialist(), "a");
  EXPECT_DOUBLE_EQ(u->available_hours_per_week(), 12);
  EXPECT_FALSE(u->snapshot());
  EXPECT_FALSE(u->snapshot_end());
  EXPECT_EQ(u->coalesced(), 1);
  EXPECT_EQ(u->resume_token(), CapacityWatchHub::MakeToken(hub.epoch(), live_seq));
  EXPECT_FALSE(w->Next().has_value());

  // Live from now on; pushes after the end are ignored.
  w->PushSnapshot(Upd("late", 1));
  const uint64_t seq = hub.Publish(Upd("d", 5));
  EXPECT_EQ(ready, 3);
  u = w->Next();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->specialist(), "d");
  EXPECT_EQ(u->resume_token(), CapacityWatchHub::MakeToken(hub.epoch(), seq));
  EXPECT_FALSE(w->Next().has_value());
  EXPECT_EQ(w->updates_delivered(), 5u);
  EXPECT_EQ(w->changes_received(), 2u);
}

TEST(CapacityWatchTest, EmptySnapshotQueuesOnlyTheEndMarker) {
  CapacityWatchHub hub;
  hub.Publish(Upd("x", 1));
  auto w = hub.Subscribe({}, "", nullptr);
  ASSERT_TRUE(w->needs_snapshot());
  w->EndSnapshot();
  std::optional<CapacityUpdate> u = w->Next();
  ASSERT_TRUE(u.has_value());
  CapacityUpdate expected;
  expected.set_snapshot(true);
  expected.set_snapshot_end(true);
  expected.set_resume_token(CapacityWatchHub::MakeToken(hub.epoch(), 1));
  EXPECT_EQ(u->SerializeAsString(), expected.SerializeAsString()) << u->DebugString();
  EXPECT_FALSE(w->Next().has_value());
  w->EndSnapshot();  // idempotent
  EXPECT_FALSE(w->Next().has_value());
}

TEST(CapacityWatchTest, PublishClearsDeliveryFields) {
  CapacityWatchHub hub;
  auto w = hub.Subscribe({}, CapacityWatchHub::MakeToken(hub.epoch(), 0), nullptr);
  ASSERT_FALSE(w->needs_snapshot());
  CapacityUpdate u = Upd("a", 3);
  u.set_coalesced(7);
  u.set_snapshot(true);
  u.set_snapshot_end(true);
  u.set_resume_token("w1.0000000000000001.99");
  hub.Publish(u);
  std::optional<CapacityUpdate> got = w->Next();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->coalesced(), 1);
  EXPECT_FALSE(got->snapshot());
  EXPECT_FALSE(got->snapshot_end());
  EXPECT_EQ(got->resume_token(), CapacityWatchHub::MakeToken(hub.epoch(), 1));
}

// --- Filters ------------------------------------------------------------------

TEST(CapacityWatchTest, FiltersByAuthorityRoleAndVisibility) {
  CapacityWatchHub hub;
  const std::string now = CapacityWatchHub::MakeToken(hub.epoch(), 0);
  auto by_authority = hub.Subscribe({.authorities = {"E1", "E2"}}, now, nullptr);
  auto by_role = hub.Subscribe({.roles = {"EP"}}, now, nullptr);
  auto by_both = hub.Subscribe({.authorities = {"E2"}, .roles = {"EP", "OT"}}, now, nullptr);
  auto visible = hub.Subscribe(
      {.visible = [](const CapacityUpdate& u) { return u.specialist().find("secret") == std::string::npos; }}, now,
      nullptr);
  auto everything = hub.Subscribe({}, now, nullptr);

  hub.Publish(Upd("s1", 1, "E1", "SLT"));
  hub.Publish(Upd("s2", 1, "E2", "EP"));
  hub.Publish(Upd("s3", 1, "E3", "EP"));
  hub.Publish(Upd("secret-4", 1, "E2", "OT"));
  hub.Publish(Upd("s5", 1, "E3", "OT"));

  EXPECT_THAT(Specialists(Drain(*by_authority)), ElementsAre("s1", "s2", "secret-4"));
  EXPECT_THAT(Specialists(Drain(*by_role)), ElementsAre("s2", "s3"));
  EXPECT_THAT(Specialists(Drain(*by_both)), ElementsAre("s2", "secret-4"));
  EXPECT_THAT(Specialists(Drain(*visible)), ElementsAre("s1", "s2", "s3", "s5"));
  EXPECT_THAT(Specialists(Drain(*everything)), ElementsAre("s1", "s2", "s3", "secret-4", "s5"));

  // Snapshot items go through the filter too.
  auto snap = hub.Subscribe({.authorities = {"E1"}}, "", nullptr);
  ASSERT_TRUE(snap->needs_snapshot());
  snap->PushSnapshot(Upd("s1", 1, "E1"));
  snap->PushSnapshot(Upd("s3", 1, "E3"));
  snap->EndSnapshot();
  std::vector<CapacityUpdate> got = Drain(*snap);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].specialist(), "s1");
  EXPECT_TRUE(got[0].snapshot_end());

  WatchFilter f{.authorities = {"A"}, .roles = {"R"}};
  EXPECT_TRUE(f.Matches(Upd("x", 0, "A", "R")));
  EXPECT_FALSE(f.Matches(Upd("x", 0, "B", "R")));
  EXPECT_FALSE(f.Matches(Upd("x", 0, "A", "S")));
  EXPECT_TRUE(WatchFilter{}.Matches(Upd("x", 0, "any", "any")));
}

// --- Coalescing ----------------------------------------------------------------

TEST(CapacityWatchTest, CoalescesWithoutReader) {
  constexpr int kSpecialists = 50;
  constexpr int kChanges = 10000;
  CapacityWatchHub hub;
  auto w = hub.Subscribe({}, CapacityWatchHub::MakeToken(hub.epoch(), 0), nullptr);
  std::map<std::string, double> latest;
  for (int i = 0; i < kChanges; ++i) {
    const std::string s = absl::StrCat("s", i % kSpecialists);
    hub.Publish(Upd(s, i));
    latest[s] = i;
    ASSERT_LE(w->pending(), static_cast<size_t>(kSpecialists));
  }
  EXPECT_EQ(w->pending(), static_cast<size_t>(kSpecialists));
  EXPECT_EQ(w->changes_received(), static_cast<uint64_t>(kChanges));

  std::vector<CapacityUpdate> got = Drain(*w);
  ASSERT_EQ(got.size(), static_cast<size_t>(kSpecialists));
  int64_t folded = 0;
  for (int i = 0; i < kSpecialists; ++i) {
    const CapacityUpdate& u = got[i];
    EXPECT_EQ(u.specialist(), absl::StrCat("s", i)) << "order of first pending change";
    EXPECT_DOUBLE_EQ(u.available_hours_per_week(), latest[u.specialist()]);
    EXPECT_EQ(u.coalesced(), kChanges / kSpecialists);
    folded += u.coalesced();
  }
  EXPECT_EQ(folded, kChanges);
  EXPECT_EQ(w->pending(), 0u);
  EXPECT_EQ(w->updates_delivered(), static_cast<uint64_t>(kSpecialists));
  // The last update has nothing behind it: its token is the last change.
  EXPECT_EQ(TokenSequence(got.back().resume_token()), static_cast<uint64_t>(kChanges));
}

TEST(CapacityWatchTest, KeepsPlaceAndNeverSkipsAQueuedChangeInTokens) {
  CapacityWatchHub hub;
  auto w = hub.Subscribe({}, CapacityWatchHub::MakeToken(hub.epoch(), 0), nullptr);
  hub.Publish(Upd("a", 1));  // 1
  hub.Publish(Upd("b", 2));  // 2
  hub.Publish(Upd("a", 3));  // 3
  std::vector<CapacityUpdate> got = Drain(*w);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].specialist(), "a");
  EXPECT_DOUBLE_EQ(got[0].available_hours_per_week(), 3);
  EXPECT_EQ(got[0].coalesced(), 2);
  // b's change 2 is still queued: resuming from a's token must replay it.
  EXPECT_EQ(TokenSequence(got[0].resume_token()), 1u);
  EXPECT_EQ(got[1].specialist(), "b");
  // Nothing left behind b: everything received (up to 3) has been delivered.
  EXPECT_EQ(TokenSequence(got[1].resume_token()), 3u);

  // A client that disconnected after a's update resumes and gets b (and a again: harmless).
  auto resumed = hub.Subscribe({}, got[0].resume_token(), nullptr);
  ASSERT_FALSE(resumed->needs_snapshot());
  std::vector<CapacityUpdate> replay = Drain(*resumed);
  ASSERT_EQ(replay.size(), 2u);
  EXPECT_EQ(replay[0].specialist(), "b");
  EXPECT_EQ(replay[1].specialist(), "a");
  EXPECT_DOUBLE_EQ(replay[1].available_hours_per_week(), 3);
}

// --- Slow reader under concurrency ----------------------------------------------

TEST(CapacityWatchConcurrencyTest, SlowReaderGetsCoalescedLatestValues) {
  constexpr int kPublishers = 4;
  constexpr int kPerPublisher = 20000;
  constexpr int kSpecialists = 200;
  CapacityWatchHub hub;
  std::atomic<int> ready_calls{0};
  auto w = hub.Subscribe({}, "", [&] { ready_calls.fetch_add(1, std::memory_order_relaxed); });
  ASSERT_TRUE(w->needs_snapshot());
  for (int s = 0; s < kSpecialists; ++s) w->PushSnapshot(Upd(absl::StrCat("s", s), -1));
  w->EndSnapshot();

  // What each publisher published last per specialist, by sequence number.
  struct Last {
    uint64_t sequence = 0;
    double value = 0;
  };
  std::vector<std::vector<Last>> last(kPublishers, std::vector<Last>(kSpecialists));
  std::atomic<int> publishers_done{0};
  std::atomic<int> published_total{0};
  std::vector<std::thread> publishers;
  for (int t = 0; t < kPublishers; ++t) {
    publishers.emplace_back([&, t] {
      for (int i = 0; i < kPerPublisher; ++i) {
        const int s = (i * 7 + t * 13) % kSpecialists;
        const double value = t * 1000000.0 + i;
        const uint64_t seq = hub.Publish(Upd(absl::StrCat("s", s), value));
        last[t][s] = Last{seq, value};
        published_total.fetch_add(1);
      }
      publishers_done.fetch_add(1);
    });
  }

  std::map<std::string, double> seen;
  int snapshot_items = 0;
  int64_t folded = 0;
  // Queued snapshot items count in pending() too: the bound is the number of
  // specialists plus the snapshot items not yet read.
  size_t max_pending_over_bound = 0;
  size_t max_pending_after_snapshot = 0;
  uint64_t last_token = 0;
  bool tokens_monotonic = true;
  int live_updates = 0;
  std::thread reader([&] {
    int items = 0;
    while (true) {
      const size_t pending = w->pending();
      const size_t bound = kSpecialists + (kSpecialists - snapshot_items);
      if (pending > bound) max_pending_over_bound = std::max(max_pending_over_bound, pending);
      if (snapshot_items == kSpecialists) max_pending_after_snapshot = std::max(max_pending_after_snapshot, pending);
      std::optional<CapacityUpdate> u = w->Next();
      if (!u) {
        if (publishers_done.load() == kPublishers && w->pending() == 0) break;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      if (u->snapshot()) {
        ++snapshot_items;
        // Once the snapshot is read, fall behind on purpose until a quarter of
        // the changes are out, so coalescing is certain however threads run.
        if (u->snapshot_end()) {
          while (published_total.load() < kPublishers * kPerPublisher / 4) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          }
        }
      } else {
        ++live_updates;
        folded += u->coalesced();
      }
      if (!u->resume_token().empty()) {  // mid-snapshot items carry none
        const uint64_t token = TokenSequence(u->resume_token());
        if (token < last_token) tokens_monotonic = false;
        last_token = token;
      }
      seen[u->specialist()] = u->available_hours_per_week();
      if (++items % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));  // slow reader
    }
  });
  for (auto& t : publishers) t.join();
  reader.join();

  EXPECT_FALSE(w->overflowed());
  EXPECT_EQ(snapshot_items, kSpecialists);
  EXPECT_EQ(max_pending_over_bound, 0u);
  EXPECT_LE(max_pending_after_snapshot, static_cast<size_t>(kSpecialists));
  EXPECT_GT(max_pending_after_snapshot, 0u);
  EXPECT_TRUE(tokens_monotonic);
  EXPECT_EQ(w->changes_received(), static_cast<uint64_t>(kPublishers) * kPerPublisher);
  EXPECT_EQ(folded, static_cast<int64_t>(w->changes_received()));
  EXPECT_EQ(w->updates_delivered(), static_cast<uint64_t>(snapshot_items + live_updates));
  EXPECT_LT(live_updates, kPublishers * kPerPublisher) << "a slow reader must see coalescing";
  EXPECT_GE(ready_calls.load(), 1);
  EXPECT_EQ(last_token, hub.last_sequence());
  for (int s = 0; s < kSpecialists; ++s) {
    Last want;
    for (int t = 0; t < kPublishers; ++t) {
      if (last[t][s].sequence > want.sequence) want = last[t][s];
    }
    ASSERT_GT(want.sequence, 0u);
    EXPECT_DOUBLE_EQ(seen[absl::StrCat("s", s)], want.value) << "s" << s;
  }
}

// --- Resume -----------------------------------------------------------------------

TEST(CapacityWatchTest, ResumeFromMidRingReplaysOnlyLaterChanges) {
  CapacityWatchHub hub(CapacityWatchHub::Options{.history = 64});
  for (int i = 1; i <= 10; ++i) hub.Publish(Upd(absl::StrCat("s", i), i));
  int ready = 0;
  auto w = hub.Subscribe({}, CapacityWatchHub::MakeToken(hub.epoch(), 6), [&] { ++ready; });
  ASSERT_FALSE(w->needs_snapshot());
  EXPECT_EQ(w->pending(), 4u);
  EXPECT_EQ(ready, 0) << "Subscribe never calls on_ready";
  std::vector<CapacityUpdate> got = Drain(*w);
  EXPECT_THAT(Specialists(got), ElementsAre("s7", "s8", "s9", "s10"));
  for (const auto& u : got) {
    EXPECT_FALSE(u.snapshot());
    EXPECT_EQ(u.coalesced(), 1);
  }
  EXPECT_EQ(TokenSequence(got.back().resume_token()), 10u);

  // Replay coalesces too, and respects the filter.
  hub.Publish(Upd("s1", 100, "E1"));  // 11
  hub.Publish(Upd("s2", 100, "E2"));  // 12
  hub.Publish(Upd("s1", 101, "E1"));  // 13
  auto filtered = hub.Subscribe({.authorities = {"E1"}}, CapacityWatchHub::MakeToken(hub.epoch(), 10), nullptr);
  ASSERT_FALSE(filtered->needs_snapshot());
  got = Drain(*filtered);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].specialist(), "s1");
  EXPECT_DOUBLE_EQ(got[0].available_hours_per_week(), 101);
  EXPECT_EQ(got[0].coalesced(), 2);
  EXPECT_EQ(TokenSequence(got[0].resume_token()), 13u);

  // Up to date: nothing replayed, live follows.
  auto current = hub.Subscribe({}, CapacityWatchHub::MakeToken(hub.epoch(), hub.last_sequence()), nullptr);
  ASSERT_FALSE(current->needs_snapshot());
  EXPECT_EQ(current->pending(), 0u);
  hub.Publish(Upd("s3", 1));
  EXPECT_THAT(Specialists(Drain(*current)), ElementsAre("s3"));
}

TEST(CapacityWatchTest, UnusableTokensNeedASnapshot) {
  CapacityWatchHub hub(CapacityWatchHub::Options{.history = 8});
  for (int i = 1; i <= 20; ++i) hub.Publish(Upd("s", i));  // ring: 13..20
  const uint64_t epoch = hub.epoch();

  EXPECT_FALSE(hub.Subscribe({}, CapacityWatchHub::MakeToken(epoch, 12), nullptr)->needs_snapshot())
      << "13..20 are all in the ring";
  EXPECT_TRUE(hub.Subscribe({}, CapacityWatchHub::MakeToken(epoch, 11), nullptr)->needs_snapshot()) << "12 is gone";
  EXPECT_TRUE(hub.Subscribe({}, CapacityWatchHub::MakeToken(epoch, 0), nullptr)->needs_snapshot());
  EXPECT_TRUE(hub.Subscribe({}, CapacityWatchHub::MakeToken(epoch + 1, 19), nullptr)->needs_snapshot())
      << "other epoch";
  EXPECT_TRUE(hub.Subscribe({}, CapacityWatchHub::MakeToken(epoch, 21), nullptr)->needs_snapshot()) << "future";
  for (const std::string& bad : {std::string(), std::string("garbage"), std::string("w1.x.1"),
                                absl::StrCat("w2.", CapacityWatchHub::MakeToken(epoch, 19).substr(3))}) {
    EXPECT_TRUE(hub.Subscribe({}, bad, nullptr)->needs_snapshot()) << bad;
  }
  // The too-old watcher's snapshot token is the hub's sequence at Subscribe.
  auto w = hub.Subscribe({}, CapacityWatchHub::MakeToken(epoch, 3), nullptr);
  w->PushSnapshot(Upd("s", 20));
  w->EndSnapshot();
  std::optional<CapacityUpdate> u = w->Next();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->resume_token(), CapacityWatchHub::MakeToken(epoch, 20));

  // Another hub (another process run) does not accept this hub's tokens.
  CapacityWatchHub other(CapacityWatchHub::Options{.history = 8});
  for (int i = 1; i <= 20; ++i) other.Publish(Upd("s", i));
  EXPECT_TRUE(other.Subscribe({}, CapacityWatchHub::MakeToken(epoch, 15), nullptr)->needs_snapshot());

  // No history: only an up-to-date token is usable.
  CapacityWatchHub no_history(CapacityWatchHub::Options{.history = 0});
  no_history.Publish(Upd("s", 1));
  no_history.Publish(Upd("s", 2));
  EXPECT_FALSE(no_history.Subscribe({}, CapacityWatchHub::MakeToken(no_history.epoch(), 2), nullptr)->needs_snapshot());
  EXPECT_TRUE(no_history.Subscribe({}, CapacityWatchHub::MakeToken(no_history.epoch(), 1), nullptr)->needs_snapshot());
}

// --- Overflow ------------------------------------------------------------------------

TEST(CapacityWatchTest, OverflowBoundsPending) {
  CapacityWatchHub hub(CapacityWatchHub::Options{.history = 16, .max_pending_per_watcher = 3});
  int ready = 0;
  auto w = hub.Subscribe({}, CapacityWatchHub::MakeToken(hub.epoch(), 0), [&] { ++ready; });
  for (int i = 0; i < 100; ++i) hub.Publish(Upd(absl::StrCat("s", i % 3), i));  // 3 distinct: fine
  EXPECT_EQ(w->pending(), 3u);
  EXPECT_FALSE(w->overflowed());
  EXPECT_EQ(ready, 1);
  const uint64_t received = w->changes_received();
  EXPECT_EQ(received, 100u);

  hub.Publish(Upd("s3", 1));  // a fourth specialist
  EXPECT_TRUE(w->overflowed());
  EXPECT_EQ(w->pending(), 0u);
  EXPECT_FALSE(w->Next().has_value());
  EXPECT_TRUE(w->overflowed());
  hub.Publish(Upd("s0", 1));
  EXPECT_EQ(w->pending(), 0u);
  EXPECT_EQ(w->changes_received(), received);
  EXPECT_FALSE(w->Next().has_value());
  w->Cancel();
  EXPECT_EQ(hub.watcher_count(), 0u);
}

TEST(CapacityWatchTest, OverflowWakesAnIdleReader) {
  // While the snapshot is open live changes are not readable; an overflow
  // then is the reader's only news, so on_ready tells it.
  CapacityWatchHub hub(CapacityWatchHub::Options{.history = 16, .max_pending_per_watcher = 3});
  int ready = 0;
  auto w = hub.Subscribe({}, "", [&] { ++ready; });
  ASSERT_TRUE(w->needs_snapshot());
  hub.Publish(Upd("a", 1));
  hub.Publish(Upd("b", 1));
  hub.Publish(Upd("c", 1));
  EXPECT_EQ(ready, 0);
  hub.Publish(Upd("d", 1));
  EXPECT_TRUE(w->overflowed());
  EXPECT_EQ(ready, 1);
  w->PushSnapshot(Upd("x", 1));
  w->EndSnapshot();
  EXPECT_EQ(w->pending(), 0u);
  EXPECT_FALSE(w->Next().has_value());

  // A snapshot larger than the bound overflows too.
  auto big = hub.Subscribe({}, "", nullptr);
  for (int i = 0; i < 10; ++i) big->PushSnapshot(Upd(absl::StrCat("s", i), i));
  EXPECT_TRUE(big->overflowed());
  EXPECT_LE(big->pending(), 3u);
}

// --- on_ready ---------------------------------------------------------------------------

TEST(CapacityWatchTest, OnReadyOnEmptyToNonEmptyTransitions) {
  CapacityWatchHub hub;
  int ready = 0;
  auto w = hub.Subscribe({.roles = {"EP"}}, CapacityWatchHub::MakeToken(hub.epoch(), 0), [&] { ++ready; });
  hub.Publish(Upd("a", 1, "E", "SLT"));  // filtered out
  EXPECT_EQ(ready, 0);
  hub.Publish(Upd("a", 1, "E", "EP"));
  EXPECT_EQ(ready, 1);
  hub.Publish(Upd("b", 1, "E", "EP"));
  hub.Publish(Upd("a", 2, "E", "EP"));
  EXPECT_EQ(ready, 1) << "already non-empty";
  ASSERT_TRUE(w->Next().has_value());
  hub.Publish(Upd("c", 1, "E", "EP"));
  EXPECT_EQ(ready, 1) << "still non-empty";
  Drain(*w);
  EXPECT_EQ(w->pending(), 0u);
  hub.Publish(Upd("a", 3, "E", "EP"));
  EXPECT_EQ(ready, 2);
  Drain(*w);
  hub.Publish(Upd("a", 4, "E", "EP"));
  EXPECT_EQ(ready, 3);
}

TEST(CapacityWatchTest, OnReadyMayCancelItsOwnWatcher) {
  CapacityWatchHub hub;
  std::shared_ptr<Watcher> w;
  int ready = 0;
  w = hub.Subscribe({}, CapacityWatchHub::MakeToken(hub.epoch(), 0), [&] {
    ++ready;
    ASSERT_TRUE(w->Next().has_value());
    w->Cancel();  // must not deadlock waiting for itself
  });
  hub.Publish(Upd("a", 1));
  EXPECT_EQ(ready, 1);
  EXPECT_TRUE(w->cancelled());
  EXPECT_EQ(hub.watcher_count(), 0u);
  hub.Publish(Upd("a", 2));
  EXPECT_EQ(ready, 1);
  EXPECT_FALSE(w->Next().has_value());
}

TEST(CapacityWatchTest, WatcherOutlivesHub) {
  std::shared_ptr<Watcher> w;
  {
    CapacityWatchHub hub;
    w = hub.Subscribe({}, CapacityWatchHub::MakeToken(hub.epoch(), 0), nullptr);
    hub.Publish(Upd("a", 1));
  }
  std::optional<CapacityUpdate> u = w->Next();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->specialist(), "a");
  w->Cancel();
  w->Cancel();
  EXPECT_TRUE(w->cancelled());
}

// The directory's shape: a watcher of one hub republishes into another hub
// from its on_ready (nested notification on one thread).
TEST(CapacityWatchTest, RepublishesIntoAnotherHub) {
  CapacityWatchHub region;
  CapacityWatchHub directory;
  std::atomic<int> downstream_ready{0};
  auto downstream = directory.Subscribe({}, CapacityWatchHub::MakeToken(directory.epoch(), 0),
                                        [&] { downstream_ready.fetch_add(1); });
  std::shared_ptr<Watcher> upstream;
  upstream = region.Subscribe({}, CapacityWatchHub::MakeToken(region.epoch(), 0), [&] {
    while (std::optional<CapacityUpdate> u = upstream->Next()) directory.Publish(*std::move(u));
  });
  region.Publish(Upd("a", 1));
  region.Publish(Upd("b", 2));
  std::vector<CapacityUpdate> got = Drain(*downstream);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].resume_token(), CapacityWatchHub::MakeToken(directory.epoch(), 2));
  EXPECT_EQ(downstream_ready.load(), 1) << "b arrived while a was still pending downstream";
  EXPECT_EQ(got[0].specialist(), "a");
  EXPECT_EQ(got[1].specialist(), "b");
  EXPECT_EQ(got[0].coalesced(), 1);
  region.Publish(Upd("c", 3));
  EXPECT_EQ(downstream_ready.load(), 2);
  EXPECT_THAT(Specialists(Drain(*downstream)), ElementsAre("c"));
  upstream->Cancel();
}

// --- Unsubscribe under concurrent Publish ------------------------------------------------------

TEST(CapacityWatchConcurrencyTest, UnsubscribeDuringConcurrentPublish) {
  constexpr int kPublishers = 4;
  CapacityWatchHub hub(CapacityWatchHub::Options{.history = 256, .max_pending_per_watcher = 64});
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> published{0};
  std::vector<std::thread> publishers;
  for (int t = 0; t < kPublishers; ++t) {
    publishers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        hub.Publish(Upd(absl::StrCat("s", (i * 3 + t) % 50), i));
        published.fetch_add(1);
      }
    });
  }
  auto wait_for_more = [&](uint64_t n) {
    const uint64_t target = published.load() + n;
    while (published.load() < target) std::this_thread::yield();
  };

  // Watchers come and go while changes flow; each one's callback touches
  // state owned by this loop iteration, so a late callback would be a
  // use-after-free that TSan (and the counters) catch.
  for (int round = 0; round < 20; ++round) {
    struct State {
      std::atomic<int> ready{0};
      std::atomic<bool> unsubscribed{false};
      std::atomic<bool> late_callback{false};
    };
    auto state = std::make_unique<State>();
    State* raw = state.get();
    auto w = hub.Subscribe({}, round % 2 == 0 ? "" : CapacityWatchHub::MakeToken(hub.epoch(), hub.last_sequence()),
                           [raw] {
                             if (raw->unsubscribed.load()) raw->late_callback.store(true);
                             raw->ready.fetch_add(1);
                           });
    if (w->needs_snapshot()) w->EndSnapshot();
    wait_for_more(200);
    for (int i = 0; i < 10; ++i) w->Next();
    wait_for_more(200);
    if (round % 2 == 0) {
      hub.Unsubscribe(w.get());
    } else {
      w->Cancel();
    }
    raw->unsubscribed.store(true);
    const uint64_t received = w->changes_received();
    const int ready = raw->ready.load();
    wait_for_more(200);
    EXPECT_EQ(w->changes_received(), received) << "round " << round;
    EXPECT_EQ(w->pending(), 0u);
    EXPECT_FALSE(w->Next().has_value());
    EXPECT_EQ(raw->ready.load(), ready);
    EXPECT_FALSE(raw->late_callback.load());
    hub.Unsubscribe(w.get());  // idempotent
    w.reset();                 // the last reference goes while publishers run
    state.reset();
  }
  EXPECT_EQ(hub.watcher_count(), 0u);

  // Many readers at once, unsubscribing concurrently with publishing and with each other.
  std::vector<std::thread> readers;
  std::atomic<int> readers_failed{0};
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      for (int k = 0; k < 10; ++k) {
        auto w = hub.Subscribe({}, "", [] {});
        w->PushSnapshot(Upd("s1", 0));
        w->EndSnapshot();
        for (int i = 0; i < 50; ++i) {
          if (!w->Next().has_value()) std::this_thread::yield();
          if (w->pending() > 64) readers_failed.fetch_add(1);
        }
        w->Cancel();
        if (w->Next().has_value()) readers_failed.fetch_add(1);
      }
    });
  }
  for (auto& t : readers) t.join();
  stop.store(true);
  for (auto& t : publishers) t.join();
  EXPECT_EQ(readers_failed.load(), 0);
  EXPECT_EQ(hub.watcher_count(), 0u);
}

}  // namespace
}  // namespace expertise::watch
