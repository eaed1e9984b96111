#include "services/registry/postgres_store.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <memory>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/registry/schema_migration.h"
#include "services/registry/store_metrics.h"

namespace expertise::registry {
namespace {

// Append only: never edit a migration that has shipped. One schema per
// database: a region's replicas share it. Messages are stored whole as
// protobuf bytes; the columns beside them are for uniqueness and lookups.
constexpr SchemaMigration kMigrations[] = {
    {1, "specialists, imports, capacity sharing and revisions",
     R"sql(
      CREATE TABLE specialists (
        id               TEXT PRIMARY KEY,
        owning_authority TEXT NOT NULL,
        source           TEXT NOT NULL,
        external_id      TEXT NOT NULL,
        role             TEXT NOT NULL,
        latitude         DOUBLE PRECISION NOT NULL,
        longitude        DOUBLE PRECISION NOT NULL,
        contracted_hours DOUBLE PRECISION NOT NULL,
        committed_hours  DOUBLE PRECISION NOT NULL,
        etag             TEXT NOT NULL,
        update_time_us   BIGINT NOT NULL,
        record           BYTEA NOT NULL,   -- expertise.registry.v1.Specialist
        revision         BIGINT NOT NULL,
        UNIQUE (owning_authority, source, external_id)
      );
      CREATE INDEX specialists_by_role ON specialists(role);
      CREATE INDEX specialists_by_revision ON specialists(revision);
      -- Ids only: a deleted specialist's data is gone, its id is random.
      CREATE TABLE deleted_specialists (
        id       TEXT PRIMARY KEY,
        revision BIGINT NOT NULL
      );
      CREATE INDEX deleted_specialists_by_revision ON deleted_specialists(revision);
      CREATE TABLE imports (
        id       TEXT PRIMARY KEY,
        applied  BOOLEAN NOT NULL,         -- neither FAILED nor validate-only
        record   BYTEA NOT NULL,           -- expertise.registry.v1.Import
        revision BIGINT NOT NULL
      );
      CREATE INDEX imports_by_revision ON imports(revision);
      CREATE TABLE import_rejects (
        import_id TEXT NOT NULL REFERENCES imports(id),
        position  BIGINT NOT NULL,
        record    BYTEA NOT NULL,          -- expertise.registry.v1.ImportReject
        PRIMARY KEY (import_id, position)
      );
      CREATE TABLE import_cursors (
        authority TEXT NOT NULL,
        source    TEXT NOT NULL,
        record    BYTEA NOT NULL,          -- expertise.registry.v1.ImportCursor
        PRIMARY KEY (authority, source)
      );
      CREATE TABLE support_requests (
        id       TEXT PRIMARY KEY,
        state    INTEGER NOT NULL,
        record   BYTEA NOT NULL,           -- expertise.registry.v1.SupportRequest
        revision BIGINT NOT NULL
      );
      CREATE INDEX support_requests_by_revision ON support_requests(revision);
      CREATE TABLE capacity_snapshots (
        day              INTEGER NOT NULL, -- days since 1970-01-01 (UTC)
        role             TEXT NOT NULL,    -- '' for all roles
        specialists      INTEGER NOT NULL,
        contracted_hours DOUBLE PRECISION NOT NULL,
        available_hours  DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (day, role)
      );
      -- One row: the revision, and the lock every writer takes.
      CREATE TABLE store_state (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        revision BIGINT NOT NULL
      );
      INSERT INTO store_state(id, revision) VALUES (1, 0);
      -- Commit ids, so a commit whose outcome was lost can be looked up.
      CREATE TABLE commits (
        commit_id    TEXT PRIMARY KEY,
        revision     BIGINT NOT NULL,
        committed_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX commits_by_time ON commits(committed_at);
     )sql"},
};

// Arbitrary, fixed: the advisory lock that keeps two replicas starting at
// once from migrating together.
constexpr int64_t kMigrationLockKey = 0x6578706572746973;  // "expertis"

// Commit ids older than this are pruned; an in-doubt commit is looked up
// within seconds.
constexpr const char* kCommitRetention = "7 days";

absl::Status ToStatus(const std::exception& e, absl::string_view what) {
  const std::string message = absl::StrCat(what, ": ", e.what());
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(message);
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    if (state == "23505" || state == "23503") return absl::AlreadyExistsError(message);
    if (absl::StartsWith(state, "40")) return absl::AbortedError(message);  // rollbacks
    if (state == "55P03" || state == "57014") {  // lock or statement timeout
      return absl::UnavailableError(message);
    }
    if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P")) {  // connection, shutdown
      return absl::UnavailableError(message);
    }
    if (state == "53100") return absl::ResourceExhaustedError(message);  // disk full
    if (absl::StartsWith(state, "53")) return absl::UnavailableError(message);
    if (state == "XX001" || state == "XX002") return absl::DataLossError(message);
  }
  return absl::InternalError(message);
}

// Whether a fresh transaction may succeed where this one failed.
bool Retryable(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return true;
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    return absl::StartsWith(state, "40") || absl::StartsWith(state, "08") ||
           state == "57P01";  // admin shutdown: pg_terminate_backend
  }
  return false;
}

// libpq waits for ever by default: a bounded connect, and keepalives so a
// peer that vanished is noticed.
std::string WithClientDefaults(const std::string& url) {
  std::string out = url;
  const bool uri = absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://");
  auto add = [&](absl::string_view key, absl::string_view value) {
    if (absl::StrContains(out, absl::StrCat(key, "="))) return;
    if (uri) {
      absl::StrAppend(&out, absl::StrContains(out, "?") ? "&" : "?", key, "=", value);
    } else {
      absl::StrAppend(&out, out.empty() ? "" : " ", key, "=", value);
    }
  };
  add("connect_timeout", "5");
  add("keepalives", "1");
  add("keepalives_idle", "30");
  // Sent data unacknowledged this long (ms) means the server is gone: a
  // query on a half-open connection fails instead of blocking the writer.
  add("tcp_user_timeout", "30000");
  add("application_name", "expertise-registry");
  return out;
}

}  // namespace

namespace {

template <typename Message>
absl::Status Decode(const pqxx::field& field, Message* out, absl::string_view what) {
  pqxx::binarystring bytes(field);
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("a stored ", what, " cannot be decoded"));
  }
  return absl::OkStatus();
}

template <typename Message>
absl::StatusOr<pqxx::binarystring> Encode(const Message& message, absl::string_view what) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrCat("cannot encode ", what));
  }
  return pqxx::binarystring(bytes.data(), bytes.size());
}

std::string NewCommitId() {
  static thread_local absl::BitGen gen;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(gen),
                         absl::Uniform<uint64_t>(gen));
}

}  // namespace

int PostgresLatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

class PostgresStore::Impl {
 public:
  explicit Impl(PostgresStoreOptions options) : options_(std::move(options)) {}

  PostgresStoreOptions options_;
  std::unique_ptr<pqxx::connection> conn_;
  // The open write, between BeginWrite and Commit/AbortWrite.
  std::unique_ptr<pqxx::work> txn_;
  int64_t begun_revision_ = 0;
  // A read inside the open write failed and took the transaction with it:
  // the caller's decision rests on a write that no longer exists.
  bool write_lost_ = false;
  int schema_version_ = 0;
  int schema_version_at_open_ = 0;
  int64_t retried_commits_ = 0;
  int64_t in_doubt_commits_ = 0;

  // (Re)connects when there is no usable connection. Throws pqxx errors.
  pqxx::connection& Connection() {
    if (conn_ && conn_->is_open()) return *conn_;
    txn_.reset();
    conn_.reset();
    conn_ = std::make_unique<pqxx::connection>(WithClientDefaults(options_.url));
    // A replica that dies inside a write leaves its session holding the
    // region's write lock until the server notices; this bounds that for
    // the other replicas' writers. Best effort: not every compatible
    // database has the setting.
    try {
      pqxx::nontransaction setup(*conn_);
      setup.exec0("SET idle_in_transaction_session_timeout = 60000");
    } catch (const pqxx::sql_error&) {
    }
    Prepare();
    return *conn_;
  }

  void Drop() {
    txn_.reset();
    conn_.reset();
  }

  // Runs `body` in the open write's transaction, or in a read-only one of its
  // own (repeatable read, so every query sees one snapshot). A read outside
  // a write is retried once on a fresh connection.
  template <typename Body>
  absl::Status Read(absl::string_view what, const Body& body) {
    if (txn_) {
      try {
        return body(*txn_);
      } catch (const std::exception& e) {
        absl::Status status = ToStatus(e, what);
        Drop();  // the write is lost with its transaction
        write_lost_ = true;
        return status;
      }
    }
    for (int attempt = 0;; ++attempt) {
      try {
        pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(Connection());
        absl::Status status = body(txn);
        if (status.ok()) txn.commit();
        return status;
      } catch (const std::exception& e) {
        // A connection that died while idle is replaced once.
        const bool retry = Retryable(e) && attempt == 0;
        if (retry || dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) Drop();
        if (!retry) return ToStatus(e, what);
      }
    }
  }

  absl::Status Migrate() {
    try {
      pqxx::work txn(Connection());
      if (options_.migrate) {
        // First, in the same transaction: replicas starting together take
        // turns, and the loser finds the work done.
        txn.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
        txn.exec0(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
        schema_version_ =
            txn.exec1("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0].as<int>();
      } else if (txn.exec1("SELECT to_regclass('schema_migrations') IS NULL")[0].as<bool>()) {
        // No DDL without migrate: the runtime role may not have the right.
        schema_version_ = 0;
      } else {
        schema_version_ =
            txn.exec1("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0].as<int>();
      }
      schema_version_at_open_ = schema_version_;
      RETURN_IF_ERROR(
          CheckSchemaVersion(schema_version_, PostgresLatestSchemaVersion(), options_.migrate));
      // One transaction for every missing migration: a failure leaves the
      // schema where it was.
      for (const SchemaMigration& m : kMigrations) {
        if (m.version <= schema_version_) continue;
        try {
          txn.exec0(m.sql);
          txn.exec_params0("INSERT INTO schema_migrations(version, description) VALUES ($1, $2)",
                           m.version, std::string(m.description));
        } catch (const std::exception& e) {
          return absl::Status(ToStatus(e, "").code(),
                              absl::StrCat("migration ", m.version, " (", m.description,
                                           ") failed: ", e.what()));
        }
      }
      txn.commit();
      schema_version_ = PostgresLatestSchemaVersion();
    } catch (const std::exception& e) {
      return ToStatus(e, "migrating the schema");
    }
    return absl::OkStatus();
  }

  // Starts a transaction holding the store_state row lock; returns the
  // revision. Throws pqxx errors.
  int64_t BeginLocked() {
    txn_ = std::make_unique<pqxx::work>(Connection());
    txn_->exec0(absl::StrCat("SET LOCAL lock_timeout = ",
                             absl::ToInt64Milliseconds(options_.lock_timeout)));
    return txn_->exec1("SELECT revision FROM store_state WHERE id = 1 FOR UPDATE")[0].as<int64_t>();
  }

  absl::Status Apply(pqxx::work& txn, const WriteBatch& batch, int64_t revision,
                     const std::string& commit_id) {
    if (batch.import) {
      const ImportWrite& w = *batch.import;
      ASSIGN_OR_RETURN(pqxx::binarystring record, Encode(*w.import, "import"));
      txn.exec_params0("INSERT INTO imports(id, applied, record, revision) VALUES ($1, $2, $3, $4)",
                       w.id, IsAppliedImport(*w.import), record, revision);
      if (w.rejects != nullptr) {
        int64_t position = 0;
        for (const v1::ImportReject& r : *w.rejects) {
          ASSIGN_OR_RETURN(pqxx::binarystring bytes, Encode(r, "reject"));
          txn.exec_params0(
              "INSERT INTO import_rejects(import_id, position, record) VALUES ($1, $2, $3)", w.id,
              position++, bytes);
        }
      }
      if (w.cursor != nullptr) {
        ASSIGN_OR_RETURN(pqxx::binarystring bytes, Encode(*w.cursor, "cursor"));
        txn.exec_params0(
            "INSERT INTO import_cursors(authority, source, record) VALUES ($1, $2, $3) "
            "ON CONFLICT (authority, source) DO UPDATE SET record = EXCLUDED.record",
            w.cursor_authority, w.cursor_source, bytes);
      }
    }
    for (const v1::SupportRequest* r : batch.support_requests) {
      const std::string id = r->name().substr(r->name().rfind('/') + 1);
      ASSIGN_OR_RETURN(pqxx::binarystring bytes, Encode(*r, "support request"));
      txn.exec_params0(
          "INSERT INTO support_requests(id, state, record, revision) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, record = EXCLUDED.record, "
          "revision = EXCLUDED.revision",
          id, static_cast<int>(r->state()), bytes, revision);
    }
    for (const CapacitySnapshotRow& row : batch.snapshots) {
      txn.exec_params0(
          "INSERT INTO capacity_snapshots(day, role, specialists, contracted_hours, "
          "available_hours) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day, role) DO NOTHING",
          row.day, row.role, row.specialists, row.contracted_hours, row.available_hours);
    }
    for (const v1::Specialist* s : batch.puts) {
      ASSIGN_OR_RETURN(pqxx::binarystring bytes, Encode(*s, "record"));
      const int64_t update_time_us =
          s->update_time().seconds() * 1000000 + s->update_time().nanos() / 1000;
      txn.exec_prepared0("upsert_specialist", SpecialistIdFromName(s->name()),
                         s->owning_authority(), s->source(), s->external_id(), s->role(),
                         s->base_location().latitude(), s->base_location().longitude(),
                         s->capacity().contracted_hours_per_week(),
                         s->capacity().committed_hours_per_week(), s->etag(), update_time_us,
                         bytes, revision);
    }
    for (const std::string& id : batch.deletes) {
      txn.exec_params0("DELETE FROM specialists WHERE id = $1", id);
      txn.exec_params0(
          "INSERT INTO deleted_specialists(id, revision) VALUES ($1, $2) "
          "ON CONFLICT (id) DO UPDATE SET revision = EXCLUDED.revision",
          id, revision);
    }
    txn.exec_params0("UPDATE store_state SET revision = $1 WHERE id = 1", revision);
    txn.exec_params0("INSERT INTO commits(commit_id, revision) VALUES ($1, $2)", commit_id,
                     revision);
    if (revision % 1000 == 0) {
      txn.exec0(absl::StrCat("DELETE FROM commits WHERE committed_at < now() - interval '",
                             kCommitRetention, "'"));
    }
    return absl::OkStatus();
  }

  void Prepare() {
    conn_->prepare("upsert_specialist", R"sql(
        INSERT INTO specialists(id, owning_authority, source, external_id, role, latitude,
                                longitude, contracted_hours, committed_hours, etag,
                                update_time_us, record, revision)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (id) DO UPDATE SET
          owning_authority = EXCLUDED.owning_authority, source = EXCLUDED.source,
          external_id = EXCLUDED.external_id, role = EXCLUDED.role,
          latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude,
          contracted_hours = EXCLUDED.contracted_hours,
          committed_hours = EXCLUDED.committed_hours, etag = EXCLUDED.etag,
          update_time_us = EXCLUDED.update_time_us, record = EXCLUDED.record,
          revision = EXCLUDED.revision)sql");
  }

};

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresStore::~PostgresStore() = default;

int PostgresStore::schema_version() const { return impl_->schema_version_; }
int PostgresStore::schema_version_at_open() const { return impl_->schema_version_at_open_; }
int64_t PostgresStore::retried_commits() const { return impl_->retried_commits_; }
int64_t PostgresStore::in_doubt_commits() const { return impl_->in_doubt_commits_; }

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(PostgresStoreOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  try {
    impl->Connection();
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL at ",
                                               RedactedDatabaseUrl(impl->options_.url), ": ", e.what()));
  }
  RETURN_IF_ERROR(impl->Migrate());
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
}

absl::Status PostgresStore::LoadAll(const std::function<absl::Status(v1::Specialist)>& visit) {
  return impl_->Read("loading specialists", [&](auto& txn) -> absl::Status {
    for (const pqxx::row& row : txn.exec("SELECT record FROM specialists ORDER BY id")) {
      v1::Specialist specialist;
      RETURN_IF_ERROR(Decode(row[0], &specialist, "record"));
      RETURN_IF_ERROR(visit(std::move(specialist)));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> PostgresStore::BeginWrite() {
  if (impl_->txn_) return absl::FailedPreconditionError("a write is already open");
  impl_->write_lost_ = false;
  for (int attempt = 0;; ++attempt) {
    try {
      impl_->begun_revision_ = impl_->BeginLocked();
      return impl_->begun_revision_;
    } catch (const std::exception& e) {
      impl_->Drop();
      // A connection that died while idle is replaced once.
      if (!Retryable(e) || attempt >= 1) return ToStatus(e, "beginning a write");
    }
  }
}

void PostgresStore::AbortWrite() {
  impl_->write_lost_ = false;
  if (!impl_->txn_) return;
  try {
    impl_->txn_->abort();
  } catch (const std::exception&) {
    impl_->Drop();  // the server rolls back when the connection goes
  }
  impl_->txn_.reset();
}

absl::StatusOr<int64_t> PostgresStore::Commit(const WriteBatch& batch) {
  if (impl_->write_lost_) {
    impl_->write_lost_ = false;
    return absl::AbortedError(
        "the write's database connection was lost before it committed; nothing was written: "
        "retry the call");
  }
  if (!impl_->txn_) RETURN_IF_ERROR(BeginWrite().status());
  const int64_t base = impl_->begun_revision_;
  const std::string commit_id = NewCommitId();
  absl::Duration backoff = impl_->options_.retry_backoff;
  absl::Status last;
  // A COMMIT of this batch may have reached the server without an answer.
  bool in_doubt = false;
  for (int attempt = 0; attempt < impl_->options_.max_commit_attempts; ++attempt) {
    if (attempt > 0) {
      ++impl_->retried_commits_;
      StoreMetrics::For("postgres").retried_commits->Increment();
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(1));
    }
    bool committing = false;
    try {
      if (!impl_->txn_) {
        // A retry. Every attempt's transaction held the write lock, so once
        // this one holds it the earlier attempt has ended on the server, and
        // the commits table says for certain whether it committed.
        const int64_t now = impl_->BeginLocked();
        if (in_doubt && !impl_->txn_->exec_params(
                                "SELECT 1 FROM commits WHERE commit_id = $1", commit_id)
                             .empty()) {
          AbortWrite();
          return base + 1;
        }
        in_doubt = false;
        // The decision behind this batch was made at `base`: it may only be
        // applied if nobody has written since.
        if (now != base) {
          AbortWrite();
          return absl::AbortedError(
              "the data changed while a failed commit was being retried; nothing was written by "
              "this call: retry it");
        }
      }
      if (batch.empty()) {
        impl_->txn_->commit();
        impl_->txn_.reset();
        return base;
      }
      RETURN_IF_ERROR([&] {
        absl::Status s = impl_->Apply(*impl_->txn_, batch, base + 1, commit_id);
        if (!s.ok()) AbortWrite();
        return s;
      }());
      committing = true;
      impl_->txn_->commit();
      impl_->txn_.reset();
      return base + 1;
    } catch (const std::exception& e) {
      impl_->Drop();
      last = ToStatus(e, committing ? "committing" : "writing");
      if (committing && (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr ||
                         dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr)) {
        // Lost while COMMIT was under way: looked up on the next attempt.
        in_doubt = true;
        ++impl_->in_doubt_commits_;
        StoreMetrics::For("postgres").in_doubt_commits->Increment();
        continue;
      }
      if (!Retryable(e)) return last;
    }
  }
  if (in_doubt) {
    return WithReason(
        absl::UnknownError(absl::StrCat(
            "the outcome of a commit is unknown: its connection was lost during COMMIT and the "
            "database could not be reached to look it up (",
            last.message(), ")")),
        reasons::kCommitOutcomeUnknown);
  }
  return absl::UnavailableError(
      absl::StrCat("commit failed after ", impl_->options_.max_commit_attempts,
                   " attempts; nothing was written: ", last.message()));
}

absl::StatusOr<int64_t> PostgresStore::CurrentRevision() {
  int64_t revision = 0;
  RETURN_IF_ERROR(impl_->Read("reading the store revision", [&](auto& txn) -> absl::Status {
    revision = txn.exec1("SELECT revision FROM store_state WHERE id = 1")[0].template as<int64_t>();
    return absl::OkStatus();
  }));
  return revision;
}

absl::StatusOr<StoreChanges> PostgresStore::ChangesSince(int64_t revision) {
  StoreChanges out;
  RETURN_IF_ERROR(impl_->Read("reading changes", [&](auto& txn) -> absl::Status {
    out = StoreChanges();
    out.revision =
        txn.exec1("SELECT revision FROM store_state WHERE id = 1")[0].template as<int64_t>();
    if (out.revision == revision) return absl::OkStatus();
    for (const pqxx::row& row : txn.exec_params(
             "SELECT id FROM deleted_specialists WHERE revision > $1 ORDER BY id", revision)) {
      out.deleted_specialists.push_back(row[0].template as<std::string>());
    }
    for (const pqxx::row& row : txn.exec_params(
             "SELECT record FROM specialists WHERE revision > $1 ORDER BY id", revision)) {
      RETURN_IF_ERROR(Decode(row[0], &out.specialists.emplace_back(), "record"));
    }
    for (const pqxx::row& row : txn.exec_params(
             "SELECT record FROM support_requests WHERE revision > $1 ORDER BY id", revision)) {
      RETURN_IF_ERROR(Decode(row[0], &out.support_requests.emplace_back(), "support request"));
    }
    const pqxx::result import = txn.exec_params(
        "SELECT record FROM imports WHERE applied AND revision > $1 ORDER BY revision DESC "
        "LIMIT 1",
        revision);
    if (!import.empty()) {
      RETURN_IF_ERROR(Decode(import[0][0], &out.latest_applied_import.emplace(), "import"));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::optional<v1::Import>> PostgresStore::GetImport(const std::string& id) {
  std::optional<v1::Import> out;
  RETURN_IF_ERROR(impl_->Read("reading an import", [&](auto& txn) -> absl::Status {
    const pqxx::result found = txn.exec_params("SELECT record FROM imports WHERE id = $1", id);
    if (found.empty()) return absl::OkStatus();
    return Decode(found[0][0], &out.emplace(), "import");
  }));
  return out;
}

absl::StatusOr<std::optional<v1::Import>> PostgresStore::LatestAppliedImport() {
  std::optional<v1::Import> out;
  RETURN_IF_ERROR(impl_->Read("reading the latest import", [&](auto& txn) -> absl::Status {
    const pqxx::result found =
        txn.exec("SELECT record FROM imports WHERE applied ORDER BY revision DESC LIMIT 1");
    if (found.empty()) return absl::OkStatus();
    return Decode(found[0][0], &out.emplace(), "import");
  }));
  return out;
}

absl::StatusOr<std::vector<v1::ImportReject>> PostgresStore::ListImportRejects(
    const std::string& id, int64_t offset, int limit) {
  std::vector<v1::ImportReject> out;
  RETURN_IF_ERROR(impl_->Read("reading rejects", [&](auto& txn) -> absl::Status {
    out.clear();
    for (const pqxx::row& row : txn.exec_params(
             "SELECT record FROM import_rejects WHERE import_id = $1 AND position >= $2 "
             "ORDER BY position LIMIT $3",
             id, offset, limit)) {
      RETURN_IF_ERROR(Decode(row[0], &out.emplace_back(), "reject"));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::optional<v1::ImportCursor>> PostgresStore::GetImportCursor(
    const std::string& authority, const std::string& source) {
  std::optional<v1::ImportCursor> out;
  RETURN_IF_ERROR(impl_->Read("reading a cursor", [&](auto& txn) -> absl::Status {
    const pqxx::result found = txn.exec_params(
        "SELECT record FROM import_cursors WHERE authority = $1 AND source = $2", authority,
        source);
    if (found.empty()) return absl::OkStatus();
    return Decode(found[0][0], &out.emplace(), "cursor");
  }));
  return out;
}

absl::Status PostgresStore::LoadSupportRequests(
    const std::function<absl::Status(v1::SupportRequest)>& visit) {
  return impl_->Read("loading support requests", [&](auto& txn) -> absl::Status {
    for (const pqxx::row& row : txn.exec("SELECT record FROM support_requests ORDER BY id")) {
      v1::SupportRequest request;
      RETURN_IF_ERROR(Decode(row[0], &request, "support request"));
      RETURN_IF_ERROR(visit(std::move(request)));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<CapacitySnapshotRow>> PostgresStore::ListCapacitySnapshots(
    int32_t from_day) {
  std::vector<CapacitySnapshotRow> out;
  RETURN_IF_ERROR(impl_->Read("reading snapshots", [&](auto& txn) -> absl::Status {
    out.clear();
    for (const pqxx::row& row : txn.exec_params(
             "SELECT day, role, specialists, contracted_hours, available_hours "
             "FROM capacity_snapshots WHERE day >= $1 ORDER BY day, role",
             from_day)) {
      CapacitySnapshotRow& r = out.emplace_back();
      r.day = row[0].template as<int32_t>();
      r.role = row[1].template as<std::string>();
      r.specialists = row[2].template as<int32_t>();
      r.contracted_hours = row[3].template as<double>();
      r.available_hours = row[4].template as<double>();
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace expertise::registry
