// Copyright expertise-directory authors.
//
// The `openreferral` importer's reader: input shapes (paged JSON, arrays,
// single services, NDJSON), cursors and duplicates, one service at a time.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "plugins/openreferral/openreferral_run.h"

namespace expertise::plugins::openreferral_internal {

namespace support = ::expertise::importer::support;
using support::FindInvalidUtf8;
using support::FormatTimestamp;

// ---------------------------------------------------------------------------
// Text helpers.

// JSON strings and input lines may carry line ends around a value too.
std::string_view Trim(std::string_view s) { return support::Trim(s, support::kWhitespace); }

std::string Lower(std::string_view s) { return support::AsciiLower(s); }

std::string MapKey(std::string_view term) { return Lower(Trim(term)); }

// Cuts well-formed UTF-8 to at most `max` bytes without splitting a
// character, marking the cut with "...".
std::string TruncateUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  return support::TruncateUtf8(s, max) + "...";
}

// 1-based line of byte `offset`.
uint64_t LineOf(std::string_view s, size_t offset) {
  offset = std::min(offset, s.size());
  return 1 + static_cast<uint64_t>(
                 std::count(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

bool ParseInt(std::string_view s, long long& out) {
  const std::optional<long long> value = support::ParseInteger(Trim(s));
  if (value) out = *value;
  return value.has_value();
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// ---------------------------------------------------------------------------
// RFC 3339 timestamps. Parsed into UTC seconds so that cursors compare
// correctly across time zone offsets, and written back in the UTC form the
// proto3 JSON mapping of Timestamp accepts.

// Accepts a plain date (as midnight UTC) and a date-time without an offset
// (as UTC): legacy ORUK feeds often omit it, and refusing them would reject
// every service. Seconds are required; an offset may lack its colon, and
// digits past nanoseconds are dropped.
constexpr support::TimestampSyntax kFeedTimestamps{
    .require_seconds = true, .require_offset_colon = false, .allow_long_fraction = true};

std::optional<Instant> ParseTimestamp(std::string_view text) {
  return support::ParseTimestamp(Trim(text), kFeedTimestamps);
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
  if (const std::optional<size_t> bad = FindInvalidUtf8(text)) {
    out.error = "not valid UTF-8 (byte " + std::to_string(*bad + 1) + ")";
    out.line = LineOf(text, *bad);
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

// Looks `term` up by code, then by name.
const std::string* LookUp(const std::map<std::string, std::string>& map, const Term& term) {
  for (const std::string* key : {&term.code, &term.name}) {
    if (key->empty()) continue;
    auto it = map.find(MapKey(*key));
    if (it != map.end()) return &it->second;
  }
  return nullptr;
}

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
      const bool printable = support::IsValidUtf8(request_.state);
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
      const std::string file = Lower(base_.file);
      if (file.ends_with(".ndjson") || file.ends_with(".jsonl")) {
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
      const std::string excerpt = support::IsValidUtf8(line)
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

}  // namespace expertise::plugins::openreferral_internal
