// Copyright expertise-directory authors.
//
// Internals of the `openreferral` importer shared by its reader (document
// shapes, services) and mapper (service fields to a SpecialistRecord).
#ifndef EXPERTISE_PLUGINS_OPENREFERRAL_OPENREFERRAL_RUN_H_
#define EXPERTISE_PLUGINS_OPENREFERRAL_OPENREFERRAL_RUN_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "expertise/importer_plugin.hpp"
#include "expertise/importer_support.hpp"
#include "plugins/openreferral/openreferral_importer.h"

namespace expertise::plugins::openreferral_internal {

using ::expertise::importer::Host;
using ::expertise::importer::Importer;
using ::expertise::importer::Location;
using ::expertise::importer::ReadRequest;
using ::expertise::importer::SpecialistRecord;
using ::expertise::importer::support::Instant;
using ::nlohmann::json;

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

// Text. Trim() also drops line ends: JSON strings and input lines may carry
// them around a value.
std::string_view Trim(std::string_view s);
std::string Lower(std::string_view s);
// Lower-cased, trimmed: the key of the term maps.
std::string MapKey(std::string_view term);
// Cuts well-formed UTF-8 to at most `max` bytes without splitting a
// character, marking the cut with "...".
std::string TruncateUtf8(std::string_view s, size_t max);
// A whole number, surrounding white space allowed.
bool ParseInt(std::string_view s, long long& out);
std::string Quote(std::string_view s);

// An RFC 3339 date-time or a plain date (as midnight UTC); a date-time
// without an offset is read as UTC.
std::optional<Instant> ParseTimestamp(std::string_view text);

// JSON. Only find() and the is_*() checks are used on input values: const
// operator[] on a missing key is undefined behaviour in nlohmann/json.
// Member `key` of `object`, or nullptr when `object` is not an object or the
// member is missing or null (HSDS uses null for "not given").
const json* Member(const json& object, const char* key);
const json* Member(const json* object, const char* key);
// A string, or an integer as its decimal text (some feeds give numeric
// taxonomy codes, e.g. LGA Services List ids).
std::optional<std::string> ScalarText(const json* v);
// `value` as compact JSON, cut for a reject excerpt.
std::string Excerpt(const json& value);
// A parser message without the echoed input (it may be personal data).
std::string CleanParseMessage(std::string_view what);

// `base` with `suffix`, or "/key/index", appended to its JSON pointer.
Location At(const Location& base, std::string_view suffix);
Location At(const Location& base, std::string_view key, size_t index);
// Names a location in messages: "/contents/3", "line 4" or "the document".
std::string Describe(const Location& where);

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
const std::string* LookUp(const std::map<std::string, std::string>& map, const Term& term);

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

}  // namespace expertise::plugins::openreferral_internal

#endif  // EXPERTISE_PLUGINS_OPENREFERRAL_OPENREFERRAL_RUN_H_
