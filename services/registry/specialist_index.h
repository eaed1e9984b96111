#ifndef EXPERTISE_SERVICES_REGISTRY_SPECIALIST_INDEX_H_
#define EXPERTISE_SERVICES_REGISTRY_SPECIALIST_INDEX_H_

// In-memory index of a region's specialists: every record, plus compact
// per-record search attributes and per-role posting lists, so a filtered
// near-search over 100,000 specialists scans a few thousand small structs
// instead of running SQL. The durable copy is the SpecialistStore; the index
// is rebuilt from it at start-up and updated after every commit.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "expertise/registry/v1/specialist.pb.h"
#include "services/common/reference/reference_data.h"
#include "services/security/access_policy.h"

namespace expertise::registry {

using SpecialistPtr = std::shared_ptr<const v1::Specialist>;

// Available hours per week: contracted minus committed, never negative
// (over-commitment is recorded, not shown as negative capacity).
inline double AvailableHours(double contracted, double committed) {
  return contracted > committed ? contracted - committed : 0.0;
}

// Days since 1970-01-01 (UTC civil days).
using DayNumber = int32_t;

// A compiled search: codes resolved to indices, the point resolved to
// coordinates. Built by the Registry from a SearchSpecialistsRequest.
struct SearchQuery {
  uint64_t role_mask = 0;          // 0: any role
  uint64_t specialism_mask = 0;    // all of these bits must be set
  uint64_t setting_mask = 0;       // all of these bits must be set
  std::vector<uint32_t> languages; // all must be present (interned ids)
  bool impossible = false;         // a filter names something no record can have
  int delivery_mode = 0;           // 0: any
  std::optional<int> age;
  std::vector<int> authorities;    // owned by or covering any; empty: any
  bool has_point = false;
  double latitude = 0, longitude = 0;
  double within_km = 0;            // 0: no limit
  double min_available_hours = 0;  // 0: no limit
  bool accepting_only = false;
  DayNumber day = 0;               // capacity is evaluated on this day

  enum class Order { kName, kDistance, kAvailableHours };
  Order order = Order::kName;

  // Keyset cursor: return only results after (key, id) in the order.
  bool has_cursor = false;
  double cursor_key = 0;
  std::string cursor_name;  // resource name of the last result
  size_t limit = 50;
  // The records the caller may see; null: all. Not owned.
  const security::ReadScope* scope = nullptr;
};

struct SearchHit {
  SpecialistPtr specialist;
  double distance_km = 0;
  double available_hours = 0;
  double sort_key = 0;  // the value the cursor continues from
};

struct SearchPage {
  std::vector<SearchHit> hits;
  bool more = false;     // hits beyond this page exist
  size_t total = 0;      // matches across all pages
};

// Figures for one (authority, role) cell of a capacity summary.
struct CapacityCell {
  int headcount = 0;
  double contracted = 0, committed = 0, available = 0;
  int accepting = 0;
};

// Not thread-safe: the Registry guards it with a reader/writer lock.
class SpecialistIndex {
 public:
  explicit SpecialistIndex(const ReferenceData& reference) : reference_(reference) {}

  // Adds or replaces the record with the same id.
  void Put(SpecialistPtr specialist);
  // Removes the record with this id, if present.
  void Remove(const std::string& id);

  SpecialistPtr Find(const std::string& id) const;
  // Finds by (owning authority, source, external id).
  SpecialistPtr FindByKey(const std::string& owning_authority, const std::string& source,
                          const std::string& external_id) const;
  size_t size() const { return by_id_.size(); }
  // Calls `visit` with every record, in id order.
  template <typename Visit>
  void ForEach(Visit visit) const {
    for (const auto& [id, slot] : by_id_) visit(*slots_[slot].record);
  }

  // Returns up to `limit` records in id order after `after_id`, and whether
  // more follow. `owning_authority` filters when not empty.
  // `scope`, when not null, limits the records to those the caller may see.
  std::vector<SpecialistPtr> ListAfter(const std::string& after_id, size_t limit,
                                       const std::string& owning_authority, bool* more,
                                       size_t* total,
                                       const security::ReadScope* scope = nullptr) const;

  SearchPage Search(const SearchQuery& query) const;

  // Interns a language tag; returns nullopt if no record uses it (a search
  // for it can match nothing).
  std::optional<uint32_t> LanguageId(const std::string& tag) const;

  // Aggregates capacity on `day` per (authority code, role code).
  absl::btree_map<std::pair<std::string, std::string>, CapacityCell> Summarise(
      DayNumber day, uint64_t role_mask, const std::vector<int>& authorities) const;

 private:
  // What the common filters and the distance need, packed so a search scans
  // contiguous memory and touches the full Entry only for rare filters.
  struct Hot {
    double latitude, longitude, cos_latitude;
    uint64_t specialisms, settings;
    double contracted, committed;
    DayNumber valid_from, valid_to;
    uint32_t slot;
    uint8_t delivery_bits;
    int8_t min_age, max_age;
    bool accepting;
  };

  struct Entry {
    SpecialistPtr record;
    int role = 0;
    int owning_authority = -1;
    uint32_t role_position = 0;  // position in by_role_[role]
    std::vector<uint32_t> languages;
    std::vector<int> covered;  // authority indices
  };

  uint32_t InternLanguage(const std::string& tag);
  bool MatchesRare(const Entry& e, const SearchQuery& q) const;
  void Erase(uint32_t slot);

  const ReferenceData& reference_;
  std::vector<Entry> slots_;
  std::vector<uint32_t> free_slots_;
  absl::btree_map<std::string, uint32_t> by_id_;
  absl::flat_hash_map<std::string, uint32_t> by_key_;  // "la\x1fsource\x1fexternal"
  std::vector<std::vector<Hot>> by_role_;
  absl::flat_hash_map<std::string, uint32_t> language_ids_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SPECIALIST_INDEX_H_
