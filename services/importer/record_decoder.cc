#include "services/importer/record_decoder.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "expertise/importer/v1/record.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/errors.h"
#include "services/common/utf8.h"
#include "services/registry/validation.h"

namespace expertise::importer {
namespace {

RejectReason ReasonForViolation(const std::string& description) {
  if (absl::StrContains(description, "is required") || absl::StrContains(description, "at least one")) {
    return RejectReason::kRequired;
  }
  if (absl::StrContains(description, "unknown") || absl::StrContains(description, "not a known")) {
    return RejectReason::kReference;
  }
  return RejectReason::kValue;
}

// snake_case registry paths read better than the proto field numbers the
// JSON parser would otherwise report.
std::string FieldOf(const std::string& path) {
  constexpr absl::string_view kPrefix = "record.";
  return absl::StartsWith(path, kPrefix) ? path.substr(kPrefix.size()) : path;
}

}  // namespace

const char* RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kParse: return "PARSE";
    case RejectReason::kSchema: return "SCHEMA";
    case RejectReason::kRequired: return "REQUIRED";
    case RejectReason::kDuplicateKey: return "DUPLICATE_KEY";
    case RejectReason::kReference: return "REFERENCE";
    case RejectReason::kValue: return "VALUE";
  }
  return "VALUE";
}

RejectReason RejectReasonFromInt(int value) {
  return (value >= 1 && value <= 6) ? static_cast<RejectReason>(value) : RejectReason::kValue;
}

bool ParseRejectReason(std::string_view name, RejectReason* reason) {
  const std::string upper = absl::AsciiStrToUpper(absl::string_view(name.data(), name.size()));
  for (int i = 1; i <= 6; ++i) {
    if (upper == RejectReasonName(static_cast<RejectReason>(i))) {
      *reason = static_cast<RejectReason>(i);
      return true;
    }
  }
  return false;
}

bool DecodeRecord(std::string_view json, const DecodeContext& context,
                  registry::v1::Specialist* specialist, std::vector<RecordProblem>* problems,
                  std::string* external_id) {
  problems->clear();
  if (json.empty()) {
    problems->push_back({RejectReason::kParse, "", "the plugin emitted an empty record"});
    return false;
  }
  if (ValidUtf8(json) != json) {
    problems->push_back({RejectReason::kParse, "", "the record is not valid UTF-8"});
    return false;
  }
  v1::SpecialistRecord record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &record, options);
  if (!parsed.ok()) {
    // Not JSON at all is PARSE; JSON of the wrong shape (unknown field,
    // wrong type) is SCHEMA.
    const bool looks_like_object = !json.empty() && json.find('{') != std::string_view::npos;
    const std::string message(parsed.message().data(), parsed.message().size());
    problems->push_back({looks_like_object && !absl::StrContains(message, "Unexpected end")
                             ? RejectReason::kSchema
                             : RejectReason::kParse,
                         "", absl::StrCat("not a SpecialistRecord: ", Utf8Prefix(message, 300))});
    return false;
  }
  *external_id = Utf8Prefix(record.external_id(), 128);
  if (record.capacity().available_hours_per_week() != 0 || record.capacity().has_update_time()) {
    problems->push_back({RejectReason::kSchema, "capacity",
                         "available_hours_per_week and update_time are output only; do not set them"});
  }

  specialist->Clear();
  specialist->set_owning_authority(context.authority);
  specialist->set_source(context.source);
  specialist->set_external_id(record.external_id());
  specialist->set_display_name(record.display_name());
  specialist->set_role(record.role());
  *specialist->mutable_specialisms() = record.specialisms();
  *specialist->mutable_settings() = record.settings();
  if (record.has_age_range()) *specialist->mutable_age_range() = record.age_range();
  *specialist->mutable_languages() = record.languages();
  *specialist->mutable_delivery_modes() = record.delivery_modes();
  if (record.has_base_location()) *specialist->mutable_base_location() = record.base_location();
  specialist->set_travel_radius_km(record.travel_radius_km());
  *specialist->mutable_covered_authorities() = record.covered_authorities();
  if (record.has_registration()) *specialist->mutable_registration() = record.registration();
  specialist->set_employer_type(record.employer_type());
  if (record.has_work_contact()) *specialist->mutable_work_contact() = record.work_contact();
  specialist->set_visibility(record.visibility());
  if (record.has_last_verify_time()) *specialist->mutable_last_verify_time() = record.last_verify_time();
  if (record.has_capacity()) *specialist->mutable_capacity() = record.capacity();

  const ReferenceData& reference = ReferenceData::Get();
  const AuthorityInfo* authority = reference.FindAuthority(context.authority);
  if (authority == nullptr) {
    problems->push_back({RejectReason::kReference, "owning_authority",
                         absl::StrCat("'", context.authority, "' is not a known GSS code")});
    return false;
  }
  const RegionInfo* region = reference.FindRegion(authority->region_code);
  FieldViolations violations;
  registry::ValidateSpecialist(*specialist, *region, reference, context.now, "record.", &violations);
  if (record.external_id().empty()) {
    // ValidateSpecialist may not name it first; the key is what users look for.
    bool named = false;
    for (const auto& v : violations.violations()) named |= FieldOf(v.field()) == "external_id";
    if (!named) problems->push_back({RejectReason::kRequired, "external_id", "is required"});
  }
  for (const auto& v : violations.violations()) {
    problems->push_back({ReasonForViolation(v.description()), FieldOf(v.field()), v.description()});
  }
  return problems->empty();
}

}  // namespace expertise::importer
