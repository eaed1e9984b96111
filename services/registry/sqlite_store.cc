#include "services/registry/sqlite_store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/common/logging.h"
#include "services/common/status_macros.h"
#include "services/registry/schema_migration.h"

namespace expertise::registry {
namespace {

// Append only: never edit a migration that has shipped.
constexpr SchemaMigration kMigrations[] = {
    {1, "specialists table",
     R"sql(
      CREATE TABLE specialists (
        id               TEXT PRIMARY KEY,
        owning_authority TEXT NOT NULL,
        source           TEXT NOT NULL,
        external_id      TEXT NOT NULL,
        role             TEXT NOT NULL,
        latitude         REAL NOT NULL,
        longitude        REAL NOT NULL,
        contracted_hours REAL NOT NULL,
        committed_hours  REAL NOT NULL,
        etag             TEXT NOT NULL,
        update_time_us   INTEGER NOT NULL,
        record           BLOB NOT NULL,   -- the full expertise.registry.v1.Specialist
        UNIQUE (owning_authority, source, external_id)
      ) STRICT;
      CREATE INDEX specialists_by_role ON specialists(role);
     )sql"},
    {2, "imports, their rejects and incremental cursors",
     R"sql(
      CREATE TABLE imports (
        id     TEXT PRIMARY KEY,
        record BLOB NOT NULL              -- expertise.registry.v1.Import
      ) STRICT;
      CREATE TABLE import_rejects (
        import_id TEXT NOT NULL REFERENCES imports(id),
        position  INTEGER NOT NULL,
        record    BLOB NOT NULL,          -- expertise.registry.v1.ImportReject
        PRIMARY KEY (import_id, position)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE import_cursors (
        authority TEXT NOT NULL,
        source    TEXT NOT NULL,
        record    BLOB NOT NULL,          -- expertise.registry.v1.ImportCursor
        PRIMARY KEY (authority, source)
      ) STRICT, WITHOUT ROWID;
     )sql"},
    {3, "capacity sharing: support requests and daily capacity snapshots",
     R"sql(
      CREATE TABLE support_requests (
        id     TEXT PRIMARY KEY,
        state  INTEGER NOT NULL,
        record BLOB NOT NULL              -- expertise.registry.v1.SupportRequest
      ) STRICT;
      CREATE TABLE capacity_snapshots (
        day              INTEGER NOT NULL,  -- days since 1970-01-01 (UTC)
        role             TEXT NOT NULL,     -- '' for all roles
        specialists      INTEGER NOT NULL,
        contracted_hours REAL NOT NULL,
        available_hours  REAL NOT NULL,
        PRIMARY KEY (day, role)
      ) STRICT, WITHOUT ROWID;
     )sql"},
    {4, "revisions: every commit numbered, so readers can ask what changed since",
     R"sql(
      CREATE TABLE store_state (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL
      ) STRICT;
      INSERT INTO store_state(id, revision) VALUES (1, 0);
      ALTER TABLE specialists ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE support_requests ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE imports ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX specialists_by_revision ON specialists(revision);
      CREATE INDEX support_requests_by_revision ON support_requests(revision);
      CREATE INDEX imports_by_revision ON imports(revision);
      -- Ids only: a deleted specialist's data is erased, its id is random.
      CREATE TABLE deleted_specialists (
        id       TEXT PRIMARY KEY,
        revision INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX deleted_specialists_by_revision ON deleted_specialists(revision);
     )sql"},
};

// Closes a statement on every path out of a scope.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  const int code = sqlite3_extended_errcode(db);
  std::string message = absl::StrCat(what, ": ", sqlite3_errmsg(db), " (sqlite ", code, ")");
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace

int SqliteLatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

bool IsAppliedImport(const v1::Import& import) {
  return import.state() != v1::Import::FAILED && !import.validate_only();
}

std::string SpecialistIdFromName(const std::string& name) {
  const size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                                bool migrate) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = absl::FailedPreconditionError(
        absl::StrCat("cannot open database ", path, ": ", db ? sqlite3_errmsg(db) : "no memory"));
    sqlite3_close(db);
    return status;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  sqlite3_extended_result_codes(db, 1);
  // Two registries writing one file would each keep their own in-memory
  // index and silently diverge: take the write lock for the process lifetime
  // through exclusive locking mode.
  RETURN_IF_ERROR(store->Exec("PRAGMA busy_timeout = 2000"));
  {
    Statement wal(db, "PRAGMA journal_mode = WAL");
    if (!wal.ok() || sqlite3_step(wal.get()) != SQLITE_ROW) {
      if ((sqlite3_errcode(db) & 0xff) == SQLITE_BUSY) {
        return absl::FailedPreconditionError(
            absl::StrCat("database ", path, " is in use by another process"));
      }
      return absl::FailedPreconditionError(
          absl::StrCat("cannot use ", path, " as a database: ", sqlite3_errmsg(db)));
    }
    const std::string mode = reinterpret_cast<const char*>(sqlite3_column_text(wal.get(), 0));
    if (mode != "wal") {
      return absl::FailedPreconditionError(
          absl::StrCat("database ", path, " cannot use WAL journal mode (got ", mode, ")"));
    }
  }
  RETURN_IF_ERROR(store->Exec("PRAGMA synchronous = FULL"));
  RETURN_IF_ERROR(store->Exec("PRAGMA secure_delete = ON"));
  RETURN_IF_ERROR(store->Exec("PRAGMA foreign_keys = ON"));
  RETURN_IF_ERROR(store->Exec("PRAGMA locking_mode = EXCLUSIVE"));
  // The exclusive lock is taken by the first write: do it now so a second
  // process fails at start-up rather than on its first request.
  if (absl::Status s = store->Exec("BEGIN IMMEDIATE; COMMIT;"); !s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", path, " is in use by another process (", s.message(), ")"));
  }
  RETURN_IF_ERROR(store->Migrate(migrate));
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

absl::Status SqliteStore::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status status = SqliteError(db_, error ? error : "exec failed");
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::Migrate(bool migrate) {
  RETURN_IF_ERROR(Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"));
  {
    Statement current(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!current.ok() || sqlite3_step(current.get()) != SQLITE_ROW) {
      return SqliteError(db_, "reading schema version");
    }
    schema_version_ = sqlite3_column_int(current.get(), 0);
    schema_version_at_open_ = schema_version_;
  }
  RETURN_IF_ERROR(CheckSchemaVersion(schema_version_, SqliteLatestSchemaVersion(), migrate));
  for (const SchemaMigration& m : kMigrations) {
    if (m.version <= schema_version_) continue;
    RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    absl::Status status = Exec(m.sql);
    if (status.ok()) {
      Statement record(db_,
                       "INSERT INTO schema_migrations(version, description, applied_at) "
                       "VALUES (?, ?, ?)");
      sqlite3_bind_int(record.get(), 1, m.version);
      sqlite3_bind_text(record.get(), 2, m.description, -1, SQLITE_STATIC);
      const std::string now = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
      sqlite3_bind_text(record.get(), 3, now.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(record.get()) != SQLITE_DONE) status = SqliteError(db_, "recording migration");
    }
    if (status.ok()) status = Exec("COMMIT");
    if (!status.ok()) {
      (void)Exec("ROLLBACK");
      return absl::Status(status.code(), absl::StrCat("migration ", m.version, " (",
                                                      m.description, ") failed: ",
                                                      status.message()));
    }
    schema_version_ = m.version;
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::LoadAll(const std::function<absl::Status(v1::Specialist)>& visit) {
  Statement select(db_, "SELECT id, record FROM specialists ORDER BY id");
  if (!select.ok()) return SqliteError(db_, "preparing load");
  int rc;
  while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
    v1::Specialist specialist;
    const void* blob = sqlite3_column_blob(select.get(), 1);
    const int size = sqlite3_column_bytes(select.get(), 1);
    if (!specialist.ParseFromArray(blob, size)) {
      return absl::DataLossError(absl::StrCat(
          "stored record ", reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 0)),
          " cannot be decoded"));
    }
    RETURN_IF_ERROR(visit(std::move(specialist)));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "loading specialists");
  return absl::OkStatus();
}

absl::Status SqliteStore::WriteImport(const ImportWrite& write, int64_t revision) {
  std::string blob;
  Statement insert(db_, "INSERT INTO imports(id, record, revision) VALUES (?1, ?2, ?3)");
  if (!insert.ok()) return SqliteError(db_, "preparing import insert");
  if (!write.import->SerializeToString(&blob)) return absl::InternalError("cannot encode import");
  sqlite3_bind_text(insert.get(), 1, write.id.data(), static_cast<int>(write.id.size()), SQLITE_STATIC);
  sqlite3_bind_blob(insert.get(), 2, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
  sqlite3_bind_int64(insert.get(), 3, revision);
  if (sqlite3_step(insert.get()) != SQLITE_DONE) return SqliteError(db_, "writing import");
  if (write.rejects != nullptr) {
    Statement reject(db_, "INSERT INTO import_rejects(import_id, position, record) VALUES (?1, ?2, ?3)");
    if (!reject.ok()) return SqliteError(db_, "preparing reject insert");
    int64_t position = 0;
    for (const v1::ImportReject& r : *write.rejects) {
      blob.clear();
      if (!r.SerializeToString(&blob)) return absl::InternalError("cannot encode reject");
      sqlite3_bind_text(reject.get(), 1, write.id.data(), static_cast<int>(write.id.size()), SQLITE_STATIC);
      sqlite3_bind_int64(reject.get(), 2, position++);
      sqlite3_bind_blob(reject.get(), 3, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
      if (sqlite3_step(reject.get()) != SQLITE_DONE) return SqliteError(db_, "writing reject");
      sqlite3_reset(reject.get());
    }
  }
  if (write.cursor != nullptr) {
    Statement cursor(db_, R"sql(
        INSERT INTO import_cursors(authority, source, record) VALUES (?1, ?2, ?3)
        ON CONFLICT(authority, source) DO UPDATE SET record = ?3)sql");
    if (!cursor.ok()) return SqliteError(db_, "preparing cursor upsert");
    blob.clear();
    if (!write.cursor->SerializeToString(&blob)) return absl::InternalError("cannot encode cursor");
    sqlite3_bind_text(cursor.get(), 1, write.cursor_authority.data(),
                      static_cast<int>(write.cursor_authority.size()), SQLITE_STATIC);
    sqlite3_bind_text(cursor.get(), 2, write.cursor_source.data(),
                      static_cast<int>(write.cursor_source.size()), SQLITE_STATIC);
    sqlite3_bind_blob(cursor.get(), 3, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
    if (sqlite3_step(cursor.get()) != SQLITE_DONE) return SqliteError(db_, "writing cursor");
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::WriteSharing(const WriteBatch& batch, int64_t revision) {
  std::string blob;
  if (!batch.support_requests.empty()) {
    Statement upsert(db_, R"sql(
        INSERT INTO support_requests(id, state, record, revision) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT(id) DO UPDATE SET state = ?2, record = ?3, revision = ?4)sql");
    if (!upsert.ok()) return SqliteError(db_, "preparing support request upsert");
    for (const v1::SupportRequest* r : batch.support_requests) {
      const std::string id = r->name().substr(r->name().rfind('/') + 1);
      blob.clear();
      if (!r->SerializeToString(&blob)) return absl::InternalError("cannot encode support request");
      sqlite3_bind_text(upsert.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_int(upsert.get(), 2, r->state());
      sqlite3_bind_blob(upsert.get(), 3, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
      sqlite3_bind_int64(upsert.get(), 4, revision);
      if (sqlite3_step(upsert.get()) != SQLITE_DONE) {
        return SqliteError(db_, absl::StrCat("writing support request ", id));
      }
      sqlite3_reset(upsert.get());
    }
  }
  if (!batch.snapshots.empty()) {
    Statement upsert(db_, R"sql(
        INSERT INTO capacity_snapshots(day, role, specialists, contracted_hours, available_hours)
        VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT(day, role) DO NOTHING)sql");
    if (!upsert.ok()) return SqliteError(db_, "preparing snapshot upsert");
    for (const CapacitySnapshotRow& row : batch.snapshots) {
      sqlite3_bind_int(upsert.get(), 1, row.day);
      sqlite3_bind_text(upsert.get(), 2, row.role.data(), static_cast<int>(row.role.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int(upsert.get(), 3, row.specialists);
      sqlite3_bind_double(upsert.get(), 4, row.contracted_hours);
      sqlite3_bind_double(upsert.get(), 5, row.available_hours);
      if (sqlite3_step(upsert.get()) != SQLITE_DONE) return SqliteError(db_, "writing snapshot");
      sqlite3_reset(upsert.get());
    }
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::LoadSupportRequests(
    const std::function<absl::Status(v1::SupportRequest)>& visit) {
  Statement select(db_, "SELECT id, record FROM support_requests ORDER BY id");
  if (!select.ok()) return SqliteError(db_, "preparing support request load");
  int rc;
  while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
    v1::SupportRequest request;
    if (!request.ParseFromArray(sqlite3_column_blob(select.get(), 1),
                                sqlite3_column_bytes(select.get(), 1))) {
      return absl::DataLossError(absl::StrCat(
          "stored support request ",
          reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 0)),
          " cannot be decoded"));
    }
    RETURN_IF_ERROR(visit(std::move(request)));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "loading support requests");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CapacitySnapshotRow>> SqliteStore::ListCapacitySnapshots(
    int32_t from_day) {
  Statement select(db_, R"sql(
      SELECT day, role, specialists, contracted_hours, available_hours
      FROM capacity_snapshots WHERE day >= ?1 ORDER BY day, role)sql");
  if (!select.ok()) return SqliteError(db_, "preparing snapshot read");
  sqlite3_bind_int(select.get(), 1, from_day);
  std::vector<CapacitySnapshotRow> out;
  int rc;
  while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
    CapacitySnapshotRow& row = out.emplace_back();
    row.day = sqlite3_column_int(select.get(), 0);
    row.role = reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 1));
    row.specialists = sqlite3_column_int(select.get(), 2);
    row.contracted_hours = sqlite3_column_double(select.get(), 3);
    row.available_hours = sqlite3_column_double(select.get(), 4);
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading snapshots");
  return out;
}

absl::StatusOr<std::optional<v1::Import>> SqliteStore::GetImport(const std::string& id) {
  Statement select(db_, "SELECT record FROM imports WHERE id = ?1");
  if (!select.ok()) return SqliteError(db_, "preparing import read");
  sqlite3_bind_text(select.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(select.get());
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading import");
  v1::Import import;
  if (!import.ParseFromArray(sqlite3_column_blob(select.get(), 0), sqlite3_column_bytes(select.get(), 0))) {
    return absl::DataLossError(absl::StrCat("stored import ", id, " cannot be decoded"));
  }
  return import;
}

absl::StatusOr<std::optional<v1::Import>> SqliteStore::LatestAppliedImport() {
  // imports is a rowid table written once per import, so rowid order is
  // commit order. Failed and validate-only imports are skipped; there are
  // few of them, and this runs once at start-up.
  Statement select(db_, "SELECT record FROM imports ORDER BY rowid DESC");
  if (!select.ok()) return SqliteError(db_, "preparing import scan");
  int rc;
  while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
    v1::Import import;
    if (!import.ParseFromArray(sqlite3_column_blob(select.get(), 0), sqlite3_column_bytes(select.get(), 0))) {
      return absl::DataLossError("a stored import cannot be decoded");
    }
    if (IsAppliedImport(import)) return import;
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "scanning imports");
  return std::nullopt;
}

absl::StatusOr<std::vector<v1::ImportReject>> SqliteStore::ListImportRejects(const std::string& id,
                                                                             int64_t offset, int limit) {
  Statement select(db_, R"sql(
      SELECT record FROM import_rejects WHERE import_id = ?1 AND position >= ?2
      ORDER BY position LIMIT ?3)sql");
  if (!select.ok()) return SqliteError(db_, "preparing reject read");
  sqlite3_bind_text(select.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  sqlite3_bind_int64(select.get(), 2, offset);
  sqlite3_bind_int(select.get(), 3, limit);
  std::vector<v1::ImportReject> out;
  int rc;
  while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
    v1::ImportReject& r = out.emplace_back();
    if (!r.ParseFromArray(sqlite3_column_blob(select.get(), 0), sqlite3_column_bytes(select.get(), 0))) {
      return absl::DataLossError("a stored reject cannot be decoded");
    }
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading rejects");
  return out;
}

absl::StatusOr<std::optional<v1::ImportCursor>> SqliteStore::GetImportCursor(const std::string& authority,
                                                                            const std::string& source) {
  Statement select(db_, "SELECT record FROM import_cursors WHERE authority = ?1 AND source = ?2");
  if (!select.ok()) return SqliteError(db_, "preparing cursor read");
  sqlite3_bind_text(select.get(), 1, authority.data(), static_cast<int>(authority.size()), SQLITE_STATIC);
  sqlite3_bind_text(select.get(), 2, source.data(), static_cast<int>(source.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(select.get());
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading cursor");
  v1::ImportCursor cursor;
  if (!cursor.ParseFromArray(sqlite3_column_blob(select.get(), 0), sqlite3_column_bytes(select.get(), 0))) {
    return absl::DataLossError("a stored cursor cannot be decoded");
  }
  return cursor;
}

absl::StatusOr<int64_t> SqliteStore::ReadRevision() {
  Statement select(db_, "SELECT revision FROM store_state WHERE id = 1");
  if (!select.ok() || sqlite3_step(select.get()) != SQLITE_ROW) {
    return SqliteError(db_, "reading the store revision");
  }
  return sqlite3_column_int64(select.get(), 0);
}

absl::StatusOr<int64_t> SqliteStore::CurrentRevision() { return ReadRevision(); }

absl::StatusOr<int64_t> SqliteStore::BeginWrite() {
  if (in_write_) return absl::FailedPreconditionError("a write is already open");
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  absl::StatusOr<int64_t> revision = ReadRevision();
  if (!revision.ok()) {
    (void)Exec("ROLLBACK");
    return revision.status();
  }
  in_write_ = true;
  return revision;
}

void SqliteStore::AbortWrite() {
  if (!in_write_) return;
  in_write_ = false;
  (void)Exec("ROLLBACK");
}

absl::StatusOr<int64_t> SqliteStore::Commit(const WriteBatch& batch) {
  if (!in_write_) RETURN_IF_ERROR(BeginWrite().status());
  in_write_ = false;
  absl::StatusOr<int64_t> revision = [&]() -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(const int64_t current, ReadRevision());
    if (batch.empty()) return current;
    const int64_t next = current + 1;
    if (batch.import) RETURN_IF_ERROR(WriteImport(*batch.import, next));
    RETURN_IF_ERROR(WriteSharing(batch, next));
    Statement upsert(db_, R"sql(
        INSERT INTO specialists(id, owning_authority, source, external_id, role, latitude,
                                longitude, contracted_hours, committed_hours, etag,
                                update_time_us, record, revision)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
        ON CONFLICT(id) DO UPDATE SET
          owning_authority = ?2, source = ?3, external_id = ?4, role = ?5, latitude = ?6,
          longitude = ?7, contracted_hours = ?8, committed_hours = ?9, etag = ?10,
          update_time_us = ?11, record = ?12, revision = ?13)sql");
    if (!upsert.ok()) return SqliteError(db_, "preparing upsert");
    std::string blob;
    for (const v1::Specialist* s : batch.puts) {
      sqlite3_stmt* st = upsert.get();
      const std::string id = SpecialistIdFromName(s->name());
      blob.clear();
      if (!s->SerializeToString(&blob)) return absl::InternalError("cannot encode record");
      sqlite3_bind_text(st, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 2, s->owning_authority().data(),
                        static_cast<int>(s->owning_authority().size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 3, s->source().data(), static_cast<int>(s->source().size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(st, 4, s->external_id().data(), static_cast<int>(s->external_id().size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(st, 5, s->role().data(), static_cast<int>(s->role().size()), SQLITE_STATIC);
      sqlite3_bind_double(st, 6, s->base_location().latitude());
      sqlite3_bind_double(st, 7, s->base_location().longitude());
      sqlite3_bind_double(st, 8, s->capacity().contracted_hours_per_week());
      sqlite3_bind_double(st, 9, s->capacity().committed_hours_per_week());
      sqlite3_bind_text(st, 10, s->etag().data(), static_cast<int>(s->etag().size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(st, 11,
                         s->update_time().seconds() * 1000000 + s->update_time().nanos() / 1000);
      sqlite3_bind_blob(st, 12, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
      sqlite3_bind_int64(st, 13, next);
      if (sqlite3_step(st) != SQLITE_DONE) {
        return SqliteError(db_, absl::StrCat("writing specialist ", id));
      }
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
    }
    Statement erase(db_, "DELETE FROM specialists WHERE id = ?1");
    Statement tombstone(db_, R"sql(
        INSERT INTO deleted_specialists(id, revision) VALUES (?1, ?2)
        ON CONFLICT(id) DO UPDATE SET revision = ?2)sql");
    if (!erase.ok() || !tombstone.ok()) return SqliteError(db_, "preparing delete");
    for (const std::string& id : batch.deletes) {
      sqlite3_bind_text(erase.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      if (sqlite3_step(erase.get()) != SQLITE_DONE) {
        return SqliteError(db_, absl::StrCat("deleting specialist ", id));
      }
      sqlite3_reset(erase.get());
      sqlite3_bind_text(tombstone.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_int64(tombstone.get(), 2, next);
      if (sqlite3_step(tombstone.get()) != SQLITE_DONE) {
        return SqliteError(db_, absl::StrCat("recording the deletion of ", id));
      }
      sqlite3_reset(tombstone.get());
    }
    Statement bump(db_, "UPDATE store_state SET revision = ?1 WHERE id = 1");
    sqlite3_bind_int64(bump.get(), 1, next);
    if (!bump.ok() || sqlite3_step(bump.get()) != SQLITE_DONE) {
      return SqliteError(db_, "advancing the store revision");
    }
    return next;
  }();
  absl::Status status = revision.status();
  if (status.ok()) status = Exec("COMMIT");
  if (!status.ok()) {
    (void)Exec("ROLLBACK");
    return status;
  }
  // Erasure: secure_delete zeroes the freed bytes in the new page images, but
  // the old images stay in the WAL until a checkpoint. Checkpoint and
  // truncate the WAL now, so a deleted specialist's data leaves the files.
  // The commit stands either way: a failed checkpoint is retried by the
  // next deleting commit (and SQLite's own checkpoints), and reporting the
  // write as failed would invite a retry of a write that happened.
  if (!batch.deletes.empty()) {
    if (absl::Status checkpoint = Exec("PRAGMA wal_checkpoint(TRUNCATE)"); !checkpoint.ok()) {
      LogEvent(*GetLogger("registry"), spdlog::level::warn, "wal_checkpoint_failed",
               {{"error", std::string(checkpoint.message())}});
    }
  }
  return revision;
}

absl::StatusOr<StoreChanges> SqliteStore::ChangesSince(int64_t revision) {
  // Inside the open write, or in a read transaction of its own, so every
  // query sees the same data.
  const bool own_transaction = !in_write_;
  if (own_transaction) RETURN_IF_ERROR(Exec("BEGIN"));
  absl::StatusOr<StoreChanges> changes = [&]() -> absl::StatusOr<StoreChanges> {
    StoreChanges out;
    ASSIGN_OR_RETURN(out.revision, ReadRevision());
    if (out.revision == revision) return out;
    {
      Statement select(db_, "SELECT id FROM deleted_specialists WHERE revision > ?1 ORDER BY id");
      if (!select.ok()) return SqliteError(db_, "preparing deletion read");
      sqlite3_bind_int64(select.get(), 1, revision);
      int rc;
      while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
        out.deleted_specialists.emplace_back(
            reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 0)));
      }
      if (rc != SQLITE_DONE) return SqliteError(db_, "reading deletions");
    }
    {
      Statement select(db_, "SELECT id, record FROM specialists WHERE revision > ?1 ORDER BY id");
      if (!select.ok()) return SqliteError(db_, "preparing change read");
      sqlite3_bind_int64(select.get(), 1, revision);
      int rc;
      while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
        v1::Specialist& s = out.specialists.emplace_back();
        if (!s.ParseFromArray(sqlite3_column_blob(select.get(), 1),
                              sqlite3_column_bytes(select.get(), 1))) {
          return absl::DataLossError("a stored record cannot be decoded");
        }
      }
      if (rc != SQLITE_DONE) return SqliteError(db_, "reading changed specialists");
    }
    {
      Statement select(db_,
                       "SELECT record FROM support_requests WHERE revision > ?1 ORDER BY id");
      if (!select.ok()) return SqliteError(db_, "preparing support request change read");
      sqlite3_bind_int64(select.get(), 1, revision);
      int rc;
      while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
        v1::SupportRequest& r = out.support_requests.emplace_back();
        if (!r.ParseFromArray(sqlite3_column_blob(select.get(), 0),
                              sqlite3_column_bytes(select.get(), 0))) {
          return absl::DataLossError("a stored support request cannot be decoded");
        }
      }
      if (rc != SQLITE_DONE) return SqliteError(db_, "reading changed support requests");
    }
    {
      Statement select(db_,
                       "SELECT record FROM imports WHERE revision > ?1 ORDER BY revision DESC, "
                       "rowid DESC");
      if (!select.ok()) return SqliteError(db_, "preparing import change read");
      sqlite3_bind_int64(select.get(), 1, revision);
      int rc;
      while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
        v1::Import import;
        if (!import.ParseFromArray(sqlite3_column_blob(select.get(), 0),
                                   sqlite3_column_bytes(select.get(), 0))) {
          return absl::DataLossError("a stored import cannot be decoded");
        }
        if (IsAppliedImport(import)) {
          out.latest_applied_import = std::move(import);
          break;
        }
      }
      if (rc != SQLITE_DONE && rc != SQLITE_ROW) return SqliteError(db_, "reading changed imports");
    }
    return out;
  }();
  if (own_transaction) (void)Exec(changes.ok() ? "COMMIT" : "ROLLBACK");
  return changes;
}

}  // namespace expertise::registry
