#ifndef EXPERTISE_SERVICES_DIRECTORY_MERGED_WATCH_H_
#define EXPERTISE_SERVICES_DIRECTORY_MERGED_WATCH_H_

// A capacity watch over several regions as one stream: a stream from every
// region named, each read one update at a time and read again only once
// that update is written to the client, so memory does not grow with the
// rate of change. A region whose stream breaks is opened again with its own
// resume token after a back-off, while the others go on. Resume tokens
// carry every region's (watch_merge.h).

#include <vector>

#include <grpcpp/grpcpp.h>

#include "expertise/registry/v1/sharing_service.grpc.pb.h"
#include "services/directory/region_pool.h"

namespace expertise::directory {

// The reactor for WatchCapacity over `regions`, started; it deletes itself
// when the client's call is done and no upstream stream or retry is left.
grpc::ServerWriteReactor<registry::v1::CapacityUpdate>* StartMergedWatch(
    const RegionPool* pool, grpc::CallbackServerContext* ctx, const registry::v1::WatchCapacityRequest& request,
    std::vector<const RegionPool::Region*> regions);

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_MERGED_WATCH_H_
