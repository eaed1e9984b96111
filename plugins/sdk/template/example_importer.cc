// An example importer plugin: the smallest complete plugin worth copying.
//
// It reads a tab-separated file whose first line names the columns
//
//   external_id  display_name  role  min_age  max_age  email
//
// (in any order; other columns are ignored) and emits one specialist record
// per row. To make it yours: rename the class and kName (the file must be
// called expertise_importer_<kName>.so: change NAME in CMakeLists.txt too),
// change Read() to understand your authority's export, and update
// conformance.json and testdata/ so the conformance kit tests what you wrote.
//
// Rules every plugin follows (docs/plugins.md has the long form):
// - Never write to stdout or stderr. Report through host.Log(); a stray
//   printf is captured as "plugin output" and fails the conformance kit.
// - Every record goes through host.Emit() as JSON of SpecialistRecord
//   (record format 1.0). The host checks each one again, so you need not
//   repeat its checks (taxonomy codes, age ranges, email form); rejects it
//   finds point at the location you pass with the record.
// - A row you cannot turn into a record goes to host.Reject() with a reason
//   and a location (file, row, column), so the authority can fix its data.
// - Poll cancelled() once per row, and return as soon as Emit() or
//   Reject() returns false: the host wants you to stop.
// - No exceptions escape: the SDK wrapper catches them and fails the run
//   with a logged message, but it is better to handle what you expect.
//
// Only the SDK headers and the C++ standard library are used: a plugin runs
// in a sandbox without network, so it must not need anything else at run
// time either. expertise/importer_support.hpp (C++20) holds the helpers most
// plugins need: trimming, UTF-8 checks and repair, dates and RFC 3339
// timestamps, and config values with their declared defaults.

#include <cerrno>
#include <climits>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "expertise/importer_abi.h"
#include "expertise/importer_plugin.hpp"
#include "expertise/importer_support.hpp"

namespace example {

namespace importer = ::expertise::importer;
namespace support = ::expertise::importer::support;

class ExampleImporter : public importer::Importer {
 public:
  // The info block the host reads before anything runs.
  static constexpr const char* kName = "example";  // [a-z][a-z0-9_]*
  static constexpr const char* kVersion = "1.0.0";  // semantic version
  static constexpr const char* kDescription =
      "Example importer: reads a tab-separated staff list (external_id, display_name, role, "
      "min_age, max_age, email) into specialist records.";
  // Snapshot only: every run reads a full export. A plugin that can read
  // changes after a cursor also sets EXPERTISE_SYNC_INCREMENTAL and calls
  // host.Checkpoint() (see docs/plugins.md, "Sync modes and checkpoints").
  static constexpr uint32_t kSyncModes = EXPERTISE_SYNC_SNAPSHOT;
  static constexpr const char* kMediaTypes = "text/tab-separated-values";

  // Every config key the plugin accepts. The host refuses keys not listed
  // here, checks types (an ENUM value must be one of the allowed values),
  // and fills in defaults, before Create() sees the config. Values always
  // arrive as strings. Fields: name, type, required, default, allowed values
  // (ENUM only, '|'-separated), secret (passwords, tokens: never logged),
  // description (shown by `expertctl plugins describe`).
  static constexpr expertise_config_key kConfigKeys[] = {
      {"employer_type", EXPERTISE_CONFIG_ENUM, 0, "local_authority",
       "local_authority|nhs|school_or_trust|independent_or_voluntary", 0,
       "Employer type of every specialist in the file."},
      {"visibility", EXPERTISE_CONFIG_ENUM, 0, "region", "own_authority|region|national", 0,
       "Who may see the records: the own authority, the region, or everyone."},
      {"delivery_modes", EXPERTISE_CONFIG_LIST, 0, "in_person", nullptr, 0,
       "How support is delivered, one or both of in_person and remote (comma-separated)."},
  };

  // Called by the host's check(): checks what the host cannot (meaning, not
  // type), reports every bad key with host.ConfigError(), and returns
  // nullptr if there was one. Otherwise returns a ready importer.
  static std::unique_ptr<ExampleImporter> Create(const importer::Config& config,
                                                 importer::Host& host) {
    auto made = std::unique_ptr<ExampleImporter>(new ExampleImporter());
    bool ok = true;
    // Keys not given take the defaults declared in kConfigKeys, so the
    // plugin behaves the same when a test or fuzzer calls Create() directly.
    const support::DeclaredConfig values(config, kConfigKeys);
    // ENUM values were checked by the host: only allowed values get here.
    made->employer_type_ = values.Get("employer_type");
    made->visibility_ = values.Get("visibility");
    // A LIST is free text to the host, so its items are checked here.
    for (const std::string& mode : values.GetList("delivery_modes")) {
      if (mode != "in_person" && mode != "remote") {
        host.ConfigError("delivery_modes", "'" + mode + "' is not in_person or remote");
        ok = false;
      } else if (!support::AppendUnique(made->delivery_modes_, mode)) {
        host.ConfigError("delivery_modes", "'" + mode + "' is listed twice");
        ok = false;
      }
    }
    if (ok && made->delivery_modes_.empty()) {
      host.ConfigError("delivery_modes", "needs at least one of in_person and remote");
      ok = false;
    }
    if (!ok) return nullptr;
    return made;
  }

  // Reads the whole file. Returns EXPERTISE_OK at the end of the input (even
  // when rows were rejected), EXPERTISE_CANCELLED when asked to stop, and
  // EXPERTISE_ERROR, after logging why, when the run cannot go on.
  expertise_result Read(const importer::ReadRequest& request, importer::Host& host) override {
    if (request.sync_mode != EXPERTISE_SYNC_SNAPSHOT) {
      host.Log(EXPERTISE_LOG_ERROR, "only snapshot mode is supported",
               {{"sync_mode", std::to_string(request.sync_mode)}});
      return EXPERTISE_ERROR;
    }
    // Inside the sandbox the input is a read-only file at a path the host
    // chose; open it, do not assume its name or folder.
    std::ifstream input(request.input_path, std::ios::binary);
    if (!input.is_open()) {
      const int err = errno;
      host.Log(EXPERTISE_LOG_ERROR, "cannot open the input file",
               {{"path", SafeText(request.input_path, 1024)},
                {"error", std::generic_category().message(err)}});
      return EXPERTISE_ERROR;
    }
    const std::string file = BaseName(request.input_path);

    // The header line: which column holds what.
    std::string line;
    uint64_t row = 0;  // 1-based line number; the header is row 1
    std::map<std::string, size_t> column_of;
    size_t width = 0;  // fields per line
    while (std::getline(input, line)) {
      ++row;
      StripLineEnd(line, row == 1);
      if (line.empty()) continue;  // leading blank lines
      const std::vector<std::string> names = Split(line);
      for (size_t i = 0; i < names.size(); ++i) column_of.emplace(names[i], i);
      width = names.size();
      break;
    }
    if (column_of.empty()) {
      // A completely empty file is a valid, empty export.
      host.Log(EXPERTISE_LOG_WARN, "the input is empty: no header line", {{"file", file}});
      return EXPERTISE_OK;
    }
    for (const char* needed : kColumns) {
      if (column_of.count(needed) == 0) {
        // Every row would fail the same way: stop the run with one clear
        // message instead of thousands of rejects.
        host.Log(EXPERTISE_LOG_ERROR, "the header line has no column '" + std::string(needed) + "'",
                 {{"file", file}, {"row", std::to_string(row)}});
        return EXPERTISE_ERROR;
      }
    }

    std::set<std::string> seen_ids;  // for DUPLICATE_KEY
    uint64_t emitted = 0, rejected = 0;
    while (std::getline(input, line)) {
      ++row;
      // Cancel arrives from another thread; checking once per row is enough.
      if (cancelled()) return EXPERTISE_CANCELLED;
      StripLineEnd(line, false);
      if (line.empty()) continue;  // blank lines are not records

      importer::Location where;
      where.file = file;
      where.row = row;
      // Rejects return false when the host wants the plugin to stop (it was
      // cancelled, or the import's reject policy gave up).
      auto reject = [&](expertise_reject_reason reason, const std::string& column,
                        const std::string& external_id, const std::string& message) {
        ++rejected;
        importer::Location at = where;
        at.column = column;
        // The raw line helps the authority find the row. Everything here
        // may quote the input, so it goes through SafeText (see there).
        return host.Reject(at, reason, SafeText(external_id, 128), SafeText(message, 1024),
                           SafeText(line, 200));
      };

      const std::vector<std::string> cells = Split(line);
      if (cells.size() != width) {
        if (!reject(EXPERTISE_REJECT_PARSE, "", "",
                    "has " + std::to_string(cells.size()) + " fields, the header has " +
                        std::to_string(width) + " (a tab inside a value?)")) {
          return EXPERTISE_CANCELLED;
        }
        continue;
      }
      auto cell = [&](const char* column) { return cells[column_of.at(column)]; };

      const std::string external_id = cell("external_id");
      // Required cells first, in column order, so the first problem of a
      // row is the one reported (one reject per row is plenty).
      const char* missing = nullptr;
      for (const char* required : {"external_id", "display_name", "role", "min_age", "max_age"}) {
        if (cell(required).empty()) {
          missing = required;
          break;
        }
      }
      if (missing != nullptr) {
        if (!reject(EXPERTISE_REJECT_REQUIRED, missing, external_id, "is empty")) {
          return EXPERTISE_CANCELLED;
        }
        continue;
      }
      std::optional<int> min_age = ParseAge(cell("min_age"));
      std::optional<int> max_age = ParseAge(cell("max_age"));
      if (!min_age || !max_age) {
        const char* column = !min_age ? "min_age" : "max_age";
        if (!reject(EXPERTISE_REJECT_SCHEMA, column, external_id,
                    "'" + cell(column) + "' is not a whole number of years")) {
          return EXPERTISE_CANCELLED;
        }
        continue;
      }
      // The external id keys the record in the registry: a repeat would
      // silently overwrite the first row, so it is rejected instead.
      if (!seen_ids.insert(external_id).second) {
        if (!reject(EXPERTISE_REJECT_DUPLICATE_KEY, "external_id", external_id,
                    "repeats an external_id of an earlier row")) {
          return EXPERTISE_CANCELLED;
        }
        continue;
      }

      // The record. Field by field, see record.proto; unset values are
      // left out of the JSON. Codes (role) must come from the taxonomy
      // (`expertctl taxonomy`); the host rejects unknown ones.
      importer::SpecialistRecord record;
      record.external_id = external_id;
      record.display_name = cell("display_name");
      record.role = cell("role");
      record.min_age = *min_age;
      record.max_age = *max_age;
      record.work_email = cell("email");
      record.employer_type = employer_type_;
      record.visibility = visibility_;
      record.delivery_modes = delivery_modes_;
      // The location goes with the record, so a reject from the host's
      // checks (unknown role, age out of range, bad email) names the row.
      if (!host.Emit(record.ToJson(), where)) return EXPERTISE_CANCELLED;
      ++emitted;
    }
    if (input.bad()) {
      host.Log(EXPERTISE_LOG_ERROR, "reading the input failed", {{"file", file}, {"row", std::to_string(row)}});
      return EXPERTISE_ERROR;
    }
    host.Log(EXPERTISE_LOG_INFO, "read the input",
             {{"file", file}, {"records", std::to_string(emitted)}, {"rejects", std::to_string(rejected)}});
    return EXPERTISE_OK;
  }

 private:
  static constexpr const char* kColumns[] = {"external_id", "display_name", "role",
                                             "min_age",     "max_age",      "email"};

  ExampleImporter() = default;

  // "/input/staff.tsv" -> "staff.tsv": locations carry the base name only.
  static std::string BaseName(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return SafeText(slash == std::string::npos ? path : path.substr(slash + 1), 256);
  }

  // Text for messages, ids, excerpts and locations: at most max_bytes of
  // valid UTF-8, cut at a character boundary, each invalid byte (and NUL)
  // replaced by U+FFFD. The host carries these as UTF-8 strings and cuts
  // them at fixed byte limits (external id 128, message 1024, excerpt 200,
  // location 256), but input files are not always UTF-8 (Windows-1252
  // exports are common), so anything quoting the input is made safe here
  // first.
  static std::string SafeText(const std::string& text, size_t max_bytes) {
    return support::RepairUtf8(text, max_bytes);
  }

  // Drops a trailing '\r' (files saved on Windows) and, on the first line,
  // a UTF-8 byte order mark (files saved by spreadsheet programs).
  static void StripLineEnd(std::string& line, bool first) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  }

  // Splits on tabs; values are taken as they are (no quoting in this format).
  static std::vector<std::string> Split(const std::string& line) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
      const size_t tab = line.find('\t', start);
      out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) return out;
      start = tab + 1;
    }
  }

  // A whole number of years, digits only. The range (0 to 25, min <= max)
  // is the host's check, reported as VALUE at the row.
  static std::optional<int> ParseAge(const std::string& text) {
    if (!text.empty() && text[0] == '-') return std::nullopt;  // digits only
    const std::optional<long long> value = support::ParseInteger(text);
    if (!value || *value > INT_MAX) return std::nullopt;
    return static_cast<int>(*value);
  }

  std::string employer_type_;
  std::string visibility_;
  std::vector<std::string> delivery_modes_;
};

}  // namespace example

// Defines the one exported function, expertise_importer_plugin_v1(), which
// hands the host the info block built from the class's constants.
EXPERTISE_IMPORTER_PLUGIN(example::ExampleImporter)
