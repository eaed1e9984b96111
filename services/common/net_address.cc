#include "services/common/net_address.h"

#include <arpa/inet.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace expertise {

bool IsLoopbackAddress(const std::string& address) {
  // gRPC's address-list URIs ("ipv4:127.0.0.1:1,127.0.0.1:2", several
  // replicas of one region): loopback when every address is.
  if (absl::StartsWith(address, "ipv4:") || absl::StartsWith(address, "ipv6:")) {
    const std::vector<std::string> parts = absl::StrSplit(address.substr(5), ',');
    for (const std::string& part : parts) {
      if (!IsLoopbackAddress(part)) return false;
    }
    return !parts.empty();
  }
  // The host must be a literal loopback address or exactly "localhost": a
  // prefix test would take "127.example.org" for loopback.
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  const std::string host = address.substr(0, colon);
  if (host == "localhost" || host == "[::1]") return true;
  in_addr v4;
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

}  // namespace expertise
