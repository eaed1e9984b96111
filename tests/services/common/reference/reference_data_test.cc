#include "services/common/reference/reference_data.h"

#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace expertise {
namespace {

using registry::v1::TaxonomyKind;

TEST(ReferenceDataTest, HasEveryUpperTierAuthorityInItsRegion) {
  const auto& ref = ReferenceData::Get();
  EXPECT_EQ(ref.authorities().size(), 153u);
  ASSERT_EQ(ref.regions().size(), 9u);
  // Counts from the ONS region lookups (shared/reference/README.md).
  const std::map<std::string, size_t> expected = {
      {"E12000001", 12}, {"E12000002", 24}, {"E12000003", 15}, {"E12000004", 10},
      {"E12000005", 14}, {"E12000006", 11}, {"E12000007", 33}, {"E12000008", 19},
      {"E12000009", 15}};
  for (const auto& region : ref.regions()) {
    EXPECT_EQ(region.authorities.size(), expected.at(region.code)) << region.code;
    EXPECT_FALSE(region.name.empty());
  }
}

TEST(ReferenceDataTest, FindsRegionsByCodeIdAndName) {
  const auto& ref = ReferenceData::Get();
  ASSERT_NE(ref.FindRegion("E12000001"), nullptr);
  EXPECT_EQ(ref.FindRegion("E12000001"), ref.FindRegion("north-east"));
  EXPECT_EQ(ref.FindRegion("E12000001"), ref.FindRegion("regions/north-east"));
  EXPECT_EQ(ref.FindRegion("E12000001")->name, "North East");
  EXPECT_EQ(ref.FindRegion("nowhere"), nullptr);
}

TEST(ReferenceDataTest, FindsAuthoritiesByCurrentAndFormerCode) {
  const auto& ref = ReferenceData::Get();
  const AuthorityInfo* hartlepool = ref.FindAuthority("E06000001");
  ASSERT_NE(hartlepool, nullptr);
  EXPECT_EQ(hartlepool->name, "Hartlepool");
  EXPECT_EQ(hartlepool->region_code, "E12000001");
  EXPECT_NEAR(hartlepool->latitude, 54.68, 0.01);
  for (const auto& la : ref.authorities()) {
    if (la.former_code.empty()) continue;
    EXPECT_EQ(ref.FindAuthority(la.former_code), &la);
  }
  // Every centre lies in England.
  for (const auto& la : ref.authorities()) {
    EXPECT_GT(la.latitude, 49.8) << la.code;
    EXPECT_LT(la.latitude, 55.9) << la.code;
    EXPECT_GT(la.longitude, -6.5) << la.code;
    EXPECT_LT(la.longitude, 1.8) << la.code;
  }
}

TEST(ReferenceDataTest, TaxonomyCoversTheWholeWorkforce) {
  const auto& ref = ReferenceData::Get();
  for (const char* role :
       {"qualified-teacher-deaf", "qualified-teacher-vision-impairment",
        "qualified-teacher-multi-sensory-impairment", "specialist-teacher", "advisory-teacher",
        "aac-specialist", "educational-psychologist", "speech-language-therapist",
        "occupational-therapist", "physiotherapist"}) {
    EXPECT_GE(ref.TermIndex(registry::v1::TAXONOMY_KIND_ROLE, role), 0) << role;
  }
  for (const char* specialism :
       {"hearing-impairment", "vision-impairment", "multi-sensory-impairment",
        "speech-language-communication", "stammering", "childhood-apraxia-of-speech", "aac",
        "autism", "semh", "learning-disability", "physical-disability", "rare-conditions"}) {
    EXPECT_GE(ref.TermIndex(registry::v1::TAXONOMY_KIND_SPECIALISM, specialism), 0) << specialism;
  }
  for (const char* setting :
       {"early-years-maintained", "early-years-pvi", "childminder", "primary", "secondary",
        "special-school", "alternative-provision", "post-16", "home-community"}) {
    EXPECT_GE(ref.TermIndex(registry::v1::TAXONOMY_KIND_SETTING, setting), 0) << setting;
  }
}

TEST(ReferenceDataTest, EveryTermIsDefinedAndCodesAreWellFormed) {
  const auto& ref = ReferenceData::Get();
  std::map<std::string, std::string> snomed;
  for (const auto& term : ref.terms()) {
    EXPECT_FALSE(term.label().empty()) << term.code();
    EXPECT_GT(term.definition().size(), 20u) << term.code();
    EXPECT_FALSE(term.group().empty()) << term.code();
    EXPECT_EQ(term.code().find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"),
              std::string::npos)
        << term.code();
    if (!term.snomed_ct_code().empty()) snomed[term.code()] = term.snomed_ct_code();
  }
  // SNOMED CT occupation codes from the UK Core PractitionerRoleCode value set.
  EXPECT_EQ(snomed["speech-language-therapist"], "159026005");
  EXPECT_EQ(snomed["educational-psychologist"], "310192008");
  EXPECT_EQ(snomed["occupational-therapist"], "80546007");
  EXPECT_EQ(snomed["physiotherapist"], "36682004");
  EXPECT_EQ(snomed.count("qualified-teacher-deaf"), 0u);  // no SNOMED code exists
}

TEST(ReferenceDataTest, RejectsMalformedTables) {
  EXPECT_FALSE(ReferenceData::Parse("", "{}").ok());
  EXPECT_FALSE(ReferenceData::Parse("wrong,header\n", "{}").ok());
  const std::string header =
      "gss_code,name,la_type,region_code,region_name,lat,lon,former_gss_code\n";
  EXPECT_FALSE(ReferenceData::Parse(header + "E1,X,UA,E99999999,Nowhere,1,2,\n", "{}").ok());
  EXPECT_FALSE(ReferenceData::Parse(header + "E1,X,UA,E12000001,NE,north,2,\n", "{}").ok());
  EXPECT_FALSE(ReferenceData::Parse(header, "not json").ok());
}

}  // namespace
}  // namespace expertise
