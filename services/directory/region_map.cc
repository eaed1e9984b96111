#include "services/directory/region_map.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace expertise::directory {

absl::StatusOr<std::vector<RegionEndpoint>> ParseRegionMap(std::string_view text) {
  std::vector<RegionEndpoint> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_number;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const std::string where = absl::StrCat("line ", line_number, ": ");
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "expected '<region> <endpoint>', e.g. 'north-east 127.0.0.1:50051'"));
    }
    const RegionInfo* region = ReferenceData::Get().FindRegion(std::string(fields[0]));
    if (!region) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "unknown region '", fields[0], "': use an ONS code (E12000001 to E12000009) or an id such as north-east"));
    }
    for (const RegionEndpoint& e : out) {
      if (e.region == region) {
        return absl::InvalidArgumentError(absl::StrCat(where, region->resource_name(), " is listed twice"));
      }
    }
    if (fields[1].find(':') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "endpoint '", fields[1], "' needs a port, e.g. registry-north-east:50051"));
    }
    out.push_back({region, std::string(fields[1])});
  }
  if (out.empty()) return absl::InvalidArgumentError("no regions listed");
  std::sort(out.begin(), out.end(),
            [](const RegionEndpoint& a, const RegionEndpoint& b) { return a.region->code < b.region->code; });
  return out;
}

absl::StatusOr<std::vector<RegionEndpoint>> LoadRegionMap(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the regions file ", path));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::vector<RegionEndpoint>> map = ParseRegionMap(text.str());
  if (!map.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", map.status().message()));
  }
  return map;
}

}  // namespace expertise::directory
