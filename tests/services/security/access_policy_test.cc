// The access policy, gRPC-free: the function-level table against the
// service descriptors (a method with no rule fails here: deny by default is
// not enough, every method must be decided), and the object-level rules as
// tables of (caller, record) -> allowed.

#include "services/security/access_policy.h"

#include <set>

#include <gtest/gtest.h>

#include "expertise/registry/v1/registry_service.pb.h"
#include "expertise/registry/v1/sharing_service.pb.h"
#include "google/protobuf/descriptor.h"
#include "services/security/principal.h"

namespace expertise::security {
namespace {

namespace rv1 = ::expertise::registry::v1;

Principal P(const std::string& text) {
  absl::StatusOr<Principal> p = ParsePrincipal(text, ReferenceData::Get());
  EXPECT_TRUE(p.ok()) << text << ": " << p.status();
  return p.ok() ? *p : Principal{};
}

// County Durham and Newcastle are in the North East (E12000001); Leeds in
// Yorkshire and the Humber (E12000003).
constexpr char kDurham[] = "E06000047";
constexpr char kNewcastle[] = "E08000021";
constexpr char kLeeds[] = "E08000035";

TEST(AccessPolicyTest, EveryRegistryAndSharingMethodHasARule) {
  std::set<std::string> ruled;
  for (const std::string& m : RuledMethods()) ruled.insert(m);
  for (const google::protobuf::ServiceDescriptor* service :
       {rv1::ListAuditRecordsRequest::descriptor()->file()->FindServiceByName("RegistryService"),
        rv1::AcceptOfferRequest::descriptor()->file()->FindServiceByName("CapacitySharingService")}) {
    ASSERT_NE(service, nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string full = "/" + service->full_name() + "/" + service->method(i)->name();
      EXPECT_TRUE(ruled.count(full)) << full << " has no access rule: add it to access_policy.cc";
    }
  }
}

TEST(AccessPolicyTest, CapacitySharingIsForOfficersAndCoordinators) {
  AccessPolicy policy(ReferenceData::Get());
  const std::string method = "/expertise.registry.v1.CapacitySharingService/AcceptOffer";
  for (const char* caller : {"authority/E06000047", "coordinator/E12000001"}) {
    const Principal p = P(caller);
    EXPECT_TRUE(policy.CheckMethod(&p, method).ok()) << caller;
  }
  for (const char* caller : {"importer/E06000047", "admin/ops", "service/directory"}) {
    const Principal p = P(caller);
    EXPECT_EQ(policy.CheckMethod(&p, method).code(), absl::StatusCode::kPermissionDenied) << caller;
  }
}

TEST(AccessPolicyTest, UnknownMethodsAreDenied) {
  AccessPolicy policy(ReferenceData::Get());
  const Principal admin = P("admin/ops");
  EXPECT_EQ(policy.CheckMethod(&admin, "/expertise.registry.v1.RegistryService/DropEverything").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy.CheckMethod(nullptr, "/expertise.registry.v1.RegistryService/GetSpecialist").code(),
            absl::StatusCode::kUnauthenticated);
  // Health probes need no caller (the TLS handshake already checked the peer).
  EXPECT_TRUE(policy.CheckMethod(nullptr, "/grpc.health.v1.Health/Check").ok());
}

struct MethodCase {
  std::string caller;
  std::string method;
  bool allowed;
};

class MethodTableTest : public ::testing::TestWithParam<MethodCase> {};

TEST_P(MethodTableTest, Decides) {
  AccessPolicy policy(ReferenceData::Get());
  const Principal caller = P(GetParam().caller);
  absl::Status status =
      policy.CheckMethod(&caller, "/expertise.registry.v1.RegistryService/" + GetParam().method);
  EXPECT_EQ(status.ok(), GetParam().allowed) << status;
  if (!status.ok()) {
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, MethodTableTest,
    ::testing::Values(
        MethodCase{"authority/E06000047", "SearchSpecialists", true},
        MethodCase{"authority/E06000047", "CreateSpecialist", true},
        MethodCase{"authority/E06000047", "ImportSpecialists", true},
        MethodCase{"authority/E06000047", "ListAuditRecords", true},
        MethodCase{"coordinator/E12000001", "UpdateCapacity", true},
        MethodCase{"importer/E06000047", "ImportSpecialists", true},
        MethodCase{"importer/E06000047", "GetImportCursor", true},
        MethodCase{"importer/E06000047", "CreateSpecialist", false},
        MethodCase{"importer/E06000047", "ListAuditRecords", false},
        MethodCase{"admin/ops", "SearchSpecialists", false},
        MethodCase{"admin/ops", "UpdateSpecialist", false},
        MethodCase{"admin/ops", "ListAuditRecords", true},
        MethodCase{"admin/ops", "GetCapacitySummary", false},
        MethodCase{"importer/E06000047", "GetCapacitySummary", false},
        MethodCase{"coordinator/E12000003", "GetCapacitySummary", true},
        MethodCase{"service/directory", "SearchSpecialists", false},
        MethodCase{"service/directory", "DeleteSpecialist", false},
        MethodCase{"service/directory", "ListRegionStatuses", true}),
    [](const auto& test) {
      std::string name = test.param.caller + "_" + test.param.method;
      for (char& c : name) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

struct ReadCase {
  std::string caller;
  std::string owner;
  rv1::Visibility visibility;
  bool readable;
};

class ReadRuleTest : public ::testing::TestWithParam<ReadCase> {};

TEST_P(ReadRuleTest, Decides) {
  AccessPolicy policy(ReferenceData::Get());
  rv1::Specialist record;
  record.set_owning_authority(GetParam().owner);
  record.set_visibility(GetParam().visibility);
  EXPECT_EQ(policy.CanRead(P(GetParam().caller), record), GetParam().readable);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ReadRuleTest,
    ::testing::Values(
        // An authority sees its own records whatever their visibility...
        ReadCase{"authority/E06000047", kDurham, rv1::VISIBILITY_OWN_AUTHORITY, true},
        // ...its region's REGION and NATIONAL records...
        ReadCase{"authority/E06000047", kNewcastle, rv1::VISIBILITY_OWN_AUTHORITY, false},
        ReadCase{"authority/E06000047", kNewcastle, rv1::VISIBILITY_REGION, true},
        ReadCase{"authority/E06000047", kNewcastle, rv1::VISIBILITY_NATIONAL, true},
        // ...and elsewhere only NATIONAL ones.
        ReadCase{"authority/E06000047", kLeeds, rv1::VISIBILITY_REGION, false},
        ReadCase{"authority/E06000047", kLeeds, rv1::VISIBILITY_NATIONAL, true},
        // A coordinator sees everything in its region, NATIONAL elsewhere.
        ReadCase{"coordinator/E12000001", kNewcastle, rv1::VISIBILITY_OWN_AUTHORITY, true},
        ReadCase{"coordinator/E12000001", kLeeds, rv1::VISIBILITY_REGION, false},
        ReadCase{"coordinator/E12000001", kLeeds, rv1::VISIBILITY_NATIONAL, true},
        // An importer sees only its own authority's records.
        ReadCase{"importer/E06000047", kDurham, rv1::VISIBILITY_OWN_AUTHORITY, true},
        ReadCase{"importer/E06000047", kNewcastle, rv1::VISIBILITY_NATIONAL, false},
        // Administrators and services read no specialist.
        ReadCase{"admin/ops", kDurham, rv1::VISIBILITY_NATIONAL, false},
        ReadCase{"service/directory", kDurham, rv1::VISIBILITY_NATIONAL, false}));

struct WriteCase {
  std::string caller;
  std::string owner;
  bool write;   // CheckWrite
  bool import;  // CheckImport
};

class WriteRuleTest : public ::testing::TestWithParam<WriteCase> {};

TEST_P(WriteRuleTest, Decides) {
  AccessPolicy policy(ReferenceData::Get());
  const Principal caller = P(GetParam().caller);
  absl::Status write = policy.CheckWrite(caller, GetParam().owner);
  absl::Status import = policy.CheckImport(caller, GetParam().owner);
  EXPECT_EQ(write.ok(), GetParam().write) << write;
  EXPECT_EQ(import.ok(), GetParam().import) << import;
  if (!write.ok()) {
    EXPECT_EQ(write.code(), absl::StatusCode::kPermissionDenied);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, WriteRuleTest,
    ::testing::Values(WriteCase{"authority/E06000047", kDurham, true, true},
                      WriteCase{"authority/E06000047", kNewcastle, false, false},
                      WriteCase{"coordinator/E12000001", kNewcastle, true, true},
                      WriteCase{"coordinator/E12000001", kLeeds, false, false},
                      WriteCase{"importer/E06000047", kDurham, false, true},
                      WriteCase{"importer/E06000047", kNewcastle, false, false},
                      WriteCase{"admin/ops", kDurham, false, false},
                      WriteCase{"service/directory", kDurham, false, false}));

TEST(AccessPolicyTest, ContactDetailsOnlyForAuthoritiesAndCoordinators) {
  AccessPolicy policy(ReferenceData::Get());
  for (const auto& [caller, sees] : std::vector<std::pair<std::string, bool>>{
           {"authority/E06000047", true},
           {"coordinator/E12000001", true},
           {"importer/E06000047", false},
           {"admin/ops", false},
           {"service/directory", false}}) {
    rv1::Specialist record;
    record.mutable_work_contact()->set_email("someone@example.org");
    policy.Minimise(P(caller), &record);
    EXPECT_EQ(record.has_work_contact(), sees) << caller;
  }
}

TEST(AccessPolicyTest, AuditReadScope) {
  AccessPolicy policy(ReferenceData::Get());
  std::vector<std::string> actors;
  EXPECT_TRUE(policy.CheckAuditRead(P("admin/ops"), "E12000001", &actors).ok());
  EXPECT_TRUE(actors.empty());
  EXPECT_TRUE(policy.CheckAuditRead(P("coordinator/E12000001"), "E12000001", &actors).ok());
  EXPECT_EQ(policy.CheckAuditRead(P("coordinator/E12000003"), "E12000001", &actors).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(policy.CheckAuditRead(P("authority/E06000047"), "E12000001", &actors).ok());
  EXPECT_EQ(actors, (std::vector<std::string>{"authority/E06000047", "importer/E06000047"}));
}

struct PrincipalCase {
  std::string text;
  bool ok;
  std::string canonical;
};

class PrincipalParseTest : public ::testing::TestWithParam<PrincipalCase> {};

TEST_P(PrincipalParseTest, Parses) {
  absl::StatusOr<Principal> p = ParsePrincipal(GetParam().text, ReferenceData::Get());
  EXPECT_EQ(p.ok(), GetParam().ok) << p.status();
  if (p.ok()) {
    EXPECT_EQ(p->ToString(), GetParam().canonical);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, PrincipalParseTest,
    ::testing::Values(PrincipalCase{"authority/E06000047", true, "authority/E06000047"},
                      PrincipalCase{"coordinator/north-east", true, "coordinator/E12000001"},
                      PrincipalCase{"importer/E08000021", true, "importer/E08000021"},
                      PrincipalCase{"admin/ops-1", true, "admin/ops-1"},
                      PrincipalCase{"service/directory", true, "service/directory"},
                      PrincipalCase{"authority/E99999999", false, ""},
                      PrincipalCase{"coordinator/atlantis", false, ""},
                      PrincipalCase{"admin/Ops", false, ""},
                      PrincipalCase{"root/x", false, ""},
                      PrincipalCase{"authority", false, ""},
                      PrincipalCase{"", false, ""}));

TEST(PrincipalTest, SpiffeIds) {
  const ReferenceData& ref = ReferenceData::Get();
  EXPECT_EQ(ParseSpiffeId("spiffe://expertise.local/authority/E06000047", kDefaultTrustDomain, ref)
                ->ToString(),
            "authority/E06000047");
  EXPECT_FALSE(ParseSpiffeId("spiffe://evil.example/authority/E06000047", kDefaultTrustDomain, ref).ok());
  EXPECT_FALSE(ParseSpiffeId("https://expertise.local/authority/E06000047", kDefaultTrustDomain, ref).ok());
  // The trust domain must be the whole host, not a prefix of it.
  EXPECT_FALSE(
      ParseSpiffeId("spiffe://expertise.local.evil/authority/E06000047", kDefaultTrustDomain, ref).ok());
}

}  // namespace
}  // namespace expertise::security
