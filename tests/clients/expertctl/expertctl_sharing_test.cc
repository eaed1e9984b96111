// The real expertctl binary driving capacity sharing (requests, report,
// watch) against the real binaries: two regional registries (North East and
// Yorkshire and the Humber) and the directory over them, on loopback ports
// chosen at run time. Every expertctl run calls as a real principal (an API
// key from the test keyring through EXPERTISE_TOKEN or --token-file).
//
// The servers and one Leeds speech and language therapist are shared by the
// tests of the suite. Only RequestOfferAcceptAcrossRegions accepts an offer
// (takes the therapist's hours) and only EscalateThenReports escalates, so
// each test's expectations hold whatever order the tests run in.

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "services/common/csv.h"
#include "tests/testutil/credentials.h"
#include "tests/testutil/registry_process.h"
#include "tests/testutil/temp_dir.h"

namespace expertise {
namespace {

namespace v1 = registry::v1;
using testing::BinaryPath;
using testing::CommandResult;
using testing::DirectoryProcess;
using testing::RegistryProcess;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kLeeds[] = "E08000035";       // Yorkshire and the Humber: the provider
constexpr char kDarlington[] = "E06000005";  // North East: the requester
constexpr char kDurham[] = "E06000047";      // North East: a second requester
constexpr char kHartlepool[] = "E06000001";  // North East: not party to Darlington's requests
constexpr char kNorthEastCoordinator[] = "coordinator/E12000001";
constexpr char kYorkshireCoordinator[] = "coordinator/E12000003";
constexpr char kRole[] = "speech-language-therapist";

std::string Authority(const std::string& code) { return "authority/" + code; }

// Everything a failed command said, for assertion messages.
std::string Said(const CommandResult& r) {
  return absl::StrCat("exit ", r.exit_code, "\nstdout:\n", r.out, "\nstderr:\n", r.err);
}

class ExpertctlSharingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    for (const char* region : {"north-east", "yorkshire-and-the-humber"}) {
      auto process = RegistryProcess::Start(region, dir_->File(std::string(region) + ".db"));
      ASSERT_TRUE(process.ok()) << process.status();
      registries_->push_back(process->release());
    }
    auto directory = DirectoryProcess::Start(
        dir_->path(), {{"north-east", (*registries_)[0]->address()},
                       {"yorkshire-and-the-humber", (*registries_)[1]->address()}});
    ASSERT_TRUE(directory.ok()) << directory.status();
    directory_ = directory->release();
    CreateLeedsTherapist();
  }

  void SetUp() override {
    ASSERT_NE(directory_, nullptr) << "the servers did not start";
    ASSERT_FALSE(specialist_->empty()) << "the Leeds therapist was not created";
  }

  static void TearDownTestSuite() {
    delete directory_;
    directory_ = nullptr;
    for (RegistryProcess* registry : *registries_) delete registry;
    registries_->clear();
    delete dir_;
    dir_ = nullptr;
  }

  // Step 1: a Leeds speech and language therapist, 10 contracted hours,
  // accepting external requests, remote and in person, early years PVI and
  // primary; created through the directory as Leeds.
  static void CreateLeedsTherapist() {
    v1::CreateSpecialistRequest create;
    create.set_parent("regions/yorkshire-and-the-humber");
    v1::Specialist* s = create.mutable_specialist();
    s->set_owning_authority(kLeeds);
    s->set_source("manual");
    s->set_external_id("slt-expertctl-1");
    s->set_display_name("Alex Example");
    s->set_role(kRole);
    s->add_specialisms("developmental-language-disorder");
    s->add_settings("early-years-pvi");
    s->add_settings("primary");
    s->mutable_age_range()->set_min_age(0);
    s->mutable_age_range()->set_max_age(11);
    s->add_languages("en");
    s->add_delivery_modes(v1::DELIVERY_MODE_IN_PERSON);
    s->add_delivery_modes(v1::DELIVERY_MODE_REMOTE);
    s->set_travel_radius_km(150);
    s->set_employer_type(v1::EMPLOYER_TYPE_LOCAL_AUTHORITY);
    s->set_visibility(v1::VISIBILITY_NATIONAL);
    s->mutable_capacity()->set_contracted_hours_per_week(10);
    s->mutable_capacity()->set_accepting_external_requests(true);
    auto stub = v1::RegistryService::NewStub(
        testing::ChannelAs(directory_->address(), Authority(kLeeds)));
    v1::Specialist created;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status = stub->CreateSpecialist(&ctx, create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_THAT(created.name(), StartsWith("regions/yorkshire-and-the-humber/specialists/"));
    *specialist_ = created.name();
  }

  // Runs expertctl as `principal` against `server` (default the directory,
  // through EXPERTCTL_SERVER). HOME is the test's folder so no user config
  // file is read.
  static CommandResult RunAt(const std::string& server, const std::string& principal,
                             std::vector<std::string> args,
                             std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    args.insert(args.begin(), BinaryPath("expertctl"));
    return testing::RunCommand(args,
                               {{"EXPERTCTL_SERVER", server},
                                {"EXPERTISE_TOKEN", testing::TokenFor(principal)},
                                {"HOME", dir_->path()}},
                               timeout);
  }
  static CommandResult Run(const std::string& principal, std::vector<std::string> args) {
    return RunAt(directory_->address(), principal, std::move(args));
  }

  // `requests create` for `authority` (-o csv), returning the request's name.
  static std::string CreateRequest(const std::string& authority, double hours,
                                   const std::string& request_id) {
    auto r = Run(Authority(authority),
                 {"-o", "csv", "requests", "create", "--authority", authority, "--role", kRole,
                  "--specialism", "developmental-language-disorder", "--setting", "early-years-pvi",
                  "--age-band", "early-years", "--hours", absl::StrCat(hours), "--weeks", "12",
                  "--urgency", "soon", "--note", "Nursery cluster needs DLD assessment capacity",
                  "--request-id", request_id});
    EXPECT_EQ(r.exit_code, 0) << Said(r);
    auto rows = ParseCsv(r.out);
    EXPECT_TRUE(rows.ok()) << r.out;
    if (!rows.ok() || rows->size() != 2 || (*rows)[1].empty()) {
      ADD_FAILURE() << "requests create -o csv: expected a header and one row\n" << Said(r);
      return "";
    }
    EXPECT_EQ((*rows)[0][0], "NAME");
    return (*rows)[1][0];
  }

  // `requests offer` of the Leeds therapist as `principal`.
  static CommandResult Offer(const std::string& principal, const std::string& name) {
    return Run(principal, {"requests", "offer", name, "--specialist", *specialist_, "--note",
                           "Can start after half term"});
  }

  // The request as JSON (`-o json requests show`), seen by the NE coordinator.
  static nlohmann::json ShowJson(const std::string& name) {
    auto r = Run(kNorthEastCoordinator, {"-o", "json", "requests", "show", name});
    EXPECT_EQ(r.exit_code, 0) << Said(r);
    return r.exit_code == 0 ? nlohmann::json::parse(r.out, nullptr, false) : nlohmann::json();
  }

  // The therapist's available hours a week, from `expertctl -o json get`.
  static double AvailableHours() {
    auto r = Run(Authority(kLeeds), {"-o", "json", "get", *specialist_});
    EXPECT_EQ(r.exit_code, 0) << Said(r);
    auto json = nlohmann::json::parse(r.out, nullptr, false);
    if (json.is_discarded() || !json.contains("capacity")) {
      ADD_FAILURE() << "get -o json: no capacity\n" << Said(r);
      return -1;
    }
    // proto3 JSON leaves out zero values.
    return json["capacity"].value("available_hours_per_week", 0.0);
  }

  static testing::TempDir* dir_;
  static std::vector<RegistryProcess*>* registries_;
  static DirectoryProcess* directory_;
  static std::string* specialist_;
};
testing::TempDir* ExpertctlSharingTest::dir_ = nullptr;
std::vector<RegistryProcess*>* ExpertctlSharingTest::registries_ = new std::vector<RegistryProcess*>();
DirectoryProcess* ExpertctlSharingTest::directory_ = nullptr;
std::string* ExpertctlSharingTest::specialist_ = new std::string();

// Steps 2 to 4: Darlington asks, Leeds offers, Darlington accepts and the
// hours are committed across regions; Durham's offer of the same hours then
// cannot be accepted.
TEST_F(ExpertctlSharingTest, RequestOfferAcceptAcrossRegions) {
  ASSERT_DOUBLE_EQ(AvailableHours(), 10);

  // create prints the request (table), and a retry with the same
  // --request-id answers with the same request.
  const std::vector<std::string> create = {
      "requests", "create", "--authority", kDarlington, "--role", kRole, "--specialism",
      "developmental-language-disorder", "--setting", "early-years-pvi", "--age-band", "early-years",
      "--hours", "6", "--weeks", "12", "--urgency", "soon", "--note",
      "Nursery cluster needs DLD assessment capacity this term", "--request-id", "darlington-slt-1"};
  auto first = Run(Authority(kDarlington), create);
  ASSERT_EQ(first.exit_code, 0) << Said(first);
  EXPECT_THAT(first.out, AllOf(HasSubstr("NAME"), HasSubstr("STATE"), HasSubstr("open"),
                               HasSubstr(kRole), HasSubstr("early-years-pvi"),
                               HasSubstr("6 h/wk x 12 wks"), HasSubstr("Darlington")));
  EXPECT_THAT(first.err, Not(HasSubstr("request id ")));  // given, so none is made up
  const std::string name = CreateRequest(kDarlington, 6, "darlington-slt-1");
  ASSERT_THAT(name, StartsWith("regions/north-east/supportRequests/"));
  EXPECT_THAT(first.out, HasSubstr(name));

  // list (CSV) shows it among Darlington's requests.
  {
    auto list = Run(Authority(kDarlington),
                    {"-o", "csv", "requests", "list", "--authority", kDarlington});
    ASSERT_EQ(list.exit_code, 0) << Said(list);
    auto rows = ParseCsv(list.out);
    ASSERT_TRUE(rows.ok()) << list.out;
    ASSERT_GE(rows->size(), 2u) << list.out;
    EXPECT_EQ((*rows)[0][0], "NAME");
    int found = 0;
    for (size_t i = 1; i < rows->size(); ++i) {
      const auto& row = (*rows)[i];
      ASSERT_GE(row.size(), 9u) << list.out;
      EXPECT_EQ(row[2], "Darlington") << list.out;  // only Darlington's
      if (row[0] != name) continue;
      ++found;
      EXPECT_EQ(row[1], "open");
      EXPECT_EQ(row[3], kRole);
      EXPECT_EQ(row[4], "early-years-pvi");
      EXPECT_EQ(row[5], "6");
      EXPECT_EQ(row[6], "12");
      EXPECT_EQ(row[7], "0");
    }
    EXPECT_EQ(found, 1) << list.out;
  }

  // show, field by field.
  {
    auto show = Run(Authority(kDarlington), {"requests", "show", name});
    ASSERT_EQ(show.exit_code, 0) << Said(show);
    EXPECT_THAT(show.out, AllOf(HasSubstr(name), HasSubstr("open"), HasSubstr("E06000005 (Darlington)"),
                                HasSubstr("developmental-language-disorder"), HasSubstr("early-years"),
                                HasSubstr("soon"), HasSubstr("no offers yet")));
  }

  // suggest ranks the Leeds therapist, with the reasons for the score.
  {
    auto suggest = Run(Authority(kDarlington), {"requests", "suggest", name});
    ASSERT_EQ(suggest.exit_code, 0) << Said(suggest);
    EXPECT_THAT(suggest.out, AllOf(HasSubstr("SCORE"), HasSubstr("REASONS"), HasSubstr(*specialist_),
                                   HasSubstr("Alex Example"), HasSubstr("Leeds"),
                                   HasSubstr("distance "), HasSubstr("capacity "),
                                   HasSubstr("works in early-years-pvi")));
    auto csv = Run(Authority(kDarlington), {"-o", "csv", "requests", "suggest", name});
    ASSERT_EQ(csv.exit_code, 0) << Said(csv);
    auto rows = ParseCsv(csv.out);
    ASSERT_TRUE(rows.ok()) << csv.out;
    ASSERT_EQ(rows->size(), 2u) << csv.out;  // header + the one therapist
    EXPECT_EQ((*rows)[1][1], *specialist_);
    EXPECT_EQ((*rows)[1][5], "10");  // all 10 hours free
    EXPECT_FALSE((*rows)[1][6].empty());
  }

  // Durham asks for the same 6 hours; Leeds offers the same therapist
  // before Darlington accepts (an offer holds no hours).
  const std::string durham = CreateRequest(kDurham, 6, "durham-slt-1");
  ASSERT_FALSE(durham.empty());
  {
    auto offer = Offer(Authority(kLeeds), durham);
    ASSERT_EQ(offer.exit_code, 0) << Said(offer);
    EXPECT_THAT(offer.out, AllOf(HasSubstr("offered"), HasSubstr("offer o-1: 6 h/wk")));
  }

  // The Yorkshire coordinator offers the therapist to Darlington.
  {
    auto offer = Offer(kYorkshireCoordinator, name);
    ASSERT_EQ(offer.exit_code, 0) << Said(offer);
    EXPECT_THAT(offer.out, AllOf(HasSubstr(name), HasSubstr("offered"), HasSubstr("offer o-1: 6 h/wk")));
    EXPECT_THAT(offer.err, HasSubstr("request id "));  // none given: one made up, printed for a retry
    auto json = ShowJson(name);
    EXPECT_EQ(json.value("state", ""), "SUPPORT_REQUEST_STATE_OFFERED");
    ASSERT_EQ(json["offers"].size(), 1u) << json.dump();
    EXPECT_EQ(json["offers"][0].value("offer_id", ""), "o-1");
    EXPECT_EQ(json["offers"][0].value("specialist", ""), *specialist_);
    EXPECT_EQ(json["offers"][0].value("provider_authority", ""), kLeeds);
    auto show = Run(Authority(kDarlington), {"requests", "show", name});
    EXPECT_THAT(show.out, AllOf(HasSubstr("OFFER"), HasSubstr("o-1"), HasSubstr("Leeds")));
  }
  EXPECT_DOUBLE_EQ(AvailableHours(), 10);  // offers hold no hours

  // Darlington accepts: the hours are committed at the Leeds registry.
  {
    auto accept = Run(Authority(kDarlington),
                      {"requests", "accept", name, "--offer", "o-1", "--request-id", "accept-darlington-1"});
    ASSERT_EQ(accept.exit_code, 0) << Said(accept);
    EXPECT_THAT(accept.out, AllOf(HasSubstr(name), HasSubstr("accepted")));
    EXPECT_EQ(ShowJson(name).value("state", ""), "SUPPORT_REQUEST_STATE_ACCEPTED");
    EXPECT_DOUBLE_EQ(AvailableHours(), 4);
    // A retry with the same --request-id is safe: same answer, hours taken once.
    auto again = Run(Authority(kDarlington),
                     {"requests", "accept", name, "--offer", "o-1", "--request-id", "accept-darlington-1"});
    EXPECT_EQ(again.exit_code, 0) << Said(again);
    EXPECT_THAT(again.out, HasSubstr("accepted"));
    EXPECT_DOUBLE_EQ(AvailableHours(), 4);
  }

  // Durham's offer was of 6 hours; only 4 remain: a plain sentence, exit 5,
  // nothing accepted.
  {
    auto accept = Run(Authority(kDurham),
                      {"requests", "accept", durham, "--offer", "o-1", "--request-id", "accept-durham-1"});
    EXPECT_EQ(accept.exit_code, 5) << Said(accept);
    EXPECT_THAT(accept.err, AllOf(HasSubstr("expertctl: requests accept: another request took the "
                                            "offered hours"),
                                  HasSubstr("nothing was accepted"),
                                  HasSubstr("Ask for another offer or decline this one.")));
    EXPECT_THAT(accept.err, Not(HasSubstr("terminate called")));
    EXPECT_EQ(ShowJson(durham).value("state", ""), "SUPPORT_REQUEST_STATE_OFFERED");
    EXPECT_DOUBLE_EQ(AvailableHours(), 4);
  }

  // The table form of get shows the shared hours.
  {
    auto get = Run(Authority(kLeeds), {"get", *specialist_});
    ASSERT_EQ(get.exit_code, 0) << Said(get);
    EXPECT_THAT(get.out, HasSubstr("10 contracted, 0 committed, 6 shared with other authorities, 4 available"));
  }
}

// Step 5: refusals and their exit codes.
TEST_F(ExpertctlSharingTest, RefusalsHavePlainMessagesAndExitCodes) {
  // Bad values are refused by the server field by field: exit 2.
  {
    auto r = Run(Authority(kDarlington),
                 {"requests", "create", "--authority", kDarlington, "--role", "wizard", "--setting",
                  "primary", "--hours", "0", "--weeks", "4", "--request-id", "bad-values-1"});
    EXPECT_EQ(r.exit_code, 2) << Said(r);
    EXPECT_THAT(r.err, AllOf(HasSubstr("the request has invalid fields"),
                             HasSubstr("support_request.role"), HasSubstr("wizard"),
                             HasSubstr("support_request.hours_per_week")));
  }
  // An unknown authority is refused before any call.
  {
    auto r = Run(Authority(kDarlington),
                 {"requests", "create", "--authority", "E99999999", "--role", kRole, "--setting",
                  "primary", "--hours", "2", "--weeks", "4"});
    EXPECT_EQ(r.exit_code, 2) << Said(r);
    EXPECT_THAT(r.err, HasSubstr("E99999999"));
  }

  // Another authority may not accept Darlington's offer: exit 9.
  const std::string offered = CreateRequest(kDarlington, 2, "refusals-offered-1");
  ASSERT_FALSE(offered.empty());
  {
    auto offer = Offer(Authority(kLeeds), offered);
    ASSERT_EQ(offer.exit_code, 0) << Said(offer);
    auto accept = Run(Authority(kHartlepool),
                      {"requests", "accept", offered, "--offer", "o-1", "--request-id", "hartlepool-1"});
    EXPECT_EQ(accept.exit_code, 9) << Said(accept);
    EXPECT_THAT(accept.err, HasSubstr("expertctl: requests accept: "));
    EXPECT_THAT(accept.err, Not(HasSubstr("terminate called")));
    EXPECT_EQ(ShowJson(offered).value("state", ""), "SUPPORT_REQUEST_STATE_OFFERED");
  }

  // Completing an OPEN request is not a legal transition: exit 5, with the
  // server's reason.
  const std::string open = CreateRequest(kDarlington, 2, "refusals-open-1");
  ASSERT_FALSE(open.empty());
  {
    auto complete = Run(Authority(kDarlington), {"requests", "complete", open});
    EXPECT_EQ(complete.exit_code, 5) << Said(complete);
    EXPECT_THAT(complete.err, AllOf(HasSubstr("expertctl: requests complete: "),
                                    HasSubstr("cannot complete"), HasSubstr("OPEN")));
    EXPECT_EQ(ShowJson(open).value("state", ""), "SUPPORT_REQUEST_STATE_OPEN");
  }
  // A request that does not exist: exit 4.
  {
    auto show = Run(Authority(kDarlington), {"requests", "show", "regions/north-east/supportRequests/nope"});
    EXPECT_EQ(show.exit_code, 4) << Said(show);
  }
}

// Step 6: escalation to the region's coordinator, and the reports.
TEST_F(ExpertctlSharingTest, EscalateThenReports) {
  const std::string name = CreateRequest(kDarlington, 3, "escalate-1");
  ASSERT_FALSE(name.empty());
  {
    auto escalate = Run(Authority(kDarlington),
                        {"requests", "escalate", name, "--reason", "no provider within reach this term"});
    ASSERT_EQ(escalate.exit_code, 0) << Said(escalate);
    EXPECT_THAT(escalate.out, AllOf(HasSubstr(name), HasSubstr("unmet")));
    auto json = ShowJson(name);
    EXPECT_EQ(json.value("state", ""), "SUPPORT_REQUEST_STATE_UNMET");
    EXPECT_EQ(json.value("escalation_owner", ""), kNorthEastCoordinator);
  }

  // report unmet (table) names the request and its owner.
  {
    auto table = Run(kNorthEastCoordinator, {"report", "unmet"});
    ASSERT_EQ(table.exit_code, 0) << Said(table);
    EXPECT_THAT(table.out, AllOf(HasSubstr(name), HasSubstr(kNorthEastCoordinator)));
  }
  // CSV: a header row and one row per unmet request (there is one).
  {
    auto csv = Run(kNorthEastCoordinator, {"report", "unmet", "-o", "csv"});
    ASSERT_EQ(csv.exit_code, 0) << Said(csv);
    auto rows = ParseCsv(csv.out);
    ASSERT_TRUE(rows.ok()) << csv.out;
    ASSERT_EQ(rows->size(), 2u) << csv.out;
    const std::vector<std::string> header = {"name", "region", "requesting_authority", "role",
                                             "specialisms", "setting", "hours_per_week", "weeks",
                                             "open_days", "escalation_owner", "state_reason"};
    EXPECT_EQ((*rows)[0], header);
    ASSERT_EQ((*rows)[1].size(), header.size()) << csv.out;
    EXPECT_EQ((*rows)[1][0], name);
    EXPECT_EQ((*rows)[1][2], kDarlington);
    EXPECT_EQ((*rows)[1][3], kRole);
    EXPECT_DOUBLE_EQ(std::stod((*rows)[1][6]), 3);  // "3.0"
    EXPECT_EQ((*rows)[1][7], "12");
    EXPECT_EQ((*rows)[1][9], kNorthEastCoordinator);
  }
  // The global -o works for reports too.
  {
    auto csv = Run(kNorthEastCoordinator, {"-o", "csv", "report", "unmet"});
    ASSERT_EQ(csv.exit_code, 0) << Said(csv);
    EXPECT_THAT(csv.out, StartsWith("name,region,"));
  }

  // report equity as one self-contained HTML page, written to --out.
  {
    const std::string file = dir_->File("equity.html");
    auto html = Run(kNorthEastCoordinator,
                    {"report", "equity", "--role", kRole, "-o", "html", "--out", file});
    ASSERT_EQ(html.exit_code, 0) << Said(html);
    EXPECT_THAT(html.out, HasSubstr(file));
    const std::string page = testing::ReadFile(file);
    EXPECT_THAT(page, StartsWith("<!DOCTYPE html>"));
    EXPECT_THAT(page, HasSubstr("<svg"));
    EXPECT_THAT(page, HasSubstr("Leeds"));
    EXPECT_THAT(page, Not(HasSubstr("http://")));
    EXPECT_THAT(page, Not(HasSubstr("https://")));
    EXPECT_THAT(page, Not(HasSubstr("<script")));
    EXPECT_THAT(page, HasSubstr("</html>"));
  }

  // report gaps (CSV): Northumberland has no therapist within 30 km, Leeds has.
  {
    auto gaps = Run(kNorthEastCoordinator,
                    {"report", "gaps", "--role", kRole, "--within-km", "30", "-o", "csv"});
    ASSERT_EQ(gaps.exit_code, 0) << Said(gaps);
    auto rows = ParseCsv(gaps.out);
    ASSERT_TRUE(rows.ok()) << gaps.out;
    ASSERT_GE(rows->size(), 2u) << gaps.out;
    EXPECT_EQ((*rows)[0][0], "region_code");
    bool northumberland = false, leeds = false;
    for (size_t i = 1; i < rows->size(); ++i) {
      ASSERT_GE((*rows)[i].size(), 3u) << gaps.out;
      northumberland |= (*rows)[i][2] == "E06000057";
      leeds |= (*rows)[i][2] == kLeeds;
    }
    EXPECT_TRUE(northumberland) << gaps.out;
    EXPECT_FALSE(leeds) << gaps.out;
  }
}

// Step 7: watch at a regional registry and through the directory.
TEST_F(ExpertctlSharingTest, WatchAtTheRegistryAndThroughTheDirectory) {
  const std::vector<std::string> watch = {"watch", "--region", "yorkshire-and-the-humber",
                                          "--count", "1", "--duration", "20"};
  {
    // Global options before the command: the registry's address and the
    // Yorkshire coordinator's key from a file.
    std::vector<std::string> args = {"--server", (*registries_)[1]->address(), "--token-file",
                                     testing::TokenFileFor(kYorkshireCoordinator)};
    args.insert(args.end(), watch.begin(), watch.end());
    // EXPERTCTL_SERVER names nothing listening: --server must win.
    auto r = RunAt("127.0.0.1:1", kYorkshireCoordinator, args, std::chrono::seconds(40));
    ASSERT_EQ(r.exit_code, 0) << Said(r);
    EXPECT_THAT(r.out, AllOf(HasSubstr(*specialist_), HasSubstr(kLeeds), HasSubstr(kRole),
                             HasSubstr("h/wk"), HasSubstr("[snapshot]"),
                             HasSubstr("-- end of snapshot; live changes follow")));
    // A registry's own token ("w1."), not the directory's merged one.
    EXPECT_THAT(r.err, HasSubstr("expertctl: watch: to continue from here: --resume w1."));
  }
  // The directory merges the regions' watches (it refused with
  // WATCH_NOT_FEDERATED before 3825af6): the same snapshot line, and a
  // resume token of its own.
  {
    auto r = RunAt(directory_->address(), kYorkshireCoordinator, watch, std::chrono::seconds(40));
    ASSERT_EQ(r.exit_code, 0) << Said(r);
    EXPECT_THAT(r.out, AllOf(HasSubstr(*specialist_), HasSubstr(kLeeds), HasSubstr(kRole),
                             HasSubstr("[snapshot]"), HasSubstr("-- end of snapshot")));
    EXPECT_THAT(r.err, HasSubstr("expertctl: watch: to continue from here: --resume d1."));
    EXPECT_THAT(r.err, Not(HasSubstr("does not merge capacity watches")));
  }
}

}  // namespace
}  // namespace expertise
