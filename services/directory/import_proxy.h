#ifndef EXPERTISE_SERVICES_DIRECTORY_IMPORT_PROXY_H_
#define EXPERTISE_SERVICES_DIRECTORY_IMPORT_PROXY_H_

// Proxies one import stream to the region of the authority its header
// names, one message at a time: a message read from the caller is written
// upstream, and only when that write is done is the next one read, so
// memory stays at one message however large the import.

#include <grpcpp/grpcpp.h>

#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "services/directory/region_pool.h"

namespace expertise::directory {

// The reactor for DirectoryService::ImportSpecialists; deletes itself when
// both the caller's call and the upstream call are done.
grpc::ServerReadReactor<registry::v1::ImportSpecialistsRequest>* NewImportProxy(
    const RegionPool* pool, grpc::CallbackServerContext* ctx, registry::v1::Import* response);

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_IMPORT_PROXY_H_
