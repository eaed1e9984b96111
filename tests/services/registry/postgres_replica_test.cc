// Replicas: several registries of one region on one PostgreSQL database
// (a real throwaway cluster). Writes through either replica are checked
// against the latest data under the database's write lock, so etags lose
// no update and racing acceptances have one winner; the others catch up.
// Faults go through a TCP proxy that drops connections, also in the middle
// of a COMMIT, to show retries are safe.

#include <atomic>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "services/common/errors.h"
#include "services/observability/metrics.h"
#include "services/registry/postgres_store.h"
#include "services/registry/registry.h"
#include "services/sharing/lifecycle.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/postgres_cluster.h"
#include "tests/services/registry/store_test_util.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/tcp_fault_proxy.h"

namespace expertise::registry {
namespace {

using ::expertise::testing::FakeClock;
using ::expertise::testing::IsOk;
using ::expertise::testing::IsOkAndHolds;
using ::expertise::testing::SharedPostgresCluster;
using ::expertise::testing::StatusIs;
using ::expertise::testing::TcpFaultProxy;
using ::expertise::testing::ValidSpecialist;

constexpr char kDurham[] = "E06000047";
constexpr char kNewcastle[] = "E08000021";
constexpr char kSlt[] = "speech-language-therapist";
constexpr int kThreads = 8;

// libpq sends COMMIT as a simple query: 'Q', length 11, "COMMIT\0".
const std::string kCommitMessage("Q\0\0\0\x0b" "COMMIT\0", 12);

// The value of one sample in the process's metrics exposition, or -1.
double MetricValue(const std::string& sample) {
  const std::string text = observability::DefaultMetrics().Render();
  const size_t at = text.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + sample.size() + 2));
}

std::string NewDatabase() {
  static std::atomic<int> counter{0};
  auto url = SharedPostgresCluster().CreateDatabase(absl::StrCat("replica_", getpid(), "_", counter++));
  EXPECT_TRUE(url.ok()) << url.status();
  return url.ok() ? *url : "";
}

// The URL of the same database through a proxy on `port`.
std::string ThroughPort(const std::string& url, int port) {
  const size_t colon = url.find(':', url.find('@'));
  const size_t slash = url.find('/', colon);
  return absl::StrCat(url.substr(0, colon + 1), port, url.substr(slash));
}

std::unique_ptr<PostgresStore> OpenStore(const std::string& url) {
  PostgresStoreOptions options;
  options.url = url;
  auto store = PostgresStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}


class ReplicaTest : public ::testing::Test {
 protected:
  ReplicaTest()
      : clock_(absl::FromCivil(absl::CivilSecond(2026, 11, 2, 10, 0, 0), absl::UTCTimeZone())) {}

  void SetUp() override {
    url_ = NewDatabase();
    ASSERT_FALSE(url_.empty());
    a_ = OpenReplica("a");
    b_ = OpenReplica("b");
    ASSERT_TRUE(a_ && b_);
  }

  std::unique_ptr<Registry> OpenReplica(const std::string& tag) {
    std::unique_ptr<PostgresStore> store = OpenStore(url_);
    if (!store) return nullptr;
    RegistryOptions options;
    options.region = "north-east";
    options.clock = &clock_;
    auto registry = Registry::Open(options, std::move(store));
    EXPECT_TRUE(registry.ok()) << registry.status();
    return registry.ok() ? *std::move(registry) : nullptr;
  }

  Registry& Replica(int i) { return i % 2 == 0 ? *a_ : *b_; }

  v1::Specialist AddProvider(Registry& on, const std::string& external_id, double available) {
    v1::Specialist s = ValidSpecialist(external_id, kNewcastle);
    s.clear_base_location();
    s.clear_covered_authorities();
    s.set_role(kSlt);
    s.mutable_capacity()->set_contracted_hours_per_week(30);
    s.mutable_capacity()->set_committed_hours_per_week(30 - available);
    v1::CreateSpecialistRequest req;
    req.set_parent("regions/north-east");
    *req.mutable_specialist() = s;
    auto created = on.specialists().Create(req);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : v1::Specialist();
  }

  absl::StatusOr<v1::Specialist> Get(Registry& on, const std::string& name) {
    v1::GetSpecialistRequest get;
    get.set_name(name);
    return on.specialists().Get(get);
  }

  FakeClock clock_;
  std::string url_;
  std::unique_ptr<Registry> a_, b_;
};

TEST_F(ReplicaTest, WritesThroughOneReplicaReachTheOther) {
  const double commits_before =
      MetricValue("expertise_store_commit_seconds_count{store=\"postgres\"}");
  const v1::Specialist created = AddProvider(*a_, "p-1", 10);
  EXPECT_THAT(Get(*b_, created.name()), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(b_->Refresh(), IsOk());
  ASSERT_OK_AND_ASSIGN(v1::Specialist seen, Get(*b_, created.name()));
  EXPECT_EQ(seen.etag(), created.etag());
  EXPECT_EQ(b_->applied_revision(), a_->applied_revision());
  // Commits are timed for the metrics.
  EXPECT_GT(MetricValue("expertise_store_commit_seconds_count{store=\"postgres\"}"),
            commits_before);

  // A write on B catches B up first, and A sees it after its refresh.
  v1::UpdateCapacityRequest update;
  update.set_name(created.name());
  update.set_etag(created.etag());
  update.mutable_capacity()->set_contracted_hours_per_week(30);
  update.mutable_capacity()->set_committed_hours_per_week(25);
  update.mutable_update_mask()->add_paths("committed_hours_per_week");
  ASSERT_OK_AND_ASSIGN(v1::Specialist updated, b_->specialists().UpdateCapacity(update));
  // A still shows the old etag, yet its write catches up first and refuses
  // the now stale one.
  ASSERT_OK_AND_ASSIGN(seen, Get(*a_, created.name()));
  EXPECT_EQ(seen.etag(), created.etag());
  EXPECT_THAT(a_->specialists().UpdateCapacity(update), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(seen, Get(*a_, created.name()));
  EXPECT_DOUBLE_EQ(seen.capacity().available_hours_per_week(), 5);
  EXPECT_EQ(seen.etag(), updated.etag());
  ASSERT_THAT(a_->Refresh(), IsOk());

  // Deletion reaches the other replica too.
  v1::DeleteSpecialistRequest del;
  del.set_name(created.name());
  ASSERT_THAT(a_->specialists().Delete(del), IsOk());
  ASSERT_THAT(b_->Refresh(), IsOk());
  EXPECT_THAT(Get(*b_, created.name()), StatusIs(absl::StatusCode::kNotFound));

  // A third replica started now loads everything.
  std::unique_ptr<Registry> c = OpenReplica("c");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->size(), 0u);
  EXPECT_EQ(c->applied_revision(), a_->applied_revision());
}

TEST_F(ReplicaTest, ConcurrentEtagUpdatesThroughBothReplicasLoseNothing) {
  v1::Specialist s = AddProvider(*a_, "p-1", 30);  // committed 0 of 30
  ASSERT_THAT(b_->Refresh(), IsOk());
  constexpr int kIncrementsPerThread = 3;
  std::atomic<int> conflicts{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Registry& on = Replica(t);
      start.arrive_and_wait();
      for (int done = 0; done < kIncrementsPerThread;) {
        // Read (after picking up the other replica's writes), then write
        // with the etag read: a conflict means read again.
        ASSERT_THAT(on.Refresh(), IsOk());
        absl::StatusOr<v1::Specialist> current = Get(on, s.name());
        ASSERT_TRUE(current.ok()) << current.status();
        v1::UpdateCapacityRequest update;
        update.set_name(s.name());
        update.set_etag(current->etag());
        update.mutable_capacity()->set_committed_hours_per_week(
            current->capacity().committed_hours_per_week() + 1);
        update.mutable_update_mask()->add_paths("committed_hours_per_week");
        absl::StatusOr<v1::Specialist> written = on.specialists().UpdateCapacity(update);
        if (written.ok()) {
          ++done;
        } else {
          ASSERT_EQ(ErrorReason(written.status()), "ETAG_MISMATCH") << written.status();
          ++conflicts;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int r = 0; r < 2; ++r) {
    ASSERT_THAT(Replica(r).Refresh(), IsOk());
    ASSERT_OK_AND_ASSIGN(v1::Specialist final_record, Get(Replica(r), s.name()));
    // Every acknowledged increment is there: no update was lost.
    EXPECT_DOUBLE_EQ(final_record.capacity().committed_hours_per_week(),
                     kThreads * kIncrementsPerThread);
  }
  RecordProperty("etag_conflicts", conflicts.load());
}

TEST_F(ReplicaTest, AcceptancesRacingThroughBothReplicasHaveOneWinner) {
  const v1::Specialist provider = AddProvider(*a_, "p-1", 10);
  std::vector<v1::SupportRequest> offered;
  for (int i = 0; i < kThreads; ++i) {
    v1::CreateSupportRequestRequest create;
    create.set_parent("regions/north-east");
    v1::SupportRequest* r = create.mutable_support_request();
    r->set_requesting_authority(kDurham);
    r->set_role(kSlt);
    r->set_setting("primary");
    r->set_hours_per_week(10);
    r->set_weeks(4);
    ASSERT_OK_AND_ASSIGN(v1::SupportRequest request, Replica(i).support_requests().Create(create));
    v1::CreateCapacityCommitmentRequest commit;
    commit.set_parent(provider.name());
    commit.set_request_id(absl::StrCat("c", i));
    v1::CapacityCommitment* c = commit.mutable_commitment();
    c->set_support_request(request.name());
    c->set_requesting_authority(kDurham);
    c->set_hours_per_week(10);
    *c->mutable_start_date() = request.start_date();
    *c->mutable_end_date() = sharing::PeriodEnd(request.start_date(), request.weeks());
    ASSERT_OK_AND_ASSIGN(v1::CapacityCommitment commitment,
                         Replica(i + 1).commitments().Create(commit));
    v1::OfferSupportRequest offer;
    offer.set_name(request.name());
    offer.set_commitment(commitment.name());
    offer.mutable_offer()->set_specialist(provider.name());
    offer.mutable_offer()->set_provider_authority(kNewcastle);
    offer.mutable_offer()->set_hours_per_week(10);
    ASSERT_OK_AND_ASSIGN(v1::SupportRequest request_offered, Replica(i).offers().Offer(offer));
    offered.push_back(request_offered);
  }

  std::vector<absl::StatusOr<v1::SupportRequest>> results(kThreads, absl::UnknownError("not run"));
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      v1::AcceptOfferRequest accept;
      accept.set_name(offered[i].name());
      accept.set_offer_id("o-1");
      accept.set_request_id(absl::StrCat("accept-", i));
      start.arrive_and_wait();
      results[i] = Replica(i).offers().Accept(accept);
    });
  }
  for (std::thread& t : threads) t.join();
  int winners = 0;
  for (int i = 0; i < kThreads; ++i) {
    if (results[i].ok()) {
      ++winners;
    } else {
      EXPECT_EQ(ErrorReason(results[i].status()), "INSUFFICIENT_CAPACITY") << results[i].status();
    }
  }
  EXPECT_EQ(winners, 1);
  for (int r = 0; r < 2; ++r) {
    ASSERT_THAT(Replica(r).Refresh(), IsOk());
    ASSERT_OK_AND_ASSIGN(v1::Specialist after, Get(Replica(r), provider.name()));
    EXPECT_DOUBLE_EQ(after.capacity().available_hours_per_week(), 0);
    EXPECT_DOUBLE_EQ(after.capacity().shared_committed_hours_per_week(), 10);
  }
}

TEST_F(ReplicaTest, AReplicaWhoseConnectionsWereKilledCarriesOn) {
  const v1::Specialist first = AddProvider(*a_, "p-1", 10);
  ASSERT_OK_AND_ASSIGN(std::string killed,
                       SharedPostgresCluster().Psql(
                           "postgres",
                           "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE application_name = 'expertise-registry'"));
  EXPECT_NE(killed, "0\n");
  // The next write and the next refresh reconnect by themselves.
  const v1::Specialist second = AddProvider(*a_, "p-2", 10);
  EXPECT_FALSE(second.name().empty());
  ASSERT_THAT(b_->Refresh(), IsOk());
  EXPECT_THAT(Get(*b_, first.name()), IsOk());
  EXPECT_THAT(Get(*b_, second.name()), IsOk());
}

TEST_F(ReplicaTest, ADatabaseThatWentBackIsRefusedUntilRestart) {
  AddProvider(*a_, "p-1", 10);
  AddProvider(*a_, "p-2", 10);
  ASSERT_THAT(b_->Refresh(), IsOk());
  // As after restoring an older backup under running replicas.
  const std::string db = url_.substr(url_.rfind('/') + 1, url_.find('?') - url_.rfind('/') - 1);
  ASSERT_THAT(SharedPostgresCluster().Psql(db, "UPDATE store_state SET revision = 1"), IsOk());
  const absl::Status refreshed = b_->Refresh();
  EXPECT_THAT(refreshed, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ErrorReason(refreshed), "STORE_WENT_BACK");
  v1::CreateSpecialistRequest create;
  create.set_parent("regions/north-east");
  *create.mutable_specialist() = ValidSpecialist("p-3", kNewcastle);
  EXPECT_THAT(b_->specialists().Create(create), StatusIs(absl::StatusCode::kFailedPrecondition));
  // A restarted replica loads what the database holds.
  std::unique_ptr<Registry> restarted = OpenReplica("b2");
  ASSERT_TRUE(restarted);
  EXPECT_EQ(restarted->applied_revision(), 1);
}

// Store-level faults, through the proxy.
class PostgresFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = NewDatabase();
    ASSERT_FALSE(url_.empty());
    auto proxy = TcpFaultProxy::Start(SharedPostgresCluster().port());
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = *std::move(proxy);
    store_ = OpenStore(ThroughPort(url_, proxy_->port()));
    direct_ = OpenStore(url_);
    ASSERT_TRUE(store_ && direct_);
  }

  std::vector<std::string> StoredIds() {
    std::vector<std::string> ids;
    EXPECT_THAT(direct_->LoadAll([&](v1::Specialist s) {
      ids.push_back(SpecialistIdFromName(s.name()));
      return absl::OkStatus();
    }),
                IsOk());
    return ids;
  }

  std::string url_;
  std::unique_ptr<TcpFaultProxy> proxy_;
  std::unique_ptr<PostgresStore> store_;   // through the proxy
  std::unique_ptr<PostgresStore> direct_;  // for checking
};

TEST_F(PostgresFaultTest, AConnectionLostDuringCommitIsLookedUpNotAppliedTwice) {
  v1::Specialist a = StoredSpecialist("s-aaaa", "1");
  const double in_doubt_before =
      MetricValue("expertise_store_in_doubt_commits_total{store=\"postgres\"}");
  // COMMIT reaches the server; its answer never comes back.
  proxy_->ArmCut(kCommitMessage, TcpFaultProxy::CutMode::kForwardThenCut);
  EXPECT_THAT(store_->Commit(WriteBatch{{&a}, {}}), IsOkAndHolds(1));
  EXPECT_EQ(proxy_->cuts(), 1);
  EXPECT_EQ(store_->in_doubt_commits(), 1);
  EXPECT_EQ(MetricValue("expertise_store_in_doubt_commits_total{store=\"postgres\"}"),
            std::max(in_doubt_before, 0.0) + 1);
  EXPECT_THAT(StoredIds(), ::testing::ElementsAre("s-aaaa"));
  EXPECT_THAT(direct_->CurrentRevision(), IsOkAndHolds(1));
}

TEST_F(PostgresFaultTest, ASlowCommitWhoseAnswerWasLostIsFoundNotRepeated) {
  // COMMIT takes a second on the server (a deferred trigger), so when the
  // connection is lost the commit is still under way: a lookup that did not
  // wait for it would miss it and retry a write that is about to exist.
  const std::string db = url_.substr(url_.rfind('/') + 1, url_.find('?') - url_.rfind('/') - 1);
  ASSERT_THAT(SharedPostgresCluster().Psql(db, R"sql(
      CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
      CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON commits
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();)sql"),
              IsOk());
  v1::Specialist a = StoredSpecialist("s-aaaa", "1");
  proxy_->ArmCut(kCommitMessage, TcpFaultProxy::CutMode::kForwardThenCut);
  EXPECT_THAT(store_->Commit(WriteBatch{{&a}, {}}), IsOkAndHolds(1));
  EXPECT_EQ(store_->in_doubt_commits(), 1);
  EXPECT_THAT(StoredIds(), ::testing::ElementsAre("s-aaaa"));
  EXPECT_THAT(direct_->CurrentRevision(), IsOkAndHolds(1));
}

TEST_F(PostgresFaultTest, ACommitThatNeverArrivedIsRetried) {
  v1::Specialist a = StoredSpecialist("s-aaaa", "1");
  // The connection drops before COMMIT reaches the server: rolled back there.
  proxy_->ArmCut(kCommitMessage, TcpFaultProxy::CutMode::kDropAndCut);
  EXPECT_THAT(store_->Commit(WriteBatch{{&a}, {}}), IsOkAndHolds(1));
  EXPECT_EQ(proxy_->cuts(), 1);
  EXPECT_GE(store_->retried_commits(), 1);
  EXPECT_THAT(StoredIds(), ::testing::ElementsAre("s-aaaa"));
  EXPECT_THAT(direct_->CurrentRevision(), IsOkAndHolds(1));
}

TEST_F(PostgresFaultTest, ARetryIsRefusedWhenSomeoneElseWroteMeanwhile) {
  v1::Specialist mine = StoredSpecialist("s-aaaa", "1"), theirs = StoredSpecialist("s-bbbb", "2");
  ASSERT_THAT(store_->BeginWrite(), IsOkAndHolds(0));
  // The connection is lost while the write is open; the server rolls it
  // back, releasing the lock, and another writer commits.
  proxy_->CutAll();
  ASSERT_THAT(direct_->Commit(WriteBatch{{&theirs}, {}}), IsOkAndHolds(1));
  // The decision behind `mine` was made at revision 0: not applied.
  EXPECT_THAT(store_->Commit(WriteBatch{{&mine}, {}}), StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(StoredIds(), ::testing::ElementsAre("s-bbbb"));
  // The store is usable afterwards.
  EXPECT_THAT(store_->Commit(WriteBatch{{&mine}, {}}), IsOkAndHolds(2));
}

TEST_F(PostgresFaultTest, AnIdleConnectionDroppedIsReplaced) {
  ASSERT_THAT(store_->CurrentRevision(), IsOk());
  proxy_->CutAll();
  EXPECT_THAT(store_->CurrentRevision(), IsOkAndHolds(0));
  proxy_->CutAll();
  v1::Specialist a = StoredSpecialist("s-aaaa", "1");
  EXPECT_THAT(store_->Commit(WriteBatch{{&a}, {}}), IsOkAndHolds(1));
}

TEST_F(PostgresFaultTest, WritersOfTwoStoresTakeTurns) {
  ASSERT_THAT(direct_->BeginWrite(), IsOkAndHolds(0));
  absl::Notification second_began;
  std::atomic<int64_t> second_revision{-1};
  std::thread second([&] {
    absl::StatusOr<int64_t> revision = store_->BeginWrite();  // waits for the first
    second_revision = revision.ok() ? *revision : -2;
    second_began.Notify();
  });
  // Bounded wait, not a timing assertion: the second writer must not get in
  // while the first holds the lock.
  EXPECT_FALSE(second_began.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  v1::Specialist a = StoredSpecialist("s-aaaa", "1");
  ASSERT_THAT(direct_->Commit(WriteBatch{{&a}, {}}), IsOkAndHolds(1));
  second.join();
  EXPECT_EQ(second_revision.load(), 1);  // it saw the first writer's commit
  store_->AbortWrite();
}

}  // namespace
}  // namespace expertise::registry
