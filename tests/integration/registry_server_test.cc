// The real expertise-registry binary on a loopback port chosen at run time,
// driven through the generated stubs.

#include <signal.h>

#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/rpc/grpc_status.h"
#include "services/sampledata/sample_data.h"
#include "tests/testutil/reference_search.h"
#include "tests/testutil/registry_process.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace expertise {
namespace {

using registry::v1::RegistryService;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

class RegistryServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto process = testing::RegistryProcess::Start("E12000002", dir_->File("north-west.db"));
    ASSERT_TRUE(process.ok()) << process.status();
    server_ = process->release();
    // Load generated data through the API, as a coordinator would.
    auto stub = server_->NewStub();
    const RegionInfo& region = *ReferenceData::Get().FindRegion("north-west");
    auto generated = sampledata::GenerateSpecialists(region, {.count = 4000, .seed = 5});
    stored_ = new std::vector<registry::v1::Specialist>();
    for (size_t start = 0; start < generated.size(); start += 1000) {
      registry::v1::BatchUpsertSpecialistsRequest batch;
      batch.set_parent("regions/north-west");
      for (size_t i = start; i < start + 1000; ++i) *batch.add_specialists() = generated[i];
      grpc::ClientContext ctx;
      ctx.set_deadline(In(30));
      registry::v1::BatchUpsertSpecialistsResponse response;
      ASSERT_TRUE(stub->BatchUpsertSpecialists(&ctx, batch, &response).ok());
      for (const auto& s : response.specialists()) stored_->push_back(s);
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    delete stored_;
    delete dir_;
  }

  std::unique_ptr<RegistryService::Stub> stub_ = server_->NewStub();
  static testing::TempDir* dir_;
  static testing::RegistryProcess* server_;
  static std::vector<registry::v1::Specialist>* stored_;
};
testing::TempDir* RegistryServerTest::dir_ = nullptr;
testing::RegistryProcess* RegistryServerTest::server_ = nullptr;
std::vector<registry::v1::Specialist>* RegistryServerTest::stored_ = nullptr;

TEST_F(RegistryServerTest, HealthIsServing) {
  auto health = grpc::health::v1::Health::NewStub(server_->channel());
  for (const char* service : {"", "expertise.registry.v1.RegistryService"}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(5));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(health->Check(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
}

TEST_F(RegistryServerTest, SearchOverTheWireMatchesBruteForceWithPaginationWalks) {
  const auto requests = testing::RandomSearchRequests("north-west", 60, 2024);
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  for (size_t i = 0; i < requests.size(); ++i) {
    auto want = testing::BruteForceSearch(*stored_, requests[i], static_cast<int>(today.year()),
                                          today.month(), today.day());
    auto request = requests[i];
    request.set_page_size(7 + static_cast<int>(i % 3) * 40);
    std::vector<registry::v1::SearchResult> got;
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_deadline(In(10));
      registry::v1::SearchSpecialistsResponse page;
      grpc::Status status = stub_->SearchSpecialists(&ctx, request, &page);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(page.total_size(), static_cast<int>(want.size()));
      for (const auto& r : page.results()) got.push_back(r);
      if (page.next_page_token().empty()) break;
      request.set_page_token(page.next_page_token());
    }
    ASSERT_EQ(got.size(), want.size()) << requests[i].ShortDebugString();
    for (size_t k = 0; k < got.size(); ++k) {
      ASSERT_EQ(got[k].specialist().name(), want[k].name) << requests[i].ShortDebugString();
      EXPECT_NEAR(got[k].distance_km(), want[k].distance_km, 1e-6);
    }
  }
}

TEST_F(RegistryServerTest, InvalidArgumentCarriesBadRequestAndErrorInfo) {
  registry::v1::SearchSpecialistsRequest req;
  req.set_parent("regions/north-west");
  req.add_roles("wizard");
  req.set_age(99);
  grpc::ClientContext ctx;
  ctx.set_deadline(In(5));
  registry::v1::SearchSpecialistsResponse resp;
  grpc::Status status = stub_->SearchSpecialists(&ctx, req, &resp);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  google::rpc::ErrorInfo info;
  google::rpc::BadRequest bad;
  for (const auto& any : details.details()) {
    any.UnpackTo(&info);
    any.UnpackTo(&bad);
  }
  EXPECT_EQ(info.domain(), "registry.expertise");
  EXPECT_EQ(info.reason(), "INVALID_FIELDS");
  std::vector<std::string> fields;
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  EXPECT_THAT(fields, UnorderedElementsAre("roles[0]", "age"));
}

TEST_F(RegistryServerTest, CrudWithEtagsOverTheWire) {
  registry::v1::CreateSpecialistRequest create;
  create.set_parent("regions/north-west");
  *create.mutable_specialist() = testing::ValidSpecialist("wire-1", "E08000003");  // Manchester
  registry::v1::Specialist created;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(5));
    ASSERT_TRUE(stub_->CreateSpecialist(&ctx, create, &created).ok());
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(5));
    registry::v1::Specialist again;
    EXPECT_EQ(stub_->CreateSpecialist(&ctx, create, &again).error_code(),
              grpc::StatusCode::ALREADY_EXISTS);
  }
  registry::v1::UpdateCapacityRequest update;
  update.set_name(created.name());
  update.set_etag(created.etag());
  update.mutable_capacity()->set_committed_hours_per_week(29);
  update.mutable_update_mask()->add_paths("committed_hours_per_week");
  registry::v1::Specialist updated;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(5));
    ASSERT_TRUE(stub_->UpdateCapacity(&ctx, update, &updated).ok());
    EXPECT_DOUBLE_EQ(updated.capacity().available_hours_per_week(), 1);
  }
  {
    grpc::ClientContext ctx;  // the old etag is now stale
    ctx.set_deadline(In(5));
    registry::v1::Specialist stale;
    EXPECT_EQ(stub_->UpdateCapacity(&ctx, update, &stale).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  registry::v1::DeleteSpecialistRequest del;
  del.set_name(created.name());
  del.set_etag(updated.etag());
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(5));
    google::protobuf::Empty empty;
    ASSERT_TRUE(stub_->DeleteSpecialist(&ctx, del, &empty).ok());
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(5));
    registry::v1::GetSpecialistRequest get;
    get.set_name(created.name());
    registry::v1::Specialist gone;
    EXPECT_EQ(stub_->GetSpecialist(&ctx, get, &gone).error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(RegistryServerTest, ExpiredDeadlineIsHonoured) {
  registry::v1::SearchSpecialistsRequest req;
  req.set_parent("regions/north-west");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() - std::chrono::milliseconds(1));
  registry::v1::SearchSpecialistsResponse resp;
  EXPECT_EQ(stub_->SearchSpecialists(&ctx, req, &resp).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(RegistryServerTest, ManyConcurrentClients) {
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      auto stub = server_->NewStub();
      for (int i = 0; i < 25; ++i) {
        registry::v1::SearchSpecialistsRequest req;
        req.set_parent("regions/north-west");
        req.set_near_authority("E08000003");
        req.set_within_km(10 + c);
        grpc::ClientContext ctx;
        ctx.set_deadline(In(10));
        registry::v1::SearchSpecialistsResponse resp;
        if (!stub->SearchSpecialists(&ctx, req, &resp).ok()) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(RegistryStartupTest, SecondRegistryOnTheSameDatabaseIsRefused) {
  testing::TempDir dir;
  auto first = testing::RegistryProcess::Start("north-east", dir.File("ne.db"));
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = testing::RegistryProcess::Start("north-east", dir.File("ne.db"));
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("in use by another process"));
}

TEST(RegistryStartupTest, DatabaseOfAnotherRegionIsRefused) {
  testing::TempDir dir;
  {
    auto ne = testing::RegistryProcess::Start("north-east", dir.File("r.db"));
    ASSERT_TRUE(ne.ok());
    auto stub = (*ne)->NewStub();
    registry::v1::CreateSpecialistRequest create;
    create.set_parent("regions/north-east");
    *create.mutable_specialist() = testing::ValidSpecialist();
    grpc::ClientContext ctx;
    registry::v1::Specialist s;
    ASSERT_TRUE(stub->CreateSpecialist(&ctx, create, &s).ok());
    (*ne)->process().Signal(SIGTERM);
    EXPECT_EQ((*ne)->process().Wait(std::chrono::seconds(20)), 0);  // graceful exit
  }
  auto london = testing::RegistryProcess::Start("london", dir.File("r.db"));
  ASSERT_FALSE(london.ok());
  EXPECT_THAT(std::string(london.status().message()), HasSubstr("another region"));
}

TEST(RegistryLoggingTest, JsonLinesWithoutPersonalData) {
  testing::TempDir dir;
  auto server = testing::RegistryProcess::Start("north-east", dir.File("r.db"),
                                                {"--log-format", "json", "--log-level", "info"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = (*server)->NewStub();
  registry::v1::CreateSpecialistRequest create;
  create.set_parent("regions/north-east");
  *create.mutable_specialist() = testing::ValidSpecialist("log-1");
  create.mutable_specialist()->set_display_name("Philippa Quennell-Unlikely");
  grpc::ClientContext ctx;
  registry::v1::Specialist created;
  ASSERT_TRUE(stub->CreateSpecialist(&ctx, create, &created).ok());
  grpc::ClientContext bad_ctx;  // a refused call is logged at info level
  create.mutable_specialist()->set_role("wizard");
  ASSERT_FALSE(stub->CreateSpecialist(&bad_ctx, create, &created).ok());
  (*server)->process().Signal(SIGTERM);
  ASSERT_EQ((*server)->process().Wait(std::chrono::seconds(20)), 0);

  const std::string log = (*server)->log();
  std::set<std::string> events;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(json.is_discarded()) << "not JSON: " << line;
    EXPECT_TRUE(json.contains("time") && json.contains("level")) << line;
    events.insert(json.value("event", ""));
  }
  EXPECT_TRUE(events.count("serving"));
  EXPECT_TRUE(events.count("rpc"));
  EXPECT_TRUE(events.count("stopped"));
  EXPECT_EQ(log.find("Quennell"), std::string::npos);
  EXPECT_EQ(log.find("hartlepool.example.org"), std::string::npos);
}

TEST(RegistryStartupTest, BadFlagsExitNonZeroWithAMessage) {
  testing::TempDir dir;
  auto result = testing::RunCommand({testing::BinaryPath("expertise-registry"), "--region",
                                     "E12000099", "--db", dir.File("x.db"), "--listen",
                                     "127.0.0.1:0"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("unknown region"));
  auto help = testing::RunCommand({testing::BinaryPath("expertise-registry"), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--region"));
  EXPECT_THAT(help.out, HasSubstr("--db"));
  EXPECT_THAT(help.out, HasSubstr("--listen"));
}

}  // namespace
}  // namespace expertise
