#include "services/importer/plugin_catalog.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace expertise::importer {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kPrefix = "expertise_importer_";
constexpr absl::string_view kSuffix = ".so";

fs::path SelfDir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : self.parent_path();
}

}  // namespace

std::vector<std::string> DefaultPluginDirs() {
  if (const char* env = std::getenv("EXPERTISE_IMPORTER_PATH"); env != nullptr) {
    if (std::string_view(env) == "disable") return {};
    std::vector<std::string> dirs;
    for (absl::string_view d : absl::StrSplit(env, ':', absl::SkipEmpty())) dirs.emplace_back(d);
    return dirs;
  }
  std::vector<std::string> dirs;
  const fs::path self = SelfDir();
#ifdef EXPERTISE_INSTALL_PLUGIN_SUBDIR
  if (!self.empty()) dirs.push_back((self / ".." / EXPERTISE_INSTALL_PLUGIN_SUBDIR).lexically_normal());
#endif
#ifdef EXPERTISE_BUILD_PLUGIN_DIR
  dirs.push_back(EXPERTISE_BUILD_PLUGIN_DIR);
#endif
  return dirs;
}

std::vector<PluginFile> ListPluginFiles(const std::vector<std::string>& dirs) {
  std::map<std::string, std::string> found;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string file = entry.path().filename().string();
      if (!absl::StartsWith(file, kPrefix) || !absl::EndsWith(file, kSuffix)) continue;
      const std::string name = file.substr(kPrefix.size(), file.size() - kPrefix.size() - kSuffix.size());
      found.emplace(name, entry.path().string());  // first folder wins
    }
  }
  std::vector<PluginFile> out;
  for (auto& [name, path] : found) out.push_back({name, path});
  return out;
}

absl::StatusOr<std::string> ResolvePlugin(const std::string& name_or_path,
                                          const std::vector<std::string>& dirs) {
  if (name_or_path.find('/') != std::string::npos) {
    if (!fs::exists(name_or_path)) return absl::NotFoundError(absl::StrCat("no plugin file ", name_or_path));
    return fs::absolute(name_or_path).lexically_normal().string();
  }
  for (const PluginFile& file : ListPluginFiles(dirs)) {
    if (file.name == name_or_path) return file.path;
  }
  std::string where = dirs.empty() ? std::string("(plugin loading is disabled)") : "";
  for (const std::string& d : dirs) absl::StrAppend(&where, where.empty() ? "" : ", ", d);
  return absl::NotFoundError(absl::StrCat("no importer plugin named '", name_or_path, "' in ", where,
                                          "; `expertctl plugins list` shows what is installed"));
}

absl::Status CheckPluginFileSafety(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return absl::NotFoundError(absl::StrCat("cannot stat ", path));
  if (!S_ISREG(st.st_mode)) return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing ", path, ": owned by uid ", st.st_uid, ", not by root or by the importer's user"));
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing ", path, ": writable by ", (st.st_mode & S_IWOTH) ? "others" : "its group",
        " (chmod go-w it)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    EVP_DigestUpdate(ctx, buffer, static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  static const char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

std::string DefaultRunnerPath() {
  if (const char* env = std::getenv("EXPERTISE_PLUGIN_RUNNER"); env != nullptr && *env) return env;
  const fs::path self = SelfDir();
  for (const fs::path& candidate :
       {self / "expertise-plugin-runner", self / "../libexec/expertise-directory/expertise-plugin-runner"}) {
    std::error_code ec;
    if (!self.empty() && fs::is_regular_file(candidate, ec)) return candidate.lexically_normal().string();
  }
#ifdef EXPERTISE_BUILD_RUNNER_PATH
  return EXPERTISE_BUILD_RUNNER_PATH;
#else
  return "expertise-plugin-runner";
#endif
}

}  // namespace expertise::importer
