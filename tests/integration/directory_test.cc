// The federated directory end to end: three real registry processes and the
// real directory process on loopback, ports chosen at run time.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <grpcpp/support/error_details.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/common/reference/reference_data.h"
#include "services/directory/federation.h"
#include "services/sampledata/sample_data.h"
#include "tests/testutil/credentials.h"
#include "tests/testutil/registry_process.h"
#include "tests/testutil/subprocess.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::directory {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::DirectoryProcess;
using testing::RegistryProcess;

constexpr const char* kRegions[] = {"north-east", "north-west", "yorkshire-and-the-humber"};
// The directory's default caller in these tests (DirectoryProcess uses the
// first region's coordinator): it sees every North East record and only the
// NATIONAL records of the other regions.
constexpr char kCaller[] = "coordinator/E12000001";

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : kRegions) {
      auto process = RegistryProcess::Start(id, dir_.File(std::string(id) + ".db"));
      ASSERT_TRUE(process.ok()) << process.status();
      registries_.push_back(*std::move(process));
    }
    std::vector<std::pair<std::string, std::string>> map;
    for (size_t i = 0; i < registries_.size(); ++i) map.emplace_back(kRegions[i], registries_[i]->address());
    // A name, not an address, for one region: gRPC resolves it (as it will
    // a Kubernetes service name).
    map[1].second = "localhost:" + std::to_string(registries_[1]->port());
    auto directory = DirectoryProcess::Start(dir_.path(), map, {"--region-timeout", "3"});
    ASSERT_TRUE(directory.ok()) << directory.status();
    directory_ = *std::move(directory);
    stub_ = directory_->NewStub();
    testing::UseCaller(kCaller);  // for expertctl
  }

  void TearDown() override {
    for (auto& r : registries_) r->process().Signal(SIGCONT);  // a stopped one must be able to die
  }

  // Loads generated specialists for every region THROUGH THE DIRECTORY, one
  // batch per region (routed by the records' authorities).
  void Load(int per_region) {
    int seed = 11;
    for (const char* id : kRegions) {
      const RegionInfo* region = ReferenceData::Get().FindRegion(id);
      auto generated = sampledata::GenerateSpecialists(*region, {.count = per_region, .seed = static_cast<uint64_t>(seed++)});
      for (size_t start = 0; start < generated.size(); start += 500) {
        v1::BatchUpsertSpecialistsRequest batch;
        batch.set_parent("regions/-");
        for (size_t i = start; i < std::min(generated.size(), start + 500); ++i) *batch.add_specialists() = generated[i];
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        testing::CallAs(&ctx, testing::CoordinatorOf(id));  // each region's own coordinator
        v1::BatchUpsertSpecialistsResponse response;
        grpc::Status status = stub_->BatchUpsertSpecialists(&ctx, batch, &response);
        ASSERT_TRUE(status.ok()) << status.error_message();
        ASSERT_EQ(response.created_count(), batch.specialists_size());
      }
    }
  }

  grpc::Status Search(const v1::SearchSpecialistsRequest& request, v1::SearchSpecialistsResponse* response,
                      std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    return stub_->SearchSpecialists(&ctx, request, response);
  }

  // Every match from every region asked directly, as the same caller (so
  // with the same visibility), sorted as the directory must.
  std::vector<std::string> BruteForce(v1::SearchSpecialistsRequest request) {
    std::vector<v1::SearchResult> all;
    request.set_page_size(1000);
    for (auto& registry : registries_) {
      auto stub = v1::RegistryService::NewStub(testing::ChannelAs(registry->address(), kCaller));
      v1::SearchSpecialistsRequest one = request;
      while (true) {
        grpc::ClientContext ctx;
        v1::SearchSpecialistsResponse page;
        EXPECT_TRUE(stub->SearchSpecialists(&ctx, one, &page).ok());
        for (const auto& r : page.results()) all.push_back(r);
        if (page.next_page_token().empty()) break;
        one.set_page_token(page.next_page_token());
      }
    }
    const MergeOrder order = EffectiveOrder(request);
    std::sort(all.begin(), all.end(), [order](const v1::SearchResult& a, const v1::SearchResult& b) {
      return std::make_tuple(SortKey(order, a), a.specialist().name()) <
             std::make_tuple(SortKey(order, b), b.specialist().name());
    });
    std::vector<std::string> names;
    for (const auto& r : all) names.push_back(r.specialist().name());
    return names;
  }

  testing::TempDir dir_;
  std::vector<std::unique_ptr<RegistryProcess>> registries_;
  std::unique_ptr<DirectoryProcess> directory_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
};

TEST_F(DirectoryTest, PagedNationalSearchEqualsBruteForceOverTheUnion) {
  Load(600);
  for (int order : {v1::SEARCH_ORDER_DISTANCE, v1::SEARCH_ORDER_AVAILABLE_HOURS}) {
    SCOPED_TRACE(order);
    v1::SearchSpecialistsRequest request;
    request.set_parent("regions/-");
    request.set_near_authority("E06000063");  // Cumberland, on the North East's border
    request.set_within_km(150);
    request.set_order_by(static_cast<v1::SearchOrder>(order));
    request.mutable_available_on()->set_year(2026);
    request.mutable_available_on()->set_month(11);
    request.mutable_available_on()->set_day(2);
    request.set_page_size(17);
    const std::vector<std::string> expected = BruteForce(request);
    ASSERT_GT(expected.size(), 100u);
    std::vector<std::string> walked;
    std::set<std::string> regions_seen;
    for (int page = 0; page < 1000; ++page) {
      v1::SearchSpecialistsResponse response;
      grpc::Status status = Search(request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_THAT(response.unreachable(), IsEmpty());
      for (const auto& r : response.results()) {
        walked.push_back(r.specialist().name());
        regions_seen.insert(r.specialist().name().substr(0, r.specialist().name().find("/specialists")));
      }
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    EXPECT_THAT(walked, ElementsAreArray(expected));
    // Distance decides, not region: the neighbours' specialists are there too.
    EXPECT_GE(regions_seen.size(), 2u);
  }
}

TEST_F(DirectoryTest, AKilledRegistryGivesTheOthersResultsAndIsNamedUnreachable) {
  Load(200);
  v1::SearchSpecialistsRequest request;
  request.set_parent("regions/-");
  request.set_order_by(v1::SEARCH_ORDER_NAME);
  request.set_page_size(1000);
  // What the caller may see outside Yorkshire: all of the North East, the
  // North West's NATIONAL records.
  size_t expected = 0;
  for (const std::string& name : BruteForce(request)) expected += name.find("yorkshire") == std::string::npos;
  ASSERT_GT(expected, 200u);
  registries_[2]->process().Signal(SIGKILL);
  registries_[2]->process().Wait(std::chrono::seconds(5));
  v1::SearchSpecialistsResponse response;
  grpc::Status status = Search(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.unreachable(), ElementsAre("regions/yorkshire-and-the-humber"));
  EXPECT_EQ(static_cast<size_t>(response.results_size()), expected);
  for (const auto& r : response.results()) {
    EXPECT_THAT(r.specialist().name(), ::testing::Not(HasSubstr("yorkshire")));
  }

  // The coordinator's view: status names the region, exit code 3; search warns.
  auto status_run = testing::RunCommand(
      {testing::BinaryPath("expertctl"), "--server", directory_->address(), "regions", "status"});
  EXPECT_EQ(status_run.exit_code, 3) << status_run.err;
  EXPECT_THAT(status_run.out, HasSubstr("UNREACHABLE"));
  EXPECT_THAT(status_run.err, HasSubstr("Yorkshire and The Humber (E12000003) is unreachable"));
  EXPECT_THAT(status_run.err, HasSubstr("UNAVAILABLE"));  // the error the directory saw
  auto search_run = testing::RunCommand({testing::BinaryPath("expertctl"), "--server", directory_->address(),
                                         "search", "--near-authority", "E06000063", "--limit", "5"});
  EXPECT_EQ(search_run.exit_code, 0) << search_run.err;
  EXPECT_THAT(search_run.err, HasSubstr("warning: no answer in time from regions/yorkshire-and-the-humber"));
}

TEST_F(DirectoryTest, AStoppedRegistryNeverMakesTheAnswerOverrunTheDeadline) {
  Load(100);
  registries_[1]->process().Signal(SIGSTOP);
  v1::SearchSpecialistsRequest request;
  request.set_parent("regions/-");
  request.set_near_authority("E08000035");
  request.set_page_size(50);
  v1::SearchSpecialistsResponse response;
  // The caller's deadline (1.5 s) is tighter than --region-timeout (3 s):
  // the directory must answer, with what it has, before it.
  grpc::Status status = Search(request, &response, std::chrono::milliseconds(1500));
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_THAT(response.unreachable(), ElementsAre("regions/north-west"));
  EXPECT_EQ(response.results_size(), 50);
  registries_[1]->process().Signal(SIGCONT);
  // Once it is back, it answers again.
  for (int attempt = 0; attempt < 50; ++attempt) {
    response.Clear();
    ASSERT_TRUE(Search(request, &response).ok());
    if (response.unreachable().empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(response.unreachable(), IsEmpty());
}

TEST_F(DirectoryTest, WritesAndImportsAreRoutedToTheOwningRegion) {
  // Yorkshire's coordinator acts for Yorkshire's authorities.
  auto stub = v1::RegistryService::NewStub(
      testing::ChannelAs(directory_->address(), "coordinator/E12000003"));
  const RegionInfo* yorkshire = ReferenceData::Get().FindRegion("yorkshire-and-the-humber");
  auto generated = sampledata::GenerateSpecialists(*yorkshire, {.count = 3, .seed = 3});
  // Create with parent regions/-: the authority decides.
  v1::CreateSpecialistRequest create;
  create.set_parent("regions/-");
  *create.mutable_specialist() = generated[0];
  v1::Specialist created;
  {
    grpc::ClientContext ctx;
    grpc::Status status = stub->CreateSpecialist(&ctx, create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_THAT(created.name(), ::testing::StartsWith("regions/yorkshire-and-the-humber/specialists/"));
  {
    grpc::ClientContext ctx;
    v1::GetSpecialistRequest get;
    get.set_name(created.name());
    v1::Specialist found;
    ASSERT_TRUE(registries_[2]->NewStub()->GetSpecialist(&ctx, get, &found).ok());
  }
  // An id without its region: every region is asked.
  {
    const std::string id = created.name().substr(created.name().rfind('/') + 1);
    grpc::ClientContext ctx;
    v1::GetSpecialistRequest get;
    get.set_name("regions/-/specialists/" + id);
    v1::Specialist found;
    grpc::Status status = stub->GetSpecialist(&ctx, get, &found);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(found.name(), created.name());
    grpc::ClientContext missing_ctx;
    get.set_name("regions/-/specialists/s-0000000000000000");
    EXPECT_EQ(stub->GetSpecialist(&missing_ctx, get, &found).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  // Update and delete by name, through the directory.
  {
    grpc::ClientContext ctx;
    v1::UpdateCapacityRequest update;
    update.set_name(created.name());
    update.mutable_capacity()->set_contracted_hours_per_week(30);
    update.mutable_update_mask()->add_paths("contracted_hours_per_week");
    v1::Specialist updated;
    grpc::Status status = stub->UpdateCapacity(&ctx, update, &updated);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_DOUBLE_EQ(updated.capacity().contracted_hours_per_week(), 30);
  }
  // A batch spanning two regions is refused, naming the record.
  {
    const RegionInfo* north_east = ReferenceData::Get().FindRegion("north-east");
    v1::BatchUpsertSpecialistsRequest batch;
    batch.set_parent("regions/-");
    *batch.add_specialists() = generated[1];
    *batch.add_specialists() = sampledata::GenerateSpecialists(*north_east, {.count = 1, .seed = 4})[0];
    grpc::ClientContext ctx;
    v1::BatchUpsertSpecialistsResponse response;
    grpc::Status status = stub->BatchUpsertSpecialists(&ctx, batch, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    google::rpc::Status details;
    ASSERT_TRUE(details.ParseFromString(status.error_details()));
    bool named = false;
    for (const auto& any : details.details()) {
      google::rpc::BadRequest bad;
      if (any.UnpackTo(&bad)) {
        for (const auto& v : bad.field_violations()) named |= v.field() == "specialists[1].owning_authority";
      }
    }
    EXPECT_TRUE(named) << status.error_message();
  }
  // An authority in a region the directory has no registry for.
  {
    v1::CreateSpecialistRequest london = create;
    london.mutable_specialist()->set_owning_authority("E09000001");
    grpc::ClientContext ctx;
    v1::Specialist out;
    grpc::Status status = stub->CreateSpecialist(&ctx, london, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(status.error_message(), HasSubstr("no registry for regions/london"));
  }
  // Routed reads for a region without a registry fail with the reason, not a hang.
  {
    grpc::ClientContext get_ctx;
    v1::GetSpecialistRequest get;
    get.set_name("regions/london/specialists/s-0000000000000000");
    v1::Specialist out;
    grpc::Status status = stub->GetSpecialist(&get_ctx, get, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    grpc::ClientContext list_ctx;
    v1::ListSpecialistsRequest list;
    list.set_parent("regions/london");
    v1::ListSpecialistsResponse listed;
    status = stub->ListSpecialists(&list_ctx, list, &listed);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(status.error_message(), HasSubstr("no registry for regions/london"));
  }
  // An import streamed to the directory lands in the authority's region.
  {
    grpc::ClientContext ctx;
    v1::Import import;
    auto writer = stub->ImportSpecialists(&ctx, &import);
    v1::ImportSpecialistsRequest message;
    v1::ImportHeader* header = message.mutable_header();
    header->set_parent("regions/-");
    header->set_import_id("imp-directory-routing");
    header->set_authority(generated[2].owning_authority());
    header->set_source("hr-export");
    header->set_mode(v1::IMPORT_MODE_INCREMENTAL);
    ASSERT_TRUE(writer->Write(message));
    message.Clear();
    v1::ImportedRecord* record = message.mutable_batch()->add_records();
    *record->mutable_specialist() = generated[2];
    record->mutable_specialist()->set_source("hr-export");
    ASSERT_TRUE(writer->Write(message));
    message.Clear();
    message.mutable_end()->set_cursor("2026-11-01");
    ASSERT_TRUE(writer->Write(message));
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(import.state(), v1::Import::SUCCEEDED) << import.failure_reason();
    EXPECT_EQ(import.created_count(), 1);
    EXPECT_THAT(import.name(), ::testing::StartsWith("regions/yorkshire-and-the-humber/imports/"));
    grpc::ClientContext get_ctx;
    v1::GetImportRequest get;
    get.set_name(import.name());
    v1::Import fetched;
    ASSERT_TRUE(stub->GetImport(&get_ctx, get, &fetched).ok());
    EXPECT_EQ(fetched.created_count(), 1);
  }
  // The region status sees the import.
  {
    grpc::ClientContext ctx;
    v1::ListRegionStatusesResponse statuses;
    ASSERT_TRUE(stub->ListRegionStatuses(&ctx, v1::ListRegionStatusesRequest(), &statuses).ok());
    ASSERT_EQ(statuses.region_statuses_size(), 3);
    const auto& yorkshire_status = statuses.region_statuses(2);
    EXPECT_EQ(yorkshire_status.region_code(), "E12000003");
    EXPECT_EQ(yorkshire_status.state(), v1::RegionStatus::SERVING);
    EXPECT_EQ(yorkshire_status.specialist_count(), 2);
    EXPECT_EQ(yorkshire_status.last_import(), "regions/yorkshire-and-the-humber/imports/imp-directory-routing");
    EXPECT_EQ(statuses.region_statuses(0).specialist_count(), 0);
  }
}

TEST_F(DirectoryTest, NationalCapacityIsTheSumOfTheRegionsAndBadRequestsFailAsTheCallersError) {
  Load(150);
  v1::GetCapacitySummaryRequest request;
  request.set_parent("regions/-");
  v1::CapacitySummary national;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->GetCapacitySummary(&ctx, request, &national).ok());
  }
  EXPECT_EQ(national.total().headcount(), 450);
  double available = 0;
  int headcount = 0;
  for (auto& registry : registries_) {
    grpc::ClientContext ctx;
    v1::GetCapacitySummaryRequest one = request;
    *one.mutable_as_of() = national.as_of();
    v1::CapacitySummary summary;
    ASSERT_TRUE(registry->NewStub()->GetCapacitySummary(&ctx, one, &summary).ok());
    available += summary.total().available_hours_per_week();
    headcount += summary.total().headcount();
  }
  EXPECT_EQ(headcount, 450);
  EXPECT_NEAR(national.total().available_hours_per_week(), available, 1e-6);
  int region_total_rows = 0;
  for (const auto& row : national.region_totals()) region_total_rows += row.role().empty() ? 1 : 0;
  EXPECT_EQ(region_total_rows, 3);
  // The coordinator's table: each region's roles and total, then England's.
  auto run = testing::RunCommand({testing::BinaryPath("expertctl"), "--server", directory_->address(), "-o", "csv",
                                  "capacity", "--national"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("regions/north-east,(all roles),150,"));
  EXPECT_THAT(run.out, HasSubstr("England,(all roles),450,"));

  // Every region would refuse it: the caller gets the error, not "unreachable".
  v1::SearchSpecialistsRequest bad;
  bad.set_parent("regions/-");
  bad.set_within_km(-1);
  v1::SearchSpecialistsResponse response;
  grpc::Status status = Search(bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("within_km"));
}

}  // namespace
}  // namespace expertise::directory
