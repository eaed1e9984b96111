// Copyright expertise-directory authors.

#include "plugins/openreferral/openreferral_importer.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expertise/importer_support.hpp"
#include "expertise/taxonomy_codes.hpp"
#include "plugins/openreferral/openreferral_run.h"

namespace expertise::plugins {
namespace {

using ::expertise::importer::Config;
using ::expertise::importer::Host;
using ::expertise::importer::ReadRequest;
using ::nlohmann::json;
using openreferral_internal::kMaxAge;
using openreferral_internal::kMinAge;
using openreferral_internal::MapKey;
using openreferral_internal::ParseInt;
using openreferral_internal::Quote;
using openreferral_internal::Trim;
namespace support = ::expertise::importer::support;

// The taxonomy's codes, generated from the one taxonomy source at build time
// (a plugin must not read files outside its input).
using importer::taxonomy::Contains;
using importer::taxonomy::kRoleCodes;
using importer::taxonomy::kSettingCodes;
using importer::taxonomy::kSpecialismCodes;

enum class CodeKind { kRole, kSpecialism, kSetting };

bool IsCode(CodeKind kind, std::string_view code) {
  switch (kind) {
    case CodeKind::kRole:
      return Contains(kRoleCodes, code);
    case CodeKind::kSpecialism:
      return Contains(kSpecialismCodes, code);
    case CodeKind::kSetting:
      return Contains(kSettingCodes, code);
  }
  return false;
}

const char* KindName(CodeKind kind) {
  switch (kind) {
    case CodeKind::kRole:
      return "role";
    case CodeKind::kSpecialism:
      return "specialism";
    case CodeKind::kSetting:
      return "setting";
  }
  return "";
}

template <size_t N>
std::string JoinCodes(const std::array<std::string_view, N>& codes) {
  std::string out;
  for (std::string_view code : codes) {
    if (!out.empty()) out += ", ";
    out += code;
  }
  return out;
}

std::string CodeList(CodeKind kind) {
  switch (kind) {
    case CodeKind::kRole:
      return JoinCodes(kRoleCodes);
    case CodeKind::kSpecialism:
      return JoinCodes(kSpecialismCodes);
    case CodeKind::kSetting:
      return JoinCodes(kSettingCodes);
  }
  return "";
}

// ---------------------------------------------------------------------------
// Config.

// The given value of `key`, else its declared default, so Create() sees the
// same values whether or not the host filled defaults in.
std::string ValueOf(const Config& config, const char* key) {
  return support::DeclaredConfig(config, OpenReferralImporter::kConfigKeys).Get(key);
}

// Reads a term=code LIST into `out`; reports each bad entry. Returns false
// when any entry was bad.
bool ParseTermMap(const Config& config, const char* key, CodeKind kind,
                  std::map<std::string, std::string>& out, Host& host) {
  bool ok = true;
  for (const std::string& entry : config.GetList(key)) {
    // Codes never hold '=', term names might: split at the last one.
    const size_t eq = entry.rfind('=');
    if (eq == std::string::npos) {
      host.ConfigError(key, "entry " + Quote(entry) + " is not term=code");
      ok = false;
      continue;
    }
    const std::string term = MapKey(std::string_view(entry).substr(0, eq));
    const std::string code(Trim(std::string_view(entry).substr(eq + 1)));
    if (term.empty() || code.empty()) {
      host.ConfigError(key, "entry " + Quote(entry) + " needs both a term and a code (term=code)");
      ok = false;
      continue;
    }
    if (!IsCode(kind, code)) {
      std::string message =
          Quote(code) + " in entry " + Quote(entry) + " is not a " + KindName(kind) + " code";
      for (CodeKind other : {CodeKind::kRole, CodeKind::kSpecialism, CodeKind::kSetting}) {
        if (other != kind && IsCode(other, code)) {
          message += std::string(" (it is a ") + KindName(other) + " code)";
        }
      }
      message += std::string("; ") + KindName(kind) + " codes: " + CodeList(kind);
      host.ConfigError(key, message);
      ok = false;
      continue;
    }
    auto [it, inserted] = out.emplace(term, code);
    if (!inserted && it->second != code) {
      host.ConfigError(key, "term " + Quote(term) + " is mapped to both " + Quote(it->second) +
                                " and " + Quote(code));
      ok = false;
    }
  }
  return ok;
}

bool ParseAge(const Config& config, const char* key, int& out, Host& host) {
  long long value = 0;
  if (!ParseInt(ValueOf(config, key), value)) {
    host.ConfigError(key, "must be a whole number of years");
    return false;
  }
  if (value < kMinAge || value > kMaxAge) {
    host.ConfigError(key, std::to_string(value) + " is outside 0 to 25");
    return false;
  }
  out = static_cast<int>(value);
  return true;
}

// Checks an ENUM value against its declared allowed values (the host does
// too; repeated so that in-process callers get the same guarantees).
bool ParseEnum(const Config& config, const char* key, std::string& out, Host& host) {
  const support::DeclaredConfig declared(config, OpenReferralImporter::kConfigKeys);
  const std::string value = declared.Get(key);
  if (declared.IsAllowed(key, value)) {
    out = value;
    return true;
  }
  host.ConfigError(key, Quote(value) + " is not one of " + declared.AllowedValues(key));
  return false;
}

}  // namespace

std::unique_ptr<OpenReferralImporter> OpenReferralImporter::Create(const Config& config,
                                                                   Host& host) {
  OpenReferralOptions o;
  bool ok = true;

  std::string value;
  if (ParseEnum(config, "record_per", value, host)) {
    o.record_per = value == "contact" ? OpenReferralOptions::RecordPer::kContact
                                      : OpenReferralOptions::RecordPer::kService;
  } else {
    ok = false;
  }
  if (ParseEnum(config, "input_format", value, host)) {
    o.input_format = value == "json"     ? OpenReferralOptions::InputFormat::kJson
                     : value == "ndjson" ? OpenReferralOptions::InputFormat::kNdjson
                                         : OpenReferralOptions::InputFormat::kAuto;
  } else {
    ok = false;
  }
  ok &= ParseEnum(config, "employer_type", o.employer_type, host);
  ok &= ParseEnum(config, "visibility", o.visibility, host);

  ok &= ParseTermMap(config, "role_map", CodeKind::kRole, o.role_map, host);
  ok &= ParseTermMap(config, "specialism_map", CodeKind::kSpecialism, o.specialism_map, host);
  ok &= ParseTermMap(config, "setting_map", CodeKind::kSetting, o.setting_map, host);

  o.default_role = std::string(Trim(ValueOf(config, "default_role")));
  if (!o.default_role.empty() && !IsCode(CodeKind::kRole, o.default_role)) {
    host.ConfigError("default_role", Quote(o.default_role) + " is not a role code; role codes: " +
                                         CodeList(CodeKind::kRole));
    ok = false;
  }
  if (o.role_map.empty() && o.default_role.empty() && config.GetList("role_map").empty()) {
    // Without either every service would be rejected: fail at check time.
    host.ConfigError("role_map", "give role_map or default_role: every record needs a role");
    ok = false;
  }

  const bool min_ok = ParseAge(config, "default_min_age", o.default_min_age, host);
  const bool max_ok = ParseAge(config, "default_max_age", o.default_max_age, host);
  ok &= min_ok && max_ok;
  if (min_ok && max_ok && o.default_min_age > o.default_max_age) {
    host.ConfigError("default_max_age", "must be at least default_min_age (" +
                                            std::to_string(o.default_min_age) + ")");
    ok = false;
  }

  o.capacity_unit = MapKey(ValueOf(config, "capacity_unit"));

  o.delivery_modes.clear();
  // Split like Config::GetList: trimmed of spaces only.
  const std::vector<std::string> modes =
      support::DeclaredConfig(config, kConfigKeys).GetList("delivery_modes", " ");
  for (const std::string& mode : modes) {
    if (mode != "in_person" && mode != "remote") {
      host.ConfigError("delivery_modes",
                       Quote(mode) + " is not a delivery mode (in_person, remote)");
      ok = false;
      continue;
    }
    support::AppendUnique(o.delivery_modes, mode);
  }
  if (ok && o.delivery_modes.empty()) {
    host.ConfigError("delivery_modes", "give at least one of in_person, remote");
    ok = false;
  }

  const std::string partial = ValueOf(config, "allow_partial_page");
  if (partial != "true" && partial != "false") {
    host.ConfigError("allow_partial_page", "must be true or false");
    ok = false;
  }
  o.allow_partial_page = partial == "true";

  long long max_bytes = 0;
  if (!ParseInt(ValueOf(config, "max_input_bytes"), max_bytes) || max_bytes <= 0) {
    host.ConfigError("max_input_bytes", "must be a positive number of bytes");
    ok = false;
  }
  o.max_input_bytes = max_bytes;

  if (!ok) return nullptr;
  return std::unique_ptr<OpenReferralImporter>(new OpenReferralImporter(std::move(o)));
}

expertise_result OpenReferralImporter::Read(const ReadRequest& request, Host& host) {
  namespace fs = std::filesystem;
  const fs::path path(request.input_path);
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) {
    host.Log(EXPERTISE_LOG_ERROR, "cannot read the input",
             {{"path", request.input_path}, {"error", ec.message()}});
    return EXPERTISE_ERROR;
  }
  // Checked before reading so an oversized file is never loaded.
  if (size > static_cast<uintmax_t>(options_.max_input_bytes)) {
    host.Log(EXPERTISE_LOG_ERROR, "input is larger than max_input_bytes",
             {{"bytes", std::to_string(size)},
              {"max_input_bytes", std::to_string(options_.max_input_bytes)}});
    return EXPERTISE_ERROR;
  }
  std::ifstream in(path, std::ios::binary);
  std::string content(static_cast<size_t>(size), '\0');
  if (!in || !in.read(content.data(), static_cast<std::streamsize>(size))) {
    host.Log(EXPERTISE_LOG_ERROR, "cannot read the input", {{"path", request.input_path}});
    return EXPERTISE_ERROR;
  }
  return Parse(content, path.filename().string(), request, host);
}

expertise_result OpenReferralImporter::Parse(std::string_view content, const std::string& file_name,
                                             const ReadRequest& request, Host& host) {
  try {
    openreferral_internal::Run run(*this, options_, file_name, request, host);
    return run.Execute(content);
  } catch (const std::bad_alloc&) {
    host.Log(EXPERTISE_LOG_ERROR, "out of memory reading the input");
  } catch (const json::exception& e) {
    // A bug, not bad input: input errors are rejects. Logged for the report.
    host.Log(EXPERTISE_LOG_ERROR, "internal error reading the input",
             {{"error", openreferral_internal::CleanParseMessage(e.what())}});
  }
  return EXPERTISE_ERROR;
}

}  // namespace expertise::plugins
