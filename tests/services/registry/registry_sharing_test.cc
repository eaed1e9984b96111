// Capacity sharing through the Registry (services/registry/registry_sharing.cc):
// the support request lifecycle end to end, capacity commitments, access,
// validation, suggestions, the unmet-need and equity reports and the
// capacity watch. A North East registry on a real SQLite file with a fake
// clock at 2026-11-02 10:00 UTC (see registry_fixture.h).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
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

using ::expertise::testing::BadFields;
using ::expertise::testing::IsOk;
using ::expertise::testing::StatusIs;
using ::expertise::testing::ValidSpecialist;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

constexpr char kDurham[] = "E06000047";
constexpr char kNewcastle[] = "E08000021";
constexpr char kHartlepool[] = "E06000001";
constexpr char kSlt[] = "speech-language-therapist";
constexpr char kOt[] = "occupational-therapist";

google::type::Date Date(int y, int m, int d) {
  google::type::Date out;
  out.set_year(y);
  out.set_month(m);
  out.set_day(d);
  return out;
}

absl::Time At(int y, int m, int d, int hh = 10, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

// Allows writes for exactly the given authorities.
CallAccess Only(std::vector<std::string> authorities, bool forwarded = false) {
  CallAccess access;
  access.may_write = [authorities](absl::string_view a) -> absl::Status {
    for (const std::string& allowed : authorities) {
      if (a == allowed) return absl::OkStatus();
    }
    return absl::PermissionDeniedError(absl::StrCat("may not act for ", a));
  };
  access.forwarded = forwarded;
  return access;
}

// A specialist located at its authority's centre (no explicit base).
v1::Specialist Spec(const std::string& external_id, const std::string& authority, const std::string& role,
                    double contracted, double committed, std::vector<std::string> settings = {"primary"},
                    bool accepting_external = true) {
  v1::Specialist s = ValidSpecialist(external_id, authority);
  s.clear_base_location();
  s.clear_covered_authorities();
  s.set_role(role);
  s.clear_specialisms();
  s.clear_settings();
  for (const std::string& setting : settings) s.add_settings(setting);
  s.mutable_capacity()->set_contracted_hours_per_week(contracted);
  s.mutable_capacity()->set_committed_hours_per_week(committed);
  s.mutable_capacity()->set_accepting_external_requests(accepting_external);
  return s;
}

v1::SupportRequest Need(const std::string& authority = kDurham, const std::string& role = kSlt,
                        double hours = 4, int weeks = 2) {
  v1::SupportRequest r;
  r.set_requesting_authority(authority);
  r.set_role(role);
  r.set_setting("primary");
  r.set_age_band(v1::AGE_BAND_PRIMARY);
  r.set_hours_per_week(hours);
  r.set_weeks(weeks);
  r.set_urgency(v1::URGENCY_ROUTINE);
  r.set_note("DLD support in a mainstream primary");
  return r;
}

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return MessageDifferencer::Equals(a, b);
}

class SharingTest : public RegistryTest {
 protected:
  v1::Specialist AddSpecialist(const v1::Specialist& s) {
    v1::CreateSpecialistRequest req;
    req.set_parent("regions/north-east");
    *req.mutable_specialist() = s;
    auto created = registry_->specialists().Create(req);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : v1::Specialist();
  }

  v1::Specialist GetSpec(const std::string& name) {
    v1::GetSpecialistRequest get;
    get.set_name(name);
    auto got = registry_->specialists().Get(get);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : v1::Specialist();
  }

  double Available(const std::string& name) { return GetSpec(name).capacity().available_hours_per_week(); }

  std::optional<v1::CapacityCommitment> FindCommitment(const std::string& name) {
    const std::string specialist = name.substr(0, name.find("/commitments/"));
    const v1::Specialist record = GetSpec(specialist);
    for (const auto& c : record.commitments()) {
      if (c.name() == name) return c;
    }
    return std::nullopt;
  }

  absl::StatusOr<v1::SupportRequest> Create(const v1::SupportRequest& r, const std::string& request_id = "",
                                            const CallAccess& access = {}) {
    v1::CreateSupportRequestRequest req;
    req.set_parent("regions/north-east");
    *req.mutable_support_request() = r;
    req.set_request_id(request_id);
    return registry_->support_requests().Create(req, access);
  }

  v1::SupportRequest MustCreate(const v1::SupportRequest& r) {
    auto created = Create(r);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : v1::SupportRequest();
  }

  v1::SupportRequest Get(const std::string& name) {
    v1::GetSupportRequestRequest get;
    get.set_name(name);
    auto got = registry_->support_requests().Get(get);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : v1::SupportRequest();
  }

  absl::StatusOr<v1::CapacityCommitment> Commit(const v1::Specialist& specialist, const v1::SupportRequest& request,
                                                double hours, const std::string& request_id = "",
                                                const CallAccess& access = {}) {
    v1::CreateCapacityCommitmentRequest req;
    req.set_parent(specialist.name());
    req.set_request_id(request_id);
    v1::CapacityCommitment* c = req.mutable_commitment();
    c->set_support_request(request.name());
    c->set_requesting_authority(request.requesting_authority());
    c->set_hours_per_week(hours);
    *c->mutable_start_date() = request.start_date();
    *c->mutable_end_date() = sharing::PeriodEnd(request.start_date(), request.weeks());
    return registry_->commitments().Create(req, access);
  }

  v1::CapacityCommitment MustCommit(const v1::Specialist& specialist, const v1::SupportRequest& request,
                                    double hours, const std::string& request_id = "") {
    auto c = Commit(specialist, request, hours, request_id);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : v1::CapacityCommitment();
  }

  absl::StatusOr<v1::SupportRequest> Offer(const std::string& request, const v1::Specialist& specialist,
                                           const std::string& commitment, double hours = 0,
                                           const CallAccess& access = {}) {
    v1::OfferSupportRequest req;
    req.set_name(request);
    req.set_commitment(commitment);
    req.mutable_offer()->set_specialist(specialist.name());
    req.mutable_offer()->set_provider_authority(specialist.owning_authority());
    req.mutable_offer()->set_hours_per_week(hours);
    req.mutable_offer()->set_note("can start at once");
    return registry_->offers().Offer(req, access);
  }

  // Creates a commitment of `specialist` for `request` and offers it.
  v1::SupportRequest MustOffer(const v1::SupportRequest& request, const v1::Specialist& specialist, double hours) {
    v1::CapacityCommitment c = MustCommit(specialist, request, hours);
    auto offered = Offer(request.name(), specialist, c.name(), hours);
    EXPECT_TRUE(offered.ok()) << offered.status();
    return offered.ok() ? *offered : v1::SupportRequest();
  }

  absl::StatusOr<v1::SupportRequest> Accept(const std::string& name, const std::string& offer_id,
                                            const std::string& request_id = "accept-1",
                                            const CallAccess& access = {}) {
    v1::AcceptOfferRequest req;
    req.set_name(name);
    req.set_offer_id(offer_id);
    req.set_request_id(request_id);
    return registry_->offers().Accept(req, access);
  }
  absl::StatusOr<v1::SupportRequest> Decline(const std::string& name, const std::string& reason = "",
                                             const CallAccess& access = {}) {
    v1::DeclineOffersRequest req;
    req.set_name(name);
    req.set_reason(reason);
    return registry_->offers().Decline(req, access);
  }
  absl::StatusOr<v1::SupportRequest> Withdraw(const std::string& name, const std::string& reason = "",
                                              const CallAccess& access = {}) {
    v1::WithdrawSupportRequestRequest req;
    req.set_name(name);
    req.set_reason(reason);
    return registry_->offers().Withdraw(req, access);
  }
  absl::StatusOr<v1::SupportRequest> Complete(const std::string& name, const CallAccess& access = {}) {
    v1::CompleteSupportRequestRequest req;
    req.set_name(name);
    return registry_->offers().Complete(req, access);
  }
  absl::StatusOr<v1::SupportRequest> Escalate(const std::string& name,
                                              const std::string& reason = "no SLT free this term",
                                              const CallAccess& access = {}) {
    v1::EscalateSupportRequestRequest req;
    req.set_name(name);
    req.set_reason(reason);
    return registry_->offers().Escalate(req, access);
  }
  absl::StatusOr<v1::CapacityCommitment> Confirm(const std::string& name, const std::string& request_id,
                                                 const CallAccess& access = {}) {
    v1::ConfirmCapacityCommitmentRequest req;
    req.set_name(name);
    req.set_request_id(request_id);
    return registry_->commitments().Confirm(req, access);
  }
  absl::StatusOr<v1::CapacityCommitment> Release(const std::string& name, bool completed = false,
                                                 const CallAccess& access = {}) {
    v1::ReleaseCapacityCommitmentRequest req;
    req.set_name(name);
    req.set_completed(completed);
    return registry_->commitments().Release(req, access);
  }

  int SweepNow() {
    auto changed = registry_->Sweep();
    EXPECT_TRUE(changed.ok()) << changed.status();
    return changed.ok() ? *changed : -1;
  }

  std::vector<v1::SupportRequest> ListAll() {
    v1::ListSupportRequestsRequest req;
    req.set_parent("regions/north-east");
    req.set_page_size(1000);
    auto listed = registry_->support_requests().List(req);
    EXPECT_TRUE(listed.ok()) << listed.status();
    if (!listed.ok()) return {};
    return {listed->support_requests().begin(), listed->support_requests().end()};
  }
};

void ExpectIllegal(const absl::Status& status) {
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ErrorReason(status), "ILLEGAL_TRANSITION") << status;
}

// ---------------------------------------------------------------------------
// Lifecycle paths

TEST_F(SharingTest, OpenOfferedAcceptedActiveCompleted) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));
  ASSERT_DOUBLE_EQ(provider.capacity().available_hours_per_week(), 10);
  v1::SupportRequest need = Need();
  *need.mutable_start_date() = Date(2026, 11, 9);
  const v1::SupportRequest created = MustCreate(need);
  EXPECT_EQ(created.name().rfind("regions/north-east/supportRequests/r-", 0), 0u) << created.name();
  EXPECT_EQ(created.state(), v1::SUPPORT_REQUEST_STATE_OPEN);
  EXPECT_EQ(created.effective_location_authority(), kDurham);
  EXPECT_EQ(created.region_code(), "E12000001");
  // ROUTINE: 28 days to find a match.
  EXPECT_EQ(created.match_deadline().seconds(), absl::ToUnixSeconds(At(2026, 11, 30)));

  const v1::CapacityCommitment c = MustCommit(provider, created, 4, "c-req-1");
  EXPECT_EQ(c.state(), v1::CapacityCommitment::OFFERED);
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10) << "an OFFERED commitment holds no hours";

  clock_.Advance(absl::Hours(1));
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest offered, Offer(created.name(), provider, c.name()));
  EXPECT_EQ(offered.state(), v1::SUPPORT_REQUEST_STATE_OFFERED);
  ASSERT_EQ(offered.offers_size(), 1);
  EXPECT_EQ(offered.offers(0).offer_id(), "o-1");
  EXPECT_EQ(offered.offers(0).state(), v1::SupportOffer::PENDING);
  EXPECT_DOUBLE_EQ(offered.offers(0).hours_per_week(), 4) << "0 means the request's hours";
  EXPECT_TRUE(Same(offered.offers(0).start_date(), Date(2026, 11, 9)));
  EXPECT_TRUE(Same(offered.offers(0).end_date(), Date(2026, 11, 22)));
  EXPECT_EQ(offered.state_change_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_NE(offered.etag(), created.etag());

  clock_.Advance(absl::Hours(1));
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest accepted, Accept(created.name(), "o-1"));
  EXPECT_EQ(accepted.state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
  EXPECT_EQ(accepted.accepted_offer_id(), "o-1");
  EXPECT_EQ(accepted.offers(0).state(), v1::SupportOffer::ACCEPTED);
  ASSERT_TRUE(FindCommitment(c.name()).has_value());
  EXPECT_EQ(FindCommitment(c.name())->state(), v1::CapacityCommitment::COMMITTED);
  EXPECT_DOUBLE_EQ(Available(provider.name()), 6);
  EXPECT_DOUBLE_EQ(GetSpec(provider.name()).capacity().shared_committed_hours_per_week(), 4);

  // Before the start date the sweep leaves it ACCEPTED.
  clock_.Set(At(2026, 11, 8, 23, 59, 59));
  SweepNow();
  EXPECT_EQ(Get(created.name()).state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
  clock_.Set(At(2026, 11, 9, 0, 0, 1));
  SweepNow();
  const v1::SupportRequest active = Get(created.name());
  EXPECT_EQ(active.state(), v1::SUPPORT_REQUEST_STATE_ACTIVE);
  EXPECT_EQ(active.state_change_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_DOUBLE_EQ(Available(provider.name()), 6);

  clock_.Advance(absl::Hours(24 * 3));
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest completed, Complete(created.name()));
  EXPECT_EQ(completed.state(), v1::SUPPORT_REQUEST_STATE_COMPLETED);
  EXPECT_TRUE(sharing::IsFinal(completed.state()));
  EXPECT_EQ(FindCommitment(c.name())->state(), v1::CapacityCommitment::COMPLETED);
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
  EXPECT_DOUBLE_EQ(GetSpec(provider.name()).capacity().shared_committed_hours_per_week(), 0);
  // Completing again is a no-op answer.
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest again, Complete(created.name()));
  EXPECT_TRUE(Same(again, completed));

  Reopen();
  EXPECT_TRUE(Same(Get(created.name()), completed));
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
}

TEST_F(SharingTest, OfferedThenDeclined) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest r = MustCreate(Need());
  MustOffer(r, provider, 4);
  MustOffer(r, provider, 3);
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest declined, Decline(r.name(), "too far away"));
  EXPECT_EQ(declined.state(), v1::SUPPORT_REQUEST_STATE_DECLINED);
  EXPECT_EQ(declined.state_reason(), "too far away");
  ASSERT_EQ(declined.offers_size(), 2);
  for (const auto& o : declined.offers()) EXPECT_EQ(o.state(), v1::SupportOffer::CLOSED);
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
  EXPECT_EQ(declined.state_change_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  // The declined offers' commitments are released with the request, in the
  // same transaction, so none can be confirmed later.
  for (const auto& o : declined.offers()) {
    std::optional<v1::CapacityCommitment> c = FindCommitment(o.commitment());
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->state(), v1::CapacityCommitment::RELEASED) << o.commitment();
    ExpectIllegal(Confirm(o.commitment(), "late-confirm").status());
  }
  // Default reason.
  const v1::SupportRequest r2 = MustCreate(Need());
  MustOffer(r2, provider, 4);
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest declined2, Decline(r2.name()));
  EXPECT_EQ(declined2.state_reason(), "offers declined");
}

struct WithdrawCase {
  std::string label;
  int offers;         // offers made before withdrawing
  bool accept_first;  // accept o-1 before withdrawing
};

class WithdrawTest : public SharingTest, public ::testing::WithParamInterface<WithdrawCase> {};

TEST_P(WithdrawTest, WithdrawnAndHoursReturned) {
  const WithdrawCase& tc = GetParam();
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest r = MustCreate(Need());
  std::vector<std::string> commitments;
  for (int i = 0; i < tc.offers; ++i) {
    v1::SupportRequest offered = MustOffer(r, provider, 4);
    commitments.push_back(offered.offers(i).commitment());
  }
  if (tc.accept_first) {
    ASSERT_THAT(Accept(r.name(), "o-1"), IsOk());
    EXPECT_DOUBLE_EQ(Available(provider.name()), 6);
  }
  clock_.Advance(absl::Minutes(30));
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest withdrawn, Withdraw(r.name()));
  EXPECT_EQ(withdrawn.state(), v1::SUPPORT_REQUEST_STATE_WITHDRAWN);
  EXPECT_EQ(withdrawn.state_reason(), "withdrawn by the requester");
  for (const auto& o : withdrawn.offers()) EXPECT_NE(o.state(), v1::SupportOffer::PENDING);
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
  EXPECT_DOUBLE_EQ(GetSpec(provider.name()).capacity().shared_committed_hours_per_week(), 0);
  if (tc.accept_first) {
    EXPECT_EQ(FindCommitment(commitments[0])->state(), v1::CapacityCommitment::RELEASED);
  }
  Reopen();
  EXPECT_TRUE(Same(Get(r.name()), withdrawn));
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
}

INSTANTIATE_TEST_SUITE_P(Paths, WithdrawTest,
                         ::testing::Values(WithdrawCase{"FromOpen", 0, false}, WithdrawCase{"FromOffered", 2, false},
                                           WithdrawCase{"FromAccepted", 2, true}),
                         [](const auto& param_info) { return param_info.param.label; });

TEST_F(SharingTest, EscalatedByHand) {
  const v1::SupportRequest r = MustCreate(Need());
  clock_.Advance(absl::Hours(3));
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest unmet, Escalate(r.name(), "no SLT within reach"));
  EXPECT_EQ(unmet.state(), v1::SUPPORT_REQUEST_STATE_UNMET);
  EXPECT_EQ(unmet.escalation_owner(), "coordinator/E12000001");
  EXPECT_EQ(unmet.state_reason(), "no SLT within reach");
  EXPECT_EQ(unmet.escalate_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_FALSE(sharing::IsFinal(unmet.state()));
  // A reason is required.
  const v1::SupportRequest r2 = MustCreate(Need());
  auto no_reason = Escalate(r2.name(), "");
  EXPECT_THAT(no_reason, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BadFields(no_reason.status()), ElementsAre("reason"));
  EXPECT_EQ(Get(r2.name()).state(), v1::SUPPORT_REQUEST_STATE_OPEN);
}

TEST_F(SharingTest, SweepNamesWhatItChangesFirstAndChangesNothingIfThatFails) {
  v1::SupportRequest need = Need();
  need.set_urgency(v1::URGENCY_URGENT);
  const v1::SupportRequest urgent = MustCreate(need);
  clock_.Set(At(2026, 11, 8));
  // The server writes the audit attempt here; when the trail cannot be
  // written the sweep changes nothing.
  std::vector<std::string> named;
  auto refused = registry_->Sweep([&](const std::vector<std::string>& resources) {
    named = resources;
    return absl::UnavailableError("audit trail full");
  });
  EXPECT_THAT(refused.status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(named, ElementsAre(urgent.name()));
  EXPECT_EQ(Get(urgent.name()).state(), v1::SUPPORT_REQUEST_STATE_OPEN);
  named.clear();
  auto swept = registry_->Sweep([&](const std::vector<std::string>& resources) {
    named = resources;
    return absl::OkStatus();
  });
  ASSERT_THAT(swept, IsOk());
  EXPECT_EQ(*swept, 1);
  EXPECT_THAT(named, ElementsAre(urgent.name()));
  EXPECT_EQ(Get(urgent.name()).state(), v1::SUPPORT_REQUEST_STATE_UNMET);
}

TEST_F(SharingTest, EscalatedBySweepAfterMatchDeadline) {
  v1::SupportRequest need = Need();
  need.set_urgency(v1::URGENCY_URGENT);
  const v1::SupportRequest urgent = MustCreate(need);
  EXPECT_EQ(urgent.match_deadline().seconds(), absl::ToUnixSeconds(At(2026, 11, 7)));  // 5 days
  const v1::SupportRequest routine = MustCreate(Need());

  clock_.Set(At(2026, 11, 7));  // exactly the deadline: not yet past
  SweepNow();
  EXPECT_EQ(Get(urgent.name()).state(), v1::SUPPORT_REQUEST_STATE_OPEN);
  clock_.Set(At(2026, 11, 7, 10, 0, 1));
  EXPECT_GE(SweepNow(), 1);
  const v1::SupportRequest unmet = Get(urgent.name());
  EXPECT_EQ(unmet.state(), v1::SUPPORT_REQUEST_STATE_UNMET);
  EXPECT_EQ(unmet.escalation_owner(), "coordinator/E12000001");
  EXPECT_EQ(unmet.state_reason(), "no offer before the match deadline");
  EXPECT_EQ(unmet.escalate_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_EQ(Get(routine.name()).state(), v1::SUPPORT_REQUEST_STATE_OPEN);
  // A second sweep changes nothing more.
  const std::string etag = unmet.etag();
  SweepNow();
  EXPECT_EQ(Get(urgent.name()).etag(), etag);
  Reopen();
  EXPECT_TRUE(Same(Get(urgent.name()), unmet));
}

TEST_F(SharingTest, LateOfferMovesUnmetToOffered) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest r = MustCreate(Need());
  ASSERT_THAT(Escalate(r.name()), IsOk());
  clock_.Advance(absl::Hours(24));
  const v1::SupportRequest offered = MustOffer(r, provider, 4);
  EXPECT_EQ(offered.state(), v1::SUPPORT_REQUEST_STATE_OFFERED);
  EXPECT_EQ(offered.state_reason(), "");
  ASSERT_THAT(Accept(r.name(), "o-1"), IsOk());
  EXPECT_EQ(Get(r.name()).state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
}

TEST_F(SharingTest, OffersExpireAfterResponseWindow) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest r = MustCreate(Need());
  const v1::SupportRequest offered = MustOffer(r, provider, 4);
  const absl::Time offered_at = clock_.Now();
  clock_.Set(offered_at + absl::Hours(24 * 14));  // exactly 14 days: not yet
  SweepNow();
  EXPECT_EQ(Get(r.name()).state(), v1::SUPPORT_REQUEST_STATE_OFFERED);
  clock_.Set(offered_at + absl::Hours(24 * 14) + absl::Seconds(1));
  SweepNow();
  const v1::SupportRequest expired = Get(r.name());
  EXPECT_EQ(expired.state(), v1::SUPPORT_REQUEST_STATE_EXPIRED);
  EXPECT_EQ(expired.state_reason(), "offers were not answered in time");
  EXPECT_EQ(expired.offers(0).state(), v1::SupportOffer::CLOSED);
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
  ExpectIllegal(Accept(r.name(), "o-1").status());
  Reopen();
  EXPECT_TRUE(Same(Get(r.name()), expired));
}

// Every transition the lifecycle forbids, from every state: refused with
// ILLEGAL_TRANSITION and nothing changed, before and after a restart.
enum class Action { kOffer, kAccept, kDecline, kWithdraw, kComplete, kEscalate };

std::string ActionName(Action a) {
  switch (a) {
    case Action::kOffer: return "offer";
    case Action::kAccept: return "accept";
    case Action::kDecline: return "decline";
    case Action::kWithdraw: return "withdraw";
    case Action::kComplete: return "complete";
    case Action::kEscalate: return "escalate";
  }
  return "?";
}

struct IllegalCase {
  v1::SupportRequestState state;
  std::vector<Action> illegal;
};

class IllegalTransitionTest : public SharingTest, public ::testing::WithParamInterface<IllegalCase> {
 protected:
  // Builds a request in `state`; every state after OFFERED had two offers
  // (o-1 and o-2) of `provider_`.
  std::string Build(v1::SupportRequestState state) {
    provider_ = AddSpecialist(Spec("p1", kNewcastle, kSlt, 37, 0));
    const v1::SupportRequest r = MustCreate(Need());
    if (state == v1::SUPPORT_REQUEST_STATE_OPEN) return r.name();
    MustOffer(r, provider_, 2);
    MustOffer(r, provider_, 3);
    switch (state) {
      case v1::SUPPORT_REQUEST_STATE_OFFERED: break;
      case v1::SUPPORT_REQUEST_STATE_ACCEPTED: EXPECT_THAT(Accept(r.name(), "o-1"), IsOk()); break;
      case v1::SUPPORT_REQUEST_STATE_ACTIVE:
        EXPECT_THAT(Accept(r.name(), "o-1"), IsOk());
        SweepNow();  // starts today
        break;
      case v1::SUPPORT_REQUEST_STATE_COMPLETED:
        EXPECT_THAT(Accept(r.name(), "o-1"), IsOk());
        EXPECT_THAT(Complete(r.name()), IsOk());
        break;
      case v1::SUPPORT_REQUEST_STATE_DECLINED: EXPECT_THAT(Decline(r.name()), IsOk()); break;
      case v1::SUPPORT_REQUEST_STATE_WITHDRAWN: EXPECT_THAT(Withdraw(r.name()), IsOk()); break;
      case v1::SUPPORT_REQUEST_STATE_EXPIRED:
        clock_.Advance(absl::Hours(24 * 14) + absl::Seconds(1));
        SweepNow();
        break;
      case v1::SUPPORT_REQUEST_STATE_UNMET: EXPECT_THAT(Escalate(r.name()), IsOk()); break;
      default: ADD_FAILURE() << "no recipe";
    }
    return r.name();
  }

  absl::Status Do(Action a, const std::string& name) {
    switch (a) {
      case Action::kOffer: {
        const v1::SupportRequest r = Get(name);
        auto c = Commit(provider_, r, 1);
        if (!c.ok()) return c.status();
        return Offer(name, provider_, c->name()).status();
      }
      case Action::kAccept: return Accept(name, "o-2", "accept-illegal").status();
      case Action::kDecline: return Decline(name).status();
      case Action::kWithdraw: return Withdraw(name).status();
      case Action::kComplete: return Complete(name).status();
      case Action::kEscalate: return Escalate(name).status();
    }
    return absl::InternalError("?");
  }

  v1::Specialist provider_;
};

TEST_P(IllegalTransitionTest, RefusedAndNothingChanges) {
  const IllegalCase& tc = GetParam();
  const std::string name = Build(tc.state);
  const v1::SupportRequest before = Get(name);
  ASSERT_EQ(before.state(), tc.state);
  const double hours_before = Available(provider_.name());
  clock_.Advance(absl::Minutes(1));
  for (Action a : tc.illegal) {
    SCOPED_TRACE(ActionName(a));
    ExpectIllegal(Do(a, name));
    EXPECT_TRUE(Same(Get(name), before)) << Get(name).DebugString();
  }
  EXPECT_DOUBLE_EQ(Available(provider_.name()), hours_before);
  Reopen();
  EXPECT_TRUE(Same(Get(name), before));
  EXPECT_DOUBLE_EQ(Available(provider_.name()), hours_before);
}

const std::vector<Action> kAll = {Action::kOffer,    Action::kAccept,   Action::kDecline,
                                  Action::kWithdraw, Action::kComplete, Action::kEscalate};

INSTANTIATE_TEST_SUITE_P(
    States, IllegalTransitionTest,
    ::testing::Values(
        IllegalCase{v1::SUPPORT_REQUEST_STATE_OPEN, {Action::kDecline, Action::kComplete}},
        IllegalCase{v1::SUPPORT_REQUEST_STATE_OFFERED, {Action::kComplete}},
        IllegalCase{v1::SUPPORT_REQUEST_STATE_ACCEPTED,
                    {Action::kOffer, Action::kAccept, Action::kDecline, Action::kEscalate}},
        IllegalCase{v1::SUPPORT_REQUEST_STATE_ACTIVE,
                    {Action::kOffer, Action::kAccept, Action::kDecline, Action::kWithdraw, Action::kEscalate}},
        IllegalCase{v1::SUPPORT_REQUEST_STATE_COMPLETED,
                    {Action::kOffer, Action::kAccept, Action::kDecline, Action::kWithdraw, Action::kEscalate}},
        // Repeating the step that made a request final is a retry, not a
        // transition (RepeatingAFinalStepIsARetry); every other step is refused.
        IllegalCase{v1::SUPPORT_REQUEST_STATE_DECLINED,
                    {Action::kOffer, Action::kAccept, Action::kWithdraw, Action::kComplete, Action::kEscalate}},
        IllegalCase{v1::SUPPORT_REQUEST_STATE_WITHDRAWN,
                    {Action::kOffer, Action::kAccept, Action::kDecline, Action::kComplete, Action::kEscalate}},
        IllegalCase{v1::SUPPORT_REQUEST_STATE_EXPIRED, kAll},
        IllegalCase{v1::SUPPORT_REQUEST_STATE_UNMET,
                    {Action::kAccept, Action::kDecline, Action::kComplete, Action::kEscalate}}),
    [](const auto& param_info) { return sharing::StateName(param_info.param.state); });

TEST_F(SharingTest, AnOfferMustNameTheProvidersCommitmentForThisRequest) {
  const v1::Specialist provider = AddSpecialist(Spec("p8", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest first = MustCreate(Need());
  const v1::SupportRequest second = MustCreate(Need());
  const v1::CapacityCommitment for_first = MustCommit(provider, first, 4);
  // The first request's commitment cannot back an offer on the second:
  // otherwise both could be accepted on one set of hours.
  auto offered = Offer(second.name(), provider, for_first.name(), 4);
  EXPECT_THAT(offered.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ErrorReason(offered.status()), "COMMITMENT_MISMATCH");
  // Nor can a commitment that does not exist.
  offered = Offer(second.name(), provider, provider.name() + "/commitments/c-missing", 4);
  EXPECT_EQ(ErrorReason(offered.status()), "COMMITMENT_MISMATCH");
  EXPECT_EQ(Get(second.name()).state(), v1::SUPPORT_REQUEST_STATE_OPEN);
}

TEST_F(SharingTest, RepeatingAFinalStepIsARetry) {
  const v1::Specialist provider = AddSpecialist(Spec("p9", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest declined = MustCreate(Need());
  const v1::SupportRequest withdrawn = MustCreate(Need());
  ASSERT_THAT(Decline(declined.name()), StatusIs(absl::StatusCode::kFailedPrecondition));  // OPEN
  ASSERT_THAT(Withdraw(withdrawn.name()), IsOk());
  auto again = Withdraw(withdrawn.name());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->state(), v1::SUPPORT_REQUEST_STATE_WITHDRAWN);
  const std::string etag = again->etag();
  again = Withdraw(withdrawn.name());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->etag(), etag);  // nothing written
  (void)provider;
}

TEST_F(SharingTest, AcceptOfUnknownOfferIsNotFound) {
  const v1::SupportRequest r = MustCreate(Need());
  auto result = Accept(r.name(), "o-1");
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(ErrorReason(result.status()), "OFFER_NOT_FOUND");
  EXPECT_TRUE(Same(Get(r.name()), r));
}

TEST_F(SharingTest, AcceptIsIdempotentForTheSameOffer) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest r = MustCreate(Need());
  MustOffer(r, provider, 4);
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest first, Accept(r.name(), "o-1", "key-1"));
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest retry, Accept(r.name(), "o-1", "key-1"));
  EXPECT_TRUE(Same(first, retry));
  EXPECT_DOUBLE_EQ(Available(provider.name()), 6);
}

// ---------------------------------------------------------------------------
// Commitments

TEST_F(SharingTest, CommitmentConfirmIsIdempotentAndReleaseReturnsHours) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest r = MustCreate(Need());
  const v1::CapacityCommitment c = MustCommit(provider, r, 6, "commit-1");
  EXPECT_EQ(c.state(), v1::CapacityCommitment::OFFERED);
  EXPECT_EQ(c.name().rfind(provider.name() + "/commitments/c-", 0), 0u) << c.name();
  EXPECT_EQ(c.requesting_authority(), kDurham);
  EXPECT_EQ(c.support_request(), r.name());
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
  // Creating again with the same request id answers the same commitment.
  ASSERT_OK_AND_ASSIGN(v1::CapacityCommitment again, Commit(provider, r, 6, "commit-1"));
  EXPECT_TRUE(Same(again, c));
  EXPECT_EQ(GetSpec(provider.name()).commitments_size(), 1);

  clock_.Advance(absl::Minutes(1));
  ASSERT_OK_AND_ASSIGN(v1::CapacityCommitment confirmed, Confirm(c.name(), "confirm-1"));
  EXPECT_EQ(confirmed.state(), v1::CapacityCommitment::COMMITTED);
  EXPECT_EQ(confirmed.confirm_request_id(), "confirm-1");
  v1::Specialist after = GetSpec(provider.name());
  EXPECT_DOUBLE_EQ(after.capacity().available_hours_per_week(), 4);
  EXPECT_DOUBLE_EQ(after.capacity().shared_committed_hours_per_week(), 6);
  EXPECT_DOUBLE_EQ(after.capacity().committed_hours_per_week(), 20) << "the authority's own figure is untouched";

  clock_.Advance(absl::Minutes(1));
  ASSERT_OK_AND_ASSIGN(v1::CapacityCommitment retry, Confirm(c.name(), "confirm-1"));
  EXPECT_TRUE(Same(retry, confirmed));
  EXPECT_EQ(GetSpec(provider.name()).etag(), after.etag()) << "a retry writes nothing";
  EXPECT_DOUBLE_EQ(Available(provider.name()), 4);

  ASSERT_OK_AND_ASSIGN(v1::CapacityCommitment released, Release(c.name()));
  EXPECT_EQ(released.state(), v1::CapacityCommitment::RELEASED);
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
  EXPECT_DOUBLE_EQ(GetSpec(provider.name()).capacity().shared_committed_hours_per_week(), 0);
  ASSERT_OK_AND_ASSIGN(v1::CapacityCommitment released_again, Release(c.name()));
  EXPECT_TRUE(Same(released_again, released));
  // A released commitment cannot be committed again.
  auto reconfirm = Confirm(c.name(), "confirm-2");
  ExpectIllegal(reconfirm.status());
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
}

TEST_F(SharingTest, ConfirmRefusesWhenHoursAreTooFew) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 22.5));  // 7.5 free
  const v1::SupportRequest r = MustCreate(Need());
  const v1::CapacityCommitment c = MustCommit(provider, r, 8);
  const v1::Specialist before = GetSpec(provider.name());
  auto result = Confirm(c.name(), "confirm-1");
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ErrorReason(result.status()), "INSUFFICIENT_CAPACITY");
  EXPECT_TRUE(Same(GetSpec(provider.name()), before));
  EXPECT_EQ(FindCommitment(c.name())->state(), v1::CapacityCommitment::OFFERED);
  // Exactly the available hours fit.
  const v1::CapacityCommitment exact = MustCommit(provider, r, 7.5);
  ASSERT_THAT(Confirm(exact.name(), "confirm-2"), IsOk());
  EXPECT_DOUBLE_EQ(Available(provider.name()), 0);
  // Through AcceptOffer: refused with the same reason, request stays OFFERED.
  const v1::SupportRequest r2 = MustCreate(Need());
  const v1::SupportRequest offered = MustOffer(r2, provider, 1);
  auto accept = Accept(r2.name(), "o-1");
  EXPECT_THAT(accept, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ErrorReason(accept.status()), "INSUFFICIENT_CAPACITY");
  EXPECT_TRUE(Same(Get(r2.name()), offered));
}

TEST_F(SharingTest, CommitmentsSurviveUpdatesAndRestart) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 10));  // 20 free
  const v1::SupportRequest r = MustCreate(Need());
  const v1::CapacityCommitment c = MustCommit(provider, r, 5);
  ASSERT_THAT(Confirm(c.name(), "confirm-1"), IsOk());
  ASSERT_DOUBLE_EQ(Available(provider.name()), 15);

  v1::UpdateSpecialistRequest update;
  update.mutable_specialist()->set_name(provider.name());
  update.mutable_specialist()->set_display_name("Renamed");
  update.mutable_update_mask()->add_paths("display_name");
  ASSERT_OK_AND_ASSIGN(v1::Specialist renamed, registry_->specialists().Update(update));
  ASSERT_EQ(renamed.commitments_size(), 1);
  EXPECT_EQ(renamed.commitments(0).state(), v1::CapacityCommitment::COMMITTED);
  EXPECT_DOUBLE_EQ(renamed.capacity().available_hours_per_week(), 15);

  // A full replacement (mask "*") keeps them too.
  v1::UpdateSpecialistRequest replace;
  *replace.mutable_specialist() = Spec("p1", kNewcastle, kSlt, 30, 10);
  replace.mutable_specialist()->set_name(provider.name());
  replace.mutable_update_mask()->add_paths("*");
  ASSERT_OK_AND_ASSIGN(v1::Specialist replaced, registry_->specialists().Update(replace));
  EXPECT_EQ(replaced.commitments_size(), 1);
  EXPECT_DOUBLE_EQ(replaced.capacity().available_hours_per_week(), 15);

  v1::UpdateCapacityRequest capacity;
  capacity.set_name(provider.name());
  capacity.mutable_capacity()->set_committed_hours_per_week(12);
  capacity.mutable_update_mask()->add_paths("committed_hours_per_week");
  ASSERT_OK_AND_ASSIGN(v1::Specialist recapped, registry_->specialists().UpdateCapacity(capacity));
  ASSERT_EQ(recapped.commitments_size(), 1);
  EXPECT_DOUBLE_EQ(recapped.capacity().shared_committed_hours_per_week(), 5);
  EXPECT_DOUBLE_EQ(recapped.capacity().available_hours_per_week(), 13);  // 30 - 12 - 5

  Reopen();
  const v1::Specialist reloaded = GetSpec(provider.name());
  ASSERT_EQ(reloaded.commitments_size(), 1);
  EXPECT_TRUE(Same(reloaded.commitments(0), recapped.commitments(0)));
  EXPECT_DOUBLE_EQ(reloaded.capacity().available_hours_per_week(), 13);
  // Still releasable after the restart.
  ASSERT_THAT(Release(c.name()), IsOk());
  EXPECT_DOUBLE_EQ(Available(provider.name()), 18);
}

TEST_F(SharingTest, SweepCompletesCommitmentsAfterTheirEnd) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest r = MustCreate(Need());  // starts 2026-11-02, 2 weeks: ends 2026-11-15
  const v1::CapacityCommitment c = MustCommit(provider, r, 4);
  EXPECT_TRUE(Same(c.end_date(), Date(2026, 11, 15)));
  ASSERT_THAT(Confirm(c.name(), "confirm-1"), IsOk());
  clock_.Set(At(2026, 11, 15, 23, 0, 0));  // the last day: still held
  SweepNow();
  EXPECT_EQ(FindCommitment(c.name())->state(), v1::CapacityCommitment::COMMITTED);
  EXPECT_DOUBLE_EQ(Available(provider.name()), 6);
  clock_.Set(At(2026, 11, 16, 0, 30, 0));
  EXPECT_GE(SweepNow(), 1);
  EXPECT_EQ(FindCommitment(c.name())->state(), v1::CapacityCommitment::COMPLETED);
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
  EXPECT_DOUBLE_EQ(GetSpec(provider.name()).capacity().shared_committed_hours_per_week(), 0);
  Reopen();
  EXPECT_EQ(FindCommitment(c.name())->state(), v1::CapacityCommitment::COMPLETED);
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
}

TEST_F(SharingTest, CreateSupportRequestIsIdempotentPerRequestId) {
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest first, Create(Need(), "form-42"));
  clock_.Advance(absl::Minutes(2));
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest retry, Create(Need(), "form-42"));
  EXPECT_TRUE(Same(first, retry));
  EXPECT_EQ(ListAll().size(), 1u);
  // Same key, other authority: another request.
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest other, Create(Need(kNewcastle), "form-42"));
  EXPECT_NE(other.name(), first.name());
  Reopen();
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest after_restart, Create(Need(), "form-42"));
  EXPECT_TRUE(Same(after_restart, first));
  EXPECT_EQ(ListAll().size(), 2u);
}

TEST_F(SharingTest, ListSupportRequestsFiltersAndPages) {
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    names.push_back(MustCreate(Need(i % 2 ? kNewcastle : kDurham, i == 4 ? kOt : kSlt)).name());
    clock_.Advance(absl::Seconds(1));
  }
  ASSERT_THAT(Escalate(names[1]), IsOk());
  std::vector<std::string> paged;
  v1::ListSupportRequestsRequest req;
  req.set_parent("regions/north-east");
  req.set_page_size(2);
  for (int page = 0; page < 5; ++page) {
    ASSERT_OK_AND_ASSIGN(auto response, registry_->support_requests().List(req));
    for (const auto& r : response.support_requests()) paged.push_back(r.name());
    if (response.next_page_token().empty()) break;
    req.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(paged, names) << "oldest first, each once";

  v1::ListSupportRequestsRequest filtered;
  filtered.set_parent("regions/north-east");
  filtered.add_states(v1::SUPPORT_REQUEST_STATE_OPEN);
  filtered.set_requesting_authority(kDurham);
  filtered.set_role(kSlt);
  ASSERT_OK_AND_ASSIGN(auto response, registry_->support_requests().List(filtered));
  std::vector<std::string> got;
  for (const auto& r : response.support_requests()) got.push_back(r.name());
  EXPECT_THAT(got, ElementsAre(names[0], names[2]));
  // A token from another listing is refused.
  filtered.set_page_token(req.page_token());
  EXPECT_THAT(registry_->support_requests().List(filtered), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---------------------------------------------------------------------------
// Access

TEST_F(SharingTest, OtherAuthoritiesCannotActOnARequest) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest r = MustCreate(Need(kDurham));
  const v1::SupportRequest offered = MustOffer(r, provider, 4);
  const CallAccess newcastle = Only({kNewcastle});
  const CallAccess hartlepool = Only({kHartlepool});
  struct Step {
    std::string label;
    std::function<absl::Status()> run;
  };
  const std::vector<Step> steps = {
      {"accept", [&] { return Accept(r.name(), "o-1", "k", newcastle).status(); }},
      {"accept-hartlepool", [&] { return Accept(r.name(), "o-1", "k", hartlepool).status(); }},
      {"withdraw", [&] { return Withdraw(r.name(), "", newcastle).status(); }},
      {"escalate", [&] { return Escalate(r.name(), "why", newcastle).status(); }},
      {"decline", [&] { return Decline(r.name(), "", hartlepool).status(); }},
      {"confirm", [&] { return Confirm(offered.offers(0).commitment(), "k", newcastle).status(); }},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(step.label);
    EXPECT_THAT(step.run(), StatusIs(absl::StatusCode::kPermissionDenied));
    EXPECT_TRUE(Same(Get(r.name()), offered));
    EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
  }
  // Creating a request for another authority is refused too; nothing stored.
  EXPECT_THAT(Create(Need(kDurham), "", newcastle), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(ListAll().size(), 1u);
  // The requester itself may accept.
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest accepted, Accept(r.name(), "o-1", "k", Only({kDurham})));
  EXPECT_EQ(accepted.state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
  EXPECT_DOUBLE_EQ(Available(provider.name()), 6);
  // And withdraw, which releases the provider's hours although the
  // requester cannot write the provider's record.
  ASSERT_THAT(Withdraw(r.name(), "", Only({kDurham})), IsOk());
  EXPECT_DOUBLE_EQ(Available(provider.name()), 10);
}

TEST_F(SharingTest, CrossRegionOffersNeedTheDirectory) {
  const v1::SupportRequest r = MustCreate(Need());
  const std::string specialist = "regions/london/specialists/s-abc";
  v1::OfferSupportRequest req;
  req.set_name(r.name());
  req.set_commitment(specialist + "/commitments/c-1");
  req.mutable_offer()->set_specialist(specialist);
  req.mutable_offer()->set_provider_authority("E09000007");  // Camden
  req.mutable_offer()->set_hours_per_week(3);
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest offered, registry_->offers().Offer(req));
  EXPECT_EQ(offered.state(), v1::SUPPORT_REQUEST_STATE_OFFERED);

  auto direct = Accept(r.name(), "o-1", "k", Only({kDurham}));
  EXPECT_THAT(direct, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ErrorReason(direct.status()), "CROSS_REGION_VIA_DIRECTORY");
  EXPECT_TRUE(Same(Get(r.name()), offered));

  // Through the directory, but without naming the commitment it confirmed
  // in the provider's region (or naming another one): still refused.
  v1::AcceptOfferRequest accept;
  accept.set_name(r.name());
  accept.set_offer_id("o-1");
  accept.set_request_id("k");
  EXPECT_EQ(ErrorReason(registry_->offers().Accept(accept, Only({kDurham}, true)).status()),
            "CROSS_REGION_VIA_DIRECTORY");
  accept.set_confirmed_commitment(specialist + "/commitments/c-2");
  EXPECT_EQ(ErrorReason(registry_->offers().Accept(accept, Only({kDurham}, true)).status()),
            "CROSS_REGION_VIA_DIRECTORY");
  EXPECT_TRUE(Same(Get(r.name()), offered));

  accept.set_confirmed_commitment(specialist + "/commitments/c-1");
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest accepted, registry_->offers().Accept(accept, Only({kDurham}, true)));
  EXPECT_EQ(accepted.state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
  EXPECT_EQ(accepted.accepted_offer_id(), "o-1");
}

TEST_F(SharingTest, AnOfferMustNameTheRequesterAndAnOpenCommitment) {
  const v1::Specialist provider = AddSpecialist(Spec("p7", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest r = MustCreate(Need());
  // A commitment naming another requesting authority than the request's
  // would leave the requester unable to accept, decline or withdraw.
  v1::SupportRequest other_requester = r;
  other_requester.set_requesting_authority(kNewcastle);
  const v1::CapacityCommitment wrong = MustCommit(provider, other_requester, 4);
  auto offered = Offer(r.name(), provider, wrong.name(), 4);
  EXPECT_EQ(ErrorReason(offered.status()), "COMMITMENT_MISMATCH");
  // A released commitment cannot back a new offer.
  const v1::CapacityCommitment released = MustCommit(provider, r, 4, "rel");
  ASSERT_THAT(Release(released.name()), IsOk());
  EXPECT_EQ(ErrorReason(Offer(r.name(), provider, released.name(), 4).status()), "COMMITMENT_MISMATCH");
  // The offer's hours are the commitment's, whatever the offer says.
  const v1::CapacityCommitment three = MustCommit(provider, r, 3, "three");
  ASSERT_OK_AND_ASSIGN(v1::SupportRequest ok, Offer(r.name(), provider, three.name(), 9));
  EXPECT_DOUBLE_EQ(ok.offers(0).hours_per_week(), 3);
}

TEST_F(SharingTest, BadOfferIdsAndRequestNamesAreRefusedWithoutEchoingThem) {
  const v1::SupportRequest r = MustCreate(Need());
  v1::AcceptOfferRequest accept;
  accept.set_name(r.name());
  accept.set_request_id("k");
  for (const char* bad : {"", "o-", "o-x", "Alice Smith", "o-1234567", "o-1\n"}) {
    accept.set_offer_id(bad);
    auto status = registry_->offers().Accept(accept).status();
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
    if (std::string(bad).size() > 3) {
      EXPECT_THAT(std::string(status.message()), ::testing::Not(::testing::HasSubstr(bad)));
    }
  }
  v1::GetSupportRequestRequest get;
  get.set_name("regions/north-east/supportRequests/Alice Smith");
  auto got = registry_->support_requests().Get(get);
  EXPECT_THAT(got.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(got.status().message()), ::testing::Not(::testing::HasSubstr("Alice")));
}

TEST_F(SharingTest, OnlyTheOwnerCreatesCommitments) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest r = MustCreate(Need());
  const v1::Specialist before = GetSpec(provider.name());
  EXPECT_THAT(Commit(provider, r, 4, "", Only({kDurham})), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_TRUE(Same(GetSpec(provider.name()), before));
  EXPECT_THAT(Commit(provider, r, 4, "", Only({kNewcastle})), IsOk());
}

// ---------------------------------------------------------------------------
// Validation

struct BadRequestCase {
  std::string label;
  std::function<void(v1::SupportRequest*)> mutate;
  std::vector<std::string> fields;
};

class BadSupportRequestTest : public SharingTest, public ::testing::WithParamInterface<BadRequestCase> {};

TEST_P(BadSupportRequestTest, RefusedWithEveryBadFieldAndNothingStored) {
  v1::SupportRequest in = Need();
  GetParam().mutate(&in);
  auto result = Create(in, "key-1");
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BadFields(result.status()), UnorderedElementsAreArray(GetParam().fields));
  EXPECT_THAT(ListAll(), IsEmpty());
  Reopen();
  EXPECT_THAT(ListAll(), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Fields, BadSupportRequestTest,
    ::testing::Values(
        BadRequestCase{"ZeroHours", [](auto* r) { r->set_hours_per_week(0); }, {"support_request.hours_per_week"}},
        BadRequestCase{"TooManyHours", [](auto* r) { r->set_hours_per_week(168.5); },
                       {"support_request.hours_per_week"}},
        BadRequestCase{"ZeroWeeks", [](auto* r) { r->set_weeks(0); }, {"support_request.weeks"}},
        BadRequestCase{"TooManyWeeks", [](auto* r) { r->set_weeks(105); }, {"support_request.weeks"}},
        BadRequestCase{"UnknownRole", [](auto* r) { r->set_role("wizard"); }, {"support_request.role"}},
        BadRequestCase{"NoRole", [](auto* r) { r->clear_role(); }, {"support_request.role"}},
        BadRequestCase{"UnknownSetting", [](auto* r) { r->set_setting("castle"); }, {"support_request.setting"}},
        BadRequestCase{"LongNote", [](auto* r) { r->set_note(std::string(501, 'x')); }, {"support_request.note"}},
        BadRequestCase{"NoteWithNewline", [](auto* r) { r->set_note("a\nb"); }, {"support_request.note"}},
        BadRequestCase{"AuthorityOutsideRegion", [](auto* r) { r->set_requesting_authority("E09000007"); },
                       {"support_request.requesting_authority"}},
        BadRequestCase{"UnknownAuthority", [](auto* r) { r->set_requesting_authority("E99999999"); },
                       {"support_request.requesting_authority"}},
        BadRequestCase{"DuplicateSpecialism",
                       [](auto* r) {
                         r->add_specialisms("autism");
                         r->add_specialisms("autism");
                       },
                       {"support_request.specialisms[1]"}},
        BadRequestCase{"PastDeadline",
                       [](auto* r) { r->mutable_match_deadline()->set_seconds(absl::ToUnixSeconds(At(2026, 11, 1))); },
                       {"support_request.match_deadline"}},
        BadRequestCase{"BadStartDate", [](auto* r) { *r->mutable_start_date() = Date(2026, 2, 30); },
                       {"support_request.start_date"}},
        BadRequestCase{"Several",
                       [](auto* r) {
                         r->set_hours_per_week(0);
                         r->set_weeks(0);
                         r->set_role("wizard");
                         r->set_note(std::string(501, 'x'));
                       },
                       {"support_request.hours_per_week", "support_request.weeks", "support_request.role",
                        "support_request.note"}}),
    [](const auto& param_info) { return param_info.param.label; });

TEST_F(SharingTest, BadCommitmentsAndOffersAreRefused) {
  const v1::Specialist provider = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));
  const v1::SupportRequest r = MustCreate(Need());
  const v1::Specialist before = GetSpec(provider.name());

  v1::CreateCapacityCommitmentRequest bad;
  bad.set_parent(provider.name());
  bad.mutable_commitment()->set_support_request("nonsense");
  bad.mutable_commitment()->set_requesting_authority("E99999999");
  bad.mutable_commitment()->set_hours_per_week(0);
  *bad.mutable_commitment()->mutable_start_date() = Date(2026, 11, 9);
  *bad.mutable_commitment()->mutable_end_date() = Date(2026, 11, 8);
  bad.set_request_id("has space");
  auto created = registry_->commitments().Create(bad);
  EXPECT_THAT(created, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BadFields(created.status()),
              UnorderedElementsAre("commitment.support_request", "commitment.requesting_authority",
                                   "commitment.hours_per_week", "commitment.end_date", "request_id"));
  EXPECT_TRUE(Same(GetSpec(provider.name()), before));

  // Offers: specialist name malformed, commitment of another specialist, note too long.
  v1::OfferSupportRequest offer;
  offer.set_name(r.name());
  offer.mutable_offer()->set_specialist("specialists/x");
  offer.mutable_offer()->set_provider_authority(kNewcastle);
  offer.mutable_offer()->set_hours_per_week(-1);
  offer.mutable_offer()->set_note(std::string(501, 'y'));
  offer.set_commitment(provider.name() + "/commitments/c-1");
  auto offered = registry_->offers().Offer(offer);
  EXPECT_THAT(offered, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BadFields(offered.status()), UnorderedElementsAre("offer.specialist", "offer.hours_per_week",
                                                                "commitment", "offer.note"));
  EXPECT_TRUE(Same(Get(r.name()), r));

  // AcceptOffer needs a request id.
  auto accept = Accept(r.name(), "o-1", "");
  EXPECT_THAT(accept, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BadFields(accept.status()), ElementsAre("request_id"));
  // Confirm too.
  EXPECT_THAT(Confirm(provider.name() + "/commitments/c-1", ""), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---------------------------------------------------------------------------
// Suggestions

TEST_F(SharingTest, SuggestProvidersRanksEligibleSpecialists) {
  // The need: County Durham, SLT, primary, DLD, 4 hours, primary ages.
  v1::Specialist best = Spec("best", kDurham, kSlt, 30, 20);  // 10 free, at the need's centre
  best.add_specialisms("developmental-language-disorder");
  const std::string best_name = AddSpecialist(best).name();
  const std::string farther =
      AddSpecialist(Spec("farther", kNewcastle, kSlt, 30, 28, {"secondary"})).name();  // 2 free, 26 km
  AddSpecialist(Spec("closed", kNewcastle, kSlt, 30, 10, {"primary"}, /*accepting_external=*/false));
  const std::string own_closed =
      AddSpecialist(Spec("own-closed", kDurham, kSlt, 30, 27, {"post-16"}, /*accepting_external=*/false)).name();
  AddSpecialist(Spec("full", kDurham, kSlt, 30, 30));                    // no hours
  AddSpecialist(Spec("ot", kDurham, kOt, 30, 0));                         // wrong role
  v1::Specialist adults = Spec("adults", kHartlepool, kSlt, 30, 0);       // ages 16-25 only
  adults.mutable_age_range()->set_min_age(16);
  adults.mutable_age_range()->set_max_age(25);
  AddSpecialist(adults);

  v1::SupportRequest need = Need(kDurham, kSlt, 4);
  need.add_specialisms("developmental-language-disorder");
  const v1::SupportRequest r = MustCreate(need);
  v1::SuggestProvidersRequest req;
  req.set_name(r.name());
  ASSERT_OK_AND_ASSIGN(v1::SuggestProvidersResponse response, registry_->support_requests().SuggestProviders(req));
  ASSERT_EQ(response.suggestions_size(), 3);

  const auto& s0 = response.suggestions(0);
  EXPECT_EQ(s0.specialist().name(), best_name);
  EXPECT_NEAR(s0.distance_km(), 0, 1e-6);
  EXPECT_DOUBLE_EQ(s0.available_hours_per_week(), 10);
  EXPECT_NEAR(s0.score(), 100, 1e-9);
  EXPECT_THAT(s0.reasons(), ElementsAre("distance 0.0 km (35.0 of 35)", "capacity 10.0 hours per week free for 4.0 needed (30.0 of 30)",
                                        "specialisms 1 of 1 requested (20.0 of 20)", "works in primary (15.0 of 15)"));

  // The own authority's specialist not accepting external requests is
  // eligible: distance 35 + capacity 3/4 of 30 + 0 + 0 = 57.5.
  const auto& s1 = response.suggestions(1);
  EXPECT_EQ(s1.specialist().name(), own_closed);
  EXPECT_NEAR(s1.score(), 35 + 22.5, 1e-9);
  EXPECT_THAT(s1.reasons(), ElementsAre("distance 0.0 km (35.0 of 35)", "capacity 3.0 hours per week free for 4.0 needed (22.5 of 30)",
                                        "specialisms 0 of 1 requested (0.0 of 20)",
                                        "does not work in primary or its phase (0.0 of 15)"));

  // Newcastle, 26.0 km: 35 * (150 - d) / 140 + 2/4 of 30 + 0 + half of 15.
  const auto& s2 = response.suggestions(2);
  EXPECT_EQ(s2.specialist().name(), farther);
  EXPECT_NEAR(s2.distance_km(), 26.03, 0.05);
  EXPECT_NEAR(s2.score(), 35 * (150 - s2.distance_km()) / 140 + 15 + 0 + 7.5, 1e-9);
  ASSERT_EQ(s2.reasons_size(), 4);
  EXPECT_EQ(s2.reasons(1), "capacity 2.0 hours per week free for 4.0 needed (15.0 of 30)");
  EXPECT_EQ(s2.reasons(3), "works in the same phase as primary (7.5 of 15)");
  EXPECT_GT(s1.score(), s2.score());

  // max_suggestions caps the list; negative is refused.
  req.set_max_suggestions(1);
  ASSERT_OK_AND_ASSIGN(response, registry_->support_requests().SuggestProviders(req));
  ASSERT_EQ(response.suggestions_size(), 1);
  EXPECT_EQ(response.suggestions(0).specialist().name(), best_name);
  req.set_max_suggestions(-1);
  EXPECT_THAT(registry_->support_requests().SuggestProviders(req), StatusIs(absl::StatusCode::kInvalidArgument));

  // Once the best one's hours are committed elsewhere it drops out.
  const v1::SupportRequest other = MustCreate(Need(kDurham, kSlt, 10));
  const v1::CapacityCommitment c = MustCommit(GetSpec(best_name), other, 10);
  ASSERT_THAT(Confirm(c.name(), "k"), IsOk());
  req.set_max_suggestions(0);
  ASSERT_OK_AND_ASSIGN(response, registry_->support_requests().SuggestProviders(req));
  std::vector<std::string> names;
  for (const auto& s : response.suggestions()) names.push_back(s.specialist().name());
  EXPECT_THAT(names, ElementsAre(own_closed, farther));
}

// ---------------------------------------------------------------------------
// Reports

TEST_F(SharingTest, UnmetNeedReportMatchesHandComputedFigures) {
  // Created on days 0, 1 and 2; escalated on day 2 in the order R3, R1, R2;
  // reported on day 10.
  v1::SupportRequest n1 = Need(kDurham, kSlt, 4);
  n1.add_specialisms("developmental-language-disorder");
  n1.add_specialisms("autism");
  const v1::SupportRequest r1 = MustCreate(n1);
  clock_.Advance(absl::Hours(24));
  v1::SupportRequest n2 = Need(kDurham, kOt, 3);
  n2.add_specialisms("sensory-processing");
  n2.set_setting("secondary");
  n2.set_age_band(v1::AGE_BAND_SECONDARY);
  const v1::SupportRequest r2 = MustCreate(n2);
  clock_.Advance(absl::Hours(24));
  v1::SupportRequest n3 = Need(kNewcastle, kSlt, 2.5);
  n3.add_specialisms("autism");
  const v1::SupportRequest r3 = MustCreate(n3);
  MustCreate(Need(kHartlepool, kSlt, 7));  // stays OPEN: not counted
  clock_.Advance(absl::Hours(1));
  ASSERT_THAT(Escalate(r3.name()), IsOk());
  clock_.Advance(absl::Hours(1));
  ASSERT_THAT(Escalate(r1.name()), IsOk());
  clock_.Advance(absl::Hours(1));
  ASSERT_THAT(Escalate(r2.name()), IsOk());
  clock_.Set(At(2026, 11, 12, 11, 0, 0));  // day 10 (+1 h)

  v1::GetUnmetNeedReportRequest req;
  req.set_parent("regions/north-east");
  ASSERT_OK_AND_ASSIGN(v1::UnmetNeedReport report, registry_->reports().GetUnmetNeedReport(req));
  std::vector<std::string> order;
  for (const auto& r : report.requests()) order.push_back(r.name());
  EXPECT_THAT(order, ElementsAre(r3.name(), r1.name(), r2.name()));

  struct Group {
    std::string dimension, key;
    int requests;
    double hours;
    int oldest_days;
  };
  const std::vector<Group> expected = {
      {"region", "E12000001", 3, 9.5, 10},
      {"authority", kDurham, 2, 7, 10},
      {"authority", kNewcastle, 1, 2.5, 8},
      {"role", kOt, 1, 3, 9},
      {"role", kSlt, 2, 6.5, 10},
      {"specialism", "autism", 2, 6.5, 10},
      {"specialism", "developmental-language-disorder", 1, 4, 10},
      {"specialism", "sensory-processing", 1, 3, 9},
      {"setting", "primary", 2, 6.5, 10},
      {"setting", "secondary", 1, 3, 9},
  };
  ASSERT_EQ(report.groups_size(), static_cast<int>(expected.size())) << report.DebugString();
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].dimension + "/" + expected[i].key);
    const v1::UnmetNeedGroup& g = report.groups(static_cast<int>(i));
    EXPECT_EQ(g.dimension(), expected[i].dimension);
    EXPECT_EQ(g.key(), expected[i].key);
    EXPECT_EQ(g.requests(), expected[i].requests);
    EXPECT_DOUBLE_EQ(g.hours_per_week(), expected[i].hours);
    EXPECT_EQ(g.oldest_open_days(), expected[i].oldest_days);
  }
  // The same after a restart.
  Reopen();
  ASSERT_OK_AND_ASSIGN(v1::UnmetNeedReport again, registry_->reports().GetUnmetNeedReport(req));
  EXPECT_TRUE(Same(again, report));
}

class EquityTest : public SharingTest {
 protected:
  void SetUp() override {
    SharingTest::SetUp();
    // Two SLTs in County Durham (one early years PVI + primary, one
    // primary + secondary), one in Newcastle (post-16), an OT in Durham.
    a_ = AddSpecialist(Spec("a", kDurham, kSlt, 30, 20, {"early-years-pvi", "primary"}));  // 10 free
    b_ = AddSpecialist(Spec("b", kDurham, kSlt, 20, 15, {"primary", "secondary"}));        // 5 free
    c_ = AddSpecialist(Spec("c", kNewcastle, kSlt, 10, 2, {"post-16"}));                   // 8 free
    AddSpecialist(Spec("d", kDurham, kOt, 30, 29, {"special-school"}));                    // 1 free
  }
  v1::EquityReport Report(double within_km, std::vector<std::string> roles = {kSlt}) {
    v1::GetEquityReportRequest req;
    req.set_parent("regions/north-east");
    req.set_within_km(within_km);
    for (const auto& r : roles) req.add_roles(r);
    auto report = registry_->reports().GetEquityReport(req);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : v1::EquityReport();
  }
  v1::Specialist a_, b_, c_;
};

TEST_F(EquityTest, RowsBySpecialistsAndHoursPerPhase) {
  const v1::EquityReport report = Report(30);
  struct Row {
    std::string authority;
    v1::Phase phase;
    int specialists;
    double hours;
  };
  const std::vector<Row> expected = {
      {kDurham, v1::PHASE_EARLY_YEARS_PVI, 1, 10},
      {kDurham, v1::PHASE_SCHOOLS, 2, 15},  // b counts once for primary + secondary
      {kNewcastle, v1::PHASE_POST_16, 1, 8},
  };
  ASSERT_EQ(report.rows_size(), static_cast<int>(expected.size())) << report.DebugString();
  for (size_t i = 0; i < expected.size(); ++i) {
    const v1::EquityRow& row = report.rows(static_cast<int>(i));
    SCOPED_TRACE(i);
    EXPECT_EQ(row.region_code(), "E12000001");
    EXPECT_EQ(row.authority(), expected[i].authority);
    EXPECT_EQ(row.role(), kSlt);
    EXPECT_EQ(row.phase(), expected[i].phase);
    EXPECT_EQ(row.specialists(), expected[i].specialists);
    EXPECT_DOUBLE_EQ(row.available_hours_per_week(), expected[i].hours);
  }
  // Every role when none is named: the OT adds one row, first (roles sort
  // within an authority: occupational-therapist < speech-language-therapist).
  const v1::EquityReport all = Report(30, {});
  ASSERT_EQ(all.rows_size(), 4);
  EXPECT_EQ(all.rows(0).role(), kOt);
  EXPECT_EQ(all.rows(0).authority(), kDurham);
  EXPECT_EQ(all.rows(0).phase(), v1::PHASE_SCHOOLS);
  EXPECT_EQ(all.rows(0).specialists(), 1);
  EXPECT_DOUBLE_EQ(all.rows(0).available_hours_per_week(), 1);
  EXPECT_EQ(all.rows(1).role(), kSlt);
  // Committed hours show: 4 of a's hours shared out.
  const v1::SupportRequest r = MustCreate(Need());
  const v1::CapacityCommitment c = MustCommit(a_, r, 4);
  ASSERT_THAT(Confirm(c.name(), "k"), IsOk());
  const v1::EquityReport after = Report(30);
  EXPECT_DOUBLE_EQ(after.rows(0).available_hours_per_week(), 6);
  EXPECT_DOUBLE_EQ(after.rows(1).available_hours_per_week(), 11);
}

struct GapCase {
  double within_km;
  std::vector<std::string> gap_authorities;
};

class EquityGapTest : public EquityTest, public ::testing::WithParamInterface<GapCase> {};

// SLTs at the centres of County Durham and Newcastle. Distances between
// centres (km): Durham-Newcastle 26.0; from Newcastle: Gateshead 5.6, North
// Tyneside 9.0, South Tyneside 12.4, Northumberland 21.1; from Durham:
// Sunderland 17.8, Hartlepool 25.3, Darlington 25.4, Stockton 27.8,
// Middlesbrough 33.5, Redcar and Cleveland 40.2.
TEST_P(EquityGapTest, GapsBeyondTheRadius) {
  const v1::EquityReport report = Report(GetParam().within_km);
  EXPECT_DOUBLE_EQ(report.within_km(), GetParam().within_km);
  std::vector<std::string> gaps;
  for (const auto& g : report.gaps()) {
    EXPECT_EQ(g.role(), kSlt);
    EXPECT_EQ(g.region_code(), "E12000001");
    EXPECT_TRUE(g.nearest_found());
    EXPECT_GT(g.nearest_km(), GetParam().within_km);
    gaps.push_back(g.authority());
  }
  EXPECT_EQ(gaps, GetParam().gap_authorities);
  for (const auto& g : report.gaps()) {
    if (g.authority() == "E06000002") {
      EXPECT_NEAR(g.nearest_km(), 33.47, 0.05);
      EXPECT_EQ(g.authority_name(), "Middlesbrough");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Radii, EquityGapTest,
    ::testing::Values(GapCase{1,
                              {"E06000001", "E06000002", "E06000003", "E06000004", "E06000005", "E06000057",
                               "E08000022", "E08000023", "E08000024", "E08000037"}},
                      GapCase{10,
                              {"E06000001", "E06000002", "E06000003", "E06000004", "E06000005", "E06000057",
                               "E08000023", "E08000024"}},
                      GapCase{20, {"E06000001", "E06000002", "E06000003", "E06000004", "E06000005", "E06000057"}},
                      GapCase{30, {"E06000002", "E06000003"}}, GapCase{50, {}}),
    [](const auto& param_info) { return absl::StrCat("Within", static_cast<int>(param_info.param.within_km), "km"); });

TEST_F(EquityTest, GapsWhereNoSpecialistOfTheRoleExists) {
  const v1::EquityReport report = Report(30, {"physiotherapist"});
  EXPECT_THAT(report.rows(), IsEmpty());
  ASSERT_EQ(report.gaps_size(), 12) << "every North East authority";
  for (const auto& g : report.gaps()) {
    EXPECT_FALSE(g.nearest_found());
    EXPECT_EQ(g.nearest_km(), 0);
  }
}

TEST_F(EquityTest, TrendHasOnePointPerSweptDay) {
  // Day 1: 4 specialists, 90 contracted, 24 available.
  SweepNow();
  // Day 2: c's contracted hours rise by 10 (18 available).
  clock_.Set(At(2026, 11, 3, 9, 0, 0));
  v1::UpdateCapacityRequest update;
  update.set_name(c_.name());
  update.mutable_capacity()->set_contracted_hours_per_week(20);
  update.mutable_update_mask()->add_paths("contracted_hours_per_week");
  ASSERT_THAT(registry_->specialists().UpdateCapacity(update), IsOk());
  SweepNow();
  SweepNow();  // the same day again: still one point

  v1::GetEquityReportRequest req;
  req.set_parent("regions/north-east");
  ASSERT_OK_AND_ASSIGN(v1::EquityReport report, registry_->reports().GetEquityReport(req));
  EXPECT_DOUBLE_EQ(report.within_km(), 30);
  ASSERT_EQ(report.trend_size(), 2) << report.DebugString();
  EXPECT_TRUE(Same(report.trend(0).date(), Date(2026, 11, 2)));
  EXPECT_TRUE(Same(report.trend(1).date(), Date(2026, 11, 3)));
  for (const auto& p : report.trend()) {
    EXPECT_EQ(p.region_code(), "E12000001");
    EXPECT_EQ(p.role(), "");
    EXPECT_EQ(p.specialists(), 4);
  }
  EXPECT_DOUBLE_EQ(report.trend(0).contracted_hours_per_week(), 90);
  EXPECT_DOUBLE_EQ(report.trend(0).available_hours_per_week(), 24);
  EXPECT_DOUBLE_EQ(report.trend(1).contracted_hours_per_week(), 100);
  EXPECT_DOUBLE_EQ(report.trend(1).available_hours_per_week(), 34);

  // By role: SLT only.
  req.add_roles(kSlt);
  ASSERT_OK_AND_ASSIGN(report, registry_->reports().GetEquityReport(req));
  ASSERT_EQ(report.trend_size(), 2);
  EXPECT_EQ(report.trend(0).role(), kSlt);
  EXPECT_EQ(report.trend(0).specialists(), 3);
  EXPECT_DOUBLE_EQ(report.trend(0).available_hours_per_week(), 23);
  EXPECT_DOUBLE_EQ(report.trend(1).available_hours_per_week(), 33);

  // trend_days 1: today only; and it survives a restart.
  Reopen();
  req.clear_roles();
  req.set_trend_days(1);
  ASSERT_OK_AND_ASSIGN(report, registry_->reports().GetEquityReport(req));
  ASSERT_EQ(report.trend_size(), 1);
  EXPECT_TRUE(Same(report.trend(0).date(), Date(2026, 11, 3)));

  req.set_trend_days(367);
  EXPECT_THAT(registry_->reports().GetEquityReport(req), StatusIs(absl::StatusCode::kInvalidArgument));
  req.set_trend_days(0);
  req.set_within_km(-1);
  EXPECT_THAT(registry_->reports().GetEquityReport(req), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---------------------------------------------------------------------------
// Capacity watch

std::vector<v1::CapacityUpdate> Drain(watch::Watcher& w) {
  std::vector<v1::CapacityUpdate> out;
  while (std::optional<v1::CapacityUpdate> u = w.Next()) out.push_back(*std::move(u));
  return out;
}

TEST_F(SharingTest, WatchCapacitySnapshotThenLiveUpdatesThenResume) {
  const v1::Specialist p1 = AddSpecialist(Spec("p1", kNewcastle, kSlt, 30, 20));  // 10 free
  const v1::Specialist p2 = AddSpecialist(Spec("p2", kDurham, kSlt, 30, 25));     // 5 free
  AddSpecialist(Spec("ot", kDurham, kOt, 30, 0));                                 // filtered out

  v1::WatchCapacityRequest req;
  req.set_parent("regions/north-east");
  req.add_roles(kSlt);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<watch::Watcher> w, registry_->WatchCapacity(req, {}, [] {}));
  std::vector<v1::CapacityUpdate> snapshot = Drain(*w);
  ASSERT_EQ(snapshot.size(), 2u);
  std::map<std::string, double> hours;
  for (const auto& u : snapshot) {
    EXPECT_TRUE(u.snapshot());
    hours[u.specialist()] = u.available_hours_per_week();
  }
  EXPECT_TRUE(snapshot.back().snapshot_end());
  EXPECT_FALSE(snapshot.front().snapshot_end());
  EXPECT_EQ(hours, (std::map<std::string, double>{{p1.name(), 10}, {p2.name(), 5}}));

  // UpdateCapacity: one live update with the new hours.
  v1::UpdateCapacityRequest update;
  update.set_name(p1.name());
  update.mutable_capacity()->set_committed_hours_per_week(18);
  update.mutable_update_mask()->add_paths("committed_hours_per_week");
  ASSERT_THAT(registry_->specialists().UpdateCapacity(update), IsOk());
  std::vector<v1::CapacityUpdate> live = Drain(*w);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].specialist(), p1.name());
  EXPECT_FALSE(live[0].snapshot());
  EXPECT_DOUBLE_EQ(live[0].available_hours_per_week(), 12);
  EXPECT_DOUBLE_EQ(live[0].contracted_hours_per_week(), 30);
  EXPECT_EQ(live[0].owning_authority(), kNewcastle);
  const std::string token = live[0].resume_token();
  ASSERT_FALSE(token.empty());

  // An OFFERED commitment changes no hours: nothing sent.
  const v1::SupportRequest r = MustCreate(Need());
  const v1::CapacityCommitment c = MustCommit(p1, r, 7);
  EXPECT_THAT(Drain(*w), IsEmpty());
  // Confirming it does: 12 - 7 = 5.
  ASSERT_THAT(Confirm(c.name(), "k"), IsOk());
  live = Drain(*w);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].specialist(), p1.name());
  EXPECT_DOUBLE_EQ(live[0].available_hours_per_week(), 5);
  // A change of the filtered-out OT is not sent.
  v1::UpdateCapacityRequest ot_update;
  ot_update.set_name("regions/north-east/specialists/s-0003");
  ot_update.mutable_capacity()->set_committed_hours_per_week(3);
  ot_update.mutable_update_mask()->add_paths("committed_hours_per_week");
  ASSERT_THAT(registry_->specialists().UpdateCapacity(ot_update), IsOk());
  EXPECT_THAT(Drain(*w), IsEmpty());

  // Resuming from the first live update's token replays only the later
  // change (the confirmation), without a snapshot.
  v1::WatchCapacityRequest resume = req;
  resume.set_resume_token(token);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<watch::Watcher> w2, registry_->WatchCapacity(resume, {}, [] {}));
  EXPECT_FALSE(w2->needs_snapshot());
  std::vector<v1::CapacityUpdate> replay = Drain(*w2);
  ASSERT_EQ(replay.size(), 1u);
  EXPECT_EQ(replay[0].specialist(), p1.name());
  EXPECT_FALSE(replay[0].snapshot());
  EXPECT_DOUBLE_EQ(replay[0].available_hours_per_week(), 5);

  // Releasing the commitment reaches both watchers.
  ASSERT_THAT(Release(c.name()), IsOk());
  for (watch::Watcher* watcher : {w.get(), w2.get()}) {
    live = Drain(*watcher);
    ASSERT_EQ(live.size(), 1u);
    EXPECT_DOUBLE_EQ(live[0].available_hours_per_week(), 12);
  }
  w->Cancel();
  w2->Cancel();

  // A token the hub cannot use (bad format) starts with a snapshot.
  resume.set_resume_token("not-a-token");
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<watch::Watcher> w3, registry_->WatchCapacity(resume, {}, [] {}));
  EXPECT_TRUE(w3->needs_snapshot());
  std::vector<v1::CapacityUpdate> fresh = Drain(*w3);
  ASSERT_EQ(fresh.size(), 2u);
  w3->Cancel();
}

TEST_F(SharingTest, WatchCapacityRefusesUnknownFilters) {
  v1::WatchCapacityRequest req;
  req.set_parent("regions/north-east");
  req.add_authorities("E99999999");
  req.add_roles("wizard");
  auto result = registry_->WatchCapacity(req, {}, [] {});
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BadFields(result.status()), UnorderedElementsAre("authorities[0]", "roles[0]"));
}

}  // namespace
}  // namespace expertise::registry
