#include "tests/testutil/credentials.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "services/common/reference/reference_data.h"
#include "services/security/api_keys.h"
#include "services/security/grpc_security.h"

namespace expertise::testing {
namespace {

struct Keyring {
  std::string dir;
  std::string path;
  std::map<std::string, std::string> tokens;
};

Keyring& TheKeyring() {
  static Keyring* const keyring = [] {
    auto* k = new Keyring();
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/expertise-keys-XXXXXX";
    k->dir = mkdtemp(pattern.data());
    k->path = k->dir + "/keyring";
    std::vector<std::string> principals = {"admin/test", "service/directory", "service/other"};
    for (const AuthorityInfo& la : ReferenceData::Get().authorities()) {
      principals.push_back("authority/" + la.code);
      principals.push_back("importer/" + la.code);
    }
    for (const RegionInfo& region : ReferenceData::Get().regions()) {
      principals.push_back("coordinator/" + region.code);
    }
    std::ofstream out(k->path);
    int n = 0;
    for (const std::string& p : principals) {
      auto key = security::GenerateApiKey(p, absl::StrCat("t", n++));
      if (!key.ok()) {
        std::fprintf(stderr, "test keyring: %s\n", std::string(key.status().message()).c_str());
        std::abort();
      }
      out << key->keyring_line << "\n";
      k->tokens[p] = key->token;
    }
    out.close();
    chmod(k->path.c_str(), 0600);
    // Removed when the test binary exits.
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(TheKeyring().dir, ec);
    });
    return k;
  }();
  return *keyring;
}

}  // namespace

const std::string& KeyringPath() { return TheKeyring().path; }

const std::string& TokenFor(const std::string& principal) {
  auto& tokens = TheKeyring().tokens;
  auto it = tokens.find(principal);
  if (it == tokens.end()) {
    std::fprintf(stderr, "test keyring: no key for %s\n", principal.c_str());
    std::abort();
  }
  return it->second;
}

std::string TokenFileFor(const std::string& principal) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::string name = principal;
  for (char& c : name) c = c == '/' ? '-' : c;
  const std::string path = TheKeyring().dir + "/" + name + ".token";
  if (!std::filesystem::exists(path)) {
    std::ofstream(path) << TokenFor(principal) << "\n";
  }
  return path;
}

std::string CoordinatorOf(const std::string& region) {
  const RegionInfo* info = ReferenceData::Get().FindRegion(region);
  if (info == nullptr) {
    std::fprintf(stderr, "test keyring: unknown region %s\n", region.c_str());
    std::abort();
  }
  return "coordinator/" + info->code;
}

std::vector<std::string> DevServerFlags() {
  return {"--insecure-dev", "--api-keys", KeyringPath()};
}

void UseCaller(const std::string& principal) {
  setenv("EXPERTISE_TOKEN", TokenFor(principal).c_str(), 1);
}

std::shared_ptr<grpc::Channel> ChannelAs(const std::string& address, const std::string& principal) {
  security::ClientSecurityOptions options;
  options.token = TokenFor(principal);
  auto channel = security::NewClientChannel(address, options);
  if (!channel.ok()) {
    std::fprintf(stderr, "test channel: %s\n", std::string(channel.status().message()).c_str());
    std::abort();
  }
  return *channel;
}

void CallAs(grpc::ClientContext* ctx, const std::string& principal) {
  ctx->AddMetadata("authorization", "Bearer " + TokenFor(principal));
}

}  // namespace expertise::testing
