#include "services/directory/watch_merge.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace expertise::directory {

namespace {
constexpr char kPrefix[] = "d1.";
}  // namespace

std::string EncodeMergedToken(const std::map<std::string, std::string>& tokens) {
  std::string plain;
  for (const auto& [region, token] : tokens) absl::StrAppend(&plain, region, "=", token, "\n");
  return absl::StrCat(kPrefix, absl::WebSafeBase64Escape(plain));
}

std::map<std::string, std::string> DecodeMergedToken(const std::string& token) {
  std::map<std::string, std::string> out;
  std::string plain;
  if (!absl::StartsWith(token, kPrefix) ||
      !absl::WebSafeBase64Unescape(token.substr(sizeof(kPrefix) - 1), &plain)) {
    return out;
  }
  for (absl::string_view line : absl::StrSplit(plain, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[0].empty()) return {};
    out[parts[0]] = parts[1];
  }
  return out;
}

}  // namespace expertise::directory
