#ifndef EXPERTISE_SERVICES_REGISTRY_STORE_METRICS_H_
#define EXPERTISE_SERVICES_REGISTRY_STORE_METRICS_H_

// The registry's store and import figures in the process-wide metrics
// registry (docs/observability.md), resolved once per store kind.

#include <string_view>

#include "absl/status/status.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "services/observability/metrics.h"

namespace expertise::registry {

struct StoreMetrics {
  observability::Histogram* commit_seconds;
  observability::CounterFamily* commit_errors;  // labels: store, code
  observability::Counter* retried_commits;
  observability::Counter* in_doubt_commits;
  std::string_view kind;

  // For "sqlite" or "postgres"; the pointers live as long as the process.
  static const StoreMetrics& For(std::string_view kind);

  void CountError(const absl::Status& status) const;
};

// Counts a stored import by state, and its records by outcome.
void CountImport(const v1::Import& import);

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_STORE_METRICS_H_
