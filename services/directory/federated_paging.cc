#include "services/common/fnv.h"
#include "services/directory/federated_paging.h"

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "services/common/errors.h"

namespace expertise::directory {
namespace {

constexpr char kMagic[2] = {'D', '1'};
constexpr size_t kMaxTokenBytes = 16384;

template <typename T>
void Append(std::string* out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out->append(bytes, sizeof(T));
}

// Reads fixed-size values and length-prefixed strings, failing on overrun.
class Reader {
 public:
  explicit Reader(absl::string_view data) : data_(data) {}
  template <typename T>
  bool Read(T* value) {
    if (data_.size() - offset_ < sizeof(T)) return false;
    std::memcpy(value, data_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return true;
  }
  bool ReadString(std::string* value) {
    uint16_t size = 0;
    if (!Read(&size) || data_.size() - offset_ < size) return false;
    value->assign(data_.data() + offset_, size);
    offset_ += size;
    return true;
  }
  bool done() const { return offset_ == data_.size(); }

 private:
  absl::string_view data_;
  size_t offset_ = 0;
};

uint64_t RegionsHash(const std::vector<std::string>& regions) {
  uint64_t hash = Fnv1a64(absl::string_view("regions"));
  for (const std::string& r : regions) hash = Fnv1a64(r + "\n", hash);
  return hash;
}

}  // namespace

absl::StatusOr<FederatedPager> FederatedPager::Resume(std::string_view token, uint64_t fingerprint,
                                                      const std::vector<std::string>& regions,
                                                      int32_t first_day) {
  FederatedPager pager;
  pager.fingerprint_ = fingerprint;
  pager.regions_hash_ = RegionsHash(regions);
  pager.day_ = first_day;
  pager.cursors_.resize(regions.size());
  if (token.empty()) return pager;

  const absl::Status bad = InvalidFieldError(
      "page_token", "is not a page token from this directory; start from the first page");
  std::string raw;
  if (token.size() > kMaxTokenBytes ||
      !absl::WebSafeBase64Unescape(absl::string_view(token.data(), token.size()), &raw) ||
      raw.size() < 2 + 4 || raw.compare(0, 2, kMagic, 2) != 0) {
    return bad;
  }
  const absl::string_view body(raw.data(), raw.size() - 4);
  uint32_t check = 0;
  std::memcpy(&check, raw.data() + raw.size() - 4, 4);
  if (check != static_cast<uint32_t>(Fnv1a64(body))) return bad;

  Reader reader(body.substr(2));
  uint64_t token_fingerprint = 0, token_regions = 0;
  uint16_t count = 0;
  if (!reader.Read(&token_fingerprint) || !reader.Read(&token_regions) || !reader.Read(&pager.day_) ||
      !reader.Read(&count)) {
    return bad;
  }
  if (token_fingerprint != fingerprint) {
    return InvalidFieldError("page_token", "was made for a request with other parameters");
  }
  if (token_regions != pager.regions_hash_ || count != regions.size()) {
    return InvalidFieldError("page_token",
                             "was made before the directory's regions changed; start from the first page");
  }
  for (RegionCursor& c : pager.cursors_) {
    uint8_t flags = 0;
    if (!reader.Read(&flags) || !reader.Read(&c.key) || !reader.ReadString(&c.last_name)) return bad;
    c.started = (flags & 1) != 0;
    c.exhausted = (flags & 2) != 0;
  }
  if (!reader.done()) return bad;
  return pager;
}

void FederatedPager::Consumed(size_t region, double key, const std::string& name) {
  RegionCursor& c = cursors_[region];
  c.started = true;
  c.key = key;
  c.last_name = name;
}

void FederatedPager::Exhausted(size_t region) { cursors_[region].exhausted = true; }

std::string FederatedPager::NextToken() const {
  bool any_active = false;
  for (const RegionCursor& c : cursors_) any_active |= !c.exhausted;
  if (!any_active) return "";
  std::string raw(kMagic, 2);
  Append(&raw, fingerprint_);
  Append(&raw, regions_hash_);
  Append(&raw, day_);
  Append(&raw, static_cast<uint16_t>(cursors_.size()));
  for (const RegionCursor& c : cursors_) {
    Append(&raw, static_cast<uint8_t>((c.started ? 1 : 0) | (c.exhausted ? 2 : 0)));
    Append(&raw, c.key);
    Append(&raw, static_cast<uint16_t>(c.last_name.size()));
    raw += c.last_name;
  }
  Append(&raw, static_cast<uint32_t>(Fnv1a64(raw)));
  std::string token;
  absl::WebSafeBase64Escape(raw, &token);
  return token;
}

}  // namespace expertise::directory
