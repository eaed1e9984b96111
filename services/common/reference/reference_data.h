#ifndef EXPERTISE_SERVICES_COMMON_REFERENCE_REFERENCE_DATA_H_
#define EXPERTISE_SERVICES_COMMON_REFERENCE_REFERENCE_DATA_H_

// The English regions, the 153 upper-tier local authorities and the SEND
// taxonomy, shipped inside every binary (see README.md in this folder for
// sources and licences).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "expertise/registry/v1/reference.pb.h"

namespace expertise {

struct AuthorityInfo {
  std::string code;          // GSS code, e.g. "E06000001"
  std::string name;          // ONS name
  std::string type;          // CTY, UA, MD, LBO, CC
  std::string region_code;   // E12000001 ... E12000009
  std::string former_code;   // or ""
  double latitude = 0;       // population-weighted centre
  double longitude = 0;
  int index = 0;             // position in authorities(), stable for a build
};

struct RegionInfo {
  std::string code;          // "E12000001"
  std::string id;            // "north-east", the id in resource names
  std::string name;          // "North East"
  std::vector<int> authorities;  // indices into authorities()
  std::string resource_name() const { return "regions/" + id; }
};

// Immutable after construction, so safe to share between threads.
class ReferenceData {
 public:
  // Returns the data compiled into the binary. Parsed on first use and never
  // destroyed. Aborts if the embedded data is malformed (a build defect,
  // caught by reference_data_test).
  static const ReferenceData& Get();

  // Parses reference data from the CSV authority table and taxonomy JSON.
  static absl::StatusOr<std::unique_ptr<ReferenceData>> Parse(std::string_view authorities_csv,
                                                             std::string_view taxonomy_json);

  const std::vector<AuthorityInfo>& authorities() const { return authorities_; }
  const std::vector<RegionInfo>& regions() const { return regions_; }

  // Finds an authority by current or former GSS code; nullptr if unknown.
  const AuthorityInfo* FindAuthority(std::string_view code) const;
  // Finds a region by ONS code ("E12000001"), id ("north-east") or resource
  // name ("regions/north-east"); nullptr if unknown.
  const RegionInfo* FindRegion(std::string_view code_or_id) const;

  // Taxonomy terms of every kind, ordered by kind then code.
  const std::vector<registry::v1::TaxonomyTerm>& terms() const { return terms_; }
  // Returns the dense index (0..N-1) of a code within its kind, or -1.
  int TermIndex(registry::v1::TaxonomyKind kind, std::string_view code) const;
  // Returns the codes of one kind, in index order.
  const std::vector<std::string>& Codes(registry::v1::TaxonomyKind kind) const;
  std::string_view taxonomy_version() const { return taxonomy_version_; }

 private:
  ReferenceData() = default;

  std::vector<AuthorityInfo> authorities_;
  std::vector<RegionInfo> regions_;
  absl::flat_hash_map<std::string, int> authority_by_code_;
  absl::flat_hash_map<std::string, int> region_by_key_;
  std::vector<registry::v1::TaxonomyTerm> terms_;
  // Indexed by TaxonomyKind (1..3).
  std::vector<std::string> codes_[4];
  absl::flat_hash_map<std::string, int> term_index_[4];
  std::string taxonomy_version_;
};

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_REFERENCE_REFERENCE_DATA_H_
