// Copyright expertise-directory authors.
#include "plugins/csv/csv_importer.h"

#include <array>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

#include "expertise/importer_support.hpp"
#include "plugins/csv/csv_config.h"
#include "plugins/csv/csv_reader.h"

namespace expertise::plugins {
namespace csv_internal {
namespace {

using importer::Date;
using importer::Host;
using importer::Location;
using importer::SpecialistRecord;
using importer::support::AppendUnique;
using importer::support::AsciiLower;
using importer::support::FormatTimestamp;
using importer::support::Instant;
using importer::support::RepairUtf8;
using importer::support::Trim;

// ---------------------------------------------------------------- rows

// Why a row is rejected.
struct RowProblem {
  expertise_reject_reason reason;
  std::string column;
  std::string message;
};

enum class Flow { kContinue, kDone, kStop };

// One pass over one input: the header's layout and what the rows so far
// have shown (ids seen, newest cursor).
class ParseRun {
 public:
  ParseRun(const CsvOptions& options, const std::string& file, const Host& host,
           std::optional<Instant> since)
      : options_(options), file_(file), host_(host), since_(since) {
    index_.fill(kAbsent);
  }

  // Maps the configured columns onto `header`. kDone when the header is
  // unusable (already rejected), kStop when the host asked to stop.
  Flow ReadHeader(const CsvRecord& header, bool incremental) {
    if (!header.error.empty()) {
      return Reject(header, {EXPERTISE_REJECT_PARSE, "", "header: " + ParseMessage(header)})
                 ? Flow::kDone
                 : Flow::kStop;
    }
    if (header.field_count > kMaxColumns) {
      return Reject(header, {EXPERTISE_REJECT_PARSE, "",
                             "header has more than " + std::to_string(kMaxColumns) + " columns"})
                 ? Flow::kDone
                 : Flow::kStop;
    }
    header_ = header.fields;
    width_ = header.field_count;
    bool usable = true;
    for (size_t f = 0; f < kFieldCount; ++f) {
      index_[f] = kAbsent;
      names_[f] = options_.columns[f];
      if (options_.columns[f].empty()) continue;
      switch (Flow flow = FindColumn(header, options_.columns[f], index_[f])) {
        case Flow::kContinue:
          if (index_[f] != kAbsent) names_[f] = std::string(Trim(header_[index_[f]]));
          break;
        case Flow::kDone:
          usable = false;
          break;
        case Flow::kStop:
          return flow;
      }
      if (index_[f] == kAbsent && IsRequiredColumn(f)) {
        const std::string message = "required column " + Quoted(options_.columns[f]) +
                                    " (" + kColumnKeys[f] + ") is not in the header";
        if (!Reject(header, {EXPERTISE_REJECT_PARSE, options_.columns[f], message})) {
          return Flow::kStop;
        }
        usable = false;
      }
    }
    if (incremental) {
      Flow flow = FindColumn(header, options_.cursor_column, cursor_index_);
      if (flow != Flow::kContinue) return flow;
      if (cursor_index_ == kAbsent) {
        if (!Reject(header, {EXPERTISE_REJECT_PARSE, options_.cursor_column,
                             "cursor column " + Quoted(options_.cursor_column) +
                                 " (cursor_column) is not in the header"})) {
          return Flow::kStop;
        }
        usable = false;
      }
      cursor_name_ = usable ? std::string(Trim(header_[cursor_index_])) : "";
    }
    if (!usable) return Flow::kDone;
    WarnAboutMissingDefaults();
    in_data_ = true;
    return Flow::kContinue;
  }

  // Emits or rejects one data row. Returns false when the host asked to stop.
  bool ProcessRow(const CsvRecord& row) {
    ++rows_;
    if (!row.error.empty()) {
      const std::string column =
          row.error_field < header_.size() ? std::string(Trim(header_[row.error_field])) : "";
      return Reject(row, {EXPERTISE_REJECT_PARSE, column, ParseMessage(row)});
    }
    if (row.field_count != width_) {
      return Reject(row, {EXPERTISE_REJECT_PARSE, "",
                          "row has " + std::to_string(row.field_count) + " fields; the header has " +
                              std::to_string(width_)});
    }
    if (cursor_index_ != kAbsent) {
      std::optional<RowProblem> problem;
      const std::string_view cell = Trim(row.fields[cursor_index_]);
      if (cell.empty()) {
        problem = RowProblem{EXPERTISE_REJECT_REQUIRED, cursor_name_,
                             "cursor column " + Quoted(cursor_name_) + " is empty"};
      } else if (std::optional<Instant> cursor = ParseTimestamp(cell, options_.date_format)) {
        // Not newer than the last checkpoint: already imported.
        if (since_ && *cursor <= *since_) {
          ++skipped_;
          return true;
        }
        if (!newest_ || *newest_ < *cursor) newest_ = cursor;
      } else {
        problem = RowProblem{EXPERTISE_REJECT_SCHEMA, cursor_name_,
                             cursor_name_ + " " + Quoted(cell) +
                                 " is not a date or RFC 3339 timestamp (cursor_column)"};
      }
      if (problem) return Reject(row, *problem);
    }
    SpecialistRecord record;
    if (std::optional<RowProblem> problem = Build(row, record)) return Reject(row, *problem);
    ++emitted_;
    Location where;
    where.file = file_;
    where.row = row.row;
    return host_.Emit(record.ToJson(), where);
  }

  // Incremental mode: saves the newest cursor seen (or the old state again).
  // Only at the end, because CSV rows are not sorted by cursor: a checkpoint
  // mid-file could cover an older row not yet read.
  bool Checkpoint() {
    std::optional<Instant> newest = since_;
    if (newest_ && (!newest || *newest < *newest_)) newest = newest_;
    if (!newest) return true;
    return host_.Checkpoint(FormatTimestamp(*newest));
  }

  void LogSummary() const {
    host_.Log(EXPERTISE_LOG_INFO, "csv read finished",
              {{"file", file_},
               {"rows", std::to_string(rows_)},
               {"emitted", std::to_string(emitted_)},
               {"rejected", std::to_string(rejected_)},
               {"skipped_by_cursor", std::to_string(skipped_)}});
  }

 private:
  static constexpr size_t kAbsent = static_cast<size_t>(-1);

  // Finds `name` in the header. kDone (after a PARSE reject) when it is
  // there twice, since either could be meant.
  Flow FindColumn(const CsvRecord& header, const std::string& name, size_t& index) {
    index = kAbsent;
    const std::string key = HeaderKey(name);
    for (size_t i = 0; i < header_.size(); ++i) {
      if (HeaderKey(header_[i]) != key) continue;
      if (index != kAbsent) {
        return Reject(header, {EXPERTISE_REJECT_PARSE, name,
                               "column " + Quoted(name) + " appears more than once in the header"})
                   ? Flow::kDone
                   : Flow::kStop;
      }
      index = i;
    }
    return Flow::kContinue;
  }

  // A required field the header lacks and no default fills rejects every
  // row; say so once so the operator fixes the config, not each row.
  void WarnAboutMissingDefaults() const {
    const std::pair<Field, bool> checks[] = {
        {kEmployerType, !options_.default_employer_type.empty()},
        {kVisibility, !options_.default_visibility.empty()},
        {kDeliveryModes, !options_.default_delivery_modes.empty()}};
    for (const auto& [field, has_default] : checks) {
      if (index_[field] == kAbsent && !has_default) {
        host_.Log(EXPERTISE_LOG_WARN,
                  "column not in the header and no default configured: every row will be rejected",
                  {{"column", names_[field]}, {"key", kColumnKeys[field]}});
      }
    }
  }

  std::string ParseMessage(const CsvRecord& record) const {
    return "row " + std::to_string(record.row) + ", byte offset " +
           std::to_string(record.error_offset) + ": " + record.error;
  }

  std::string_view Cell(const CsvRecord& row, Field f) const {
    return index_[f] == kAbsent ? std::string_view() : Trim(row.fields[index_[f]]);
  }

  // Free-text cells: spreadsheet exports keep Alt+Enter line breaks inside
  // quoted cells, which a name or team never needs; each run of white
  // space (line breaks and tabs included) becomes one space.
  std::string TextCell(const CsvRecord& row, Field f) const {
    std::string out;
    bool space = false;
    for (char c : Cell(row, f)) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        space = true;
        continue;
      }
      if (space && !out.empty()) out += ' ';
      space = false;
      out += c;
    }
    return out;
  }

  std::string Mapped(std::string_view value) const {
    auto it = options_.value_map.find(AsciiLower(value));
    return it == options_.value_map.end() ? std::string(value) : it->second;
  }

  std::vector<std::string> MappedList(std::string_view cell) const {
    std::vector<std::string> out;
    for (const auto& item : SplitList(cell, options_.list_separator)) {
      std::string code = Mapped(item);
      AppendUnique(out, std::move(code));
    }
    return out;
  }

  // Fills `record` from `row`, or returns the first problem in field order.
  std::optional<RowProblem> Build(const CsvRecord& row, SpecialistRecord& r) {
    const auto schema = [&](Field f, const std::string& what) {
      return RowProblem{EXPERTISE_REJECT_SCHEMA, names_[f],
                        names_[f] + " " + Quoted(Cell(row, f)) + " is not " + what};
    };
    const auto required = [&](Field f, const std::string& why) {
      return RowProblem{EXPERTISE_REJECT_REQUIRED, names_[f], names_[f] + " is empty" + why};
    };

    r.external_id = std::string(Cell(row, kExternalId));
    if (r.external_id.empty()) return required(kExternalId, "");
    if (!seen_ids_.insert(r.external_id).second) {
      return RowProblem{EXPERTISE_REJECT_DUPLICATE_KEY, names_[kExternalId],
                        names_[kExternalId] + " " + Quoted(r.external_id) +
                            " repeats an earlier row"};
    }
    r.display_name = TextCell(row, kDisplayName);
    if (r.display_name.empty()) return required(kDisplayName, "");
    r.role = Mapped(Cell(row, kRole));
    if (r.role.empty()) return required(kRole, "");
    r.specialisms = MappedList(Cell(row, kSpecialisms));
    r.settings = MappedList(Cell(row, kSettings));

    const auto age = [&](Field f, int fallback, std::optional<int>& out) -> bool {
      const std::string_view cell = Cell(row, f);
      out = cell.empty() ? std::optional<int>(fallback) : ParseInt32(cell);
      return out.has_value();
    };
    if (!age(kMinAge, options_.default_min_age, r.min_age)) return schema(kMinAge, "a whole number");
    if (!age(kMaxAge, options_.default_max_age, r.max_age)) return schema(kMaxAge, "a whole number");

    r.languages = SplitList(Cell(row, kLanguages), options_.list_separator);
    if (Cell(row, kDeliveryModes).empty()) {
      r.delivery_modes = options_.default_delivery_modes;
    } else {
      for (const auto& item : SplitList(Cell(row, kDeliveryModes), options_.list_separator)) {
        std::optional<std::string> mode = ParseDeliveryMode(item);
        if (!mode) {
          return RowProblem{EXPERTISE_REJECT_SCHEMA, names_[kDeliveryModes],
                            names_[kDeliveryModes] + " value " + Quoted(item) +
                                " is not in_person or remote"};
        }
        AppendUnique(r.delivery_modes, *mode);
      }
    }
    if (r.delivery_modes.empty()) {
      return required(kDeliveryModes, " and default_delivery_modes is not configured");
    }

    const auto number = [&](Field f, std::optional<double>& out) -> bool {
      const std::string_view cell = Cell(row, f);
      if (cell.empty()) return true;
      out = ParseNumber(cell);
      return out.has_value();
    };
    if (!number(kLatitude, r.latitude)) return schema(kLatitude, "a number");
    if (!number(kLongitude, r.longitude)) return schema(kLongitude, "a number");
    if (!number(kTravelRadiusKm, r.travel_radius_km)) return schema(kTravelRadiusKm, "a number");
    r.covered_authorities = SplitList(Cell(row, kCoveredAuthorities), options_.list_separator);
    r.registration_body = std::string(Cell(row, kRegistrationBody));
    r.registration_number = std::string(Cell(row, kRegistrationNumber));

    if (Cell(row, kEmployerType).empty()) {
      r.employer_type = options_.default_employer_type;
      if (r.employer_type.empty()) {
        return required(kEmployerType, " and default_employer_type is not configured");
      }
    } else if (std::optional<std::string> type = ParseEmployerType(Cell(row, kEmployerType))) {
      r.employer_type = *type;
    } else {
      return schema(kEmployerType,
                    "local_authority, nhs, school_or_trust or independent_or_voluntary");
    }

    r.work_email = std::string(Cell(row, kEmail));
    r.work_phone = std::string(Cell(row, kPhone));
    r.team = TextCell(row, kTeam);

    if (Cell(row, kVisibility).empty()) {
      r.visibility = options_.default_visibility;
      if (r.visibility.empty()) {
        return required(kVisibility, " and default_visibility is not configured");
      }
    } else if (std::optional<std::string> visibility = ParseVisibility(Cell(row, kVisibility))) {
      r.visibility = *visibility;
    } else {
      return schema(kVisibility, "own_authority, region or national");
    }

    const std::string date_hint = std::string("a valid date (") +
                                  DateFormatHint(options_.date_format) + ")";
    if (const std::string_view cell = Cell(row, kLastVerified); !cell.empty()) {
      std::optional<Instant> t = ParseTimestamp(cell, options_.date_format);
      if (!t) return schema(kLastVerified, "a valid date or RFC 3339 timestamp");
      r.last_verify_time = FormatTimestamp(*t);
    }

    if (!number(kContractedHours, r.contracted_hours_per_week)) {
      return schema(kContractedHours, "a number");
    }
    if (!number(kCommittedHours, r.committed_hours_per_week)) {
      return schema(kCommittedHours, "a number");
    }
    const auto integer = [&](Field f, std::optional<int>& out) -> bool {
      const std::string_view cell = Cell(row, f);
      if (cell.empty()) return true;
      out = ParseInt32(cell);
      return out.has_value();
    };
    if (!integer(kCurrentCaseload, r.current_caseload)) {
      return schema(kCurrentCaseload, "a whole number");
    }
    if (!integer(kMaxCaseload, r.max_caseload)) return schema(kMaxCaseload, "a whole number");
    if (!integer(kWaitingTimeWeeks, r.waiting_time_weeks)) {
      return schema(kWaitingTimeWeeks, "a whole number");
    }
    const auto date = [&](Field f, Date& out) -> bool {
      const std::string_view cell = Cell(row, f);
      if (cell.empty()) return true;
      std::optional<Date> parsed = ParseDate(cell, options_.date_format);
      if (parsed) out = *parsed;
      return parsed.has_value();
    };
    if (!date(kNextAvailableDate, r.next_available_date)) return schema(kNextAvailableDate, date_hint);
    if (!date(kValidFrom, r.valid_from)) return schema(kValidFrom, date_hint);
    if (!date(kValidTo, r.valid_to)) return schema(kValidTo, date_hint);
    if (const std::string_view cell = Cell(row, kAcceptingExternalRequests); !cell.empty()) {
      r.accepting_external_requests = ParseBool(cell);
      if (!r.accepting_external_requests) {
        return schema(kAcceptingExternalRequests, "yes, no, true, false, y, n, 1 or 0");
      }
    }
    return std::nullopt;
  }

  bool Reject(const CsvRecord& record, const RowProblem& problem) {
    ++rejected_;
    Location where;
    where.file = file_;
    where.row = record.row;
    where.column = RepairUtf8(problem.column, kMaxFieldBytes);
    // A data row's id helps find it in the source; a row too broken to
    // delimit (record.error) may have its fields shifted, so none is given.
    std::string external_id;
    if (in_data_ && index_[kExternalId] < record.fields.size() && record.error.empty()) {
      external_id = RepairUtf8(Trim(record.fields[index_[kExternalId]]), kMaxFieldBytes);
    }
    return host_.Reject(where, problem.reason, external_id, RepairUtf8(problem.message, 4096),
                        RepairUtf8(record.raw, kExcerptBytes));
  }

  const CsvOptions& options_;
  const std::string& file_;
  const Host& host_;
  const std::optional<Instant> since_;

  std::vector<std::string> header_;
  bool in_data_ = false;  // the header was read; rows are data rows
  size_t width_ = 0;
  std::array<size_t, kFieldCount> index_{};
  std::array<std::string, kFieldCount> names_;  // header text used in locations
  size_t cursor_index_ = kAbsent;
  std::string cursor_name_;

  std::unordered_set<std::string> seen_ids_;
  std::optional<Instant> newest_;
  uint64_t rows_ = 0, emitted_ = 0, rejected_ = 0, skipped_ = 0;
};

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace
}  // namespace csv_internal

using csv_internal::BaseName;
using csv_internal::CsvOptions;
using csv_internal::CsvReader;
using csv_internal::CsvRecord;
using csv_internal::DateFormat;
using csv_internal::Flow;
using csv_internal::kQuotedValueBytes;
using csv_internal::ParseRun;
using csv_internal::ParseTimestamp;
using importer::Config;
using importer::Host;
using importer::ReadRequest;
using importer::support::Instant;
using importer::support::RepairUtf8;

CsvImporter::CsvImporter(std::unique_ptr<const CsvOptions> options)
    : options_(std::move(options)) {}

CsvImporter::~CsvImporter() = default;
std::unique_ptr<CsvImporter> CsvImporter::Create(const Config& config, Host& host) {
  std::unique_ptr<CsvOptions> options = csv_internal::ReadOptions(config, host);
  if (!options) return nullptr;
  return std::unique_ptr<CsvImporter>(new CsvImporter(std::move(options)));
}

expertise_result CsvImporter::Read(const ReadRequest& request, Host& host) {
  if (request.input_path.empty()) {
    host.Log(EXPERTISE_LOG_ERROR, "no input file given");
    return EXPERTISE_ERROR;
  }
  std::ifstream input(request.input_path, std::ios::binary);
  if (!input.is_open()) {
    const int err = errno;
    host.Log(EXPERTISE_LOG_ERROR, "cannot open the input file",
             {{"path", request.input_path}, {"error", std::generic_category().message(err)}});
    return EXPERTISE_ERROR;
  }
  return Parse(input, BaseName(request.input_path), request, host);
}

expertise_result CsvImporter::Parse(std::istream& input, const std::string& file_name,
                                    const ReadRequest& request, Host& host) {
  if (cancelled()) return EXPERTISE_CANCELLED;
  const CsvOptions& options = *options_;
  if (request.sync_mode != EXPERTISE_SYNC_SNAPSHOT &&
      request.sync_mode != EXPERTISE_SYNC_INCREMENTAL) {
    host.Log(EXPERTISE_LOG_ERROR, "unknown sync mode",
             {{"sync_mode", std::to_string(request.sync_mode)}});
    return EXPERTISE_ERROR;
  }
  const bool incremental = request.sync_mode == EXPERTISE_SYNC_INCREMENTAL;
  std::optional<Instant> since;
  if (incremental) {
    if (options.cursor_column.empty()) {
      host.Log(EXPERTISE_LOG_ERROR, "incremental mode needs the cursor_column config key");
      return EXPERTISE_ERROR;
    }
    if (!request.state.empty()) {
      // The state is a checkpoint this plugin wrote; anything else means the
      // saved state is corrupt, and guessing could skip or repeat the lot.
      since = ParseTimestamp(request.state, DateFormat::kIso);
      if (!since) {
        host.Log(EXPERTISE_LOG_ERROR, "incremental state is not an RFC 3339 timestamp",
                 {{"state", RepairUtf8(request.state, kQuotedValueBytes)}});
        return EXPERTISE_ERROR;
      }
    }
  }

  CsvReader reader(input, options.delimiter, *this);
  ParseRun run(options, file_name, host, since);
  const auto failed = [&](CsvReader::Status status) {
    if (status == CsvReader::Status::kCancelled) return EXPERTISE_CANCELLED;
    host.Log(EXPERTISE_LOG_ERROR, "reading the input failed",
             {{"file", file_name}, {"byte_offset", std::to_string(reader.offset())}});
    return EXPERTISE_ERROR;
  };

  CsvRecord record;
  for (;;) {
    const CsvReader::Status status = reader.Next(record);
    if (status == CsvReader::Status::kEnd) {
      host.Log(EXPERTISE_LOG_WARN, "the input is empty: no header row", {{"file", file_name}});
      return EXPERTISE_OK;
    }
    if (status != CsvReader::Status::kRecord) return failed(status);
    if (!record.blank) break;
  }
  switch (run.ReadHeader(record, incremental)) {
    case Flow::kContinue:
      break;
    case Flow::kDone:
      return EXPERTISE_OK;
    case Flow::kStop:
      return EXPERTISE_CANCELLED;
  }
  reader.set_max_fields(record.field_count);

  for (;;) {
    if (cancelled()) return EXPERTISE_CANCELLED;
    const CsvReader::Status status = reader.Next(record);
    if (status == CsvReader::Status::kEnd) break;
    if (status != CsvReader::Status::kRecord) return failed(status);
    if (record.blank) continue;
    if (!run.ProcessRow(record)) return EXPERTISE_CANCELLED;
  }
  run.LogSummary();
  if (incremental && !run.Checkpoint()) return EXPERTISE_CANCELLED;
  return EXPERTISE_OK;
}

}  // namespace expertise::plugins
