// Acknowledged writes survive kill -9: write, kill the process without any
// chance to flush, restart on the same file, and find every write.

#include <signal.h>

#include <gtest/gtest.h>

#include "tests/testutil/registry_process.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/temp_dir.h"

namespace expertise {
namespace {

TEST(DurabilityTest, AcknowledgedWritesSurviveKillDashNine) {
  testing::TempDir dir;
  const std::string db = dir.File("durable.db");
  std::map<std::string, double> acknowledged;  // name -> committed hours
  std::set<std::string> deleted;
  for (int round = 0; round < 3; ++round) {
    auto server = testing::RegistryProcess::Start("north-east", db);
    ASSERT_TRUE(server.ok()) << server.status();
    auto stub = (*server)->NewStub();
    // Everything acknowledged earlier is still there, exactly.
    for (const auto& [name, hours] : acknowledged) {
      grpc::ClientContext ctx;
      registry::v1::GetSpecialistRequest get;
      get.set_name(name);
      registry::v1::Specialist s;
      grpc::Status status = stub->GetSpecialist(&ctx, get, &s);
      ASSERT_TRUE(status.ok()) << name << " lost after kill -9 in round " << round;
      EXPECT_DOUBLE_EQ(s.capacity().committed_hours_per_week(), hours) << name;
    }
    for (const auto& name : deleted) {
      grpc::ClientContext ctx;
      registry::v1::GetSpecialistRequest get;
      get.set_name(name);
      registry::v1::Specialist s;
      EXPECT_EQ(stub->GetSpecialist(&ctx, get, &s).error_code(), grpc::StatusCode::NOT_FOUND);
    }
    for (int i = 0; i < 40; ++i) {
      registry::v1::CreateSpecialistRequest create;
      create.set_parent("regions/north-east");
      *create.mutable_specialist() =
          testing::ValidSpecialist("r" + std::to_string(round) + "-" + std::to_string(i));
      grpc::ClientContext ctx;
      registry::v1::Specialist created;
      ASSERT_TRUE(stub->CreateSpecialist(&ctx, create, &created).ok());
      acknowledged[created.name()] = created.capacity().committed_hours_per_week();
      if (i % 4 == 0) {  // then change its capacity
        registry::v1::UpdateCapacityRequest update;
        update.set_name(created.name());
        update.mutable_capacity()->set_committed_hours_per_week(i % 29);
        update.mutable_update_mask()->add_paths("committed_hours_per_week");
        grpc::ClientContext uctx;
        registry::v1::Specialist updated;
        ASSERT_TRUE(stub->UpdateCapacity(&uctx, update, &updated).ok());
        acknowledged[created.name()] = i % 29;
      }
      if (i % 10 == 9) {  // and delete some
        registry::v1::DeleteSpecialistRequest del;
        del.set_name(created.name());
        grpc::ClientContext dctx;
        google::protobuf::Empty empty;
        ASSERT_TRUE(stub->DeleteSpecialist(&dctx, del, &empty).ok());
        acknowledged.erase(created.name());
        deleted.insert(created.name());
      }
    }
    (*server)->process().Signal(SIGKILL);
    EXPECT_EQ((*server)->process().Wait(std::chrono::seconds(10)), 128 + SIGKILL);
  }
  EXPECT_EQ(acknowledged.size(), 108u);
}

}  // namespace
}  // namespace expertise
