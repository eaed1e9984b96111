// Included by its own directory name, not from the repository root: plugin
// folders build like out-of-tree plugins, with only the SDK on the include
// path.
#include "fhir_importer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace expertise::plugins {
namespace {

using importer::Config;
using importer::Host;
using importer::Location;
using importer::ReadRequest;
using importer::SpecialistRecord;
using nlohmann::json;
using Options = FhirImporter::Options;
using CodeMapping = FhirImporter::CodeMapping;

// ---------------------------------------------------------------------------
// Reference data, copied from services/common/reference/taxonomy.json
// (version 2026-11-1). The plugin runs sandboxed without access to the
// registry's files, so the codes are compiled in; the host re-checks every
// emitted code against the live taxonomy.

constexpr std::string_view kRoleCodes[] = {
    "qualified-teacher-deaf",
    "qualified-teacher-vision-impairment",
    "qualified-teacher-multi-sensory-impairment",
    "specialist-teacher",
    "advisory-teacher",
    "early-years-send-adviser",
    "portage-home-visitor",
    "educational-psychologist",
    "habilitation-specialist",
    "communication-support-worker",
    "aac-specialist",
    "speech-language-therapist",
    "occupational-therapist",
    "physiotherapist",
    "audiologist",
    "paediatric-audiologist",
    "hearing-therapist",
    "orthoptist",
    "clinical-psychologist",
    "play-therapist",
    "behaviour-therapist",
    "bsl-interpreter",
    "sensory-support-worker",
};

constexpr std::string_view kSpecialismCodes[] = {
    "hearing-impairment",
    "vision-impairment",
    "multi-sensory-impairment",
    "speech-language-communication",
    "developmental-language-disorder",
    "stammering",
    "childhood-apraxia-of-speech",
    "selective-mutism",
    "aac",
    "autism",
    "semh",
    "adhd",
    "learning-disability",
    "profound-multiple-learning-disability",
    "specific-learning-difficulty",
    "physical-disability",
    "eating-drinking-swallowing",
    "sensory-processing",
    "complex-medical-needs",
    "down-syndrome",
    "rare-conditions",
    "early-communication",
};

constexpr std::string_view kSettingCodes[] = {
    "early-years-maintained",
    "early-years-pvi",
    "childminder",
    "primary",
    "secondary",
    "special-school",
    "alternative-provision",
    "post-16",
    "home-community",
    "hospital-education",
};

struct SnomedRole {
  std::string_view snomed_code;
  std::string_view role;
};

// SNOMED CT occupation codes -> role codes. The first block is taxonomy.json's
// `snomed_ct` codes; the second maps the related codes of the role-code table
// in the data formats notes (formats.md, section 6) to the role of their
// row, the nearest role we have (role_map can override any of them).
constexpr SnomedRole kSnomedRoles[] = {
    {"159026005", "speech-language-therapist"},
    {"80546007", "occupational-therapist"},
    {"36682004", "physiotherapist"},
    {"309418004", "audiologist"},
    {"310170009", "paediatric-audiologist"},
    {"309419007", "hearing-therapist"},
    {"159027001", "orthoptist"},
    {"310192008", "educational-psychologist"},
    {"310191001", "clinical-psychologist"},
    {"224590002", "play-therapist"},
    {"224583007", "behaviour-therapist"},
    {"224625007", "bsl-interpreter"},
    // Related codes.
    {"224593000", "speech-language-therapist"},  // community-based SLT
    {"309409001", "speech-language-therapist"},  // hospital-based SLT
    {"224594006", "speech-language-therapist"},  // SLT assistant
    {"59944000", "educational-psychologist"},    // psychologist
    {"309422009", "occupational-therapist"},     // community-based OT
    {"224589006", "physiotherapist"},            // community-based physiotherapist
};

constexpr std::string_view kSnomedSystem = "http://snomed.info/sct";
constexpr std::string_view kBcp47System = "urn:ietf:bcp:47";

// Extensions this importer defines (documented in docs/importers/fhir.md).
constexpr std::string_view kSettingExtension =
    "https://expertise-directory.example/StructureDefinition/setting";
constexpr std::string_view kAgeRangeExtension =
    "https://expertise-directory.example/StructureDefinition/age-range";
constexpr std::string_view kCommittedHoursExtension =
    "https://expertise-directory.example/StructureDefinition/committed-hours";

constexpr std::string_view kDaysOfWeek[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

// An availableTime entry with allDay counts as a working day, not 24 hours.
constexpr double kAllDayHours = 7.5;
constexpr double kMaxHoursPerWeek = 168;
constexpr int kMaxAge = 25;

// FHIR resources nest about ten levels deep inside a Bundle; anything far
// deeper is hostile or broken, and refusing it bounds parser memory.
constexpr int kMaxNestingDepth = 64;

// Bounds the per-type counters of ignored resources: resourceType is input.
constexpr size_t kMaxIgnoredTypesTracked = 32;
constexpr size_t kMaxRawExcerptBytes = 512;

template <size_t N>
bool Contains(const std::string_view (&codes)[N], std::string_view code) {
  return std::find(std::begin(codes), std::end(codes), code) != std::end(codes);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void AppendUnique(std::vector<std::string>& items, std::string item) {
  if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(std::move(item));
}

// ---------------------------------------------------------------------------
// Text and JSON helpers.

// Returns the offset of the first byte that is not part of well-formed UTF-8
// (no overlong forms, surrogates or code points above U+10FFFF).
std::optional<size_t> FirstInvalidUtf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const unsigned char lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    unsigned char min_second = 0x80, max_second = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) min_second = 0xA0;  // overlong
      if (lead == 0xED) max_second = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) min_second = 0x90;  // overlong
      if (lead == 0xF4) max_second = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (n - i < length) return i;
    if (bytes[i + 1] < min_second || bytes[i + 1] > max_second) return i;
    for (size_t k = 2; k < length; ++k) {
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xBF) return i;
    }
    i += length;
  }
  return std::nullopt;
}

// Thrown by the parser callback to abandon a document nested too deeply.
struct TooDeep {};

// Parses one JSON document. On failure returns false and sets `error` to a
// description that quotes no input (parser messages echo the last bytes
// read, which may be personal data).
bool ParseJson(std::string_view text, json& out, std::string& error) {
  if (auto bad = FirstInvalidUtf8(text)) {
    error = "not valid UTF-8 at byte " + std::to_string(*bad);
    return false;
  }
  try {
    out = json::parse(text.begin(), text.end(), [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxNestingDepth) throw TooDeep{};
      return true;
    });
    return true;
  } catch (const TooDeep&) {
    error = "JSON nested deeper than " + std::to_string(kMaxNestingDepth) + " levels";
  } catch (const json::parse_error& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 1,
    // column 5: syntax error ... - invalid literal; last read: '<input>';
    // expected ...": keep everything but the echoed input.
    std::string_view what = e.what();
    const size_t tag_end = what.find("] ");
    if (tag_end != std::string_view::npos) what.remove_prefix(tag_end + 2);
    const size_t echo = what.find("; last read");
    error = "not valid JSON: " + std::string(what.substr(0, echo));
    if (echo != std::string_view::npos) {
      const size_t expected = what.rfind("; expected");
      if (expected != std::string_view::npos && expected > echo) error += what.substr(expected);
    }
  } catch (const json::exception&) {
    // For example a number too large for a double.
    error = "JSON value out of range";
  }
  out = json();
  return false;
}

// Returns obj[key] when obj is an object holding key, else nullptr.
const json* Member(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// Returns obj[key] when it is a string, else "".
std::string StringMember(const json& obj, std::string_view key) {
  const json* value = Member(obj, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

// Returns obj[key] when it is an array, else an empty array.
const json& ArrayMember(const json& obj, std::string_view key) {
  static const json* const kEmpty = new json(json::array());
  const json* value = Member(obj, key);
  return value != nullptr && value->is_array() ? *value : *kEmpty;
}

// Returns obj[key] == false (absent or non-boolean counts as active).
bool IsInactive(const json& obj) {
  const json* active = Member(obj, "active");
  return active != nullptr && active->is_boolean() && !active->get<bool>();
}

// Returns the first `limit` bytes of `text`, cut at a UTF-8 boundary.
std::string Excerpt(std::string_view text, size_t limit = kMaxRawExcerptBytes) {
  if (text.size() <= limit) return std::string(text);
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

// ---------------------------------------------------------------------------
// FHIR instants (meta.lastUpdated) and times (availableTime).

// A point in time, UTC.
struct Instant {
  int64_t seconds = 0;  // since 1970-01-01T00:00:00Z
  int32_t nanos = 0;
  auto operator<=>(const Instant&) const = default;
};

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's days_from_civil: proleptic Gregorian, exact for all years.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(static_cast<int64_t>(yoe) + era * 400 + (m <= 2));
}

// Reads exactly `width` digits at s[pos] into `value`.
bool Digits(std::string_view s, size_t pos, size_t width, int& value) {
  if (pos + width > s.size()) return false;
  value = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + (s[i] - '0');
  }
  return true;
}

// Parses a FHIR instant / RFC 3339 date-time with seconds and a zone:
// YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm), years 0001 to 9999 (the
// range a protobuf Timestamp holds).
std::optional<Instant> ParseInstant(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, month) ||
      s[7] != '-' || !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, hour) || s[13] != ':' || !Digits(s, 14, 2, minute) || s[16] != ':' ||
      !Digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  size_t pos = 19;
  int32_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits == 9) return std::nullopt;
      nanos = nanos * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  int offset_seconds = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int offset_hours, offset_minutes;
    if (!Digits(s, pos + 1, 2, offset_hours) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, offset_minutes) || offset_hours > 23 || offset_minutes > 59) {
      return std::nullopt;
    }
    offset_seconds = (offset_hours * 3600 + offset_minutes * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  Instant instant;
  instant.seconds =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + second - offset_seconds;
  instant.nanos = nanos;
  return instant;
}

// Formats an instant as RFC 3339 in UTC, e.g. "2026-05-01T09:30:00.25Z".
std::string FormatInstant(const Instant& instant) {
  int64_t days = instant.seconds / 86400;
  int64_t rest = instant.seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  int year, month, day;
  CivilFromDays(days, year, month, day);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day,
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                static_cast<int>(rest % 60));
  std::string out = buf;
  if (instant.nanos != 0) {
    char fraction[16];
    std::snprintf(fraction, sizeof fraction, ".%09d", static_cast<int>(instant.nanos));
    std::string digits = fraction;
    while (digits.back() == '0') digits.pop_back();
    out += digits;
  }
  return out + "Z";
}

// Parses a FHIR time, hh:mm:ss[.fraction] (hh:mm is accepted too, as some
// exporters write it), into seconds after midnight.
std::optional<double> ParseTimeOfDay(std::string_view s) {
  int hour, minute, second = 0;
  if (!Digits(s, 0, 2, hour) || s.size() < 5 || s[2] != ':' || !Digits(s, 3, 2, minute) ||
      hour > 23 || minute > 59) {
    return std::nullopt;
  }
  double fraction = 0;
  if (s.size() > 5) {
    if (s[5] != ':' || !Digits(s, 6, 2, second) || second > 59) return std::nullopt;
    if (s.size() > 8) {
      if (s[8] != '.' || s.size() == 9 || s.size() > 18) return std::nullopt;
      double scale = 0.1;
      for (char c : s.substr(9)) {
        if (c < '0' || c > '9') return std::nullopt;
        fraction += (c - '0') * scale;
        scale /= 10;
      }
    }
  }
  return hour * 3600.0 + minute * 60.0 + second + fraction;
}

// ---------------------------------------------------------------------------
// Configuration.

// Reads config values, falling back to the declared defaults, and records
// whether any key was reported bad.
class ConfigReader {
 public:
  ConfigReader(const Config& config, Host& host) : config_(config), host_(host) {}

  bool failed() const { return failed_; }

  void Error(const std::string& key, const std::string& message) {
    host_.ConfigError(key, message);
    failed_ = true;
  }

  std::string String(const std::string& key) const {
    if (config_.Has(key)) return config_.Get(key);
    const expertise_config_key* declared = Declared(key);
    return declared != nullptr && declared->default_value != nullptr ? declared->default_value : "";
  }

  // Splits a LIST value like Config::GetList: on ',', trimmed, empty items dropped.
  std::vector<std::string> List(const std::string& key) const {
    std::vector<std::string> items;
    const std::string value = String(key);
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find(',', start);
      if (end == std::string::npos) end = value.size();
      std::string_view item = Trim(std::string_view(value).substr(start, end - start));
      if (!item.empty()) items.emplace_back(item);
      start = end + 1;
    }
    return items;
  }

  // Returns the INT value of `key` within [min, max], or reports it.
  long long Int(const std::string& key, long long min, long long max) {
    const std::string text = String(key);
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      Error(key, "\"" + text + "\" is not a whole number");
      return min;
    }
    if (value < min || value > max) {
      Error(key, std::to_string(value) + " is outside " + std::to_string(min) + " to " +
                     std::to_string(max));
      return min;
    }
    return value;
  }

  // Returns the ENUM value of `key`, or reports it when not an allowed value.
  std::string Enum(const std::string& key) {
    const std::string value = String(key);
    const expertise_config_key* declared = Declared(key);
    const std::string allowed =
        declared != nullptr && declared->allowed_values != nullptr ? declared->allowed_values : "";
    std::string_view rest = allowed;
    while (!rest.empty()) {
      const size_t bar = rest.find('|');
      if (rest.substr(0, bar) == value) return value;
      rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
    }
    Error(key, "\"" + value + "\" is not one of " + allowed);
    return value;
  }

  // Parses `key` as a LIST of code=target or system|code=target pairs whose
  // targets are among `targets` (named `kind` in messages).
  template <size_t N>
  std::vector<CodeMapping> Mappings(const std::string& key, const std::string_view (&targets)[N],
                                    const char* kind) {
    std::vector<CodeMapping> mappings;
    for (const std::string& item : List(key)) {
      // Split at the last '=': system URIs may hold '=', our codes never do.
      const size_t equals = item.rfind('=');
      if (equals == std::string::npos) {
        Error(key, "entry \"" + item + "\" is not code=" + kind);
        continue;
      }
      std::string_view source = Trim(std::string_view(item).substr(0, equals));
      const std::string_view target = Trim(std::string_view(item).substr(equals + 1));
      CodeMapping mapping;
      const size_t bar = source.rfind('|');
      if (bar != std::string_view::npos) {
        mapping.system = std::string(Trim(source.substr(0, bar)));
        source = Trim(source.substr(bar + 1));
      }
      mapping.code = std::string(source);
      mapping.target = std::string(target);
      if (mapping.code.empty() || mapping.target.empty()) {
        Error(key, "entry \"" + item + "\" is not code=" + kind);
        continue;
      }
      if (!Contains(targets, mapping.target)) {
        Error(key, "entry \"" + item + "\": \"" + mapping.target + "\" is not a " + kind + " code");
        continue;
      }
      mappings.push_back(std::move(mapping));
    }
    // Later entries override earlier ones for the same source code.
    std::reverse(mappings.begin(), mappings.end());
    return mappings;
  }

 private:
  static const expertise_config_key* Declared(const std::string& key) {
    for (const auto& declared : FhirImporter::kConfigKeys) {
      if (key == declared.name) return &declared;
    }
    return nullptr;
  }

  const Config& config_;
  Host& host_;
  bool failed_ = false;
};

// Returns the target of the first mapping matching (system, code): an entry
// naming the system wins over one for any system.
const std::string* FindMapping(const std::vector<CodeMapping>& mappings, const std::string& system,
                               const std::string& code) {
  const std::string* any_system = nullptr;
  for (const CodeMapping& mapping : mappings) {
    if (mapping.code != code) continue;
    if (mapping.system == system && !system.empty()) return &mapping.target;
    if (mapping.system.empty() && any_system == nullptr) any_system = &mapping.target;
  }
  return any_system;
}

// ---------------------------------------------------------------------------
// One run of Parse().

// A resource read from the input, with where it was found.
struct Resource {
  json body;
  std::string type;
  std::string id;
  uint64_t row = 0;          // NDJSON line; 0 in a Bundle
  std::string json_pointer;  // "/entry/3/resource" in a Bundle; "" in NDJSON
  std::optional<Instant> last_updated;
  bool last_updated_invalid = false;  // meta.lastUpdated present but not an instant
};

// Why a PractitionerRole could not become a record.
struct RoleError {
  expertise_reject_reason reason;
  std::string message;
};

enum class Flow { kContinue, kStop };

class Run {
 public:
  Run(const Options& options, const importer::Importer& importer, const std::string& file_name,
      const ReadRequest& request, Host& host)
      : options_(options),
        importer_(importer),
        file_name_(file_name),
        request_(request),
        host_(host) {}

  expertise_result Execute(std::string_view content) {
    if (content.size() > options_.max_input_bytes) {
      host_.Log(EXPERTISE_LOG_ERROR, "input is larger than max_input_bytes",
                {{"bytes", std::to_string(content.size())},
                 {"max_input_bytes", std::to_string(options_.max_input_bytes)}});
      return EXPERTISE_ERROR;
    }
    if (importer_.cancelled()) return EXPERTISE_CANCELLED;
    ReadCursor();

    // A UTF-8 byte-order mark is allowed before JSON text by some exporters.
    if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
    if (content.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      host_.Log(EXPERTISE_LOG_INFO, "input is empty", {{"file", file_name_}});
      return Finish();
    }

    if (Load(content) == Flow::kStop) return EXPERTISE_CANCELLED;
    if (bundle_unreadable_) return EXPERTISE_OK;
    for (size_t index : roles_) {
      if (importer_.cancelled()) return EXPERTISE_CANCELLED;
      if (ProcessRole(resources_[index]) == Flow::kStop) return EXPERTISE_CANCELLED;
    }
    return Finish();
  }

 private:
  bool incremental() const { return request_.sync_mode == EXPERTISE_SYNC_INCREMENTAL; }

  void ReadCursor() {
    if (!incremental() || request_.state.empty()) return;
    cursor_ = ParseInstant(request_.state);
    if (!cursor_) {
      // Emitting everything is safe (the registry upserts), failing the run
      // would block the source until someone resets its state.
      host_.Log(EXPERTISE_LOG_WARN,
                "incremental state is not an RFC 3339 instant; reading every record");
    }
  }

  expertise_result Finish() {
    std::vector<std::pair<std::string, std::string>> fields = {
        {"file", file_name_},
        {"practitioner_roles", std::to_string(roles_.size())},
        {"emitted", std::to_string(emitted_)},
        {"rejected", std::to_string(rejected_)},
        {"inactive", std::to_string(inactive_)},
    };
    if (incremental()) fields.emplace_back("unchanged", std::to_string(unchanged_));
    host_.Log(EXPERTISE_LOG_INFO, "read FHIR input", fields);
    if (!ignored_types_.empty()) {
      std::vector<std::pair<std::string, std::string>> counts;
      for (const auto& [type, count] : ignored_types_)
        counts.emplace_back(type, std::to_string(count));
      host_.Log(EXPERTISE_LOG_DEBUG, "ignored resources of types this importer does not read",
                counts);
    }
    if (incremental() && max_seen_) {
      // Never move the cursor backwards: an input older than the cursor must
      // not make the next run re-read what this one already skipped.
      const Instant checkpoint = cursor_ ? std::max(*cursor_, *max_seen_) : *max_seen_;
      if (!host_.Checkpoint(FormatInstant(checkpoint))) return EXPERTISE_CANCELLED;
    }
    return EXPERTISE_OK;
  }

  // --- Loading ------------------------------------------------------------

  Flow Load(std::string_view content) {
    const bool named_ndjson =
        EndsWith(Lowercase(file_name_), ".ndjson") || EndsWith(Lowercase(file_name_), ".jsonl");
    if (named_ndjson) return LoadNdjson(content);

    json document;
    std::string error;
    if (ParseJson(content, document, error)) return LoadDocument(std::move(document));
    if (LooksLikeNdjson(content)) return LoadNdjson(content);
    // The whole input is one broken document: one reject, nothing else.
    bundle_unreadable_ = true;
    return RejectAt(Location{file_name_, 0, "", "", ""}, EXPERTISE_REJECT_PARSE, "",
                    "input is not a FHIR JSON document: " + error);
  }

  // True when the first non-blank line is a JSON object on its own, so a
  // file not named .ndjson whose whole text does not parse is read per line.
  static bool LooksLikeNdjson(std::string_view content) {
    size_t start = 0;
    while (start < content.size()) {
      size_t end = content.find('\n', start);
      if (end == std::string_view::npos) end = content.size();
      std::string_view line = content.substr(start, end - start);
      if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
        if (end == content.size()) return false;  // a single line is not NDJSON here
        json value;
        std::string error;
        return ParseJson(line, value, error) && value.is_object();
      }
      start = end + 1;
    }
    return false;
  }

  Flow LoadDocument(json document) {
    if (!document.is_object()) {
      bundle_unreadable_ = true;
      return RejectAt(Location{file_name_, 0, "", "", ""}, EXPERTISE_REJECT_SCHEMA, "",
                      "input is not a FHIR resource or Bundle (not a JSON object)");
    }
    if (StringMember(document, "resourceType") != "Bundle") {
      // A single resource on its own.
      return AddResource(std::move(document), 0, "", "");
    }
    json* entries = document.contains("entry") ? &document["entry"] : nullptr;
    if (entries == nullptr) return Flow::kContinue;
    if (!entries->is_array()) {
      bundle_unreadable_ = true;
      return RejectAt(Location{file_name_, 0, "", "/entry", ""}, EXPERTISE_REJECT_SCHEMA, "",
                      "Bundle.entry is not an array");
    }
    for (size_t i = 0; i < entries->size(); ++i) {
      if (importer_.cancelled()) return Flow::kStop;
      json& entry = (*entries)[i];
      const std::string pointer = "/entry/" + std::to_string(i);
      json* resource =
          entry.is_object() && entry.contains("resource") ? &entry["resource"] : nullptr;
      if (resource == nullptr) {
        // Entries without a resource (search outcomes, responses) carry nothing to import.
        CountIgnored("(entry without resource)");
        continue;
      }
      const std::string full_url = StringMember(entry, "fullUrl");
      if (AddResource(std::move(*resource), 0, pointer + "/resource", full_url) == Flow::kStop) {
        return Flow::kStop;
      }
    }
    return Flow::kContinue;
  }

  Flow LoadNdjson(std::string_view content) {
    uint64_t line_number = 0;
    size_t start = 0;
    while (start < content.size()) {
      if (importer_.cancelled()) return Flow::kStop;
      size_t end = content.find('\n', start);
      if (end == std::string_view::npos) end = content.size();
      std::string_view line = content.substr(start, end - start);
      start = end + 1;
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;

      json value;
      std::string error;
      if (!ParseJson(line, value, error)) {
        // No raw excerpt: a broken line may be a Practitioner with personal data.
        if (RejectAt(Location{file_name_, line_number, "", "", ""}, EXPERTISE_REJECT_PARSE, "",
                     "line is not a FHIR JSON resource: " + error) == Flow::kStop) {
          return Flow::kStop;
        }
        continue;
      }
      if (AddResource(std::move(value), line_number, "", "") == Flow::kStop) return Flow::kStop;
    }
    return Flow::kContinue;
  }

  // Keeps a resource this importer reads and indexes it for references.
  Flow AddResource(json body, uint64_t row, const std::string& pointer,
                   const std::string& full_url) {
    const json* type_value = Member(body, "resourceType");
    if (type_value == nullptr || !type_value->is_string()) {
      return RejectAt(
          Location{file_name_, row, "", pointer, ""}, EXPERTISE_REJECT_SCHEMA, "",
          body.is_object() ? "resource has no resourceType" : "resource is not a JSON object");
    }
    Resource resource;
    resource.type = type_value->get<std::string>();
    if (resource.type != "PractitionerRole" && resource.type != "Practitioner" &&
        resource.type != "Organization" && resource.type != "Location") {
      CountIgnored(resource.type);
      return Flow::kContinue;
    }
    resource.id = StringMember(body, "id");
    resource.row = row;
    resource.json_pointer = pointer;
    if (const json* meta = Member(body, "meta")) {
      if (const json* last_updated = Member(*meta, "lastUpdated")) {
        resource.last_updated = last_updated->is_string()
                                    ? ParseInstant(last_updated->get<std::string>())
                                    : std::nullopt;
        resource.last_updated_invalid = !resource.last_updated.has_value();
      }
    }
    // Only the two resources the cursor compares move it (see
    // docs/importers/fhir.md, "Incremental sync").
    if (resource.last_updated &&
        (resource.type == "PractitionerRole" || resource.type == "Practitioner")) {
      if (!max_seen_ || *resource.last_updated > *max_seen_) max_seen_ = resource.last_updated;
    }
    resource.body = std::move(body);

    const size_t index = resources_.size();
    resources_.push_back(std::move(resource));
    const Resource& stored = resources_.back();
    if (stored.type == "PractitionerRole") {
      roles_.push_back(index);
      return Flow::kContinue;
    }
    if (!stored.id.empty()) Index(stored.type + "/" + stored.id, index);
    if (!full_url.empty()) Index(full_url, index);
    return Flow::kContinue;
  }

  void Index(const std::string& key, size_t index) {
    if (!by_reference_.emplace(key, index).second) {
      host_.Log(EXPERTISE_LOG_WARN, "resource repeats an earlier one; the first is used",
                {{"resource_id", key}});
    }
  }

  void CountIgnored(const std::string& type) {
    std::string key = Excerpt(type, 64);
    if (ignored_types_.count(key) == 0 && ignored_types_.size() >= kMaxIgnoredTypesTracked) {
      key = "(other)";
    }
    ++ignored_types_[key];
  }

  // --- References ---------------------------------------------------------

  // Resolves a Reference to a resource of `type`: a contained "#id", a
  // Bundle fullUrl, "Type/id", or an absolute URL ending in Type/id (with or
  // without /_history/version). Returns nullptr and sets `error` when not found.
  const json* Resolve(const json& reference, const std::string& type, const json& role,
                      const Resource** found, std::string& error) const {
    *found = nullptr;
    const std::string target = StringMember(reference, "reference");
    if (target.empty()) {
      error = "has no literal reference";
      return nullptr;
    }
    if (target[0] == '#') {
      for (const json& contained : ArrayMember(role, "contained")) {
        if (StringMember(contained, "id") == target.substr(1) &&
            StringMember(contained, "resourceType") == type) {
          return &contained;
        }
      }
      error = "\"" + target + "\" is not a contained " + type;
      return nullptr;
    }
    auto it = by_reference_.find(target);
    if (it == by_reference_.end()) {
      std::string_view path = target;
      const size_t history = path.find("/_history/");
      if (history != std::string_view::npos) path = path.substr(0, history);
      const size_t last_slash = path.rfind('/');
      if (last_slash != std::string_view::npos && last_slash > 0) {
        const size_t type_slash = path.rfind('/', last_slash - 1);
        const std::string_view relative =
            type_slash == std::string_view::npos ? path : path.substr(type_slash + 1);
        it = by_reference_.find(std::string(relative));
      }
    }
    if (it == by_reference_.end()) {
      error = "\"" + target + "\" is not in the input";
      return nullptr;
    }
    const Resource& resource = resources_[it->second];
    if (resource.type != type) {
      error = "\"" + target + "\" is a " + resource.type + ", not a " + type;
      return nullptr;
    }
    *found = &resource;
    return &resource.body;
  }

  // --- PractitionerRole -> record -----------------------------------------

  Flow ProcessRole(const Resource& role) {
    const std::string resource_id = "PractitionerRole" + (role.id.empty() ? "" : "/" + role.id);
    const Location where{file_name_, role.row, "", role.json_pointer, resource_id};
    if (IsInactive(role.body)) {
      ++inactive_;
      host_.Log(EXPERTISE_LOG_DEBUG, "skipped inactive PractitionerRole",
                {{"resource_id", resource_id}});
      return Flow::kContinue;
    }

    // The practitioner is looked up before filtering because its
    // lastUpdated counts too; a missing one is rejected after filtering, so
    // an unchanged role is not rejected again on every incremental run.
    const json* practitioner_reference = Member(role.body, "practitioner");
    const Resource* practitioner_resource = nullptr;
    std::string practitioner_error = "PractitionerRole.practitioner is missing";
    const json* practitioner = nullptr;
    if (practitioner_reference != nullptr) {
      std::string error;
      practitioner = Resolve(*practitioner_reference, "Practitioner", role.body,
                             &practitioner_resource, error);
      practitioner_error = "PractitionerRole.practitioner " + error;
    }
    if (practitioner != nullptr && IsInactive(*practitioner)) {
      ++inactive_;
      host_.Log(EXPERTISE_LOG_DEBUG, "skipped PractitionerRole of an inactive Practitioner",
                {{"resource_id", resource_id}});
      return Flow::kContinue;
    }
    // When the record last changed: the later of the two lastUpdated.
    std::optional<Instant> changed_at = role.last_updated;
    if (practitioner_resource != nullptr && practitioner_resource->last_updated &&
        (!changed_at || *practitioner_resource->last_updated > *changed_at)) {
      changed_at = practitioner_resource->last_updated;
    }
    if (Unchanged(role, practitioner_resource)) {
      ++unchanged_;
      return Flow::kContinue;
    }

    SpecialistRecord record;
    if (auto error = ExternalId(role, record.external_id))
      return RejectRole(where, "", *error, role);
    if (!external_ids_.insert(record.external_id).second) {
      return RejectRole(
          where, record.external_id,
          {EXPERTISE_REJECT_DUPLICATE_KEY,
           "external id \"" + record.external_id + "\" repeats an earlier PractitionerRole"},
          role);
    }
    if (role.last_updated_invalid) {
      return RejectRole(where, record.external_id,
                        {EXPERTISE_REJECT_SCHEMA, "meta.lastUpdated is not a FHIR instant"}, role);
    }
    if (practitioner == nullptr) {
      return RejectRole(where, record.external_id, {EXPERTISE_REJECT_REFERENCE, practitioner_error},
                        role);
    }

    std::optional<RoleError> error = Fill(role.body, *practitioner, record);
    if (error) return RejectRole(where, record.external_id, *error, role);
    if (changed_at) record.last_verify_time = FormatInstant(*changed_at);

    if (!host_.Emit(record.ToJson(), where)) return Flow::kStop;
    ++emitted_;
    return Flow::kContinue;
  }

  // True in incremental mode when neither the role nor its practitioner
  // changed after the cursor. Anything without a usable lastUpdated counts
  // as changed: re-emitting is safe, skipping could lose an update.
  bool Unchanged(const Resource& role, const Resource* practitioner) const {
    if (!incremental() || !cursor_ || !role.last_updated) return false;
    if (*role.last_updated > *cursor_) return false;
    if (practitioner == nullptr) return true;
    return practitioner->last_updated && *practitioner->last_updated <= *cursor_;
  }

  std::optional<RoleError> ExternalId(const Resource& role, std::string& external_id) const {
    if (options_.external_id_system.empty()) {
      if (role.id.empty())
        return RoleError{EXPERTISE_REJECT_REQUIRED, "PractitionerRole has no id"};
      external_id = role.id;
      return std::nullopt;
    }
    for (const json& identifier : ArrayMember(role.body, "identifier")) {
      if (StringMember(identifier, "system") == options_.external_id_system) {
        external_id = StringMember(identifier, "value");
        if (!external_id.empty()) return std::nullopt;
      }
    }
    return RoleError{
        EXPERTISE_REJECT_REQUIRED,
        "PractitionerRole has no identifier with system \"" + options_.external_id_system + "\""};
  }

  // Fills every record field but the external id and last verify time.
  std::optional<RoleError> Fill(const json& role, const json& practitioner,
                                SpecialistRecord& record) const {
    record.display_name = DisplayName(practitioner);
    if (record.display_name.empty()) {
      return RoleError{EXPERTISE_REJECT_REQUIRED, "Practitioner has no name"};
    }
    if (auto error = MapRole(role, record.role)) return error;
    if (auto error = MapSpecialisms(role, record.specialisms)) return error;
    if (auto error = ReadSettings(role, record.settings)) return error;
    if (auto error = ReadAgeRange(role, record)) return error;
    if (auto error = ReadAvailableTime(role, record.contracted_hours_per_week)) return error;
    if (auto error = ReadCommittedHours(role, record.committed_hours_per_week)) return error;
    if (auto error = ReadOrganization(role, record.team)) return error;
    if (auto error = ReadLocation(role, record)) return error;
    ReadTelecom(role, record);
    ReadRegistration(practitioner, record);
    ReadLanguages(practitioner, record.languages);
    record.employer_type = options_.employer_type;
    record.visibility = options_.visibility;
    record.delivery_modes = options_.delivery_modes;
    return std::nullopt;
  }

  // name[0].text, else name[0].given joined and name[0].family.
  static std::string DisplayName(const json& practitioner) {
    const json& names = ArrayMember(practitioner, "name");
    if (names.empty()) return "";
    const json& name = names[0];
    std::string text(Trim(StringMember(name, "text")));
    if (!text.empty()) return text;
    std::string joined;
    for (const json& given : ArrayMember(name, "given")) {
      if (!given.is_string()) continue;
      const std::string_view part = Trim(given.get_ref<const std::string&>());
      if (part.empty()) continue;
      if (!joined.empty()) joined += ' ';
      joined += part;
    }
    const std::string family(Trim(StringMember(name, "family")));
    if (!family.empty()) {
      if (!joined.empty()) joined += ' ';
      joined += family;
    }
    return joined;
  }

  // Collects (system, code) of every coding in a list of CodeableConcepts.
  static std::vector<std::pair<std::string, std::string>> Codings(const json& concepts) {
    std::vector<std::pair<std::string, std::string>> codings;
    for (const json& concept_value : concepts) {
      for (const json& coding : ArrayMember(concept_value, "coding")) {
        std::string code = StringMember(coding, "code");
        if (!code.empty()) codings.emplace_back(StringMember(coding, "system"), std::move(code));
      }
    }
    return codings;
  }

  // The first coding found, in order of precedence: role_map, the local role
  // system (exact codes), then the built-in SNOMED CT table.
  std::optional<RoleError> MapRole(const json& role, std::string& out) const {
    const auto codings = Codings(ArrayMember(role, "code"));
    for (const auto& [system, code] : codings) {
      if (const std::string* target = FindMapping(options_.role_map, system, code)) {
        out = *target;
        return std::nullopt;
      }
    }
    if (!options_.local_role_system.empty()) {
      for (const auto& [system, code] : codings) {
        if (system == options_.local_role_system && Contains(kRoleCodes, code)) {
          out = code;
          return std::nullopt;
        }
      }
    }
    for (const auto& [system, code] : codings) {
      if (system != kSnomedSystem) continue;
      for (const SnomedRole& entry : kSnomedRoles) {
        if (entry.snomed_code == code) {
          out = std::string(entry.role);
          return std::nullopt;
        }
      }
    }
    std::string seen;
    for (const auto& [system, code] : codings) {
      if (seen.size() > 200) break;
      seen += seen.empty() ? " (codes: " : ", ";
      seen += (system.empty() ? "" : system + "|") + code;
    }
    if (!seen.empty()) seen += ")";
    return RoleError{EXPERTISE_REJECT_REFERENCE,
                     "PractitionerRole.code has no coding that maps "
                     "to a role" +
                         seen};
  }

  std::optional<RoleError> MapSpecialisms(const json& role, std::vector<std::string>& out) const {
    for (const auto& [system, code] : Codings(ArrayMember(role, "specialty"))) {
      if (const std::string* target = FindMapping(options_.specialism_map, system, code)) {
        AppendUnique(out, *target);
      } else if (!options_.local_specialism_system.empty() &&
                 system == options_.local_specialism_system) {
        if (!Contains(kSpecialismCodes, code)) {
          return RoleError{EXPERTISE_REJECT_REFERENCE,
                           "PractitionerRole.specialty \"" + code + "\" is not a specialism code"};
        }
        AppendUnique(out, code);
      }
      // Codings of other systems (e.g. UK Core practice settings) have no
      // counterpart unless specialism_map names them.
    }
    return std::nullopt;
  }

  // The extensions of `resource` with `url`.
  static std::vector<const json*> Extensions(const json& resource, std::string_view url) {
    std::vector<const json*> found;
    for (const json& extension : ArrayMember(resource, "extension")) {
      if (StringMember(extension, "url") == url) found.push_back(&extension);
    }
    return found;
  }

  std::optional<RoleError> ReadSettings(const json& role, std::vector<std::string>& out) const {
    const auto extensions = Extensions(role, kSettingExtension);
    if (extensions.empty()) {
      out = options_.default_settings;
      return std::nullopt;
    }
    for (const json* extension : extensions) {
      std::string code = StringMember(*extension, "valueCode");
      if (code.empty()) {
        if (const json* coding = Member(*extension, "valueCoding"))
          code = StringMember(*coding, "code");
      }
      if (code.empty()) {
        return RoleError{EXPERTISE_REJECT_SCHEMA, "setting extension has no valueCode"};
      }
      if (!Contains(kSettingCodes, code)) {
        return RoleError{EXPERTISE_REJECT_REFERENCE,
                         "setting \"" + code + "\" is not a setting code"};
      }
      AppendUnique(out, code);
    }
    return std::nullopt;
  }

  // Reads one end of the age-range extension's valueRange: a Quantity in
  // whole years (UCUM "a"), 0 to 25.
  static std::optional<RoleError> ReadAge(const json& range, const char* end,
                                          std::optional<int>& age) {
    const json* quantity = Member(range, end);
    if (quantity == nullptr) return std::nullopt;
    const json* value = Member(*quantity, "value");
    if (value == nullptr || !value->is_number()) {
      return RoleError{EXPERTISE_REJECT_SCHEMA,
                       std::string("age-range valueRange.") + end + " has no numeric value"};
    }
    const std::string unit = StringMember(*quantity, "code");
    if (!unit.empty() && unit != "a") {
      return RoleError{EXPERTISE_REJECT_VALUE, std::string("age-range valueRange.") + end +
                                                   " is not in years (code \"a\")"};
    }
    const double years = value->get<double>();
    if (years != std::floor(years) || years < 0 || years > kMaxAge) {
      return RoleError{EXPERTISE_REJECT_VALUE, std::string("age-range valueRange.") + end +
                                                   " is not a whole number of years from 0 to 25"};
    }
    age = static_cast<int>(years);
    return std::nullopt;
  }

  std::optional<RoleError> ReadAgeRange(const json& role, SpecialistRecord& record) const {
    record.min_age = options_.default_min_age;
    record.max_age = options_.default_max_age;
    const auto extensions = Extensions(role, kAgeRangeExtension);
    if (extensions.empty()) return std::nullopt;
    const json* range = Member(*extensions.front(), "valueRange");
    if (range == nullptr || !range->is_object()) {
      return RoleError{EXPERTISE_REJECT_SCHEMA, "age-range extension has no valueRange"};
    }
    if (auto error = ReadAge(*range, "low", record.min_age)) return error;
    if (auto error = ReadAge(*range, "high", record.max_age)) return error;
    if (*record.min_age > *record.max_age) {
      return RoleError{EXPERTISE_REJECT_VALUE, "age-range low is above high"};
    }
    return std::nullopt;
  }

  // Sums availableTime into contracted hours per week: per entry, distinct
  // days x (end - start), or 7.5 h per day when allDay; capped at 168.
  static std::optional<RoleError> ReadAvailableTime(const json& role,
                                                    std::optional<double>& hours_per_week) {
    const json* available = Member(role, "availableTime");
    if (available == nullptr) return std::nullopt;
    if (!available->is_array()) {
      return RoleError{EXPERTISE_REJECT_SCHEMA, "availableTime is not an array"};
    }
    if (available->empty()) return std::nullopt;
    double total = 0;
    bool hours_known = false;  // false while entries give days but no times
    for (size_t i = 0; i < available->size(); ++i) {
      const json& entry = (*available)[i];
      const std::string name = "availableTime[" + std::to_string(i) + "]";
      std::set<std::string> days;
      for (const json& day : ArrayMember(entry, "daysOfWeek")) {
        if (!day.is_string() || !Contains(kDaysOfWeek, day.get_ref<const std::string&>())) {
          return RoleError{EXPERTISE_REJECT_SCHEMA, name +
                                                        ".daysOfWeek holds a value that is not "
                                                        "mon..sun"};
        }
        days.insert(day.get<std::string>());
      }
      const json* all_day = Member(entry, "allDay");
      if (all_day != nullptr && all_day->is_boolean() && all_day->get<bool>()) {
        total += static_cast<double>(days.size()) * kAllDayHours;
        hours_known = true;
        continue;
      }
      const json* start_value = Member(entry, "availableStartTime");
      const json* end_value = Member(entry, "availableEndTime");
      if (start_value == nullptr && end_value == nullptr) continue;  // days only: no hours known
      std::optional<double> start, end;
      if (start_value != nullptr && start_value->is_string()) {
        start = ParseTimeOfDay(start_value->get_ref<const std::string&>());
      }
      if (end_value != nullptr && end_value->is_string()) {
        end = ParseTimeOfDay(end_value->get_ref<const std::string&>());
      }
      if (!start) {
        return RoleError{EXPERTISE_REJECT_SCHEMA,
                         name + ".availableStartTime is missing or not a FHIR time (hh:mm:ss)"};
      }
      if (!end) {
        return RoleError{EXPERTISE_REJECT_SCHEMA,
                         name + ".availableEndTime is missing or not a FHIR time (hh:mm:ss)"};
      }
      if (*end <= *start) {
        return RoleError{EXPERTISE_REJECT_VALUE, name +
                                                     ".availableEndTime is not after "
                                                     "availableStartTime"};
      }
      total += static_cast<double>(days.size()) * (*end - *start) / 3600.0;
      hours_known = true;
    }
    if (!hours_known) return std::nullopt;
    // Two decimals: enough for minutes, and no 7.4999999 in the record.
    hours_per_week = std::round(std::min(total, kMaxHoursPerWeek) * 100) / 100;
    return std::nullopt;
  }

  static std::optional<RoleError> ReadCommittedHours(const json& role,
                                                     std::optional<double>& hours_per_week) {
    const auto extensions = Extensions(role, kCommittedHoursExtension);
    if (extensions.empty()) return std::nullopt;
    const json* value = Member(*extensions.front(), "valueDecimal");
    if (value == nullptr || !value->is_number()) {
      return RoleError{EXPERTISE_REJECT_SCHEMA, "committed-hours extension has no valueDecimal"};
    }
    const double hours = value->get<double>();
    if (hours < 0 || hours > kMaxHoursPerWeek) {
      return RoleError{EXPERTISE_REJECT_VALUE, "committed-hours is outside 0 to 168"};
    }
    hours_per_week = hours;
    return std::nullopt;
  }

  // Organization.name (or the reference's display) -> work_contact.team.
  std::optional<RoleError> ReadOrganization(const json& role, std::string& team) const {
    const json* reference = Member(role, "organization");
    if (reference == nullptr) return std::nullopt;
    const std::string display = StringMember(*reference, "display");
    if (StringMember(*reference, "reference").empty()) {
      team = display;  // a display-only reference still names the team
      return std::nullopt;
    }
    const Resource* found = nullptr;
    std::string error;
    const json* organization = Resolve(*reference, "Organization", role, &found, error);
    if (organization == nullptr) {
      return RoleError{EXPERTISE_REJECT_REFERENCE, "PractitionerRole.organization " + error};
    }
    team = StringMember(*organization, "name");
    if (team.empty()) team = display;
    return std::nullopt;
  }

  // location[0] -> Location.position -> base location.
  std::optional<RoleError> ReadLocation(const json& role, SpecialistRecord& record) const {
    const json& locations = ArrayMember(role, "location");
    if (locations.empty()) return std::nullopt;
    const Resource* found = nullptr;
    std::string error;
    const json* location = Resolve(locations[0], "Location", role, &found, error);
    if (location == nullptr) {
      return RoleError{EXPERTISE_REJECT_REFERENCE, "PractitionerRole.location[0] " + error};
    }
    const json* position = Member(*location, "position");
    if (position == nullptr) return std::nullopt;  // the host uses the authority's centre
    const json* latitude = Member(*position, "latitude");
    const json* longitude = Member(*position, "longitude");
    if (latitude == nullptr || longitude == nullptr || !latitude->is_number() ||
        !longitude->is_number()) {
      return RoleError{EXPERTISE_REJECT_SCHEMA,
                       "Location.position lacks a numeric latitude or longitude"};
    }
    const double lat = latitude->get<double>();
    const double lng = longitude->get<double>();
    if (lat < -90 || lat > 90 || lng < -180 || lng > 180) {
      return RoleError{EXPERTISE_REJECT_VALUE, "Location.position is not a WGS84 coordinate"};
    }
    record.latitude = lat;
    record.longitude = lng;
    return std::nullopt;
  }

  // PractitionerRole.telecom with use "work" (or no use) -> work contact.
  // Home, mobile, temp and old numbers are never read: they may be personal.
  static void ReadTelecom(const json& role, SpecialistRecord& record) {
    for (const json& contact : ArrayMember(role, "telecom")) {
      const std::string use = StringMember(contact, "use");
      if (!use.empty() && use != "work") continue;
      const std::string system = StringMember(contact, "system");
      std::string value(Trim(StringMember(contact, "value")));
      if (system == "email" && record.work_email.empty()) {
        if (Lowercase(value.substr(0, 7)) == "mailto:") value.erase(0, 7);
        record.work_email = value;
      } else if (system == "phone" && record.work_phone.empty()) {
        if (Lowercase(value.substr(0, 4)) == "tel:") value.erase(0, 4);
        record.work_phone = value;
      }
    }
  }

  // The first qualification identifier whose system mentions HCPC.
  static void ReadRegistration(const json& practitioner, SpecialistRecord& record) {
    for (const json& qualification : ArrayMember(practitioner, "qualification")) {
      for (const json& identifier : ArrayMember(qualification, "identifier")) {
        const std::string number = StringMember(identifier, "value");
        if (!number.empty() &&
            Lowercase(StringMember(identifier, "system")).find("hcpc") != std::string::npos) {
          record.registration_body = "HCPC";
          record.registration_number = number;
          return;
        }
      }
    }
  }

  // Practitioner.communication codings in BCP 47 -> languages.
  static void ReadLanguages(const json& practitioner, std::vector<std::string>& languages) {
    for (const auto& [system, code] : Codings(ArrayMember(practitioner, "communication"))) {
      if (system == kBcp47System) AppendUnique(languages, code);
    }
  }

  // --- Rejects ------------------------------------------------------------

  Flow RejectRole(const Location& where, const std::string& external_id, const RoleError& error,
                  const Resource& role) {
    // A PractitionerRole holds no personal details (those live in
    // Practitioner), so an excerpt of it is safe to hand to the host.
    const std::string excerpt =
        Excerpt(role.body.dump(-1, ' ', false, json::error_handler_t::replace));
    ++rejected_;
    return host_.Reject(where, error.reason, external_id, error.message, excerpt) ? Flow::kContinue
                                                                                  : Flow::kStop;
  }

  Flow RejectAt(const Location& where, expertise_reject_reason reason,
                const std::string& external_id, const std::string& message) {
    ++rejected_;
    return host_.Reject(where, reason, external_id, message) ? Flow::kContinue : Flow::kStop;
  }

  const Options& options_;
  const importer::Importer& importer_;
  const std::string& file_name_;
  const ReadRequest& request_;
  Host& host_;

  std::optional<Instant> cursor_;
  std::optional<Instant> max_seen_;
  std::vector<Resource> resources_;
  std::vector<size_t> roles_;  // indexes into resources_, in input order
  std::unordered_map<std::string, size_t> by_reference_;
  std::unordered_set<std::string> external_ids_;
  std::map<std::string, uint64_t> ignored_types_;
  bool bundle_unreadable_ = false;
  uint64_t emitted_ = 0, rejected_ = 0, inactive_ = 0, unchanged_ = 0;
};

}  // namespace

std::unique_ptr<FhirImporter> FhirImporter::Create(const Config& config, Host& host) {
  ConfigReader reader(config, host);
  Options options;
  options.local_role_system = reader.String("local_role_system");
  options.local_specialism_system = reader.String("local_specialism_system");
  options.role_map = reader.Mappings("role_map", kRoleCodes, "role");
  options.specialism_map = reader.Mappings("specialism_map", kSpecialismCodes, "specialism");
  options.default_settings = reader.List("default_settings");
  for (const std::string& setting : options.default_settings) {
    if (!Contains(kSettingCodes, setting)) {
      reader.Error("default_settings", "\"" + setting + "\" is not a setting code");
    }
  }
  options.default_min_age = static_cast<int>(reader.Int("default_min_age", 0, kMaxAge));
  options.default_max_age = static_cast<int>(reader.Int("default_max_age", 0, kMaxAge));
  if (options.default_min_age > options.default_max_age) {
    reader.Error("default_max_age", "is below default_min_age");
  }
  options.external_id_system = reader.String("external_id_system");
  options.employer_type = reader.Enum("employer_type");
  options.visibility = reader.Enum("visibility");
  options.delivery_modes = reader.List("delivery_modes");
  if (options.delivery_modes.empty()) {
    reader.Error("delivery_modes", "must name at least one of in_person, remote");
  }
  for (const std::string& mode : options.delivery_modes) {
    if (mode != "in_person" && mode != "remote") {
      reader.Error("delivery_modes", "\"" + mode + "\" is not in_person or remote");
    }
  }
  options.max_input_bytes = static_cast<uint64_t>(reader.Int("max_input_bytes", 1, INT64_MAX));
  if (reader.failed()) return nullptr;
  return std::unique_ptr<FhirImporter>(new FhirImporter(std::move(options)));
}

expertise_result FhirImporter::Read(const ReadRequest& request, Host& host) {
  const std::filesystem::path path(request.input_path);
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    host.Log(EXPERTISE_LOG_ERROR, "cannot read the input file", {{"error", ec.message()}});
    return EXPERTISE_ERROR;
  }
  // Checked before loading so an oversized file is never read into memory.
  if (size > options_.max_input_bytes) {
    host.Log(EXPERTISE_LOG_ERROR, "input is larger than max_input_bytes",
             {{"bytes", std::to_string(size)},
              {"max_input_bytes", std::to_string(options_.max_input_bytes)}});
    return EXPERTISE_ERROR;
  }
  std::ifstream in(path, std::ios::binary);
  std::string content(static_cast<size_t>(size), '\0');
  if (!in || !in.read(content.data(), static_cast<std::streamsize>(content.size()))) {
    host.Log(EXPERTISE_LOG_ERROR, "cannot read the input file");
    return EXPERTISE_ERROR;
  }
  return Parse(content, path.filename().string(), request, host);
}

expertise_result FhirImporter::Parse(std::string_view content, const std::string& file_name,
                                     const ReadRequest& request, Host& host) {
  try {
    Run run(options_, *this, file_name, request, host);
    return run.Execute(content);
  } catch (const std::exception& e) {
    // Not expected (JSON access is type-checked); keeps tests and fuzzers,
    // which call Parse() without the SDK's wrapper, on the same contract.
    host.Log(EXPERTISE_LOG_ERROR, std::string("FHIR import failed: ") + e.what());
    return EXPERTISE_ERROR;
  }
}

}  // namespace expertise::plugins
