// The capacity-sharing steps that span regions, against scripted fake
// regions: which region is asked what, in which order, and what happens
// when a region refuses or cannot be reached. No servers; the same steps
// run against real registries in tests/integration/sharing_test.cc.

#include "services/directory/cross_region_sharing.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/errors.h"
#include "services/common/fnv.h"
#include "services/common/status_macros.h"
#include "tests/testutil/status_matchers.h"

namespace expertise::directory {
namespace {

namespace v1 = ::expertise::registry::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kNorthWest[] = "regions/north-west";
constexpr char kLondon[] = "regions/london";
constexpr char kRequest[] = "regions/north-west/supportRequests/r-1";
constexpr char kSpecialist[] = "regions/london/specialists/s-9";

// One region: answers from what the test put in it, records every call as
// "Method name-or-parent", and fails a method when told to.
class FakeRegion final : public RegionClient {
 public:
  explicit FakeRegion(std::string name) : name_(std::move(name)) {}

  const std::string& name() const override { return name_; }

  std::map<std::string, v1::SupportRequest> requests;
  std::map<std::string, v1::Specialist> specialists;
  std::map<std::string, absl::Status> failures;  // method -> its answer
  std::vector<std::string> calls;
  // The last request of each kind, for their fields.
  v1::CreateCapacityCommitmentRequest created;
  v1::ConfirmCapacityCommitmentRequest confirmed;
  std::vector<v1::ReleaseCapacityCommitmentRequest> released;
  v1::OfferSupportRequest offered;
  v1::AcceptOfferRequest accepted;
  std::vector<v1::ListSupportRequestsRequest> listed;
  // Pages ListSupportRequests returns, in turn.
  std::vector<v1::ListSupportRequestsResponse> pages;

  absl::Status GetSpecialist(const v1::GetSpecialistRequest& request, v1::Specialist* response) override {
    RETURN_IF_ERROR(Called("GetSpecialist", request.name()));
    auto it = specialists.find(request.name());
    if (it == specialists.end()) return absl::NotFoundError(request.name());
    *response = it->second;
    return absl::OkStatus();
  }
  absl::Status GetSupportRequest(const v1::GetSupportRequestRequest& request,
                                 v1::SupportRequest* response) override {
    RETURN_IF_ERROR(Called("GetSupportRequest", request.name()));
    auto it = requests.find(request.name());
    if (it == requests.end()) return absl::NotFoundError(request.name());
    *response = it->second;
    return absl::OkStatus();
  }
  absl::Status ListSupportRequests(const v1::ListSupportRequestsRequest& request,
                                   v1::ListSupportRequestsResponse* response) override {
    RETURN_IF_ERROR(Called("ListSupportRequests", request.parent()));
    listed.push_back(request);
    const size_t page = listed.size() - 1;
    if (page < pages.size()) *response = pages[page];
    return absl::OkStatus();
  }
  absl::Status CreateCapacityCommitment(const v1::CreateCapacityCommitmentRequest& request,
                                        v1::CapacityCommitment* response) override {
    RETURN_IF_ERROR(Called("CreateCapacityCommitment", request.parent()));
    created = request;
    *response = request.commitment();
    response->set_name(absl::StrCat(request.parent(), "/commitments/c-1"));
    return absl::OkStatus();
  }
  absl::Status ConfirmCapacityCommitment(const v1::ConfirmCapacityCommitmentRequest& request,
                                         v1::CapacityCommitment* response) override {
    RETURN_IF_ERROR(Called("ConfirmCapacityCommitment", request.name()));
    confirmed = request;
    response->set_name(request.name());
    return absl::OkStatus();
  }
  absl::Status ReleaseCapacityCommitment(const v1::ReleaseCapacityCommitmentRequest& request,
                                         v1::CapacityCommitment* response) override {
    RETURN_IF_ERROR(Called("ReleaseCapacityCommitment", request.name()));
    released.push_back(request);
    response->set_name(request.name());
    return absl::OkStatus();
  }
  absl::Status OfferSupport(const v1::OfferSupportRequest& request, v1::SupportRequest* response) override {
    RETURN_IF_ERROR(Called("OfferSupport", request.name()));
    offered = request;
    *response = requests[request.name()];
    return absl::OkStatus();
  }
  absl::Status AcceptOffer(const v1::AcceptOfferRequest& request, v1::SupportRequest* response) override {
    RETURN_IF_ERROR(Called("AcceptOffer", request.name()));
    accepted = request;
    *response = requests[request.name()];
    return absl::OkStatus();
  }
  absl::Status DeclineOffers(const v1::DeclineOffersRequest& request, v1::SupportRequest* response) override {
    return Change("DeclineOffers", request.name(), response);
  }
  absl::Status WithdrawSupportRequest(const v1::WithdrawSupportRequestRequest& request,
                                      v1::SupportRequest* response) override {
    return Change("WithdrawSupportRequest", request.name(), response);
  }
  absl::Status CompleteSupportRequest(const v1::CompleteSupportRequestRequest& request,
                                      v1::SupportRequest* response) override {
    return Change("CompleteSupportRequest", request.name(), response);
  }
  absl::Status EscalateSupportRequest(const v1::EscalateSupportRequestRequest& request,
                                      v1::SupportRequest* response) override {
    return Change("EscalateSupportRequest", request.name(), response);
  }

 private:
  absl::Status Called(const std::string& method, const std::string& name) {
    calls.push_back(absl::StrCat(method, " ", name));
    auto it = failures.find(method);
    return it == failures.end() ? absl::OkStatus() : it->second;
  }
  absl::Status Change(const std::string& method, const std::string& name, v1::SupportRequest* response) {
    RETURN_IF_ERROR(Called(method, name));
    *response = requests[name];
    return absl::OkStatus();
  }

  std::string name_;
};

class FakeRegions final : public RegionClients {
 public:
  FakeRegions() {
    for (const char* name : {kNorthWest, kLondon}) regions_.push_back(std::make_unique<FakeRegion>(name));
  }
  FakeRegion& north_west() { return *regions_[0]; }
  FakeRegion& london() { return *regions_[1]; }
  // Where `regions/-/supportRequests/{id}` names resolve to; empty: NOT_FOUND.
  std::string resolves_to;

  absl::StatusOr<RegionClient*> ForName(const std::string& name, std::string_view field) override {
    for (const auto& region : regions_) {
      if (absl::StartsWith(name, region->name() + "/")) return region.get();
    }
    return InvalidFieldError(std::string(field), "is not in a configured region");
  }
  std::vector<RegionClient*> All() override { return {regions_[0].get(), regions_[1].get()}; }
  absl::Status ResolveSupportRequest(std::string* name) override {
    if (!absl::StartsWith(*name, "regions/-/")) return absl::OkStatus();
    if (resolves_to.empty()) return absl::NotFoundError(absl::StrCat(*name, " does not exist"));
    *name = resolves_to;
    return absl::OkStatus();
  }

 private:
  std::vector<std::unique_ptr<FakeRegion>> regions_;
};

// A need in the North West and a London specialist who could meet it.
class CrossRegionSharingTest : public ::testing::Test {
 protected:
  CrossRegionSharingTest() : sharing_(&regions_) {
    v1::SupportRequest& need = regions_.north_west().requests[kRequest];
    need.set_name(kRequest);
    need.set_requesting_authority("E08000003");
    need.set_hours_per_week(6);
    need.set_weeks(10);
    need.mutable_start_date()->set_year(2027);
    need.mutable_start_date()->set_month(1);
    need.mutable_start_date()->set_day(4);
    v1::Specialist& specialist = regions_.london().specialists[kSpecialist];
    specialist.set_name(kSpecialist);
    specialist.set_owning_authority("E09000007");
  }

  v1::SupportRequest& need() { return regions_.north_west().requests[kRequest]; }
  // An offer of the London specialist on the need, with its commitment.
  void AddOffer(const std::string& offer_id, const std::string& commitment, v1::SupportOffer::State state) {
    v1::SupportOffer* offer = need().add_offers();
    offer->set_offer_id(offer_id);
    offer->set_specialist(kSpecialist);
    offer->set_commitment(commitment);
    offer->set_state(state);
  }

  FakeRegions regions_;
  CrossRegionSharing sharing_;
};

TEST_F(CrossRegionSharingTest, AnOfferHoldsTheProvidersHoursFirstThenRecordsTheOfferOnTheRequest) {
  v1::OfferSupportRequest request;
  request.set_name(kRequest);
  request.mutable_offer()->set_specialist(kSpecialist);
  ASSERT_THAT(sharing_.Offer(request), testing::IsOk());

  EXPECT_THAT(regions_.london().calls, ElementsAre(absl::StrCat("GetSpecialist ", kSpecialist),
                                                   absl::StrCat("CreateCapacityCommitment ", kSpecialist)));
  EXPECT_THAT(regions_.north_west().calls,
              ElementsAre(absl::StrCat("GetSupportRequest ", kRequest), absl::StrCat("OfferSupport ", kRequest)));
  const v1::CreateCapacityCommitmentRequest& created = regions_.london().created;
  EXPECT_EQ(created.commitment().support_request(), kRequest);
  EXPECT_EQ(created.commitment().requesting_authority(), "E08000003");
  EXPECT_EQ(created.commitment().hours_per_week(), 6);  // the need's, when the offer names none
  EXPECT_EQ(created.commitment().start_date().day(), 4);
  EXPECT_TRUE(created.commitment().has_end_date());
  // Derived from the specialist, so a retry finds the same commitment.
  EXPECT_EQ(created.request_id(), absl::StrFormat("offer-%016x-0", Fnv1a64(std::string(kSpecialist))));
  const v1::OfferSupportRequest& offered = regions_.north_west().offered;
  EXPECT_EQ(offered.commitment(), absl::StrCat(kSpecialist, "/commitments/c-1"));
  EXPECT_EQ(offered.offer().provider_authority(), "E09000007");
  EXPECT_EQ(offered.offer().hours_per_week(), 6);
}

TEST_F(CrossRegionSharingTest, OfferIdsCountClosedOffersAndTheCallersIdWins) {
  AddOffer("o-1", "regions/london/specialists/s-9/commitments/c-0", v1::SupportOffer::CLOSED);
  v1::OfferSupportRequest request;
  request.set_name(kRequest);
  request.mutable_offer()->set_specialist(kSpecialist);
  request.mutable_offer()->set_hours_per_week(3);
  ASSERT_THAT(sharing_.Offer(request), testing::IsOk());
  EXPECT_EQ(regions_.london().created.request_id(), absl::StrFormat("offer-%016x-1", Fnv1a64(std::string(kSpecialist))));
  EXPECT_EQ(regions_.london().created.commitment().hours_per_week(), 3);

  request.set_request_id("caller-chose-this");
  ASSERT_THAT(sharing_.Offer(request), testing::IsOk());
  EXPECT_EQ(regions_.london().created.request_id(), "caller-chose-this");
}

TEST_F(CrossRegionSharingTest, AnOfferStillOpenIsARetryAndChangesNothing) {
  AddOffer("o-1", "regions/london/specialists/s-9/commitments/c-1", v1::SupportOffer::PENDING);
  v1::OfferSupportRequest request;
  request.set_name(kRequest);
  request.mutable_offer()->set_specialist(kSpecialist);
  absl::StatusOr<v1::SupportRequest> answer = sharing_.Offer(request);
  ASSERT_THAT(answer, testing::IsOk());
  EXPECT_EQ(answer->offers_size(), 1);
  EXPECT_THAT(regions_.london().calls, ElementsAre(absl::StrCat("GetSpecialist ", kSpecialist)));
}

TEST_F(CrossRegionSharingTest, AnOfferWhoseCommitmentFailsRecordsNoOffer) {
  regions_.london().failures["CreateCapacityCommitment"] =
      absl::FailedPreconditionError("regions/london: not enough free hours");
  v1::OfferSupportRequest request;
  request.set_name(kRequest);
  request.mutable_offer()->set_specialist(kSpecialist);
  absl::StatusOr<v1::SupportRequest> answer = sharing_.Offer(request);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(answer.status().message(), HasSubstr("regions/london"));
  EXPECT_THAT(regions_.north_west().calls, ElementsAre(absl::StrCat("GetSupportRequest ", kRequest)));
}

TEST_F(CrossRegionSharingTest, ANameInAnyRegionIsResolvedFirst) {
  regions_.resolves_to = kRequest;
  v1::OfferSupportRequest request;
  request.set_name("regions/-/supportRequests/r-1");
  request.mutable_offer()->set_specialist(kSpecialist);
  ASSERT_THAT(sharing_.Offer(request), testing::IsOk());
  EXPECT_EQ(regions_.north_west().offered.name(), kRequest);

  regions_.resolves_to.clear();
  EXPECT_EQ(sharing_.Offer(request).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CrossRegionSharingTest, AcceptingNeedsARequestIdAndAnOfferOfTheRequest) {
  v1::AcceptOfferRequest request;
  request.set_name(kRequest);
  request.set_offer_id("o-1");
  absl::Status no_id = sharing_.Accept(request).status();
  EXPECT_EQ(no_id.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(testing::BadFields(no_id), ElementsAre("request_id"));

  request.set_request_id("accept-1");
  absl::Status no_offer = sharing_.Accept(request).status();
  EXPECT_EQ(no_offer.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorReason(no_offer), "OFFER_NOT_FOUND");
  EXPECT_THAT(regions_.london().calls, IsEmpty());
}

TEST_F(CrossRegionSharingTest, AcceptingAcrossRegionsConfirmsInTheProvidersRegionThenRecordsTheAcceptance) {
  const std::string commitment = "regions/london/specialists/s-9/commitments/c-1";
  AddOffer("o-1", commitment, v1::SupportOffer::PENDING);
  v1::AcceptOfferRequest request;
  request.set_name(kRequest);
  request.set_offer_id("o-1");
  request.set_request_id("accept-1");
  ASSERT_THAT(sharing_.Accept(request), testing::IsOk());
  EXPECT_THAT(regions_.london().calls, ElementsAre("ConfirmCapacityCommitment " + commitment));
  EXPECT_EQ(regions_.london().confirmed.request_id(), "accept-1");
  EXPECT_EQ(regions_.london().confirmed.support_request(), kRequest);
  EXPECT_EQ(regions_.north_west().accepted.confirmed_commitment(), commitment);
  EXPECT_EQ(regions_.north_west().accepted.request_id(), "accept-1");
}

TEST_F(CrossRegionSharingTest, AcceptingWithinOneRegionIsOneCall) {
  const std::string commitment = "regions/north-west/specialists/s-2/commitments/c-1";
  AddOffer("o-1", commitment, v1::SupportOffer::PENDING);
  v1::AcceptOfferRequest request;
  request.set_name(kRequest);
  request.set_offer_id("o-1");
  request.set_request_id("accept-1");
  ASSERT_THAT(sharing_.Accept(request), testing::IsOk());
  EXPECT_THAT(regions_.north_west().calls,
              ElementsAre(absl::StrCat("GetSupportRequest ", kRequest), absl::StrCat("AcceptOffer ", kRequest)));
  EXPECT_TRUE(regions_.north_west().accepted.confirmed_commitment().empty());
}

// What the provider's hours become when the requester's region does not
// record the acceptance: given back when it refused for good, held when the
// outcome is unknown (a retry with the same request id completes it).
TEST_F(CrossRegionSharingTest, HoursGoBackOnlyWhenTheRequestersRegionRefusedForGood) {
  const std::string commitment = "regions/london/specialists/s-9/commitments/c-1";
  struct Case {
    absl::Status refusal;
    bool released;
  };
  for (const Case& c : {Case{absl::FailedPreconditionError("another offer won"), true},
                        Case{absl::NotFoundError("gone"), true},
                        Case{absl::PermissionDeniedError("not yours"), true},
                        Case{absl::InvalidArgumentError("bad"), true},
                        Case{absl::UnavailableError("unreachable"), false},
                        Case{absl::DeadlineExceededError("slow"), false},
                        Case{absl::AbortedError("conflict"), false}}) {
    FakeRegions regions;
    CrossRegionSharing sharing(&regions);
    v1::SupportRequest& need = regions.north_west().requests[kRequest];
    need.set_name(kRequest);
    v1::SupportOffer* offer = need.add_offers();
    offer->set_offer_id("o-1");
    offer->set_commitment(commitment);
    regions.north_west().failures["AcceptOffer"] = c.refusal;
    v1::AcceptOfferRequest request;
    request.set_name(kRequest);
    request.set_offer_id("o-1");
    request.set_request_id("accept-1");
    EXPECT_EQ(sharing.Accept(request).status().code(), c.refusal.code());
    if (c.released) {
      EXPECT_THAT(regions.london().calls, ElementsAre("ConfirmCapacityCommitment " + commitment,
                                                      "ReleaseCapacityCommitment " + commitment))
          << c.refusal;
    } else {
      EXPECT_THAT(regions.london().calls, ElementsAre("ConfirmCapacityCommitment " + commitment)) << c.refusal;
    }
  }
}

TEST_F(CrossRegionSharingTest, AConfirmationRefusedRecordsNoAcceptance) {
  AddOffer("o-1", "regions/london/specialists/s-9/commitments/c-1", v1::SupportOffer::PENDING);
  regions_.london().failures["ConfirmCapacityCommitment"] = absl::FailedPreconditionError("no hours left");
  v1::AcceptOfferRequest request;
  request.set_name(kRequest);
  request.set_offer_id("o-1");
  request.set_request_id("accept-1");
  EXPECT_EQ(sharing_.Accept(request).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(regions_.north_west().calls, ElementsAre(absl::StrCat("GetSupportRequest ", kRequest)));
}

TEST_F(CrossRegionSharingTest, CompletingReleasesOtherRegionsCommitmentsAndCompletesTheAcceptedOne) {
  AddOffer("o-1", "regions/london/specialists/s-9/commitments/c-1", v1::SupportOffer::ACCEPTED);
  AddOffer("o-2", "regions/london/specialists/s-8/commitments/c-2", v1::SupportOffer::CLOSED);
  AddOffer("o-3", "regions/north-west/specialists/s-2/commitments/c-3", v1::SupportOffer::CLOSED);
  need().set_accepted_offer_id("o-1");
  v1::CompleteSupportRequestRequest request;
  request.set_name(kRequest);
  ASSERT_THAT(sharing_.Complete(request), testing::IsOk());
  EXPECT_THAT(regions_.north_west().calls, ElementsAre(absl::StrCat("CompleteSupportRequest ", kRequest)));
  // The request's own region settles its commitments itself.
  ASSERT_EQ(regions_.london().released.size(), 2u);
  EXPECT_EQ(regions_.london().released[0].name(), "regions/london/specialists/s-9/commitments/c-1");
  EXPECT_TRUE(regions_.london().released[0].completed());
  EXPECT_EQ(regions_.london().released[1].name(), "regions/london/specialists/s-8/commitments/c-2");
  EXPECT_FALSE(regions_.london().released[1].completed());
}

TEST_F(CrossRegionSharingTest, DecliningWithdrawingAndEscalatingReleaseWithoutCompleting) {
  AddOffer("o-1", "regions/london/specialists/s-9/commitments/c-1", v1::SupportOffer::PENDING);
  need().set_accepted_offer_id("o-1");  // ignored: only completion completes
  v1::DeclineOffersRequest decline;
  decline.set_name(kRequest);
  ASSERT_THAT(sharing_.Decline(decline), testing::IsOk());
  v1::WithdrawSupportRequestRequest withdraw;
  withdraw.set_name(kRequest);
  ASSERT_THAT(sharing_.Withdraw(withdraw), testing::IsOk());
  v1::EscalateSupportRequestRequest escalate;
  escalate.set_name(kRequest);
  ASSERT_THAT(sharing_.Escalate(escalate), testing::IsOk());
  EXPECT_THAT(regions_.north_west().calls,
              ElementsAre(absl::StrCat("DeclineOffers ", kRequest), absl::StrCat("WithdrawSupportRequest ", kRequest),
                          absl::StrCat("EscalateSupportRequest ", kRequest)));
  ASSERT_EQ(regions_.london().released.size(), 3u);
  for (const auto& release : regions_.london().released) EXPECT_FALSE(release.completed());
}

TEST_F(CrossRegionSharingTest, ARequestChangeRefusedReleasesNothingAndAFailedReleaseIsReported) {
  AddOffer("o-1", "regions/london/specialists/s-9/commitments/c-1", v1::SupportOffer::PENDING);
  regions_.north_west().failures["WithdrawSupportRequest"] = absl::FailedPreconditionError("already closed");
  v1::WithdrawSupportRequestRequest withdraw;
  withdraw.set_name(kRequest);
  EXPECT_EQ(sharing_.Withdraw(withdraw).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(regions_.london().calls, IsEmpty());

  regions_.north_west().failures.clear();
  regions_.london().failures["ReleaseCapacityCommitment"] = absl::UnavailableError("regions/london: down");
  absl::Status status = sharing_.Withdraw(withdraw).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);  // a retry settles it
}

TEST_F(CrossRegionSharingTest, ANationalListingGathersEveryPageAndNamesRegionsItCouldNotRead) {
  v1::ListSupportRequestsResponse first;
  first.add_support_requests()->set_name("regions/north-west/supportRequests/r-1");
  first.set_next_page_token("more");
  v1::ListSupportRequestsResponse second;
  second.add_support_requests()->set_name("regions/north-west/supportRequests/r-2");
  regions_.north_west().pages = {first, second};
  regions_.london().failures["ListSupportRequests"] = absl::UnavailableError("regions/london: down");
  v1::ListSupportRequestsRequest request;
  request.set_parent("regions/-");
  absl::StatusOr<v1::ListSupportRequestsResponse> listing = sharing_.ListEverywhere(request);
  ASSERT_THAT(listing, testing::IsOk());
  EXPECT_EQ(listing->support_requests_size(), 2);
  EXPECT_THAT(listing->unreachable(), ElementsAre(kLondon));
  ASSERT_EQ(regions_.north_west().listed.size(), 2u);
  EXPECT_EQ(regions_.north_west().listed[0].parent(), kNorthWest);
  EXPECT_EQ(regions_.north_west().listed[1].page_token(), "more");

  // The caller's mistake is the same everywhere: returned, not hidden.
  regions_.london().failures["ListSupportRequests"] = absl::PermissionDeniedError("not yours");
  regions_.north_west().listed.clear();
  EXPECT_EQ(sharing_.ListEverywhere(request).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(CrossRegionSharingTest, ANationalListingChecksItsPagingFieldsBeforeAskingAnyRegion) {
  v1::ListSupportRequestsRequest request;
  request.set_parent("regions/-");
  request.set_page_size(-1);
  EXPECT_THAT(testing::BadFields(sharing_.ListEverywhere(request).status()), ElementsAre("page_size"));
  request.set_page_size(0);
  request.set_page_token("not a token");
  EXPECT_THAT(testing::BadFields(sharing_.ListEverywhere(request).status()), ElementsAre("page_token"));
  EXPECT_THAT(regions_.north_west().calls, IsEmpty());
  EXPECT_THAT(regions_.london().calls, IsEmpty());
}

}  // namespace
}  // namespace expertise::directory
