#ifndef EXPERTISE_SERVICES_RPC_SERVER_UTIL_H_
#define EXPERTISE_SERVICES_RPC_SERVER_UTIL_H_

// What every gRPC server binary of the project sets up the same way.

#include <string>

#include <grpcpp/server_builder.h>

#include "services/common/net_address.h"

namespace expertise {

// Writes `port` to `path` atomically (write, then rename), so a watcher never
// reads a half-written file.
bool WritePortFile(const std::string& path, int port);

// Accepts the directory's keepalive pings (every 10 s, also between calls),
// so an idle directory-to-registry channel is never sent GOAWAY
// "too_many_pings" and a dead peer is noticed quickly.
void ApplyServerKeepalive(grpc::ServerBuilder* builder);

// Linking libgrpc++_reflection registers its plugin in a static
// initializer, so not calling InitProtoReflectionServerBuilderPlugin() does
// not turn reflection off; this takes the plugin out of the builder.
void DisableReflection(grpc::ServerBuilder* builder);

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_RPC_SERVER_UTIL_H_
