#include "services/security/access_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace expertise::security {
namespace {

using K = PrincipalKind;
constexpr char kRegistry[] = "/expertise.registry.v1.RegistryService/";
constexpr char kSharing[] = "/expertise.registry.v1.CapacitySharingService/";

const std::vector<MethodRule>& Rules() {
  static const std::vector<MethodRule>* const rules = [] {
    const std::vector<K> anyone = {K::kAuthority, K::kCoordinator, K::kImporter, K::kAdministrator,
                                   K::kService};
    const std::vector<K> readers = {K::kAuthority, K::kCoordinator, K::kImporter};
    const std::vector<K> writers = {K::kAuthority, K::kCoordinator};
    const std::vector<K> importers = {K::kAuthority, K::kCoordinator, K::kImporter};
    const std::vector<K> auditors = {K::kAuthority, K::kCoordinator, K::kAdministrator};
    static std::vector<std::string> names;  // keeps the string_views alive
    struct Row { const char* method; MethodAccess access; std::vector<K> kinds; };
    const std::vector<Row> rows = {
        {"GetSpecialist", MethodAccess::kReadSpecialists, readers},
        {"ListSpecialists", MethodAccess::kReadSpecialists, readers},
        {"SearchSpecialists", MethodAccess::kReadSpecialists, readers},
        {"CreateSpecialist", MethodAccess::kWriteSpecialists, writers},
        {"UpdateSpecialist", MethodAccess::kWriteSpecialists, writers},
        {"DeleteSpecialist", MethodAccess::kWriteSpecialists, writers},
        {"UpdateCapacity", MethodAccess::kWriteSpecialists, writers},
        {"BatchUpsertSpecialists", MethodAccess::kWriteSpecialists, writers},
        // Figures over every record, hidden ones included (capacity is
        // shared across visibility): council officers only.
        {"GetCapacitySummary", MethodAccess::kAggregates, writers},
        {"ListTaxonomyTerms", MethodAccess::kReference, anyone},
        {"ListLocalAuthorities", MethodAccess::kReference, anyone},
        {"ListRegions", MethodAccess::kReference, anyone},
        {"ImportSpecialists", MethodAccess::kImport, importers},
        {"GetImport", MethodAccess::kImport, importers},
        {"ListImportRejects", MethodAccess::kImport, importers},
        {"GetImportCursor", MethodAccess::kImport, importers},
        {"GetRegionStatus", MethodAccess::kReference, anyone},
        {"ListRegionStatuses", MethodAccess::kReference, anyone},
        {"ListAuditRecords", MethodAccess::kAudit, auditors},
    };
    // Capacity sharing is council business: officers and coordinators.
    // Who may act on which request or commitment is decided per object
    // (the requesting or providing authority, or its region's coordinator).
    const std::vector<const char*> sharing = {
        "CreateSupportRequest", "GetSupportRequest", "ListSupportRequests", "SuggestProviders",
        "OfferSupport", "AcceptOffer", "DeclineOffers", "WithdrawSupportRequest",
        "CompleteSupportRequest", "EscalateSupportRequest", "CreateCapacityCommitment",
        "ConfirmCapacityCommitment", "ReleaseCapacityCommitment", "GetUnmetNeedReport",
        "GetEquityReport", "WatchCapacity"};
    names.reserve(rows.size() + sharing.size() + 4);
    auto* out = new std::vector<MethodRule>();
    for (const Row& row : rows) {
      names.push_back(absl::StrCat(kRegistry, row.method));
      out->push_back({names.back(), row.access, row.kinds});
    }
    for (const char* method : sharing) {
      names.push_back(absl::StrCat(kSharing, method));
      out->push_back({names.back(), MethodAccess::kSharing, writers});
    }
    names.push_back("/grpc.health.v1.Health/Check");
    out->push_back({names.back(), MethodAccess::kProbe, {}});
    names.push_back("/grpc.health.v1.Health/Watch");
    out->push_back({names.back(), MethodAccess::kProbe, {}});
    names.push_back("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
    out->push_back({names.back(), MethodAccess::kReference, anyone});
    return out;
  }();
  return *rules;
}

}  // namespace

const MethodRule* FindMethodRule(absl::string_view full_method) {
  for (const MethodRule& rule : Rules()) {
    if (rule.method == full_method) return &rule;
  }
  return nullptr;
}

std::vector<std::string> RuledMethods() {
  std::vector<std::string> out;
  for (const MethodRule& rule : Rules()) out.emplace_back(rule.method);
  return out;
}

bool ReadScope::Allows(absl::string_view owning_authority,
                       registry::v1::Visibility visibility) const {
  if (nothing) return false;
  if (everything) return true;
  if (!own_authority.empty() && owning_authority == own_authority) return true;
  if (visibility == registry::v1::VISIBILITY_NATIONAL) return national_visible;
  if (visibility == registry::v1::VISIBILITY_REGION) return region_visible;
  return false;
}

absl::Status AccessPolicy::CheckMethod(const Principal* caller,
                                       absl::string_view full_method) const {
  return CheckMethod(caller, FindMethodRule(full_method), full_method);
}

absl::Status AccessPolicy::CheckMethod(const Principal* caller, const MethodRule* rule,
                                       absl::string_view full_method) const {
  if (rule != nullptr && rule->access == MethodAccess::kProbe) return absl::OkStatus();
  if (caller == nullptr) {
    return absl::UnauthenticatedError(
        "no credentials: present a client certificate or an API key (authorization: Bearer ...)");
  }
  if (rule == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("method ", full_method.substr(0, 120), " is not open to any caller"));
  }
  if (std::find(rule->kinds.begin(), rule->kinds.end(), caller->kind) == rule->kinds.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat(caller->ToString(), " may not call ", full_method.substr(full_method.rfind('/') + 1)));
  }
  return absl::OkStatus();
}

std::string AccessPolicy::RegionOf(absl::string_view authority) const {
  const AuthorityInfo* la = reference_.FindAuthority(std::string(authority));
  return la == nullptr ? std::string() : la->region_code;
}

ReadScope AccessPolicy::ScopeFor(const Principal& caller, absl::string_view region_code) const {
  ReadScope scope;
  switch (caller.kind) {
    case PrincipalKind::kAuthority:
      scope.own_authority = caller.code;
      scope.region_visible = caller.region_code == region_code;
      scope.national_visible = true;
      break;
    case PrincipalKind::kCoordinator:
      if (caller.region_code == region_code) {
        scope.everything = true;
      } else {
        scope.national_visible = true;
      }
      break;
    case PrincipalKind::kImporter:
      // An importer reconciles its own authority's records and nothing else.
      scope.own_authority = caller.code;
      break;
    case PrincipalKind::kAdministrator:
    case PrincipalKind::kService:
      scope.nothing = true;
      break;
  }
  return scope;
}

bool AccessPolicy::CanRead(const Principal& caller, const registry::v1::Specialist& record) const {
  return ScopeFor(caller, RegionOf(record.owning_authority()))
      .Allows(record.owning_authority(), record.visibility());
}

absl::Status AccessPolicy::CheckWrite(const Principal& caller,
                                      absl::string_view owning_authority) const {
  switch (caller.kind) {
    case PrincipalKind::kAuthority:
      if (caller.code == owning_authority) return absl::OkStatus();
      return absl::PermissionDeniedError(absl::StrCat(
          caller.ToString(), " may change only its own records, not those of ", owning_authority));
    case PrincipalKind::kCoordinator:
      if (!owning_authority.empty() && RegionOf(owning_authority) == caller.region_code) {
        return absl::OkStatus();
      }
      return absl::PermissionDeniedError(absl::StrCat(
          caller.ToString(), " acts only for authorities of its region, not ", owning_authority));
    default:
      return absl::PermissionDeniedError(
          absl::StrCat(caller.ToString(), " may not change specialist records"));
  }
}

absl::Status AccessPolicy::CheckImport(const Principal& caller, absl::string_view authority) const {
  if (caller.kind == PrincipalKind::kImporter) {
    if (caller.code == authority) return absl::OkStatus();
    return absl::PermissionDeniedError(absl::StrCat(
        caller.ToString(), " imports only for its own authority, not ", authority));
  }
  return CheckWrite(caller, authority);
}

bool AccessPolicy::SeesContactDetails(const Principal& caller) const {
  return caller.kind == PrincipalKind::kAuthority || caller.kind == PrincipalKind::kCoordinator;
}

void AccessPolicy::Minimise(const Principal& caller, registry::v1::Specialist* record) const {
  if (!SeesContactDetails(caller)) record->clear_work_contact();
}

absl::Status AccessPolicy::CheckAuditRead(const Principal& caller, absl::string_view region_code,
                                          std::vector<std::string>* actors) const {
  actors->clear();
  switch (caller.kind) {
    case PrincipalKind::kAdministrator:
      return absl::OkStatus();
    case PrincipalKind::kCoordinator:
      if (caller.region_code == region_code) return absl::OkStatus();
      return absl::PermissionDeniedError(
          absl::StrCat(caller.ToString(), " reads only its own region's audit trail"));
    case PrincipalKind::kAuthority:
      actors->push_back(caller.ToString());
      actors->push_back(absl::StrCat("importer/", caller.code));
      return absl::OkStatus();
    default:
      return absl::PermissionDeniedError(
          absl::StrCat(caller.ToString(), " may not read the audit trail"));
  }
}

}  // namespace expertise::security
