#ifndef EXPERTISE_TESTS_SERVICES_REGISTRY_STORE_TEST_UTIL_H_
#define EXPERTISE_TESTS_SERVICES_REGISTRY_STORE_TEST_UTIL_H_

// Records and reads shared by the store tests (SQLite, PostgreSQL, both).

#include <string>
#include <vector>

#include <gmock/gmock.h>

#include "services/registry/specialist_store.h"
#include "tests/testutil/specialists.h"
#include "tests/testutil/status_matchers.h"

namespace expertise::registry {

// A valid North East record named regions/north-east/specialists/{id}, as
// stored (with an etag).
inline v1::Specialist StoredSpecialist(const std::string& id, const std::string& external_id) {
  v1::Specialist s = testing::ValidSpecialist(external_id);
  s.set_name("regions/north-east/specialists/" + id);
  s.set_etag("1-a");
  return s;
}

// Every record in `store`, in id order.
inline std::vector<v1::Specialist> LoadAllRecords(SpecialistStore& store) {
  std::vector<v1::Specialist> out;
  EXPECT_THAT(store.LoadAll([&](v1::Specialist s) {
    out.push_back(std::move(s));
    return absl::OkStatus();
  }),
              testing::IsOk());
  return out;
}

}  // namespace expertise::registry

#endif  // EXPERTISE_TESTS_SERVICES_REGISTRY_STORE_TEST_UTIL_H_
