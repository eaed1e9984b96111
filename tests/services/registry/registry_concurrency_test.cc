// Readers and writers at once: run under ThreadSanitizer in CI.

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "tests/services/registry/registry_fixture.h"
#include "tests/testutil/specialists.h"

namespace expertise::registry {
namespace {

TEST_F(RegistryTest, ConcurrentReadersNeverSeeTornOrUndurableState) {
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 60; ++i) {
        v1::BatchUpsertSpecialistsRequest batch;
        batch.set_parent("regions/north-east");
        for (int j = 0; j < 5; ++j) {
          auto s = testing::ValidSpecialist(absl::StrFormat("w%d-%d-%d", w, i, j));
          s.mutable_capacity()->set_committed_hours_per_week(i % 30);
          *batch.add_specialists() = s;
        }
        ASSERT_TRUE(registry_->specialists().BatchUpsert(batch).ok());
        ++writes;
      }
    });
  }
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        v1::SearchSpecialistsRequest search;
        search.set_parent("regions/north-east");
        search.set_near_authority("E06000001");
        search.set_page_size(20);
        auto page = registry_->queries().Search(search);
        ASSERT_TRUE(page.ok());
        // A batch becomes visible whole: counts move in steps of 5.
        EXPECT_EQ(page->total_size() % 5, 0);
        for (const auto& result : page->results()) {
          EXPECT_FALSE(result.specialist().etag().empty());
        }
        v1::GetCapacitySummaryRequest summary;
        summary.set_parent("regions/north-east");
        ASSERT_TRUE(registry_->queries().GetCapacitySummary(summary).ok());
      }
    });
  }
  threads[0].join();
  threads[1].join();
  stop = true;
  for (size_t i = 2; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(writes.load(), 120);
  EXPECT_EQ(registry_->size(), 600u);
}

}  // namespace
}  // namespace expertise::registry
