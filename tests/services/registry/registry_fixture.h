#ifndef EXPERTISE_TESTS_SERVICES_REGISTRY_REGISTRY_FIXTURE_H_
#define EXPERTISE_TESTS_SERVICES_REGISTRY_REGISTRY_FIXTURE_H_

#include <memory>

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "services/registry/registry.h"
#include "services/registry/sqlite_store.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::registry {

// A North East registry on a real SQLite file, a fake clock at
// 2026-11-02 10:00 UTC and sequential ids s-0001, s-0002, ...
class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : clock_(absl::FromCivil(absl::CivilSecond(2026, 11, 2, 10, 0, 0), absl::UTCTimeZone())) {}

  void SetUp() override { Reopen(); }

  void Reopen() {
    registry_.reset();
    auto store = SqliteStore::Open(dir_.File("registry.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    RegistryOptions options;
    options.region = "north-east";
    options.clock = &clock_;
    options.id_generator = [this] { return absl::StrFormat("s-%04d", ++next_id_); };
    auto registry = Registry::Open(options, *std::move(store));
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  int next_id_ = 0;
  std::unique_ptr<Registry> registry_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_TESTS_SERVICES_REGISTRY_REGISTRY_FIXTURE_H_
