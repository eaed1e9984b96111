#include "services/security/api_keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::security {
namespace {

using ::expertise::testing::IsOk;
using ::expertise::testing::StatusIs;
using ::expertise::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
const std::string kHash(64, 'a');                           // any well-formed digest

// gMock's string matchers want std::string, not Debian's distinct absl::string_view.
template <typename T>
std::string Message(const absl::StatusOr<T>& result) {
  return std::string(result.status().message());
}

// The part of a token after "ek_<key id>_".
std::string SecretOf(const std::string& token) { return token.substr(token.rfind('_') + 1); }

void WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  // Explicit, so the result does not depend on the test runner's umask.
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

TEST(Sha256HexTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeysTest, GenerateParseVerifyRoundTrip) {
  ASSERT_OK_AND_ASSIGN(GeneratedKey key, GenerateApiKey("authority/E09000033", "camden-1"));
  EXPECT_THAT(key.token, MatchesRegex("ek_camden-1_[A-Za-z0-9_-]{43}"));
  EXPECT_EQ(key.keyring_line,
            absl::StrCat("camden-1 authority/E09000033 sha256:", Sha256Hex(key.token)));
  ASSERT_OK_AND_ASSIGN(ApiKeyring ring, ApiKeyring::Parse(key.keyring_line));
  EXPECT_EQ(ring.size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::string principal, ring.Verify(key.token, kNow));
  EXPECT_EQ(principal, "authority/E09000033");
}

TEST(ApiKeysTest, GeneratedKeysAreRandom) {
  ASSERT_OK_AND_ASSIGN(GeneratedKey a, GenerateApiKey("admin/alice", ""));
  ASSERT_OK_AND_ASSIGN(GeneratedKey b, GenerateApiKey("admin/alice", ""));
  EXPECT_THAT(a.token, MatchesRegex("ek_[0-9a-f]{8}_[A-Za-z0-9_-]{43}"));
  EXPECT_NE(a.token, b.token);
  EXPECT_NE(SecretOf(a.token), SecretOf(b.token));
  ASSERT_OK_AND_ASSIGN(ApiKeyring ring,
                       ApiKeyring::Parse(absl::StrCat(a.keyring_line, "\n", b.keyring_line, "\n")));
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_THAT(ring.Verify(a.token, kNow), IsOk());
  EXPECT_THAT(ring.Verify(b.token, kNow), IsOk());
}

TEST(ApiKeysTest, GenerateRejectsBadInput) {
  EXPECT_THAT(GenerateApiKey("alice", "k1"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(GenerateApiKey("Admin/alice", "k1"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(GenerateApiKey("admin/alice", "K1"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(GenerateApiKey("admin/alice", "k_1"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(GenerateApiKey("admin/alice", std::string(33, 'k')),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ApiKeysTest, ExpiryRoundTripsAndIsEnforced) {
  const absl::Time expires = kNow + absl::Hours(24) + absl::Milliseconds(250);
  ASSERT_OK_AND_ASSIGN(GeneratedKey key, GenerateApiKey("importer/E06000001", "imp", expires));
  EXPECT_THAT(key.keyring_line, HasSubstr(" expires=2026-01-02T00:00:00.25+00:00"));
  ASSERT_OK_AND_ASSIGN(ApiKeyring ring, ApiKeyring::Parse(key.keyring_line));
  EXPECT_THAT(ring.Verify(key.token, kNow), IsOk());
  EXPECT_THAT(ring.Verify(key.token, expires - absl::Nanoseconds(1)), IsOk());
  for (absl::Time t : {expires, expires + absl::Hours(1)}) {
    auto result = ring.Verify(key.token, t);
    EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnauthenticated));
    EXPECT_THAT(Message(result), HasSubstr("expired"));
    EXPECT_THAT(Message(result), Not(HasSubstr(SecretOf(key.token))));
  }
}

TEST(ApiKeysTest, ExpiryWrittenByHandWithOffset) {
  ASSERT_OK_AND_ASSIGN(GeneratedKey key, GenerateApiKey("coordinator/E12000007", "c1"));
  // 2026-01-01T01:00:00+01:00 is kNow.
  ASSERT_OK_AND_ASSIGN(
      ApiKeyring ring,
      ApiKeyring::Parse(absl::StrCat(key.keyring_line, " expires=2026-01-01T01:00:00+01:00")));
  EXPECT_THAT(ring.Verify(key.token, kNow - absl::Seconds(1)), IsOk());
  EXPECT_THAT(ring.Verify(key.token, kNow), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(ApiKeysTest, WrongSecretIsRefusedWithoutEchoingIt) {
  ASSERT_OK_AND_ASSIGN(GeneratedKey key, GenerateApiKey("authority/E09000033", "k1"));
  ASSERT_OK_AND_ASSIGN(ApiKeyring ring, ApiKeyring::Parse(key.keyring_line));
  std::string wrong = key.token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  auto result = ring.Verify(wrong, kNow);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Message(result), HasSubstr("wrong secret"));
  EXPECT_THAT(Message(result), HasSubstr("\"k1\""));
  EXPECT_THAT(Message(result), Not(HasSubstr(SecretOf(wrong))));
  EXPECT_THAT(Message(result), Not(HasSubstr(SecretOf(key.token))));
}

TEST(ApiKeysTest, WrongSecretOnExpiredKeySaysWrongSecret) {
  ASSERT_OK_AND_ASSIGN(GeneratedKey key, GenerateApiKey("authority/E09000033", "k1", kNow));
  ASSERT_OK_AND_ASSIGN(ApiKeyring ring, ApiKeyring::Parse(key.keyring_line));
  std::string wrong = key.token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  auto result = ring.Verify(wrong, kNow + absl::Hours(1));
  EXPECT_THAT(Message(result), HasSubstr("wrong secret"));
}

TEST(ApiKeysTest, UnknownKeyId) {
  ASSERT_OK_AND_ASSIGN(GeneratedKey key, GenerateApiKey("authority/E09000033", "known"));
  ASSERT_OK_AND_ASSIGN(GeneratedKey other, GenerateApiKey("authority/E09000033", "other"));
  ASSERT_OK_AND_ASSIGN(ApiKeyring ring, ApiKeyring::Parse(key.keyring_line));
  auto result = ring.Verify(other.token, kNow);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Message(result), HasSubstr("unknown API key id \"other\""));
  EXPECT_THAT(Message(result), Not(HasSubstr(SecretOf(other.token))));
}

TEST(ApiKeysTest, EmptyKeyringRefusesEverything) {
  ASSERT_OK_AND_ASSIGN(ApiKeyring ring, ApiKeyring::Parse(""));
  EXPECT_EQ(ring.size(), 0u);
  ASSERT_OK_AND_ASSIGN(GeneratedKey key, GenerateApiKey("admin/alice", "a"));
  EXPECT_THAT(ring.Verify(key.token, kNow), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(ApiKeyring().Verify(key.token, kNow), StatusIs(absl::StatusCode::kUnauthenticated));
}

struct MalformedCase {
  const char* name;
  std::string token;
  std::string secret;  // must not appear in the message
};

void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

class MalformedTokenTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedTokenTest, IsUnauthenticatedAndSaysMalformed) {
  ASSERT_OK_AND_ASSIGN(GeneratedKey key, GenerateApiKey("admin/alice", "k1"));
  ASSERT_OK_AND_ASSIGN(ApiKeyring ring, ApiKeyring::Parse(key.keyring_line));
  auto result = ring.Verify(GetParam().token, kNow);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Message(result), HasSubstr("malformed"));
  if (!GetParam().secret.empty()) {
    EXPECT_THAT(Message(result), Not(HasSubstr(GetParam().secret)));
  }
}

const std::string kSecret43 = "Qm9ndXNTZWNyZXRWYWx1ZUZvclRlc3RpbmdPbmx5MDA";  // 43 base64url chars

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedTokenTest,
    ::testing::Values(
        MalformedCase{"Empty", "", ""},
        MalformedCase{"PrefixOnly", "ek_", ""},
        MalformedCase{"NoPrefix", "k1_" + kSecret43, kSecret43},
        MalformedCase{"BearerScheme", "Bearer ek_k1_" + kSecret43, kSecret43},
        MalformedCase{"UpperPrefix", "EK_k1_" + kSecret43, kSecret43},
        MalformedCase{"NoSeparator", "ek_k1" + kSecret43, kSecret43},
        MalformedCase{"EmptyKeyId", "ek__" + kSecret43, kSecret43},
        MalformedCase{"UpperKeyId", "ek_K1_" + kSecret43, kSecret43},
        MalformedCase{"KeyIdTooLong", "ek_" + std::string(33, 'k') + "_" + kSecret43, kSecret43},
        MalformedCase{"SecretTooShort", "ek_k1_" + kSecret43.substr(1), kSecret43.substr(1)},
        MalformedCase{"SecretTooLong", "ek_k1_" + kSecret43 + "A", kSecret43},
        MalformedCase{"SecretPadded", "ek_k1_" + kSecret43.substr(0, 42) + "=",
                      kSecret43.substr(0, 42)},
        MalformedCase{"SecretStandardBase64", "ek_k1_" + kSecret43.substr(0, 42) + "+",
                      kSecret43.substr(0, 42)},
        MalformedCase{"TrailingSpace", "ek_k1_" + kSecret43 + " ", kSecret43},
        MalformedCase{"TrailingNewline", "ek_k1_" + kSecret43 + "\n", kSecret43},
        MalformedCase{"EmbeddedNul", std::string("ek_k1_") + kSecret43.substr(0, 10) +
                                         std::string(1, '\0') + kSecret43.substr(11),
                      kSecret43.substr(0, 10)}));

struct ParseErrorCase {
  const char* name;
  std::string text;
  std::vector<std::string> message_has;
  std::string message_lacks;  // e.g. the hash, which must never be echoed
};

void PrintTo(const ParseErrorCase& c, std::ostream* os) { *os << c.name; }

class KeyringParseErrorTest : public ::testing::TestWithParam<ParseErrorCase> {};

TEST_P(KeyringParseErrorTest, IsInvalidArgumentNamingLine) {
  auto result = ApiKeyring::Parse(GetParam().text);
  ASSERT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument));
  for (const std::string& s : GetParam().message_has) {
    EXPECT_THAT(Message(result), HasSubstr(s));
  }
  if (!GetParam().message_lacks.empty()) {
    EXPECT_THAT(Message(result), Not(HasSubstr(GetParam().message_lacks)));
  }
}

const std::string kGood = "k1 authority/E09000033 sha256:" + kHash;
const std::string kHex63 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde";

INSTANTIATE_TEST_SUITE_P(
    Cases, KeyringParseErrorTest,
    ::testing::Values(
        ParseErrorCase{"OneField", "k1", {"line 1:", "found 1 field"}, ""},
        ParseErrorCase{"TwoFields", "k1 authority/E09000033", {"line 1:", "found 2 fields"}, ""},
        ParseErrorCase{"TooManyFields",
                       kGood + " expires=2030-01-01T00:00:00Z ek_k1_" + kSecret43,
                       {"line 1:", "too many fields"},
                       kSecret43},
        ParseErrorCase{"KeyIdUpperCase", "K1 authority/E09000033 sha256:" + kHash,
                       {"line 1:", "key id"}, ""},
        ParseErrorCase{"KeyIdUnderscore", "k_1 authority/E09000033 sha256:" + kHash,
                       {"key id"}, ""},
        ParseErrorCase{"KeyIdTooLong",
                       std::string(33, 'k') + " authority/E09000033 sha256:" + kHash,
                       {"key id", "33 characters"}, ""},
        ParseErrorCase{"TokenPastedAsKeyId",
                       "ek_k1_" + kSecret43 + " authority/E09000033 sha256:" + kHash,
                       {"key id"}, kSecret43},
        ParseErrorCase{"PrincipalNoSlash", "k1 authority sha256:" + kHash,
                       {"line 1:", "principal"}, ""},
        ParseErrorCase{"PrincipalEmptyKind", "k1 /E09000033 sha256:" + kHash, {"principal"}, ""},
        ParseErrorCase{"PrincipalUpperKind", "k1 Authority/E09000033 sha256:" + kHash,
                       {"principal"}, ""},
        ParseErrorCase{"PrincipalEmptyCode", "k1 authority/ sha256:" + kHash, {"principal"}, ""},
        ParseErrorCase{"PrincipalTwoSlashes", "k1 authority/E09/000033 sha256:" + kHash,
                       {"principal"}, ""},
        ParseErrorCase{"PrincipalBadChar", "k1 authority/E09000033@x sha256:" + kHash,
                       {"principal"}, ""},
        ParseErrorCase{"PrincipalCodeTooLong",
                       "k1 authority/" + std::string(65, 'E') + " sha256:" + kHash,
                       {"principal"}, ""},
        ParseErrorCase{"HashNoPrefix", "k1 authority/E09000033 " + kHex63 + "f",
                       {"line 1:", "sha256:"}, kHex63},
        ParseErrorCase{"HashWrongAlgorithm", "k1 authority/E09000033 sha1:" + kHex63 + "f",
                       {"sha256:"}, kHex63},
        ParseErrorCase{"HashTooShort", "k1 authority/E09000033 sha256:" + kHex63,
                       {"line 1:", "63 characters"}, kHex63},
        ParseErrorCase{"HashTooLong", "k1 authority/E09000033 sha256:" + kHex63 + "ff",
                       {"65 characters"}, kHex63},
        ParseErrorCase{"HashNotHex", "k1 authority/E09000033 sha256:" + kHex63 + "g",
                       {"non-hex", "position 64"}, kHex63},
        ParseErrorCase{"HashEmpty", "k1 authority/E09000033 sha256:", {"0 characters"}, ""},
        ParseErrorCase{"ExpiresNotTime", kGood + " expires=tomorrow",
                       {"line 1:", "expires=\"tomorrow\"", "RFC 3339"}, kHash},
        ParseErrorCase{"ExpiresDateOnly", kGood + " expires=2030-01-01", {"RFC 3339"}, kHash},
        ParseErrorCase{"ExpiresWrongName", kGood + " expiry=2030-01-01T00:00:00Z",
                       {"fourth field", "expires="}, kHash},
        ParseErrorCase{"DuplicateKeyId",
                       kGood + "\n# another\n" + "k1 admin/alice sha256:" + std::string(64, 'b'),
                       {"line 3:", "duplicate key id \"k1\"", "first on line 1"}, kHash},
        ParseErrorCase{"LineNumberCountsCommentsAndBlanks",
                       "# keyring\n\n   \n" + kGood + "\r\nk2 admin/alice\n",
                       {"line 5:"}, ""}));

TEST(ApiKeyringParseTest, IgnoresCommentsAndBlankLines) {
  ASSERT_OK_AND_ASSIGN(GeneratedKey a, GenerateApiKey("authority/E09000033", "a"));
  ASSERT_OK_AND_ASSIGN(GeneratedKey b, GenerateApiKey("service/directory", "b"));
  const std::string text = absl::StrCat(
      "# Keyring for tests\n"
      "\n"
      "   \n"
      "\t# indented comment\n",
      a.keyring_line, "   # Camden's importer, issued by alice\r\n",  //
      "\t", b.keyring_line, "\t expires=2030-01-01T00:00:00Z\n",
      "#", a.keyring_line, "\n");  // a commented-out key does not count as a duplicate
  ASSERT_OK_AND_ASSIGN(ApiKeyring ring, ApiKeyring::Parse(text));
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_EQ(*ring.Verify(a.token, kNow), "authority/E09000033");
  EXPECT_EQ(*ring.Verify(b.token, kNow), "service/directory");
}

TEST(ApiKeyringParseTest, AcceptsUpperCaseHex) {
  ASSERT_OK_AND_ASSIGN(GeneratedKey key, GenerateApiKey("admin/alice", "a"));
  const std::string hash = Sha256Hex(key.token);
  const std::string line = absl::StrReplaceAll(
      key.keyring_line, {{hash, absl::AsciiStrToUpper(hash)}});
  ASSERT_NE(line, key.keyring_line);
  ASSERT_OK_AND_ASSIGN(ApiKeyring ring, ApiKeyring::Parse(line));
  EXPECT_THAT(ring.Verify(key.token, kNow), IsOk());
}

TEST(ApiKeyringParseTest, AcceptsEveryPrincipalKind) {
  for (const char* principal : {"authority/E09000033", "coordinator/E12000007",
                                "importer/E06000001", "admin/alice", "service/directory",
                                "admin/a.b_c-D9"}) {
    ASSERT_OK_AND_ASSIGN(GeneratedKey key, GenerateApiKey(principal, ""));
    ASSERT_OK_AND_ASSIGN(ApiKeyring ring, ApiKeyring::Parse(key.keyring_line));
    EXPECT_EQ(*ring.Verify(key.token, kNow), principal);
  }
}

TEST(ApiKeyringLoadTest, LoadsPrivateFile) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(GeneratedKey key, GenerateApiKey("authority/E09000033", "k1"));
  const std::string path = dir.File("keys");
  WriteFile(path, key.keyring_line + "\n", 0600);
  ASSERT_OK_AND_ASSIGN(ApiKeyring ring, ApiKeyring::Load(path));
  EXPECT_EQ(*ring.Verify(key.token, kNow), "authority/E09000033");
  // Readable by others is fine: the file holds only hashes.
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  EXPECT_THAT(ApiKeyring::Load(path), IsOk());
}

TEST(ApiKeyringLoadTest, RefusesFileWritableByGroupOrOthers) {
  TempDir dir;
  const std::string path = dir.File("keys");
  WriteFile(path, kGood + "\n", 0600);
  for (mode_t mode : {0620, 0602, 0666}) {
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
    auto result = ApiKeyring::Load(path);
    EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition)) << std::oct << mode;
    EXPECT_THAT(Message(result), HasSubstr("writable by group or others"));
    EXPECT_THAT(Message(result), HasSubstr(path));
  }
}

TEST(ApiKeyringLoadTest, MissingFileIsNotFound) {
  TempDir dir;
  EXPECT_THAT(ApiKeyring::Load(dir.File("absent")), StatusIs(absl::StatusCode::kNotFound));
}

TEST(ApiKeyringLoadTest, UnreadableFileIsPermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root can read any file";
  TempDir dir;
  const std::string path = dir.File("keys");
  WriteFile(path, kGood + "\n", 0200);
  EXPECT_THAT(ApiKeyring::Load(path), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(ApiKeyringLoadTest, DirectoryIsRefused) {
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0700), 0);
  EXPECT_THAT(ApiKeyring::Load(dir.path()), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ApiKeyringLoadTest, ParseErrorNamesFileAndLine) {
  TempDir dir;
  const std::string path = dir.File("keys");
  WriteFile(path, "# header\nk1 authority/E09000033 sha256:" + kHex63 + "\n", 0600);
  auto result = ApiKeyring::Load(path);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Message(result), StartsWith(absl::StrCat("API keyring ", path, ": line 2:")));
  EXPECT_THAT(Message(result), Not(HasSubstr(kHex63)));
}

}  // namespace
}  // namespace expertise::security
