#include "services/common/net_address.h"

#include <arpa/inet.h>

#include "absl/strings/match.h"

namespace expertise {

bool IsLoopbackAddress(const std::string& address) {
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
