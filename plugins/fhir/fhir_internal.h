// Copyright expertise-directory authors.
//
// Internals of the `fhir` importer shared by its files: the reference data,
// JSON helpers, the config reader and the PractitionerRole mapper.
#ifndef EXPERTISE_PLUGINS_FHIR_FHIR_INTERNAL_H_
#define EXPERTISE_PLUGINS_FHIR_FHIR_INTERNAL_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expertise/importer_plugin.hpp"
#include "expertise/importer_support.hpp"
#include "expertise/taxonomy_codes.hpp"
#include "fhir_importer.h"

namespace expertise::plugins::fhir_internal {

using importer::SpecialistRecord;
using nlohmann::json;
using Options = FhirImporter::Options;
using CodeMapping = FhirImporter::CodeMapping;

// ---------------------------------------------------------------------------
// Reference data: the taxonomy's codes come from the one taxonomy source
// (generated into expertise/taxonomy_codes.hpp at build time).

using importer::taxonomy::Contains;
using importer::taxonomy::kRoleCodes;
using importer::taxonomy::kSettingCodes;
using importer::taxonomy::kSpecialismCodes;

struct SnomedRole {
  std::string_view snomed_code;
  std::string_view role;
};

// SNOMED CT occupation codes -> role codes. The first block is taxonomy.json's
// `snomed_ct` codes; the second maps the related codes of the role-code table
// in the data formats notes (formats.md, section 6) to the role of their
// row, the nearest role we have (role_map can override any of them).
constexpr SnomedRole kSnomedRoles[] = {
    {"159026005", "speech-language-therapist"},
    {"80546007", "occupational-therapist"},
    {"36682004", "physiotherapist"},
    {"309418004", "audiologist"},
    {"310170009", "paediatric-audiologist"},
    {"309419007", "hearing-therapist"},
    {"159027001", "orthoptist"},
    {"310192008", "educational-psychologist"},
    {"310191001", "clinical-psychologist"},
    {"224590002", "play-therapist"},
    {"224583007", "behaviour-therapist"},
    {"224625007", "bsl-interpreter"},
    // Related codes.
    {"224593000", "speech-language-therapist"},  // community-based SLT
    {"309409001", "speech-language-therapist"},  // hospital-based SLT
    {"224594006", "speech-language-therapist"},  // SLT assistant
    {"59944000", "educational-psychologist"},    // psychologist
    {"309422009", "occupational-therapist"},     // community-based OT
    {"224589006", "physiotherapist"},            // community-based physiotherapist
};

constexpr std::string_view kSnomedSystem = "http://snomed.info/sct";
constexpr std::string_view kBcp47System = "urn:ietf:bcp:47";

// Extensions this importer defines (documented in docs/importers/fhir.md).
constexpr std::string_view kSettingExtension =
    "https://expertise-directory.example/StructureDefinition/setting";
constexpr std::string_view kAgeRangeExtension =
    "https://expertise-directory.example/StructureDefinition/age-range";
constexpr std::string_view kCommittedHoursExtension =
    "https://expertise-directory.example/StructureDefinition/committed-hours";

constexpr std::array<std::string_view, 7> kDaysOfWeek = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

// An availableTime entry with allDay counts as a working day, not 24 hours.
constexpr double kAllDayHours = 7.5;
constexpr double kMaxHoursPerWeek = 168;
constexpr int kMaxAge = 25;

// FHIR resources nest about ten levels deep inside a Bundle; anything far
// deeper is hostile or broken, and refusing it bounds parser memory.
constexpr int kMaxNestingDepth = 64;

// Bounds the per-type counters of ignored resources: resourceType is input.
constexpr size_t kMaxIgnoredTypesTracked = 32;
constexpr size_t kMaxRawExcerptBytes = 512;


// ---------------------------------------------------------------------------
// JSON helpers.

// Returns obj[key] when obj is an object holding key, else nullptr.
const json* Member(const json& obj, std::string_view key);

// Returns obj[key] when it is a string, else "".
std::string StringMember(const json& obj, std::string_view key);

// Returns obj[key] when it is an array, else an empty array.
const json& ArrayMember(const json& obj, std::string_view key);

// Returns obj[key] == false (absent or non-boolean counts as active).
bool IsInactive(const json& obj);

// ---------------------------------------------------------------------------
// Configuration and mapping.

// Checks `config` (keys not given take their declared defaults), reports
// every bad key with host.ConfigError and returns nullptr, or returns the
// options.
std::unique_ptr<Options> ReadOptions(const importer::Config& config, importer::Host& host);

// Why a PractitionerRole could not become a record.
struct RoleError {
  expertise_reject_reason reason;
  std::string message;
};

// Finds the resource `reference` (a FHIR Reference in `role`) points to, of
// resource type `type`; nullptr, with `error` saying why, when there is none.
using ResolveReference = std::function<const json*(
    const json& reference, const std::string& type, const json& role, std::string& error)>;

// Fills every field of `record` but the external id and last verify time
// from a PractitionerRole and its Practitioner, or says why it cannot.
std::optional<RoleError> FillRecord(const Options& options, const ResolveReference& resolve,
                                    const json& role, const json& practitioner,
                                    SpecialistRecord& record);

}  // namespace expertise::plugins::fhir_internal

#endif  // EXPERTISE_PLUGINS_FHIR_FHIR_INTERNAL_H_
