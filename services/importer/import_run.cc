#include "services/importer/import_run.h"

#include <openssl/evp.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "services/rpc/grpc_status.h"
#include "services/common/logging.h"
#include "services/common/reference/reference_data.h"
#include "services/importer/plugin_catalog.h"
#include "services/importer/record_decoder.h"

namespace expertise::importer {
namespace {

namespace rv1 = registry::v1;

constexpr int kBatchSize = 500;
constexpr size_t kEarlyRejectsKept = 1000;

spdlog::logger& PluginLog() {
  static spdlog::logger* const logger = GetLogger("importer.plugin").get();
  return *logger;
}

rv1::SourceLocation ToRegistry(const v1::SourceLocation& l) {
  rv1::SourceLocation out;
  out.set_file(l.file());
  out.set_row(l.row());
  out.set_column(l.column());
  out.set_json_pointer(l.json_pointer());
  out.set_resource_id(l.resource_id());
  return out;
}

std::string HashHex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

// Streams the import to the registry; everything happens on the caller's
// thread (the plugin run loop), so no locking is needed.
class ImportObserver : public RunObserver {
 public:
  ImportObserver(const ImportOptions& options, rv1::RegistryService::StubInterface* stub,
                 const std::function<void(const ImportProgress&)>& on_progress, ImportReport* report)
      : options_(options), stub_(stub), on_progress_(on_progress), report_(report) {
    decode_.authority = options.authority;
    decode_.now = absl::Now();
    progress_.total_rows = CountLines(options.input_path);
  }

  absl::Status OnHello(const v1::PluginDescription& plugin, Isolation isolation,
                       v1::RunRequest* request) override {
    FieldViolations violations;
    ConfigMap resolved = ResolveConfig(plugin, options_.config, &violations);
    if (!violations.empty()) {
      std::vector<std::string> lines;
      for (const auto& v : violations.violations()) lines.push_back(absl::StrCat(v.field(), ": ", v.description()));
      return absl::InvalidArgumentError(absl::StrCat("bad config: ", absl::StrJoin(lines, "; ")));
    }
    const uint32_t wanted = options_.mode == rv1::IMPORT_MODE_INCREMENTAL ? 2u : 1u;
    if ((plugin.sync_modes() & wanted) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("plugin '", plugin.name(), "' does not support ",
                                                     wanted == 2 ? "incremental" : "snapshot", " imports"));
    }
    for (const auto& [k, v] : resolved) (*request->mutable_config())[k] = v;
    request->set_sync_mode(wanted);
    request->set_state(expected_cursor_);
    decode_.source = source_;

    rv1::ImportHeader header;
    header.set_parent(region_);
    header.set_import_id(report_->import_id);
    header.set_authority(options_.authority);
    header.set_source(source_);
    header.set_mode(options_.mode);
    *header.mutable_reject_policy() = options_.policy;
    if (options_.max_withdraw_fraction) header.set_max_withdraw_fraction(*options_.max_withdraw_fraction);
    header.set_force(options_.force);
    header.set_validate_only(options_.dry_run);
    header.set_expected_cursor(expected_cursor_);
    header.set_plugin(plugin.name());
    header.set_plugin_version(plugin.version());
    header.set_isolation(IsolationName(isolation));
    header.set_input_name(std::filesystem::path(options_.input_path).filename().string());
    header_ = header;
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::microseconds(absl::ToInt64Microseconds(options_.rpc_timeout)));
    writer_ = stub_->ImportSpecialists(&context_, &response_);
    rv1::ImportSpecialistsRequest first;
    *first.mutable_header() = header;
    if (!writer_->Write(first)) return absl::UnavailableError("the registry closed the import stream");
    return absl::OkStatus();
  }

  bool OnRecord(const v1::EmittedRecord& record) override {
    rv1::Specialist specialist;
    std::vector<RecordProblem> problems;
    std::string external_id;
    Progress(record.location().row());
    if (!DecodeRecord(record.json(), decode_, &specialist, &problems, &external_id)) {
      const RecordProblem& first = problems.front();
      std::string message = first.message;
      if (problems.size() > 1) absl::StrAppend(&message, " (and ", problems.size() - 1, " more problems)");
      AddReject(ToRegistry(record.location()), static_cast<int>(first.reason), external_id, first.field, message);
      return Flush(false);
    }
    rv1::ImportedRecord* imported = batch_.add_records();
    *imported->mutable_specialist() = std::move(specialist);
    *imported->mutable_location() = ToRegistry(record.location());
    ++progress_.records;
    return Flush(false);
  }

  bool OnReject(const v1::PluginReject& reject) override {
    Progress(reject.location().row());
    AddReject(ToRegistry(reject.location()), static_cast<int>(RejectReasonFromInt(reject.reason())),
              reject.external_id(), "", reject.message());
    return Flush(false);
  }

  bool OnCheckpoint(const v1::Checkpoint& checkpoint) override {
    // Every record before this checkpoint is already in the stream, and the
    // registry commits the stream and the cursor together.
    cursor_ = checkpoint.state();
    return true;
  }

  void OnLog(const v1::LogLine& line) override {
    // Plugin messages may quote input data (personal data): debug only.
    LogEvent(PluginLog(), spdlog::level::debug, "plugin_log", {{"level", line.level()}, {"message", line.message()}});
    report_->plugin_log.push_back(line.message());
    while (report_->plugin_log.size() > 20) report_->plugin_log.pop_front();
  }

  // After the run: commit if it finished well, otherwise abandon the stream.
  void Complete(bool run_ok) {
    if (writer_ == nullptr) return;
    if (!run_ok || !Flush(true)) {
      context_.TryCancel();
      (void)writer_->Finish();
      return;
    }
    rv1::ImportSpecialistsRequest end;
    end.mutable_end()->set_cursor(cursor_);
    writer_->Write(end);
    writer_->WritesDone();
    grpc::Status status = writer_->Finish();
    if (status.ok()) {
      report_->import = response_;
    } else {
      absl::Status s = FromGrpcStatus(status);
      report_->error = absl::StrCat("the registry refused the import: ", s.message());
    }
  }

  void set_target(std::string region, std::string source, std::string expected_cursor) {
    region_ = std::move(region);
    source_ = std::move(source);
    expected_cursor_ = std::move(expected_cursor);
  }

 private:
  void AddReject(rv1::SourceLocation location, int reason, const std::string& external_id,
                 const std::string& field, const std::string& message) {
    rv1::ImportReject* r = batch_.add_rejects();
    *r->mutable_location() = std::move(location);
    r->set_reason(static_cast<rv1::ImportReject::Reason>(reason));
    r->set_external_id(external_id);
    r->set_field(field);
    r->set_message(message);
    if (report_->early_rejects.size() < kEarlyRejectsKept) report_->early_rejects.push_back(*r);
    ++progress_.rejects;
  }

  bool Flush(bool force) {
    if (writer_ == nullptr) return false;
    if (batch_.records_size() + batch_.rejects_size() == 0) return true;
    if (!force && batch_.records_size() < kBatchSize && batch_.rejects_size() < kBatchSize) return true;
    rv1::ImportSpecialistsRequest message;
    *message.mutable_batch() = std::move(batch_);
    batch_.Clear();
    if (!writer_->Write(message)) {
      report_->error = "the registry closed the import stream early";
      return false;
    }
    return true;
  }

  void Progress(uint64_t row) {
    if (row > progress_.row) progress_.row = row;
    const absl::Time now = absl::Now();
    if (on_progress_ && now - last_progress_ > absl::Milliseconds(200)) {
      last_progress_ = now;
      progress_.elapsed = now - start_;
      on_progress_(progress_);
    }
  }

  const ImportOptions& options_;
  rv1::RegistryService::StubInterface* stub_;
  const std::function<void(const ImportProgress&)>& on_progress_;
  ImportReport* report_;
  DecodeContext decode_;
  std::string region_, source_, expected_cursor_, cursor_;
  rv1::ImportHeader header_;
  grpc::ClientContext context_;
  rv1::Import response_;
  std::unique_ptr<grpc::ClientWriterInterface<rv1::ImportSpecialistsRequest>> writer_;
  rv1::ImportBatch batch_;
  ImportProgress progress_;
  const absl::Time start_ = absl::Now();
  absl::Time last_progress_ = absl::InfinitePast();
};

}  // namespace

std::string ImportReport::outcome() const {
  if (import.has_value()) return rv1::Import::State_Name(import->state());
  return "FAILED";
}

bool ImportReport::succeeded() const {
  return import.has_value() && import->state() != rv1::Import::FAILED;
}

uint64_t CountLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t lines = 0;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    lines += static_cast<uint64_t>(std::count(buffer, buffer + in.gcount(), '\n'));
  }
  return lines;
}

absl::StatusOr<std::string> RegionOfAuthority(const std::string& gss_code) {
  const ReferenceData& reference = ReferenceData::Get();
  const AuthorityInfo* la = reference.FindAuthority(gss_code);
  if (la == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("'", gss_code, "' is not the GSS code of an English upper-tier "
                                                   "local authority (e.g. E06000001); see `expertctl authorities`"));
  }
  return reference.FindRegion(la->region_code)->resource_name();
}

absl::StatusOr<std::string> DeriveImportId(const ImportOptions& options, const std::string& plugin_sha256) {
  absl::StatusOr<std::string> input_hash = Sha256File(options.input_path);
  if (!input_hash.ok()) return input_hash.status();
  std::string key = absl::StrCat(options.authority, "|", options.source, "|", options.mode, "|",
                                 options.policy.kind(), ":", options.policy.max_reject_percent(), "|",
                                 options.max_withdraw_fraction.value_or(-1), "|", options.force, "|",
                                 plugin_sha256, "|", *input_hash);
  for (const auto& [k, v] : options.config) absl::StrAppend(&key, "|", k, "=", v);
  return absl::StrCat("imp-", HashHex(key).substr(0, 24));
}

ImportReport RunImport(const ImportOptions& options, rv1::RegistryService::StubInterface* stub,
                       const std::function<void(const ImportProgress&)>& on_progress, CancelFlag* cancel) {
  ImportReport report;
  const absl::Time start = absl::Now();
  auto fail = [&](std::string error) {
    report.error = std::move(error);
    report.elapsed = absl::Now() - start;
    return report;
  };
  absl::StatusOr<std::string> region = RegionOfAuthority(options.authority);
  if (!region.ok()) return fail(std::string(region.status().message()));
  if (absl::Status safe = CheckPluginFileSafety(options.run.plugin_path); !safe.ok()) {
    return fail(std::string(safe.message()));
  }
  std::ifstream probe(options.input_path);
  if (!probe) return fail(absl::StrCat("cannot read input file ", options.input_path));
  absl::StatusOr<std::string> plugin_hash = Sha256File(options.run.plugin_path);
  if (!plugin_hash.ok()) return fail(std::string(plugin_hash.status().message()));
  std::string source = options.source;
  if (source.empty()) {
    source = std::filesystem::path(options.run.plugin_path).stem().string();
    if (absl::StartsWith(source, "expertise_importer_")) source = source.substr(19);
    std::replace(source.begin(), source.end(), '_', '-');
  }
  ImportOptions effective = options;
  effective.source = source;
  if (effective.import_id.empty()) {
    absl::StatusOr<std::string> id = DeriveImportId(effective, *plugin_hash);
    if (!id.ok()) return fail(std::string(id.status().message()));
    effective.import_id = *id;
    if (options.dry_run) effective.import_id = "dry-" + id->substr(4);
  }
  report.import_id = effective.import_id;
  const std::string import_name = absl::StrCat(*region, "/imports/", effective.import_id);

  // Already imported? Then nothing runs and nothing changes.
  if (!options.dry_run) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    rv1::GetImportRequest get;
    get.set_name(import_name);
    rv1::Import existing;
    grpc::Status status = stub->GetImport(&context, get, &existing);
    if (status.ok()) {
      report.import = existing;
      report.already_imported = true;
      report.elapsed = absl::Now() - start;
      return report;
    }
    if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
      return fail(absl::StrCat("cannot reach the registry: ", status.error_message()));
    }
  }
  std::string expected_cursor;
  if (options.mode == rv1::IMPORT_MODE_INCREMENTAL) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    rv1::GetImportCursorRequest get;
    get.set_name(absl::StrCat(*region, "/importCursors/", options.authority, ".", source));
    rv1::ImportCursor cursor;
    grpc::Status status = stub->GetImportCursor(&context, get, &cursor);
    if (status.ok()) {
      expected_cursor = cursor.cursor();
    } else if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
      return fail(absl::StrCat("cannot read the import cursor: ", status.error_message()));
    }
  }

  ImportObserver observer(effective, stub, on_progress, &report);
  observer.set_target(*region, source, expected_cursor);
  v1::RunRequest request;
  request.set_input_path(std::filesystem::absolute(options.input_path).string());
  report.run = RunPlugin(effective.run, request, &observer, cancel);
  observer.Complete(report.run.ok());
  if (!report.run.ok() && report.error.empty()) {
    report.error = absl::StrCat(DescribeRun(report.run), "; nothing was imported",
                                options.mode == rv1::IMPORT_MODE_INCREMENTAL ? " and the cursor was kept" : "");
  }
  report.elapsed = absl::Now() - start;
  return report;
}

}  // namespace expertise::importer
