# Tests for tests/services/watch
# Capacity watch hub (gRPC-free): snapshot, filters, coalescing, resume tokens,
# overflow and multi-thread publishing; the concurrency label gets it into the TSan job.
expertise_cc_test(NAME capacity_watch_concurrency_test
  SRCS services/watch/capacity_watch_concurrency_test.cc
  DEPS expertise_watch GTest::gmock GTest::gtest_main LABELS concurrency)
