#ifndef EXPERTISE_SERVICES_DIRECTORY_FORWARDING_H_
#define EXPERTISE_SERVICES_DIRECTORY_FORWARDING_H_

// The shapes a directory handler takes, so each handler is one statement
// (as the registry's Dispatch): the CallGate's decision first, then
//   - Route: the call forwarded to the one region that serves it;
//   - Federated: a `regions/-` read fanned out to every region, the answers
//     merged by a gRPC-free plan (federation.h, sharing_federation.h);
//   - FindInAnyRegion: a resource named by id alone, asked of every region.
// Nothing here blocks: the call finishes from the last answer's callback.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/directory/region_pool.h"

namespace expertise::directory {

class Forwarder {
 public:
  explicit Forwarder(const RegionPool* pool) : pool_(pool) {}

  // The gate's refusal, finished; nullptr when the call may go ahead.
  grpc::ServerUnaryReactor* Refused(grpc::CallbackServerContext* ctx) const {
    const security::CallDecision decision = pool_->gate().Decision(ctx);
    if (decision.status.ok()) return nullptr;
    return Finished(ctx, Error(decision.status));
  }

  // The call finished at once with `status`.
  static grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* ctx, const grpc::Status& status) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  // Forwards `request` to `region` (or finishes with the routing error) and
  // finishes with its answer, the region named in an error. `keep_alive`
  // holds a rewritten request until the call is done.
  template <typename Async, typename Request, typename Response>
  grpc::ServerUnaryReactor* Route(grpc::CallbackServerContext* ctx,
                                  const absl::StatusOr<const RegionPool::Region*>& region,
                                  const Request* request, Response* response,
                                  AsyncMethod<Async, Request, Response> method,
                                  std::shared_ptr<const void> keep_alive = nullptr) const {
    if (grpc::ServerUnaryReactor* refused = Refused(ctx)) return refused;
    if (!region.ok()) return Finished(ctx, Error(region.status()));
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    std::shared_ptr<grpc::ClientContext> child = pool_->ChildContext(ctx, CallKind::kRouted);
    Async* stub = (*region)->async(static_cast<const Async*>(nullptr));
    (stub->*method)(child.get(), request, response,
                    [reactor, child, name = (*region)->name(), keep_alive](grpc::Status status) {
                      reactor->Finish(FromRegion(name, status));
                    });
    return reactor;
  }

  // Route with the request's parent set to the region's own name (a call
  // routed by authority, whose registry wants its own parent).
  template <typename Async, typename Request, typename Response>
  grpc::ServerUnaryReactor* RouteToParent(grpc::CallbackServerContext* ctx,
                                          const absl::StatusOr<const RegionPool::Region*>& region,
                                          const Request* request, Response* response,
                                          AsyncMethod<Async, Request, Response> method) const {
    if (!region.ok()) return Route(ctx, region, request, response, method);
    auto routed = std::make_shared<Request>(*request);
    routed->set_parent((*region)->name());
    return Route(ctx, region, routed.get(), response, method, routed);
  }

  // A national read. `plan` (or why it cannot be made) says what to ask
  // each region (`request(i)`, nullopt for none) and merges the answers
  // (`Merge(answers)`, nullptr for a region not asked or not answering,
  // which the plan names in `unreachable`). With Plan::kNoAnswerIsAnError,
  // a read no region answered fails UNAVAILABLE (AIP-217: nothing partial
  // to give).
  template <typename Plan, typename Async>
  grpc::ServerUnaryReactor* Federated(
      grpc::CallbackServerContext* ctx, const char* method_name, absl::StatusOr<Plan> plan,
      AsyncMethod<Async, typename Plan::Request, typename Plan::Response> method,
      typename Plan::Response* response) const {
    using Request = typename Plan::Request;
    using Response = typename Plan::Response;
    if (grpc::ServerUnaryReactor* refused = Refused(ctx)) return refused;
    if (!plan.ok()) return Finished(ctx, Error(plan.status()));
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    auto shared = std::make_shared<Plan>(*std::move(plan));
    std::vector<std::optional<Request>> requests;
    size_t asked = 0;
    for (size_t i = 0; i < pool_->size(); ++i) {
      requests.push_back(shared->request(i));
      asked += requests.back().has_value() ? 1 : 0;
    }
    pool_->FanOut<Async, Request, Response>(
        ctx, std::move(requests), method, {.method = method_name},
        [reactor, response, shared, asked](const FanOutAnswers<Response>& heard) {
          if (!heard.caller_error.ok()) return reactor->Finish(heard.caller_error);
          *response = shared->Merge(heard.answers);
          if (Plan::kNoAnswerIsAnError && asked > 0 && heard.unreachable.size() == asked) {
            return reactor->Finish(Error(absl::UnavailableError(
                absl::StrCat("no region answered in time (", absl::StrJoin(heard.unreachable, ", "), ")"))));
          }
          reactor->Finish(grpc::Status::OK);
        });
    return reactor;
  }

  // Looks up `{region}/{collection}/{id}` in every region for a name given
  // as `regions/-/{collection}/{id}` (ids are unique across regions) and
  // calls `done` with the first region's answer, or with NOT_FOUND when
  // every region said so, UNAVAILABLE when some did not answer, or the
  // error a region gave that is the caller's.
  template <typename Async, typename Request, typename Response>
  void FindInAnyRegion(grpc::CallbackServerContext* ctx, const std::string& name, const std::string& id,
                       const std::string& collection, AsyncMethod<Async, Request, Response> method,
                       FanOutOptions options,
                       std::function<void(const grpc::Status&, const Response*)> done) const {
    std::vector<std::optional<Request>> requests;
    for (const std::string& region : pool_->names()) {
      Request one;
      one.set_name(absl::StrCat(region, "/", collection, "/", id));
      requests.emplace_back(std::move(one));
    }
    options.not_found_is_an_answer = true;
    pool_->FanOut<Async, Request, Response>(
        ctx, std::move(requests), method, options,
        [name, done = std::move(done)](const FanOutAnswers<Response>& heard) {
          if (!heard.caller_error.ok()) return done(heard.caller_error, nullptr);
          for (const Response* found : heard.answers) {
            if (found != nullptr) return done(grpc::Status::OK, found);
          }
          done(Error(heard.unreachable.empty()
                         ? absl::NotFoundError(absl::StrCat(name, " does not exist"))
                         : absl::UnavailableError(absl::StrCat(
                               name, " was not found in the regions that answered, and some did not"))),
               nullptr);
        });
  }

  // Answers a `regions/-/{collection}/{id}` get with FindInAnyRegion.
  template <typename Async, typename Request, typename Response>
  grpc::ServerUnaryReactor* Find(grpc::CallbackServerContext* ctx, const std::string& name,
                                 const std::string& id, const std::string& collection,
                                 AsyncMethod<Async, Request, Response> method, const char* method_name,
                                 Response* response) const {
    if (grpc::ServerUnaryReactor* refused = Refused(ctx)) return refused;
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    FindInAnyRegion<Async, Request, Response>(ctx, name, id, collection, method, {.method = method_name},
                                              [reactor, response](const grpc::Status& status, const Response* found) {
                                                if (found != nullptr) *response = *found;
                                                reactor->Finish(status);
                                              });
    return reactor;
  }

  const RegionPool& pool() const { return *pool_; }

 private:
  const RegionPool* pool_;
};

}  // namespace expertise::directory

#endif  // EXPERTISE_SERVICES_DIRECTORY_FORWARDING_H_
