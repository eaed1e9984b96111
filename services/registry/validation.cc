#include "services/registry/validation.h"

#include "services/common/utf8.h"

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "services/common/civil_date.h"

namespace expertise::registry {
namespace {

using v1::Specialist;

// Generous bounds around the United Kingdom: a base just over a border is
// fine, a base on the far side of the world is a data error.
constexpr double kMinLatitude = 49.0, kMaxLatitude = 61.0;
constexpr double kMinLongitude = -8.7, kMaxLongitude = 2.1;

bool HasControlChars(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

void CheckText(absl::string_view value, absl::string_view field, size_t max_len, bool required,
               absl::string_view prefix, FieldViolations* v) {
  if (value.find_first_not_of(" \t") == absl::string_view::npos) {
    if (required) {
      v->Add(absl::StrCat(prefix, field), value.empty() ? "is required" : "must not be blank",
             value.empty() ? FieldViolations::Kind::kRequired : FieldViolations::Kind::kValue);
    } else if (!value.empty()) {
      v->Add(absl::StrCat(prefix, field), "must not be blank");
    }
    return;
  }
  if (value.size() > max_len) {
    v->Add(absl::StrCat(prefix, field), absl::StrCat("must be at most ", max_len, " bytes"));
  } else if (HasControlChars(value)) {
    v->Add(absl::StrCat(prefix, field), "must not contain control characters");
  }
}

bool IsSourceName(absl::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-';
}

void CheckCodes(const google::protobuf::RepeatedPtrField<std::string>& codes,
                v1::TaxonomyKind kind, absl::string_view field, const ReferenceData& reference,
                absl::string_view prefix, FieldViolations* v) {
  if (codes.size() > kMaxListEntries) {
    v->Add(absl::StrCat(prefix, field), absl::StrCat("at most ", kMaxListEntries, " entries"));
    return;
  }
  std::set<absl::string_view> seen;
  for (int i = 0; i < codes.size(); ++i) {
    const std::string& code = codes[i];
    const std::string path = absl::StrCat(prefix, field, "[", i, "]");
    if (reference.TermIndex(kind, code) < 0) {
      v->Add(path, absl::StrCat("unknown code '", Utf8Prefix(code, 80),
                                "' (see ListTaxonomyTerms for the codes)"),
             FieldViolations::Kind::kReference);
    } else if (!seen.insert(code).second) {
      v->Add(path, absl::StrCat("'", code, "' is listed twice"));
    }
  }
}

void CheckHours(double hours, absl::string_view field, absl::string_view prefix, FieldViolations* v) {
  if (!std::isfinite(hours) || hours < 0 || hours > kMaxHoursPerWeek) {
    v->Add(absl::StrCat(prefix, field), "must be between 0 and 168 hours per week");
  }
}

}  // namespace

bool IsValidResourceId(std::string_view id) {
  if (id.size() < 4 || id.size() > 63) return false;
  if (!(id.front() >= 'a' && id.front() <= 'z') || id.back() == '-') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool IsValidLanguageTag(std::string_view tag) {
  size_t pos = 0;
  size_t primary = 0;
  while (pos < tag.size() && tag[pos] >= 'a' && tag[pos] <= 'z') ++pos, ++primary;
  if (primary < 2 || primary > 3) return false;
  while (pos < tag.size()) {
    if (tag[pos] != '-') return false;
    ++pos;
    size_t len = 0;
    while (pos < tag.size() && std::isalnum(static_cast<unsigned char>(tag[pos]))) ++pos, ++len;
    if (len < 1 || len > 8) return false;
  }
  return true;
}

void ValidateCapacity(const v1::Capacity& c, const std::string& prefix, FieldViolations* v) {
  CheckHours(c.contracted_hours_per_week(), "contracted_hours_per_week", prefix, v);
  CheckHours(c.committed_hours_per_week(), "committed_hours_per_week", prefix, v);
  if (c.current_caseload() < 0 || c.current_caseload() > 10000) {
    v->Add(absl::StrCat(prefix, "current_caseload"), "must be between 0 and 10000");
  }
  if (c.max_caseload() < 0 || c.max_caseload() > 10000) {
    v->Add(absl::StrCat(prefix, "max_caseload"), "must be between 0 and 10000");
  }
  if (c.waiting_time_weeks() < 0 || c.waiting_time_weeks() > 520) {
    v->Add(absl::StrCat(prefix, "waiting_time_weeks"), "must be between 0 and 520 weeks");
  }
  bool dates_ok = true;
  for (auto [date, has, field] :
       {std::tuple{&c.next_available_date(), c.has_next_available_date(), "next_available_date"},
        std::tuple{&c.valid_from(), c.has_valid_from(), "valid_from"},
        std::tuple{&c.valid_to(), c.has_valid_to(), "valid_to"}}) {
    if (has && !IsFullCalendarDate(*date)) {
      v->Add(absl::StrCat(prefix, field), "must be a full calendar date (year 1900 to 9999)");
      dates_ok = false;
    }
  }
  if (dates_ok && c.has_valid_from() && c.has_valid_to()) {
    if (ToCivilDay(c.valid_to()) < ToCivilDay(c.valid_from())) {
      v->Add(absl::StrCat(prefix, "valid_to"), "must not be before valid_from");
    }
  }
}

void ValidateSpecialist(const Specialist& s, const RegionInfo& region,
                        const ReferenceData& reference, absl::Time now, const std::string& prefix,
                        FieldViolations* v) {
  // Owning authority: known, and in this registry's region.
  if (s.owning_authority().empty()) {
    v->Add(absl::StrCat(prefix, "owning_authority"), "is required (an ONS GSS code)", FieldViolations::Kind::kRequired);
  } else if (const AuthorityInfo* la = reference.FindAuthority(s.owning_authority()); !la) {
    v->Add(absl::StrCat(prefix, "owning_authority"),
           absl::StrCat("'", Utf8Prefix(s.owning_authority(), 20),
                        "' is not an English upper-tier local authority GSS code"));
  } else if (la->region_code != region.code) {
    v->Add(absl::StrCat(prefix, "owning_authority"),
           absl::StrCat(la->name, " is not in ", region.name,
                        "; records are held by the owning authority's region"));
  } else if (la->code != s.owning_authority()) {
    v->Add(absl::StrCat(prefix, "owning_authority"),
           absl::StrCat("'", s.owning_authority(), "' is a former code; use ", la->code));
  }

  if (s.source().empty()) {
    v->Add(absl::StrCat(prefix, "source"), "is required", FieldViolations::Kind::kRequired);
  } else if (!IsSourceName(s.source())) {
    v->Add(absl::StrCat(prefix, "source"),
           "must be 1 to 63 lower-case letters, digits or '-', not starting with '-'");
  }
  CheckText(s.external_id(), "external_id", 128, true, prefix, v);
  CheckText(s.display_name(), "display_name", 200, true, prefix, v);

  if (s.role().empty()) {
    v->Add(absl::StrCat(prefix, "role"), "is required", FieldViolations::Kind::kRequired);
  } else if (reference.TermIndex(v1::TAXONOMY_KIND_ROLE, s.role()) < 0) {
    v->Add(absl::StrCat(prefix, "role"),
           absl::StrCat("unknown role '", Utf8Prefix(s.role(), 80),
                        "' (see ListTaxonomyTerms for the codes)"),
           FieldViolations::Kind::kReference);
  }
  CheckCodes(s.specialisms(), v1::TAXONOMY_KIND_SPECIALISM, "specialisms", reference, prefix, v);
  CheckCodes(s.settings(), v1::TAXONOMY_KIND_SETTING, "settings", reference, prefix, v);

  if (!s.has_age_range()) {
    v->Add(absl::StrCat(prefix, "age_range"), "is required (ages 0 to 25)", FieldViolations::Kind::kRequired);
  } else {
    const auto& ages = s.age_range();
    if (ages.min_age() < 0 || ages.min_age() > kMaxAge) {
      v->Add(absl::StrCat(prefix, "age_range.min_age"), "must be between 0 and 25");
    }
    if (ages.max_age() < 0 || ages.max_age() > kMaxAge) {
      v->Add(absl::StrCat(prefix, "age_range.max_age"), "must be between 0 and 25");
    } else if (ages.max_age() < ages.min_age()) {
      v->Add(absl::StrCat(prefix, "age_range.max_age"), "must not be below min_age");
    }
  }

  if (s.languages_size() > 20) {
    v->Add(absl::StrCat(prefix, "languages"), "at most 20 entries");
  } else {
    std::set<absl::string_view> seen;
    for (int i = 0; i < s.languages_size(); ++i) {
      const std::string path = absl::StrCat(prefix, "languages[", i, "]");
      if (!IsValidLanguageTag(s.languages(i))) {
        v->Add(path, "must be a BCP 47 language tag such as 'en', 'cy' or 'bfi' (BSL)");
      } else if (!seen.insert(s.languages(i)).second) {
        v->Add(path, "is listed twice");
      }
    }
  }

  if (s.delivery_modes_size() == 0) {
    v->Add(absl::StrCat(prefix, "delivery_modes"), "at least one delivery mode is required", FieldViolations::Kind::kRequired);
  }
  std::set<int> modes;
  for (int i = 0; i < s.delivery_modes_size(); ++i) {
    const int mode = s.delivery_modes(i);
    const std::string path = absl::StrCat(prefix, "delivery_modes[", i, "]");
    if (!v1::DeliveryMode_IsValid(mode) || mode == v1::DELIVERY_MODE_UNSPECIFIED) {
      v->Add(path, "must be DELIVERY_MODE_IN_PERSON or DELIVERY_MODE_REMOTE");
    } else if (!modes.insert(mode).second) {
      v->Add(path, "is listed twice");
    }
  }

  if (s.has_base_location()) {
    const double lat = s.base_location().latitude();
    const double lon = s.base_location().longitude();
    if (!std::isfinite(lat) || lat < kMinLatitude || lat > kMaxLatitude) {
      v->Add(absl::StrCat(prefix, "base_location.latitude"),
             "must be a WGS84 latitude within the United Kingdom (49 to 61)");
    }
    if (!std::isfinite(lon) || lon < kMinLongitude || lon > kMaxLongitude) {
      v->Add(absl::StrCat(prefix, "base_location.longitude"),
             "must be a WGS84 longitude within the United Kingdom (-8.7 to 2.1)");
    }
  }
  if (!std::isfinite(s.travel_radius_km()) || s.travel_radius_km() < 0 ||
      s.travel_radius_km() > kMaxTravelRadiusKm) {
    v->Add(absl::StrCat(prefix, "travel_radius_km"), "must be between 0 and 500 km");
  }

  if (s.covered_authorities_size() > 200) {
    v->Add(absl::StrCat(prefix, "covered_authorities"), "at most 200 entries");
  } else {
    std::set<absl::string_view> seen;
    for (int i = 0; i < s.covered_authorities_size(); ++i) {
      const std::string& code = s.covered_authorities(i);
      const std::string path = absl::StrCat(prefix, "covered_authorities[", i, "]");
      const AuthorityInfo* la = reference.FindAuthority(code);
      if (!la) {
        v->Add(path, absl::StrCat("'", Utf8Prefix(code, 20), "' is not a known GSS code"),
               FieldViolations::Kind::kReference);
      } else if (la->code != code) {
        v->Add(path, absl::StrCat("'", code, "' is a former code; use ", la->code));
      } else if (!seen.insert(code).second) {
        v->Add(path, "is listed twice");
      }
    }
  }

  CheckText(s.registration().body(), "registration.body", 64, !s.registration().number().empty(),
            prefix, v);
  CheckText(s.registration().number(), "registration.number", 64, false, prefix, v);

  if (!v1::EmployerType_IsValid(s.employer_type()) ||
      s.employer_type() == v1::EMPLOYER_TYPE_UNSPECIFIED) {
    v->Add(absl::StrCat(prefix, "employer_type"), "is required", FieldViolations::Kind::kRequired);
  }
  if (!v1::Visibility_IsValid(s.visibility()) || s.visibility() == v1::VISIBILITY_UNSPECIFIED) {
    v->Add(absl::StrCat(prefix, "visibility"), "is required", FieldViolations::Kind::kRequired);
  }

  const auto& contact = s.work_contact();
  CheckText(contact.email(), "work_contact.email", 254, false, prefix, v);
  if (!contact.email().empty()) {
    const size_t at = contact.email().find('@');
    if (at == std::string::npos || at == 0 || at + 1 >= contact.email().size() ||
        contact.email().find_first_of(" @", at + 1) != std::string::npos) {
      v->Add(absl::StrCat(prefix, "work_contact.email"), "must be an email address");
    }
  }
  CheckText(contact.phone(), "work_contact.phone", 32, false, prefix, v);
  if (contact.phone().find_first_not_of("0123456789 +()-") != std::string::npos) {
    v->Add(absl::StrCat(prefix, "work_contact.phone"),
           "may hold only digits, spaces and + ( ) -");
  }
  CheckText(contact.team(), "work_contact.team", 200, false, prefix, v);

  if (s.has_last_verify_time()) {
    const auto& t = s.last_verify_time();
    const absl::Time when = absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
    if (t.nanos() < 0 || t.nanos() > 999999999 || t.seconds() < 0) {
      v->Add(absl::StrCat(prefix, "last_verify_time"), "must be a valid time after 1970");
    } else if (when > now + absl::Hours(24)) {
      v->Add(absl::StrCat(prefix, "last_verify_time"), "must not be in the future");
    }
  }

  if (s.has_capacity()) ValidateCapacity(s.capacity(), absl::StrCat(prefix, "capacity."), v);
}

}  // namespace expertise::registry
