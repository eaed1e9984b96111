# Tests for tests/services/sharing: gRPC-free domain logic of capacity sharing.
# (expertise_cc_test links gtest_main itself; GTest listed for clarity.)
foreach(name lifecycle matching reports)
  expertise_cc_test(NAME sharing_${name}_test SRCS services/sharing/${name}_test.cc
    DEPS expertise_sharing GTest::gmock GTest::gtest_main LABELS unit)
endforeach()
