#include "services/security/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <tuple>
#include <utility>

#include <openssl/evp.h>

#include "absl/functional/function_ref.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/common/logging.h"
#include "services/common/utf8.h"

namespace expertise::security {
namespace {

using nlohmann::json;

constexpr char kTimeFormat[] = "%Y-%m-%d%ET%H:%M:%E6SZ";
// Far above any record within the field limits (even with every byte escaped
// as \u00XX); a longer "line" is corruption, not something to buffer.
constexpr size_t kMaxLineBytes = size_t{16} << 20;
constexpr size_t kReadChunkBytes = size_t{64} << 10;
constexpr size_t kFieldCount = 13;

const std::string& ZeroHash() {
  static const std::string* const zero = new std::string(64, '0');
  return *zero;
}

// Empty only if OpenSSL fails, which callers treat as an error.
std::string Sha256Hex(absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(md), len));
}

bool IsHash(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string ErrnoText(int err) { return absl::StrCat(std::strerror(err), " (errno ", err, ")"); }

absl::Status Unavailable(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("audit trail unavailable: ", what));
}

// Closes the descriptor unless released; keeps Open's error paths leak-free.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

absl::Time ToMicros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

absl::Status CheckLength(absl::string_view field, const std::string& value, size_t max) {
  if (value.size() <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("audit record ", field, " is ", value.size(), " bytes; at most ", max));
}

absl::Status CheckLimits(const AuditRecord& r) {
  for (const auto& [field, value, max] :
       {std::tuple<absl::string_view, const std::string&, size_t>{"event_id", r.event_id, kAuditMaxIdBytes},
        {"phase", r.phase, kAuditMaxIdBytes},
        {"action", r.action, kAuditMaxIdBytes},
        {"outcome", r.outcome, kAuditMaxIdBytes},
        {"actor", r.actor, kAuditMaxPrincipalBytes},
        {"via", r.via, kAuditMaxPrincipalBytes},
        {"peer", r.peer, kAuditMaxPrincipalBytes},
        {"detail", r.detail, kAuditMaxDetailBytes}}) {
    if (absl::Status s = CheckLength(field, value, max); !s.ok()) return s;
  }
  if (r.resources.size() > kAuditMaxResources) {
    return absl::InvalidArgumentError(absl::StrCat("audit record has ", r.resources.size(),
                                                   " resources; at most ", kAuditMaxResources));
  }
  for (const std::string& resource : r.resources) {
    if (absl::Status s = CheckLength("resource", resource, kAuditMaxResourceBytes); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Parses one file line into `r`; returns what is wrong, or "" when it parsed.
std::string ParseRecord(absl::string_view line, AuditRecord* r) {
  const json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return "not valid JSON";
  if (!j.is_object()) return "not a JSON object";
  for (const auto& [key, out] : {std::pair<const char*, std::string*>{"event_id", &r->event_id},
                                 {"phase", &r->phase},
                                 {"actor", &r->actor},
                                 {"via", &r->via},
                                 {"action", &r->action},
                                 {"outcome", &r->outcome},
                                 {"detail", &r->detail},
                                 {"peer", &r->peer},
                                 {"prev_hash", &r->prev_hash},
                                 {"hash", &r->hash}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return absl::StrCat("field \"", key, "\" missing or not a string");
    *out = it->get_ref<const std::string&>();
  }
  if (!IsHash(r->prev_hash) || !IsHash(r->hash)) return "hash fields are not 64 lowercase hex digits";

  auto seq = j.find("sequence");
  if (seq == j.end() || !seq->is_number_integer()) return "field \"sequence\" missing or not an integer";
  if (seq->is_number_unsigned()) {
    const uint64_t u = seq->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return "sequence out of range";
    r->sequence = static_cast<int64_t>(u);
  } else {
    r->sequence = seq->get<int64_t>();
  }
  if (r->sequence < 1) return "sequence below 1";

  auto time = j.find("time");
  if (time == j.end() || !time->is_string()) return "field \"time\" missing or not a string";
  std::string err;
  if (!absl::ParseTime(kTimeFormat, time->get_ref<const std::string&>(), &r->time, &err)) {
    return absl::StrCat("bad time: ", err);
  }

  auto resources = j.find("resources");
  if (resources == j.end() || !resources->is_array()) return "field \"resources\" missing or not an array";
  r->resources.clear();
  for (const json& resource : *resources) {
    if (!resource.is_string()) return "a resource is not a string";
    r->resources.push_back(resource.get_ref<const std::string&>());
  }
  if (j.size() != kFieldCount) return "unexpected fields";
  return "";
}

struct ScanResult {
  int64_t last_sequence = 0;
  std::string last_hash = ZeroHash();
  off_t complete_size = 0;  // bytes up to and including the last newline
  off_t torn_bytes = 0;     // bytes after it (a final line without a newline)
};

// Reads [0, end) of `fd` line by line. With `verify`, checks sequences, chain
// links, hashes and canonical form, so the bytes on disk are exactly what was
// hashed. Lines up to `skip_lines` are not parsed (their sequence equals their
// line number in a log Open has verified). `visit` gets each later record and
// returns false to stop early.
absl::StatusOr<ScanResult> Scan(int fd, off_t end, const std::string& path, bool verify,
                                int64_t skip_lines, absl::FunctionRef<bool(AuditRecord&&)> visit) {
  ScanResult result;
  std::string buf;
  std::string chunk(kReadChunkBytes, '\0');
  size_t searched = 0;  // bytes of buf already known to hold no newline
  int64_t line_no = 0;
  off_t offset = 0;
  while (offset < end) {
    const size_t want = static_cast<size_t>(std::min<off_t>(end - offset, chunk.size()));
    const ssize_t n = pread(fd, chunk.data(), want, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unavailable(absl::StrCat("read ", path, ": ", ErrnoText(errno)));
    if (n == 0) break;  // shorter than it was: only Open's cut does that, and it is behind us
    offset += n;
    buf.append(chunk.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (size_t pos; (pos = buf.find('\n', std::max(start, searched))) != std::string::npos;
         start = pos + 1) {
      ++line_no;
      const absl::string_view line(buf.data() + start, pos - start);
      result.complete_size += static_cast<off_t>(line.size() + 1);
      if (line_no <= skip_lines) continue;
      AuditRecord record;
      if (std::string why = ParseRecord(line, &record); !why.empty()) {
        return absl::DataLossError(absl::StrCat("audit log ", path, " line ", line_no, ": ", why));
      }
      if (verify) {
        const std::string where = absl::StrCat("audit log ", path, " sequence ", record.sequence,
                                               " (line ", line_no, "): ");
        if (record.sequence != line_no) {
          return absl::DataLossError(absl::StrCat(where, "expected sequence ", line_no,
                                                  " (a record is missing or out of place)"));
        }
        if (record.prev_hash != result.last_hash) {
          return absl::DataLossError(
              absl::StrCat(where, "prev_hash does not match the previous record's hash"));
        }
        json j = AuditRecordToJson(record);
        j.erase("hash");
        const std::string hash = Sha256Hex(absl::StrCat(record.prev_hash, j.dump()));
        if (hash.empty()) return absl::InternalError("SHA-256 failed");
        if (hash != record.hash) {
          return absl::DataLossError(absl::StrCat(where, "hash does not match the record (edited)"));
        }
        j["hash"] = hash;
        if (j.dump() != line) {
          return absl::DataLossError(absl::StrCat(where, "not in canonical form (edited)"));
        }
      }
      result.last_sequence = record.sequence;
      result.last_hash = record.hash;
      if (!visit(std::move(record))) return result;
    }
    buf.erase(0, start);
    searched = buf.size();
    if (buf.size() > kMaxLineBytes) {
      return absl::DataLossError(
          absl::StrCat("audit log ", path, " line ", line_no + 1, ": longer than ", kMaxLineBytes, " bytes"));
    }
  }
  result.torn_bytes = static_cast<off_t>(buf.size());
  return result;
}

absl::Status FsyncParentDir(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  ScopedFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || fsync(fd.get()) != 0) {
    return Unavailable(absl::StrCat("sync directory ", dir, ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

nlohmann::json AuditRecordToJson(const AuditRecord& r) {
  json resources = json::array();
  for (const std::string& resource : r.resources) resources.push_back(ValidUtf8(resource));
  return json{{"sequence", r.sequence},
              {"time", absl::FormatTime(kTimeFormat, r.time, absl::UTCTimeZone())},
              {"event_id", ValidUtf8(r.event_id)},
              {"phase", ValidUtf8(r.phase)},
              {"actor", ValidUtf8(r.actor)},
              {"via", ValidUtf8(r.via)},
              {"action", ValidUtf8(r.action)},
              {"resources", std::move(resources)},
              {"outcome", ValidUtf8(r.outcome)},
              {"detail", ValidUtf8(r.detail)},
              {"peer", ValidUtf8(r.peer)},
              {"prev_hash", ValidUtf8(r.prev_hash)},
              {"hash", ValidUtf8(r.hash)}};
}

AuditLog::AuditLog(std::string path, Clock* clock, int fd, int64_t last_sequence,
                   std::string last_hash, off_t size)
    : path_(std::move(path)),
      clock_(clock),
      fd_(fd),
      last_sequence_(last_sequence),
      last_hash_(std::move(last_hash)),
      size_(size) {}

AuditLog::~AuditLog() { close(fd_); }

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, Clock* clock) {
  // O_EXCL first, to know whether the directory entry is new and must be synced.
  bool created = true;
  int raw = open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (raw < 0 && errno == EEXIST) {
    created = false;
    raw = open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  }
  ScopedFd fd(raw);
  if (fd.get() < 0) return Unavailable(absl::StrCat("open ", path, ": ", ErrnoText(errno)));

  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Unavailable(absl::StrCat("stat ", path, ": ", ErrnoText(errno)));
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("audit log ", path, " is not a regular file"));
  }
  // Two writers would each extend the chain from the same head and fork it.
  if (S_ISREG(st.st_mode) && flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat("audit log ", path, " is already open for writing"));
    }
    return Unavailable(absl::StrCat("lock ", path, ": ", ErrnoText(errno)));
  }
  // A character device reports size 0, so /dev/full reads as an empty log.
  const off_t end = S_ISREG(st.st_mode) ? st.st_size : 0;
  absl::StatusOr<ScanResult> scan =
      Scan(fd.get(), end, path, /*verify=*/true, /*skip_lines=*/0, [](AuditRecord&&) { return true; });
  if (!scan.ok()) return scan.status();

  if (scan->torn_bytes > 0) {
    // Append writes each line whole or is undone, so an unterminated tail can
    // only be a write cut short by a crash: its caller never got OK.
    if (ftruncate(fd.get(), scan->complete_size) != 0 || fdatasync(fd.get()) != 0) {
      return Unavailable(absl::StrCat("cut torn final line of ", path, ": ", ErrnoText(errno)));
    }
    LogEvent(*GetLogger("audit"), spdlog::level::warn, "audit_log_torn_line_cut",
             {{"path", path}, {"bytes", static_cast<int64_t>(scan->torn_bytes)},
              {"after_sequence", scan->last_sequence}});
  }
  if (created) {
    if (absl::Status s = FsyncParentDir(path); !s.ok()) return s;
  }
  return std::unique_ptr<AuditLog>(new AuditLog(path, clock, fd.release(), scan->last_sequence,
                                                std::move(scan->last_hash), scan->complete_size));
}

absl::StatusOr<AuditRecord> AuditLog::Append(AuditRecord record) {
  if (absl::Status s = CheckLimits(record); !s.ok()) return s;
  // Cleaned here as well as in AuditRecordToJson so the returned record is
  // exactly what was stored and hashed.
  for (std::string* field : {&record.event_id, &record.phase, &record.actor, &record.via, &record.action,
                             &record.outcome, &record.detail, &record.peer}) {
    *field = ValidUtf8(*field);
  }
  for (std::string& resource : record.resources) resource = ValidUtf8(resource);

  MutexLock lock(&mu_);
  if (!broken_.empty()) return Unavailable(broken_);
  record.sequence = last_sequence_ + 1;
  // The file holds microseconds; keep the returned record equal to it.
  record.time = ToMicros(clock_->Now());
  record.prev_hash = last_hash_;
  record.hash.clear();
  json j = AuditRecordToJson(record);
  j.erase("hash");
  record.hash = Sha256Hex(absl::StrCat(record.prev_hash, j.dump()));
  if (record.hash.empty()) return Unavailable("SHA-256 failed");
  j["hash"] = record.hash;
  std::string line = j.dump();
  line += '\n';

  // One write(): with O_APPEND the line lands whole at the end or, on a short
  // write, is cut off again below; retrying the rest could interleave.
  ssize_t n;
  do {
    n = write(fd_, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  const int write_errno = errno;
  std::string failure;
  if (n < 0) {
    failure = absl::StrCat("write ", path_, ": ", ErrnoText(write_errno));
  } else if (static_cast<size_t>(n) != line.size()) {
    failure = absl::StrCat("short write to ", path_, " (", n, " of ", line.size(), " bytes)");
  } else if (fdatasync(fd_) != 0) {
    // The record may or may not be on disk; its caller is told it failed, so
    // it is removed rather than left as the base for the next record.
    failure = absl::StrCat("fdatasync ", path_, ": ", ErrnoText(errno));
  }
  if (failure.empty()) {
    size_ += static_cast<off_t>(line.size());
    last_sequence_ = record.sequence;
    last_hash_ = record.hash;
    return record;
  }

  // Undo whatever part of the line reached the file. A character device
  // (/dev/full) always reports size 0, so there is nothing to cut there.
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    broken_ = absl::StrCat(failure, "; then stat failed: ", ErrnoText(errno), "; reopen the log");
  } else if (S_ISREG(st.st_mode) && st.st_size != size_ && ftruncate(fd_, size_) != 0) {
    broken_ = absl::StrCat(failure, "; then cutting the partial record failed: ", ErrnoText(errno),
                           "; reopen the log");
  }
  if (!broken_.empty()) {
    LogEvent(*GetLogger("audit"), spdlog::level::err, "audit_log_broken",
             {{"path", path_}, {"reason", broken_}});
  }
  return Unavailable(failure);
}

absl::StatusOr<std::vector<AuditRecord>> AuditLog::Read(const AuditQuery& query) const {
  const size_t limit = query.limit <= 0                    ? 100
                       : query.limit > kAuditMaxReadLimit ? kAuditMaxReadLimit
                                                          : static_cast<size_t>(query.limit);
  // Only complete records: bytes below size_ never change (Append only adds
  // and cuts back to size_), so the scan needs no lock and Append never waits.
  off_t end;
  {
    ReaderMutexLock lock(&mu_);
    end = size_;
  }
  std::vector<AuditRecord> out;
  auto matches = [&query](const AuditRecord& r) {
    if (!query.actor.empty() && r.actor != query.actor) return false;
    if (!query.action.empty() && r.action != query.action) return false;
    if (!query.outcome.empty() && r.outcome != query.outcome) return false;
    if (r.time < query.since || r.time >= query.until) return false;
    if (!query.resource_prefix.empty() &&
        std::none_of(r.resources.begin(), r.resources.end(), [&query](const std::string& res) {
          return absl::StartsWith(res, query.resource_prefix);
        })) {
      return false;
    }
    return true;
  };
  absl::StatusOr<ScanResult> scan =
      Scan(fd_, end, path_, /*verify=*/false, std::max<int64_t>(query.after_sequence, 0),
           [&](AuditRecord&& r) {
             if (r.sequence > query.after_sequence && matches(r)) out.push_back(std::move(r));
             return out.size() < limit;
           });
  if (!scan.ok()) return scan.status();
  return out;
}

absl::Status VerifyAuditLog(const std::string& path) {
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("audit log ", path, " does not exist"));
    return Unavailable(absl::StrCat("open ", path, ": ", ErrnoText(errno)));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Unavailable(absl::StrCat("stat ", path, ": ", ErrnoText(errno)));
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("audit log ", path, " is not a regular file"));
  }
  return Scan(fd.get(), st.st_size, path, /*verify=*/true, /*skip_lines=*/0,
              [](AuditRecord&&) { return true; })
      .status();
}

}  // namespace expertise::security
