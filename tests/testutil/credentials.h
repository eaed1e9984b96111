#ifndef EXPERTISE_TESTS_TESTUTIL_CREDENTIALS_H_
#define EXPERTISE_TESTS_TESTUTIL_CREDENTIALS_H_

// Identities for tests: one keyring per test process, made on first use,
// with an API key for every principal a test may need (every authority and
// its importer, every region's coordinator, admin/test, service/directory,
// service/other). Servers started by testutil load it (--insecure-dev on
// loopback: plaintext is the development mode the servers allow there).

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace expertise::testing {

// The keyring file (hashes only).
const std::string& KeyringPath();
// The API key of `principal` ("coordinator/E12000001", "authority/E06000001",
// "importer/E06000001", "admin/test", "service/directory", "service/other").
// Aborts the test binary on an unknown principal.
const std::string& TokenFor(const std::string& principal);
// A file holding TokenFor(principal), for --token-file.
std::string TokenFileFor(const std::string& principal);
// The coordinator of a region given by code, id or resource name.
std::string CoordinatorOf(const std::string& region);
// Flags that make a server accept the test keyring in plaintext on loopback.
std::vector<std::string> DevServerFlags();
// Makes child processes (expertctl, loadgen) call as `principal`, through
// EXPERTISE_TOKEN.
void UseCaller(const std::string& principal);
// A channel whose calls carry `principal`'s key.
std::shared_ptr<grpc::Channel> ChannelAs(const std::string& address, const std::string& principal);
// Makes one call carry `principal`'s key (overrides the channel's).
void CallAs(grpc::ClientContext* ctx, const std::string& principal);

}  // namespace expertise::testing

#endif  // EXPERTISE_TESTS_TESTUTIL_CREDENTIALS_H_
