// Copyright expertise-directory authors.
//
// Fuzzes the openreferral importer in process: every input is read as a
// snapshot in service mode, incrementally in service mode and as a snapshot
// in contact mode. Besides the sanitizers, it aborts when an emitted record
// is not a JSON object with the required members, when a string crossing the
// ABI is not UTF-8, or when the importer reports an internal error (input
// problems must be rejects, never exceptions).
//
// Build and run from the repository root:
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iplugins/sdk/include
//       -I/usr/include/utf8cpp tests/fuzz/openreferral_fuzz.cc plugins/openreferral/openreferral_*.cc
//       -o openreferral_fuzz
//   ./openreferral_fuzz -max_total_time=60 tests/fuzz/corpus/openreferral

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "expertise/importer_abi.h"
#include "expertise/importer_plugin.hpp"
#include "plugins/openreferral/openreferral_importer.h"
#include "tests/testutil/recording_host.h"

namespace {

using ::expertise::importer::Config;
using ::expertise::importer::ReadRequest;
using ::expertise::plugins::OpenReferralImporter;
using ::expertise::testing::RecordingHost;

std::unique_ptr<OpenReferralImporter> Make(const char* record_per) {
  const expertise_config_entry entries[] = {
      {"role_map",
       "SLT=speech-language-therapist,EP=educational-psychologist,OT=occupational-therapist"},
      {"specialism_map", "AUT=autism,HI=hearing-impairment"},
      {"setting_map", "Primary school=primary"},
      {"record_per", record_per},
      {"max_input_bytes", "1048576"},
  };
  const expertise_config config{sizeof(expertise_config), entries,
                                sizeof entries / sizeof entries[0]};
  RecordingHost host;
  auto h = host.host();
  auto importer = OpenReferralImporter::Create(Config(&config), h);
  if (!importer) std::abort();
  return importer;
}

// Well-formed UTF-8 (nlohmann rejects anything else when parsing).
bool IsUtf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

void Check(const RecordingHost& host, expertise_result result) {
  if (result != EXPERTISE_OK && result != EXPERTISE_ERROR) std::abort();
  for (const std::string& log : host.logs) {
    if (log.rfind("internal error", 0) == 0) std::abort();
  }
  for (const std::string& record : host.records) {
    const nlohmann::json r = nlohmann::json::parse(record, nullptr, /*allow_exceptions=*/false);
    if (!r.is_object() || !r.contains("externalId") || !r.contains("displayName") ||
        !r.contains("role") || !r["externalId"].is_string() ||
        r["externalId"].get<std::string>().empty()) {
      std::abort();
    }
  }
  for (const auto& reject : host.rejects) {
    if (!IsUtf8(reject.message) || !IsUtf8(reject.raw_excerpt) || !IsUtf8(reject.external_id) ||
        !IsUtf8(reject.where.json_pointer)) {
      std::abort();
    }
  }
  for (const std::string& checkpoint : host.checkpoints) {
    if (checkpoint.empty() || checkpoint.size() > 4096) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static OpenReferralImporter* const by_service = Make("service").release();
  static OpenReferralImporter* const by_contact = Make("contact").release();
  const std::string_view content(reinterpret_cast<const char*>(data), size);
  const ReadRequest snapshot{"", EXPERTISE_SYNC_SNAPSHOT, ""};
  const ReadRequest incremental{"", EXPERTISE_SYNC_INCREMENTAL, "2026-01-01T00:00:00Z"};
  struct Pass {
    OpenReferralImporter* importer;
    const ReadRequest* request;
  };
  for (const Pass& pass :
       {Pass{by_service, &snapshot}, Pass{by_service, &incremental}, Pass{by_contact, &snapshot}}) {
    RecordingHost host;
    auto h = host.host();
    Check(host, pass.importer->Parse(content, "fuzz.json", *pass.request, h));
  }
  return 0;
}
