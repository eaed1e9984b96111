// Capacity sharing end to end with the real binaries: two regional
// registries and the directory, every call made as a real caller (API keys
// from the test keyring), so the access rules, the cross-region steps and
// the race for the same hours are all exercised over gRPC.

#include <atomic>
#include <csignal>
#include <set>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "expertise/registry/v1/sharing_service.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tests/testutil/credentials.h"
#include "tests/testutil/registry_process.h"
#include "tests/testutil/temp_dir.h"

namespace expertise {
namespace {

namespace v1 = registry::v1;
using testing::DirectoryProcess;
using testing::RegistryProcess;

constexpr char kLeeds[] = "E08000035";         // Yorkshire and the Humber: the provider
constexpr char kDurham[] = "E06000047";        // North East: requesters from here on
constexpr char kHartlepool[] = "E06000001";
const char* const kNorthEast[] = {"E06000047", "E06000001", "E06000002", "E06000003",
                                  "E06000004", "E06000005", "E08000021", "E08000022"};

std::string Reason(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

class SharingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"north-east", "yorkshire-and-the-humber"}) {
      auto process = RegistryProcess::Start(id, dir_.File(std::string(id) + ".db"));
      ASSERT_TRUE(process.ok()) << process.status();
      registries_.push_back(*std::move(process));
    }
    auto directory = DirectoryProcess::Start(
        dir_.path(), {{"north-east", registries_[0]->address()},
                      {"yorkshire-and-the-humber", registries_[1]->address()}});
    ASSERT_TRUE(directory.ok()) << directory.status();
    directory_ = *std::move(directory);
  }

  std::unique_ptr<v1::CapacitySharingService::Stub> Sharing(const std::string& principal) {
    return v1::CapacitySharingService::NewStub(testing::ChannelAs(directory_->address(), principal));
  }
  std::unique_ptr<v1::RegistryService::Stub> Registry(const std::string& principal) {
    return v1::RegistryService::NewStub(testing::ChannelAs(directory_->address(), principal));
  }

  // A Leeds speech and language therapist with `hours` contracted hours.
  v1::Specialist CreateProvider(double hours) {
    v1::CreateSpecialistRequest create;
    create.set_parent("regions/yorkshire-and-the-humber");
    v1::Specialist* s = create.mutable_specialist();
    s->set_owning_authority(kLeeds);
    s->set_source("manual");
    s->set_external_id(absl::StrCat("slt-", ++providers_));
    s->set_display_name("Alex Example");
    s->set_role("speech-language-therapist");
    s->add_specialisms("developmental-language-disorder");
    s->add_settings("early-years-pvi");
    s->add_settings("primary");
    s->mutable_age_range()->set_min_age(0);
    s->mutable_age_range()->set_max_age(11);
    s->add_languages("en");
    s->add_delivery_modes(v1::DELIVERY_MODE_IN_PERSON);
    s->add_delivery_modes(v1::DELIVERY_MODE_REMOTE);
    s->set_travel_radius_km(150);
    s->set_employer_type(v1::EMPLOYER_TYPE_LOCAL_AUTHORITY);
    s->set_visibility(v1::VISIBILITY_NATIONAL);
    s->mutable_capacity()->set_contracted_hours_per_week(hours);
    s->mutable_capacity()->set_accepting_external_requests(true);
    v1::Specialist created;
    grpc::ClientContext ctx;
    grpc::Status status = Registry(absl::StrCat("authority/", kLeeds))->CreateSpecialist(&ctx, create, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  v1::SupportRequest CreateRequest(const std::string& authority, double hours) {
    v1::CreateSupportRequestRequest create;
    create.set_parent("regions/north-east");
    v1::SupportRequest* r = create.mutable_support_request();
    r->set_requesting_authority(authority);
    r->set_role("speech-language-therapist");
    r->add_specialisms("developmental-language-disorder");
    r->set_setting("early-years-pvi");
    r->set_age_band(v1::AGE_BAND_EARLY_YEARS);
    r->set_hours_per_week(hours);
    r->set_weeks(12);
    r->set_urgency(v1::URGENCY_SOON);
    r->set_note("Nursery cluster needs DLD assessment capacity this term");
    create.set_request_id(absl::StrCat("create-", authority, "-", ++requests_));
    v1::SupportRequest created;
    grpc::ClientContext ctx;
    grpc::Status status = Sharing(absl::StrCat("authority/", authority))->CreateSupportRequest(&ctx, create, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  v1::SupportRequest Offer(const std::string& request, const std::string& specialist) {
    v1::OfferSupportRequest offer;
    offer.set_name(request);
    offer.mutable_offer()->set_specialist(specialist);
    offer.mutable_offer()->set_note("Can start after half term");
    v1::SupportRequest out;
    grpc::ClientContext ctx;
    grpc::Status status = Sharing(absl::StrCat("authority/", kLeeds))->OfferSupport(&ctx, offer, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  grpc::Status Accept(const std::string& authority, const std::string& request,
                      const std::string& offer_id, const std::string& request_id,
                      v1::SupportRequest* out) {
    v1::AcceptOfferRequest accept;
    accept.set_name(request);
    accept.set_offer_id(offer_id);
    accept.set_request_id(request_id);
    grpc::ClientContext ctx;
    return Sharing(absl::StrCat("authority/", authority))->AcceptOffer(&ctx, accept, out);
  }

  v1::Specialist GetSpecialist(const std::string& name) {
    v1::GetSpecialistRequest get;
    get.set_name(name);
    v1::Specialist out;
    grpc::ClientContext ctx;
    EXPECT_TRUE(Registry(absl::StrCat("authority/", kLeeds))->GetSpecialist(&ctx, get, &out).ok());
    return out;
  }

  v1::SupportRequest GetRequest(const std::string& name) {
    v1::GetSupportRequestRequest get;
    get.set_name(name);
    v1::SupportRequest out;
    grpc::ClientContext ctx;
    EXPECT_TRUE(Sharing("coordinator/E12000001")->GetSupportRequest(&ctx, get, &out).ok());
    return out;
  }

  testing::TempDir dir_;
  std::vector<std::unique_ptr<RegistryProcess>> registries_;
  std::unique_ptr<DirectoryProcess> directory_;
  int providers_ = 0;
  int requests_ = 0;
};

TEST_F(SharingTest, OfferAcceptAndCompleteAcrossTwoRegions) {
  const v1::Specialist provider = CreateProvider(10);
  v1::SupportRequest need = CreateRequest(kDurham, 6);
  EXPECT_EQ(need.state(), v1::SUPPORT_REQUEST_STATE_OPEN);
  // The directory finds a request by its id alone.
  {
    const std::string id = need.name().substr(need.name().rfind('/') + 1);
    EXPECT_EQ(GetRequest("regions/-/supportRequests/" + id).name(), need.name());
    v1::GetSupportRequestRequest missing;
    missing.set_name("regions/-/supportRequests/r-0000000000000000");
    v1::SupportRequest out;
    grpc::ClientContext ctx;
    EXPECT_EQ(Sharing("coordinator/E12000001")->GetSupportRequest(&ctx, missing, &out).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  // Matching ranks the Leeds therapist, with reasons.
  {
    v1::SuggestProvidersRequest suggest;
    suggest.set_name(need.name());
    v1::SuggestProvidersResponse suggestions;
    grpc::ClientContext ctx;
    ASSERT_TRUE(Sharing(absl::StrCat("authority/", kDurham))->SuggestProviders(&ctx, suggest, &suggestions).ok());
    ASSERT_EQ(suggestions.suggestions_size(), 1);
    EXPECT_EQ(suggestions.suggestions(0).specialist().name(), provider.name());
    EXPECT_GT(suggestions.suggestions(0).score(), 50);
    EXPECT_EQ(suggestions.suggestions(0).reasons_size(), 4);
  }

  need = Offer(need.name(), provider.name());
  ASSERT_EQ(need.state(), v1::SUPPORT_REQUEST_STATE_OFFERED);
  ASSERT_EQ(need.offers_size(), 1);
  EXPECT_EQ(need.offers(0).provider_authority(), kLeeds);
  EXPECT_THAT(need.offers(0).commitment(), ::testing::StartsWith(provider.name() + "/commitments/"));
  // An offer holds no hours yet.
  EXPECT_DOUBLE_EQ(GetSpecialist(provider.name()).capacity().available_hours_per_week(), 10);

  // Another authority may not accept Durham's offer.
  v1::SupportRequest out;
  grpc::Status denied = Accept(kHartlepool, need.name(), "o-1", "accept-1", &out);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << denied.error_message();

  grpc::Status accepted = Accept(kDurham, need.name(), "o-1", "accept-1", &out);
  ASSERT_TRUE(accepted.ok()) << accepted.error_message();
  EXPECT_EQ(out.state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
  v1::Specialist after = GetSpecialist(provider.name());
  EXPECT_DOUBLE_EQ(after.capacity().available_hours_per_week(), 4);
  EXPECT_DOUBLE_EQ(after.capacity().shared_committed_hours_per_week(), 6);
  ASSERT_EQ(after.commitments_size(), 1);
  EXPECT_EQ(after.commitments(0).state(), v1::CapacityCommitment::COMMITTED);

  // Every step is in the audit trails: the request's in its region, the
  // commitment's in the provider's, each naming the caller the directory
  // acted for.
  auto trail = [&](const std::string& region, const std::string& coordinator, const std::string& prefix) {
    v1::ListAuditRecordsRequest list;
    list.set_parent(region);
    list.set_resource_prefix(prefix);
    list.set_page_size(1000);
    v1::ListAuditRecordsResponse records;
    grpc::ClientContext ctx;
    EXPECT_TRUE(Registry(coordinator)->ListAuditRecords(&ctx, list, &records).ok());
    std::vector<std::string> seen;
    for (const auto& r : records.audit_records()) {
      seen.push_back(absl::StrCat(r.actor(), " ", r.action(), " ", r.phase(), " ", r.outcome()));
    }
    return seen;
  };
  EXPECT_THAT(trail("regions/north-east", "coordinator/E12000001", need.name()),
              ::testing::IsSupersetOf({"authority/E06000047 CreateSupportRequest outcome OK",
                                       "authority/E08000035 OfferSupport outcome OK",
                                       "authority/E06000047 AcceptOffer outcome OK"}));
  // Hartlepool's refused acceptance stopped at the first step, in the
  // provider's region.
  EXPECT_THAT(trail("regions/yorkshire-and-the-humber", "coordinator/E12000003", provider.name() + "/"),
              ::testing::IsSupersetOf({"authority/E08000035 CreateCapacityCommitment outcome OK",
                                       "authority/E06000001 ConfirmCapacityCommitment outcome PERMISSION_DENIED",
                                       "authority/E06000047 ConfirmCapacityCommitment outcome OK"}));

  // A retry with the same request id is safe: same answer, hours taken once.
  ASSERT_TRUE(Accept(kDurham, need.name(), "o-1", "accept-1", &out).ok());
  EXPECT_DOUBLE_EQ(GetSpecialist(provider.name()).capacity().available_hours_per_week(), 4);

  // Completing ends the commitment and returns the hours.
  v1::CompleteSupportRequestRequest complete;
  complete.set_name(need.name());
  grpc::ClientContext ctx;
  ASSERT_TRUE(Sharing(absl::StrCat("authority/", kDurham))->CompleteSupportRequest(&ctx, complete, &out).ok());
  EXPECT_EQ(out.state(), v1::SUPPORT_REQUEST_STATE_COMPLETED);
  after = GetSpecialist(provider.name());
  EXPECT_DOUBLE_EQ(after.capacity().available_hours_per_week(), 10);
  EXPECT_EQ(after.commitments(0).state(), v1::CapacityCommitment::COMPLETED);
}

TEST_F(SharingTest, ExactlyOneOfManyRacingAuthoritiesGetsTheSameHours) {
  const v1::Specialist provider = CreateProvider(10);
  std::vector<v1::SupportRequest> needs;
  for (const char* authority : kNorthEast) {
    needs.push_back(Offer(CreateRequest(authority, 6).name(), provider.name()));
  }
  std::vector<grpc::Status> results(needs.size());
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < needs.size(); ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < static_cast<int>(needs.size())) std::this_thread::yield();
      v1::SupportRequest out;
      results[i] = Accept(kNorthEast[i], needs[i].name(), "o-1", absl::StrCat("race-", i), &out);
    });
  }
  for (auto& t : threads) t.join();
  int winners = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) {
      ++winners;
      EXPECT_EQ(GetRequest(needs[i].name()).state(), v1::SUPPORT_REQUEST_STATE_ACCEPTED);
    } else {
      EXPECT_EQ(results[i].error_code(), grpc::StatusCode::FAILED_PRECONDITION) << results[i].error_message();
      EXPECT_EQ(Reason(results[i]), "INSUFFICIENT_CAPACITY") << results[i].error_message();
      EXPECT_EQ(GetRequest(needs[i].name()).state(), v1::SUPPORT_REQUEST_STATE_OFFERED);
    }
  }
  EXPECT_EQ(winners, 1);
  const v1::Specialist after = GetSpecialist(provider.name());
  EXPECT_DOUBLE_EQ(after.capacity().available_hours_per_week(), 4);
  int committed = 0;
  for (const auto& c : after.commitments()) committed += c.state() == v1::CapacityCommitment::COMMITTED;
  EXPECT_EQ(committed, 1);
}

TEST_F(SharingTest, DeclineWithdrawEscalateAndIllegalTransitions) {
  const v1::Specialist provider = CreateProvider(20);
  auto sharing = Sharing(absl::StrCat("authority/", kDurham));
  v1::SupportRequest out;

  // Completing an OPEN request is not a legal transition.
  v1::SupportRequest open = CreateRequest(kDurham, 3);
  {
    v1::CompleteSupportRequestRequest complete;
    complete.set_name(open.name());
    grpc::ClientContext ctx;
    grpc::Status status = sharing->CompleteSupportRequest(&ctx, complete, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(Reason(status), "ILLEGAL_TRANSITION");
    EXPECT_EQ(GetRequest(open.name()).state(), v1::SUPPORT_REQUEST_STATE_OPEN);
  }
  // Declined offers close the request.
  v1::SupportRequest offered = Offer(CreateRequest(kDurham, 3).name(), provider.name());
  {
    v1::DeclineOffersRequest decline;
    decline.set_name(offered.name());
    decline.set_reason("covered in house after all");
    grpc::ClientContext ctx;
    ASSERT_TRUE(sharing->DeclineOffers(&ctx, decline, &out).ok());
    EXPECT_EQ(out.state(), v1::SUPPORT_REQUEST_STATE_DECLINED);
  }
  // Withdrawing an accepted request returns the hours across regions.
  v1::SupportRequest accepted = Offer(CreateRequest(kDurham, 5).name(), provider.name());
  ASSERT_TRUE(Accept(kDurham, accepted.name(), "o-1", "w-1", &out).ok());
  EXPECT_DOUBLE_EQ(GetSpecialist(provider.name()).capacity().available_hours_per_week(), 15);
  {
    v1::WithdrawSupportRequestRequest withdraw;
    withdraw.set_name(accepted.name());
    grpc::ClientContext ctx;
    ASSERT_TRUE(sharing->WithdrawSupportRequest(&ctx, withdraw, &out).ok());
    EXPECT_EQ(out.state(), v1::SUPPORT_REQUEST_STATE_WITHDRAWN);
  }
  EXPECT_DOUBLE_EQ(GetSpecialist(provider.name()).capacity().available_hours_per_week(), 20);
  // Escalation names the region's coordinator and shows in the unmet report.
  {
    v1::EscalateSupportRequestRequest escalate;
    escalate.set_name(open.name());
    escalate.set_reason("no provider within reach this term");
    grpc::ClientContext ctx;
    ASSERT_TRUE(sharing->EscalateSupportRequest(&ctx, escalate, &out).ok());
    EXPECT_EQ(out.state(), v1::SUPPORT_REQUEST_STATE_UNMET);
    EXPECT_EQ(out.escalation_owner(), "coordinator/E12000001");
  }
  {
    v1::GetUnmetNeedReportRequest report_request;
    report_request.set_parent("regions/-");
    v1::UnmetNeedReport report;
    grpc::ClientContext ctx;
    ASSERT_TRUE(Sharing("coordinator/E12000001")->GetUnmetNeedReport(&ctx, report_request, &report).ok());
    ASSERT_EQ(report.requests_size(), 1);
    EXPECT_EQ(report.requests(0).name(), open.name());
    EXPECT_THAT(report.unreachable(), ::testing::IsEmpty());
    bool region_group = false;
    for (const auto& g : report.groups()) {
      if (g.dimension() == "region" && g.key() == "E12000001") {
        region_group = true;
        EXPECT_EQ(g.requests(), 1);
        EXPECT_DOUBLE_EQ(g.hours_per_week(), 3);
      }
    }
    EXPECT_TRUE(region_group);
  }
}

TEST_F(SharingTest, OnlyOfficersAndCoordinatorsShareAndEachActsOnlyForItsOwn) {
  const v1::SupportRequest need = CreateRequest(kDurham, 2);
  v1::ListSupportRequestsRequest list;
  list.set_parent("regions/-");
  // Importers and administrators may not use the sharing service at all.
  for (const char* caller : {"importer/E06000047", "admin/test"}) {
    v1::ListSupportRequestsResponse out;
    grpc::ClientContext ctx;
    EXPECT_EQ(Sharing(caller)->ListSupportRequests(&ctx, list, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED) << caller;
  }
  {
    auto anonymous = v1::CapacitySharingService::NewStub(grpc::CreateChannel(
        directory_->address(), grpc::InsecureChannelCredentials()));
    v1::ListSupportRequestsResponse out;
    grpc::ClientContext ctx;
    EXPECT_EQ(anonymous->ListSupportRequests(&ctx, list, &out).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // Every authority may read requests (providers must see them)...
  {
    v1::ListSupportRequestsResponse out;
    grpc::ClientContext ctx;
    ASSERT_TRUE(Sharing(absl::StrCat("authority/", kLeeds))->ListSupportRequests(&ctx, list, &out).ok());
    ASSERT_EQ(out.support_requests_size(), 1);
  }
  // ...but only Durham, or the North East's coordinator, acts on Durham's.
  for (const char* caller : {"authority/E08000035", "coordinator/E12000003", "authority/E06000001"}) {
    v1::WithdrawSupportRequestRequest withdraw;
    withdraw.set_name(need.name());
    v1::SupportRequest out;
    grpc::ClientContext ctx;
    EXPECT_EQ(Sharing(caller)->WithdrawSupportRequest(&ctx, withdraw, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED) << caller;
  }
  EXPECT_EQ(GetRequest(need.name()).state(), v1::SUPPORT_REQUEST_STATE_OPEN);
  v1::EscalateSupportRequestRequest escalate;
  escalate.set_name(need.name());
  escalate.set_reason("no capacity in the region");
  v1::SupportRequest out;
  grpc::ClientContext ctx;
  ASSERT_TRUE(Sharing("coordinator/E12000001")->EscalateSupportRequest(&ctx, escalate, &out).ok());
  EXPECT_EQ(out.state(), v1::SUPPORT_REQUEST_STATE_UNMET);
}

TEST_F(SharingTest, RetriesAreSafeAndHoursAreCommittedOnlyByAccepting) {
  const v1::Specialist provider = CreateProvider(10);
  v1::SupportRequest need = CreateRequest(kDurham, 4);
  // An offer retried (no request id, the first answer lost) is one offer.
  need = Offer(need.name(), provider.name());
  need = Offer(need.name(), provider.name());
  ASSERT_EQ(need.offers_size(), 1);
  const std::string commitment = need.offers(0).commitment();
  // Confirming a commitment on its own, through the directory or straight
  // at the provider's registry, is refused: only accepting commits hours.
  v1::ConfirmCapacityCommitmentRequest confirm;
  confirm.set_name(commitment);
  confirm.set_request_id("sneaky");
  confirm.set_support_request(need.name());
  v1::CapacityCommitment out;
  {
    grpc::ClientContext ctx;
    grpc::Status status = Sharing(absl::StrCat("authority/", kDurham))->ConfirmCapacityCommitment(&ctx, confirm, &out);
    EXPECT_EQ(Reason(status), "USE_ACCEPT_OFFER") << status.error_message();
  }
  {
    auto direct = v1::CapacitySharingService::NewStub(
        testing::ChannelAs(registries_[1]->address(), absl::StrCat("authority/", kDurham)));
    grpc::ClientContext ctx;
    grpc::Status status = direct->ConfirmCapacityCommitment(&ctx, confirm, &out);
    EXPECT_EQ(Reason(status), "USE_ACCEPT_OFFER") << status.error_message();
  }
  EXPECT_DOUBLE_EQ(GetSpecialist(provider.name()).capacity().available_hours_per_week(), 10);

  v1::SupportRequest accepted;
  ASSERT_TRUE(Accept(kDurham, need.name(), "o-1", "a-1", &accepted).ok());
  EXPECT_DOUBLE_EQ(GetSpecialist(provider.name()).capacity().available_hours_per_week(), 6);

  // Withdrawing while the provider's region is stalled: the request is
  // withdrawn but its hours cannot be released yet, so the call fails...
  registries_[1]->process().Signal(SIGSTOP);
  v1::WithdrawSupportRequestRequest withdraw;
  withdraw.set_name(need.name());
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::SupportRequest result;
    EXPECT_FALSE(Sharing(absl::StrCat("authority/", kDurham))->WithdrawSupportRequest(&ctx, withdraw, &result).ok());
  }
  registries_[1]->process().Signal(SIGCONT);
  EXPECT_EQ(GetRequest(need.name()).state(), v1::SUPPORT_REQUEST_STATE_WITHDRAWN);
  // ...and the retry, on a request already withdrawn, releases them.
  {
    grpc::ClientContext ctx;
    v1::SupportRequest result;
    grpc::Status status = Sharing(absl::StrCat("authority/", kDurham))->WithdrawSupportRequest(&ctx, withdraw, &result);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_DOUBLE_EQ(GetSpecialist(provider.name()).capacity().available_hours_per_week(), 10);
}

TEST_F(SharingTest, NationalListIsPagedOldestFirst) {
  std::vector<std::string> made;
  for (const char* authority : {kDurham, kHartlepool, kDurham}) made.push_back(CreateRequest(authority, 1).name());
  auto sharing = Sharing("coordinator/E12000001");
  v1::ListSupportRequestsRequest list;
  list.set_parent("regions/-");
  list.set_page_size(2);
  std::vector<std::string> listed;
  for (int page = 0; page < 3; ++page) {
    v1::ListSupportRequestsResponse out;
    grpc::ClientContext ctx;
    ASSERT_TRUE(sharing->ListSupportRequests(&ctx, list, &out).ok());
    EXPECT_LE(out.support_requests_size(), 2);
    for (const auto& r : out.support_requests()) listed.push_back(r.name());
    if (out.next_page_token().empty()) break;
    list.set_page_token(out.next_page_token());
  }
  EXPECT_EQ(listed, made);
  // A token reused with other filters is refused.
  list.set_requesting_authority(kDurham);
  v1::ListSupportRequestsResponse out;
  grpc::ClientContext ctx;
  EXPECT_EQ(sharing->ListSupportRequests(&ctx, list, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SharingTest, EquityReportAcrossRegions) {
  CreateProvider(10);
  CreateProvider(5);
  v1::GetEquityReportRequest request;
  request.set_parent("regions/-");
  request.add_roles("speech-language-therapist");
  request.set_within_km(40);
  v1::EquityReport report;
  grpc::ClientContext ctx;
  grpc::Status status = Sharing("coordinator/E12000001")->GetEquityReport(&ctx, request, &report);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Both Leeds therapists serve early years PVI and primary (schools).
  int pvi = 0, schools = 0;
  for (const auto& row : report.rows()) {
    ASSERT_EQ(row.authority(), kLeeds);
    if (row.phase() == v1::PHASE_EARLY_YEARS_PVI) {
      pvi = row.specialists();
      EXPECT_DOUBLE_EQ(row.available_hours_per_week(), 15);
    }
    if (row.phase() == v1::PHASE_SCHOOLS) schools = row.specialists();
  }
  EXPECT_EQ(pvi, 2);
  EXPECT_EQ(schools, 2);
  // Leeds is covered; Northumberland (far north) is a gap at 40 km.
  bool leeds_gap = false, northumberland_gap = false;
  for (const auto& gap : report.gaps()) {
    leeds_gap |= gap.authority() == kLeeds;
    northumberland_gap |= gap.authority() == "E06000057";
  }
  EXPECT_FALSE(leeds_gap);
  EXPECT_TRUE(northumberland_gap);
}

TEST_F(SharingTest, CapacityWatchAtARegistry) {
  const v1::Specialist provider = CreateProvider(10);
  auto stub = v1::CapacitySharingService::NewStub(
      testing::ChannelAs(registries_[1]->address(), "coordinator/E12000003"));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchCapacityRequest request;
  request.set_parent("regions/yorkshire-and-the-humber");
  auto reader = stub->WatchCapacity(&ctx, request);
  v1::CapacityUpdate update;
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.specialist(), provider.name());
  EXPECT_TRUE(update.snapshot());
  EXPECT_TRUE(update.snapshot_end());
  const std::string token = update.resume_token();

  // Changes while the reader is not reading: they are all accounted for,
  // folded per specialist, and the last value wins.
  auto registry = v1::RegistryService::NewStub(
      testing::ChannelAs(registries_[1]->address(), absl::StrCat("authority/", kLeeds)));
  constexpr int kChanges = 50;
  for (int i = 1; i <= kChanges; ++i) {
    v1::UpdateCapacityRequest change;
    change.set_name(provider.name());
    change.mutable_capacity()->set_contracted_hours_per_week(10 + i);
    change.mutable_capacity()->set_accepting_external_requests(true);
    v1::Specialist out;
    grpc::ClientContext c;
    ASSERT_TRUE(registry->UpdateCapacity(&c, change, &out).ok());
  }
  int folded = 0;
  while (folded < kChanges && reader->Read(&update)) {
    EXPECT_FALSE(update.snapshot());
    folded += update.coalesced();
  }
  EXPECT_EQ(folded, kChanges);
  EXPECT_DOUBLE_EQ(update.contracted_hours_per_week(), 10 + kChanges);
  ctx.TryCancel();
  (void)reader->Finish();

  // Resuming from the token taken after the snapshot replays the changes,
  // not a snapshot.
  grpc::ClientContext resume_ctx;
  resume_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  request.set_resume_token(token);
  auto resumed = stub->WatchCapacity(&resume_ctx, request);
  ASSERT_TRUE(resumed->Read(&update));
  EXPECT_FALSE(update.snapshot());
  EXPECT_EQ(update.specialist(), provider.name());
  EXPECT_DOUBLE_EQ(update.contracted_hours_per_week(), 10 + kChanges);
  resume_ctx.TryCancel();
  (void)resumed->Finish();
}

TEST_F(SharingTest, DirectoryMergesTheRegionsWatchesAndSurvivesARegionGoingDown) {
  const v1::Specialist leeds = CreateProvider(10);
  // A North East specialist too (created by Durham).
  v1::Specialist durham;
  {
    v1::CreateSpecialistRequest create;
    create.set_parent("regions/north-east");
    *create.mutable_specialist() = leeds;
    create.mutable_specialist()->clear_name();
    create.mutable_specialist()->clear_etag();
    create.mutable_specialist()->clear_commitments();
    create.mutable_specialist()->set_owning_authority(kDurham);
    grpc::ClientContext ctx;
    ASSERT_TRUE(Registry(absl::StrCat("authority/", kDurham))->CreateSpecialist(&ctx, create, &durham).ok());
  }
  auto stub = Sharing("coordinator/E12000001");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::WatchCapacityRequest request;
  request.set_parent("regions/-");
  request.add_roles("speech-language-therapist");
  auto reader = stub->WatchCapacity(&ctx, request);
  // The snapshot holds both regions' specialists, then one end marker.
  std::set<std::string> seen;
  v1::CapacityUpdate update;
  int ends = 0;
  while (ends == 0 && reader->Read(&update)) {
    if (!update.specialist().empty()) seen.insert(update.specialist());
    EXPECT_TRUE(update.snapshot());
    ends += update.snapshot_end();
  }
  EXPECT_EQ(seen, (std::set<std::string>{leeds.name(), durham.name()}));
  EXPECT_EQ(ends, 1);
  const std::string after_snapshot = update.resume_token();
  EXPECT_THAT(after_snapshot, ::testing::StartsWith("d1."));

  auto change = [&](const v1::Specialist& s, const std::string& authority, double hours) {
    v1::UpdateCapacityRequest req;
    req.set_name(s.name());
    req.mutable_capacity()->set_contracted_hours_per_week(hours);
    req.mutable_capacity()->set_accepting_external_requests(true);
    v1::Specialist out;
    grpc::ClientContext c;
    return Registry(absl::StrCat("authority/", authority))->UpdateCapacity(&c, req, &out);
  };
  // A slow reader: many changes while nothing is read. Every change is
  // accounted for (folded by the registry's watch) and the last value wins.
  constexpr int kChanges = 60;
  for (int i = 1; i <= kChanges; ++i) ASSERT_TRUE(change(leeds, kLeeds, 10 + i).ok());
  int folded = 0;
  while (folded < kChanges && reader->Read(&update)) {
    EXPECT_EQ(update.specialist(), leeds.name());
    EXPECT_FALSE(update.snapshot());
    folded += update.coalesced();
  }
  EXPECT_EQ(folded, kChanges);
  EXPECT_DOUBLE_EQ(update.contracted_hours_per_week(), 10 + kChanges);

  // The North East registry goes away: Yorkshire's changes still arrive.
  registries_[0]->process().Signal(SIGKILL);
  ASSERT_TRUE(change(leeds, kLeeds, 99).ok());
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.specialist(), leeds.name());
  EXPECT_DOUBLE_EQ(update.contracted_hours_per_week(), 99);
  const std::string resume = update.resume_token();
  ctx.TryCancel();
  (void)reader->Finish();

  // Resuming from the merged token replays Yorkshire from where it was (no
  // snapshot there); the North East, still down, is retried in the
  // background without holding the others up.
  ASSERT_TRUE(change(leeds, kLeeds, 77).ok());
  grpc::ClientContext resume_ctx;
  resume_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  request.set_resume_token(resume);
  auto resumed = stub->WatchCapacity(&resume_ctx, request);
  ASSERT_TRUE(resumed->Read(&update));
  EXPECT_FALSE(update.snapshot());
  EXPECT_EQ(update.specialist(), leeds.name());
  EXPECT_DOUBLE_EQ(update.contracted_hours_per_week(), 77);
  resume_ctx.TryCancel();
  (void)resumed->Finish();
}

}  // namespace
}  // namespace expertise
