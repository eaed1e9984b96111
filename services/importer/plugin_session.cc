#include "services/importer/plugin_session.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "services/common/utf8.h"

namespace expertise::importer {
namespace {

// Copies a C string the plugin passed, bounded, tolerating NULL, and made
// valid UTF-8 (protobuf strings must be; Windows-1252 exports are common).
std::string Bounded(const char* s, size_t max_len) {
  if (s == nullptr) return "";
  return Utf8Prefix(std::string_view(s, ::strnlen(s, max_len)), max_len);
}

void CopyLocation(const expertise_location* where, v1::SourceLocation* out) {
  if (where == nullptr || where->struct_size < sizeof(expertise_location)) return;
  out->set_file(Bounded(where->file, 256));
  out->set_row(where->row);
  out->set_column(Bounded(where->column, 256));
  out->set_json_pointer(Bounded(where->json_pointer, 1024));
  out->set_resource_id(Bounded(where->resource_id, 256));
}

}  // namespace

PluginSession::PluginSession(const LoadedPlugin& plugin, Sender send)
    : plugin_(plugin), send_(std::move(send)) {
  api_.struct_size = sizeof(api_);
  api_.abi_major = EXPERTISE_IMPORTER_ABI_MAJOR;
  api_.abi_minor = EXPERTISE_IMPORTER_ABI_MINOR;
  api_.log = &Log;
  api_.emit = &Emit;
  api_.reject = &Reject;
  api_.checkpoint = &Checkpoint;
  api_.config_error = &ConfigError;
}

PluginSession::~PluginSession() {
  std::lock_guard<std::mutex> lock(instance_mu_);
  if (instance_ != nullptr) plugin_.info->ops->close(instance_);
}

int PluginSession::SendOrStop(const v1::RunnerMessage& message) {
  if (stopped_.load() || cancelled_.load()) return EXPERTISE_STOP;
  if (!send_(message)) {
    stopped_.store(true);
    return EXPERTISE_STOP;
  }
  return cancelled_.load() ? EXPERTISE_STOP : EXPERTISE_OK;
}

void PluginSession::Log(void* hctx, int level, const char* message, const char* const* kv, size_t n_kv) {
  v1::RunnerMessage m;
  v1::LogLine* line = m.mutable_log();
  line->set_level(level);
  line->set_message(Bounded(message, 4096));
  if (kv != nullptr) {
    for (size_t i = 0; i < n_kv && i < 32; ++i) {
      (*line->mutable_fields())[Bounded(kv[2 * i], 128)] = Bounded(kv[2 * i + 1], 1024);
    }
  }
  Self(hctx)->send_(m);  // logs are sent even after a stop, for the report
}

int PluginSession::Emit(void* hctx, const char* json, size_t len, const expertise_location* where) {
  v1::RunnerMessage m;
  if (json != nullptr && len > kMaxRecordBytes) {
    v1::PluginReject* r = m.mutable_reject();
    CopyLocation(where, r->mutable_location());
    r->set_reason(EXPERTISE_REJECT_SCHEMA);
    r->set_message(absl::StrCat("record of ", len, " bytes is over the ", kMaxRecordBytes, "-byte limit"));
    r->set_raw_excerpt(std::string(json, 200));
    return Self(hctx)->SendOrStop(m);
  }
  v1::EmittedRecord* record = m.mutable_record();
  if (json != nullptr) record->set_json(json, len);  // NULL arrives as an empty record: rejected by the host
  CopyLocation(where, record->mutable_location());
  return Self(hctx)->SendOrStop(m);
}

int PluginSession::Reject(void* hctx, const expertise_location* where, int reason, const char* external_id,
                          const char* message, const char* raw_excerpt) {
  v1::RunnerMessage m;
  v1::PluginReject* r = m.mutable_reject();
  CopyLocation(where, r->mutable_location());
  r->set_reason(reason);
  r->set_external_id(Bounded(external_id, 128));
  r->set_message(Bounded(message, 1024));
  r->set_raw_excerpt(Bounded(raw_excerpt, 200));
  return Self(hctx)->SendOrStop(m);
}

int PluginSession::Checkpoint(void* hctx, const char* state) {
  if (state == nullptr || ::strnlen(state, kMaxStateBytes + 1) > kMaxStateBytes) {
    Log(hctx, EXPERTISE_LOG_ERROR, "checkpoint ignored: state missing or over 4096 bytes", nullptr, 0);
    return EXPERTISE_OK;
  }
  v1::RunnerMessage m;
  m.mutable_checkpoint()->set_state(state);
  return Self(hctx)->SendOrStop(m);
}

void PluginSession::ConfigError(void* hctx, const char* key, const char* message) {
  v1::RunnerMessage m;
  m.mutable_config_error()->set_key(Bounded(key, 128));
  m.mutable_config_error()->set_message(Bounded(message, 1024));
  Self(hctx)->send_(m);
}

void PluginSession::Finish(int result) {
  v1::RunnerMessage m;
  m.mutable_finished()->set_result(result);
  send_(m);
}

void PluginSession::Cancel() {
  cancelled_.store(true);
  std::lock_guard<std::mutex> lock(instance_mu_);
  if (instance_ != nullptr) plugin_.info->ops->cancel(instance_);
}

void PluginSession::Run(const v1::RunRequest& request) {
  // The config crosses as key/value C strings that live until Run returns.
  std::vector<expertise_config_entry> entries;
  entries.reserve(request.config_size());
  for (const auto& [key, value] : request.config()) entries.push_back({key.c_str(), value.c_str()});
  expertise_config config{sizeof(expertise_config), entries.data(), entries.size()};

  void* instance = nullptr;
  int result = plugin_.info->ops->check(&config, &api_, this, &instance);
  if (result != EXPERTISE_OK || instance == nullptr) {
    Finish(result == EXPERTISE_OK ? EXPERTISE_ERROR : result);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(instance_mu_);
    instance_ = instance;
    if (cancelled_.load()) plugin_.info->ops->cancel(instance_);
  }
  if (request.check_only()) {
    Finish(EXPERTISE_OK);
    return;
  }
  expertise_read_request read{sizeof(expertise_read_request), request.input_path().c_str(),
                              request.sync_mode(), request.state().c_str()};
  result = plugin_.info->ops->read(instance, &read, &api_, this);
  Finish(result);
}

}  // namespace expertise::importer
