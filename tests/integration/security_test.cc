// Security of the real binaries: the cross-authority authorisation matrix
// (every caller kind x every RPC x own / other / other-region / missing
// object, on a registry directly and through the directory), bleed-over
// between calls on one connection, the audit trail (records per change,
// fail-closed when it cannot be written, hash chain), erasure, and limits.
// TLS and mTLS are in tls_test.cc.

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/common/reference/reference_data.h"
#include "services/security/api_keys.h"
#include "services/security/audit_log.h"
#include "tests/testutil/credentials.h"
#include "tests/testutil/registry_process.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/temp_dir.h"

namespace expertise {
namespace {

namespace v1 = registry::v1;
using ::testing::HasSubstr;

// North East: County Durham (A) and Newcastle (B). Yorkshire: Leeds (C).
constexpr char kA[] = "E06000047";
constexpr char kB[] = "E08000021";
constexpr char kC[] = "E08000035";

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

std::string RegionIdOf(const std::string& authority) {
  const AuthorityInfo* la = ReferenceData::Get().FindAuthority(authority);
  return ReferenceData::Get().FindRegion(la->region_code)->id;
}

v1::Specialist RecordOf(const std::string& authority, const std::string& external_id,
                        v1::Visibility visibility) {
  v1::Specialist s = testing::ValidSpecialist(external_id, authority);
  s.clear_covered_authorities();
  s.clear_base_location();  // the authority's centre
  s.set_visibility(visibility);
  return s;
}

// What a caller is, for the test's own oracle (written independently of
// services/security/access_policy.cc, so the matrix is not a tautology).
struct Caller {
  std::string principal;  // "" = no credentials; "bad" = a forged key
  std::string kind() const { return principal.substr(0, principal.find('/')); }
  std::string code() const { return principal.substr(principal.find('/') + 1); }
  std::string region() const {
    if (kind() == "coordinator") return code();
    if (kind() == "authority" || kind() == "importer") {
      return ReferenceData::Get().FindAuthority(code())->region_code;
    }
    return "";
  }
};

bool OracleCanRead(const Caller& c, const v1::Specialist& r) {
  const std::string owner_region = ReferenceData::Get().FindAuthority(r.owning_authority())->region_code;
  if (c.kind() == "authority") {
    return r.owning_authority() == c.code() || r.visibility() == v1::VISIBILITY_NATIONAL ||
           (r.visibility() == v1::VISIBILITY_REGION && owner_region == c.region());
  }
  if (c.kind() == "coordinator") {
    return owner_region == c.region() || r.visibility() == v1::VISIBILITY_NATIONAL;
  }
  if (c.kind() == "importer") return r.owning_authority() == c.code();
  return false;
}

bool OracleCanWrite(const Caller& c, const std::string& authority, bool import) {
  if (authority.empty()) return false;  // the missing record's requests name no authority
  if (c.kind() == "authority") return authority == c.code();
  if (c.kind() == "coordinator") {
    return ReferenceData::Get().FindAuthority(authority)->region_code == c.code();
  }
  if (c.kind() == "importer") return import && authority == c.code();
  return false;
}

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto ne = testing::RegistryProcess::Start("north-east", dir_->File("ne.db"));
    ASSERT_TRUE(ne.ok()) << ne.status();
    north_east_ = ne->release();
    auto yh = testing::RegistryProcess::Start("yorkshire-and-the-humber", dir_->File("yh.db"));
    ASSERT_TRUE(yh.ok()) << yh.status();
    yorkshire_ = yh->release();
    auto directory = testing::DirectoryProcess::Start(
        dir_->path(), {{"north-east", north_east_->address()},
                       {"yorkshire-and-the-humber", yorkshire_->address()}});
    ASSERT_TRUE(directory.ok()) << directory.status();
    directory_ = directory->release();
  }
  static void TearDownTestSuite() {
    delete directory_;
    delete north_east_;
    delete yorkshire_;
    delete dir_;
  }

  static testing::RegistryProcess* RegistryFor(const std::string& authority) {
    return RegionIdOf(authority) == "north-east" ? north_east_ : yorkshire_;
  }

  // Creates a record as its region's coordinator.
  static v1::Specialist Seed(const std::string& authority, const std::string& external_id,
                             v1::Visibility visibility) {
    v1::CreateSpecialistRequest create;
    create.set_parent("regions/" + RegionIdOf(authority));
    *create.mutable_specialist() = RecordOf(authority, external_id, visibility);
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::Specialist created;
    grpc::Status status = RegistryFor(authority)->NewStub()->CreateSpecialist(&ctx, create, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  // The stored record as its region's coordinator sees it ("" if gone).
  static std::string Snapshot(const std::string& authority, const std::string& name) {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::GetSpecialistRequest get;
    get.set_name(name);
    v1::Specialist found;
    if (!RegistryFor(authority)->NewStub()->GetSpecialist(&ctx, get, &found).ok()) return "";
    return found.SerializeAsString();
  }

  static testing::TempDir* dir_;
  static testing::RegistryProcess* north_east_;
  static testing::RegistryProcess* yorkshire_;
  static testing::DirectoryProcess* directory_;
};
testing::TempDir* SecurityTest::dir_ = nullptr;
testing::RegistryProcess* SecurityTest::north_east_ = nullptr;
testing::RegistryProcess* SecurityTest::yorkshire_ = nullptr;
testing::DirectoryProcess* SecurityTest::directory_ = nullptr;

// One cell of the matrix: what is called, on which object, and whether the
// oracle allows it.
struct Attempt {
  grpc::Status status;
  // Records returned (reads), checked against the oracle for bleed.
  std::vector<v1::Specialist> returned;
};

using Invoke = std::function<Attempt(v1::RegistryService::Stub&, grpc::ClientContext&,
                                     const v1::Specialist& target, int serial)>;
// Whether the oracle allows the call on `target` (for list-like calls the
// call itself is allowed and the results are checked record by record).
using Allowed = std::function<bool(const Caller&, const v1::Specialist& target)>;

struct MethodCase {
  Invoke invoke;
  Allowed allowed;
  bool changes = false;  // a write: the target's snapshot must not change when denied
};

std::string Parent(const v1::Specialist& s) { return s.name().substr(0, s.name().find("/specialists/")); }

bool Reader(const Caller& c) {
  return c.kind() == "authority" || c.kind() == "coordinator" || c.kind() == "importer";
}
bool AnyCaller(const Caller& c) { return !c.kind().empty() && c.principal != "bad"; }

std::map<std::string, MethodCase> Cases() {
  std::map<std::string, MethodCase> m;
  m["GetSpecialist"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int) {
                          v1::GetSpecialistRequest r;
                          r.set_name(t.name());
                          v1::Specialist out;
                          Attempt a{stub.GetSpecialist(&ctx, r, &out), {}};
                          if (a.status.ok()) a.returned.push_back(out);
                          return a;
                        },
                        [](const Caller& c, const v1::Specialist& t) {
                          return !t.owning_authority().empty() && OracleCanRead(c, t);
                        }};
  m["ListSpecialists"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int) {
                            v1::ListSpecialistsRequest r;
                            r.set_parent(Parent(t));
                            r.set_page_size(1000);
                            v1::ListSpecialistsResponse out;
                            Attempt a{stub.ListSpecialists(&ctx, r, &out), {}};
                            for (const auto& s : out.specialists()) a.returned.push_back(s);
                            return a;
                          },
                          [](const Caller& c, const v1::Specialist&) { return Reader(c); }};
  m["SearchSpecialists"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int) {
                              v1::SearchSpecialistsRequest r;
                              r.set_parent(Parent(t));
                              r.set_page_size(1000);
                              v1::SearchSpecialistsResponse out;
                              Attempt a{stub.SearchSpecialists(&ctx, r, &out), {}};
                              for (const auto& s : out.results()) a.returned.push_back(s.specialist());
                              return a;
                            },
                            [](const Caller& c, const v1::Specialist&) { return Reader(c); }};
  m["CreateSpecialist"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int serial) {
                             v1::CreateSpecialistRequest r;
                             r.set_parent(Parent(t));
                             *r.mutable_specialist() = RecordOf(
                                 t.owning_authority(), "matrix-" + std::to_string(serial),
                                 v1::VISIBILITY_NATIONAL);
                             v1::Specialist out;
                             return Attempt{stub.CreateSpecialist(&ctx, r, &out), {}};
                           },
                           [](const Caller& c, const v1::Specialist& t) {
                             return OracleCanWrite(c, t.owning_authority(), false);
                           }};
  m["UpdateSpecialist"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int serial) {
                             v1::UpdateSpecialistRequest r;
                             r.mutable_specialist()->set_name(t.name());
                             r.mutable_specialist()->set_display_name("Changed " + std::to_string(serial));
                             r.mutable_update_mask()->add_paths("display_name");
                             v1::Specialist out;
                             return Attempt{stub.UpdateSpecialist(&ctx, r, &out), {}};
                           },
                           [](const Caller& c, const v1::Specialist& t) {
                             return !t.owning_authority().empty() && OracleCanRead(c, t) &&
                                    OracleCanWrite(c, t.owning_authority(), false);
                           },
                           true};
  m["UpdateCapacity"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int serial) {
                           v1::UpdateCapacityRequest r;
                           r.set_name(t.name());
                           r.mutable_capacity()->set_committed_hours_per_week(serial % 20);
                           r.mutable_update_mask()->add_paths("committed_hours_per_week");
                           v1::Specialist out;
                           return Attempt{stub.UpdateCapacity(&ctx, r, &out), {}};
                         },
                         m["UpdateSpecialist"].allowed, true};
  m["DeleteSpecialist"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int) {
                             v1::DeleteSpecialistRequest r;
                             r.set_name(t.name());
                             google::protobuf::Empty out;
                             return Attempt{stub.DeleteSpecialist(&ctx, r, &out), {}};
                           },
                           m["UpdateSpecialist"].allowed, true};
  m["BatchUpsertSpecialists"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int serial) {
                                   v1::BatchUpsertSpecialistsRequest r;
                                   r.set_parent(Parent(t));
                                   *r.add_specialists() = RecordOf(t.owning_authority(),
                                                                   "batch-" + std::to_string(serial),
                                                                   v1::VISIBILITY_NATIONAL);
                                   v1::BatchUpsertSpecialistsResponse out;
                                   return Attempt{stub.BatchUpsertSpecialists(&ctx, r, &out), {}};
                                 },
                                 m["CreateSpecialist"].allowed};
  m["GetCapacitySummary"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int) {
                               v1::GetCapacitySummaryRequest r;
                               r.set_parent(Parent(t));
                               v1::CapacitySummary out;
                               return Attempt{stub.GetCapacitySummary(&ctx, r, &out), {}};
                             },
                             [](const Caller& c, const v1::Specialist&) {
                               return c.kind() == "authority" || c.kind() == "coordinator";
                             }};
  m["ListTaxonomyTerms"] = {[](auto& stub, auto& ctx, const v1::Specialist&, int) {
                              v1::ListTaxonomyTermsResponse out;
                              return Attempt{stub.ListTaxonomyTerms(&ctx, {}, &out), {}};
                            },
                            [](const Caller& c, const v1::Specialist&) { return AnyCaller(c); }};
  m["ListLocalAuthorities"] = {[](auto& stub, auto& ctx, const v1::Specialist&, int) {
                                 v1::ListLocalAuthoritiesResponse out;
                                 return Attempt{stub.ListLocalAuthorities(&ctx, {}, &out), {}};
                               },
                               m["ListTaxonomyTerms"].allowed};
  m["ListRegions"] = {[](auto& stub, auto& ctx, const v1::Specialist&, int) {
                        v1::ListRegionsResponse out;
                        return Attempt{stub.ListRegions(&ctx, {}, &out), {}};
                      },
                      m["ListTaxonomyTerms"].allowed};
  m["GetRegionStatus"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int) {
                            v1::GetRegionStatusRequest r;
                            r.set_name(Parent(t) + "/status");
                            v1::RegionStatus out;
                            return Attempt{stub.GetRegionStatus(&ctx, r, &out), {}};
                          },
                          m["ListTaxonomyTerms"].allowed};
  m["ListRegionStatuses"] = {[](auto& stub, auto& ctx, const v1::Specialist&, int) {
                               v1::ListRegionStatusesResponse out;
                               return Attempt{stub.ListRegionStatuses(&ctx, {}, &out), {}};
                             },
                             m["ListTaxonomyTerms"].allowed};
  auto import_allowed = [](const Caller& c, const v1::Specialist& t) {
    return !t.owning_authority().empty() && OracleCanWrite(c, t.owning_authority(), true);
  };
  m["ImportSpecialists"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int serial) {
                              v1::Import out;
                              auto writer = stub.ImportSpecialists(&ctx, &out);
                              v1::ImportSpecialistsRequest message;
                              auto* header = message.mutable_header();
                              header->set_parent(Parent(t));
                              header->set_import_id("imp-matrix-" + std::to_string(serial));
                              header->set_authority(t.owning_authority());
                              header->set_source("matrix");
                              header->set_mode(v1::IMPORT_MODE_INCREMENTAL);
                              writer->Write(message);
                              message.Clear();
                              v1::ImportedRecord* record = message.mutable_batch()->add_records();
                              *record->mutable_specialist() =
                                  RecordOf(t.owning_authority(), "imp-" + std::to_string(serial),
                                           v1::VISIBILITY_NATIONAL);
                              record->mutable_specialist()->set_source("matrix");
                              writer->Write(message);
                              message.Clear();
                              message.mutable_end();
                              writer->Write(message);
                              writer->WritesDone();
                              return Attempt{writer->Finish(), {}};
                            },
                            import_allowed};
  // Imports made by each authority's coordinator before the matrix: see
  // SeedImport. Their names are regions/{r}/imports/seed-{authority}.
  auto import_name = [](const v1::Specialist& t) {
    std::string code = t.owning_authority().empty() ? "E06000001" : t.owning_authority();
    for (char& ch : code) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return Parent(t) + "/imports/seed-" + code;
  };
  m["GetImport"] = {[import_name](auto& stub, auto& ctx, const v1::Specialist& t, int) {
                      v1::GetImportRequest r;
                      r.set_name(import_name(t));
                      v1::Import out;
                      return Attempt{stub.GetImport(&ctx, r, &out), {}};
                    },
                    import_allowed};
  m["ListImportRejects"] = {[import_name](auto& stub, auto& ctx, const v1::Specialist& t, int) {
                              v1::ListImportRejectsRequest r;
                              r.set_parent(import_name(t));
                              v1::ListImportRejectsResponse out;
                              return Attempt{stub.ListImportRejects(&ctx, r, &out), {}};
                            },
                            import_allowed};
  m["GetImportCursor"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int) {
                            v1::GetImportCursorRequest r;
                            const std::string la = t.owning_authority().empty() ? "E06000001"
                                                                                : t.owning_authority();
                            r.set_name(Parent(t) + "/importCursors/" + la + ".seed");
                            v1::ImportCursor out;
                            return Attempt{stub.GetImportCursor(&ctx, r, &out), {}};
                          },
                          import_allowed};
  m["ListAuditRecords"] = {[](auto& stub, auto& ctx, const v1::Specialist& t, int) {
                             // (Administrators are refused through the directory: see
                             // the cell loop.)
                             v1::ListAuditRecordsRequest r;
                             r.set_parent(Parent(t));
                             r.set_page_size(5);
                             v1::ListAuditRecordsResponse out;
                             return Attempt{stub.ListAuditRecords(&ctx, r, &out), {}};
                           },
                           [](const Caller& c, const v1::Specialist& t) {
                             const std::string region =
                                 ReferenceData::Get().FindRegion(Parent(t))->code;
                             return c.kind() == "admin" || c.kind() == "authority" ||
                                    (c.kind() == "coordinator" && c.code() == region);
                           }};
  return m;
}

TEST(SecurityMatrixTest, EveryRpcHasAMatrixEntry) {
  const auto cases = Cases();
  const auto* service = v1::ListAuditRecordsRequest::descriptor()->file()->FindServiceByName("RegistryService");
  ASSERT_NE(service, nullptr);
  for (int i = 0; i < service->method_count(); ++i) {
    EXPECT_TRUE(cases.count(service->method(i)->name()))
        << service->method(i)->name() << " has no case in the authorisation matrix";
  }
}

// An incremental import by the authority's coordinator, so GetImport and
// the cursor have something to find.
void SeedImport(testing::RegistryProcess* registry, const std::string& authority) {
  std::string code = authority;
  for (char& ch : code) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto stub = registry->NewStub();
  grpc::ClientContext ctx;
  ctx.set_deadline(In(10));
  v1::Import out;
  auto writer = stub->ImportSpecialists(&ctx, &out);
  v1::ImportSpecialistsRequest message;
  auto* header = message.mutable_header();
  header->set_parent("regions/" + RegionIdOf(authority));
  header->set_import_id("seed-" + code);
  header->set_authority(authority);
  header->set_source("seed");
  header->set_mode(v1::IMPORT_MODE_INCREMENTAL);
  writer->Write(message);
  message.Clear();
  message.mutable_end()->set_cursor("c1");
  writer->Write(message);
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
}

TEST_F(SecurityTest, AuthorisationMatrixHasNoUnauthorisedSuccess) {
  for (const char* la : {kA, kB, kC}) SeedImport(RegistryFor(la), la);
  const std::vector<Caller> callers = {
      {"authority/E06000047"},   {"authority/E08000021"}, {"authority/E08000035"},
      {"coordinator/E12000001"}, {"coordinator/E12000003"}, {"importer/E06000047"},
      {"admin/test"},            {"service/other"},        {""},
      {"bad"}};
  const auto cases = Cases();
  int serial = 0, checked = 0, denied = 0, unauthorised_successes = 0, bleed = 0;
  for (const bool through_directory : {false, true}) {
    for (const Caller& caller : callers) {
      for (const auto& [method, c] : cases) {
        // Targets: A's own-authority record, B's own-authority record, C's
        // region record, a missing one in A's region. Fresh per cell for
        // writes, so a permitted delete does not starve later cells.
        std::vector<v1::Specialist> targets;
        for (const auto& [la, visibility] : std::vector<std::pair<std::string, v1::Visibility>>{
                 {kA, v1::VISIBILITY_OWN_AUTHORITY},
                 {kB, v1::VISIBILITY_OWN_AUTHORITY},
                 {kC, v1::VISIBILITY_REGION}}) {
          targets.push_back(Seed(la, "t-" + std::to_string(++serial), visibility));
        }
        v1::Specialist missing;
        missing.set_name("regions/north-east/specialists/s-0000000000000000");
        targets.push_back(missing);
        for (const v1::Specialist& target : targets) {
          testing::RegistryProcess* home =
              target.owning_authority().empty() ? north_east_ : RegistryFor(target.owning_authority());
          const std::string address = through_directory ? directory_->address() : home->address();
          // Each cell on its own channel and key: no state carried over.
          std::shared_ptr<grpc::Channel> channel =
              caller.principal.empty() || caller.principal == "bad"
                  ? grpc::CreateChannel(address, grpc::InsecureChannelCredentials())
                  : testing::ChannelAs(address, caller.principal);
          auto stub = v1::RegistryService::NewStub(channel);
          grpc::ClientContext ctx;
          ctx.set_deadline(In(10));
          if (caller.principal == "bad") {
            ctx.AddMetadata("authorization", "Bearer ek_t0_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
          }
          const std::string before = c.changes && !target.owning_authority().empty()
                                         ? Snapshot(target.owning_authority(), target.name())
                                         : "";
          // The directory never lends an administrator's rights: they read
          // audit trails on the registries directly.
          const bool allowed = c.allowed(caller, target) &&
                               !(through_directory && caller.kind() == "admin" && method == "ListAuditRecords");
          Attempt attempt = c.invoke(*stub, ctx, target, ++serial);
          ++checked;
          const std::string where = absl::StrCat(through_directory ? "directory " : "registry ",
                                                 caller.principal.empty() ? "(none)" : caller.principal,
                                                 " ", method, " ", target.name());
          if (!allowed) {
            ++denied;
            if (attempt.status.ok()) {
              ++unauthorised_successes;
              ADD_FAILURE() << "unauthorised success: " << where;
            } else if (!target.owning_authority().empty()) {
              // (Requests about the missing record may also be invalid.)
              EXPECT_THAT(attempt.status.error_code(),
                          ::testing::AnyOf(grpc::StatusCode::PERMISSION_DENIED,
                                           grpc::StatusCode::UNAUTHENTICATED,
                                           grpc::StatusCode::NOT_FOUND))
                  << where << ": " << attempt.status.error_message();
            }
            if (c.changes && !target.owning_authority().empty()) {
              EXPECT_EQ(Snapshot(target.owning_authority(), target.name()), before)
                  << "denied call changed the record: " << where;
            }
          } else if (target.owning_authority().empty() && (method == "GetSpecialist" ||
                                                          c.changes)) {
            EXPECT_EQ(attempt.status.error_code(), grpc::StatusCode::NOT_FOUND) << where;
          } else {
            EXPECT_TRUE(attempt.status.ok()) << where << ": " << attempt.status.error_message();
          }
          for (const v1::Specialist& r : attempt.returned) {
            if (!OracleCanRead(caller, r)) {
              ++bleed;
              ADD_FAILURE() << "record leaked: " << r.name() << " to " << where;
            }
            const bool sees_contact =
                caller.kind() == "authority" || caller.kind() == "coordinator";
            if (!sees_contact) {
              EXPECT_FALSE(r.has_work_contact()) << "contact details leaked to " << where;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(unauthorised_successes, 0);
  EXPECT_EQ(bleed, 0);
  EXPECT_GT(denied, 300);  // the matrix really exercises refusals
  RecordProperty("cells", checked);
  RecordProperty("denied", denied);
}

TEST_F(SecurityTest, IdentityIsDerivedPerCallNeverCarriedOver) {
  const v1::Specialist own_a = Seed(kA, "bleed-a", v1::VISIBILITY_OWN_AUTHORITY);
  // One channel (one connection), three calls: A's key, no key, B's key.
  auto channel = grpc::CreateChannel(north_east_->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::RegistryService::NewStub(channel);
  v1::GetSpecialistRequest get;
  get.set_name(own_a.name());
  v1::Specialist out;
  {
    grpc::ClientContext ctx;
    testing::CallAs(&ctx, "authority/E06000047");
    EXPECT_TRUE(stub->GetSpecialist(&ctx, get, &out).ok());
  }
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(stub->GetSpecialist(&ctx, get, &out).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    testing::CallAs(&ctx, "authority/E08000021");
    EXPECT_EQ(stub->GetSpecialist(&ctx, get, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(SecurityTest, OnlyServicesActOnBehalfOfOthers) {
  const v1::Specialist own_a = Seed(kA, "obo-a", v1::VISIBILITY_OWN_AUTHORITY);
  auto stub = v1::RegistryService::NewStub(
      testing::ChannelAs(north_east_->address(), "authority/E08000021"));
  v1::GetSpecialistRequest get;
  get.set_name(own_a.name());
  v1::Specialist out;
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-expertise-on-behalf-of", "authority/E06000047");
  grpc::Status status = stub->GetSpecialist(&ctx, get, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("may not act on behalf"));
  // A service that is not a trusted forwarder may not either.
  {
    auto other = v1::RegistryService::NewStub(testing::ChannelAs(north_east_->address(), "service/other"));
    grpc::ClientContext octx;
    octx.AddMetadata("x-expertise-on-behalf-of", "authority/E06000047");
    EXPECT_EQ(other->GetSpecialist(&octx, get, &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  // The directory may forward callers, but never lend an administrator's rights.
  {
    auto directory = v1::RegistryService::NewStub(
        testing::ChannelAs(north_east_->address(), "service/directory"));
    grpc::ClientContext dctx;
    dctx.AddMetadata("x-expertise-on-behalf-of", "admin/test");
    v1::ListAuditRecordsRequest audit;
    audit.set_parent("regions/north-east");
    v1::ListAuditRecordsResponse records;
    EXPECT_EQ(directory->ListAuditRecords(&dctx, audit, &records).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    grpc::ClientContext fctx;
    fctx.AddMetadata("x-expertise-on-behalf-of", "authority/E06000047");
    EXPECT_TRUE(directory->GetSpecialist(&fctx, get, &out).ok());
  }
}

TEST_F(SecurityTest, CallersCannotWriteFreeTextIntoTheAuditTrail) {
  auto stub = v1::RegistryService::NewStub(
      testing::ChannelAs(north_east_->address(), "authority/E08000021"));
  v1::DeleteSpecialistRequest del;
  del.set_name("regions/north-east/specialists/x\n42  2026-01-01 admin/ops forged Jane Smith");
  google::protobuf::Empty empty;
  grpc::ClientContext ctx;
  EXPECT_FALSE(stub->DeleteSpecialist(&ctx, del, &empty).ok());
  const std::string trail = testing::ReadFile(dir_->File("ne.db.audit.jsonl"));
  EXPECT_EQ(trail.find("Jane Smith"), std::string::npos);
  EXPECT_NE(trail.find("(not a resource name)"), std::string::npos);
}

TEST_F(SecurityTest, ChangesAndRefusalsAreAuditedWithAnUnbrokenChain) {
  auto as_a = v1::RegistryService::NewStub(testing::ChannelAs(north_east_->address(), "authority/E06000047"));
  v1::CreateSpecialistRequest create;
  create.set_parent("regions/north-east");
  *create.mutable_specialist() = RecordOf(kA, "audit-1", v1::VISIBILITY_REGION);
  v1::Specialist created;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(as_a->CreateSpecialist(&ctx, create, &created).ok());
  }
  // A refused write by B on A's record (visible to B: REGION).
  auto as_b = v1::RegistryService::NewStub(testing::ChannelAs(north_east_->address(), "authority/E08000021"));
  {
    v1::DeleteSpecialistRequest del;
    del.set_name(created.name());
    google::protobuf::Empty empty;
    grpc::ClientContext ctx;
    EXPECT_EQ(as_b->DeleteSpecialist(&ctx, del, &empty).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  // The administrator reads the trail for that specialist.
  auto as_admin = v1::RegistryService::NewStub(testing::ChannelAs(north_east_->address(), "admin/test"));
  v1::ListAuditRecordsRequest list;
  list.set_parent("regions/north-east");
  list.set_resource_prefix(created.name());
  list.set_page_size(1000);
  v1::ListAuditRecordsResponse trail;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(as_admin->ListAuditRecords(&ctx, list, &trail).ok());
  }
  std::vector<std::string> seen;
  for (const auto& r : trail.audit_records()) {
    seen.push_back(absl::StrCat(r.actor(), " ", r.action(), " ", r.phase(), " ", r.outcome()));
    EXPECT_EQ(r.hash().size(), 64u);
  }
  EXPECT_THAT(seen, ::testing::IsSupersetOf({
                        "authority/E06000047 CreateSpecialist outcome OK",
                        "authority/E08000021 DeleteSpecialist attempt ",
                        "authority/E08000021 DeleteSpecialist outcome PERMISSION_DENIED",
                    }));
  // B reads only its own actions.
  {
    v1::ListAuditRecordsRequest mine = list;
    mine.clear_resource_prefix();
    v1::ListAuditRecordsResponse out;
    grpc::ClientContext ctx;
    ASSERT_TRUE(as_b->ListAuditRecords(&ctx, mine, &out).ok());
    for (const auto& r : out.audit_records()) {
      EXPECT_THAT(r.actor(), ::testing::AnyOf("authority/E08000021", "importer/E08000021"));
    }
  }
  // The trail on disk verifies.
  EXPECT_TRUE(security::VerifyAuditLog(dir_->File("ne.db.audit.jsonl")).ok());
  // expertctl audit shows the same.
  auto run = testing::RunCommand({testing::BinaryPath("expertctl"), "--server", north_east_->address(),
                                  "--token", testing::TokenFor("admin/test"), "-o", "csv", "audit",
                                  "--region", "north-east", "--resource", created.name()});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("PERMISSION_DENIED"));
  auto verify = testing::RunCommand({testing::BinaryPath("expertctl"), "audit", "verify",
                                     dir_->File("ne.db.audit.jsonl")});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
}

TEST(AuditFailureTest, NoAuditRecordNoChange) {
  testing::TempDir dir;
  // Every append to /dev/full fails with ENOSPC: a full disk.
  auto registry = testing::RegistryProcess::Start("north-east", dir.File("r.db"),
                                                  {"--audit-log", "/dev/full"});
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto stub = (*registry)->NewStub();
  v1::CreateSpecialistRequest create;
  create.set_parent("regions/north-east");
  *create.mutable_specialist() = RecordOf(kA, "unaudited", v1::VISIBILITY_REGION);
  v1::Specialist created;
  grpc::ClientContext ctx;
  grpc::Status status = stub->CreateSpecialist(&ctx, create, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("audit trail cannot be written"));
  // Nothing was stored: the aggregate (no contact details, not audited) is empty.
  grpc::ClientContext read_ctx;
  v1::GetCapacitySummaryRequest summary_request;
  summary_request.set_parent("regions/north-east");
  v1::CapacitySummary summary;
  ASSERT_TRUE(stub->GetCapacitySummary(&read_ctx, summary_request, &summary).ok());
  EXPECT_EQ(summary.total().headcount(), 0);
  // Contact details are not handed out unaudited either... there are none
  // to hand out; the import path is refused the same way.
  grpc::ClientContext import_ctx;
  v1::Import out;
  auto writer = stub->ImportSpecialists(&import_ctx, &out);
  v1::ImportSpecialistsRequest message;
  message.mutable_header()->set_parent("regions/north-east");
  message.mutable_header()->set_import_id("imp-unaudited");
  message.mutable_header()->set_authority(kA);
  message.mutable_header()->set_source("seed");
  message.mutable_header()->set_mode(v1::IMPORT_MODE_INCREMENTAL);
  writer->Write(message);
  message.Clear();
  message.mutable_end();
  writer->Write(message);
  writer->WritesDone();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(SecurityTest, DeletionErasesPersonalDataFromTheDatabaseFiles) {
  const std::string sentinel_name = "Zyxwvut Sentinel Person";
  const std::string sentinel_email = "zyxwvut.sentinel@durham.example.org";
  const std::string sentinel_number = "ZX9988776";
  v1::CreateSpecialistRequest create;
  create.set_parent("regions/north-east");
  *create.mutable_specialist() = RecordOf(kA, "erase-me", v1::VISIBILITY_REGION);
  create.mutable_specialist()->set_display_name(sentinel_name);
  create.mutable_specialist()->mutable_work_contact()->set_email(sentinel_email);
  create.mutable_specialist()->mutable_registration()->set_number(sentinel_number);
  auto stub = north_east_->NewStub();
  v1::Specialist created;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->CreateSpecialist(&ctx, create, &created).ok());
  }
  {
    v1::DeleteSpecialistRequest del;
    del.set_name(created.name());
    google::protobuf::Empty empty;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->DeleteSpecialist(&ctx, del, &empty).ok());
  }
  for (const std::string& file : {dir_->File("ne.db"), dir_->File("ne.db-wal"),
                                  dir_->File("ne.db.audit.jsonl"), dir_->File("ne.db.log")}) {
    const std::string bytes = testing::ReadFile(file);
    for (const std::string& sentinel : {sentinel_name, sentinel_email, sentinel_number}) {
      EXPECT_EQ(bytes.find(sentinel), std::string::npos) << sentinel << " found in " << file;
    }
  }
}

TEST_F(SecurityTest, OversizedMetadataIsRefused) {
  auto stub = north_east_->NewStub();
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-padding", std::string(20000, 'p'));
  v1::ListRegionsResponse out;
  grpc::Status status = stub->ListRegions(&ctx, {}, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("metadata"));
}

TEST_F(SecurityTest, OversizedMessageIsRefused) {
  auto stub = north_east_->NewStub();
  v1::BatchUpsertSpecialistsRequest batch;
  batch.set_parent("regions/north-east");
  v1::Specialist big = RecordOf(kA, "big", v1::VISIBILITY_REGION);
  big.set_display_name(std::string(5 * 1024 * 1024, 'x'));
  *batch.add_specialists() = big;
  grpc::ClientContext ctx;
  v1::BatchUpsertSpecialistsResponse out;
  EXPECT_EQ(stub->BatchUpsertSpecialists(&ctx, batch, &out).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(RateLimitTest, EachCallerHasItsOwnBudget) {
  testing::TempDir dir;
  auto registry = testing::RegistryProcess::Start("north-east", dir.File("r.db"),
                                                  {"--rate-limit", "2", "--rate-burst", "5"});
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto greedy = v1::RegistryService::NewStub(
      testing::ChannelAs((*registry)->address(), "authority/E06000047"));
  int ok = 0, limited = 0;
  std::string message;
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext ctx;
    v1::ListRegionsResponse out;
    grpc::Status status = greedy->ListRegions(&ctx, {}, &out);
    if (status.ok()) {
      ++ok;
    } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++limited;
      message = status.error_message();
    }
  }
  // The burst, plus at most what refilled while the loop ran.
  EXPECT_GE(ok, 5);
  EXPECT_LT(ok, 20);
  EXPECT_EQ(ok + limited, 20);
  EXPECT_THAT(message, HasSubstr("rate limit for authority/E06000047"));
  EXPECT_THAT(message, HasSubstr("retry after"));
  // Another authority is unaffected.
  auto other = v1::RegistryService::NewStub(
      testing::ChannelAs((*registry)->address(), "authority/E08000021"));
  grpc::ClientContext ctx;
  v1::ListRegionsResponse out;
  EXPECT_TRUE(other->ListRegions(&ctx, {}, &out).ok());
}

TEST(StartupTest, PlaintextOnlyOnLoopbackAndOnlyWhenAsked) {
  testing::TempDir dir;
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--listen", "127.0.0.1:0", "--api-keys", testing::KeyringPath()}, "no TLS configured"},
           {{"--listen", "0.0.0.0:0", "--insecure-dev", "--api-keys", testing::KeyringPath()},
            "refusing to listen in plaintext on 0.0.0.0:0"},
           {{"--listen", "127.0.0.1:0", "--insecure-dev"}, "no way to authenticate callers"},
       }) {
    std::vector<std::string> argv = {testing::BinaryPath("expertise-registry"), "--region", "north-east",
                                     "--db", dir.File("r.db")};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto run = testing::RunCommand(argv, {}, std::chrono::seconds(30));
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_THAT(run.err, HasSubstr(c.message));
  }
}

TEST(TrustedForwarderTest, OnlyTheConfiguredServicesMayNameACaller) {
  testing::TempDir dir;
  auto registry = testing::RegistryProcess::Start("north-east", dir.File("r.db"),
                                                  {"--trusted-forwarder", "service/other"});
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto list_as = [&](const std::string& forwarder) {
    auto stub = v1::RegistryService::NewStub(testing::ChannelAs((*registry)->address(), forwarder));
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-expertise-on-behalf-of", "authority/E06000047");
    v1::ListSpecialistsRequest request;
    request.set_parent("regions/north-east");
    v1::ListSpecialistsResponse out;
    return stub->ListSpecialists(&ctx, request, &out).error_code();
  };
  EXPECT_EQ(list_as("service/other"), grpc::StatusCode::OK);
  // The default forwarder is replaced, not added to.
  EXPECT_EQ(list_as("service/directory"), grpc::StatusCode::PERMISSION_DENIED);
}

TEST(KeyringTest, SighupAddsAndRevokesKeysWithoutARestart) {
  testing::TempDir dir;
  const std::string keyring = dir.File("keyring");
  std::filesystem::copy_file(testing::KeyringPath(), keyring);
  auto registry = testing::RegistryProcess::Start(
      "north-east", dir.File("r.db"), {"--insecure-dev", "--api-keys", keyring});
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto fresh = security::GenerateApiKey("authority/E06000047", "fresh");
  ASSERT_TRUE(fresh.ok());
  auto regions_with = [&](const std::string& token) {
    auto stub = v1::RegistryService::NewStub(
        grpc::CreateChannel((*registry)->address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    v1::ListRegionsResponse out;
    return stub->ListRegions(&ctx, {}, &out).error_code();
  };
  auto reload_and_wait = [&](const std::string& token, grpc::StatusCode want) {
    (*registry)->process().Signal(SIGHUP);
    for (int i = 0; i < 100 && regions_with(token) != want; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return regions_with(token);
  };
  EXPECT_EQ(regions_with(fresh->token), grpc::StatusCode::UNAUTHENTICATED);
  std::ofstream(keyring, std::ios::app) << fresh->keyring_line << "\n";
  EXPECT_EQ(reload_and_wait(fresh->token, grpc::StatusCode::OK), grpc::StatusCode::OK);
  // Revoked: the line removed, the key refused from then on.
  std::filesystem::copy_file(testing::KeyringPath(), keyring,
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_EQ(reload_and_wait(fresh->token, grpc::StatusCode::UNAUTHENTICATED),
            grpc::StatusCode::UNAUTHENTICATED);
  // A broken keyring is refused and the previous one stays in force.
  std::ofstream(keyring, std::ios::app) << "this is not a key line\n";
  (*registry)->process().Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(regions_with(testing::TokenFor("authority/E06000047")), grpc::StatusCode::OK);
  EXPECT_THAT((*registry)->log(), HasSubstr("keyring_reload_failed"));
}

TEST_F(SecurityTest, AnImportOverTheCapIsRefused) {
  auto stub = north_east_->NewStub();
  grpc::ClientContext ctx;
  ctx.set_deadline(In(120));
  v1::Import out;
  auto writer = stub->ImportSpecialists(&ctx, &out);
  v1::ImportSpecialistsRequest message;
  message.mutable_header()->set_parent("regions/north-east");
  message.mutable_header()->set_import_id("imp-too-big");
  message.mutable_header()->set_authority(kA);
  message.mutable_header()->set_source("seed");
  message.mutable_header()->set_mode(v1::IMPORT_MODE_SNAPSHOT);
  writer->Write(message);
  // 201 batches of 1000 (nearly empty) records: one over the 200,000 cap.
  message.Clear();
  for (int i = 0; i < 1000; ++i) message.mutable_batch()->add_records();
  for (int batch = 0; batch < 201; ++batch) {
    if (!writer->Write(message)) break;  // the server has already answered
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("200,000 records"));
}

}  // namespace
}  // namespace expertise
