#include "services/directory/directory_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/countdown.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/rpc/grpc_status.h"
#include "services/common/logging.h"
#include "services/directory/federation.h"
#include "services/registry/resource_model.h"

namespace expertise::directory {

namespace v1 = ::expertise::registry::v1;

grpc::Status Error(const absl::Status& status) { return ToGrpcStatus(status, kDirectoryErrorDomain); }

grpc::Status FromRegion(const std::string& region, const grpc::Status& status) {
  if (status.ok()) return status;
  return grpc::Status(status.error_code(), absl::StrCat(region, ": ", status.error_message()),
                      status.error_details());
}


namespace {

spdlog::logger& Log() {
  static spdlog::logger* const logger = GetLogger("directory").get();
  return *logger;
}


// The caller the registries are told about (x-expertise-on-behalf-of), or
// none. Registries never accept an administrator through a forwarder (so the
// directory's key cannot be used as an administrator's): an administrator
// calling here gets the directory's own, reference-only, rights.
std::optional<std::string> ForwardedCaller(const security::CallDecision& decision) {
  if (!decision.caller || decision.caller->kind == security::PrincipalKind::kAdministrator) {
    return std::nullopt;
  }
  return decision.caller->ToString();
}

// Names the region in errors that come from it, keeping the details.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                          const security::ClientSecurityOptions& security) {
  grpc::ChannelArguments args;
  // Keepalive matched with the registries' server settings (server.cc), so
  // a dead peer is noticed within ~15 s even on an idle channel.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A page of 1,000 full records is well under this.
  args.SetMaxReceiveMessageSize(32 * 1024 * 1024);
  // A region that went down is retried soon after it comes back.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // A region served by several replicas (a name resolving to each, such as
  // a Kubernetes headless Service): calls are spread over every replica
  // that is up, and one going away costs no failed call. With one address
  // this is pick-first.
  args.SetLoadBalancingPolicyName("round_robin");
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      security::NewClientChannel(target, security, args);
  if (!channel.ok()) {
    // The server checks the options before it builds the service, so this
    // only happens if a certificate file vanished in between: the region
    // then answers as unreachable, with the reason in the log.
    LogEvent(Log(), spdlog::level::err, "region_channel_failed",
             {{"target", target}, {"error", std::string(channel.status().message())}});
    return grpc::CreateChannel("unix:/nonexistent/expertise-directory-no-credentials",
                               grpc::InsecureChannelCredentials());
  }
  return *std::move(channel);
}

}  // namespace

DirectoryService::DirectoryService(DirectoryOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : RealClock()) {
  for (const RegionEndpoint& e : options_.regions) {
    auto backend = std::make_unique<Backend>();
    backend->region = e.region;
    backend->target = e.target;
    backend->channel = MakeChannel(e.target, options_.upstream);
    backend->stub = v1::RegistryService::NewStub(backend->channel);
    backend->sharing = v1::CapacitySharingService::NewStub(backend->channel);
    region_names_.push_back(e.region->resource_name());
    backends_.push_back(std::move(backend));
  }
}

DirectoryService::~DirectoryService() = default;

const DirectoryService::Backend* DirectoryService::BackendFor(const RegionInfo* region, const char* field,
                                                              grpc::Status* error) const {
  for (const auto& b : backends_) {
    if (b->region == region) return b.get();
  }
  *error = Error(WithReason(absl::FailedPreconditionError(absl::StrCat(
                                "this directory has no registry for ", region->resource_name(),
                                " (", region->name, "); add it to the --regions file")),
                            reasons::kRegionNotConfigured));
  return nullptr;
}

const DirectoryService::Backend* DirectoryService::BackendForParent(const std::string& parent,
                                                                    const char* field,
                                                                    grpc::Status* error) const {
  const RegionInfo* region =
      absl::StartsWith(parent, "regions/") ? ReferenceData::Get().FindRegion(parent) : nullptr;
  if (!region) {
    *error = Error(InvalidFieldError(field, "must be regions/- or a region such as regions/north-east"));
    return nullptr;
  }
  return BackendFor(region, field, error);
}

const DirectoryService::Backend* DirectoryService::BackendForName(const std::string& name, const char* field,
                                                                  grpc::Status* error) const {
  // regions/{region}/...
  const size_t second_slash = name.find('/', 8);
  if (!absl::StartsWith(name, "regions/") || second_slash == std::string::npos) {
    *error = Error(InvalidFieldError(field, "must be a name in a region, e.g. regions/north-east/specialists/s-1"));
    return nullptr;
  }
  return BackendForParent(name.substr(0, second_slash), field, error);
}

const DirectoryService::Backend* DirectoryService::BackendForAuthority(const std::string& code,
                                                                       const char* field,
                                                                       grpc::Status* error) const {
  const AuthorityInfo* la = ReferenceData::Get().FindAuthority(code);
  if (!la) {
    *error = Error(InvalidFieldError(field, code.empty() ? "is required: it decides the region"
                                                         : "is not a known GSS code"));
    return nullptr;
  }
  return BackendFor(ReferenceData::Get().FindRegion(la->region_code), field, error);
}

std::unique_ptr<grpc::ClientContext> DirectoryService::ChildContext(grpc::CallbackServerContext* ctx,
                                                                   bool fan_out) const {
  std::unique_ptr<grpc::ClientContext> child = grpc::ClientContext::FromCallbackServerContext(*ctx);
  // The registries decide what the caller may see and do: name the caller.
  if (std::optional<std::string> caller = ForwardedCaller(options_.gate->Decision(ctx))) {
    child->AddMetadata(security::kOnBehalfOfKey, *caller);
  }
  const auto now = std::chrono::system_clock::now();
  auto deadline = fan_out ? now + absl::ToChronoNanoseconds(options_.region_timeout)
                          : std::chrono::system_clock::time_point::max();
  const auto caller = ctx->deadline();
  if (caller < deadline) {
    // Keep a margin to merge and answer before the caller gives up: a tenth
    // of the time left, between 5 and 250 ms.
    const auto left = caller - now;
    auto margin = std::clamp<std::chrono::system_clock::duration>(
        left / 10, std::chrono::milliseconds(5), std::chrono::milliseconds(250));
    deadline = caller - margin;
  }
  if (deadline != std::chrono::system_clock::time_point::max()) child->set_deadline(deadline);
  return child;
}

grpc::ServerUnaryReactor* DirectoryService::RefuseIfDenied(grpc::CallbackServerContext* ctx) const {
  const security::CallDecision decision = options_.gate->Decision(ctx);
  if (decision.status.ok()) return nullptr;
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(Error(decision.status));
  return reactor;
}

// Every unary handler starts with this: a refused call ends here.
#define EXPERTISE_REFUSE_IF_DENIED(ctx) \
  if (grpc::ServerUnaryReactor* refused = RefuseIfDenied(ctx)) return refused

template <typename Request, typename Response, typename Invoke>
grpc::ServerUnaryReactor* DirectoryService::Route(grpc::CallbackServerContext* ctx, const Backend* backend,
                                                  const grpc::Status& error, const Request* request,
                                                  Response* response, Invoke invoke,
                                                  std::shared_ptr<const void> keep_alive) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (backend == nullptr) {
    reactor->Finish(error);
    return reactor;
  }
  std::shared_ptr<grpc::ClientContext> child = ChildContext(ctx, /*fan_out=*/false);
  const std::string region = backend->region->resource_name();
  invoke(backend->stub->async(), child.get(), request, response,
         [reactor, child, region, keep_alive](grpc::Status status) {
           reactor->Finish(FromRegion(region, status));
         });
  return reactor;
}

template <typename Request, typename Response, typename Invoke, typename Done>
void DirectoryService::FanOut(grpc::CallbackServerContext* ctx, const char* method,
                              std::vector<std::optional<Request>> requests, Invoke invoke, Done done,
                              bool not_found_is_an_answer) {
  // Shared by the outbound calls' callbacks; each writes only its own slot,
  // and the last one to finish (pending reaches 0) reads them all.
  struct State {
    std::vector<std::optional<Request>> requests;
    std::vector<Response> responses;
    std::vector<grpc::Status> statuses;
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::unique_ptr<Countdown> countdown;
    std::function<void(const grpc::Status&, const std::vector<const Response*>&,
                       const std::vector<grpc::Status>&)>
        done;
    grpc::CallbackServerContext* ctx;  // valid until done() finishes the call
    bool not_found_is_an_answer;
    const char* method;
    std::vector<std::string> regions;
    std::vector<Backend*> backends;
    std::chrono::steady_clock::time_point start;
  };
  auto state = std::make_shared<State>();
  const size_t n = requests.size();
  state->requests = std::move(requests);
  state->responses.resize(n);
  state->statuses.resize(n);
  state->contexts.resize(n);
  state->done = std::move(done);
  state->ctx = ctx;
  state->not_found_is_an_answer = not_found_is_an_answer;
  state->method = method;
  state->regions = region_names_;
  for (const auto& b : backends_) state->backends.push_back(b.get());
  state->start = std::chrono::steady_clock::now();
  size_t asked = 0;
  for (size_t i = 0; i < n; ++i) {
    if (state->requests[i].has_value()) ++asked;
  }
  auto finish = [](State& s) {
    std::vector<const Response*> answers(s.responses.size(), nullptr);
    std::vector<std::string> unreachable;
    // When the caller gave up, every region "failed" for the caller's
    // reason: that says nothing about the regions.
    const bool caller_gone = s.ctx->IsCancelled();
    for (size_t i = 0; i < s.responses.size(); ++i) {
      if (!s.requests[i].has_value()) continue;
      const grpc::Status& status = s.statuses[i];
      const bool answered = status.ok() || IsCallerError(status.error_code()) ||
                            (s.not_found_is_an_answer && status.error_code() == grpc::StatusCode::NOT_FOUND);
      if (answered && !s.backends[i]->answering.exchange(true)) {
        LogEvent(Log(), spdlog::level::info, "region_answering_again", {{"region", s.regions[i]}});
      }
      if (status.ok()) {
        answers[i] = &s.responses[i];
      } else if (IsCallerError(status.error_code())) {
        s.done(FromRegion(s.regions[i], status), answers, s.statuses);
        return;
      } else if (!answered) {
        unreachable.push_back(s.regions[i]);
        if (caller_gone) continue;
        const bool was_answering = s.backends[i]->answering.exchange(false);
        LogEvent(Log(), was_answering ? spdlog::level::warn : spdlog::level::debug, "region_unreachable",
                 {{"method", s.method},
                  {"region", s.regions[i]},
                  {"code", static_cast<int>(status.error_code())},
                  {"error", status.error_message()}});
      }
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s.start).count();
    LogEvent(Log(), spdlog::level::debug, "fan_out",
             {{"method", s.method}, {"unreachable", absl::StrJoin(unreachable, ",")}, {"ms", ms}});
    s.done(grpc::Status::OK, answers, s.statuses);
  };
  if (asked == 0) {
    finish(*state);
    return;
  }
  // The last answer merges and finishes; it holds `state` alive until then.
  state->countdown = std::make_unique<Countdown>(asked, [state_ptr = state.get(), finish] { finish(*state_ptr); });
  // Contexts are made before any call starts, so a fast answer cannot
  // finish the fan-out while the loop still fills the vectors.
  for (size_t i = 0; i < n; ++i) {
    if (state->requests[i].has_value()) state->contexts[i] = ChildContext(ctx, /*fan_out=*/true);
  }
  for (size_t i = 0; i < n; ++i) {
    if (!state->requests[i].has_value()) continue;
    invoke(backends_[i]->stub->async(), state->contexts[i].get(), &*state->requests[i], &state->responses[i],
           [state, i, finish](grpc::Status status) {
             state->statuses[i] = std::move(status);
             state->countdown->Arrive();
           });
  }
}

// The outbound calls, as callables FanOut and Route can take.
#define EXPERTISE_ASYNC(Method)                                                                 \
  [](auto* async, grpc::ClientContext* c, const auto* outbound_request, auto* outbound_response, \
     std::function<void(grpc::Status)> callback) {                                              \
    async->Method(c, outbound_request, outbound_response, std::move(callback));                 \
  }

grpc::ServerUnaryReactor* DirectoryService::GetSpecialist(grpc::CallbackServerContext* ctx,
                                                          const v1::GetSpecialistRequest* request,
                                                          v1::Specialist* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  constexpr char kAnyRegion[] = "regions/-/specialists/";
  if (absl::StartsWith(request->name(), kAnyRegion)) {
    // An id without its region: every region is asked; ids are unique.
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    const std::string id = request->name().substr(sizeof(kAnyRegion) - 1);
    std::vector<std::optional<v1::GetSpecialistRequest>> requests;
    for (const std::string& region : region_names_) {
      v1::GetSpecialistRequest one;
      one.set_name(absl::StrCat(region, "/specialists/", id));
      requests.emplace_back(std::move(one));
    }
    FanOut<v1::GetSpecialistRequest, v1::Specialist>(
        ctx, "GetSpecialist", std::move(requests), EXPERTISE_ASYNC(GetSpecialist),
        [reactor, response, name = request->name()](const grpc::Status& status,
                                                     const std::vector<const v1::Specialist*>& answers,
                                                     const std::vector<grpc::Status>& statuses) {
          if (!status.ok()) return reactor->Finish(status);
          for (const v1::Specialist* found : answers) {
            if (found != nullptr) {
              *response = *found;
              return reactor->Finish(grpc::Status::OK);
            }
          }
          bool every_region_answered = true;
          for (const grpc::Status& s : statuses) every_region_answered &= s.error_code() == grpc::StatusCode::NOT_FOUND;
          reactor->Finish(Error(every_region_answered
                                    ? absl::NotFoundError(absl::StrCat(name, " does not exist"))
                                    : absl::UnavailableError(absl::StrCat(
                                          name, " was not found in the regions that answered, and some did not"))));
        },
        /*not_found_is_an_answer=*/true);
    return reactor;
  }
  grpc::Status error;
  const Backend* backend = BackendForName(request->name(), "name", &error);
  return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(GetSpecialist));
}

grpc::ServerUnaryReactor* DirectoryService::ListSpecialists(grpc::CallbackServerContext* ctx,
                                                            const v1::ListSpecialistsRequest* request,
                                                            v1::ListSpecialistsResponse* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  if (request->parent() != "regions/-") {
    grpc::Status error;
    const Backend* backend = BackendForParent(request->parent(), "parent", &error);
    return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(ListSpecialists));
  }
  // DefaultReactor() constructs the reactor, so it is taken once, here.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<FederatedList> list = FederatedList::Begin(*request, region_names_);
  if (!list.ok()) {
    reactor->Finish(Error(list.status()));
    return reactor;
  }
  auto shared = std::make_shared<FederatedList>(*std::move(list));
  std::vector<std::optional<v1::ListSpecialistsRequest>> requests;
  size_t asked = 0;
  for (size_t i = 0; i < region_names_.size(); ++i) {
    requests.push_back(shared->request(i));
    asked += requests.back().has_value() ? 1 : 0;
  }
  FanOut<v1::ListSpecialistsRequest, v1::ListSpecialistsResponse>(
      ctx, "ListSpecialists", std::move(requests), EXPERTISE_ASYNC(ListSpecialists),
      [reactor, response, shared, asked](const grpc::Status& status,
                                         const std::vector<const v1::ListSpecialistsResponse*>& answers,
                                         const std::vector<grpc::Status>&) {
        if (!status.ok()) return reactor->Finish(status);
        *response = shared->Merge(answers);
        // AIP-217: when no region answered there is nothing partial to give.
        if (asked > 0 && response->unreachable_size() == static_cast<int>(asked)) {
          return reactor->Finish(Error(absl::UnavailableError(
              absl::StrCat("no region answered in time (", absl::StrJoin(response->unreachable(), ", "), ")"))));
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* DirectoryService::SearchSpecialists(grpc::CallbackServerContext* ctx,
                                                              const v1::SearchSpecialistsRequest* request,
                                                              v1::SearchSpecialistsResponse* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  if (request->parent() != "regions/-") {
    grpc::Status error;
    const Backend* backend = BackendForParent(request->parent(), "parent", &error);
    return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(SearchSpecialists));
  }
  // DefaultReactor() constructs the reactor, so it is taken once, here.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<FederatedSearch> search = FederatedSearch::Begin(*request, region_names_, clock_->Now());
  if (!search.ok()) {
    reactor->Finish(Error(search.status()));
    return reactor;
  }
  auto shared = std::make_shared<FederatedSearch>(*std::move(search));
  std::vector<std::optional<v1::SearchSpecialistsRequest>> requests;
  size_t asked = 0;
  for (size_t i = 0; i < region_names_.size(); ++i) {
    requests.push_back(shared->request(i));
    asked += requests.back().has_value() ? 1 : 0;
  }
  FanOut<v1::SearchSpecialistsRequest, v1::SearchSpecialistsResponse>(
      ctx, "SearchSpecialists", std::move(requests), EXPERTISE_ASYNC(SearchSpecialists),
      [reactor, response, shared, asked](const grpc::Status& status,
                                         const std::vector<const v1::SearchSpecialistsResponse*>& answers,
                                         const std::vector<grpc::Status>&) {
        if (!status.ok()) return reactor->Finish(status);
        *response = shared->Merge(answers);
        // AIP-217: when no region answered there is nothing partial to give.
        if (asked > 0 && response->unreachable_size() == static_cast<int>(asked)) {
          return reactor->Finish(Error(absl::UnavailableError(
              absl::StrCat("no region answered in time (", absl::StrJoin(response->unreachable(), ", "), ")"))));
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* DirectoryService::CreateSpecialist(grpc::CallbackServerContext* ctx,
                                                             const v1::CreateSpecialistRequest* request,
                                                             v1::Specialist* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  grpc::Status error;
  const Backend* backend =
      BackendForAuthority(request->specialist().owning_authority(), "specialist.owning_authority", &error);
  if (!backend) {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(error);
    return reactor;
  }
  if (request->parent() == "regions/-" || request->parent().empty()) {
    // Routed by the owning authority: the region's registry wants its own name.
    auto routed = std::make_shared<v1::CreateSpecialistRequest>(*request);
    routed->set_parent(backend->region->resource_name());
    return Route(ctx, backend, grpc::Status::OK, routed.get(), response, EXPERTISE_ASYNC(CreateSpecialist), routed);
  }
  return Route(ctx, backend, grpc::Status::OK, request, response, EXPERTISE_ASYNC(CreateSpecialist));
}

grpc::ServerUnaryReactor* DirectoryService::UpdateSpecialist(grpc::CallbackServerContext* ctx,
                                                             const v1::UpdateSpecialistRequest* request,
                                                             v1::Specialist* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  grpc::Status error;
  const Backend* backend = BackendForName(request->specialist().name(), "specialist.name", &error);
  return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(UpdateSpecialist));
}

grpc::ServerUnaryReactor* DirectoryService::DeleteSpecialist(grpc::CallbackServerContext* ctx,
                                                             const v1::DeleteSpecialistRequest* request,
                                                             google::protobuf::Empty* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  grpc::Status error;
  const Backend* backend = BackendForName(request->name(), "name", &error);
  return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(DeleteSpecialist));
}

grpc::ServerUnaryReactor* DirectoryService::UpdateCapacity(grpc::CallbackServerContext* ctx,
                                                           const v1::UpdateCapacityRequest* request,
                                                           v1::Specialist* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  grpc::Status error;
  const Backend* backend = BackendForName(request->name(), "name", &error);
  return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(UpdateCapacity));
}

grpc::ServerUnaryReactor* DirectoryService::BatchUpsertSpecialists(
    grpc::CallbackServerContext* ctx, const v1::BatchUpsertSpecialistsRequest* request,
    v1::BatchUpsertSpecialistsResponse* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // A batch is atomic in one registry; across regions it cannot be, so a
  // batch must stay within one region.
  const Backend* backend = nullptr;
  FieldViolations violations;
  grpc::Status error;
  for (int i = 0; i < request->specialists_size(); ++i) {
    const std::string field = absl::StrCat("specialists[", i, "].owning_authority");
    grpc::Status one_error;
    const Backend* b = BackendForAuthority(request->specialists(i).owning_authority(), field.c_str(), &one_error);
    if (!b) {
      if (error.ok()) error = one_error;
      continue;
    }
    if (backend == nullptr) {
      backend = b;
    } else if (b != backend) {
      violations.Add(field, absl::StrCat("is in ", b->region->resource_name(), " but the batch started in ",
                                         backend->region->resource_name(),
                                         ": a batch is atomic, so send one batch per region"));
    }
  }
  if (!error.ok()) {
    reactor->Finish(error);
    return reactor;
  }
  if (absl::Status s = violations.ToStatus(); !s.ok()) {
    reactor->Finish(Error(s));
    return reactor;
  }
  if (backend == nullptr) {
    reactor->Finish(Error(InvalidFieldError("specialists", "is empty")));
    return reactor;
  }
  auto routed = std::make_shared<v1::BatchUpsertSpecialistsRequest>(*request);
  routed->set_parent(backend->region->resource_name());
  std::shared_ptr<grpc::ClientContext> child = ChildContext(ctx, /*fan_out=*/false);
  const std::string region = backend->region->resource_name();
  backend->stub->async()->BatchUpsertSpecialists(
      child.get(), routed.get(), response,
      [reactor, child, routed, region](grpc::Status status) { reactor->Finish(FromRegion(region, status)); });
  return reactor;
}

grpc::ServerUnaryReactor* DirectoryService::GetCapacitySummary(grpc::CallbackServerContext* ctx,
                                                               const v1::GetCapacitySummaryRequest* request,
                                                               v1::CapacitySummary* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  if (request->parent() != "regions/-") {
    grpc::Status error;
    const Backend* backend = BackendForParent(request->parent(), "parent", &error);
    return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(GetCapacitySummary));
  }
  // DefaultReactor() constructs the reactor, so it is taken once, here.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto region_request = std::make_shared<v1::GetCapacitySummaryRequest>(
      RegionCapacityRequest(*request, clock_->Now()));
  std::vector<std::optional<v1::GetCapacitySummaryRequest>> requests(region_names_.size(), *region_request);
  FanOut<v1::GetCapacitySummaryRequest, v1::CapacitySummary>(
      ctx, "GetCapacitySummary", std::move(requests), EXPERTISE_ASYNC(GetCapacitySummary),
      [this, reactor, response, region_request](const grpc::Status& status,
                                                const std::vector<const v1::CapacitySummary*>& answers,
                                                const std::vector<grpc::Status>&) {
        if (!status.ok()) return reactor->Finish(status);
        *response = MergeCapacity(*region_request, region_names_, answers);
        if (response->unreachable_size() == static_cast<int>(answers.size())) {
          return reactor->Finish(Error(absl::UnavailableError("no region answered in time")));
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* DirectoryService::ListTaxonomyTerms(grpc::CallbackServerContext* ctx,
                                                              const v1::ListTaxonomyTermsRequest* request,
                                                              v1::ListTaxonomyTermsResponse* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  auto* reactor = ctx->DefaultReactor();
  *response = registry::ListTaxonomyTerms(ReferenceData::Get(), *request);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* DirectoryService::ListLocalAuthorities(
    grpc::CallbackServerContext* ctx, const v1::ListLocalAuthoritiesRequest* request,
    v1::ListLocalAuthoritiesResponse* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  auto* reactor = ctx->DefaultReactor();
  absl::StatusOr<v1::ListLocalAuthoritiesResponse> result =
      registry::ListLocalAuthorities(ReferenceData::Get(), *request);
  if (result.ok()) *response = *std::move(result);
  reactor->Finish(result.ok() ? grpc::Status::OK : Error(result.status()));
  return reactor;
}

grpc::ServerUnaryReactor* DirectoryService::ListRegions(grpc::CallbackServerContext* ctx,
                                                        const v1::ListRegionsRequest* /*request*/,
                                                        v1::ListRegionsResponse* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  auto* reactor = ctx->DefaultReactor();
  *response = registry::ListRegions(ReferenceData::Get());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* DirectoryService::GetImport(grpc::CallbackServerContext* ctx,
                                                      const v1::GetImportRequest* request,
                                                      v1::Import* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  grpc::Status error;
  const Backend* backend = BackendForName(request->name(), "name", &error);
  return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(GetImport));
}

grpc::ServerUnaryReactor* DirectoryService::ListImportRejects(grpc::CallbackServerContext* ctx,
                                                              const v1::ListImportRejectsRequest* request,
                                                              v1::ListImportRejectsResponse* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  grpc::Status error;
  const Backend* backend = BackendForName(request->parent(), "parent", &error);
  return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(ListImportRejects));
}

grpc::ServerUnaryReactor* DirectoryService::GetImportCursor(grpc::CallbackServerContext* ctx,
                                                            const v1::GetImportCursorRequest* request,
                                                            v1::ImportCursor* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  grpc::Status error;
  const Backend* backend = BackendForName(request->name(), "name", &error);
  return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(GetImportCursor));
}

grpc::ServerUnaryReactor* DirectoryService::GetRegionStatus(grpc::CallbackServerContext* ctx,
                                                            const v1::GetRegionStatusRequest* request,
                                                            v1::RegionStatus* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  grpc::Status error;
  const Backend* backend = BackendForName(request->name(), "name", &error);
  return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(GetRegionStatus));
}

grpc::ServerUnaryReactor* DirectoryService::ListRegionStatuses(grpc::CallbackServerContext* ctx,
                                                               const v1::ListRegionStatusesRequest* /*request*/,
                                                               v1::ListRegionStatusesResponse* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::vector<std::optional<v1::GetRegionStatusRequest>> requests;
  for (const std::string& region : region_names_) {
    v1::GetRegionStatusRequest request;
    request.set_name(region + "/status");
    requests.emplace_back(std::move(request));
  }
  // A region that fails is reported as UNREACHABLE: a status call reports,
  // it never fails.
  FanOut<v1::GetRegionStatusRequest, v1::RegionStatus>(
      ctx, "ListRegionStatuses", std::move(requests),
      EXPERTISE_ASYNC(GetRegionStatus),
      [this, reactor, response](const grpc::Status& status, const std::vector<const v1::RegionStatus*>& answers,
                                const std::vector<grpc::Status>& statuses) {
        if (!status.ok()) return reactor->Finish(status);
        for (size_t i = 0; i < answers.size(); ++i) {
          if (answers[i] != nullptr) {
            *response->add_region_statuses() = *answers[i];
            continue;
          }
          const RegionInfo* region = backends_[i]->region;
          v1::RegionStatus* out = response->add_region_statuses();
          out->set_name(region->resource_name() + "/status");
          out->set_region_code(region->code);
          out->set_region_display_name(region->name);
          out->set_state(v1::RegionStatus::UNREACHABLE);
          out->set_unreachable_reason(absl::StrCat(backends_[i]->target, ": ",
                                                   absl::StatusCodeToString(static_cast<absl::StatusCode>(
                                                       statuses[i].error_code())),
                                                   ": ", statuses[i].error_message()));
          out->set_authority_count(static_cast<int32_t>(region->authorities.size()));
          response->add_unreachable(region->resource_name());
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

// Proxies one import stream to the authority's region, one message at a
// time: a message read from the caller is written upstream, and only when
// that write is done is the next one read, so memory stays at one message
// however large the import. State changes happen under mu_; reactor
// operations are started after it is released, so a reaction the library
// runs inline can never deadlock on it.
class DirectoryService::ImportProxy final : public grpc::ServerReadReactor<v1::ImportSpecialistsRequest>,
                                            public grpc::ClientWriteReactor<v1::ImportSpecialistsRequest> {
  using Server = grpc::ServerReadReactor<v1::ImportSpecialistsRequest>;
  using Upstream = grpc::ClientWriteReactor<v1::ImportSpecialistsRequest>;

 public:
  ImportProxy(DirectoryService* service, grpc::CallbackServerContext* ctx, v1::Import* response)
      : service_(service), ctx_(ctx), response_(response) {
    const security::CallDecision decision = service->options_.gate->Decision(ctx);
    if (!decision.status.ok()) {
      finished_ = true;  // nothing is read, nothing goes upstream
      Server::Finish(Error(decision.status));
      return;
    }
    caller_ = ForwardedCaller(decision);
    Server::StartRead(&message_);
  }

  // Caller side: a message (or the end of the stream) arrived.
  void OnReadDone(bool ok) override {
    enum { kNothing, kFinish, kStartAndWrite, kWrite, kWritesDone } action = kNothing;
    grpc::Status error;
    const Backend* backend = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      if (!ok) {
        if (!upstream_started_) {
          error = Error(InvalidFieldError("header", "the stream ended before its header"));
          action = kFinish;
        } else if (!upstream_done_) {
          action = kWritesDone;
        }
      } else if (!upstream_started_) {
        if (!message_.has_header()) {
          error = Error(InvalidFieldError("header", "the first message must be the header"));
          action = kFinish;
        } else if (!(backend = service_->BackendForAuthority(message_.header().authority(), "header.authority",
                                                               &error))) {
          action = kFinish;
        } else {
          region_ = backend->region->resource_name();
          // Routed by authority; the region's registry wants its own name.
          message_.mutable_header()->set_parent(region_);
          upstream_context_ = grpc::ClientContext::FromCallbackServerContext(*ctx_);
          if (caller_) upstream_context_->AddMetadata(security::kOnBehalfOfKey, *caller_);
          upstream_started_ = true;
          action = kStartAndWrite;
        }
      } else if (!upstream_done_) {
        action = kWrite;
      }
      if (action == kFinish) finished_ = true;
    }
    switch (action) {
      case kFinish: Server::Finish(error); break;
      case kStartAndWrite:
        backend->stub->async()->ImportSpecialists(upstream_context_.get(), response_, this);
        // Held until no further upstream operation will start, so the
        // upstream call cannot end (and free its stream) between our
        // decision to write and the write itself.
        Upstream::AddHold();
        Upstream::StartWrite(&message_);
        Upstream::StartCall();
        break;
      case kWrite: Upstream::StartWrite(&message_); break;
      case kWritesDone:
        Upstream::StartWritesDone();
        ReleaseUpstream();
        break;
      case kNothing: break;
    }
  }

  void OnCancel() override {
    grpc::ClientContext* upstream = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      upstream = upstream_context_.get();
    }
    if (upstream) upstream->TryCancel();
  }

  void OnDone() override {
    bool last;
    {
      std::lock_guard<std::mutex> lock(mu_);
      server_done_ = true;
      last = !upstream_started_ || upstream_done_;
    }
    if (last) delete this;
  }

  // Upstream side: a write went out. Not ok: the registry ended the call,
  // and its OnDone brings the status.
  void OnWriteDone(bool ok) override {
    if (!ok) {
      ReleaseUpstream();  // nothing more will be written
      return;
    }
    Server::StartRead(&message_);
  }

  void OnDone(const grpc::Status& status) override {
    bool finish, last;
    {
      std::lock_guard<std::mutex> lock(mu_);
      upstream_done_ = true;
      finish = !finished_;
      finished_ = true;
      last = server_done_;
    }
    if (finish) Server::Finish(FromRegion(region_, status));
    if (last) delete this;
  }

 private:
  // Lets the upstream call end, once.
  void ReleaseUpstream() {
    if (!hold_released_.exchange(true)) Upstream::RemoveHold();
  }

  DirectoryService* const service_;
  grpc::CallbackServerContext* const ctx_;
  v1::Import* const response_;
  std::atomic<bool> hold_released_{false};
  std::mutex mu_;
  // One message in flight: read from the caller, then written upstream.
  v1::ImportSpecialistsRequest message_;
  std::unique_ptr<grpc::ClientContext> upstream_context_;  // set once, under mu_
  std::string region_;                                      // set once, before the upstream starts
  std::optional<std::string> caller_;                       // set in the constructor
  bool upstream_started_ = false;  // guarded by mu_
  bool upstream_done_ = false;     // guarded by mu_
  bool finished_ = false;          // guarded by mu_: Finish was called
  bool server_done_ = false;       // guarded by mu_
};

grpc::ServerUnaryReactor* DirectoryService::ListAuditRecords(grpc::CallbackServerContext* ctx,
                                                             const v1::ListAuditRecordsRequest* request,
                                                             v1::ListAuditRecordsResponse* response) {
  EXPERTISE_REFUSE_IF_DENIED(ctx);
  const security::CallDecision decision = options_.gate->Decision(ctx);
  if (decision.caller && decision.caller->kind == security::PrincipalKind::kAdministrator) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(Error(absl::PermissionDeniedError(
        "administrators read a region's audit trail from its registry directly; the directory "
        "does not forward an administrator's rights")));
    return reactor;
  }
  grpc::Status error;
  const Backend* backend = BackendForParent(request->parent(), "parent", &error);
  return Route(ctx, backend, error, request, response, EXPERTISE_ASYNC(ListAuditRecords));
}

grpc::ServerReadReactor<v1::ImportSpecialistsRequest>* DirectoryService::ImportSpecialists(
    grpc::CallbackServerContext* ctx, v1::Import* response) {
  return new ImportProxy(this, ctx, response);
}

}  // namespace expertise::directory
