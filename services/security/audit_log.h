#ifndef EXPERTISE_SERVICES_SECURITY_AUDIT_LOG_H_
#define EXPERTISE_SERVICES_SECURITY_AUDIT_LOG_H_

// Append-only, hash-chained audit trail: who did what to which records, and
// with what result. One JSON Lines file; each line carries the hash of the
// line before it, so editing or deleting a record in the middle is detected
// by VerifyAuditLog. (Cutting records off the end is not detectable from the
// file alone: anchor the latest hash somewhere else if that matters.)

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/mutex.h"

namespace expertise::security {

struct AuditRecord {
  int64_t sequence = 0;      // assigned by Append: 1, 2, 3... in file order
  absl::Time time;           // assigned by Append from the clock (microsecond precision)
  std::string event_id;      // groups the records of one call (attempt + outcome)
  std::string phase;         // "attempt", "outcome", "denied", "read" (free string, length-checked only)
  std::string actor;         // principal, e.g. "authority/E09000033"
  std::string via;           // forwarding service principal, e.g. "service/directory", or empty
  std::string action;        // RPC method name, e.g. "UpdateSpecialist"
  std::vector<std::string> resources;  // resource names, e.g. "regions/london/specialists/s-1"
  std::string outcome;       // canonical status code name ("OK", "PERMISSION_DENIED"), empty for an attempt
  std::string detail;        // short reason, never personal data
  std::string peer;          // client address as gRPC reports it
  std::string prev_hash;     // hex SHA-256: the previous record's `hash` (64 zeros for the first)
  std::string hash;          // hex SHA-256 over prev_hash + the canonical JSON of this record without `hash`

  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

struct AuditQuery {
  std::string actor;              // exact match when set
  std::string action;             // exact match when set
  std::string resource_prefix;    // any resource starting with it, when set
  std::string outcome;            // exact match when set
  absl::Time since = absl::InfinitePast();    // inclusive
  absl::Time until = absl::InfiniteFuture();  // exclusive
  int64_t after_sequence = 0;     // paging cursor: only records with sequence > this
  int limit = 100;                // at most this many; <= 0 means 100, above 1000 means 1000
};

// Limits Append enforces (INVALID_ARGUMENT beyond them), in bytes unless
// named otherwise. They keep one record to one small write.
inline constexpr size_t kAuditMaxIdBytes = 128;        // event_id, phase, action, outcome
inline constexpr size_t kAuditMaxPrincipalBytes = 256; // actor, via, peer
inline constexpr size_t kAuditMaxResourceBytes = 512;  // each resource name
inline constexpr size_t kAuditMaxResources = 1000;
inline constexpr size_t kAuditMaxDetailBytes = 512;
// A page of 1000 plus one record to tell whether more follow.
inline constexpr int kAuditMaxReadLimit = 1001;

// Thread-safe. One file, JSON Lines, one record per line, opened O_APPEND;
// every Append is written with a single write() and made durable (fdatasync)
// before it returns, so a returned OK means the record is on disk.
// One AuditLog per file: Open takes an exclusive flock on regular files, so a
// second writer (another process, or a second Open here) cannot fork the chain.
class AuditLog {
 public:
  // Opens or creates `path` (mode 0600). Reads the existing file and checks
  // its chain (as VerifyAuditLog does) to continue sequence and hash chain.
  // A final line without a trailing newline (a torn write from a crash) is
  // cut off and logged at warn; any other bad line is DATA_LOSS naming its
  // line number, so a broken chain is never silently continued.
  // FAILED_PRECONDITION if the file is open in another AuditLog.
  // Character devices are accepted as well as regular files, so that
  // /dev/full can stand in for a full disk in tests.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path, Clock* clock);

  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends `record`, filling sequence, time, prev_hash and hash (whatever
  // the caller put there is ignored); returns the record as stored. Text that
  // is not valid UTF-8 is stored with U+FFFD in place of the bad bytes.
  // INVALID_ARGUMENT for fields over the limits above. Any I/O failure is
  // UNAVAILABLE "audit trail unavailable: ..." and the caller must refuse the
  // change. A failed write or fdatasync is undone (the file is cut back to
  // its previous size) so no later append builds on a record its caller was
  // told failed; if that cut fails too, every later Append fails until the
  // log is reopened, which re-checks what actually reached the file.
  absl::StatusOr<AuditRecord> Append(AuditRecord record) ABSL_LOCKS_EXCLUDED(mu_);

  // Records matching `query`, in sequence order. A scan of the whole file:
  // fine for the sizes expected (thousands to a few million records), and it
  // does not block Append. Add an index if audit queries become hot.
  absl::StatusOr<std::vector<AuditRecord>> Read(const AuditQuery& query) const
      ABSL_LOCKS_EXCLUDED(mu_);

  const std::string& path() const { return path_; }

 private:
  AuditLog(std::string path, Clock* clock, int fd, int64_t last_sequence, std::string last_hash,
           off_t size);

  const std::string path_;
  Clock* const clock_;
  const int fd_;
  mutable Mutex mu_;
  int64_t last_sequence_ ABSL_GUARDED_BY(mu_);
  std::string last_hash_ ABSL_GUARDED_BY(mu_);
  off_t size_ ABSL_GUARDED_BY(mu_);  // bytes of complete records in the file
  std::string broken_ ABSL_GUARDED_BY(mu_);  // why appends are refused; empty when healthy
};

// Re-reads `path` and checks every record's hash and chain link and that
// sequences are 1..n with no gaps. OK, or DATA_LOSS naming the first bad
// sequence / line. A final line without a newline is not a record (a torn or
// in-flight write; Open cuts it) and is ignored. NOT_FOUND if `path` is absent.
absl::Status VerifyAuditLog(const std::string& path);

// JSON object of one record (the same fields as the file line), for the
// CLI/RPC layer. Keys are sorted, so dump() is canonical; strings are made
// valid UTF-8 so dump() cannot throw.
nlohmann::json AuditRecordToJson(const AuditRecord& record);

}  // namespace expertise::security

#endif  // EXPERTISE_SERVICES_SECURITY_AUDIT_LOG_H_
