#include "services/sharing/lifecycle.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "services/common/civil_date.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/utf8.h"

namespace expertise::sharing {
namespace {

namespace v1 = ::expertise::registry::v1;
using v1::SupportRequestState;

// Debian's absl::string_view is not std::string_view (see
// services/common/string_view.h); our reference API takes the std one.
std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

constexpr int kMaxNoteChars = 500;
constexpr int kMaxSpecialisms = 10;
constexpr double kMaxHoursPerWeek = 168;
constexpr int kMaxWeeks = 104;

// The states each transition may start from. One table, so the message of a
// refused transition and the transition itself cannot disagree.
const std::vector<SupportRequestState>& AllowedFrom(Transition t) {
  static const auto* const kTable = new std::vector<SupportRequestState>[8] {
    /* kOffer */ {v1::SUPPORT_REQUEST_STATE_OPEN, v1::SUPPORT_REQUEST_STATE_OFFERED, v1::SUPPORT_REQUEST_STATE_UNMET},
    /* kAccept */ {v1::SUPPORT_REQUEST_STATE_OFFERED},
    /* kStart */ {v1::SUPPORT_REQUEST_STATE_ACCEPTED},
    /* kComplete */ {v1::SUPPORT_REQUEST_STATE_ACCEPTED, v1::SUPPORT_REQUEST_STATE_ACTIVE},
    /* kDecline */ {v1::SUPPORT_REQUEST_STATE_OFFERED},
    /* kWithdraw */
    {v1::SUPPORT_REQUEST_STATE_OPEN, v1::SUPPORT_REQUEST_STATE_OFFERED, v1::SUPPORT_REQUEST_STATE_UNMET,
     v1::SUPPORT_REQUEST_STATE_ACCEPTED},
    /* kExpire */ {v1::SUPPORT_REQUEST_STATE_OFFERED},
    /* kEscalate */ {v1::SUPPORT_REQUEST_STATE_OPEN, v1::SUPPORT_REQUEST_STATE_OFFERED},
  };
  return kTable[static_cast<int>(t)];
}

SupportRequestState Target(Transition t) {
  switch (t) {
    case Transition::kOffer: return v1::SUPPORT_REQUEST_STATE_OFFERED;
    case Transition::kAccept: return v1::SUPPORT_REQUEST_STATE_ACCEPTED;
    case Transition::kStart: return v1::SUPPORT_REQUEST_STATE_ACTIVE;
    case Transition::kComplete: return v1::SUPPORT_REQUEST_STATE_COMPLETED;
    case Transition::kDecline: return v1::SUPPORT_REQUEST_STATE_DECLINED;
    case Transition::kWithdraw: return v1::SUPPORT_REQUEST_STATE_WITHDRAWN;
    case Transition::kExpire: return v1::SUPPORT_REQUEST_STATE_EXPIRED;
    case Transition::kEscalate: return v1::SUPPORT_REQUEST_STATE_UNMET;
  }
  return v1::SUPPORT_REQUEST_STATE_UNSPECIFIED;
}

// Decodes one UTF-8 sequence at `*i`; nullopt (and `*i` untouched) when the
// bytes there are not a valid, shortest-form scalar value.
std::optional<uint32_t> DecodeUtf8(absl::string_view s, size_t* i) {
  const unsigned char c = static_cast<unsigned char>(s[*i]);
  const size_t extra = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
  if (extra == 4 || *i + extra >= s.size()) return std::nullopt;
  uint32_t cp = extra == 0 ? c : extra == 1 ? (c & 0x1fu) : extra == 2 ? (c & 0x0fu) : (c & 0x07u);
  for (size_t k = 1; k <= extra; ++k) {
    const unsigned char cc = static_cast<unsigned char>(s[*i + k]);
    if ((cc & 0xc0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (cc & 0x3fu);
  }
  if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
    return std::nullopt;
  }
  *i += extra + 1;
  return cp;
}

// Why `note` is not acceptable free text, or nullopt when it is.
std::optional<std::string> NoteProblem(absl::string_view note) {
  size_t i = 0;
  int chars = 0;
  bool control = false;
  while (i < note.size()) {
    const std::optional<uint32_t> cp = DecodeUtf8(note, &i);
    if (!cp) return "must be valid UTF-8";
    // C0, DEL and C1: newlines and tabs too, since notes are shown on one
    // line in lists and audit entries.
    if (*cp < 0x20 || (*cp >= 0x7f && *cp <= 0x9f)) control = true;
    ++chars;
  }
  if (chars > kMaxNoteChars) return absl::StrCat("must be at most ", kMaxNoteChars, " characters");
  if (control) return "must not contain control characters (including newlines and tabs)";
  return std::nullopt;
}

// Checks a GSS code field; `region` non-null means the authority must be in it.
void CheckAuthority(const std::string& code, const std::string& field, const ReferenceData& reference,
                    const RegionInfo* region, absl::string_view region_code, FieldViolations* v) {
  const AuthorityInfo* la = reference.FindAuthority(code);
  if (la == nullptr) {
    v->Add(field, absl::StrCat("'", Utf8Prefix(code, 20), "' is not an English upper-tier local authority GSS code"));
  } else if (la->code != code) {
    // Former codes would break equality with owning authorities and callers.
    v->Add(field, absl::StrCat("'", code, "' is a former code; use ", la->code));
  } else if (region != nullptr && la->region_code != region->code) {
    v->Add(field, absl::StrCat(la->name, " is not in ", region->name,
                               "; a request lives in the requesting authority's region"));
  } else if (region == nullptr && !region_code.empty() && la->region_code != region_code) {
    v->Add(field, absl::StrCat(la->name, " is not in region ", Utf8Prefix(ToStd(region_code), 20)));
  }
}

void CheckCode(const std::string& code, v1::TaxonomyKind kind, absl::string_view what, const std::string& field,
               const ReferenceData& reference, FieldViolations* v) {
  if (code.empty()) {
    v->Add(field, absl::StrCat("is required (a ", what, " code)"));
  } else if (reference.TermIndex(kind, code) < 0) {
    v->Add(field, absl::StrCat("unknown ", what, " '", Utf8Prefix(code, 80), "' (see ListTaxonomyTerms for the codes)"));
  }
}

}  // namespace

absl::string_view TransitionVerb(Transition t) {
  switch (t) {
    case Transition::kOffer: return "offer";
    case Transition::kAccept: return "accept";
    case Transition::kStart: return "start";
    case Transition::kComplete: return "complete";
    case Transition::kDecline: return "decline";
    case Transition::kWithdraw: return "withdraw";
    case Transition::kExpire: return "expire";
    case Transition::kEscalate: return "escalate";
  }
  return "change";
}

absl::StatusOr<SupportRequestState> NextState(SupportRequestState from, Transition t) {
  const std::vector<SupportRequestState>& allowed = AllowedFrom(t);
  for (SupportRequestState s : allowed) {
    if (s == from) return Target(t);
  }
  std::vector<std::string> names;
  for (SupportRequestState s : allowed) names.push_back(StateName(s));
  return WithReason(absl::FailedPreconditionError(absl::StrCat("cannot ", TransitionVerb(t),
                                                               " a support request that is ", StateName(from),
                                                               " (allowed from: ", absl::StrJoin(names, ", "), ")")),
                    reasons::kIllegalTransition);
}

bool IsFinal(SupportRequestState state) {
  return state == v1::SUPPORT_REQUEST_STATE_COMPLETED || state == v1::SUPPORT_REQUEST_STATE_DECLINED ||
         state == v1::SUPPORT_REQUEST_STATE_WITHDRAWN || state == v1::SUPPORT_REQUEST_STATE_EXPIRED;
}

std::string StateName(SupportRequestState state) {
  if (!v1::SupportRequestState_IsValid(state)) return absl::StrCat("UNKNOWN(", static_cast<int>(state), ")");
  constexpr absl::string_view kPrefix = "SUPPORT_REQUEST_STATE_";
  const std::string& full = v1::SupportRequestState_Name(state);
  return absl::string_view(full).substr(0, kPrefix.size()) == kPrefix ? full.substr(kPrefix.size()) : full;
}

absl::Status ValidateNote(absl::string_view note, absl::string_view field) {
  if (std::optional<std::string> problem = NoteProblem(note)) return InvalidFieldError(std::string(field), *problem);
  return absl::OkStatus();
}

absl::Status ValidateNewSupportRequest(const v1::SupportRequest& request, const ReferenceData& reference,
                                       absl::string_view region_code, absl::Time now) {
  constexpr absl::string_view kPrefix = "support_request.";
  auto path = [&](absl::string_view field) { return absl::StrCat(kPrefix, field); };
  FieldViolations v;

  const RegionInfo* region = reference.FindRegion(ToStd(region_code));
  if (request.requesting_authority().empty()) {
    v.Add(path("requesting_authority"), "is required (an ONS GSS code)");
  } else {
    CheckAuthority(request.requesting_authority(), path("requesting_authority"), reference, region, region_code, &v);
  }
  CheckCode(request.role(), v1::TAXONOMY_KIND_ROLE, "role", path("role"), reference, &v);

  if (request.specialisms_size() > kMaxSpecialisms) {
    v.Add(path("specialisms"), absl::StrCat("at most ", kMaxSpecialisms, " entries"));
  } else {
    std::set<absl::string_view> seen;
    for (int i = 0; i < request.specialisms_size(); ++i) {
      const std::string& code = request.specialisms(i);
      const std::string field = path(absl::StrCat("specialisms[", i, "]"));
      if (reference.TermIndex(v1::TAXONOMY_KIND_SPECIALISM, code) < 0) {
        v.Add(field, absl::StrCat("unknown specialism '", Utf8Prefix(code, 80),
                                  "' (see ListTaxonomyTerms for the codes)"));
      } else if (!seen.insert(code).second) {
        v.Add(field, absl::StrCat("'", code, "' is listed twice"));
      }
    }
  }
  CheckCode(request.setting(), v1::TAXONOMY_KIND_SETTING, "setting", path("setting"), reference, &v);

  const double hours = request.hours_per_week();
  if (!std::isfinite(hours) || hours <= 0 || hours > kMaxHoursPerWeek) {
    v.Add(path("hours_per_week"), "must be above 0 and at most 168 hours per week");
  }
  if (request.weeks() < 1 || request.weeks() > kMaxWeeks) {
    v.Add(path("weeks"), absl::StrCat("must be between 1 and ", kMaxWeeks, " weeks"));
  }
  if (!request.location_authority().empty()) {
    // Support may be needed anywhere in England (a child placed out of area).
    CheckAuthority(request.location_authority(), path("location_authority"), reference, nullptr, "", &v);
  }
  if (!v1::DeliveryMode_IsValid(request.delivery_mode())) {
    v.Add(path("delivery_mode"), "must be DELIVERY_MODE_IN_PERSON, DELIVERY_MODE_REMOTE or unspecified (any)");
  }
  if (!v1::Urgency_IsValid(request.urgency())) {
    v.Add(path("urgency"), "must be URGENCY_ROUTINE, URGENCY_SOON, URGENCY_URGENT or unspecified");
  }
  if (!v1::AgeBand_IsValid(request.age_band())) {
    v.Add(path("age_band"), "must be an AgeBand value");
  }
  if (std::optional<std::string> problem = NoteProblem(request.note())) v.Add(path("note"), *problem);
  if (request.has_start_date() && !IsFullCalendarDate(request.start_date())) {
    v.Add(path("start_date"), "must be a full calendar date (year 1900 to 9999)");
  }
  if (request.has_match_deadline()) {
    const auto& ts = request.match_deadline();
    // Timestamp's documented range: 0001-01-01 to 9999-12-31.
    if (ts.seconds() < -62135596800 || ts.seconds() > 253402300799 || ts.nanos() < 0 || ts.nanos() > 999999999) {
      v.Add(path("match_deadline"), "must be a valid timestamp");
    } else if (absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos()) <= now) {
      v.Add(path("match_deadline"), "must be in the future");
    }
  }
  return v.ToStatus("support request has invalid fields");
}

absl::Duration MatchWindow(v1::Urgency urgency) {
  switch (urgency) {
    case v1::URGENCY_SOON: return absl::Hours(24 * 14);
    case v1::URGENCY_URGENT: return absl::Hours(24 * 5);
    default: return absl::Hours(24 * 28);
  }
}

std::pair<int, int> AgeBandYears(v1::AgeBand band) {
  switch (band) {
    case v1::AGE_BAND_EARLY_YEARS: return {0, 4};
    case v1::AGE_BAND_PRIMARY: return {5, 10};
    case v1::AGE_BAND_SECONDARY: return {11, 15};
    case v1::AGE_BAND_POST_16: return {16, 25};
    default: return {0, 25};
  }
}

google::type::Date PeriodEnd(const google::type::Date& start, int weeks) {
  return ToDateProto(ToCivilDay(start) + (7 * weeks - 1));
}

}  // namespace expertise::sharing
