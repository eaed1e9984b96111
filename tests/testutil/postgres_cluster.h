#ifndef EXPERTISE_TESTS_TESTUTIL_POSTGRES_CLUSTER_H_
#define EXPERTISE_TESTS_TESTUTIL_POSTGRES_CLUSTER_H_

// A throwaway PostgreSQL 15 cluster for tests: initdb into a fresh temporary
// folder, `postgres` on 127.0.0.1 and a port chosen at run time, trust
// authentication, superuser `expertise`. initdb and postgres refuse to run as
// root, so when the tests run as root (CI does) both run as the `postgres`
// system user (Debian's postgresql-15 package creates it) through setpriv.
// If the test process dies without running destructors (a crash, SIGKILL),
// a server started from the main thread gets SIGINT (parent-death signal)
// and stops; only the temporary folder stays behind.
//
// The public methods are safe to call from several threads.

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testutil/subprocess.h"

namespace expertise::testing {

class PostgresCluster {
 public:
  // Starts a cluster and waits (at most 30 s) until it accepts connections.
  // FAILED_PRECONDITION if the PostgreSQL 15 binaries are missing (or, as
  // root, the `postgres` user or setpriv); otherwise an error carrying the
  // tail of the server log.
  static absl::StatusOr<std::unique_ptr<PostgresCluster>> Start();
  // Fast shutdown (SIGINT, then SIGKILL after 15 s), then the folder is removed.
  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  int port() const { return port_; }
  // The temporary folder: data directory, unix socket, server log.
  const std::string& directory() const { return dir_; }
  pid_t postmaster_pid() const { return process_->pid(); }
  // The server's log so far (stdout and stderr of postgres).
  std::string log() const { return ReadFile(log_path_); }

  // Creates a fresh database; `name` is 1 to 63 of [a-z0-9_], not starting
  // with a digit. Returns Url(name); ALREADY_EXISTS if it exists.
  absl::StatusOr<std::string> CreateDatabase(const std::string& name);
  // "postgresql://expertise@127.0.0.1:<port>/<database>?sslmode=disable&gssencmode=disable".
  std::string Url(const std::string& database) const;
  // Runs `sql` (one or more statements, as a script) with psql -X -q -A -t
  // -v ON_ERROR_STOP=1 as the superuser (-q: no command tags in the output).
  // Returns psql's stdout unchanged (one line per row, columns joined by |,
  // so "SELECT 1+1" gives "2\n"), or an error with its stderr.
  absl::StatusOr<std::string> Psql(const std::string& database, const std::string& sql) const;

 private:
  PostgresCluster() = default;
  absl::Status Init();
  absl::Status StartServer(int port);
  // `argv` run as the postgres user when we are root; with
  // `parent_death_signal`, stopped if the starting thread dies.
  std::vector<std::string> AsServerUser(std::vector<std::string> argv, bool parent_death_signal) const;

  std::string dir_;
  std::string data_dir_;
  std::string log_path_;
  std::unique_ptr<Process> process_;
  int port_ = 0;
  bool as_postgres_user_ = false;  // true when we are root
  mutable std::atomic<int> script_counter_{0};
};

// One cluster per test process, started on first use (thread-safe) and
// stopped and removed at process exit (a static destructor, so also when
// tests fail). If it cannot start, prints the reason and aborts the process.
PostgresCluster& SharedPostgresCluster();

}  // namespace expertise::testing

#endif  // EXPERTISE_TESTS_TESTUTIL_POSTGRES_CLUSTER_H_
