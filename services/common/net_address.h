#ifndef EXPERTISE_SERVICES_COMMON_NET_ADDRESS_H_
#define EXPERTISE_SERVICES_COMMON_NET_ADDRESS_H_

#include <string>

namespace expertise {

// Whether a listen address or client target (host:port) is on loopback only:
// 127.x.x.x, [::1] or localhost.
bool IsLoopbackAddress(const std::string& address);

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_NET_ADDRESS_H_
