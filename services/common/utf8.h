#ifndef EXPERTISE_SERVICES_COMMON_UTF8_H_
#define EXPERTISE_SERVICES_COMMON_UTF8_H_

// Text that goes into protobuf strings must be valid UTF-8, or the message
// cannot be parsed at the other end. These cut and clean untrusted text.

#include <string>
#include <string_view>

namespace expertise {

// Copy of `s` with each byte that is not part of a valid UTF-8 sequence
// replaced by U+FFFD.
inline std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t extra = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
    bool valid = extra < 4 && i + extra < s.size();
    unsigned cp = extra == 0 ? c : extra == 1 ? (c & 0x1fu) : extra == 2 ? (c & 0x0fu) : (c & 0x07u);
    for (size_t k = 1; valid && k <= extra; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      valid = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if (valid && ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
                  (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)) {
      valid = false;
    }
    if (valid) {
      out.append(s.data() + i, extra + 1);
      i += extra + 1;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

// Index of the last character boundary at or before `end` in `s`.
inline size_t Utf8BoundaryAtOrBefore(std::string_view s, size_t end) {
  while (end > 0 && end < s.size() && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  return end;
}

// At most `max_bytes` of `s`, never cutting a character, made valid UTF-8.
// Cleaning can grow the text (one bad byte becomes a 3-byte U+FFFD), so the
// cleaned text is cut again.
inline std::string Utf8Prefix(std::string_view s, size_t max_bytes) {
  if (s.size() > max_bytes) s = s.substr(0, Utf8BoundaryAtOrBefore(s, max_bytes));
  std::string out = ValidUtf8(s);
  if (out.size() > max_bytes) out.resize(Utf8BoundaryAtOrBefore(out, max_bytes));
  return out;
}

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_UTF8_H_
