#include "services/security/audit_log.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/testutil/fake_clock.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::security {
namespace {

using ::expertise::testing::FakeClock;
using ::expertise::testing::IsOk;
using ::expertise::testing::StatusIs;
using ::expertise::testing::TempDir;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);  // 2023-11-14T22:13:20Z

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

// Complete lines, without their newlines.
std::vector<std::string> Lines(const std::string& content) {
  std::vector<std::string> lines = absl::StrSplit(content, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) absl::StrAppend(&out, line, "\n");
  return out;
}

AuditRecord Rec(std::string actor, std::string action, std::vector<std::string> resources,
                std::string outcome, std::string phase = "outcome", std::string via = "") {
  AuditRecord r;
  r.event_id = absl::StrCat("ev-", actor, "-", action);
  r.phase = std::move(phase);
  r.actor = std::move(actor);
  r.via = std::move(via);
  r.action = std::move(action);
  r.resources = std::move(resources);
  r.outcome = std::move(outcome);
  r.detail = "because";
  r.peer = "ipv4:127.0.0.1:5555";
  return r;
}

std::vector<int64_t> Sequences(const std::vector<AuditRecord>& records) {
  std::vector<int64_t> out;
  for (const auto& r : records) out.push_back(r.sequence);
  return out;
}

// Appends `n` records to a fresh log at `path`, a minute apart.
std::vector<AuditRecord> WriteLog(const std::string& path, FakeClock* clock, int n) {
  auto log = AuditLog::Open(path, clock);
  EXPECT_THAT(log, IsOk());
  std::vector<AuditRecord> out;
  if (!log.ok()) return out;
  for (int i = 1; i <= n; ++i) {
    clock->Advance(absl::Minutes(1));
    auto r = (*log)->Append(Rec("authority/E09000033", "UpdateSpecialist",
                                {absl::StrCat("regions/london/specialists/s-", i)}, "OK"));
    EXPECT_THAT(r, IsOk());
    if (r.ok()) out.push_back(*r);
  }
  return out;
}

class AuditLogTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string path_ = dir_.File("audit.jsonl");
  FakeClock clock_{kT0};
};

TEST_F(AuditLogTest, AppendFillsChainAndReadRoundTrips) {
  auto log = AuditLog::Open(path_, &clock_);
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ((*log)->path(), path_);
  EXPECT_EQ(std::filesystem::status(path_).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  AuditRecord in = Rec("authority/E09000033", "UpdateSpecialist", {"regions/london/specialists/s-1"}, "",
                       "attempt", "service/directory");
  in.sequence = 99;  // assigned by Append, whatever the caller says
  in.hash = "forged";
  in.detail = "quote \" newline \n tab \t";
  std::vector<AuditRecord> appended;
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(1));
    ASSERT_OK_AND_ASSIGN(AuditRecord r, (*log)->Append(in));
    appended.push_back(r);
  }
  EXPECT_EQ(Sequences(appended), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(appended[0].prev_hash, std::string(64, '0'));
  EXPECT_EQ(appended[0].time, kT0 + absl::Seconds(1));
  EXPECT_EQ(appended[0].detail, in.detail);
  for (size_t i = 1; i < appended.size(); ++i) {
    EXPECT_EQ(appended[i].prev_hash, appended[i - 1].hash);
    EXPECT_NE(appended[i].hash, appended[i - 1].hash);
  }

  ASSERT_OK_AND_ASSIGN(auto read, (*log)->Read(AuditQuery{}));
  EXPECT_THAT(read, ElementsAreArray(appended));

  // The file is exactly the canonical JSON of each record, one per line.
  std::string expected;
  for (const auto& r : appended) absl::StrAppend(&expected, AuditRecordToJson(r).dump(), "\n");
  EXPECT_EQ(ReadFile(path_), expected);
  EXPECT_THAT(VerifyAuditLog(path_), IsOk());
}

TEST_F(AuditLogTest, TimeIsStoredAsRfc3339Microseconds) {
  auto log = AuditLog::Open(path_, &clock_);
  ASSERT_THAT(log, IsOk());
  clock_.Set(kT0 + absl::Nanoseconds(1500));
  ASSERT_OK_AND_ASSIGN(AuditRecord r, (*log)->Append(Rec("a", "Get", {}, "OK")));
  EXPECT_EQ(r.time, kT0 + absl::Microseconds(1));
  const nlohmann::json j = AuditRecordToJson(r);
  EXPECT_EQ(j["time"], "2023-11-14T22:13:20.000001Z");
  EXPECT_EQ(j.size(), 13u);
  for (const char* key : {"sequence", "time", "event_id", "phase", "actor", "via", "action", "resources",
                          "outcome", "detail", "peer", "prev_hash", "hash"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  ASSERT_OK_AND_ASSIGN(auto read, (*log)->Read(AuditQuery{}));
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0], r);
}

TEST_F(AuditLogTest, InvalidUtf8IsStoredAsReplacementCharacter) {
  auto log = AuditLog::Open(path_, &clock_);
  ASSERT_THAT(log, IsOk());
  ASSERT_OK_AND_ASSIGN(AuditRecord r,
                       (*log)->Append(Rec("a\xff", "Get", {"regions/x/specialists/\xc3"}, "OK")));
  EXPECT_EQ(r.actor, "a\xEF\xBF\xBD");
  EXPECT_EQ(r.resources[0], "regions/x/specialists/\xEF\xBF\xBD");
  ASSERT_OK_AND_ASSIGN(auto read, (*log)->Read(AuditQuery{}));
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0], r);
  EXPECT_THAT(VerifyAuditLog(path_), IsOk());
}

// --- Filters -----------------------------------------------------------------

struct FilterCase {
  const char* name;
  std::function<void(AuditQuery&)> set;
  std::vector<int64_t> expected;
};

void PrintTo(const FilterCase& c, std::ostream* os) { *os << c.name; }

// Every append is an fdatasync (milliseconds on disk), so logs the cases only
// read are written once per suite.
class AuditLogFilterTest : public ::testing::TestWithParam<FilterCase> {
 protected:
  // Records 1..6 at kT0 + 1..6 minutes.
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    FakeClock clock(kT0);
    auto log = AuditLog::Open(dir_->File("audit.jsonl"), &clock);
    ASSERT_THAT(log, IsOk());
    for (const auto& r : {
             Rec("authority/E09000033", "UpdateSpecialist", {"regions/london/specialists/s-1"}, "", "attempt"),
             Rec("authority/E09000033", "UpdateSpecialist", {"regions/london/specialists/s-1"}, "OK"),
             Rec("authority/E08000025", "CreateSpecialist", {"regions/west-midlands/specialists/s-2"}, "OK"),
             Rec("authority/E09000033", "DeleteSpecialist",
                 {"regions/london/specialists/s-3", "regions/london/specialists/s-4"}, "PERMISSION_DENIED",
                 "denied", "service/directory"),
             Rec("service/importer", "ImportSpecialists", {}, "OK"),
             Rec("authority/E08000025", "UpdateSpecialist", {"regions/west-midlands/specialists/s-2"},
                 "NOT_FOUND"),
         }) {
      clock.Advance(absl::Minutes(1));
      ASSERT_THAT((*log)->Append(r), IsOk());
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static inline TempDir* dir_ = nullptr;
};

TEST_P(AuditLogFilterTest, ReturnsMatchingRecordsInSequenceOrder) {
  FakeClock clock(kT0);
  auto log = AuditLog::Open(dir_->File("audit.jsonl"), &clock);
  ASSERT_THAT(log, IsOk());
  AuditQuery query;
  GetParam().set(query);
  ASSERT_OK_AND_ASSIGN(auto read, (*log)->Read(query));
  EXPECT_EQ(Sequences(read), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AuditLogFilterTest,
    ::testing::Values(
        FilterCase{"All", [](AuditQuery&) {}, {1, 2, 3, 4, 5, 6}},
        FilterCase{"Actor", [](AuditQuery& q) { q.actor = "authority/E09000033"; }, {1, 2, 4}},
        FilterCase{"ActorNoMatch", [](AuditQuery& q) { q.actor = "authority/E0900003"; }, {}},
        FilterCase{"Action", [](AuditQuery& q) { q.action = "UpdateSpecialist"; }, {1, 2, 6}},
        FilterCase{"ResourcePrefix", [](AuditQuery& q) { q.resource_prefix = "regions/london/"; }, {1, 2, 4}},
        FilterCase{"ResourcePrefixMatchesAnyResource",
                   [](AuditQuery& q) { q.resource_prefix = "regions/london/specialists/s-4"; }, {4}},
        FilterCase{"Outcome", [](AuditQuery& q) { q.outcome = "OK"; }, {2, 3, 5}},
        FilterCase{"Combined",
                   [](AuditQuery& q) {
                     q.actor = "authority/E09000033";
                     q.outcome = "PERMISSION_DENIED";
                   },
                   {4}},
        FilterCase{"SinceInclusive", [](AuditQuery& q) { q.since = kT0 + absl::Minutes(3); }, {3, 4, 5, 6}},
        FilterCase{"UntilExclusive", [](AuditQuery& q) { q.until = kT0 + absl::Minutes(3); }, {1, 2}},
        FilterCase{"SinceAndUntil",
                   [](AuditQuery& q) {
                     q.since = kT0 + absl::Minutes(2);
                     q.until = kT0 + absl::Minutes(4);
                   },
                   {2, 3}},
        FilterCase{"AfterSequence", [](AuditQuery& q) { q.after_sequence = 4; }, {5, 6}},
        FilterCase{"AfterLastSequence", [](AuditQuery& q) { q.after_sequence = 6; }, {}},
        FilterCase{"Limit", [](AuditQuery& q) { q.limit = 2; }, {1, 2}},
        FilterCase{"PageTwo",
                   [](AuditQuery& q) {
                     q.after_sequence = 2;
                     q.limit = 2;
                   },
                   {3, 4}},
        FilterCase{"LimitCountsMatchesOnly",
                   [](AuditQuery& q) {
                     q.actor = "authority/E08000025";
                     q.limit = 1;
                   },
                   {3}},
        FilterCase{"ZeroLimitMeansDefault", [](AuditQuery& q) { q.limit = 0; }, {1, 2, 3, 4, 5, 6}},
        FilterCase{"NegativeLimitMeansDefault", [](AuditQuery& q) { q.limit = -5; }, {1, 2, 3, 4, 5, 6}},
        FilterCase{"NegativeAfterSequence", [](AuditQuery& q) { q.after_sequence = -3; }, {1, 2, 3, 4, 5, 6}}),
    [](const auto& test_case) { return test_case.param.name; });

TEST_F(AuditLogTest, PagingWithCursorVisitsEveryMatchOnce) {
  WriteLog(path_, &clock_, 7);
  auto log = AuditLog::Open(path_, &clock_);
  ASSERT_THAT(log, IsOk());
  std::vector<int64_t> seen;
  AuditQuery query;
  query.limit = 3;
  for (int page = 0; page < 10; ++page) {
    ASSERT_OK_AND_ASSIGN(auto read, (*log)->Read(query));
    if (read.empty()) break;
    EXPECT_LE(read.size(), 3u);
    for (const auto& r : read) seen.push_back(r.sequence);
    query.after_sequence = read.back().sequence;
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
}

// --- Reopening, tampering, torn writes ----------------------------------------

TEST_F(AuditLogTest, ReopenContinuesSequenceAndChain) {
  const auto first = WriteLog(path_, &clock_, 3);
  ASSERT_EQ(first.size(), 3u);
  auto log = AuditLog::Open(path_, &clock_);
  ASSERT_THAT(log, IsOk());
  ASSERT_OK_AND_ASSIGN(AuditRecord r4, (*log)->Append(Rec("a", "Get", {}, "OK")));
  ASSERT_OK_AND_ASSIGN(AuditRecord r5, (*log)->Append(Rec("a", "Get", {}, "OK")));
  EXPECT_EQ(r4.sequence, 4);
  EXPECT_EQ(r4.prev_hash, first.back().hash);
  EXPECT_EQ(r5.sequence, 5);
  EXPECT_EQ(r5.prev_hash, r4.hash);
  EXPECT_THAT(VerifyAuditLog(path_), IsOk());
  ASSERT_OK_AND_ASSIGN(auto read, (*log)->Read(AuditQuery{}));
  EXPECT_EQ(Sequences(read), (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

TEST_F(AuditLogTest, EmptyLogVerifiesAndSecondWriterIsRefused) {
  auto log = AuditLog::Open(path_, &clock_);
  ASSERT_THAT(log, IsOk());
  EXPECT_THAT(VerifyAuditLog(path_), IsOk());
  // Two writers would fork the chain.
  EXPECT_THAT(AuditLog::Open(path_, &clock_), StatusIs(absl::StatusCode::kFailedPrecondition));
  log->reset();
  EXPECT_THAT(AuditLog::Open(path_, &clock_), IsOk());
}

TEST(VerifyAuditLogTest, MissingFileIsNotFound) {
  TempDir dir;
  EXPECT_THAT(VerifyAuditLog(dir.File("absent.jsonl")), StatusIs(absl::StatusCode::kNotFound));
}

// Five records (see WriteLog) written once per suite; each test gets a copy.
template <typename Param>
class PristineLogTest : public ::testing::TestWithParam<Param> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    FakeClock clock(kT0);
    records_ = new std::vector<AuditRecord>(WriteLog(dir_->File("pristine.jsonl"), &clock, 5));
  }
  static void TearDownTestSuite() {
    delete records_;
    records_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(records_->size(), 5u);
    std::filesystem::copy_file(dir_->File("pristine.jsonl"), path_);
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::vector<AuditRecord>* records_ = nullptr;
  TempDir tmp_;
  const std::string path_ = tmp_.File("audit.jsonl");
  FakeClock clock_{kT0 + absl::Hours(1)};
};

struct TamperCase {
  const char* name;
  std::function<void(std::vector<std::string>&)> tamper;  // of lines 1..5, at index 0..4
  std::string message;  // part of the DATA_LOSS message
};

void PrintTo(const TamperCase& c, std::ostream* os) { *os << c.name; }

class AuditLogTamperTest : public PristineLogTest<TamperCase> {};

TEST_P(AuditLogTamperTest, VerifyAndOpenReportDataLoss) {
  const std::string& path = path_;
  ASSERT_THAT(VerifyAuditLog(path), IsOk());
  std::vector<std::string> lines = Lines(ReadFile(path));
  GetParam().tamper(lines);
  WriteFile(path, JoinLines(lines));

  const absl::Status verify = VerifyAuditLog(path);
  EXPECT_THAT(verify, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(std::string(verify.message()), HasSubstr(GetParam().message));
  const auto open = AuditLog::Open(path, &clock_);
  EXPECT_THAT(open, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(std::string(open.status().message()), HasSubstr(GetParam().message));
}

// Replaces the first `from` in `line` by `to`.
void ReplaceOnce(std::string& line, const std::string& from, const std::string& to) {
  const size_t at = line.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << line;
  line.replace(at, from.size(), to);
}

// Changes one hex digit of the given hash field.
void FlipHashDigit(std::string& line, const std::string& key) {
  const size_t at = line.find(absl::StrCat("\"", key, "\":\""));
  ASSERT_NE(at, std::string::npos);
  char& c = line[at + key.size() + 4];
  c = c == '0' ? '1' : '0';
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AuditLogTamperTest,
    ::testing::Values(
        TamperCase{"EditOneByteOfMiddleRecord",
                   [](auto& l) { ReplaceOnce(l[2], "E09000033", "E09000034"); }, "sequence 3 (line 3)"},
        TamperCase{"EditResource", [](auto& l) { ReplaceOnce(l[2], "s-3", "s-9"); }, "sequence 3"},
        TamperCase{"EditTime", [](auto& l) { ReplaceOnce(l[2], "22:16", "22:17"); }, "sequence 3"},
        TamperCase{"EditHash", [](auto& l) { FlipHashDigit(l[2], "hash"); }, "sequence 3"},
        TamperCase{"EditPrevHash", [](auto& l) { FlipHashDigit(l[2], "prev_hash"); }, "sequence 3"},
        TamperCase{"NonCanonicalWhitespace", [](auto& l) { l[2].insert(1, " "); }, "sequence 3"},
        TamperCase{"DeleteMiddleLine", [](auto& l) { l.erase(l.begin() + 2); }, "line 3"},
        TamperCase{"DeleteFirstLine", [](auto& l) { l.erase(l.begin()); }, "line 1"},
        TamperCase{"SwapLines", [](auto& l) { std::swap(l[1], l[2]); }, "line 2"},
        TamperCase{"DuplicateLine", [](auto& l) { l.insert(l.begin() + 3, l[2]); }, "line 4"}),
    [](const auto& test_case) { return test_case.param.name; });

struct MalformedCase {
  const char* name;
  std::function<std::string(const std::string&)> replace;  // line 2 -> its replacement
};

void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

class AuditLogMalformedTest : public PristineLogTest<MalformedCase> {};

TEST_P(AuditLogMalformedTest, OpenFailsNamingTheLine) {
  const std::string& path = path_;
  std::vector<std::string> lines = Lines(ReadFile(path));
  lines[1] = GetParam().replace(lines[1]);
  WriteFile(path, JoinLines(lines));
  const std::string before = ReadFile(path);

  const auto open = AuditLog::Open(path, &clock_);
  EXPECT_THAT(open, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(std::string(open.status().message()), HasSubstr("line 2"));
  EXPECT_THAT(VerifyAuditLog(path), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(ReadFile(path), before);  // left for a human to look at
}

nlohmann::json ParsedLine(const std::string& line) { return nlohmann::json::parse(line); }

INSTANTIATE_TEST_SUITE_P(
    Cases, AuditLogMalformedTest,
    ::testing::Values(
        MalformedCase{"NotJson", [](const std::string&) { return std::string("not json"); }},
        MalformedCase{"EmptyLine", [](const std::string&) { return std::string(); }},
        MalformedCase{"CutShort", [](const std::string& l) { return l.substr(0, l.size() / 2); }},
        MalformedCase{"Array", [](const std::string&) { return std::string("[]"); }},
        MalformedCase{"EmptyObject", [](const std::string&) { return std::string("{}"); }},
        MalformedCase{"SequenceAsString",
                      [](const std::string& l) {
                        auto j = ParsedLine(l);
                        j["sequence"] = "2";
                        return j.dump();
                      }},
        MalformedCase{"ResourceNotString",
                      [](const std::string& l) {
                        auto j = ParsedLine(l);
                        j["resources"] = {1};
                        return j.dump();
                      }},
        MalformedCase{"BadTime",
                      [](const std::string& l) {
                        auto j = ParsedLine(l);
                        j["time"] = "yesterday";
                        return j.dump();
                      }},
        MalformedCase{"ShortHash",
                      [](const std::string& l) {
                        auto j = ParsedLine(l);
                        j["hash"] = "abc";
                        return j.dump();
                      }},
        MalformedCase{"MissingField",
                      [](const std::string& l) {
                        auto j = ParsedLine(l);
                        j.erase("peer");
                        return j.dump();
                      }},
        MalformedCase{"ExtraField",
                      [](const std::string& l) {
                        auto j = ParsedLine(l);
                        j["extra"] = 1;
                        return j.dump();
                      }}),
    [](const auto& test_case) { return test_case.param.name; });

struct TornCase {
  const char* name;
  std::function<std::string(const std::string& last_line)> tail;  // written without a newline
};

void PrintTo(const TornCase& c, std::ostream* os) { *os << c.name; }

class AuditLogTornTest : public PristineLogTest<TornCase> {};

TEST_P(AuditLogTornTest, OpenCutsTheTornLineAndTheChainContinues) {
  const std::string& path = path_;
  const std::string complete = ReadFile(path);
  WriteFile(path, complete + GetParam().tail(Lines(complete).back()));
  // Not a record yet: Verify ignores it (it may be a write in flight).
  EXPECT_THAT(VerifyAuditLog(path), IsOk());

  auto log = AuditLog::Open(path, &clock_);
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ(ReadFile(path), complete);
  ASSERT_OK_AND_ASSIGN(AuditRecord r, (*log)->Append(Rec("a", "Get", {}, "OK")));
  EXPECT_EQ(r.sequence, 6);
  EXPECT_EQ(r.prev_hash, records_->back().hash);
  EXPECT_THAT(VerifyAuditLog(path), IsOk());
  ASSERT_OK_AND_ASSIGN(auto read, (*log)->Read(AuditQuery{}));
  EXPECT_EQ(Sequences(read), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AuditLogTornTest,
    ::testing::Values(
        TornCase{"OneByte", [](const std::string&) { return std::string("{"); }},
        TornCase{"HalfARecord", [](const std::string& l) { return l.substr(0, l.size() / 2); }},
        // A whole record but for its newline: its write was still cut short.
        TornCase{"AllButTheNewline", [](const std::string& l) { return l; }},
        TornCase{"Binary", [](const std::string&) { return std::string("\xff\x00\xfe", 3); }}),
    [](const auto& test_case) { return test_case.param.name; });

// --- Limits and I/O failures ---------------------------------------------------

struct LimitCase {
  const char* name;
  std::function<void(AuditRecord&)> mutate;
  bool ok;
};

void PrintTo(const LimitCase& c, std::ostream* os) { *os << c.name; }

class AuditLogLimitTest : public ::testing::TestWithParam<LimitCase> {};

TEST_P(AuditLogLimitTest, OversizedFieldsAreInvalidArgument) {
  TempDir dir;
  FakeClock clock(kT0);
  auto log = AuditLog::Open(dir.File("audit.jsonl"), &clock);
  ASSERT_THAT(log, IsOk());
  AuditRecord r = Rec("authority/E09000033", "UpdateSpecialist", {"regions/london/specialists/s-1"}, "OK");
  GetParam().mutate(r);
  if (GetParam().ok) {
    EXPECT_THAT((*log)->Append(r), IsOk());
    return;
  }
  EXPECT_THAT((*log)->Append(r), StatusIs(absl::StatusCode::kInvalidArgument));
  // A refused record uses no sequence number.
  ASSERT_OK_AND_ASSIGN(AuditRecord next, (*log)->Append(Rec("a", "Get", {}, "OK")));
  EXPECT_EQ(next.sequence, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AuditLogLimitTest,
    ::testing::Values(
        LimitCase{"DetailAtLimit", [](AuditRecord& r) { r.detail.assign(kAuditMaxDetailBytes, 'x'); }, true},
        LimitCase{"DetailOverLimit",
                  [](AuditRecord& r) { r.detail.assign(kAuditMaxDetailBytes + 1, 'x'); }, false},
        LimitCase{"LongEventId", [](AuditRecord& r) { r.event_id.assign(kAuditMaxIdBytes + 1, 'e'); }, false},
        LimitCase{"LongPhase", [](AuditRecord& r) { r.phase.assign(kAuditMaxIdBytes + 1, 'p'); }, false},
        LimitCase{"LongAction", [](AuditRecord& r) { r.action.assign(kAuditMaxIdBytes + 1, 'a'); }, false},
        LimitCase{"LongOutcome", [](AuditRecord& r) { r.outcome.assign(kAuditMaxIdBytes + 1, 'O'); }, false},
        LimitCase{"LongActor",
                  [](AuditRecord& r) { r.actor.assign(kAuditMaxPrincipalBytes + 1, 'a'); }, false},
        LimitCase{"LongVia", [](AuditRecord& r) { r.via.assign(kAuditMaxPrincipalBytes + 1, 'v'); }, false},
        LimitCase{"LongPeer", [](AuditRecord& r) { r.peer.assign(kAuditMaxPrincipalBytes + 1, 'p'); }, false},
        LimitCase{"LongResource",
                  [](AuditRecord& r) { r.resources.push_back(std::string(kAuditMaxResourceBytes + 1, 'r')); },
                  false},
        LimitCase{"ResourcesAtLimit",
                  [](AuditRecord& r) { r.resources.assign(kAuditMaxResources, "regions/x/specialists/s"); },
                  true},
        LimitCase{"TooManyResources",
                  [](AuditRecord& r) { r.resources.assign(kAuditMaxResources + 1, "r"); }, false}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(AuditLogDeviceTest, FullDiskIsUnavailableAndNothingElseBreaks) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  FakeClock clock(kT0);
  auto full = AuditLog::Open("/dev/full", &clock);
  ASSERT_THAT(full, IsOk());
  for (int i = 0; i < 2; ++i) {  // the second time too: the failure is not sticky or fatal
    const auto r = (*full)->Append(Rec("a", "Get", {}, "OK"));
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("audit trail unavailable"));
  }
  ASSERT_OK_AND_ASSIGN(auto read, (*full)->Read(AuditQuery{}));
  EXPECT_TRUE(read.empty());

  // An ordinary log alongside is unaffected.
  TempDir dir;
  auto ok = AuditLog::Open(dir.File("audit.jsonl"), &clock);
  ASSERT_THAT(ok, IsOk());
  ASSERT_OK_AND_ASSIGN(AuditRecord r, (*ok)->Append(Rec("a", "Get", {}, "OK")));
  EXPECT_EQ(r.sequence, 1);
}

// Lowers RLIMIT_FSIZE (which binds root too) so the next write is cut short,
// with SIGXFSZ ignored so it fails with a short count / EFBIG instead of
// killing the process. Restores both on destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_limit_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit limit = old_limit_;
    limit.rlim_cur = bytes;
    ok_ = setrlimit(RLIMIT_FSIZE, &limit) == 0;
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_limit_);
    signal(SIGXFSZ, old_handler_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit old_limit_;
  sighandler_t old_handler_;
  bool ok_ = false;
};

TEST_F(AuditLogTest, ShortWriteIsCutBackAndTheChainContinues) {
  const auto first = WriteLog(path_, &clock_, 3);
  ASSERT_EQ(first.size(), 3u);
  const std::string before = ReadFile(path_);
  auto log = AuditLog::Open(path_, &clock_);
  ASSERT_THAT(log, IsOk());
  {
    FileSizeLimit limit(before.size() + 20);
    ASSERT_TRUE(limit.ok());
    const auto r = (*log)->Append(Rec("a", "Get", {}, "OK"));
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("short write"));
    // Writing nothing at all (EFBIG) fails the same way.
    FileSizeLimit none(before.size());
    EXPECT_THAT((*log)->Append(Rec("a", "Get", {}, "OK")), StatusIs(absl::StatusCode::kUnavailable));
  }
  EXPECT_EQ(ReadFile(path_), before);
  ASSERT_OK_AND_ASSIGN(AuditRecord r, (*log)->Append(Rec("a", "Get", {}, "OK")));
  EXPECT_EQ(r.sequence, 4);
  EXPECT_EQ(r.prev_hash, first.back().hash);
  EXPECT_THAT(VerifyAuditLog(path_), IsOk());
}

// --- Concurrency ---------------------------------------------------------------

// A TempDir on tmpfs when there is one: there fdatasync costs nothing, where
// on disk 1600 of them take seconds. This test is about the locking and the
// chain, not the disk.
std::unique_ptr<TempDir> TmpfsDir() {
  if (access("/dev/shm", W_OK) != 0) return std::make_unique<TempDir>();
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old ? old : "";
  setenv("TMPDIR", "/dev/shm", 1);
  auto dir = std::make_unique<TempDir>();
  if (old) {
    setenv("TMPDIR", saved.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
  return dir;
}

TEST(AuditLogConcurrencyTest, ConcurrentAppendsGetUniqueSequencesAndTheChainVerifies) {
  const bool tmpfs = access("/dev/shm", W_OK) == 0;
  const int kThreads = 8;
  const int kPerThread = tmpfs ? 200 : 25;
  const auto dir = TmpfsDir();
  const std::string path = dir->File("audit.jsonl");
  FakeClock clock(kT0);
  auto log = AuditLog::Open(path, &clock);
  ASSERT_THAT(log, IsOk());
  std::vector<std::vector<int64_t>> sequences(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        AuditRecord r = Rec(absl::StrCat("authority/t", t), "UpdateSpecialist", {}, "OK");
        r.event_id = absl::StrCat(t, "-", i);
        auto appended = (*log)->Append(std::move(r));
        if (!appended.ok()) {
          ADD_FAILURE() << appended.status();
          return;
        }
        sequences[t].push_back(appended->sequence);
      }
    });
  }
  // Reads of the growing tail run alongside and only ever see whole records.
  int64_t seen = 0;
  for (int i = 0; i < 50; ++i) {  // EXPECT, not ASSERT: the threads must be joined
    AuditQuery tail;
    tail.after_sequence = std::max<int64_t>(seen - 10, 0);
    auto read = (*log)->Read(tail);
    EXPECT_THAT(read, IsOk());
    if (!read.ok()) break;
    for (size_t k = 0; k < read->size(); ++k) {
      EXPECT_EQ((*read)[k].sequence, tail.after_sequence + static_cast<int64_t>(k) + 1);
    }
    if (!read->empty()) seen = read->back().sequence;
  }
  for (auto& thread : threads) thread.join();

  std::set<int64_t> everything;
  for (const auto& per_thread : sequences) {
    EXPECT_TRUE(std::is_sorted(per_thread.begin(), per_thread.end()));
    everything.insert(per_thread.begin(), per_thread.end());
  }
  ASSERT_EQ(everything.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*everything.begin(), 1);
  EXPECT_EQ(*everything.rbegin(), kThreads * kPerThread);
  EXPECT_THAT(VerifyAuditLog(path), IsOk());
  EXPECT_EQ(Lines(ReadFile(path)).size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace expertise::security
