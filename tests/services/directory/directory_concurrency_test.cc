// The directory's concurrent parts under ThreadSanitizer (label
// "concurrency"): many callers at once, each call fanning out to every
// region on gRPC's callback threads, imports proxied while searches run, and
// a region going away in the middle. Everything is in one process (registry
// servers and the directory on loopback ports chosen at run time), so TSan
// sees every thread.

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include "services/common/executor.h"
#include "services/common/reference/reference_data.h"
#include "services/directory/directory_service.h"
#include "services/registry/registry.h"
#include "services/registry/registry_service_impl.h"
#include "services/sampledata/sample_data.h"
#include "services/registry/sqlite_store.h"
#include "services/security/audit_log.h"
#include "services/security/grpc_security.h"
#include "tests/testutil/credentials.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::directory {
namespace {

namespace rv1 = ::expertise::registry::v1;

// The servers' real security: API keys from the test keyring, plaintext on
// loopback (development mode).
std::unique_ptr<security::CallGate> NewGate() {
  security::ServerSecurityOptions options;
  options.insecure_dev = true;
  options.api_keys_path = testing::KeyringPath();
  options.rate_per_second = 0;  // many calls from one caller on purpose
  auto gate = security::CallGate::Create(ReferenceData::Get(), options);
  EXPECT_TRUE(gate.ok()) << gate.status();
  return *std::move(gate);
}

void InstallGate(grpc::ServerBuilder& builder, security::CallGate& gate) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(gate.NewInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
}

struct InProcessRegistry {
  std::unique_ptr<security::CallGate> gate;
  std::unique_ptr<security::AuditLog> audit;
  std::unique_ptr<Executor> executor;
  std::unique_ptr<registry::RegistryServiceImpl> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

std::unique_ptr<InProcessRegistry> StartRegistry(const std::string& region_id, const std::string& db, int count) {
  auto r = std::make_unique<InProcessRegistry>();
  r->executor = std::make_unique<Executor>(2, 1024);
  r->gate = NewGate();
  auto audit = security::AuditLog::Open(db + ".audit.jsonl", RealClock());
  EXPECT_TRUE(audit.ok()) << audit.status();
  r->audit = *std::move(audit);
  r->service = std::make_unique<registry::RegistryServiceImpl>(r->executor.get(), r->gate.get());
  auto store = registry::SqliteStore::Open(db);
  EXPECT_TRUE(store.ok());
  auto opened = registry::Registry::Open({.region = region_id}, *std::move(store));
  EXPECT_TRUE(opened.ok()) << opened.status();
  const RegionInfo* region = ReferenceData::Get().FindRegion(region_id);
  rv1::BatchUpsertSpecialistsRequest batch;
  batch.set_parent(region->resource_name());
  for (auto& s : sampledata::GenerateSpecialists(*region, {.count = count, .seed = 9})) *batch.add_specialists() = s;
  EXPECT_TRUE((*opened)->specialists().BatchUpsert(batch).ok());
  r->service->calls().SetRegistry(*std::move(opened), r->audit.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &r->port);
  builder.RegisterService(r->service.get());
  InstallGate(builder, *r->gate);
  r->server = builder.BuildAndStart();
  EXPECT_NE(r->port, 0);
  return r;
}

TEST(DirectoryConcurrencyTest, ManyCallersWhileARegionGoesAway) {
  testing::TempDir dir;
  const std::vector<std::string> ids = {"north-east", "north-west", "yorkshire-and-the-humber"};
  std::vector<std::unique_ptr<InProcessRegistry>> registries;
  RegionPoolOptions options;
  options.region_timeout = absl::Seconds(2);
  for (const std::string& id : ids) {
    registries.push_back(StartRegistry(id, dir.File(id + ".db"), 300));
    options.regions.push_back({ReferenceData::Get().FindRegion(id), "127.0.0.1:" + std::to_string(registries.back()->port)});
  }
  std::unique_ptr<security::CallGate> gate = NewGate();
  options.gate = gate.get();
  options.upstream.token = testing::TokenFor("service/directory");
  const RegionPool pool(options);
  DirectoryService directory(&pool);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&directory);
  InstallGate(builder, *gate);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  // A coordinator acts for its own region only; imports below go to
  // north-east, whose coordinator this is.
  auto channel = testing::ChannelAs("127.0.0.1:" + std::to_string(port), "coordinator/E12000001");

  constexpr int kThreads = 6;
  constexpr int kCallsPerThread = 40;
  std::atomic<int> ok_calls{0}, partial{0}, failures{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      auto stub = rv1::RegistryService::NewStub(channel);
      for (int i = 0; i < kCallsPerThread; ++i) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        grpc::Status status;
        bool had_unreachable = false;
        switch ((t + i) % 4) {
          case 0: {
            rv1::SearchSpecialistsRequest request;
            request.set_parent("regions/-");
            request.set_near_authority("E06000063");
            request.set_page_size(25);
            rv1::SearchSpecialistsResponse response;
            status = stub->SearchSpecialists(&ctx, request, &response);
            had_unreachable = response.unreachable_size() > 0;
            break;
          }
          case 1: {
            rv1::GetCapacitySummaryRequest request;
            request.set_parent("regions/-");
            rv1::CapacitySummary response;
            status = stub->GetCapacitySummary(&ctx, request, &response);
            had_unreachable = response.unreachable_size() > 0;
            break;
          }
          case 2: {
            rv1::ListRegionStatusesResponse response;
            status = stub->ListRegionStatuses(&ctx, rv1::ListRegionStatusesRequest(), &response);
            had_unreachable = response.unreachable_size() > 0;
            break;
          }
          case 3: {
            // An import proxied to the North East (idempotent by its id).
            rv1::Import import;
            auto writer = stub->ImportSpecialists(&ctx, &import);
            rv1::ImportSpecialistsRequest message;
            message.mutable_header()->set_parent("regions/-");
            message.mutable_header()->set_import_id("imp-concurrency-" + std::to_string(t));
            message.mutable_header()->set_authority("E06000047");
            message.mutable_header()->set_source("concurrency");
            message.mutable_header()->set_mode(rv1::IMPORT_MODE_INCREMENTAL);
            writer->Write(message);
            message.Clear();
            message.mutable_end();
            writer->Write(message);
            writer->WritesDone();
            status = writer->Finish();
            break;
          }
        }
        if (status.ok()) {
          ok_calls.fetch_add(1);
          if (had_unreachable) partial.fetch_add(1);
        } else {
          failures.fetch_add(1);
        }
      }
    });
  }
  // A quarter of the way through, the Yorkshire registry shuts down: calls
  // keep succeeding, partly.
  while (ok_calls.load() + failures.load() < kThreads * kCallsPerThread / 4) std::this_thread::yield();
  registries[2]->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  for (auto& c : callers) c.join();

  // Imports to the North East and fan-outs never fail because of Yorkshire;
  // only an import could, and its region stays up.
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ok_calls.load(), kThreads * kCallsPerThread);
  EXPECT_GT(partial.load(), 0);  // fan-outs after the shutdown named Yorkshire
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  for (auto& r : registries) r->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace
}  // namespace expertise::directory
