// Copyright expertise-directory authors.

#include "plugins/openreferral/openreferral_importer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace expertise::plugins {
namespace {

using ::expertise::importer::Config;
using ::expertise::importer::Host;
using ::expertise::importer::Importer;
using ::expertise::importer::Location;
using ::expertise::importer::ReadRequest;
using ::expertise::importer::SpecialistRecord;
using ::nlohmann::json;

// Our taxonomy codes (services/common/reference/taxonomy.json, version
// 2026-11-1). Embedded because a plugin must not read files outside its
// input; a new taxonomy version means a new plugin release.
constexpr std::array<std::string_view, 23> kRoleCodes = {
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
    "sensory-support-worker"};
constexpr std::array<std::string_view, 22> kSpecialismCodes = {
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
    "early-communication"};
constexpr std::array<std::string_view, 10> kSettingCodes = {"early-years-maintained",
                                                            "early-years-pvi",
                                                            "childminder",
                                                            "primary",
                                                            "secondary",
                                                            "special-school",
                                                            "alternative-provision",
                                                            "post-16",
                                                            "home-community",
                                                            "hospital-education"};

// The SEND system covers ages 0 to 25 (AgeRange in specialist.proto).
constexpr int kMinAge = 0;
constexpr int kMaxAge = 25;
// Capacity.contracted/committed_hours_per_week limits (specialist.proto).
constexpr double kMaxHoursPerWeek = 168;
// HSDS services nest about ten levels deep. A far deeper document is
// refused before parsing so that recursive walks (dump(), destruction) can
// never exhaust the stack.
constexpr int kMaxJsonDepth = 64;
// Raw excerpts are cut here; the host truncates and redacts them further.
constexpr size_t kMaxExcerptBytes = 256;
// REFERENCE messages list at most this many unmapped terms.
constexpr size_t kMaxListedTerms = 10;

enum class CodeKind { kRole, kSpecialism, kSetting };

template <size_t N>
bool Contains(const std::array<std::string_view, N>& codes, std::string_view code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

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
// Text helpers.

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

// ASCII-only case folding: taxonomy codes and the English term names feeds
// use are ASCII, and full Unicode folding would need ICU in the plugin.
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string MapKey(std::string_view term) { return Lower(Trim(term)); }

// Returns the offset of the first byte that is not well-formed UTF-8
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or
// npos when all of `s` is well-formed.
size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 3;
    } else if (c == 0xED) {
      len = 3, hi = 0x9F;
    } else if (c == 0xF0) {
      len = 4, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4, hi = 0x8F;
    } else {
      return i;
    }
    if (n - i < len) return i;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      const auto ck = static_cast<unsigned char>(s[i + k]);
      if (ck < 0x80 || ck > 0xBF) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

// Cuts well-formed UTF-8 to at most `max` bytes without splitting a
// character, so excerpts stay valid strings across the ABI.
std::string TruncateUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return std::string(s.substr(0, end)) + "...";
}

// 1-based line of byte `offset`.
uint64_t LineOf(std::string_view s, size_t offset) {
  offset = std::min(offset, s.size());
  return 1 + static_cast<uint64_t>(
                 std::count(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool ParseInt(std::string_view s, long long& out) {
  s = Trim(s);
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// ---------------------------------------------------------------------------
// RFC 3339 timestamps. Parsed into UTC seconds so that cursors compare
// correctly across time zone offsets, and written back in the UTC form the
// proto3 JSON mapping of Timestamp accepts.

struct Instant {
  int64_t seconds = 0;
  int32_t nanos = 0;
  friend auto operator<=>(const Instant&, const Instant&) = default;
};

// Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0));
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool Digits(int count, int& out) {
    if (s_.size() - i_ < static_cast<size_t>(count)) return false;
    out = 0;
    for (int k = 0; k < count; ++k) {
      const char c = s_[i_ + static_cast<size_t>(k)];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    i_ += static_cast<size_t>(count);
    return true;
  }
  bool Take(char c) {
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  bool TakeDigit(int& digit) {
    if (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') return digit = s_[i_++] - '0', true;
    return false;
  }
  bool AtEnd() const { return i_ == s_.size(); }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// Parses an RFC 3339 date-time, or a plain date (as midnight UTC). A
// date-time without an offset is read as UTC: legacy ORUK feeds often omit
// it, and refusing them would reject every service.
std::optional<Instant> ParseTimestamp(std::string_view text) {
  Scanner in(Trim(text));
  int year = 0, month = 0, day = 0;
  if (!in.Digits(4, year) || !in.Take('-') || !in.Digits(2, month) || !in.Take('-') ||
      !in.Digits(2, day)) {
    return std::nullopt;
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return std::nullopt;
  }
  int hour = 0, minute = 0, second = 0;
  int32_t nanos = 0;
  int64_t offset = 0;
  if (!in.AtEnd()) {
    if (!in.Take('T') && !in.Take('t') && !in.Take(' ')) return std::nullopt;
    if (!in.Digits(2, hour) || !in.Take(':') || !in.Digits(2, minute) || !in.Take(':') ||
        !in.Digits(2, second) || hour > 23 || minute > 59 || second > 59) {
      return std::nullopt;
    }
    if (in.Take('.')) {
      int digit = 0, count = 0;
      while (in.TakeDigit(digit)) {
        // Timestamp holds nanoseconds; further digits are dropped.
        if (count++ < 9) nanos = nanos * 10 + digit;
      }
      if (count == 0) return std::nullopt;
      for (int k = count; k < 9; ++k) nanos *= 10;
    }
    if (in.Take('Z') || in.Take('z')) {
      // UTC.
    } else if (!in.AtEnd()) {
      int sign = 0;
      if (in.Take('+')) {
        sign = 1;
      } else if (in.Take('-')) {
        sign = -1;
      } else {
        return std::nullopt;
      }
      int oh = 0, om = 0;
      if (!in.Digits(2, oh)) return std::nullopt;
      in.Take(':');
      if (!in.Digits(2, om) || oh > 23 || om > 59) return std::nullopt;
      offset = sign * (oh * 3600 + om * 60);
    }
  }
  if (!in.AtEnd()) return std::nullopt;
  Instant out;
  out.seconds =
      DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  out.nanos = nanos;
  if (out.seconds < kMinSeconds || out.seconds > kMaxSeconds) return std::nullopt;
  return out;
}

std::string FormatTimestamp(const Instant& t) {
  const int64_t days = (t.seconds >= 0 ? t.seconds : t.seconds - 86399) / 86400;
  const int64_t rest = t.seconds - days * 86400;
  int y = 0, m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", y, m, d,
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                static_cast<int>(rest % 60));
  std::string out = buf;
  if (t.nanos != 0) {
    // Proto3 JSON wants 3, 6 or 9 fractional digits.
    std::snprintf(buf, sizeof buf, ".%09d", static_cast<int>(t.nanos));
    std::string frac = buf;
    while (frac.size() > 4 && frac.compare(frac.size() - 3, 3, "000") == 0)
      frac.resize(frac.size() - 3);
    out += frac;
  }
  return out + "Z";
}

// ---------------------------------------------------------------------------
// Config.

// Returns the declared default of `key` ("" when it has none), so Create()
// sees the same values whether or not the host filled defaults in.
std::string DefaultOf(std::string_view key) {
  for (const auto& k : OpenReferralImporter::kConfigKeys) {
    if (key == k.name) return k.default_value ? k.default_value : "";
  }
  return "";
}

std::string ValueOf(const Config& config, const char* key) {
  return config.Get(key, DefaultOf(key));
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
  const std::string value = ValueOf(config, key);
  for (const auto& k : OpenReferralImporter::kConfigKeys) {
    if (std::string_view(k.name) != key) continue;
    std::string_view allowed = k.allowed_values;
    size_t start = 0;
    while (start <= allowed.size()) {
      size_t end = allowed.find('|', start);
      if (end == std::string_view::npos) end = allowed.size();
      if (allowed.substr(start, end - start) == value) {
        out = value;
        return true;
      }
      start = end + 1;
    }
    host.ConfigError(key, Quote(value) + " is not one of " + std::string(allowed));
    return false;
  }
  return false;
}

// ---------------------------------------------------------------------------
// JSON helpers. Only find() and the is_*() checks are used on input values:
// const operator[] on a missing key is undefined behaviour in nlohmann/json.

// Returns member `key` of `object`, or nullptr when `object` is not an
// object or the member is missing or null (HSDS uses null for "not given").
const json* Member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

const json* Member(const json* object, const char* key) {
  return object == nullptr ? nullptr : Member(*object, key);
}

// A string, or an integer as its decimal text (some feeds give numeric
// taxonomy codes, e.g. LGA Services List ids).
std::optional<std::string> ScalarText(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_unsigned()) return std::to_string(v->get<uint64_t>());
  if (v->is_number_integer()) return std::to_string(v->get<int64_t>());
  return std::nullopt;
}

std::string Excerpt(const json& value) {
  // Input is validated UTF-8 and depth-limited, so dump() cannot throw or
  // recurse deeply; replace keeps it safe regardless.
  return TruncateUtf8(value.dump(-1, ' ', false, json::error_handler_t::replace), kMaxExcerptBytes);
}

// True when arrays and objects in `text` nest deeper than `max_depth`.
// Brackets inside strings do not count; malformed text is left to the parser.
bool NestsDeeperThan(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

struct ParsedJson {
  bool ok = false;
  json value;
  std::string error;  // why not, without input text (it may be personal data)
  uint64_t line = 0;  // 1-based line of the error
};

// nlohmann messages end in "; last read: '<input>'": cut that and the
// exception id so no raw input reaches the message.
std::string CleanParseMessage(std::string_view what) {
  if (size_t cut = what.find("; last read"); cut != std::string_view::npos)
    what = what.substr(0, cut);
  if (size_t id_end = what.find("] "); id_end != std::string_view::npos)
    what = what.substr(id_end + 2);
  return std::string(what);
}

ParsedJson ParseJsonText(std::string_view text) {
  ParsedJson out;
  if (size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    out.error = "not valid UTF-8 (byte " + std::to_string(bad + 1) + ")";
    out.line = LineOf(text, bad);
    return out;
  }
  if (NestsDeeperThan(text, kMaxJsonDepth)) {
    out.error = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return out;
  }
  try {
    out.value = json::parse(text.data(), text.data() + text.size());
    out.ok = true;
  } catch (const json::parse_error& e) {
    out.error = CleanParseMessage(e.what());
    out.line = LineOf(text, e.byte > 0 ? e.byte - 1 : 0);
  } catch (const json::exception& e) {
    // e.g. out_of_range 406: a number too large for a double.
    out.error = CleanParseMessage(e.what());
  }
  return out;
}

Location At(const Location& base, std::string_view suffix) {
  Location out = base;
  out.json_pointer += suffix;
  return out;
}

Location At(const Location& base, std::string_view key, size_t index) {
  return At(base, "/" + std::string(key) + "/" + std::to_string(index));
}

// Names a location in messages: "/contents/3", "line 4" or "the document".
std::string Describe(const Location& where) {
  std::string out;
  if (where.row != 0) out = "line " + std::to_string(where.row);
  if (!where.json_pointer.empty()) out += (out.empty() ? "" : " ") + where.json_pointer;
  return out.empty() ? "the document" : out;
}

// A taxonomy term attached to a service.
struct Term {
  std::string code;  // may be empty
  std::string name;  // may be empty
  std::string pointer;
  std::string Describe() const {
    if (code.empty()) return Quote(name);
    if (name.empty()) return Quote(code);
    return Quote(code) + " (" + name + ")";
  }
};

// Looks `term` up by code, then by name.
const std::string* LookUp(const std::map<std::string, std::string>& map, const Term& term) {
  for (const std::string* key : {&term.code, &term.name}) {
    if (key->empty()) continue;
    auto it = map.find(MapKey(*key));
    if (it != map.end()) return &it->second;
  }
  return nullptr;
}

void AddUnique(std::vector<std::string>& list, const std::string& code) {
  if (std::find(list.begin(), list.end(), code) == list.end()) list.push_back(code);
}

// ---------------------------------------------------------------------------
// One Parse() call.

class Run {
 public:
  // The run keeps references to every argument; all must outlive it.
  Run(const Importer& importer, const OpenReferralOptions& options, const std::string& file_name,
      const ReadRequest& request, Host& host)
      : importer_(importer), options_(options), request_(request), host_(host) {
    base_.file = file_name;
  }

  expertise_result Execute(std::string_view content);

 private:
  // kStop: the host said stop or the run was cancelled. kFail: the whole run
  // must fail (already logged).
  enum class Flow { kContinue, kStop, kFail };

  Flow ReadDocument(const json& doc);
  Flow ReadPage(const json& doc, const char* items_key, const char* shape);
  Flow ReadServices(const json& items, const Location& where);
  Flow ReadNdjson(std::string_view content);
  Flow ReadService(const json& service, const Location& where);
  Flow ReadContacts(const json& service, const Location& where, const std::string& service_id,
                    const SpecialistRecord& base);
  // Fills the fields every record of `service` shares; returns kContinue
  // with *ok = false after rejecting the service.
  Flow MapService(const json& service, const Location& where, const std::string& id,
                  const std::string& name, const std::optional<Instant>& modified,
                  SpecialistRecord& record, bool* ok);
  Flow MapAges(const json& service, const Location& where, const std::string& id,
               SpecialistRecord& record, bool* ok);
  Flow MapLocation(const json& service, const Location& where, const std::string& id,
                   SpecialistRecord& record, bool* ok);
  Flow MapCapacity(const json& service, const Location& where, const std::string& id,
                   SpecialistRecord& record, bool* ok);
  // Reads a string member; rejects a non-string with SCHEMA. *ok = false
  // after a reject.
  Flow StringMember(const json& object, const char* key, const Location& where,
                    const std::string& id, std::string& out, bool* ok);

  // Sets *fresh when `key` was not read before in this input; otherwise
  // rejects the repeat with DUPLICATE_KEY (the first one wins).
  Flow CheckDuplicate(const std::string& key, const Location& where, const char* what, bool* fresh);

  Flow Reject(const Location& where, expertise_reject_reason reason, const std::string& external_id,
              const std::string& message, const std::string& excerpt = "") {
    ++rejected_;
    return host_.Reject(where, reason, external_id, message, excerpt) ? Flow::kContinue
                                                                      : Flow::kStop;
  }
  Flow Emit(const SpecialistRecord& record, const Location& where) {
    ++emitted_;
    return host_.Emit(record.ToJson(), where) ? Flow::kContinue : Flow::kStop;
  }
  void Debug(const std::string& message, const Location& where, const std::string& id) {
    host_.Log(EXPERTISE_LOG_DEBUG, message, {{"where", Describe(where)}, {"external_id", id}});
  }
  bool incremental() const { return request_.sync_mode == EXPERTISE_SYNC_INCREMENTAL; }

  const Importer& importer_;
  const OpenReferralOptions& options_;
  const ReadRequest& request_;
  Host& host_;
  Location base_;
  std::string shape_;
  std::optional<Instant> cursor_;
  std::optional<Instant> max_modified_;
  // External id -> where it was first read, for DUPLICATE_KEY messages.
  std::unordered_map<std::string, std::string> seen_;
  uint64_t emitted_ = 0, rejected_ = 0, skipped_inactive_ = 0, skipped_unchanged_ = 0;
};

expertise_result Run::Execute(std::string_view content) {
  if (importer_.cancelled()) return EXPERTISE_CANCELLED;
  if (content.size() > static_cast<unsigned long long>(options_.max_input_bytes)) {
    host_.Log(EXPERTISE_LOG_ERROR, "input is larger than max_input_bytes",
              {{"bytes", std::to_string(content.size())},
               {"max_input_bytes", std::to_string(options_.max_input_bytes)}});
    return EXPERTISE_ERROR;
  }
  if (incremental() && !request_.state.empty()) {
    cursor_ = ParseTimestamp(request_.state);
    if (!cursor_) {
      // The state is our own checkpoint; garbage means corruption, and
      // silently re-reading everything would hide it.
      const bool printable = FindInvalidUtf8(request_.state) == std::string_view::npos;
      host_.Log(EXPERTISE_LOG_ERROR, "incremental state is not an RFC 3339 timestamp",
                {{"state", printable ? TruncateUtf8(request_.state, 64) : "(not UTF-8)"}});
      return EXPERTISE_ERROR;
    }
  }
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (content.substr(0, kBom.size()) == kBom) content.remove_prefix(kBom.size());

  Flow flow = Flow::kContinue;
  if (Trim(content).empty()) {
    // Never read as "no services": in snapshot mode that would withdraw
    // every record because of a failed download.
    flow = Reject(base_, EXPERTISE_REJECT_PARSE, "", "input is empty");
  } else {
    using Format = OpenReferralOptions::InputFormat;
    Format format = options_.input_format;
    ParsedJson parsed;
    if (format == Format::kAuto) {
      if (EndsWith(Lower(base_.file), ".ndjson") || EndsWith(Lower(base_.file), ".jsonl")) {
        format = Format::kNdjson;
      } else {
        parsed = ParseJsonText(content);
        format = Format::kJson;
        if (!parsed.ok) {
          // Several top-level values fail as one document: NDJSON when the
          // first non-empty line is a whole object and more lines follow.
          std::string_view rest = content;
          std::string_view first;
          while (!rest.empty() && first.empty()) {
            size_t nl = rest.find('\n');
            first = Trim(rest.substr(0, nl));
            rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
          }
          if (!Trim(rest).empty()) {
            ParsedJson line = ParseJsonText(first);
            if (line.ok && line.value.is_object()) format = Format::kNdjson;
          }
        }
      }
    } else if (format == Format::kJson) {
      parsed = ParseJsonText(content);
    }
    if (format == Format::kNdjson) {
      shape_ = "ndjson";
      host_.Log(EXPERTISE_LOG_DEBUG, "document shape", {{"shape", shape_}});
      flow = ReadNdjson(content);
    } else if (!parsed.ok) {
      Location where = base_;
      where.row = parsed.line;
      flow = Reject(where, EXPERTISE_REJECT_PARSE, "", "input is not JSON: " + parsed.error);
    } else {
      flow = ReadDocument(parsed.value);
    }
  }
  if (flow == Flow::kFail) return EXPERTISE_ERROR;
  if (flow == Flow::kStop || importer_.cancelled()) return EXPERTISE_CANCELLED;

  if (incremental() && max_modified_) {
    const Instant next = cursor_ ? std::max(*cursor_, *max_modified_) : *max_modified_;
    if (!host_.Checkpoint(FormatTimestamp(next))) return EXPERTISE_CANCELLED;
  }
  host_.Log(EXPERTISE_LOG_INFO, "openreferral input read",
            {{"shape", shape_},
             {"emitted", std::to_string(emitted_)},
             {"rejected", std::to_string(rejected_)},
             {"skipped_not_active", std::to_string(skipped_inactive_)},
             {"skipped_unchanged", std::to_string(skipped_unchanged_)}});
  return EXPERTISE_OK;
}

Run::Flow Run::ReadDocument(const json& doc) {
  if (doc.is_array()) {
    shape_ = "array";
    host_.Log(EXPERTISE_LOG_DEBUG, "document shape", {{"shape", shape_}});
    return ReadServices(doc, base_);
  }
  if (!doc.is_object()) {
    shape_ = "invalid";
    return Reject(base_, EXPERTISE_REJECT_SCHEMA, "",
                  "document is neither a JSON object nor an array of services");
  }
  // HSDS 3.0 first: a feed carrying both spellings is a 3.0 feed keeping
  // legacy fields for old clients.
  if (doc.contains("contents") || doc.contains("total_items")) {
    return ReadPage(doc, "contents", "hsds3_page");
  }
  if (doc.contains("content") || doc.contains("totalElements")) {
    return ReadPage(doc, "content", "oruk_legacy_page");
  }
  if (doc.contains("id") || doc.contains("name")) {
    shape_ = "service";
    host_.Log(EXPERTISE_LOG_DEBUG, "document shape", {{"shape", shape_}});
    return ReadService(doc, base_);
  }
  shape_ = "invalid";
  return Reject(base_, EXPERTISE_REJECT_SCHEMA, "",
                "document is neither a paged list (contents[] or content[]), an array of "
                "services nor a service");
}

Run::Flow Run::ReadPage(const json& doc, const char* items_key, const char* shape) {
  shape_ = shape;
  const bool hsds3 = std::string_view(items_key) == "contents";
  const char* total_items_key = hsds3 ? "total_items" : "totalElements";
  const char* total_pages_key = hsds3 ? "total_pages" : "totalPages";
  const char* page_key = hsds3 ? "page_number" : "number";
  const char* last_key = hsds3 ? "last_page" : "last";
  auto number_text = [&](const char* key) {
    const json* v = Member(doc, key);
    return v && v->is_number() ? v->dump() : std::string("-");
  };
  host_.Log(EXPERTISE_LOG_DEBUG, "document shape",
            {{"shape", shape_},
             {total_items_key, number_text(total_items_key)},
             {total_pages_key, number_text(total_pages_key)},
             {page_key, number_text(page_key)}});

  const Location where = At(base_, std::string("/") + items_key);
  const json* items = Member(doc, items_key);
  if (items == nullptr || !items->is_array()) {
    return Reject(where, EXPERTISE_REJECT_SCHEMA, "",
                  std::string(items_key) + " must be an array of services");
  }

  // A page of a longer list: in snapshot mode the services on other pages
  // would be withdrawn by the registry, so refuse unless told otherwise.
  std::string partial;
  const json* total_pages = Member(doc, total_pages_key);
  const json* total_items = Member(doc, total_items_key);
  const json* last = Member(doc, last_key);
  if (total_pages && total_pages->is_number() && total_pages->get<double>() > 1) {
    partial = std::string(total_pages_key) + " is " + total_pages->dump();
  } else if (last && last->is_boolean() && !last->get<bool>()) {
    partial = std::string(last_key) + " is false";
  } else if (total_items && total_items->is_number() &&
             total_items->get<double>() > static_cast<double>(items->size())) {
    partial = std::string(total_items_key) + " is " + total_items->dump() + " but the page holds " +
              std::to_string(items->size());
  }
  if (!partial.empty()) {
    if (!incremental() && !options_.allow_partial_page) {
      host_.Log(EXPERTISE_LOG_ERROR,
                "input is one page of a longer list; a snapshot needs every service (fetch all "
                "pages into one document, use format=ndjson, or set allow_partial_page)",
                {{"why", partial}});
      return Flow::kFail;
    }
    host_.Log(EXPERTISE_LOG_WARN, "input is one page of a longer list", {{"why", partial}});
  }
  return ReadServices(*items, where);
}

Run::Flow Run::ReadServices(const json& items, const Location& where) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (importer_.cancelled()) return Flow::kStop;
    const Location item = At(where, "/" + std::to_string(i));
    if (Flow flow = ReadService(items[i], item); flow != Flow::kContinue) return flow;
  }
  return Flow::kContinue;
}

Run::Flow Run::ReadNdjson(std::string_view content) {
  uint64_t line_number = 0;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string_view::npos) nl = content.size();
    std::string_view line = content.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_number;
    if (Trim(line).empty()) continue;
    if (importer_.cancelled()) return Flow::kStop;
    Location where = base_;
    where.row = line_number;
    ParsedJson parsed = ParseJsonText(line);
    Flow flow = Flow::kContinue;
    if (!parsed.ok) {
      const std::string excerpt = FindInvalidUtf8(line) == std::string_view::npos
                                      ? TruncateUtf8(Trim(line), kMaxExcerptBytes)
                                      : "";
      flow =
          Reject(where, EXPERTISE_REJECT_PARSE, "", "line is not JSON: " + parsed.error, excerpt);
    } else if (!parsed.value.is_object()) {
      flow = Reject(where, EXPERTISE_REJECT_SCHEMA, "", "line is not a service object",
                    Excerpt(parsed.value));
    } else {
      flow = ReadService(parsed.value, where);
    }
    if (flow != Flow::kContinue) return flow;
  }
  return Flow::kContinue;
}

Run::Flow Run::StringMember(const json& object, const char* key, const Location& where,
                            const std::string& id, std::string& out, bool* ok) {
  out.clear();
  const json* v = Member(object, key);
  if (v == nullptr) return Flow::kContinue;
  if (!v->is_string()) {
    *ok = false;
    return Reject(At(where, std::string("/") + key), EXPERTISE_REJECT_SCHEMA, id,
                  std::string(key) + " must be a string", Excerpt(object));
  }
  out = std::string(Trim(v->get_ref<const std::string&>()));
  return Flow::kContinue;
}

Run::Flow Run::CheckDuplicate(const std::string& key, const Location& where, const char* what,
                              bool* fresh) {
  auto [it, inserted] = seen_.emplace(key, Describe(where));
  *fresh = inserted;
  if (inserted) return Flow::kContinue;
  return Reject(where, EXPERTISE_REJECT_DUPLICATE_KEY, key,
                std::string(what) + " id " + Quote(key) + " repeats the one at " + it->second);
}

Run::Flow Run::ReadService(const json& service, const Location& where) {
  if (!service.is_object()) {
    return Reject(where, EXPERTISE_REJECT_SCHEMA, "", "service is not a JSON object",
                  Excerpt(service));
  }
  bool ok = true;
  std::string id, name, status;
  if (Flow f = StringMember(service, "id", where, "", id, &ok); !ok || f != Flow::kContinue)
    return f;
  if (id.empty()) {
    return Reject(where, EXPERTISE_REJECT_REQUIRED, "", "service has no id", Excerpt(service));
  }
  if (Flow f = StringMember(service, "name", where, id, name, &ok); !ok || f != Flow::kContinue)
    return f;
  if (name.empty()) {
    return Reject(where, EXPERTISE_REJECT_REQUIRED, id, "service has no name", Excerpt(service));
  }
  if (Flow f = StringMember(service, "status", where, id, status, &ok);
      !ok || f != Flow::kContinue) {
    return f;
  }
  // A missing status counts as active: skipping such services would
  // silently withdraw them in snapshot mode.
  const bool active = status.empty() || Lower(status) == "active";

  std::optional<Instant> modified;
  if (const json* lm = Member(service, "last_modified")) {
    if (lm->is_string()) modified = ParseTimestamp(lm->get_ref<const std::string&>());
    if (!modified && active) {
      return Reject(At(where, "/last_modified"), EXPERTISE_REJECT_SCHEMA, id,
                    "last_modified is not an RFC 3339 date-time", Excerpt(*lm));
    }
  }
  // Every service counts towards the next cursor, skipped ones included:
  // the cursor says how far the feed has been read.
  if (modified && (!max_modified_ || *modified > *max_modified_)) max_modified_ = modified;

  if (!active) {
    ++skipped_inactive_;
    host_.Log(EXPERTISE_LOG_DEBUG, "skipping service that is not active",
              {{"where", Describe(where)}, {"external_id", id}, {"status", status}});
    return Flow::kContinue;
  }
  // Not before the cursor (rather than strictly after it): services sharing
  // the cursor's time may have arrived after the last export, and records
  // are upserted idempotently, so re-reading them is harmless.
  if (incremental() && cursor_ && modified && *modified < *cursor_) {
    ++skipped_unchanged_;
    Debug("skipping service unchanged since the cursor", where, id);
    return Flow::kContinue;
  }
  if (options_.record_per == OpenReferralOptions::RecordPer::kService) {
    bool fresh = false;
    if (Flow f = CheckDuplicate(id, where, "service", &fresh); !fresh || f != Flow::kContinue)
      return f;
  }

  SpecialistRecord record;
  if (Flow f = MapService(service, where, id, name, modified, record, &ok);
      !ok || f != Flow::kContinue) {
    return f;
  }
  if (options_.record_per == OpenReferralOptions::RecordPer::kContact) {
    return ReadContacts(service, where, id, record);
  }
  if (Flow f = MapCapacity(service, where, id, record, &ok); !ok || f != Flow::kContinue) return f;
  record.external_id = id;
  record.display_name = name;
  return Emit(record, where);
}

Run::Flow Run::MapService(const json& service, const Location& where, const std::string& id,
                          const std::string& name, const std::optional<Instant>& modified,
                          SpecialistRecord& record, bool* ok) {
  // Taxonomy terms: HSDS 3.0 attaches them through attributes; some feeds
  // (and older HSDS) list them in taxonomy_terms.
  std::vector<Term> terms;
  auto add_term = [&](const json* t, std::string pointer) {
    if (t == nullptr || !t->is_object()) return;
    Term term{ScalarText(Member(*t, "code")).value_or(""),
              ScalarText(Member(*t, "name")).value_or(""), std::move(pointer)};
    if (!term.code.empty() || !term.name.empty()) terms.push_back(std::move(term));
  };
  if (const json* attributes = Member(service, "attributes");
      attributes && attributes->is_array()) {
    for (size_t k = 0; k < attributes->size(); ++k) {
      add_term(Member((*attributes)[k], "taxonomy_term"), At(where, "attributes", k).json_pointer);
    }
  }
  if (const json* list = Member(service, "taxonomy_terms"); list && list->is_array()) {
    for (size_t k = 0; k < list->size(); ++k) {
      add_term(&(*list)[k], At(where, "taxonomy_terms", k).json_pointer);
    }
  }
  std::vector<const Term*> without_role;
  for (const Term& term : terms) {
    if (const std::string* role = LookUp(options_.role_map, term)) {
      if (record.role.empty()) {
        record.role = *role;
      } else if (record.role != *role) {
        // One role per record: the first mapped term wins.
        Debug("service maps to more than one role; keeping " + record.role, where, id);
      }
    } else {
      without_role.push_back(&term);
    }
    if (const std::string* code = LookUp(options_.specialism_map, term)) {
      AddUnique(record.specialisms, *code);
    }
    if (const std::string* code = LookUp(options_.setting_map, term)) {
      AddUnique(record.settings, *code);
    }
  }
  if (record.role.empty()) record.role = options_.default_role;
  if (record.role.empty()) {
    *ok = false;
    if (terms.empty()) {
      return Reject(where, EXPERTISE_REJECT_REFERENCE, id,
                    "service has no taxonomy terms to map to a role; set default_role");
    }
    std::string listed;
    for (size_t k = 0; k < without_role.size() && k < kMaxListedTerms; ++k) {
      listed += (k == 0 ? "" : ", ") + without_role[k]->Describe();
    }
    if (without_role.size() > kMaxListedTerms) {
      listed += " and " + std::to_string(without_role.size() - kMaxListedTerms) + " more";
    }
    // Points at the first term, where an operator starts looking.
    Location at = where;
    at.json_pointer = terms.front().pointer;
    return Reject(at, EXPERTISE_REJECT_REFERENCE, id,
                  "no taxonomy term maps to a role (unmapped: " + listed +
                      "); add one to role_map or set default_role");
  }

  if (Flow f = MapAges(service, where, id, record, ok); !*ok || f != Flow::kContinue) return f;
  if (Flow f = MapLocation(service, where, id, record, ok); !*ok || f != Flow::kContinue) return f;

  // last_verify_time: when the service was assured, else last modified.
  if (const json* assured = Member(service, "assured_date")) {
    std::optional<Instant> t;
    if (assured->is_string()) t = ParseTimestamp(assured->get_ref<const std::string&>());
    if (!t) {
      *ok = false;
      return Reject(At(where, "/assured_date"), EXPERTISE_REJECT_SCHEMA, id,
                    "assured_date is not a date (YYYY-MM-DD)", Excerpt(*assured));
    }
    record.last_verify_time = FormatTimestamp(*t);
  } else if (modified) {
    record.last_verify_time = FormatTimestamp(*modified);
  }

  if (Flow f = StringMember(service, "email", where, id, record.work_email, ok);
      !*ok || f != Flow::kContinue) {
    return f;
  }
  if (const json* phones = Member(service, "phones")) {
    const json* number =
        phones->is_array() && !phones->empty() ? Member((*phones)[0], "number") : nullptr;
    if (number && !number->is_string()) {
      *ok = false;
      return Reject(At(where, "/phones/0/number"), EXPERTISE_REJECT_SCHEMA, id,
                    "phone number must be a string", Excerpt(*number));
    }
    if (number) record.work_phone = std::string(Trim(number->get_ref<const std::string&>()));
  }
  // The team is the organisation when the feed embeds it, else the service.
  const std::string organization(
      Trim(ScalarText(Member(Member(service, "organization"), "name")).value_or("")));
  record.team = organization.empty() ? name : organization;

  record.employer_type = options_.employer_type;
  record.visibility = options_.visibility;
  record.delivery_modes = options_.delivery_modes;
  return Flow::kContinue;
}

Run::Flow Run::MapAges(const json& service, const Location& where, const std::string& id,
                       SpecialistRecord& record, bool* ok) {
  struct Age {
    const char* key;
    int fallback;
    std::optional<int>* out;
  };
  for (const Age& age : {Age{"minimum_age", options_.default_min_age, &record.min_age},
                         Age{"maximum_age", options_.default_max_age, &record.max_age}}) {
    const json* v = Member(service, age.key);
    if (v == nullptr) {
      *age.out = age.fallback;
      continue;
    }
    const Location at = At(where, std::string("/") + age.key);
    if (!v->is_number()) {
      *ok = false;
      return Reject(at, EXPERTISE_REJECT_SCHEMA, id, std::string(age.key) + " must be a number",
                    Excerpt(*v));
    }
    const double years = v->get<double>();
    if (years != std::floor(years)) {
      *ok = false;
      return Reject(at, EXPERTISE_REJECT_SCHEMA, id,
                    std::string(age.key) + " must be a whole number of years", Excerpt(*v));
    }
    // Out-of-range ages are refused, not clamped: a service for adults
    // (maximum_age 99) does not belong in a SEND 0-25 registry as 0-25.
    if (years < kMinAge || years > kMaxAge) {
      *ok = false;
      return Reject(at, EXPERTISE_REJECT_VALUE, id,
                    std::string(age.key) + " " + v->dump() + " is outside 0 to 25");
    }
    *age.out = static_cast<int>(years);
  }
  if (*record.min_age > *record.max_age) {
    *ok = false;
    return Reject(At(where, "/minimum_age"), EXPERTISE_REJECT_VALUE, id,
                  "minimum_age " + std::to_string(*record.min_age) + " is above maximum_age " +
                      std::to_string(*record.max_age) +
                      " (a missing age takes default_min_age or default_max_age)");
  }
  return Flow::kContinue;
}

Run::Flow Run::MapLocation(const json& service, const Location& where, const std::string& id,
                           SpecialistRecord& record, bool* ok) {
  const json* links = Member(service, "service_at_locations");
  if (links == nullptr) return Flow::kContinue;
  if (!links->is_array()) {
    *ok = false;
    return Reject(At(where, "/service_at_locations"), EXPERTISE_REJECT_SCHEMA, id,
                  "service_at_locations must be an array", Excerpt(*links));
  }
  // The first location that has coordinates: virtual and postal locations
  // (often listed first) have none.
  for (size_t k = 0; k < links->size(); ++k) {
    const json* location = Member((*links)[k], "location");
    if (location == nullptr) continue;
    const json* lat = Member(*location, "latitude");
    const json* lon = Member(*location, "longitude");
    if (lat == nullptr && lon == nullptr) continue;
    const Location at = At(At(where, "service_at_locations", k), "/location");
    struct Coordinate {
      const char* key;
      const json* value;
      double limit;
      std::optional<double>* out;
    };
    for (const Coordinate& c : {Coordinate{"latitude", lat, 90, &record.latitude},
                                Coordinate{"longitude", lon, 180, &record.longitude}}) {
      const Location cat = At(at, std::string("/") + c.key);
      if (c.value == nullptr) {
        *ok = false;
        return Reject(
            cat, EXPERTISE_REJECT_REQUIRED, id,
            std::string("location has ") +
                (c.value == lat ? "a longitude but no latitude" : "a latitude but no longitude"));
      }
      if (!c.value->is_number()) {
        *ok = false;
        return Reject(cat, EXPERTISE_REJECT_SCHEMA, id, std::string(c.key) + " must be a number",
                      Excerpt(*c.value));
      }
      const double degrees = c.value->get<double>();
      if (!std::isfinite(degrees) || degrees < -c.limit || degrees > c.limit) {
        *ok = false;
        return Reject(cat, EXPERTISE_REJECT_VALUE, id,
                      std::string(c.key) + " " + c.value->dump() + " is outside -" +
                          std::to_string(static_cast<int>(c.limit)) + " to " +
                          std::to_string(static_cast<int>(c.limit)));
      }
      *c.out = degrees;
    }
    break;
  }
  return Flow::kContinue;
}

Run::Flow Run::MapCapacity(const json& service, const Location& where, const std::string& id,
                           SpecialistRecord& record, bool* ok) {
  // 3.1-dev names the array `capacities`; the object is `service_capacity`,
  // which some feeds use as the member name (as an array or one object).
  const char* key = "capacities";
  const json* capacities = Member(service, key);
  if (capacities == nullptr) capacities = Member(service, key = "service_capacity");
  if (capacities == nullptr) return Flow::kContinue;
  const Location list_at = At(where, std::string("/") + key);
  if (!capacities->is_array() && !capacities->is_object()) {
    *ok = false;
    return Reject(list_at, EXPERTISE_REJECT_SCHEMA, id,
                  std::string(key) + " must be an array of capacities", Excerpt(*capacities));
  }
  const size_t count = capacities->is_array() ? capacities->size() : 1;
  for (size_t k = 0; k < count; ++k) {
    const json& entry = capacities->is_array() ? (*capacities)[k] : *capacities;
    const Location at = capacities->is_array() ? At(list_at, "/" + std::to_string(k)) : list_at;
    const json* unit = Member(entry, "unit");
    const std::string unit_name = MapKey(ScalarText(Member(unit, "name")).value_or(""));
    // The tabular form carries the unit as unit_id.
    const std::string unit_id = MapKey(
        ScalarText(Member(unit, "id")).value_or(ScalarText(Member(entry, "unit_id")).value_or("")));
    const bool match = unit_name == "hours" ||
                       (!options_.capacity_unit.empty() &&
                        (unit_name == options_.capacity_unit || unit_id == options_.capacity_unit));
    if (!match) continue;

    std::optional<double> hours[2];
    const char* names[2] = {"available", "maximum"};
    for (int n = 0; n < 2; ++n) {
      const json* v = Member(entry, names[n]);
      if (v == nullptr) continue;
      const Location vat = At(at, std::string("/") + names[n]);
      if (!v->is_number()) {
        *ok = false;
        return Reject(vat, EXPERTISE_REJECT_SCHEMA, id, std::string(names[n]) + " must be a number",
                      Excerpt(*v));
      }
      const double h = v->get<double>();
      if (!std::isfinite(h) || h < 0 || h > kMaxHoursPerWeek) {
        *ok = false;
        return Reject(
            vat, EXPERTISE_REJECT_VALUE, id,
            std::string(names[n]) + " " + v->dump() + " is outside 0 to 168 hours a week");
      }
      hours[n] = h;
    }
    const std::optional<double>& available = hours[0];
    const std::optional<double>& maximum = hours[1];
    if (maximum) {
      record.contracted_hours_per_week = *maximum;
      if (available) record.committed_hours_per_week = std::max(0.0, *maximum - *available);
    } else if (available) {
      // Only what is free is known: read it as the whole contract.
      record.contracted_hours_per_week = *available;
      record.committed_hours_per_week = 0.0;
    }
    break;
  }
  return Flow::kContinue;
}

Run::Flow Run::ReadContacts(const json& service, const Location& where,
                            const std::string& service_id, const SpecialistRecord& base) {
  const json* contacts = Member(service, "contacts");
  if (contacts == nullptr) {
    Debug("service has no contacts", where, service_id);
    return Flow::kContinue;
  }
  if (!contacts->is_array()) {
    return Reject(At(where, "/contacts"), EXPERTISE_REJECT_SCHEMA, service_id,
                  "contacts must be an array", Excerpt(*contacts));
  }
  for (size_t j = 0; j < contacts->size(); ++j) {
    if (importer_.cancelled()) return Flow::kStop;
    const json& contact = (*contacts)[j];
    const Location at = At(where, "contacts", j);
    if (!contact.is_object()) {
      if (Flow f = Reject(at, EXPERTISE_REJECT_SCHEMA, "", "contact is not a JSON object",
                          Excerpt(contact));
          f != Flow::kContinue) {
        return f;
      }
      continue;
    }
    bool ok = true;
    std::string contact_id, name, email;
    if (Flow f = StringMember(contact, "name", at, "", name, &ok); f != Flow::kContinue) return f;
    if (!ok) continue;
    if (name.empty()) {
      // Unnamed contacts (a shared inbox, a phone line) are not people.
      Debug("skipping contact without a name", at, "");
      continue;
    }
    if (Flow f = StringMember(contact, "id", at, "", contact_id, &ok); f != Flow::kContinue)
      return f;
    if (!ok) continue;
    if (contact_id.empty()) {
      if (Flow f = Reject(at, EXPERTISE_REJECT_REQUIRED, "", "contact has no id", Excerpt(contact));
          f != Flow::kContinue) {
        return f;
      }
      continue;
    }
    bool fresh = false;
    if (Flow f = CheckDuplicate(contact_id, at, "contact", &fresh); f != Flow::kContinue) return f;
    if (!fresh) continue;
    if (Flow f = StringMember(contact, "email", at, contact_id, email, &ok); f != Flow::kContinue)
      return f;
    if (!ok) continue;

    SpecialistRecord record = base;
    record.external_id = contact_id;
    record.display_name = name;
    // The contact's own work details when given, else the service's.
    if (!email.empty()) record.work_email = email;
    if (const json* phones = Member(contact, "phones");
        phones && phones->is_array() && !phones->empty()) {
      const json* number = Member((*phones)[0], "number");
      if (number && number->is_string() && !Trim(number->get_ref<const std::string&>()).empty()) {
        record.work_phone = std::string(Trim(number->get_ref<const std::string&>()));
      }
    }
    if (Flow f = Emit(record, at); f != Flow::kContinue) return f;
  }
  return Flow::kContinue;
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
  const std::vector<std::string> modes =
      config.Has("delivery_modes") ? config.GetList("delivery_modes")
                                   : std::vector<std::string>{DefaultOf("delivery_modes")};
  for (const std::string& mode : modes) {
    if (mode != "in_person" && mode != "remote") {
      host.ConfigError("delivery_modes",
                       Quote(mode) + " is not a delivery mode (in_person, remote)");
      ok = false;
      continue;
    }
    AddUnique(o.delivery_modes, mode);
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
    Run run(*this, options_, file_name, request, host);
    return run.Execute(content);
  } catch (const std::bad_alloc&) {
    host.Log(EXPERTISE_LOG_ERROR, "out of memory reading the input");
  } catch (const json::exception& e) {
    // A bug, not bad input: input errors are rejects. Logged for the report.
    host.Log(EXPERTISE_LOG_ERROR, "internal error reading the input",
             {{"error", CleanParseMessage(e.what())}});
  }
  return EXPERTISE_ERROR;
}

}  // namespace expertise::plugins
