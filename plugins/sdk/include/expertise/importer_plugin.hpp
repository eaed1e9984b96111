// Copyright expertise-directory authors.
//
// Header-only C++ wrapper over importer_abi.h for plugin authors. Compiled
// into the plugin, so no C++ type crosses the ABI; every exception thrown by
// author code is caught here and turned into a logged EXPERTISE_ERROR.
//
//   class MyImporter : public expertise::importer::Importer {
//    public:
//     static constexpr const char* kName = "my_hr";
//     static constexpr const char* kVersion = "1.0.0";
//     static constexpr const char* kDescription = "Reads Anytown's HR export.";
//     static constexpr uint32_t kSyncModes = EXPERTISE_SYNC_SNAPSHOT;
//     static constexpr const char* kMediaTypes = "text/csv";
//     static constexpr expertise_config_key kConfigKeys[] = {...};
//     static std::unique_ptr<MyImporter> Create(const expertise::importer::Config&,
//                                               expertise::importer::Host&);
//     expertise_result Read(const expertise::importer::ReadRequest&,
//                           expertise::importer::Host&) override;
//   };
//   EXPERTISE_IMPORTER_PLUGIN(MyImporter)
#ifndef EXPERTISE_IMPORTER_PLUGIN_HPP_
#define EXPERTISE_IMPORTER_PLUGIN_HPP_

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expertise/importer_abi.h"

namespace expertise::importer {

// The validated configuration: every declared key that was given or has a
// default. Values were type-checked by the host.
class Config {
 public:
  Config() = default;
  explicit Config(const expertise_config* config) {
    if (config == nullptr) return;
    for (size_t i = 0; i < config->n_entries; ++i) {
      values_[config->entries[i].key] = config->entries[i].value;
    }
  }
  bool Has(const std::string& key) const { return values_.count(key) > 0; }
  std::string Get(const std::string& key, const std::string& fallback = "") const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }
  long long GetInt(const std::string& key, long long fallback = 0) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : std::strtoll(it->second.c_str(), nullptr, 10);
  }
  bool GetBool(const std::string& key, bool fallback = false) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second == "true";
  }
  // Splits a LIST value on ',' and trims spaces; empty items are dropped.
  std::vector<std::string> GetList(const std::string& key) const {
    std::vector<std::string> out;
    std::string value = Get(key);
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find(',', start);
      if (end == std::string::npos) end = value.size();
      std::string item = value.substr(start, end - start);
      size_t b = item.find_first_not_of(' ');
      size_t e = item.find_last_not_of(' ');
      if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
      start = end + 1;
    }
    return out;
  }
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
};

// Where a rejected record was found.
struct Location {
  std::string file;
  uint64_t row = 0;
  std::string column;
  std::string json_pointer;
  std::string resource_id;
};

// The host's functions for one operation. Methods return false when the
// plugin must stop reading (the run was cancelled or has failed).
class Host {
 public:
  Host(const expertise_host_api* api, void* hctx) : api_(api), hctx_(hctx) {}

  void Log(expertise_log_level level, const std::string& message,
           const std::vector<std::pair<std::string, std::string>>& fields = {}) const {
    std::vector<const char*> kv;
    for (const auto& [k, v] : fields) {
      kv.push_back(k.c_str());
      kv.push_back(v.c_str());
    }
    api_->log(hctx_, level, message.c_str(), kv.data(), fields.size());
  }
  // Emits one record (JSON of SpecialistRecord) read at `where`.
  bool Emit(const std::string& json, const Location& where = {}) const {
    expertise_location loc = ToC(where);
    return api_->emit(hctx_, json.data(), json.size(), &loc) == EXPERTISE_OK;
  }
  bool Reject(const Location& where, expertise_reject_reason reason, const std::string& external_id,
              const std::string& message, const std::string& raw_excerpt = "") const {
    expertise_location loc = ToC(where);
    return api_->reject(hctx_, &loc, reason, external_id.c_str(), message.c_str(),
                        raw_excerpt.empty() ? nullptr : raw_excerpt.c_str()) == EXPERTISE_OK;
  }
  bool Checkpoint(const std::string& state) const {
    return api_->checkpoint(hctx_, state.c_str()) == EXPERTISE_OK;
  }
  void ConfigError(const std::string& key, const std::string& message) const {
    api_->config_error(hctx_, key.c_str(), message.c_str());
  }

 private:
  static expertise_location ToC(const Location& where) {
    expertise_location loc{};
    loc.struct_size = sizeof(loc);
    loc.file = where.file.empty() ? nullptr : where.file.c_str();
    loc.row = where.row;
    loc.column = where.column.empty() ? nullptr : where.column.c_str();
    loc.json_pointer = where.json_pointer.empty() ? nullptr : where.json_pointer.c_str();
    loc.resource_id = where.resource_id.empty() ? nullptr : where.resource_id.c_str();
    return loc;
  }
  const expertise_host_api* api_;
  void* hctx_;
};

struct ReadRequest {
  std::string input_path;
  uint32_t sync_mode = EXPERTISE_SYNC_SNAPSHOT;
  std::string state;
};

// Base class of a plugin instance.
class Importer {
 public:
  virtual ~Importer() = default;
  virtual expertise_result Read(const ReadRequest& request, Host& host) = 0;
  // Set by cancel() from another thread; Read() should poll it per record.
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

// Writes JSON text with correct escaping. Enough for flat records; authors
// may use any JSON library instead.
class JsonWriter {
 public:
  JsonWriter& BeginObject() { Separate(); out_ += '{'; first_ = true; return *this; }
  JsonWriter& EndObject() { out_ += '}'; first_ = false; return *this; }
  JsonWriter& BeginArray() { Separate(); out_ += '['; first_ = true; return *this; }
  JsonWriter& EndArray() { out_ += ']'; first_ = false; return *this; }
  JsonWriter& Key(std::string_view key) {
    Separate();
    String(key);
    out_ += ':';
    first_ = true;  // the value that follows needs no comma
    return *this;
  }
  JsonWriter& Value(std::string_view s) { Separate(); String(s); return *this; }
  JsonWriter& Value(const char* s) { return Value(std::string_view(s)); }
  JsonWriter& Value(const std::string& s) { return Value(std::string_view(s)); }
  JsonWriter& Value(double d) {
    Separate();
    // Shortest text that reads back as the same double (55.0177, not
    // 55.017699999999998).
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    out_.append(buf, ec == std::errc() ? end : buf);
    return *this;
  }
  JsonWriter& Value(long long i) { Separate(); out_ += std::to_string(i); return *this; }
  JsonWriter& Value(int i) { return Value(static_cast<long long>(i)); }
  JsonWriter& Value(bool b) { Separate(); out_ += b ? "true" : "false"; return *this; }
  JsonWriter& Strings(const std::vector<std::string>& items) {
    BeginArray();
    for (const auto& s : items) Value(s);
    return EndArray();
  }
  const std::string& str() const { return out_; }

 private:
  void Separate() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void String(std::string_view s) {
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }
  std::string out_;
  bool first_ = true;
};

// A calendar date; all zero means unset.
struct Date {
  int year = 0, month = 0, day = 0;
  bool set() const { return year != 0; }
};

// One specialist in record format 1.0 (expertise.importer.v1.SpecialistRecord).
// Unset optional values are left out of the JSON.
struct SpecialistRecord {
  std::string external_id;
  std::string display_name;
  std::string role;  // taxonomy code, e.g. "speech-language-therapist"
  std::vector<std::string> specialisms;
  std::vector<std::string> settings;
  std::optional<int> min_age, max_age;
  std::vector<std::string> languages;
  std::vector<std::string> delivery_modes;  // "in_person", "remote"
  std::optional<double> latitude, longitude;
  std::optional<double> travel_radius_km;
  std::vector<std::string> covered_authorities;
  std::string registration_body, registration_number;
  std::string employer_type;  // "local_authority", "nhs", "school_or_trust", "independent_or_voluntary"
  std::string work_email, work_phone, team;
  std::string visibility;     // "own_authority", "region", "national"
  std::string last_verify_time;  // RFC 3339, e.g. "2026-05-01T00:00:00Z"
  // Capacity; left out entirely when nothing is set.
  std::optional<double> contracted_hours_per_week, committed_hours_per_week;
  std::optional<int> current_caseload, max_caseload, waiting_time_weeks;
  Date next_available_date, valid_from, valid_to;
  std::optional<bool> accepting_external_requests;

  std::string ToJson() const {
    JsonWriter w;
    w.BeginObject();
    w.Key("externalId").Value(external_id);
    if (!display_name.empty()) w.Key("displayName").Value(display_name);
    if (!role.empty()) w.Key("role").Value(role);
    if (!specialisms.empty()) w.Key("specialisms").Strings(specialisms);
    if (!settings.empty()) w.Key("settings").Strings(settings);
    if (min_age || max_age) {
      w.Key("ageRange").BeginObject();
      if (min_age) w.Key("minAge").Value(*min_age);
      if (max_age) w.Key("maxAge").Value(*max_age);
      w.EndObject();
    }
    if (!languages.empty()) w.Key("languages").Strings(languages);
    if (!delivery_modes.empty()) {
      w.Key("deliveryModes").BeginArray();
      for (const auto& m : delivery_modes) w.Value(EnumName("DELIVERY_MODE_", m));
      w.EndArray();
    }
    if (latitude || longitude) {
      w.Key("baseLocation").BeginObject();
      if (latitude) w.Key("latitude").Value(*latitude);
      if (longitude) w.Key("longitude").Value(*longitude);
      w.EndObject();
    }
    if (travel_radius_km) w.Key("travelRadiusKm").Value(*travel_radius_km);
    if (!covered_authorities.empty()) w.Key("coveredAuthorities").Strings(covered_authorities);
    if (!registration_body.empty() || !registration_number.empty()) {
      w.Key("registration").BeginObject();
      w.Key("body").Value(registration_body);
      w.Key("number").Value(registration_number);
      w.EndObject();
    }
    if (!employer_type.empty()) w.Key("employerType").Value(EnumName("EMPLOYER_TYPE_", employer_type));
    if (!work_email.empty() || !work_phone.empty() || !team.empty()) {
      w.Key("workContact").BeginObject();
      if (!work_email.empty()) w.Key("email").Value(work_email);
      if (!work_phone.empty()) w.Key("phone").Value(work_phone);
      if (!team.empty()) w.Key("team").Value(team);
      w.EndObject();
    }
    if (!visibility.empty()) w.Key("visibility").Value(EnumName("VISIBILITY_", visibility));
    if (!last_verify_time.empty()) w.Key("lastVerifyTime").Value(last_verify_time);
    if (contracted_hours_per_week || committed_hours_per_week || current_caseload || max_caseload ||
        waiting_time_weeks || next_available_date.set() || valid_from.set() || valid_to.set() ||
        accepting_external_requests) {
      w.Key("capacity").BeginObject();
      if (contracted_hours_per_week) w.Key("contractedHoursPerWeek").Value(*contracted_hours_per_week);
      if (committed_hours_per_week) w.Key("committedHoursPerWeek").Value(*committed_hours_per_week);
      if (current_caseload) w.Key("currentCaseload").Value(*current_caseload);
      if (max_caseload) w.Key("maxCaseload").Value(*max_caseload);
      if (waiting_time_weeks) w.Key("waitingTimeWeeks").Value(*waiting_time_weeks);
      WriteDate(w, "nextAvailableDate", next_available_date);
      WriteDate(w, "validFrom", valid_from);
      WriteDate(w, "validTo", valid_to);
      if (accepting_external_requests) {
        w.Key("acceptingExternalRequests").Value(*accepting_external_requests);
      }
      w.EndObject();
    }
    w.EndObject();
    return w.str();
  }

 private:
  // "in_person" -> "DELIVERY_MODE_IN_PERSON".
  static std::string EnumName(const char* prefix, const std::string& value) {
    std::string out = prefix;
    for (char c : value) out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    return out;
  }
  static void WriteDate(JsonWriter& w, const char* key, const Date& d) {
    if (!d.set()) return;
    w.Key(key).BeginObject();
    w.Key("year").Value(d.year).Key("month").Value(d.month).Key("day").Value(d.day);
    w.EndObject();
  }
};

namespace internal {

inline void LogException(const expertise_host_api* host, void* hctx, const char* where) {
  std::string message = std::string(where) + " failed: ";
  try {
    throw;
  } catch (const std::bad_alloc&) {
    message += "out of memory";
  } catch (const std::exception& e) {
    message += e.what();
  } catch (...) {
    message += "unknown exception";
  }
  host->log(hctx, EXPERTISE_LOG_ERROR, message.c_str(), nullptr, 0);
}

template <typename T>
struct Trampolines {
  static const expertise_plugin_spec* Spec() {
    static const expertise_plugin_spec spec = {
        sizeof(expertise_plugin_spec), EXPERTISE_RECORD_FORMAT_MAJOR, EXPERTISE_RECORD_FORMAT_MINOR,
        T::kSyncModes, T::kMediaTypes, nullptr};
    return &spec;
  }
  static int Check(const expertise_config* config, const expertise_host_api* api, void* hctx,
                   void** instance) {
    try {
      Host host(api, hctx);
      std::unique_ptr<T> made = T::Create(Config(config), host);
      if (!made) return EXPERTISE_INVALID_CONFIG;
      *instance = static_cast<Importer*>(made.release());
      return EXPERTISE_OK;
    } catch (...) {
      LogException(api, hctx, "check");
      return EXPERTISE_ERROR;
    }
  }
  static int Read(void* instance, const expertise_read_request* request,
                  const expertise_host_api* api, void* hctx) {
    try {
      Host host(api, hctx);
      ReadRequest req;
      req.input_path = request->input_path ? request->input_path : "";
      req.sync_mode = request->sync_mode;
      req.state = request->state ? request->state : "";
      return static_cast<Importer*>(instance)->Read(req, host);
    } catch (...) {
      LogException(api, hctx, "read");
      return EXPERTISE_ERROR;
    }
  }
  static void Cancel(void* instance) { static_cast<Importer*>(instance)->Cancel(); }
  static void Close(void* instance) { delete static_cast<Importer*>(instance); }
};

}  // namespace internal
}  // namespace expertise::importer

// Defines the plugin's one exported entry function for class T.
#define EXPERTISE_IMPORTER_PLUGIN(T)                                                          \
  extern "C" EXPERTISE_IMPORTER_EXPORT const expertise_plugin_info* EXPERTISE_IMPORTER_ENTRY( \
      void) {                                                                                 \
    using Tramp = ::expertise::importer::internal::Trampolines<T>;                            \
    static const expertise_plugin_ops ops = {sizeof(expertise_plugin_ops), &Tramp::Spec,      \
                                             &Tramp::Check,                &Tramp::Read,      \
                                             &Tramp::Cancel,               &Tramp::Close};    \
    static const expertise_plugin_info info = {                                               \
        EXPERTISE_IMPORTER_MAGIC,                                                             \
        sizeof(expertise_plugin_info),                                                        \
        EXPERTISE_IMPORTER_ABI_MAJOR,                                                         \
        EXPERTISE_IMPORTER_ABI_MINOR,                                                         \
        T::kName,                                                                             \
        T::kVersion,                                                                          \
        T::kDescription,                                                                      \
        T::kConfigKeys,                                                                       \
        sizeof(T::kConfigKeys) / sizeof(T::kConfigKeys[0]),                                   \
        &ops};                                                                                \
    return &info;                                                                             \
  }

#endif  // EXPERTISE_IMPORTER_PLUGIN_HPP_
