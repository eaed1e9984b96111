#ifndef EXPERTISE_SERVICES_SAMPLEDATA_SAMPLE_FORMATS_H_
#define EXPERTISE_SERVICES_SAMPLEDATA_SAMPLE_FORMATS_H_

// Writes generated specialists (sample_data.h) in the source formats the
// importer plugins read, so demos and tests can feed the same invented people
// through `expertctl upsert` (JSON lines) or `expertctl import` (csv,
// openreferral, fhir). The plugin configs that read these files are in
// deploy/local/importers/; docs/sample-data.md describes each format.
//
// No format ever carries a date of birth, gender or home address: the
// generator has none, and the writers add none.

#include <optional>
#include <ostream>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "expertise/registry/v1/specialist.pb.h"
#include "services/common/reference/reference_data.h"
#include "services/sampledata/sample_data.h"

namespace expertise::sampledata {

namespace v1 = ::expertise::registry::v1;

enum class SampleFormat {
  kJsonLines,     // one registry v1 Specialist per line (expertctl upsert)
  kCsv,           // HR export with the csv plugin's canonical headers
  kOpenReferral,  // HSDS 3.0 paged service list, one service per specialist
  kFhir,          // FHIR R4 Bundle: Practitioner, PractitionerRole, Organization, Location
};

// "jsonl", "csv", "openreferral" or "fhir"; nullopt for anything else.
std::optional<SampleFormat> ParseSampleFormat(std::string_view name);
std::string_view SampleFormatName(SampleFormat format);

// The first `options.count` specialists owned by `authority` (a GSS code of
// an authority of `region`) in the sequence GenerateSpecialists gives for
// the region: the same people, with the same external ids, as that
// authority's lines of a long enough region run. InvalidArgument when the
// authority is unknown or not in the region.
absl::StatusOr<std::vector<v1::Specialist>> GenerateAuthoritySpecialists(
    const RegionInfo& region, std::string_view authority, const SampleOptions& options);

// Writes `specialists` to `out` in `format`. Fails only if a record cannot be
// written (JSON lines) or the stream fails.
absl::Status WriteSamples(SampleFormat format, const std::vector<v1::Specialist>& specialists,
                          std::ostream& out);

// Coding systems and extension base used by the FHIR writer. The local role
// and specialism systems are the fhir plugin's defaults; the external id
// system is what deploy/local/importers/fhir.json names as
// external_id_system, so records keep the generator's external ids.
inline constexpr char kFhirLocalRoleSystem[] =
    "https://expertise-directory.example/CodeSystem/role";
inline constexpr char kFhirLocalSpecialismSystem[] =
    "https://expertise-directory.example/CodeSystem/specialism";
inline constexpr char kFhirExtensionBase[] =
    "https://expertise-directory.example/StructureDefinition/";
inline constexpr char kSampleExternalIdSystem[] =
    "https://expertise-directory.example/NamingSystem/sample-external-id";

}  // namespace expertise::sampledata

#endif  // EXPERTISE_SERVICES_SAMPLEDATA_SAMPLE_FORMATS_H_
