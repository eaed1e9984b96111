// Search over one region's specialists, in process, against a baseline in the
// same run: the same query in plain SQLite with indexes (bounding box on an
// index over (role, latitude), exact distance in a SQL function).
//
// EXPERTISE_BENCH_SPECIALISTS sets the region size (default 100000).

#include <sqlite3.h>

#include <cmath>
#include <cstdlib>
#include <memory>

#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "services/common/geo.h"
#include "services/registry/registry.h"
#include "services/sampledata/sample_data.h"
#include "services/registry/sqlite_store.h"
#include "tests/testutil/temp_dir.h"

namespace expertise::registry {
namespace {

const RegionInfo& Region() { return *ReferenceData::Get().FindRegion("north-west"); }
const AuthorityInfo& Manchester() { return *ReferenceData::Get().FindAuthority("E08000003"); }

int SpecialistCount() {
  const char* env = std::getenv("EXPERTISE_BENCH_SPECIALISTS");
  return env ? std::atoi(env) : 100000;
}

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<Registry> registry;
  sqlite3* plain = nullptr;
  std::vector<v1::Specialist> stored;
};

void DistanceKm(sqlite3_context* ctx, int, sqlite3_value** argv) {
  sqlite3_result_double(ctx, GreatCircleKm(sqlite3_value_double(argv[0]), sqlite3_value_double(argv[1]),
                                           sqlite3_value_double(argv[2]), sqlite3_value_double(argv[3])));
}

Fixture& Data() {
  static Fixture* const fixture = [] {
    auto* f = new Fixture();
    auto store = SqliteStore::Open(f->dir.File("registry.db"));
    if (!store.ok()) std::abort();
    auto registry = Registry::Open({.region = Region().code}, *std::move(store));
    if (!registry.ok()) std::abort();
    f->registry = *std::move(registry);
    auto generated = sampledata::GenerateSpecialists(Region(), {.count = SpecialistCount(), .seed = 42, .now = absl::Now()});
    for (size_t start = 0; start < generated.size(); start += 1000) {
      v1::BatchUpsertSpecialistsRequest batch;
      batch.set_parent(Region().resource_name());
      for (size_t i = start; i < start + 1000 && i < generated.size(); ++i) {
        *batch.add_specialists() = generated[i];
      }
      auto response = f->registry->specialists().BatchUpsert(batch);
      if (!response.ok()) std::abort();
      for (auto& s : *response->mutable_specialists()) f->stored.push_back(std::move(s));
    }

    // The baseline: the searchable columns in an indexed plain table.
    sqlite3_open(f->dir.File("plain.db").c_str(), &f->plain);
    sqlite3_create_function(f->plain, "distance_km", 4, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                            nullptr, DistanceKm, nullptr, nullptr);
    sqlite3_exec(f->plain, R"sql(
      PRAGMA journal_mode = WAL;
      CREATE TABLE plain (name TEXT PRIMARY KEY, role TEXT, latitude REAL, longitude REAL,
                          available REAL, accepting INTEGER, min_age INTEGER, max_age INTEGER);
      CREATE TABLE plain_specialisms (name TEXT, code TEXT, PRIMARY KEY (code, name)) WITHOUT ROWID;
      -- Covering indexes, so the baseline answers from the index alone: the
      -- best plain SQLite can do for these queries.
      CREATE INDEX plain_role_lat ON plain(role, latitude, longitude, available, name);
      CREATE INDEX plain_available ON plain(available DESC, name);
      BEGIN;)sql", nullptr, nullptr, nullptr);
    sqlite3_stmt* insert;
    sqlite3_prepare_v2(f->plain, "INSERT INTO plain VALUES (?,?,?,?,?,?,?,?)", -1, &insert, nullptr);
    sqlite3_stmt* insert_specialism;
    sqlite3_prepare_v2(f->plain, "INSERT INTO plain_specialisms VALUES (?,?)", -1,
                       &insert_specialism, nullptr);
    for (const auto& s : f->stored) {
      sqlite3_bind_text(insert, 1, s.name().c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(insert, 2, s.role().c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_double(insert, 3, s.base_location().latitude());
      sqlite3_bind_double(insert, 4, s.base_location().longitude());
      // Capacity windows are ignored here; the registry query below uses a
      // date on which every window in the sample data is open.
      sqlite3_bind_double(insert, 5, s.capacity().available_hours_per_week());
      sqlite3_bind_int(insert, 6, s.capacity().accepting_external_requests());
      sqlite3_bind_int(insert, 7, s.age_range().min_age());
      sqlite3_bind_int(insert, 8, s.age_range().max_age());
      sqlite3_step(insert);
      sqlite3_reset(insert);
      for (const auto& code : s.specialisms()) {
        sqlite3_bind_text(insert_specialism, 1, s.name().c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(insert_specialism, 2, code.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_step(insert_specialism);
        sqlite3_reset(insert_specialism);
      }
    }
    sqlite3_finalize(insert);
    sqlite3_finalize(insert_specialism);
    sqlite3_exec(f->plain, "COMMIT; ANALYZE;", nullptr, nullptr, nullptr);
    return f;
  }();
  return *fixture;
}

// The typical query: one role near an authority, with free hours, nearest first.
v1::SearchSpecialistsRequest TypicalQuery(double within_km) {
  v1::SearchSpecialistsRequest req;
  req.set_parent("regions/north-west");
  req.add_roles("speech-language-therapist");
  req.set_near_authority("E08000003");
  req.set_within_km(within_km);
  req.set_min_available_hours(2);
  req.set_page_size(20);
  // Inside every sample term-time window, so the baseline's plain
  // available-hours column means the same.
  req.mutable_available_on()->set_year(2026);
  req.mutable_available_on()->set_month(11);
  req.mutable_available_on()->set_day(2);
  return req;
}

void BM_RegistrySearch_TypicalNear(benchmark::State& state) {
  auto& f = Data();
  const auto req = TypicalQuery(static_cast<double>(state.range(0)));
  int results = 0;
  for (auto _ : state) {
    auto response = f.registry->queries().Search(req);
    results = response->results_size();
    benchmark::DoNotOptimize(response);
  }
  state.counters["results"] = results;
  state.counters["specialists"] = static_cast<double>(f.stored.size());
}
BENCHMARK(BM_RegistrySearch_TypicalNear)->Arg(25)->Arg(60);

void BM_SqliteBaseline_TypicalNear(benchmark::State& state) {
  auto& f = Data();
  const double within = static_cast<double>(state.range(0));
  const double lat = Manchester().latitude, lon = Manchester().longitude;
  const double dlat = LatitudeDegreesForKm(within);
  const double dlon = dlat / std::cos(lat * M_PI / 180);
  sqlite3_stmt* st;
  sqlite3_prepare_v2(f.plain, R"sql(
      SELECT name, distance_km(latitude, longitude, ?1, ?2) AS d FROM plain
      WHERE role = ?3 AND latitude BETWEEN ?4 AND ?5 AND longitude BETWEEN ?6 AND ?7
        AND available >= ?8 AND d <= ?9
      ORDER BY d, name LIMIT 20)sql", -1, &st, nullptr);
  {
    // The query plan, once, so docs/benchmarks.md can show what the baseline does.
    static bool printed = false;
    sqlite3_stmt* plan;
    if (!printed && sqlite3_prepare_v2(f.plain, (std::string("EXPLAIN QUERY PLAN ") + sqlite3_sql(st)).c_str(),
                                       -1, &plan, nullptr) == SQLITE_OK) {
      while (sqlite3_step(plan) == SQLITE_ROW) {
        fprintf(stderr, "baseline plan: %s\n", sqlite3_column_text(plan, 3));
      }
      sqlite3_finalize(plan);
      printed = true;
    }
  }
  int results = 0;
  for (auto _ : state) {
    sqlite3_bind_double(st, 1, lat);
    sqlite3_bind_double(st, 2, lon);
    sqlite3_bind_text(st, 3, "speech-language-therapist", -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, lat - dlat);
    sqlite3_bind_double(st, 5, lat + dlat);
    sqlite3_bind_double(st, 6, lon - dlon);
    sqlite3_bind_double(st, 7, lon + dlon);
    sqlite3_bind_double(st, 8, 2);
    sqlite3_bind_double(st, 9, within);
    results = 0;
    while (sqlite3_step(st) == SQLITE_ROW) ++results;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  state.counters["results"] = results;
}
BENCHMARK(BM_SqliteBaseline_TypicalNear)->Arg(25)->Arg(60);

// A rarer need: AAC within 60 km accepting other authorities' requests.
void BM_RegistrySearch_SpecialismNear(benchmark::State& state) {
  auto& f = Data();
  v1::SearchSpecialistsRequest req;
  req.set_parent("regions/north-west");
  req.add_specialisms("aac");
  req.set_near_authority("E08000003");
  req.set_within_km(60);
  req.set_accepting_external_requests(true);
  req.set_page_size(20);
  for (auto _ : state) benchmark::DoNotOptimize(f.registry->queries().Search(req));
}
BENCHMARK(BM_RegistrySearch_SpecialismNear);

void BM_SqliteBaseline_SpecialismNear(benchmark::State& state) {
  auto& f = Data();
  const double lat = Manchester().latitude, lon = Manchester().longitude;
  const double dlat = LatitudeDegreesForKm(60), dlon = dlat / std::cos(lat * M_PI / 180);
  sqlite3_stmt* st;
  sqlite3_prepare_v2(f.plain, R"sql(
      SELECT p.name, distance_km(p.latitude, p.longitude, ?1, ?2) AS d
      FROM plain_specialisms s CROSS JOIN plain p ON p.name = s.name  -- specialism first
      WHERE s.code = 'aac' AND p.accepting = 1
        AND p.latitude BETWEEN ?3 AND ?4 AND p.longitude BETWEEN ?5 AND ?6 AND d <= 60
      ORDER BY d, p.name LIMIT 20)sql", -1, &st, nullptr);
  for (auto _ : state) {
    sqlite3_bind_double(st, 1, lat);
    sqlite3_bind_double(st, 2, lon);
    sqlite3_bind_double(st, 3, lat - dlat);
    sqlite3_bind_double(st, 4, lat + dlat);
    sqlite3_bind_double(st, 5, lon - dlon);
    sqlite3_bind_double(st, 6, lon + dlon);
    while (sqlite3_step(st) == SQLITE_ROW) {
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
}
BENCHMARK(BM_SqliteBaseline_SpecialismNear);

// The whole region by available hours: the worst case, every record scanned.
void BM_RegistrySearch_WholeRegionByHours(benchmark::State& state) {
  auto& f = Data();
  v1::SearchSpecialistsRequest req;
  req.set_parent("regions/north-west");
  req.set_order_by(v1::SEARCH_ORDER_AVAILABLE_HOURS);
  req.set_page_size(20);
  for (auto _ : state) benchmark::DoNotOptimize(f.registry->queries().Search(req));
}
BENCHMARK(BM_RegistrySearch_WholeRegionByHours);

void BM_SqliteBaseline_WholeRegionByHours(benchmark::State& state) {
  auto& f = Data();
  sqlite3_stmt* st;
  sqlite3_prepare_v2(f.plain, "SELECT name FROM plain ORDER BY available DESC, name LIMIT 20", -1,
                     &st, nullptr);
  for (auto _ : state) {
    while (sqlite3_step(st) == SQLITE_ROW) {
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
}
BENCHMARK(BM_SqliteBaseline_WholeRegionByHours);

void BM_RegistryGet(benchmark::State& state) {
  auto& f = Data();
  v1::GetSpecialistRequest req;
  req.set_name(f.stored[f.stored.size() / 2].name());
  for (auto _ : state) benchmark::DoNotOptimize(f.registry->specialists().Get(req));
}
BENCHMARK(BM_RegistryGet);

void BM_SqliteBaseline_GetByPrimaryKey(benchmark::State& state) {
  auto& f = Data();
  const std::string name = f.stored[f.stored.size() / 2].name();
  sqlite3_stmt* st;
  sqlite3_prepare_v2(f.plain, "SELECT * FROM plain WHERE name = ?1", -1, &st, nullptr);
  for (auto _ : state) {
    sqlite3_bind_text(st, 1, name.c_str(), -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
}
BENCHMARK(BM_SqliteBaseline_GetByPrimaryKey);

}  // namespace
}  // namespace expertise::registry

BENCHMARK_MAIN();
