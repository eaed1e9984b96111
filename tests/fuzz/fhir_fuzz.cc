// Fuzzes the fhir importer's parser with arbitrary bytes, as a Bundle and as
// NDJSON, in snapshot and incremental mode. Seeds: tests/fuzz/corpus/fhir/.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "plugins/fhir/fhir_importer.h"
#include "tests/testutil/recording_host.h"

namespace {

using expertise::plugins::FhirImporter;

void ParseOnce(std::string_view content, const std::string& file_name, uint32_t sync_mode,
               const std::string& state) {
  expertise::testing::RecordingHost recording;
  expertise::importer::Host host = recording.host();
  std::unique_ptr<FhirImporter> importer =
      FhirImporter::Create(expertise::importer::Config(), host);
  if (!importer) __builtin_trap();  // the default config must always be valid
  expertise::importer::ReadRequest request;
  request.sync_mode = sync_mode;
  request.state = state;
  const expertise_result result = importer->Parse(content, file_name, request, host);
  // Parse() never fails on bad input: bad input becomes rejects.
  if (result != EXPERTISE_OK) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view content(reinterpret_cast<const char*>(data), size);
  // The file name decides NDJSON vs content detection, so try both paths.
  ParseOnce(content, "input.json", EXPERTISE_SYNC_SNAPSHOT, "");
  ParseOnce(content, "input.ndjson", EXPERTISE_SYNC_INCREMENTAL, "2026-04-03T08:10:00Z");
  ParseOnce(content, "input.json", EXPERTISE_SYNC_INCREMENTAL, "");
  return 0;
}
