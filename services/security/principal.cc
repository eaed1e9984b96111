#include "services/security/principal.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace expertise::security {
namespace {

bool IsName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace

absl::string_view KindName(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::kAuthority: return "authority";
    case PrincipalKind::kCoordinator: return "coordinator";
    case PrincipalKind::kImporter: return "importer";
    case PrincipalKind::kAdministrator: return "admin";
    case PrincipalKind::kService: return "service";
  }
  return "unknown";
}

std::string Principal::ToString() const { return absl::StrCat(KindName(kind), "/", code); }

absl::StatusOr<Principal> ParsePrincipal(absl::string_view text, const ReferenceData& reference) {
  const size_t slash = text.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("principal '", text.substr(0, 80), "' is not kind/code"));
  }
  const absl::string_view kind = text.substr(0, slash);
  const absl::string_view code = text.substr(slash + 1);
  Principal p;
  if (kind == "authority" || kind == "importer") {
    p.kind = kind == "authority" ? PrincipalKind::kAuthority : PrincipalKind::kImporter;
    const AuthorityInfo* la = reference.FindAuthority(std::string(code));
    if (la == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("principal '", text.substr(0, 80), "': unknown local authority code"));
    }
    p.code = la->code;
    p.region_code = la->region_code;
    return p;
  }
  if (kind == "coordinator") {
    p.kind = PrincipalKind::kCoordinator;
    const RegionInfo* region = reference.FindRegion(std::string(code));
    if (region == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("principal '", text.substr(0, 80), "': unknown region"));
    }
    p.code = region->code;
    p.region_code = region->code;
    return p;
  }
  if (kind == "admin" || kind == "service") {
    p.kind = kind == "admin" ? PrincipalKind::kAdministrator : PrincipalKind::kService;
    if (!IsName(code)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "principal '", text.substr(0, 80), "': the name must be 1 to 64 of [a-z0-9-]"));
    }
    p.code = std::string(code);
    return p;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("principal '", text.substr(0, 80),
                   "': kind must be authority, coordinator, importer, admin or service"));
}

absl::StatusOr<Principal> ParseSpiffeId(absl::string_view spiffe_id, absl::string_view trust_domain,
                                        const ReferenceData& reference) {
  absl::string_view rest = spiffe_id;
  if (!absl::ConsumePrefix(&rest, "spiffe://") || !absl::ConsumePrefix(&rest, trust_domain) ||
      !absl::ConsumePrefix(&rest, "/")) {
    return absl::InvalidArgumentError(absl::StrCat("SPIFFE id '", spiffe_id.substr(0, 120),
                                                   "' is not in trust domain ", trust_domain));
  }
  return ParsePrincipal(rest, reference);
}

}  // namespace expertise::security
