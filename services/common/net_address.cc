#include "services/common/net_address.h"

#include "absl/strings/match.h"

namespace expertise {

bool IsLoopbackAddress(const std::string& address) {
  return absl::StartsWith(address, "127.") || absl::StartsWith(address, "localhost:") ||
         absl::StartsWith(address, "[::1]:");
}

}  // namespace expertise
