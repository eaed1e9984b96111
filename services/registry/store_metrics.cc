#include "services/registry/store_metrics.h"

#include <string>

namespace expertise::registry {
namespace {

StoreMetrics Make(std::string_view kind) {
  observability::MetricsRegistry& m = observability::DefaultMetrics();
  const std::string label(kind);
  StoreMetrics out;
  out.kind = kind;
  out.commit_seconds =
      m.AddHistogram("expertise_store_commit_seconds",
                     "Time to commit one write to the registry's store, retries included.",
                     {"store"}, {.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5})
          ->WithLabels({label});
  out.commit_errors = m.AddCounter("expertise_store_commit_errors_total",
                                   "Commits that failed, by status code.", {"store", "code"});
  out.retried_commits =
      m.AddCounter("expertise_store_retried_commits_total",
                   "Commits tried again after a lost connection or a serialisation failure.",
                   {"store"})
          ->WithLabels({label});
  out.in_doubt_commits =
      m.AddCounter("expertise_store_in_doubt_commits_total",
                   "Commits whose connection was lost during COMMIT, looked up by commit id.",
                   {"store"})
          ->WithLabels({label});
  return out;
}

}  // namespace

const StoreMetrics& StoreMetrics::For(std::string_view kind) {
  static const StoreMetrics sqlite = Make("sqlite");
  static const StoreMetrics postgres = Make("postgres");
  return kind == "postgres" ? postgres : sqlite;
}

void StoreMetrics::CountError(const absl::Status& status) const {
  commit_errors->WithLabels({std::string(kind), absl::StatusCodeToString(status.code())})
      ->Increment();
}

void CountImport(const v1::Import& import) {
  static observability::CounterFamily* const imports = observability::DefaultMetrics().AddCounter(
      "expertise_imports_total", "Imports stored, by final state.", {"state"});
  static observability::CounterFamily* const records = observability::DefaultMetrics().AddCounter(
      "expertise_import_records_total", "Records of stored imports, by outcome.", {"outcome"});
  imports->WithLabels({v1::Import::State_Name(import.state())})->Increment();
  records->WithLabels({"created"})->Increment(import.created_count());
  records->WithLabels({"updated"})->Increment(import.updated_count());
  records->WithLabels({"unchanged"})->Increment(import.unchanged_count());
  records->WithLabels({"withdrawn"})->Increment(import.withdrawn_count());
  records->WithLabels({"rejected"})->Increment(import.reject_count());
}

}  // namespace expertise::registry
