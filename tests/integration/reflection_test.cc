// Server reflection (v1alpha, the version gRPC 1.51 ships) lets grpcurl and
// buf curl discover the registry's API.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/testutil/registry_process.h"
#include "tests/testutil/temp_dir.h"

namespace expertise {
namespace {

using grpc::reflection::v1alpha::ServerReflection;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

std::vector<std::string> ListServices(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = ServerReflection::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub->ServerReflectionInfo(&ctx);
  ServerReflectionRequest request;
  request.set_list_services("");
  std::vector<std::string> names;
  if (!stream->Write(request)) return names;
  stream->WritesDone();
  ServerReflectionResponse response;
  while (stream->Read(&response)) {
    for (const auto& service : response.list_services_response().service()) {
      names.push_back(service.name());
    }
  }
  stream->Finish();
  return names;
}

TEST(ReflectionTest, ListsTheRegistryAndHealthServices) {
  testing::TempDir dir;
  auto server = testing::RegistryProcess::Start("london", dir.File("r.db"), {"--reflection"});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT(ListServices((*server)->channel()),
              ::testing::IsSupersetOf({"expertise.registry.v1.RegistryService",
                                       "grpc.health.v1.Health"}));
}

// gRPC 1.51 serves reflection without asking for a caller, so it is off
// unless asked for.
TEST(ReflectionTest, IsOffByDefault) {
  testing::TempDir dir;
  auto server = testing::RegistryProcess::Start("london", dir.File("r.db"));
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT(ListServices((*server)->channel()), ::testing::IsEmpty());
}

TEST(ReflectionTest, CanBeSwitchedOff) {
  testing::TempDir dir;
  auto server = testing::RegistryProcess::Start("london", dir.File("r.db"), {"--no-reflection"});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT(ListServices((*server)->channel()), ::testing::IsEmpty());
}

}  // namespace
}  // namespace expertise
