# Tests for tests/services/observability
# The metrics registry: exposition format, buckets, definitions, callbacks,
# process figures, plus 8-thread cases (the concurrency label puts it in the
# TSan job).
expertise_cc_test(NAME metrics_concurrency_test
  SRCS services/observability/metrics_test.cc
  DEPS expertise_observability LABELS concurrency)
# The /metrics HTTP endpoint over loopback sockets.
expertise_cc_test(NAME http_endpoint_test
  SRCS services/observability/http_endpoint_test.cc
  DEPS expertise_observability LABELS unit)
# The general HTTP server (cpp-httplib): routing, error answers, life cycle.
expertise_cc_test(NAME http_server_test
  SRCS services/observability/http_server_test.cc
  DEPS expertise_observability LABELS unit)
# The go-grpc-prometheus interceptor and the health probe port, on in-process servers.
expertise_cc_test(NAME grpc_metrics_test
  SRCS services/observability/grpc_metrics_test.cc
  DEPS registry_v1_grpc expertise_observability_grpc registry_v1_proto health_proto LABELS unit)
# The real binaries: a registry on mTLS with --metrics-listen and
# --health-listen (scrape, codes of refused calls, the plaintext probe port,
# shutdown), and the directory's metrics.
expertise_cc_test(NAME observability_test SRCS integration/observability_test.cc
  DEPS expertise_security_grpc expertise_testutil_process LABELS integration TIMEOUT 600)
target_compile_definitions(observability_test PRIVATE EXPERTISE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
