#ifndef EXPERTISE_SERVICES_SECURITY_PRINCIPAL_H_
#define EXPERTISE_SERVICES_SECURITY_PRINCIPAL_H_

// Who is calling. Every call has exactly one principal, derived per call from
// the mTLS client certificate (its SPIFFE id) or a bearer API key.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/reference/reference_data.h"

namespace expertise::security {

enum class PrincipalKind {
  kAuthority,      // a local authority's officers: "authority/E09000033"
  kCoordinator,    // a regional coordinator: "coordinator/E12000007"
  kImporter,       // an importer acting for one authority: "importer/E09000033"
  kAdministrator,  // manages keys, reads the audit trail: "admin/<name>"
  kService,        // a trusted service (the directory): "service/<name>"
};

struct Principal {
  PrincipalKind kind = PrincipalKind::kAuthority;
  // GSS code (authority, importer), region code E12... (coordinator), or a
  // name (administrator, service).
  std::string code;
  // The region the principal belongs to (authority, importer, coordinator);
  // empty for administrators and services.
  std::string region_code;

  // "authority/E09000033": the form used in certificates, key files and the
  // audit trail.
  std::string ToString() const;
  bool operator==(const Principal& other) const {
    return kind == other.kind && code == other.code;
  }
};

absl::string_view KindName(PrincipalKind kind);

// Parses "kind/code". Authority and importer codes must be known GSS codes
// (former codes map to the current one), coordinator codes a region's ONS
// code or id; names are 1 to 64 of [a-z0-9-]. INVALID_ARGUMENT otherwise.
absl::StatusOr<Principal> ParsePrincipal(absl::string_view text, const ReferenceData& reference);

// Trust domain of the SPIFFE ids in client certificates.
inline constexpr char kDefaultTrustDomain[] = "expertise.local";

// Parses a SPIFFE id "spiffe://<trust_domain>/<kind>/<code>".
absl::StatusOr<Principal> ParseSpiffeId(absl::string_view spiffe_id, absl::string_view trust_domain,
                                        const ReferenceData& reference);

}  // namespace expertise::security

#endif  // EXPERTISE_SERVICES_SECURITY_PRINCIPAL_H_
