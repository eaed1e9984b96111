#include "services/directory/federated_paging.h"

#include "absl/strings/string_view.h"
#include "expertise/internal/v1/page_token.pb.h"
#include "services/common/errors.h"
#include "services/common/fnv.h"
#include "services/registry/page_token.h"

namespace expertise::directory {
namespace {

constexpr size_t kMaxTokenBytes = 16384;

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

  internal::v1::DirectoryPageCursor message;
  if (!registry::OpenPageToken(token, kMaxTokenBytes, internal::v1::PageToken::DIRECTORY, &message)) {
    return InvalidFieldError("page_token",
                             "is not a page token from this directory; start from the first page");
  }
  if (message.request_fingerprint() != fingerprint) {
    return InvalidFieldError("page_token", "was made for a request with other parameters");
  }
  if (message.regions_hash() != pager.regions_hash_ ||
      static_cast<size_t>(message.regions_size()) != regions.size()) {
    return InvalidFieldError("page_token",
                             "was made before the directory's regions changed; start from the first page");
  }
  pager.day_ = message.day();
  for (size_t i = 0; i < pager.cursors_.size(); ++i) {
    const internal::v1::RegionCursor& from = message.regions(static_cast<int>(i));
    RegionCursor& c = pager.cursors_[i];
    c.started = from.started();
    c.exhausted = from.exhausted();
    c.key = from.key();
    c.last_name = from.last_name();
  }
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
  internal::v1::DirectoryPageCursor message;
  message.set_request_fingerprint(fingerprint_);
  message.set_regions_hash(regions_hash_);
  message.set_day(day_);
  for (const RegionCursor& c : cursors_) {
    internal::v1::RegionCursor* to = message.add_regions();
    to->set_started(c.started);
    to->set_exhausted(c.exhausted);
    to->set_key(c.key);
    to->set_last_name(c.last_name);
  }
  return registry::SealPageToken(internal::v1::PageToken::DIRECTORY, message);
}

}  // namespace expertise::directory
