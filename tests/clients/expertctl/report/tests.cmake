# Tests for tests/clients/expertctl/report
expertise_cc_test(NAME report_render_test
  SRCS clients/expertctl/report/report_render_test.cc
  DEPS expertctl_report GTest::gmock GTest::gtest_main
  LABELS unit)
