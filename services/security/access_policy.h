#ifndef EXPERTISE_SERVICES_SECURITY_ACCESS_POLICY_H_
#define EXPERTISE_SERVICES_SECURITY_ACCESS_POLICY_H_

// Who may do what: the function-level table (which kinds of caller may call
// a method at all) and the object-level rules (which specialists a caller may
// see, change or import, and whether contact details are shown). gRPC-free:
// the interceptor applies the table, the registry the object rules.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "expertise/registry/v1/specialist.pb.h"
#include "services/common/reference/reference_data.h"
#include "services/security/principal.h"

namespace expertise::security {

// What a method touches, which decides the object-level checks it needs.
enum class MethodAccess {
  kProbe,             // health checks: no caller needed (the TLS handshake already checked the peer)
  kReference,         // taxonomy, authorities, regions, region status, reflection: any caller
  kReadSpecialists,   // get, list, search: results limited to what the caller may see
  kWriteSpecialists,  // create, update, delete, capacity, batch upsert: own records only
  kImport,            // imports and their results: own authority only
  kAggregates,        // capacity summaries: figures, no personal data
  kAudit,             // the audit trail
  kSharing,           // capacity sharing: requests, offers, commitments, reports, watch
};

struct MethodRule {
  absl::string_view method;  // "/package.Service/Method"
  MethodAccess access;
  std::vector<PrincipalKind> kinds;  // who may call it (services only on behalf of a caller)
};

// The rule for a fully qualified method, or nullptr: a method with no rule
// is denied (deny by default).
const MethodRule* FindMethodRule(absl::string_view full_method);
// Every method that has a rule, for tests that compare with the descriptors.
std::vector<std::string> RuledMethods();

// Which records of one region a caller may read. Built per call.
struct ReadScope {
  bool everything = false;         // the region's coordinator
  std::string own_authority;       // the caller's authority (GSS), or empty
  bool region_visible = false;     // records with REGION visibility
  bool national_visible = false;   // records with NATIONAL visibility
  bool nothing = false;            // callers who may read no specialist

  bool Allows(absl::string_view owning_authority, registry::v1::Visibility visibility) const;
};

class AccessPolicy {
 public:
  explicit AccessPolicy(const ReferenceData& reference) : reference_(reference) {}

  // Function level. `caller` is null for an unauthenticated call:
  // UNAUTHENTICATED unless the method is a probe; PERMISSION_DENIED when the
  // caller's kind may not call the method or the method has no rule.
  absl::Status CheckMethod(const Principal* caller, absl::string_view full_method) const;
  // The same with the method's rule already looked up (null: none).
  absl::Status CheckMethod(const Principal* caller, const MethodRule* rule,
                           absl::string_view full_method) const;

  // Object level, for records of the registry of `region_code`.
  ReadScope ScopeFor(const Principal& caller, absl::string_view region_code) const;
  bool CanRead(const Principal& caller, const registry::v1::Specialist& record) const;
  // May `caller` create, change or delete records owned by `owning_authority`?
  // PERMISSION_DENIED saying why, or OK.
  absl::Status CheckWrite(const Principal& caller, absl::string_view owning_authority) const;
  // May `caller` import (and read the imports of) `authority`'s records?
  absl::Status CheckImport(const Principal& caller, absl::string_view authority) const;
  // Work contact details go to authorities and coordinators only.
  bool SeesContactDetails(const Principal& caller) const;
  // Strips what `caller` may not see from a record about to be returned.
  void Minimise(const Principal& caller, registry::v1::Specialist* record) const;
  // May `caller` read audit records of the registry of `region_code`, and
  // whose? Administrators and the region's coordinator read everything
  // there; an authority reads what it and its importer did. Returns the
  // actors to restrict to (empty = all), or PERMISSION_DENIED.
  absl::Status CheckAuditRead(const Principal& caller, absl::string_view region_code,
                              std::vector<std::string>* actors) const;

 private:
  std::string RegionOf(absl::string_view authority) const;

  const ReferenceData& reference_;
};

}  // namespace expertise::security

#endif  // EXPERTISE_SERVICES_SECURITY_ACCESS_POLICY_H_
