#include "services/sampledata/sample_data.h"

#include <map>
#include <set>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "services/registry/validation.h"

namespace expertise::sampledata {
namespace {

TEST(SampleDataTest, SameSeedSameData) {
  const RegionInfo& region = *ReferenceData::Get().FindRegion("london");
  SampleOptions options{.count = 300, .seed = 7};
  auto a = GenerateSpecialists(region, options);
  auto b = GenerateSpecialists(region, options);
  ASSERT_EQ(a.size(), 300u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a[i], b[i])) << i;
  }
  options.seed = 8;
  auto c = GenerateSpecialists(region, options);
  EXPECT_NE(a[0].display_name() + a[1].display_name(), c[0].display_name() + c[1].display_name());
}

TEST(SampleDataTest, EveryRecordIsValidAndKeyedUniquely) {
  for (const RegionInfo& region : ReferenceData::Get().regions()) {
    SampleOptions options{.count = 400, .seed = 3};
    std::set<std::string> keys;
    for (const auto& s : GenerateSpecialists(region, options)) {
      FieldViolations v;
      registry::ValidateSpecialist(s, region, ReferenceData::Get(), options.now, "", &v);
      ASSERT_TRUE(v.empty()) << region.id << ": " << v.ToStatus();
      EXPECT_TRUE(keys.insert(s.external_id()).second);
      // Invented contacts only: reserved domains and Ofcom drama numbers.
      EXPECT_NE(s.work_contact().email().find(".example.org"), std::string::npos);
      EXPECT_EQ(s.work_contact().phone().rfind("01632 960", 0), 0u);
    }
  }
}

TEST(SampleDataTest, RoleMixResemblesTheSector) {
  const RegionInfo& region = *ReferenceData::Get().FindRegion("north-west");
  std::map<std::string, int> roles;
  int fully_committed = 0;
  const int n = 5000;
  for (const auto& s : GenerateSpecialists(region, {.count = n, .seed = 1})) {
    ++roles[s.role()];
    if (s.capacity().committed_hours_per_week() >= s.capacity().contracted_hours_per_week()) {
      ++fully_committed;
    }
  }
  // SLTs are the largest group; rare roles exist but are few.
  for (const auto& [role, count] : roles) {
    if (role != "speech-language-therapist") {
      EXPECT_LT(count, roles["speech-language-therapist"]);
    }
  }
  EXPECT_GT(roles["qualified-teacher-multi-sensory-impairment"], 0);
  EXPECT_LT(roles["qualified-teacher-multi-sensory-impairment"], n / 50);
  EXPECT_GT(roles["aac-specialist"], 0);
  EXPECT_GT(fully_committed, n / 4);
  EXPECT_LT(fully_committed, n / 2);
}

}  // namespace
}  // namespace expertise::sampledata
