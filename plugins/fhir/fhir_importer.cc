// Included by its own directory name, not from the repository root: plugin
// folders build like out-of-tree plugins, with only the SDK on the include
// path.
#include "fhir_importer.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "expertise/importer_support.hpp"
#include "fhir_internal.h"

namespace expertise::plugins {
namespace fhir_internal {

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

namespace {

using importer::Host;
using importer::Location;
using importer::ReadRequest;
using importer::support::AsciiLower;
using importer::support::Instant;
namespace support = importer::support;

// ---------------------------------------------------------------------------
// Text and JSON helpers.

// Thrown by the parser callback to abandon a document nested too deeply.
struct TooDeep {};

// Parses one JSON document. On failure returns false and sets `error` to a
// description that quotes no input (parser messages echo the last bytes
// read, which may be personal data).
bool ParseJson(std::string_view text, json& out, std::string& error) {
  if (auto bad = support::FindInvalidUtf8(text)) {
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


// ---------------------------------------------------------------------------
// FHIR instants (meta.lastUpdated) and times (availableTime).

// A FHIR instant / RFC 3339 date-time with seconds and a zone:
// YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm), years 0001 to 9999 (the
// range a protobuf Timestamp holds).
constexpr support::TimestampSyntax kFhirInstant{.allow_date_only = false,
                                                .allow_space_separator = false,
                                                .require_seconds = true,
                                                .require_offset = true,
                                                .check_timestamp_range = false};

std::optional<Instant> ParseInstant(std::string_view s) {
  return support::ParseTimestamp(s, kFhirInstant);
}

// Formats an instant as RFC 3339 in UTC, e.g. "2026-05-01T09:30:00.25Z".
std::string FormatInstant(const Instant& instant) {
  return support::FormatTimestamp(instant, support::FractionDigits::kShortest);
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
        AsciiLower(file_name_).ends_with(".ndjson") || AsciiLower(file_name_).ends_with(".jsonl");
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
    std::string key = support::TruncateUtf8(type, 64);
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

    const ResolveReference resolve = [this](const json& reference, const std::string& type,
                                            const json& role_body, std::string& error) {
      const Resource* found = nullptr;
      return Resolve(reference, type, role_body, &found, error);
    };
    std::optional<RoleError> error =
        FillRecord(options_, resolve, role.body, *practitioner, record);
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

  // --- Rejects ------------------------------------------------------------

  Flow RejectRole(const Location& where, const std::string& external_id, const RoleError& error,
                  const Resource& role) {
    // A PractitionerRole holds no personal details (those live in
    // Practitioner), so an excerpt of it is safe to hand to the host.
    const std::string excerpt =
        support::TruncateUtf8(role.body.dump(-1, ' ', false, json::error_handler_t::replace),
                              kMaxRawExcerptBytes);
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
}  // namespace fhir_internal

using fhir_internal::Run;
using importer::Config;
using importer::Host;
using importer::ReadRequest;

std::unique_ptr<FhirImporter> FhirImporter::Create(const Config& config, Host& host) {
  std::unique_ptr<Options> options = fhir_internal::ReadOptions(config, host);
  if (!options) return nullptr;
  return std::unique_ptr<FhirImporter>(new FhirImporter(std::move(*options)));
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
