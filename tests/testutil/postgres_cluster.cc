#include "tests/testutil/postgres_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/status_macros.h"

namespace expertise::testing {
namespace {

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr char kSetpriv[] = "/usr/bin/setpriv";
constexpr char kSuperuser[] = "expertise";
constexpr auto kStartTimeout = std::chrono::seconds(30);

std::string Bin(const std::string& name) { return absl::StrCat(kBinDir, "/", name); }

// The last lines of a log, enough to see why the server did not start.
std::string Tail(const std::string& text, size_t max_chars = 4000) {
  if (text.size() <= max_chars) return text;
  const size_t newline = text.find('\n', text.size() - max_chars);
  return text.substr(newline == std::string::npos ? text.size() - max_chars : newline + 1);
}

// A port that was free a moment ago; the server may still lose a race for
// it, so Start() retries with another one.
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// True if `uid` can search every ancestor of `path` (it must reach the
// cluster folder once the folder is chowned to it).
bool AncestorsSearchable(const std::filesystem::path& path, uid_t uid, gid_t gid) {
  for (auto p = path; !p.empty() && p != p.root_path(); p = p.parent_path()) {
    struct stat st;
    if (stat(p.c_str(), &st) != 0) return false;
    const bool ok = (st.st_uid == uid && (st.st_mode & S_IXUSR)) ||
                    (st.st_gid == gid && (st.st_mode & S_IXGRP)) || (st.st_mode & S_IXOTH);
    if (!ok) return false;
  }
  return true;
}

bool IsMainThread() { return static_cast<pid_t>(syscall(SYS_gettid)) == getpid(); }

bool ValidDatabaseName(const std::string& name) {
  if (name.empty() || name.size() > 63 || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresCluster>> PostgresCluster::Start() {
  for (const char* name : {"initdb", "postgres", "pg_isready", "psql"}) {
    if (access(Bin(name).c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("PostgreSQL 15 is not installed (no ", Bin(name),
                       "); install Debian's postgresql-15 package"));
    }
  }
  auto cluster = std::unique_ptr<PostgresCluster>(new PostgresCluster());
  RETURN_IF_ERROR(cluster->Init());
  absl::Status status;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int port = FreeLoopbackPort();
    if (port <= 0) return absl::InternalError("no free loopback port");
    status = cluster->StartServer(port);
    // UNAVAILABLE: somebody else took the port in the meantime.
    if (!absl::IsUnavailable(status)) break;
  }
  if (!status.ok()) return status;
  return cluster;
}

absl::Status PostgresCluster::Init() {
  as_postgres_user_ = geteuid() == 0;
  uid_t uid = 0;
  gid_t gid = 0;
  if (as_postgres_user_) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root and there is no `postgres` user to run the server as "
          "(initdb and postgres refuse root); install Debian's postgresql-15 package");
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    if (access(kSetpriv, X_OK) != 0) {
      return absl::FailedPreconditionError("running as root needs /usr/bin/setpriv (util-linux)");
    }
  }
  const char* env_base = std::getenv("TMPDIR");
  std::string base = env_base && *env_base ? env_base : "/tmp";
  // As root, a private $TMPDIR (e.g. under /root) is out of the postgres
  // user's reach; /tmp always works.
  if (as_postgres_user_ && !AncestorsSearchable(base, uid, gid)) base = "/tmp";
  std::string pattern = base + "/expertise-pg-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp in ", base, ": ", std::strerror(errno)));
  }
  dir_ = pattern;
  data_dir_ = dir_ + "/data";
  log_path_ = dir_ + "/postgres.log";
  if (as_postgres_user_ && chown(dir_.c_str(), uid, gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", dir_, ": ", std::strerror(errno)));
  }
  // --no-sync and a fixed locale: fast, and the same collation everywhere.
  const CommandResult initdb = RunCommand(
      AsServerUser({Bin("initdb"), "-D", data_dir_, "-U", kSuperuser, "--auth=trust", "-E", "UTF8",
                    "--locale=C.UTF-8", "--no-sync", "--no-instructions"},
                   /*parent_death_signal=*/false),
      {}, std::chrono::seconds(60));
  if (initdb.exit_code != 0) {
    return absl::InternalError(absl::StrCat("initdb failed (exit ", initdb.exit_code,
                                            "): ", Tail(initdb.out + initdb.err)));
  }
  return absl::OkStatus();
}

std::vector<std::string> PostgresCluster::AsServerUser(std::vector<std::string> argv,
                                                       bool parent_death_signal) const {
  std::vector<std::string> wrapped;
  if (as_postgres_user_) {
    wrapped = {kSetpriv, "--reuid=postgres", "--regid=postgres", "--init-groups"};
  }
  // If the test process dies without running its destructors (a crash, an
  // ASan report), the postmaster gets SIGINT (fast shutdown) instead of
  // outliving it. The signal follows the thread that forked, so only when
  // that is the main thread: a worker thread ending must not stop the server.
  if (parent_death_signal && IsMainThread() && access(kSetpriv, X_OK) == 0) {
    if (wrapped.empty()) wrapped = {kSetpriv};
    wrapped.push_back("--pdeathsig=SIGINT");
  }
  if (wrapped.empty()) return argv;
  wrapped.push_back("--");
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

absl::Status PostgresCluster::StartServer(int port) {
  const size_t log_offset = ReadFile(log_path_).size();
  std::vector<std::string> argv = {Bin("postgres"), "-D", data_dir_, "-p", std::to_string(port),
                                   "-c", "listen_addresses=127.0.0.1",
                                   // Durability is not what these tests are about.
                                   "-c", "fsync=off", "-c", "synchronous_commit=off",
                                   "-c", "full_page_writes=off"};
  // A unix socket path longer than 107 bytes makes postgres refuse to start;
  // tests connect over TCP anyway.
  argv.push_back("-c");
  argv.push_back(dir_.size() < 80 ? "unix_socket_directories=" + dir_ : "unix_socket_directories=");
  process_ = std::make_unique<Process>(AsServerUser(argv, /*parent_death_signal=*/true), log_path_);
  if (process_->pid() <= 0) return absl::InternalError("fork failed");

  const auto since_start = [&] {
    const std::string log = ReadFile(log_path_);
    return log.size() > log_offset ? log.substr(log_offset) : std::string();
  };
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  // Like pg_ctl -w: postmaster.pid names our process and says "ready" once
  // the server accepts connections; pg_isready then confirms over TCP.
  const std::string pid_file = data_dir_ + "/postmaster.pid";
  while (true) {
    if (!process_->running()) {
      const std::string log = since_start();
      process_.reset();
      if (absl::StrContains(log, "could not bind") || absl::StrContains(log, "already in use") ||
          absl::StrContains(log, "could not create any TCP/IP sockets")) {
        return absl::UnavailableError(absl::StrCat("port ", port, " taken: ", Tail(log)));
      }
      return absl::InternalError(absl::StrCat("postgres exited during start-up: ", Tail(log)));
    }
    const std::vector<std::string> lines = absl::StrSplit(ReadFile(pid_file), '\n');
    pid_t pid = 0;
    if (lines.size() >= 8 && absl::SimpleAtoi(lines[0], &pid) && pid == process_->pid() &&
        absl::StripAsciiWhitespace(lines[7]) == "ready") {
      const CommandResult ready =
          RunCommand({Bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", std::to_string(port), "-U",
                      kSuperuser, "-d", "postgres", "-t", "5"},
                     {}, std::chrono::seconds(10));
      if (ready.exit_code == 0) {
        port_ = port;
        return absl::OkStatus();
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      // Leave the process to the destructor (fast shutdown, then SIGKILL).
      return absl::DeadlineExceededError(
          absl::StrCat("postgres not accepting connections on port ", port, " after 30 s: ",
                       Tail(since_start())));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

PostgresCluster::~PostgresCluster() {
  if (process_ != nullptr && process_->running()) {
    process_->Signal(SIGINT);  // fast shutdown: ends sessions, no checkpoint wait
    if (process_->Wait(std::chrono::seconds(15)) < 0) {
      process_->Signal(SIGKILL);
      process_->Wait(std::chrono::seconds(5));
    }
  }
  process_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string PostgresCluster::Url(const std::string& database) const {
  return absl::StrCat("postgresql://", kSuperuser, "@127.0.0.1:", port_, "/", database,
                      "?sslmode=disable&gssencmode=disable");
}

absl::StatusOr<std::string> PostgresCluster::Psql(const std::string& database,
                                                  const std::string& sql) const {
  // A script file rather than stdin: RunCommand writes all of stdin before
  // reading output, which could stall on large scripts with large results.
  const std::string script = absl::StrCat(dir_, "/psql-", getpid(), "-", script_counter_++, ".sql");
  {
    std::ofstream out(script, std::ios::trunc);
    out << sql << "\n";
    if (!out) return absl::InternalError("cannot write " + script);
  }
  const CommandResult result =
      RunCommand({Bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", Url(database),
                  "-f", script},
                 {{"PGCONNECT_TIMEOUT", "10"}}, std::chrono::seconds(120));
  std::error_code ec;
  std::filesystem::remove(script, ec);
  if (result.exit_code != 0) {
    const std::string message =
        absl::StrCat("psql on ", database, " failed (exit ", result.exit_code, "): ", result.err);
    if (absl::StrContains(result.err, "already exists")) return absl::AlreadyExistsError(message);
    return absl::InternalError(message);
  }
  return result.out;
}

absl::StatusOr<std::string> PostgresCluster::CreateDatabase(const std::string& name) {
  if (!ValidDatabaseName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("database name \"", name, "\" is not 1 to 63 of [a-z0-9_] starting with a letter or _"));
  }
  RETURN_IF_ERROR(Psql("postgres", absl::StrCat("CREATE DATABASE \"", name, "\";")).status());
  return Url(name);
}

PostgresCluster& SharedPostgresCluster() {
  // A static unique_ptr: its destructor runs at exit (normal end, failed
  // tests, std::exit), stopping the server and removing the folder, and
  // before LeakSanitizer's check, which is registered earlier.
  static const std::unique_ptr<PostgresCluster> cluster = [] {
    auto started = PostgresCluster::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "SharedPostgresCluster: cannot start PostgreSQL: %s\n",
                   started.status().ToString().c_str());
      std::fflush(stderr);
      std::abort();
    }
    return *std::move(started);
  }();
  return *cluster;
}

}  // namespace expertise::testing
