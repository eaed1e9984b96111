#ifndef EXPERTISE_SERVICES_COMMON_STRING_VIEW_H_
#define EXPERTISE_SERVICES_COMMON_STRING_VIEW_H_

// Debian's Abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW 0, so
// absl::string_view is its own type. Our APIs take std::string_view and
// convert only where an Abseil API needs its own type.

#include <string_view>

#include "absl/strings/string_view.h"

namespace expertise {

inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_STRING_VIEW_H_
