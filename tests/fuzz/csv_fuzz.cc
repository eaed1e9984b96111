// Fuzzes the csv importer's Parse() with arbitrary bytes, in snapshot mode
// with the default config and in incremental mode with a cursor column.
// Beyond crashes and sanitizer reports it checks what crosses the ABI: every
// emitted record and every reject string must be valid UTF-8 JSON / text,
// and every result code one Parse() may return.
//
// Build and run from the repository root:
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iplugins/sdk/include
//       -I/usr/include/utf8cpp tests/fuzz/csv_fuzz.cc plugins/csv/csv_importer.cc
//       plugins/csv/csv_config.cc plugins/csv/csv_reader.cc -o csv_fuzz
//   ./csv_fuzz -max_total_time=60 tests/fuzz/corpus/csv
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugins/csv/csv_importer.h"
#include "tests/testutil/recording_host.h"

namespace {

using expertise::plugins::CsvImporter;
using expertise::testing::RecordingHost;

std::unique_ptr<CsvImporter> Make(RecordingHost& recorder,
                                  const std::vector<expertise_config_entry>& entries) {
  const expertise_config config{sizeof(expertise_config), entries.data(), entries.size()};
  expertise::importer::Host host = recorder.host();
  return CsvImporter::Create(expertise::importer::Config(&config), host);
}

// Aborts unless `text` is valid UTF-8 (nlohmann's dump() throws otherwise).
void CheckUtf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
  } catch (const nlohmann::json::exception&) {
    std::abort();
  }
}

void Check(const RecordingHost& recorder, expertise_result code) {
  if (code != EXPERTISE_OK && code != EXPERTISE_CANCELLED && code != EXPERTISE_ERROR) std::abort();
  for (const std::string& record : recorder.records) {
    // Throws (and so aborts the fuzzer) on invalid JSON or UTF-8.
    const nlohmann::json parsed = nlohmann::json::parse(record);
    if (!parsed.is_object() || !parsed.contains("externalId")) std::abort();
  }
  for (const auto& reject : recorder.rejects) {
    CheckUtf8(reject.message);
    CheckUtf8(reject.external_id);
    CheckUtf8(reject.where.column);
    if (reject.raw_excerpt.size() > 200 || reject.where.row == 0) std::abort();
    CheckUtf8(reject.raw_excerpt);
  }
  for (const std::string& checkpoint : recorder.checkpoints) CheckUtf8(checkpoint);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  {
    RecordingHost recorder;
    std::unique_ptr<CsvImporter> importer = Make(recorder, {});
    if (importer == nullptr) std::abort();  // the defaults must be a valid config
    std::istringstream stream(input);
    expertise::importer::ReadRequest request;
    expertise::importer::Host host = recorder.host();
    Check(recorder, importer->Parse(stream, "fuzz.csv", request, host));
  }
  {
    // Defaults for the required enums let rows reach every converter.
    RecordingHost recorder;
    std::unique_ptr<CsvImporter> importer =
        Make(recorder, {{"cursor_column", "updated_at"},
                        {"default_employer_type", "nhs"},
                        {"default_visibility", "region"},
                        {"default_delivery_modes", "in_person"},
                        {"value_map", "SALT=speech-language-therapist,ASD=autism"}});
    if (importer == nullptr) std::abort();
    std::istringstream stream(input);
    expertise::importer::ReadRequest request;
    request.sync_mode = EXPERTISE_SYNC_INCREMENTAL;
    request.state = "2026-01-01T00:00:00Z";
    expertise::importer::Host host = recorder.host();
    Check(recorder, importer->Parse(stream, "fuzz.csv", request, host));
  }
  return 0;
}
