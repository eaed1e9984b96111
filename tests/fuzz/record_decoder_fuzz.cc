// Fuzzes the importer host's record decoder: DecodeRecord() is what every
// plugin-emitted record (record format 1.0 JSON, untrusted) goes through
// before it reaches the registry. Input bytes are the record JSON as a
// plugin would emit it; the context is fixed (authority E06000001, source
// "fuzz", a fixed "now") so every crash reproduces.
//
// Beyond crashes and sanitizer reports it checks what the host does next
// with the result (services/importer/import_run.cc):
//   - it returns true exactly when there are no problems;
//   - every problem has a known reason and a message;
//   - a reject (external id, field, message) survives a protobuf round trip
//     as a registry ImportReject: proto3 strings must be valid UTF-8, or the
//     registry fails to parse the whole import batch; so must every other
//     problem's field and message (the registry's validation returns the same
//     texts to API clients);
//   - an accepted record survives a round trip as a registry Specialist and
//     carries the context's authority and source.
//
// Seeds: tests/fuzz/corpus/record_decoder/. Run through tests/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/wrappers.pb.h"
#include "services/importer/record_decoder.h"

namespace {

namespace rv1 = expertise::registry::v1;
using expertise::importer::DecodeContext;
using expertise::importer::DecodeRecord;
using expertise::importer::RecordProblem;
using expertise::importer::RejectReason;

// Round-trips through the wire format, as the import stream does.
template <typename Message>
bool SurvivesWire(const Message& message) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) return false;
  Message copy;
  return copy.ParseFromString(bytes);
}

// Says which string broke the round trip, before aborting, so a crash
// report names the culprit.
bool ReportIfNotUtf8(const char* what, const std::string& value) {
  google::protobuf::StringValue probe;  // a proto3 string field
  probe.set_value(value);
  if (SurvivesWire(probe)) return true;
  std::fprintf(stderr, "record_decoder_fuzz: %s is not valid UTF-8 (%zu bytes): \"%s\"\n", what,
               value.size(), absl::CHexEscape(value).c_str());
  return false;
}

const DecodeContext& Context() {
  static const DecodeContext* context = new DecodeContext{
      .authority = "E06000001",
      .source = "fuzz",
      .now = absl::FromCivil(absl::CivilSecond(2026, 6, 1, 12, 0, 0), absl::UTCTimeZone()),
  };
  return *context;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Protobuf logs (e.g. invalid UTF-8 on parse) would flood the fuzzer's
  // output; the checks below look at return values instead.
  google::protobuf::SetLogHandler(nullptr);
  (void)Context();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  rv1::Specialist specialist;
  std::vector<RecordProblem> problems;
  std::string external_id;
  const bool ok = DecodeRecord(json, Context(), &specialist, &problems, &external_id);

  if (ok != problems.empty()) std::abort();
  if (external_id.size() > 128) std::abort();
  for (const RecordProblem& problem : problems) {
    const int reason = static_cast<int>(problem.reason);
    if (reason < 1 || reason > 6) std::abort();
    if (problem.message.empty()) std::abort();
  }

  if (!ok) {
    // The host reports the first problem, as import_run.cc's AddReject does.
    const RecordProblem& first = problems.front();
    rv1::ImportReject reject;
    reject.set_reason(static_cast<rv1::ImportReject::Reason>(first.reason));
    reject.set_external_id(external_id);
    reject.set_field(first.field);
    reject.set_message(first.message);
    bool survives = SurvivesWire(reject);
    if (!survives) ReportIfNotUtf8("reject external_id", external_id);
    // The other problems' texts come from the registry's validation, which
    // returns the same texts to API clients (BadRequest field violations).
    for (const RecordProblem& problem : problems) {
      survives &= ReportIfNotUtf8("problem field", problem.field);
      survives &= ReportIfNotUtf8("problem message", problem.message);
    }
    if (!survives) std::abort();
    return 0;
  }

  if (specialist.owning_authority() != Context().authority) std::abort();
  if (specialist.source() != Context().source) std::abort();
  if (specialist.external_id() != external_id) std::abort();
  rv1::ImportedRecord imported;
  *imported.mutable_specialist() = specialist;
  if (!SurvivesWire(imported)) {
    std::fprintf(stderr, "record_decoder_fuzz: accepted Specialist does not survive the wire:\n%s\n",
                 specialist.DebugString().c_str());
    std::abort();
  }
  return 0;
}
