#ifndef EXPERTISE_TESTS_TESTUTIL_RECORDING_HOST_H_
#define EXPERTISE_TESTS_TESTUTIL_RECORDING_HOST_H_

// An expertise_host_api that records what a plugin reports, so importer
// parsers can be unit-tested (and fuzzed) in process without the runner.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "expertise/importer_abi.h"
#include "expertise/importer_plugin.hpp"

namespace expertise::testing {

struct RecordedReject {
  importer::Location where;
  int reason = 0;
  std::string external_id;
  std::string message;
  std::string raw_excerpt;
};

class RecordingHost {
 public:
  RecordingHost() {
    api_.struct_size = sizeof(api_);
    api_.abi_major = EXPERTISE_IMPORTER_ABI_MAJOR;
    api_.abi_minor = EXPERTISE_IMPORTER_ABI_MINOR;
    api_.log = &LogFn;
    api_.emit = &EmitFn;
    api_.reject = &RejectFn;
    api_.checkpoint = &CheckpointFn;
    api_.config_error = &ConfigErrorFn;
  }
  RecordingHost(const RecordingHost&) = delete;
  RecordingHost& operator=(const RecordingHost&) = delete;

  const expertise_host_api* api() const { return &api_; }
  void* hctx() { return this; }
  importer::Host host() { return importer::Host(&api_, this); }

  // After this many emits, emit returns EXPERTISE_STOP (0: never).
  void StopAfter(size_t n) { stop_after_ = n; }

  std::vector<std::string> records;
  std::vector<importer::Location> record_locations;
  std::vector<RecordedReject> rejects;
  std::vector<std::string> checkpoints;
  std::vector<std::pair<std::string, std::string>> config_errors;
  std::vector<std::string> logs;

 private:
  static RecordingHost* Self(void* h) { return static_cast<RecordingHost*>(h); }
  static void LogFn(void* h, int, const char* msg, const char* const*, size_t) {
    Self(h)->logs.emplace_back(msg ? msg : "");
  }
  static importer::Location FromC(const expertise_location* where) {
    importer::Location l;
    if (where) {
      l.file = where->file ? where->file : "";
      l.row = where->row;
      l.column = where->column ? where->column : "";
      l.json_pointer = where->json_pointer ? where->json_pointer : "";
      l.resource_id = where->resource_id ? where->resource_id : "";
    }
    return l;
  }
  static int EmitFn(void* h, const char* json, size_t len, const expertise_location* where) {
    auto* self = Self(h);
    self->records.emplace_back(json, len);
    self->record_locations.push_back(FromC(where));
    return (self->stop_after_ != 0 && self->records.size() >= self->stop_after_) ? EXPERTISE_STOP
                                                                                  : EXPERTISE_OK;
  }
  static int RejectFn(void* h, const expertise_location* where, int reason, const char* external_id,
                      const char* message, const char* raw) {
    RecordedReject r;
    r.where = FromC(where);
    r.reason = reason;
    r.external_id = external_id ? external_id : "";
    r.message = message ? message : "";
    r.raw_excerpt = raw ? raw : "";
    Self(h)->rejects.push_back(std::move(r));
    return EXPERTISE_OK;
  }
  static int CheckpointFn(void* h, const char* state) {
    Self(h)->checkpoints.emplace_back(state ? state : "");
    return EXPERTISE_OK;
  }
  static void ConfigErrorFn(void* h, const char* key, const char* message) {
    Self(h)->config_errors.emplace_back(key ? key : "", message ? message : "");
  }

  expertise_host_api api_{};
  size_t stop_after_ = 0;
};

}  // namespace expertise::testing

#endif  // EXPERTISE_TESTS_TESTUTIL_RECORDING_HOST_H_
