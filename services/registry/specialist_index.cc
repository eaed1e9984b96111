#include "services/registry/specialist_index.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "services/common/civil_date.h"
#include "services/common/string_view.h"
#include "services/common/geo.h"

namespace expertise::registry {
namespace {

std::string UpsertKey(const std::string& la, const std::string& source, const std::string& ext) {
  return absl::StrCat(la, "\x1f", source, "\x1f", ext);
}

}  // namespace

uint32_t SpecialistIndex::InternLanguage(const std::string& tag) {
  auto [it, inserted] = language_ids_.emplace(tag, static_cast<uint32_t>(language_ids_.size()));
  return it->second;
}

std::optional<uint32_t> SpecialistIndex::LanguageId(const std::string& tag) const {
  auto it = language_ids_.find(tag);
  if (it == language_ids_.end()) return std::nullopt;
  return it->second;
}

void SpecialistIndex::Put(SpecialistPtr s) {
  const std::string id = s->name().substr(s->name().rfind('/') + 1);
  Remove(id);
  Hot hot{};
  hot.latitude = s->base_location().latitude();
  hot.longitude = s->base_location().longitude();
  hot.cos_latitude = CosLatitude(hot.latitude);
  for (const auto& code : s->specialisms()) {
    if (int i = reference_.TermIndex(v1::TAXONOMY_KIND_SPECIALISM, code); i >= 0) {
      hot.specialisms |= uint64_t{1} << i;
    }
  }
  for (const auto& code : s->settings()) {
    if (int i = reference_.TermIndex(v1::TAXONOMY_KIND_SETTING, code); i >= 0) {
      hot.settings |= uint64_t{1} << i;
    }
  }
  const auto& c = s->capacity();
  hot.contracted = c.contracted_hours_per_week();
  // Hours committed to other authorities' requests count like any others.
  hot.committed = c.committed_hours_per_week() + c.shared_committed_hours_per_week();
  hot.valid_from = c.has_valid_from() ? DaysSinceEpoch(c.valid_from()) : std::numeric_limits<DayNumber>::min();
  hot.valid_to = c.has_valid_to() ? DaysSinceEpoch(c.valid_to()) : std::numeric_limits<DayNumber>::max();
  for (int mode : s->delivery_modes()) hot.delivery_bits |= static_cast<uint8_t>(1u << mode);
  hot.min_age = static_cast<int8_t>(s->age_range().min_age());
  hot.max_age = static_cast<int8_t>(s->age_range().max_age());
  hot.accepting = c.accepting_external_requests();

  Entry e;
  e.role = std::max(0, reference_.TermIndex(v1::TAXONOMY_KIND_ROLE, s->role()));
  const AuthorityInfo* la = reference_.FindAuthority(s->owning_authority());
  e.owning_authority = la ? la->index : -1;
  for (const auto& tag : s->languages()) e.languages.push_back(InternLanguage(tag));
  for (const auto& code : s->covered_authorities()) {
    if (const AuthorityInfo* covered = reference_.FindAuthority(code)) {
      e.covered.push_back(covered->index);
    }
  }
  e.record = std::move(s);

  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  hot.slot = slot;
  if (by_role_.size() <= static_cast<size_t>(e.role)) by_role_.resize(e.role + 1);
  e.role_position = static_cast<uint32_t>(by_role_[e.role].size());
  by_role_[e.role].push_back(hot);
  by_key_[UpsertKey(e.record->owning_authority(), e.record->source(), e.record->external_id())] =
      slot;
  by_id_[id] = slot;
  slots_[slot] = std::move(e);
}

void SpecialistIndex::Erase(uint32_t slot) {
  Entry& e = slots_[slot];
  auto& postings = by_role_[e.role];
  postings[e.role_position] = postings.back();
  slots_[postings[e.role_position].slot].role_position = e.role_position;
  postings.pop_back();
  by_key_.erase(UpsertKey(e.record->owning_authority(), e.record->source(),
                          e.record->external_id()));
  e = Entry{};
  free_slots_.push_back(slot);
}

void SpecialistIndex::Remove(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  Erase(it->second);
  by_id_.erase(it);
}

SpecialistPtr SpecialistIndex::Find(const std::string& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : slots_[it->second].record;
}

SpecialistPtr SpecialistIndex::FindByKey(const std::string& la, const std::string& source,
                                         const std::string& external_id) const {
  auto it = by_key_.find(UpsertKey(la, source, external_id));
  return it == by_key_.end() ? nullptr : slots_[it->second].record;
}

std::vector<SpecialistPtr> SpecialistIndex::ListAfter(const std::string& after_id, size_t limit,
                                                      const std::string& owning_authority,
                                                      bool* more, size_t* total,
                                                      const security::ReadScope* scope) const {
  std::vector<SpecialistPtr> out;
  *more = false;
  *total = 0;
  for (auto it = by_id_.begin(); it != by_id_.end(); ++it) {
    const SpecialistPtr& record = slots_[it->second].record;
    if (!owning_authority.empty() && record->owning_authority() != owning_authority) continue;
    if (scope && !scope->Allows(record->owning_authority(), record->visibility())) continue;
    ++*total;
    if (!after_id.empty() && it->first <= after_id) continue;
    if (out.size() < limit) {
      out.push_back(record);
    } else {
      *more = true;
    }
  }
  return out;
}

bool SpecialistIndex::MatchesRare(const Entry& e, const SearchQuery& q) const {
  if (q.scope && !q.scope->Allows(e.record->owning_authority(), e.record->visibility())) {
    return false;
  }
  for (uint32_t language : q.languages) {
    if (std::find(e.languages.begin(), e.languages.end(), language) == e.languages.end()) {
      return false;
    }
  }
  if (!q.authorities.empty()) {
    bool any = false;
    for (int la : q.authorities) {
      if (la == e.owning_authority ||
          std::find(e.covered.begin(), e.covered.end(), la) != e.covered.end()) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

SearchPage SpecialistIndex::Search(const SearchQuery& q) const {
  SearchPage page;
  if (q.impossible) return page;
  // Bounding box around the point: candidates outside it are skipped before
  // any trigonometry. The longitude span uses the box's widest latitude.
  double lat_bound = std::numeric_limits<double>::infinity();
  double lon_bound = std::numeric_limits<double>::infinity();
  if (q.within_km > 0) {
    lat_bound = LatitudeDegreesForKm(q.within_km) + 1e-9;
    const double widest = std::min(89.0, std::abs(q.latitude) + lat_bound);
    lon_bound = lat_bound / std::cos(widest * M_PI / 180) + 1e-9;
  }
  const bool rare_filters = !q.languages.empty() || !q.authorities.empty() ||
                            (q.scope != nullptr && !q.scope->everything);
  const double min_hours = q.min_available_hours;
  const double cos_query = CosLatitude(q.latitude);
  const double max_term = q.within_km > 0 ? HaversineTermForKm(q.within_km) : 2.0;

  // Candidates are counted, and only the best `limit + 1` after the cursor
  // are kept, in a max-heap on (key, name): no full sort, no reference counts.
  // Names are fetched only to break ties: each fetch is two cache misses.
  struct Candidate {
    double sort_key, distance, available;
    uint32_t slot;
  };
  auto name_of = [this](uint32_t slot) -> const std::string& { return slots_[slot].record->name(); };
  auto before = [&](const Candidate& a, const Candidate& b) {
    if (a.sort_key != b.sort_key) return a.sort_key < b.sort_key;
    return name_of(a.slot) < name_of(b.slot);
  };
  const size_t keep = q.limit + 1;
  std::vector<Candidate> heap;
  heap.reserve(keep);

  auto consider = [&](const Hot& h) {
    if (std::abs(h.latitude - q.latitude) > lat_bound ||
        std::abs(h.longitude - q.longitude) > lon_bound) {
      return;
    }
    if ((h.specialisms & q.specialism_mask) != q.specialism_mask) return;
    if ((h.settings & q.setting_mask) != q.setting_mask) return;
    if (q.delivery_mode != 0 && !(h.delivery_bits & (1u << q.delivery_mode))) return;
    if (q.age && (*q.age < h.min_age || *q.age > h.max_age)) return;
    if (q.accepting_only && !h.accepting) return;
    double available = 0;
    if (q.day >= h.valid_from && q.day <= h.valid_to) {
      available = AvailableHours(h.contracted, h.committed);
    }
    if (min_hours > 0 && available < min_hours) return;
    if (rare_filters && !MatchesRare(slots_[h.slot], q)) return;
    double distance = 0;
    if (q.has_point) {
      const double term =
          HaversineTerm(q.latitude, q.longitude, cos_query, h.latitude, h.longitude, h.cos_latitude);
      if (term > max_term) return;
      distance = KmFromHaversineTerm(term);
      if (q.within_km > 0 && distance > q.within_km) return;
    }
    ++page.total;
    Candidate c{0, distance, available, h.slot};
    switch (q.order) {
      case SearchQuery::Order::kDistance: c.sort_key = distance; break;
      case SearchQuery::Order::kAvailableHours: c.sort_key = -available; break;
      case SearchQuery::Order::kName: c.sort_key = 0; break;
    }
    if (q.has_cursor) {
      if (c.sort_key < q.cursor_key) return;
      if (c.sort_key == q.cursor_key && name_of(c.slot) <= q.cursor_name) return;
    }
    if (heap.size() < keep) {
      heap.push_back(c);
      std::push_heap(heap.begin(), heap.end(), before);
    } else if (before(c, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), before);
      heap.back() = c;
      std::push_heap(heap.begin(), heap.end(), before);
    }
  };

  for (size_t role = 0; role < by_role_.size(); ++role) {
    if (q.role_mask != 0 && (role >= 64 || !(q.role_mask & (uint64_t{1} << role)))) continue;
    for (const Hot& h : by_role_[role]) consider(h);
  }

  std::sort_heap(heap.begin(), heap.end(), before);
  page.more = heap.size() > q.limit;
  if (page.more) heap.pop_back();
  page.hits.reserve(heap.size());
  for (const Candidate& c : heap) {
    page.hits.push_back(SearchHit{slots_[c.slot].record, c.distance, c.available, c.sort_key});
  }
  return page;
}

absl::btree_map<std::pair<std::string, std::string>, CapacityCell> SpecialistIndex::Summarise(
    DayNumber day, uint64_t role_mask, const std::vector<int>& authorities) const {
  absl::btree_map<std::pair<std::string, std::string>, CapacityCell> cells;
  for (size_t role = 0; role < by_role_.size(); ++role) {
    if (role_mask != 0 && (role >= 64 || !(role_mask & (uint64_t{1} << role)))) continue;
    for (const Hot& h : by_role_[role]) {
      const Entry& e = slots_[h.slot];
      if (!authorities.empty() && std::find(authorities.begin(), authorities.end(),
                                            e.owning_authority) == authorities.end()) {
        continue;
      }
      CapacityCell& cell = cells[{e.record->owning_authority(), e.record->role()}];
      ++cell.headcount;
      if (day >= h.valid_from && day <= h.valid_to) {
        cell.contracted += h.contracted;
        cell.committed += h.committed;
        cell.available += AvailableHours(h.contracted, h.committed);
      }
      if (h.accepting) ++cell.accepting;
    }
  }
  return cells;
}

}  // namespace expertise::registry
