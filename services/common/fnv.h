#ifndef EXPERTISE_SERVICES_COMMON_FNV_H_
#define EXPERTISE_SERVICES_COMMON_FNV_H_

// FNV-1a, 64-bit: a hash that is the same in every process and release
// (unlike absl::Hash), for ids derived from request ids and for page-token
// checksums. Not for security.

#include <cstdint>

namespace expertise {

inline constexpr uint64_t kFnv1a64Offset = 14695981039346656037ull;

// `bytes` is any contiguous range of char (std::string, std::string_view,
// absl::string_view); `hash` continues an earlier hash.
template <typename Bytes>
uint64_t Fnv1a64(const Bytes& bytes, uint64_t hash = kFnv1a64Offset) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_FNV_H_
