// Races on a specialist's shared capacity (services/registry/registry_sharing.cc):
// several requesters accept offers of the same specialist at the same moment.
// Bounded and with a deterministic outcome: exactly one wins, the others get
// INSUFFICIENT_CAPACITY and stay OFFERED, and available hours never go
// below zero. Runs under ThreadSanitizer in CI (label "concurrency").

#include <atomic>
#include <functional>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/common/errors.h"
#include "services/registry/registry.h"
#include "services/sharing/lifecycle.h"
#include "tests/services/registry/registry_fixture.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/status_matchers.h"

namespace expertise::registry {
namespace {

using ::expertise::testing::ValidSpecialist;
using ::google::protobuf::util::MessageDifferencer;

constexpr int kThreads = 8;
constexpr int kRounds = 20;
constexpr char kDurham[] = "E06000047";
constexpr char kNewcastle[] = "E08000021";
constexpr char kSlt[] = "speech-language-therapist";

class SharingRaceTest : public RegistryTest {
 protected:
  // A Newcastle SLT with `available` hours free (contracted 30).
  v1::Specialist AddProvider(const std::string& external_id, double available) {
    v1::Specialist s = ValidSpecialist(external_id, kNewcastle);
    s.clear_base_location();
    s.clear_covered_authorities();
    s.set_role(kSlt);
    s.mutable_capacity()->set_contracted_hours_per_week(30);
    s.mutable_capacity()->set_committed_hours_per_week(30 - available);
    v1::CreateSpecialistRequest req;
    req.set_parent("regions/north-east");
    *req.mutable_specialist() = s;
    auto created = registry_->specialists().Create(req);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : v1::Specialist();
  }

  v1::SupportRequest CreateRequest(double hours) {
    v1::CreateSupportRequestRequest req;
    req.set_parent("regions/north-east");
    v1::SupportRequest* r = req.mutable_support_request();
    r->set_requesting_authority(kDurham);
    r->set_role(kSlt);
    r->set_setting("primary");
    r->set_hours_per_week(hours);
    r->set_weeks(4);
    auto created = registry_->support_requests().Create(req);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : v1::SupportRequest();
  }

  // Creates a commitment of `provider` for `request` and offers it; returns
  // the request as offered.
  v1::SupportRequest OfferHours(const v1::SupportRequest& request, const v1::Specialist& provider, double hours,
                                const std::string& request_id) {
    v1::CreateCapacityCommitmentRequest commit;
    commit.set_parent(provider.name());
    commit.set_request_id(request_id);
    v1::CapacityCommitment* c = commit.mutable_commitment();
    c->set_support_request(request.name());
    c->set_requesting_authority(request.requesting_authority());
    c->set_hours_per_week(hours);
    *c->mutable_start_date() = request.start_date();
    *c->mutable_end_date() = sharing::PeriodEnd(request.start_date(), request.weeks());
    auto commitment = registry_->commitments().Create(commit);
    EXPECT_TRUE(commitment.ok()) << commitment.status();
    v1::OfferSupportRequest offer;
    offer.set_name(request.name());
    offer.set_commitment(commitment.ok() ? commitment->name() : "");
    offer.mutable_offer()->set_specialist(provider.name());
    offer.mutable_offer()->set_provider_authority(provider.owning_authority());
    offer.mutable_offer()->set_hours_per_week(hours);
    auto offered = registry_->offers().Offer(offer);
    EXPECT_TRUE(offered.ok()) << offered.status();
    return offered.ok() ? *offered : v1::SupportRequest();
  }

  v1::SupportRequest Get(const std::string& name) {
    v1::GetSupportRequestRequest get;
    get.set_name(name);
    auto got = registry_->support_requests().Get(get);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : v1::SupportRequest();
  }

  v1::Specialist GetSpec(const std::string& name) {
    v1::GetSpecialistRequest get;
    get.set_name(name);
    auto got = registry_->specialists().Get(get);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : v1::Specialist();
  }

  // Runs `accept(i)` on kThreads threads released together.
  std::vector<absl::StatusOr<v1::SupportRequest>> AcceptTogether(
      const std::function<v1::AcceptOfferRequest(int)>& accept) {
    std::vector<absl::StatusOr<v1::SupportRequest>> results(kThreads, absl::UnknownError("not run"));
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        const v1::AcceptOfferRequest req = accept(i);
        start.arrive_and_wait();
        results[i] = registry_->offers().Accept(req);
      });
    }
    for (std::thread& t : threads) t.join();
    return results;
  }
};

struct RaceCase {
  double offer_hours;
  double hours_left;  // after the one acceptance
};

class OneWinnerTest : public SharingRaceTest, public ::testing::WithParamInterface<RaceCase> {};

TEST_P(OneWinnerTest, ExactlyOneAcceptanceWinsTheHours) {
  const RaceCase tc = GetParam();
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const v1::Specialist provider = AddProvider(absl::StrCat("p-", round), 10);
    ASSERT_DOUBLE_EQ(provider.capacity().available_hours_per_week(), 10);
    std::vector<v1::SupportRequest> offered;
    for (int i = 0; i < kThreads; ++i) {
      offered.push_back(OfferHours(CreateRequest(tc.offer_hours), provider, tc.offer_hours, absl::StrCat("c", i)));
      ASSERT_EQ(offered.back().state(), v1::SUPPORT_REQUEST_STATE_OFFERED);
    }

    const auto results = AcceptTogether([&](int i) {
      v1::AcceptOfferRequest req;
      req.set_name(offered[i].name());
      req.set_offer_id("o-1");
      req.set_request_id(absl::StrCat("accept-", round, "-", i));
      return req;
    });

    int winners = 0;
    for (int i = 0; i < kThreads; ++i) {
      SCOPED_TRACE(absl::StrCat("thread ", i));
      if (results[i].ok()) {
        ++winners;
        EXPECT_EQ(results[i]->state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
        EXPECT_EQ(Get(offered[i].name()).state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
      } else {
        EXPECT_EQ(results[i].status().code(), absl::StatusCode::kFailedPrecondition) << results[i].status();
        EXPECT_EQ(ErrorReason(results[i].status()), "INSUFFICIENT_CAPACITY") << results[i].status();
        EXPECT_TRUE(MessageDifferencer::Equals(Get(offered[i].name()), offered[i]))
            << "a refused acceptance leaves the request as it was";
      }
    }
    EXPECT_EQ(winners, 1);
    const v1::Specialist after = GetSpec(provider.name());
    EXPECT_DOUBLE_EQ(after.capacity().available_hours_per_week(), tc.hours_left);
    EXPECT_DOUBLE_EQ(after.capacity().shared_committed_hours_per_week(), tc.offer_hours);
    int committed = 0;
    for (const auto& c : after.commitments()) committed += c.state() == v1::CapacityCommitment::COMMITTED;
    EXPECT_EQ(committed, 1);
  }
  // Everything agrees after a restart.
  Reopen();
  v1::ListSpecialistsRequest list;
  list.set_parent("regions/north-east");
  list.set_page_size(1000);
  auto listed = registry_->specialists().List(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->specialists_size(), kRounds);
  for (const auto& s : listed->specialists()) {
    EXPECT_DOUBLE_EQ(s.capacity().available_hours_per_week(), tc.hours_left) << s.name();
    EXPECT_GE(s.capacity().available_hours_per_week(), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Hours, OneWinnerTest, ::testing::Values(RaceCase{10, 0}, RaceCase{6, 4}),
                         [](const auto& param_info) { return absl::StrCat("Offer", param_info.param.offer_hours, "h"); });

TEST_F(SharingRaceTest, RetriesOfOneAcceptanceAllSucceedAndTakeTheHoursOnce) {
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const v1::Specialist provider = AddProvider(absl::StrCat("p-", round), 10);
    const v1::SupportRequest offered = OfferHours(CreateRequest(6), provider, 6, "c");
    const auto results = AcceptTogether([&](int) {
      v1::AcceptOfferRequest req;
      req.set_name(offered.name());
      req.set_offer_id("o-1");
      req.set_request_id(absl::StrCat("accept-", round));
      return req;
    });
    const v1::SupportRequest stored = Get(offered.name());
    EXPECT_EQ(stored.state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
    for (int i = 0; i < kThreads; ++i) {
      ASSERT_TRUE(results[i].ok()) << "thread " << i << ": " << results[i].status();
      EXPECT_EQ(results[i]->state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
      EXPECT_EQ(results[i]->accepted_offer_id(), "o-1");
      EXPECT_EQ(results[i]->etag(), stored.etag()) << "thread " << i << " saw another revision";
    }
    const v1::Specialist after = GetSpec(provider.name());
    EXPECT_DOUBLE_EQ(after.capacity().available_hours_per_week(), 4);
    EXPECT_DOUBLE_EQ(after.capacity().shared_committed_hours_per_week(), 6);
    ASSERT_EQ(after.commitments_size(), 1);
    EXPECT_EQ(after.commitments(0).state(), v1::CapacityCommitment::COMMITTED);
  }
}

// Eight offers of eight different specialists for ONE request, accepted
// at once: exactly one acceptance may win, and only its commitment may hold
// hours; every other specialist keeps all its hours.
TEST_F(SharingRaceTest, CompetingOffersOfOneRequestCommitOnlyTheWinner) {
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const v1::SupportRequest request = CreateRequest(4);
    std::vector<v1::Specialist> providers;
    for (int i = 0; i < kThreads; ++i) {
      providers.push_back(AddProvider(absl::StrCat("p-", round, "-", i), 10));
      OfferHours(request, providers.back(), 4, "c");
    }
    ASSERT_EQ(Get(request.name()).offers_size(), kThreads);
    const auto results = AcceptTogether([&](int i) {
      v1::AcceptOfferRequest req;
      req.set_name(request.name());
      req.set_offer_id(absl::StrCat("o-", i + 1));
      req.set_request_id(absl::StrCat("accept-", round, "-", i));
      return req;
    });
    int winners = 0;
    for (int i = 0; i < kThreads; ++i) {
      if (results[i].ok()) {
        ++winners;
      } else {
        EXPECT_EQ(results[i].status().code(), absl::StatusCode::kFailedPrecondition) << results[i].status();
      }
    }
    EXPECT_EQ(winners, 1);
    const v1::SupportRequest stored = Get(request.name());
    EXPECT_EQ(stored.state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
    // Regression: AcceptOffer once checked the request without the write
    // lock and confirmed the commitment as a separate step, so every racing
    // acceptance committed its hours and the losers' stayed held. Now the
    // check, the commitment and the acceptance are one locked transaction.
    int holding = 0;
    std::vector<int> leaked;  // providers not accepted whose hours are held anyway
    for (int i = 0; i < kThreads; ++i) {
      const v1::Specialist p = GetSpec(providers[i].name());
      const bool chosen = stored.accepted_offer_id() == absl::StrCat("o-", i + 1);
      if (chosen) {
        EXPECT_DOUBLE_EQ(p.capacity().available_hours_per_week(), 6) << "the accepted provider";
      } else if (p.capacity().available_hours_per_week() != 10) {
        leaked.push_back(i);
      }
      for (const auto& c : p.commitments()) holding += c.state() == v1::CapacityCommitment::COMMITTED;
    }
    EXPECT_EQ(holding, 1) << "commitments holding hours for one accepted request";
    EXPECT_THAT(leaked, ::testing::IsEmpty()) << "providers whose offer was not accepted but lost 4 hours";
  }
}

}  // namespace
}  // namespace expertise::registry
