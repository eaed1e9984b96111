#include "services/common/net_address.h"

#include <gtest/gtest.h>

namespace expertise {
namespace {

TEST(NetAddressTest, OnlyLiteralLoopbackHostsAreLoopback) {
  struct Case {
    const char* address;
    bool loopback;
  };
  for (const Case& c : {Case{"127.0.0.1:50050", true}, Case{"127.10.20.30:1", true},
                        Case{"localhost:0", true}, Case{"[::1]:50051", true},
                        // A name that merely starts like a loopback address is not one.
                        Case{"127.example.org:443", false}, Case{"127.0.0.1.nip.io:443", false},
                        Case{"localhost.example.org:1", false}, Case{"0.0.0.0:50050", false},
                        Case{"10.0.0.1:50050", false}, Case{"registry:50051", false},
                        Case{"127.0.0.1", false}, Case{"", false},
                        // Address lists (replicas): loopback only when every address is.
                        Case{"ipv4:127.0.0.1:1,127.0.0.1:2", true}, Case{"ipv6:[::1]:1", true},
                        Case{"ipv4:127.0.0.1:1,10.0.0.1:2", false}, Case{"ipv4:", false},
                        Case{"ipv4:127.0.0.1", false}}) {
    EXPECT_EQ(IsLoopbackAddress(c.address), c.loopback) << c.address;
  }
}

}  // namespace
}  // namespace expertise
