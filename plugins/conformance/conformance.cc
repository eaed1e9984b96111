#include "plugins/conformance/conformance.h"

#include <cstdio>
#include <filesystem>

#include <gmock/gmock.h>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "expertise/importer_abi.h"
#include "nlohmann/json.hpp"
#include "services/common/errors.h"
#include "services/importer/plugin_config.h"
#include "services/importer/plugin_run.h"
#include "services/importer/record_decoder.h"

namespace expertise::conformance {
namespace {

namespace fs = std::filesystem;
using importer::ConfigMap;
using importer::RunEnd;
using importer::RunResult;

struct ExpectedReject {
  importer::RejectReason reason;
  nlohmann::json where;  // members to compare
};

struct BadRowCase {
  std::string input;
  ConfigMap config;
  std::vector<ExpectedReject> rejects;
};

struct Fixtures {
  std::string authority = "E06000001";
  ConfigMap config;
  std::vector<std::pair<ConfigMap, std::string>> invalid_configs;
  std::string empty_input;
  std::string full_input;
  int expected_records = -1;
  std::vector<BadRowCase> bad_rows;
};

ConfigMap ToConfig(const nlohmann::json& value) {
  absl::StatusOr<ConfigMap> parsed = importer::ParseConfigJson(value.dump(), "fixtures");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : ConfigMap{};
}

Fixtures LoadFixtures(const std::string& path) {
  Fixtures f;
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read fixture file " << path;
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << path << " is not valid JSON";
  if (doc.is_discarded()) return f;
  const fs::path base = fs::path(path).parent_path();
  auto rel = [&](const std::string& p) { return p.empty() ? p : (base / p).string(); };
  f.authority = doc.value("authority", f.authority);
  if (doc.contains("config")) f.config = ToConfig(doc["config"]);
  for (const auto& c : doc.value("invalid_configs", nlohmann::json::array())) {
    ConfigMap merged = f.config;
    for (const auto& [k, v] : ToConfig(c.value("config", nlohmann::json::object()))) merged[k] = v;
    f.invalid_configs.emplace_back(merged, c.value("key", ""));
  }
  f.empty_input = rel(doc.value("empty_input", ""));
  f.full_input = rel(doc.value("full_input", ""));
  f.expected_records = doc.value("expected_records", -1);
  for (const auto& b : doc.value("bad_rows", nlohmann::json::array())) {
    BadRowCase c;
    c.input = rel(b.value("input", ""));
    c.config = f.config;
    for (const auto& [k, v] : ToConfig(b.value("config", nlohmann::json::object()))) c.config[k] = v;
    for (const auto& r : b.value("rejects", nlohmann::json::array())) {
      ExpectedReject e;
      EXPECT_TRUE(importer::ParseRejectReason(r.value("reason", ""), &e.reason))
          << "unknown reason in " << path << ": " << r.dump();
      e.where = r;
      c.rejects.push_back(e);
    }
    f.bad_rows.push_back(std::move(c));
  }
  return f;
}

struct Collected {
  RunResult result;
  std::vector<std::string> records;  // JSON as emitted
  struct Reject {
    importer::RejectReason reason;
    importer::v1::SourceLocation location;
    std::string message;
  };
  std::vector<Reject> rejects;  // from the plugin and from the host's checks
  FieldViolations host_config_violations;
  absl::Duration elapsed;
};

class Collector : public importer::RunObserver {
 public:
  Collector(const ConfigMap& config, const std::string& authority, Collected* out, int stop_after = -1,
            bool check_only = false)
      : config_(config), out_(out), stop_after_(stop_after), check_only_(check_only) {
    decode_.authority = authority;
    decode_.source = "conformance";
    decode_.now = absl::Now();
  }
  absl::Status OnHello(const importer::v1::PluginDescription& plugin, importer::Isolation,
                       importer::v1::RunRequest* request) override {
    ConfigMap resolved = importer::ResolveConfig(plugin, config_, &out_->host_config_violations);
    if (!out_->host_config_violations.empty()) return absl::InvalidArgumentError("bad config");
    for (const auto& [k, v] : resolved) (*request->mutable_config())[k] = v;
    request->set_check_only(check_only_);
    request->set_sync_mode(1);
    return absl::OkStatus();
  }
  bool OnRecord(const importer::v1::EmittedRecord& record) override {
    out_->records.push_back(record.json());
    registry::v1::Specialist specialist;
    std::vector<importer::RecordProblem> problems;
    std::string external_id;
    if (!importer::DecodeRecord(record.json(), decode_, &specialist, &problems, &external_id)) {
      for (const auto& p : problems) out_->rejects.push_back({p.reason, record.location(), p.field + ": " + p.message});
    }
    return stop_after_ < 0 || static_cast<int>(out_->records.size()) < stop_after_;
  }
  bool OnReject(const importer::v1::PluginReject& reject) override {
    out_->rejects.push_back({importer::RejectReasonFromInt(reject.reason()), reject.location(), reject.message()});
    return true;
  }

 private:
  ConfigMap config_;
  Collected* out_;
  importer::DecodeContext decode_;
  int stop_after_;
  bool check_only_;
};

importer::RunOptions Options(const Target& target) {
  importer::RunOptions o;
  o.plugin_path = fs::absolute(target.plugin_path).string();
  EXPECT_TRUE(importer::ParseIsolation(target.min_isolation, &o.min_isolation)) << target.min_isolation;
  o.in_process = target.in_process;
  o.no_sandbox = target.in_process;
  o.timeout = absl::Seconds(60);
  o.cancel_grace = absl::Seconds(5);
  o.memory_mb = 512;
  return o;
}

Collected RunCollect(const Target& target, const Fixtures& f, const std::string& input, const ConfigMap& config,
              int stop_after = -1, bool check_only = false) {
  Collected c;
  Collector collector(config, f.authority, &c, stop_after, check_only);
  importer::v1::RunRequest request;
  if (!input.empty()) request.set_input_path(fs::absolute(input).string());
  importer::RunOptions options = Options(target);
  // When stopping early, one record in flight at a time, so the cancel
  // reaches the plugin while it still has input left.
  if (stop_after > 0) options.window = 1;
  const absl::Time start = absl::Now();
  c.result = importer::RunPlugin(options, request, &collector);
  c.elapsed = absl::Now() - start;
  return c;
}

std::string Explain(const Collected& c) {
  std::string out = importer::DescribeRun(c.result);
  for (const auto& v : c.host_config_violations.violations()) absl::StrAppend(&out, "\n  ", v.field(), ": ", v.description());
  for (const auto& e : c.result.config_errors) absl::StrAppend(&out, "\n  plugin: config.", e.key(), ": ", e.message());
  for (const auto& line : c.result.last_output) absl::StrAppend(&out, "\n  output: ", line);
  return out;
}

std::string Where(const importer::v1::SourceLocation& l) {
  return absl::StrCat("file=", l.file(), " row=", l.row(), " column=", l.column(), " json_pointer=", l.json_pointer(),
                      " resource_id=", l.resource_id());
}

bool Matches(const ExpectedReject& e, const Collected::Reject& r) {
  if (e.reason != r.reason) return false;
  const auto& w = e.where;
  if (w.contains("file") && w["file"].get<std::string>() != r.location.file()) return false;
  if (w.contains("row") && w["row"].get<uint64_t>() != r.location.row()) return false;
  if (w.contains("column") && w["column"].get<std::string>() != r.location.column()) return false;
  if (w.contains("json_pointer") && w["json_pointer"].get<std::string>() != r.location.json_pointer()) return false;
  if (w.contains("resource_id") && w["resource_id"].get<std::string>() != r.location.resource_id()) return false;
  return true;
}

TEST_P(PluginConformance, InfoBlockIsSaneAndRunsSandboxed) {
  absl::StatusOr<importer::v1::PluginDescription> d = importer::DescribePlugin(Options(GetParam()));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->name().empty());
  EXPECT_THAT(d->version(), ::testing::MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+([-+].*)?"))
      << "version '" << d->version() << "' is not a semantic version";
  EXPECT_FALSE(d->description().empty());
  EXPECT_EQ(d->abi_major(), static_cast<uint32_t>(EXPERTISE_IMPORTER_ABI_MAJOR));
  EXPECT_NE(d->sync_modes(), 0u);
  EXPECT_EQ(fs::path(GetParam().plugin_path).filename().string(), absl::StrCat("expertise_importer_", d->name(), ".so"))
      << "the file name must be expertise_importer_<name>.so";
}

TEST_P(PluginConformance, ConfigKeysAreDeclaredAndSecretsFlagged) {
  absl::StatusOr<importer::v1::PluginDescription> d = importer::DescribePlugin(Options(GetParam()));
  ASSERT_TRUE(d.ok()) << d.status();
  const auto secret_looking =
      ::testing::ContainsRegex("(password|passwd|secret|token|api_?key|credential|private_key)");
  for (const auto& key : d->config_keys()) {
    EXPECT_FALSE(key.description().empty()) << key.name();
    if (::testing::Value(key.name(), secret_looking)) {
      EXPECT_TRUE(key.secret()) << "config key '" << key.name() << "' looks secret but is not marked secret";
    }
    if (key.secret()) {
      EXPECT_FALSE(key.has_default_value()) << "secret key '" << key.name() << "' must not have a default";
    }
    if (key.type() == "enum" && key.has_default_value()) {
      bool allowed = false;
      for (const auto& a : key.allowed_values()) allowed |= a == key.default_value();
      EXPECT_TRUE(allowed) << "default of '" << key.name() << "' is not an allowed value";
    }
  }
}

TEST_P(PluginConformance, ExportsOnlyTheEntrySymbol) {
  const std::string command = absl::StrCat("nm -D --defined-only '", GetParam().plugin_path, "' 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  ASSERT_EQ(::pclose(pipe), 0) << output;
  bool found_entry = false;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (parts.size() < 3) continue;
    const std::string& type = parts[1];
    const std::string& name = parts[2];
    if (name == EXPERTISE_IMPORTER_ENTRY_NAME) {
      found_entry = true;
    } else if (type != "A" && !absl::StartsWith(name, "__asan") && !absl::StartsWith(name, "__ubsan") &&
               !absl::StartsWith(name, "__tsan")) {
      ADD_FAILURE() << "exports '" << name << "' (" << type
                    << "): build with expertise_importer_plugin() so only the entry function is exported";
    }
  }
  EXPECT_TRUE(found_entry) << "does not export " << EXPERTISE_IMPORTER_ENTRY_NAME;
}

TEST_P(PluginConformance, ValidConfigPassesCheck) {
  const Fixtures f = LoadFixtures(GetParam().fixtures_path);
  Collected c = RunCollect(GetParam(), f, "", f.config, -1, /*check_only=*/true);
  EXPECT_TRUE(c.result.ok()) << Explain(c);
  EXPECT_TRUE(c.result.config_errors.empty()) << Explain(c);
}

TEST_P(PluginConformance, BadConfigIsRejectedWithTheKeyNamed) {
  const Fixtures f = LoadFixtures(GetParam().fixtures_path);
  ConfigMap unknown = f.config;
  unknown["no_such_key_for_conformance"] = "1";
  std::vector<std::pair<ConfigMap, std::string>> cases = f.invalid_configs;
  cases.emplace_back(unknown, "no_such_key_for_conformance");
  for (const auto& [config, key] : cases) {
    Collected c = RunCollect(GetParam(), f, "", config, -1, /*check_only=*/true);
    EXPECT_FALSE(c.result.ok()) << "config accepted, but key '" << key << "' is bad";
    bool named = false;
    for (const auto& v : c.host_config_violations.violations()) named |= v.field() == "config." + key;
    for (const auto& e : c.result.config_errors) named |= e.key() == key;
    EXPECT_TRUE(named) << "no error names config key '" << key << "': " << Explain(c);
  }
}

TEST_P(PluginConformance, EmptyInputIsFine) {
  const Fixtures f = LoadFixtures(GetParam().fixtures_path);
  if (f.empty_input.empty()) GTEST_SKIP() << "no empty_input fixture";
  Collected c = RunCollect(GetParam(), f, f.empty_input, f.config);
  EXPECT_TRUE(c.result.ok()) << Explain(c);
  EXPECT_TRUE(c.records.empty());
  EXPECT_TRUE(c.rejects.empty()) << c.rejects.front().message;
}

TEST_P(PluginConformance, FullImportYieldsValidRecordsAndWritesNoOutput) {
  const Fixtures f = LoadFixtures(GetParam().fixtures_path);
  ASSERT_FALSE(f.full_input.empty()) << "the fixture file needs full_input";
  Collected c = RunCollect(GetParam(), f, f.full_input, f.config);
  ASSERT_TRUE(c.result.ok()) << Explain(c);
  if (f.expected_records >= 0) {
    EXPECT_EQ(c.records.size(), static_cast<size_t>(f.expected_records));
  }
  EXPECT_GE(c.records.size(), 1u);
  for (const auto& r : c.rejects) ADD_FAILURE() << "reject in the full input at " << Where(r.location) << ": " << r.message;
  // Plugins report through the log host function; stdout and stderr are
  // for nothing (a stray printf would be captured here).
  for (const std::string& line : c.result.last_output) ADD_FAILURE() << "plugin wrote output: " << line;
}

TEST_P(PluginConformance, TwoRunsGiveIdenticalResults) {
  const Fixtures f = LoadFixtures(GetParam().fixtures_path);
  ASSERT_FALSE(f.full_input.empty());
  Collected first = RunCollect(GetParam(), f, f.full_input, f.config);
  Collected second = RunCollect(GetParam(), f, f.full_input, f.config);
  ASSERT_TRUE(first.result.ok()) << Explain(first);
  ASSERT_TRUE(second.result.ok()) << Explain(second);
  EXPECT_EQ(first.records, second.records);
  EXPECT_EQ(first.rejects.size(), second.rejects.size());
}

TEST_P(PluginConformance, EachBadRowGivesTheExpectedReject) {
  const Fixtures f = LoadFixtures(GetParam().fixtures_path);
  if (f.bad_rows.empty()) GTEST_SKIP() << "no bad_rows fixtures";
  for (const BadRowCase& bad : f.bad_rows) {
    SCOPED_TRACE(bad.input);
    Collected c = RunCollect(GetParam(), f, bad.input, bad.config);
    EXPECT_NE(c.result.end, RunEnd::kCrashed) << Explain(c);
    for (const ExpectedReject& e : bad.rejects) {
      bool found = false;
      for (const auto& r : c.rejects) found |= Matches(e, r);
      std::string got;
      for (const auto& r : c.rejects) absl::StrAppend(&got, "\n  ", importer::RejectReasonName(r.reason), " at ", Where(r.location), ": ", r.message);
      EXPECT_TRUE(found) << "expected " << importer::RejectReasonName(e.reason) << " " << e.where.dump()
                         << "; got:" << (got.empty() ? " no rejects" : got);
    }
  }
}

TEST_P(PluginConformance, CancelIsHonoured) {
  const Fixtures f = LoadFixtures(GetParam().fixtures_path);
  ASSERT_FALSE(f.full_input.empty());
  // Stop after the first record: the host cancels, the plugin's emit
  // returns STOP and cancel() is called; it must return, not be killed.
  Collected c = RunCollect(GetParam(), f, f.full_input, f.config, /*stop_after=*/1);
  EXPECT_EQ(c.result.end, RunEnd::kStopped) << Explain(c);
  EXPECT_FALSE(absl::StrContains(c.result.cause, "killed")) << "the plugin ignored cancel: " << Explain(c);
  EXPECT_LT(absl::ToDoubleSeconds(c.elapsed), 5.0);
  EXPECT_LE(c.records.size(), 2u) << "records kept coming after cancel";
}

}  // namespace
}  // namespace expertise::conformance
