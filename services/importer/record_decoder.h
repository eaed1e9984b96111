#ifndef EXPERTISE_SERVICES_IMPORTER_RECORD_DECODER_H_
#define EXPERTISE_SERVICES_IMPORTER_RECORD_DECODER_H_

// Turns what a plugin emitted (record format 1.0 JSON) into a registry
// Specialist, or says exactly why not. Every record goes through here: a
// plugin is never trusted. The registry checks again on commit.

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "services/common/reference/reference_data.h"

namespace expertise::importer {

// Reject reasons, numbered as expertise_reject_reason in importer_abi.h and
// ImportReject.Reason in the registry API.
enum class RejectReason { kParse = 1, kSchema = 2, kRequired = 3, kDuplicateKey = 4, kReference = 5, kValue = 6 };

// "PARSE", "SCHEMA", ...; "VALUE" for anything unknown.
const char* RejectReasonName(RejectReason reason);
// Maps a plugin-reported number; unknown numbers become kValue.
RejectReason RejectReasonFromInt(int value);
// Parses "PARSE", "schema", ... ; false if unknown.
bool ParseRejectReason(std::string_view name, RejectReason* reason);

struct RecordProblem {
  RejectReason reason = RejectReason::kValue;
  std::string field;  // e.g. "role" or "capacity.valid_to"; "" for the whole record
  std::string message;
};

struct DecodeContext {
  std::string authority;  // owning authority (GSS code), set on every record
  std::string source;     // source name, set on every record
  absl::Time now;         // for "not in the future" checks
};

// Decodes and validates. On failure returns false and fills `problems`
// (at least one); `external_id` gets the record's id when it could be read.
bool DecodeRecord(std::string_view json, const DecodeContext& context,
                  registry::v1::Specialist* specialist, std::vector<RecordProblem>* problems,
                  std::string* external_id);

}  // namespace expertise::importer

#endif  // EXPERTISE_SERVICES_IMPORTER_RECORD_DECODER_H_
