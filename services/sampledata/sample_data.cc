#include "services/sampledata/sample_data.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "services/common/civil_date.h"
#include "services/common/geo.h"

namespace expertise::sampledata {
namespace {

using v1::Specialist;

// A deterministic source of randomness: std::mt19937_64's output is fixed by
// the standard, and the helpers below avoid library distributions, whose
// results differ between standard libraries.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  int Int(int lo, int hi) { return lo + static_cast<int>(engine_() % static_cast<uint64_t>(hi - lo + 1)); }
  bool Chance(double p) { return Uniform() < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) { return items[engine_() % items.size()]; }

 private:
  std::mt19937_64 engine_;
};

struct RoleProfile {
  const char* role;
  double weight;  // share of the workforce, relative
  std::vector<std::string> core;      // always present
  std::vector<std::string> optional;  // each with 35% chance
  enum Phase { kAllAges, kEarlyYears, kSensory } phase;
  enum Workforce { kEducation, kHealth, kCare } workforce;
  const char* registration_body;  // "" when none
  const char* registration_prefix;
};

// Relative sizes follow the shape of the SEND workforce: speech and language
// therapists and educational psychologists are the largest groups; QTMSIs,
// AAC specialists and habilitation specialists are rare.
const std::vector<RoleProfile>& Profiles() {
  static const auto* const profiles = new std::vector<RoleProfile>{
      {"speech-language-therapist", 22, {"speech-language-communication"},
       {"developmental-language-disorder", "stammering", "childhood-apraxia-of-speech",
        "selective-mutism", "aac", "autism", "eating-drinking-swallowing", "early-communication",
        "down-syndrome"},
       RoleProfile::kAllAges, RoleProfile::kHealth, "HCPC", "SL"},
      {"educational-psychologist", 12, {},
       {"autism", "semh", "learning-disability", "specific-learning-difficulty", "adhd",
        "rare-conditions"},
       RoleProfile::kAllAges, RoleProfile::kEducation, "HCPC", "PYL"},
      {"occupational-therapist", 10, {},
       {"sensory-processing", "physical-disability", "specific-learning-difficulty", "autism"},
       RoleProfile::kAllAges, RoleProfile::kHealth, "HCPC", "OT"},
      {"physiotherapist", 8, {"physical-disability"},
       {"complex-medical-needs", "profound-multiple-learning-disability"},
       RoleProfile::kAllAges, RoleProfile::kHealth, "HCPC", "PH"},
      {"specialist-teacher", 10, {},
       {"specific-learning-difficulty", "autism", "learning-disability", "semh"},
       RoleProfile::kAllAges, RoleProfile::kEducation, "TRA", ""},
      {"advisory-teacher", 6, {},
       {"autism", "hearing-impairment", "vision-impairment", "physical-disability", "semh"},
       RoleProfile::kAllAges, RoleProfile::kEducation, "TRA", ""},
      {"qualified-teacher-deaf", 5, {"hearing-impairment"},
       {"early-communication", "multi-sensory-impairment"},
       RoleProfile::kSensory, RoleProfile::kEducation, "TRA", ""},
      {"qualified-teacher-vision-impairment", 3, {"vision-impairment"},
       {"multi-sensory-impairment"}, RoleProfile::kSensory, RoleProfile::kEducation, "TRA", ""},
      {"qualified-teacher-multi-sensory-impairment", 0.7,
       {"multi-sensory-impairment", "hearing-impairment", "vision-impairment"}, {"rare-conditions"},
       RoleProfile::kSensory, RoleProfile::kEducation, "TRA", ""},
      {"early-years-send-adviser", 5, {"early-communication"},
       {"autism", "learning-disability", "speech-language-communication"},
       RoleProfile::kEarlyYears, RoleProfile::kEducation, "", ""},
      {"portage-home-visitor", 3, {"early-communication"},
       {"learning-disability", "down-syndrome", "rare-conditions"},
       RoleProfile::kEarlyYears, RoleProfile::kEducation, "", ""},
      {"aac-specialist", 1.2, {"aac"},
       {"physical-disability", "autism", "profound-multiple-learning-disability", "rare-conditions"},
       RoleProfile::kAllAges, RoleProfile::kHealth, "HCPC", "SL"},
      {"habilitation-specialist", 1, {"vision-impairment"}, {"multi-sensory-impairment"},
       RoleProfile::kSensory, RoleProfile::kEducation, "", ""},
      {"communication-support-worker", 2, {"hearing-impairment"}, {},
       RoleProfile::kAllAges, RoleProfile::kEducation, "", ""},
      {"paediatric-audiologist", 2, {"hearing-impairment"}, {},
       RoleProfile::kSensory, RoleProfile::kHealth, "RCCP", "AUD"},
      {"audiologist", 1, {"hearing-impairment"}, {}, RoleProfile::kSensory, RoleProfile::kHealth,
       "RCCP", "AUD"},
      {"clinical-psychologist", 2, {}, {"semh", "autism", "adhd"}, RoleProfile::kAllAges,
       RoleProfile::kHealth, "HCPC", "PYL"},
      {"play-therapist", 1.5, {"semh"}, {}, RoleProfile::kAllAges, RoleProfile::kHealth, "", ""},
      {"behaviour-therapist", 1.5, {}, {"autism", "learning-disability", "semh"},
       RoleProfile::kAllAges, RoleProfile::kHealth, "", ""},
      {"orthoptist", 0.8, {"vision-impairment"}, {}, RoleProfile::kAllAges, RoleProfile::kHealth,
       "HCPC", "OR"},
      {"hearing-therapist", 0.5, {"hearing-impairment"}, {}, RoleProfile::kAllAges,
       RoleProfile::kHealth, "", ""},
      {"bsl-interpreter", 1, {"hearing-impairment"}, {}, RoleProfile::kAllAges,
       RoleProfile::kCare, "NRCPD", "INT"},
      {"sensory-support-worker", 1.5, {"multi-sensory-impairment"},
       {"vision-impairment", "hearing-impairment"}, RoleProfile::kSensory, RoleProfile::kCare, "",
       ""},
  };
  return *profiles;
}

const std::vector<std::string>& FirstNames() {
  static const auto* const names = new std::vector<std::string>{
      "Aisha", "Amelia", "Amir", "Anna", "Ben", "Bethan", "Chen", "Chloe", "Daniel", "Deborah",
      "Eleanor", "Emeka", "Fatima", "Freya", "George", "Grace", "Hannah", "Harpreet", "Imran",
      "Isla", "Jack", "Jasmine", "Joseph", "Kavita", "Kwame", "Laura", "Leah", "Liam", "Lucy",
      "Marek", "Maryam", "Megan", "Mohammed", "Nadia", "Niamh", "Oliver", "Olu", "Priya",
      "Rachel", "Rhys", "Ruth", "Sam", "Sana", "Sarah", "Siobhan", "Sophie", "Tariq", "Tom",
      "Yusuf", "Zainab", "Zofia"};
  return *names;
}

const std::vector<std::string>& Surnames() {
  static const auto* const names = new std::vector<std::string>{
      "Adeyemi", "Ahmed", "Ali", "Atkinson", "Bailey", "Begum", "Bennett", "Brown", "Campbell",
      "Chowdhury", "Clarke", "Davies", "Edwards", "Evans", "Fletcher", "Green", "Hall", "Hughes",
      "Hussain", "Iqbal", "Jackson", "Johnson", "Kaur", "Khan", "Kowalski", "Lewis", "Mensah",
      "Mistry", "Moore", "Morgan", "Nowak", "Okafor", "Owen", "Patel", "Price", "Roberts",
      "Robinson", "Shah", "Singh", "Smith", "Taylor", "Thomas", "Thompson", "Walker", "Ward",
      "Watson", "White", "Williams", "Wilson", "Wright", "Young"};
  return *names;
}

struct SettingChance {
  const char* code;
  double school_age;  // chance for roles serving all ages
  double early_years; // chance for early-years roles
};
// PVI early years and childminders get fewer specialists than schools: the
// access gap the equity reports are meant to show.
constexpr SettingChance kSettings[] = {
    {"early-years-maintained", 0.40, 0.90}, {"early-years-pvi", 0.22, 0.80},
    {"childminder", 0.08, 0.55},            {"primary", 0.75, 0.30},
    {"secondary", 0.55, 0.0},               {"special-school", 0.45, 0.15},
    {"alternative-provision", 0.15, 0.0},   {"post-16", 0.25, 0.0},
    {"home-community", 0.35, 0.70},         {"hospital-education", 0.05, 0.0},
};

std::string Slug(std::string_view name) {
  std::string slug;
  for (char c : name) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      slug += absl::ascii_tolower(static_cast<unsigned char>(c));
    } else if (!slug.empty() && slug.back() != '-') {
      slug += '-';
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug;
}

}  // namespace

std::vector<Specialist> GenerateSpecialists(const RegionInfo& region, const SampleOptions& options) {
  const ReferenceData& reference = ReferenceData::Get();
  uint64_t region_salt = 0;
  for (char c : region.code) region_salt = region_salt * 131 + static_cast<unsigned char>(c);
  Rng rng(options.seed * 0x9E3779B97F4A7C15ull + region_salt);
  const auto& profiles = Profiles();
  double total_weight = 0;
  for (const auto& p : profiles) total_weight += p.weight;

  // Counties are larger than most unitaries and London boroughs: weight them up.
  std::vector<double> la_weights;
  double la_total = 0;
  for (int index : region.authorities) {
    const double w = reference.authorities()[index].type == "CTY" ? 3.0 : 1.0;
    la_weights.push_back(w);
    la_total += w;
  }
  const absl::CivilDay today = absl::ToCivilDay(options.now, absl::UTCTimeZone());
  const int academic_year = today.month() >= 9 ? static_cast<int>(today.year())
                                               : static_cast<int>(today.year()) - 1;

  std::map<std::string, std::string> role_labels;
  for (const auto& term : reference.terms()) {
    if (term.kind() == v1::TAXONOMY_KIND_ROLE) role_labels[term.code()] = term.label();
  }

  std::vector<Specialist> out;
  out.reserve(options.count);
  for (int n = 0; n < options.count; ++n) {
    Specialist s;
    // Role.
    double pick = rng.Uniform() * total_weight;
    const RoleProfile* profile = &profiles.back();
    for (const auto& p : profiles) {
      if ((pick -= p.weight) < 0) {
        profile = &p;
        break;
      }
    }
    s.set_role(profile->role);

    // Owning authority.
    double la_pick = rng.Uniform() * la_total;
    int la_index = region.authorities.back();
    for (size_t i = 0; i < region.authorities.size(); ++i) {
      if ((la_pick -= la_weights[i]) < 0) {
        la_index = region.authorities[i];
        break;
      }
    }
    const AuthorityInfo& la = reference.authorities()[la_index];
    s.set_owning_authority(la.code);
    s.set_source(options.source);
    s.set_external_id(absl::StrFormat("%s-%06d", region.id, n + 1));

    const std::string& first = rng.Pick(FirstNames());
    const std::string& last = rng.Pick(Surnames());
    s.set_display_name(absl::StrCat(first, " ", last));

    // Specialisms.
    for (const auto& code : profile->core) s.add_specialisms(code);
    for (const auto& code : profile->optional) {
      if (rng.Chance(0.35)) s.add_specialisms(code);
    }
    if (profile->workforce == RoleProfile::kHealth && rng.Chance(0.05) &&
        std::find(s.specialisms().begin(), s.specialisms().end(), "rare-conditions") ==
            s.specialisms().end()) {
      s.add_specialisms("rare-conditions");
    }

    // Settings and ages.
    const bool early_years = profile->phase == RoleProfile::kEarlyYears;
    for (const auto& setting : kSettings) {
      if (rng.Chance(early_years ? setting.early_years : setting.school_age)) {
        s.add_settings(setting.code);
      }
    }
    if (s.settings_size() == 0) s.add_settings(early_years ? "early-years-maintained" : "primary");
    auto* ages = s.mutable_age_range();
    if (early_years) {
      ages->set_min_age(0);
      ages->set_max_age(5);
    } else if (profile->phase == RoleProfile::kSensory) {
      ages->set_min_age(0);
      ages->set_max_age(25);
    } else {
      const int band = rng.Int(0, 3);
      ages->set_min_age(band == 0 ? 0 : (band == 1 ? 2 : 4));
      ages->set_max_age(band == 3 ? 25 : (band == 2 ? 16 : 19));
    }

    // Languages: English, plus BSL for much of the deaf-education workforce.
    s.add_languages("en");
    double bsl = 0.03;
    if (s.role() == "qualified-teacher-deaf") bsl = 0.45;
    if (s.role() == "communication-support-worker" || s.role() == "bsl-interpreter") bsl = 1.0;
    if (s.role() == "qualified-teacher-multi-sensory-impairment") bsl = 0.6;
    if (rng.Chance(bsl)) s.add_languages("bfi");
    static const std::vector<std::string> kCommunityLanguages = {
        "pl", "ur", "pa", "bn", "ar", "so", "ro", "gu", "pt", "es", "cy", "tr"};
    if (rng.Chance(0.12)) s.add_languages(rng.Pick(kCommunityLanguages));

    if (rng.Chance(0.95)) s.add_delivery_modes(v1::DELIVERY_MODE_IN_PERSON);
    if (s.delivery_modes_size() == 0 || rng.Chance(0.4)) s.add_delivery_modes(v1::DELIVERY_MODE_REMOTE);

    // Base: near the authority's centre (about 2 to 15 km off); 15% give none
    // and are placed at the centre by the registry.
    if (rng.Chance(0.85)) {
      const double km = std::abs(rng.Uniform(-1, 1) + rng.Uniform(-1, 1)) * 8;
      const double bearing = rng.Uniform(0, 2 * M_PI);
      const double dlat = km * std::cos(bearing) / 111.2;
      const double dlon = km * std::sin(bearing) / (111.2 * std::cos(la.latitude * M_PI / 180));
      s.mutable_base_location()->set_latitude(std::round((la.latitude + dlat) * 1e5) / 1e5);
      s.mutable_base_location()->set_longitude(std::round((la.longitude + dlon) * 1e5) / 1e5);
    }
    const bool travels_far = profile->phase == RoleProfile::kSensory ||
                             s.role() == "aac-specialist";
    s.set_travel_radius_km(travels_far ? rng.Int(30, 120) : rng.Int(10, 60));

    // A fifth also cover the nearest one or two neighbouring authorities.
    if (rng.Chance(0.2)) {
      std::vector<std::pair<double, const AuthorityInfo*>> near;
      for (const AuthorityInfo& other : reference.authorities()) {
        if (other.code == la.code) continue;
        near.emplace_back(GreatCircleKm(la.latitude, la.longitude, other.latitude, other.longitude),
                          &other);
      }
      std::partial_sort(near.begin(), near.begin() + 2, near.end(),
                        [](const auto& a, const auto& b) { return a.first < b.first; });
      const int extra = rng.Int(1, 2);
      for (int i = 0; i < extra; ++i) s.add_covered_authorities(near[i].second->code);
    }

    if (*profile->registration_body) {
      s.mutable_registration()->set_body(profile->registration_body);
      s.mutable_registration()->set_number(
          absl::StrFormat("%s%06d", profile->registration_prefix, rng.Int(10000, 999999)));
    }

    switch (profile->workforce) {
      case RoleProfile::kHealth:
        s.set_employer_type(rng.Chance(0.7) ? v1::EMPLOYER_TYPE_NHS
                                            : v1::EMPLOYER_TYPE_INDEPENDENT_OR_VOLUNTARY);
        break;
      case RoleProfile::kEducation:
        s.set_employer_type(rng.Chance(0.7)   ? v1::EMPLOYER_TYPE_LOCAL_AUTHORITY
                            : rng.Chance(0.6) ? v1::EMPLOYER_TYPE_SCHOOL_OR_TRUST
                                              : v1::EMPLOYER_TYPE_INDEPENDENT_OR_VOLUNTARY);
        break;
      case RoleProfile::kCare:
        s.set_employer_type(rng.Chance(0.5) ? v1::EMPLOYER_TYPE_LOCAL_AUTHORITY
                                            : v1::EMPLOYER_TYPE_INDEPENDENT_OR_VOLUNTARY);
        break;
    }

    // Reserved example domain and Ofcom drama numbers: never real contacts.
    auto* contact = s.mutable_work_contact();
    contact->set_email(absl::StrCat(absl::AsciiStrToLower(first), ".", absl::AsciiStrToLower(last),
                                    n + 1, "@", Slug(la.name), ".example.org"));
    contact->set_phone(absl::StrFormat("01632 960%03d", rng.Int(0, 999)));
    contact->set_team(absl::StrCat(la.name, " ", role_labels.at(s.role()), " team"));

    const double vis = rng.Uniform();
    s.set_visibility(vis < 0.1    ? v1::VISIBILITY_OWN_AUTHORITY
                     : vis < 0.7 ? v1::VISIBILITY_REGION
                                 : v1::VISIBILITY_NATIONAL);
    const absl::Time verified = options.now - absl::Hours(24 * rng.Int(0, 400));
    s.mutable_last_verify_time()->set_seconds(absl::ToUnixSeconds(verified));

    // Capacity: mostly part-time SEND hours; about a third fully committed,
    // reflecting the shortage.
    auto* capacity = s.mutable_capacity();
    static const std::vector<double> kContracted = {37.5, 37.5, 37.5, 30, 30, 22.5, 22.5, 15, 7.5};
    const double contracted = rng.Pick(kContracted);
    capacity->set_contracted_hours_per_week(contracted);
    double committed = contracted;
    if (!rng.Chance(0.35)) committed = std::max(0.0, contracted - rng.Int(1, 24) * 0.5);
    if (rng.Chance(0.05)) committed = contracted + rng.Int(1, 8) * 0.5;  // over-committed
    capacity->set_committed_hours_per_week(committed);
    const int max_caseload = rng.Int(15, 80);
    capacity->set_max_caseload(max_caseload);
    capacity->set_current_caseload(std::min(max_caseload + 5, rng.Int(max_caseload / 2, max_caseload + 5)));
    const int waiting = committed >= contracted ? rng.Int(6, 40) : rng.Int(0, 12);
    capacity->set_waiting_time_weeks(waiting);
    *capacity->mutable_next_available_date() = ToDateProto(today + 7 * waiting);
    if (rng.Chance(0.2)) {  // term-time only
      *capacity->mutable_valid_from() = ToDateProto(absl::CivilDay(academic_year, 9, 1));
      *capacity->mutable_valid_to() = ToDateProto(absl::CivilDay(academic_year + 1, 7, 22));
    }
    capacity->set_accepting_external_requests(rng.Chance(0.35));

    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace expertise::sampledata
