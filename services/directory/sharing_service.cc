#include "services/common/fnv.h"
#include "services/directory/sharing_service.h"

#include <algorithm>
#include <deque>
#include <map>

#include <grpcpp/alarm.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/blocking_counter.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/rpc/grpc_status.h"
#include "services/common/logging.h"
#include "services/common/mutex.h"
#include "services/directory/watch_merge.h"
#include "services/registry/page_token.h"
#include "services/registry/resource_model.h"
#include "services/sharing/lifecycle.h"
#include "services/sharing/matching.h"
#include "services/sharing/reports.h"

namespace expertise::directory {

namespace v1 = ::expertise::registry::v1;

namespace {

// Requests a region holds at most, for a national listing gathered whole.
constexpr int kMaxListedPerRegion = 20000;

}  // namespace

DirectorySharingService::DirectorySharingService(const DirectoryService* directory, size_t threads)
    : directory_(directory), executor_(threads, 4096) {}

DirectorySharingService::~DirectorySharingService() = default;

grpc::ServerUnaryReactor* DirectorySharingService::Run(grpc::CallbackServerContext* ctx,
                                                       std::function<grpc::Status()> work) {
  if (grpc::ServerUnaryReactor* refused = directory_->RefuseIfDenied(ctx)) return refused;
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool queued = executor_.Submit([reactor, work = std::move(work)]() { reactor->Finish(work()); });
  if (!queued) {
    reactor->Finish(Error(absl::ResourceExhaustedError("the directory is overloaded; retry with backoff")));
  }
  return reactor;
}

const DirectorySharingService::Backend* DirectorySharingService::ForName(const std::string& name,
                                                                          const char* field,
                                                                          grpc::Status* error) const {
  return directory_->BackendForName(name, field, error);
}

const DirectorySharingService::Backend* DirectorySharingService::ForParent(const std::string& parent,
                                                                            const char* field,
                                                                            grpc::Status* error) const {
  return directory_->BackendForParent(parent, field, error);
}

std::unique_ptr<grpc::ClientContext> DirectorySharingService::Child(grpc::CallbackServerContext* ctx,
                                                                    bool fan_out) const {
  std::unique_ptr<grpc::ClientContext> child = directory_->ChildContext(ctx, fan_out);
  // These steps block an executor thread: never wait on a hung registry
  // for longer than a step may take, even when the caller set no deadline.
  const auto cap = std::chrono::system_clock::now() + std::chrono::seconds(30);
  if (child->deadline() > cap) child->set_deadline(cap);
  return child;
}

grpc::Status DirectorySharingService::Resolve(grpc::CallbackServerContext* ctx, std::string* name) const {
  constexpr absl::string_view kAnyRegion = "regions/-/supportRequests/";
  if (!absl::StartsWith(*name, kAnyRegion)) return grpc::Status::OK;
  const std::string id = name->substr(kAnyRegion.size());
  std::vector<v1::SupportRequest> answers;
  std::vector<grpc::Status> statuses;
  FanOut(ctx,
         [&](const Backend& b, grpc::ClientContext* c, v1::SupportRequest* out,
             std::function<void(grpc::Status)> done) {
           auto get = std::make_shared<v1::GetSupportRequestRequest>();
           get->set_name(absl::StrCat(b.region->resource_name(), "/supportRequests/", id));
           b.sharing->async()->GetSupportRequest(
               c, get.get(), out, [get, done = std::move(done)](grpc::Status s) { done(std::move(s)); });
         },
         &answers, &statuses);
  bool all_answered = true;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (statuses[i].ok()) {
      *name = answers[i].name();
      return grpc::Status::OK;
    }
    const grpc::StatusCode code = statuses[i].error_code();
    if (code == grpc::StatusCode::INVALID_ARGUMENT || code == grpc::StatusCode::PERMISSION_DENIED ||
        code == grpc::StatusCode::UNAUTHENTICATED) {
      return statuses[i];  // the caller's to fix, the same everywhere
    }
    if (code != grpc::StatusCode::NOT_FOUND) all_answered = false;
  }
  // Ids are unique across regions; "not found" is certain only when every
  // region said so.
  return all_answered ? Error(absl::NotFoundError(absl::StrCat(*name, " does not exist")))
                      : Error(absl::UnavailableError(absl::StrCat(
                            *name, " was not found in the regions that answered; some did not")));
}

template <typename Response, typename Call>
void DirectorySharingService::FanOut(grpc::CallbackServerContext* ctx, Call call,
                                     std::vector<Response>* responses,
                                     std::vector<grpc::Status>* statuses) const {
  const size_t n = directory_->backends_.size();
  responses->assign(n, Response());
  statuses->assign(n, grpc::Status());
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  absl::BlockingCounter pending(static_cast<int>(n));
  for (size_t i = 0; i < n; ++i) {
    contexts.push_back(Child(ctx, /*fan_out=*/true));
    call(*directory_->backends_[i], contexts.back().get(), &(*responses)[i],
         [&pending, statuses, i](grpc::Status status) {
           (*statuses)[i] = std::move(status);
           pending.DecrementCount();
         });
  }
  pending.Wait();
}

#define EXPERTISE_SYNC(backend, method, context, request, response) \
  FromRegion((backend)->region->resource_name(),                   \
             (backend)->sharing->method((context), (request), (response)))

// ---------------------------------------------------------------------------
// Routed to one region.

grpc::ServerUnaryReactor* DirectorySharingService::CreateSupportRequest(
    grpc::CallbackServerContext* ctx, const v1::CreateSupportRequestRequest* request,
    v1::SupportRequest* response) {
  return Run(ctx, [=, this]() {
    grpc::Status error;
    const Backend* backend = ForParent(request->parent(), "parent", &error);
    if (!backend) return error;
    return EXPERTISE_SYNC(backend, CreateSupportRequest, Child(ctx, false).get(), *request, response);
  });
}

grpc::ServerUnaryReactor* DirectorySharingService::GetSupportRequest(
    grpc::CallbackServerContext* ctx, const v1::GetSupportRequestRequest* request,
    v1::SupportRequest* response) {
  return Run(ctx, [=, this]() {
    auto req = std::make_shared<v1::GetSupportRequestRequest>(*request);
    if (grpc::Status found = Resolve(ctx, req->mutable_name()); !found.ok()) return found;
    grpc::Status error;
    const Backend* backend = ForName(req->name(), "name", &error);
    if (!backend) return error;
    return EXPERTISE_SYNC(backend, GetSupportRequest, Child(ctx, false).get(), *req, response);
  });
}

grpc::ServerUnaryReactor* DirectorySharingService::CreateCapacityCommitment(
    grpc::CallbackServerContext* ctx, const v1::CreateCapacityCommitmentRequest* request,
    v1::CapacityCommitment* response) {
  return Run(ctx, [=, this]() {
    grpc::Status error;
    const Backend* backend = ForName(request->parent(), "parent", &error);
    if (!backend) return error;
    return EXPERTISE_SYNC(backend, CreateCapacityCommitment, Child(ctx, false).get(), *request, response);
  });
}

grpc::ServerUnaryReactor* DirectorySharingService::ConfirmCapacityCommitment(
    grpc::CallbackServerContext* ctx, const v1::ConfirmCapacityCommitmentRequest* /*request*/,
    v1::CapacityCommitment* /*response*/) {
  // Hours are committed only as the first step of an acceptance
  // (AcceptOffer), never on their own: a requester could otherwise hold
  // several providers' hours without accepting any.
  return Run(ctx, []() {
    return Error(WithReason(absl::FailedPreconditionError(
                                "commitments are confirmed by accepting the offer (AcceptOffer)"),
                            reasons::kUseAcceptOffer));
  });
}

grpc::ServerUnaryReactor* DirectorySharingService::ReleaseCapacityCommitment(
    grpc::CallbackServerContext* ctx, const v1::ReleaseCapacityCommitmentRequest* request,
    v1::CapacityCommitment* response) {
  return Run(ctx, [=, this]() {
    grpc::Status error;
    const Backend* backend = ForName(request->name(), "name", &error);
    if (!backend) return error;
    return EXPERTISE_SYNC(backend, ReleaseCapacityCommitment, Child(ctx, false).get(), *request, response);
  });
}

// ---------------------------------------------------------------------------
// Spanning two regions.

grpc::ServerUnaryReactor* DirectorySharingService::OfferSupport(
    grpc::CallbackServerContext* ctx, const v1::OfferSupportRequest* request,
    v1::SupportRequest* response) {
  return Run(ctx, [=, this]() {
    auto req = std::make_shared<v1::OfferSupportRequest>(*request);
    if (grpc::Status found = Resolve(ctx, req->mutable_name()); !found.ok()) return found;
    grpc::Status error;
    const Backend* requester = ForName(req->name(), "name", &error);
    if (!requester) return error;
    const Backend* provider = ForName(req->offer().specialist(), "offer.specialist", &error);
    if (!provider) return error;
    v1::GetSupportRequestRequest get;
    get.set_name(req->name());
    v1::SupportRequest need;
    grpc::Status status = EXPERTISE_SYNC(requester, GetSupportRequest, Child(ctx, false).get(), get, &need);
    if (!status.ok()) return status;
    v1::GetSpecialistRequest get_specialist;
    get_specialist.set_name(req->offer().specialist());
    v1::Specialist specialist;
    status = FromRegion(provider->region->resource_name(),
                        provider->stub->GetSpecialist(Child(ctx, false).get(), get_specialist, &specialist));
    if (!status.ok()) return status;

    v1::CreateCapacityCommitmentRequest create;
    create.set_parent(specialist.name());
    v1::CapacityCommitment* c = create.mutable_commitment();
    c->set_support_request(need.name());
    c->set_requesting_authority(need.requesting_authority());
    c->set_hours_per_week(req->offer().hours_per_week() > 0 ? req->offer().hours_per_week()
                                                                : need.hours_per_week());
    *c->mutable_start_date() = need.start_date();
    *c->mutable_end_date() = sharing::PeriodEnd(need.start_date(), need.weeks());
    // A retry finds the same commitment: the id counts only the earlier,
    // closed offers of this specialist, so a new offer after one was
    // declined or withdrawn gets a new commitment.
    int closed = 0;
    for (const v1::SupportOffer& o : need.offers()) {
      if (o.specialist() != specialist.name()) continue;
      if (o.state() != v1::SupportOffer::CLOSED) {
        *response = need;  // already offered and still open: a retry
        return grpc::Status::OK;
      }
      ++closed;
    }
    create.set_request_id(req->request_id().empty()
                              ? absl::StrFormat("offer-%016x-%d", Fnv1a64(specialist.name()), closed)
                              : req->request_id());
    v1::CapacityCommitment commitment;
    status = EXPERTISE_SYNC(provider, CreateCapacityCommitment, Child(ctx, false).get(), create, &commitment);
    if (!status.ok()) return status;

    v1::OfferSupportRequest offer = *req;
    offer.set_commitment(commitment.name());
    offer.mutable_offer()->set_specialist(specialist.name());
    offer.mutable_offer()->set_provider_authority(specialist.owning_authority());
    offer.mutable_offer()->set_hours_per_week(commitment.hours_per_week());
    return EXPERTISE_SYNC(requester, OfferSupport, Child(ctx, false).get(), offer, response);
  });
}

grpc::ServerUnaryReactor* DirectorySharingService::AcceptOffer(
    grpc::CallbackServerContext* ctx, const v1::AcceptOfferRequest* request,
    v1::SupportRequest* response) {
  return Run(ctx, [=, this]() {
    auto req = std::make_shared<v1::AcceptOfferRequest>(*request);
    if (grpc::Status found = Resolve(ctx, req->mutable_name()); !found.ok()) return found;
    grpc::Status error;
    const Backend* requester = ForName(req->name(), "name", &error);
    if (!requester) return error;
    if (req->request_id().empty()) {
      return Error(InvalidFieldError("request_id", "is required: a retry with the same id is then safe"));
    }
    v1::GetSupportRequestRequest get;
    get.set_name(req->name());
    v1::SupportRequest need;
    grpc::Status status = EXPERTISE_SYNC(requester, GetSupportRequest, Child(ctx, false).get(), get, &need);
    if (!status.ok()) return status;
    const v1::SupportOffer* offer = nullptr;
    for (const v1::SupportOffer& o : need.offers()) {
      if (o.offer_id() == req->offer_id()) offer = &o;
    }
    if (offer == nullptr) {
      return Error(WithReason(
          absl::NotFoundError(absl::StrCat(req->name(), " has no offer ", req->offer_id())),
          reasons::kOfferNotFound));
    }
    {
      const Backend* provider = ForName(offer->commitment(), "offer_id", &error);
      if (!provider) return error;
      if (provider != requester) {
        // The race is decided here, atomically, in the provider's region.
        v1::ConfirmCapacityCommitmentRequest confirm;
        confirm.set_name(offer->commitment());
        confirm.set_request_id(req->request_id());
        confirm.set_support_request(req->name());
        v1::CapacityCommitment committed;
        status = EXPERTISE_SYNC(provider, ConfirmCapacityCommitment, Child(ctx, false).get(), confirm,
                                &committed);
        if (!status.ok()) return status;
        v1::AcceptOfferRequest accept = *req;
        accept.set_confirmed_commitment(committed.name());
        status = EXPERTISE_SYNC(requester, AcceptOffer, Child(ctx, false).get(), accept, response);
        const grpc::StatusCode code = status.error_code();
        if (code == grpc::StatusCode::FAILED_PRECONDITION || code == grpc::StatusCode::NOT_FOUND ||
            code == grpc::StatusCode::PERMISSION_DENIED || code == grpc::StatusCode::INVALID_ARGUMENT) {
          // The requester's region refused for good (another offer of the
          // request won, say): the hours just committed go back. Any other
          // failure leaves the outcome unknown, and a retry completes it.
          v1::ReleaseCapacityCommitmentRequest release;
          release.set_name(offer->commitment());
          v1::CapacityCommitment released;
          grpc::Status undone = EXPERTISE_SYNC(provider, ReleaseCapacityCommitment,
                                               Child(ctx, false).get(), release, &released);
          if (!undone.ok()) {
            LogEvent(*GetLogger("directory"), spdlog::level::err, "release_after_refusal_failed",
                     {{"commitment", offer->commitment()}, {"error", undone.error_message()}});
          }
        }
        return status;
      }
    }
    // Same region: the registry confirms and records in one call.
    return EXPERTISE_SYNC(requester, AcceptOffer, Child(ctx, false).get(), *req, response);
  });
}

namespace {

// Every commitment of the request's offers in other regions, and whether it
// is to be completed (the accepted one, when the work is done) rather than
// released. Releasing is idempotent, so a retried step settles them all
// again, whatever the request's state is by then.
std::vector<std::pair<std::string, bool>> RemoteCommitments(const v1::SupportRequest& request,
                                                            const std::string& region,
                                                            bool complete_accepted) {
  std::vector<std::pair<std::string, bool>> out;
  for (const v1::SupportOffer& o : request.offers()) {
    if (absl::StartsWith(o.commitment(), region + "/")) continue;
    out.emplace_back(o.commitment(), complete_accepted && o.offer_id() == request.accepted_offer_id());
  }
  return out;
}

}  // namespace

// Shared by decline, withdraw and complete: the request changes first (in
// its region, which settles local commitments itself), then commitments in
// other regions are released. A failed release is reported; retrying the
// call is safe (the request's change and the release are both idempotent
// or refused as already done).
#define EXPERTISE_SETTLE(Method, Request, complete_accepted)                                       \
  grpc::ServerUnaryReactor* DirectorySharingService::Method(                                        \
      grpc::CallbackServerContext* ctx, const v1::Request* request, v1::SupportRequest* response) { \
    return Run(ctx, [=, this]() {                                                                   \
      auto req = std::make_shared<v1::Request>(*request);                                           \
      if (grpc::Status found = Resolve(ctx, req->mutable_name()); !found.ok()) return found;        \
      grpc::Status error;                                                                           \
      const Backend* requester = ForName(req->name(), "name", &error);                              \
      if (!requester) return error;                                                                 \
      grpc::Status status =                                                                         \
          EXPERTISE_SYNC(requester, Method, Child(ctx, false).get(), *req, response);               \
      if (!status.ok()) return status;                                                              \
      for (const auto& [name, completed] : RemoteCommitments(                                       \
               *response, requester->region->resource_name(), complete_accepted)) {                 \
        const Backend* provider = ForName(name, "commitment", &error);                              \
        if (!provider) return error;                                                                \
        v1::ReleaseCapacityCommitmentRequest release;                                               \
        release.set_name(name);                                                                     \
        release.set_completed(completed);                                                           \
        v1::CapacityCommitment released;                                                            \
        status = EXPERTISE_SYNC(provider, ReleaseCapacityCommitment, Child(ctx, false).get(),       \
                                release, &released);                                                \
        if (!status.ok()) return status;                                                            \
      }                                                                                             \
      return grpc::Status::OK;                                                                      \
    });                                                                                             \
  }

EXPERTISE_SETTLE(DeclineOffers, DeclineOffersRequest, false)
EXPERTISE_SETTLE(WithdrawSupportRequest, WithdrawSupportRequestRequest, false)
EXPERTISE_SETTLE(CompleteSupportRequest, CompleteSupportRequestRequest, true)
EXPERTISE_SETTLE(EscalateSupportRequest, EscalateSupportRequestRequest, false)

#undef EXPERTISE_SETTLE

// ---------------------------------------------------------------------------
// Across all regions.

grpc::ServerUnaryReactor* DirectorySharingService::ListSupportRequests(
    grpc::CallbackServerContext* ctx, const v1::ListSupportRequestsRequest* request,
    v1::ListSupportRequestsResponse* response) {
  return Run(ctx, [=, this]() {
    if (request->parent() != "regions/-") {
      grpc::Status error;
      const Backend* backend = ForParent(request->parent(), "parent", &error);
      if (!backend) return error;
      return EXPERTISE_SYNC(backend, ListSupportRequests, Child(ctx, false).get(), *request, response);
    }
    if (request->page_size() < 0) return Error(InvalidFieldError("page_size", "must not be negative"));
    if (!request->page_token().empty() && !registry::DecodePageToken(request->page_token()).ok()) {
      return Error(InvalidFieldError("page_token", "is not a token from this listing with these filters"));
    }
    // Requests are few (a region's open business), so each region's whole
    // list is gathered and merged oldest first.
    std::vector<v1::SupportRequest> all;
    for (const auto& backend : directory_->backends_) {
      v1::ListSupportRequestsRequest one = *request;
      one.set_parent(backend->region->resource_name());
      one.set_page_size(1000);
      one.clear_page_token();
      int gathered = 0;
      do {
        v1::ListSupportRequestsResponse page;
        grpc::Status status = EXPERTISE_SYNC(backend.get(), ListSupportRequests,
                                             Child(ctx, true).get(), one, &page);
        if (!status.ok()) {
          if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
              status.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
              status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
            return status;  // the caller's problem, not the region's
          }
          response->add_unreachable(backend->region->resource_name());
          break;
        }
        gathered += page.support_requests_size();
        for (auto& r : *page.mutable_support_requests()) all.push_back(std::move(r));
        one.set_page_token(page.next_page_token());
      } while (!one.page_token().empty() && gathered < kMaxListedPerRegion);
      if (!one.page_token().empty()) {
        // More than a national listing gathers whole: say the region's list
        // is incomplete rather than pretend it is not.
        response->add_unreachable(backend->region->resource_name());
      }
    }
    const int page_size = request->page_size() == 0 ? 50 : std::min(request->page_size(), 1000);
    absl::StatusOr<v1::ListSupportRequestsResponse> page =
        registry::PageSupportRequests(std::move(all), *request, page_size);
    if (!page.ok()) return Error(page.status());
    page->mutable_unreachable()->Swap(response->mutable_unreachable());
    *response = *std::move(page);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* DirectorySharingService::SuggestProviders(
    grpc::CallbackServerContext* ctx, const v1::SuggestProvidersRequest* request,
    v1::SuggestProvidersResponse* response) {
  return Run(ctx, [=, this]() {
    auto req = std::make_shared<v1::SuggestProvidersRequest>(*request);
    if (grpc::Status found = Resolve(ctx, req->mutable_name()); !found.ok()) return found;
    grpc::Status error;
    const Backend* requester = ForName(req->name(), "name", &error);
    if (!requester) return error;
    if (req->max_suggestions() < 0) {
      return Error(InvalidFieldError("max_suggestions", "must not be negative"));
    }
    v1::GetSupportRequestRequest get;
    get.set_name(req->name());
    v1::SupportRequest need;
    grpc::Status status = EXPERTISE_SYNC(requester, GetSupportRequest, Child(ctx, false).get(), get, &need);
    if (!status.ok()) return status;
    v1::SuggestProvidersRequest one = *req;
    *one.mutable_support_request() = need;
    std::vector<v1::SuggestProvidersResponse> answers;
    std::vector<grpc::Status> statuses;
    FanOut(ctx,
           [&](const Backend& b, grpc::ClientContext* c, v1::SuggestProvidersResponse* out,
               std::function<void(grpc::Status)> done) {
             b.sharing->async()->SuggestProviders(c, &one, out, std::move(done));
           },
           &answers, &statuses);
    std::vector<v1::ProviderSuggestion> merged;
    for (size_t i = 0; i < answers.size(); ++i) {
      if (!statuses[i].ok()) {
        response->add_unreachable(directory_->backends_[i]->region->resource_name());
        continue;
      }
      for (auto& s : *answers[i].mutable_suggestions()) merged.push_back(std::move(s));
    }
    sharing::RankSuggestions(&merged);
    const int limit = req->max_suggestions() == 0 ? 10 : std::min(req->max_suggestions(), 100);
    if (static_cast<int>(merged.size()) > limit) merged.resize(limit);
    for (auto& s : merged) *response->add_suggestions() = std::move(s);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* DirectorySharingService::GetUnmetNeedReport(
    grpc::CallbackServerContext* ctx, const v1::GetUnmetNeedReportRequest* request,
    v1::UnmetNeedReport* response) {
  return Run(ctx, [=, this]() {
    if (request->parent() != "regions/-") {
      grpc::Status error;
      const Backend* backend = ForParent(request->parent(), "parent", &error);
      if (!backend) return error;
      return EXPERTISE_SYNC(backend, GetUnmetNeedReport, Child(ctx, false).get(), *request, response);
    }
    std::vector<v1::UnmetNeedReport> answers;
    std::vector<grpc::Status> statuses;
    FanOut(ctx,
           [&](const Backend& b, grpc::ClientContext* c, v1::UnmetNeedReport* out,
               std::function<void(grpc::Status)> done) {
             auto one = std::make_shared<v1::GetUnmetNeedReportRequest>(*request);
             one->set_parent(b.region->resource_name());
             b.sharing->async()->GetUnmetNeedReport(
                 c, one.get(), out, [one, done = std::move(done)](grpc::Status s) { done(std::move(s)); });
           },
           &answers, &statuses);
    std::vector<v1::SupportRequest> unmet;
    std::vector<std::string> unreachable;
    for (size_t i = 0; i < answers.size(); ++i) {
      if (!statuses[i].ok()) {
        if (statuses[i].error_code() == grpc::StatusCode::PERMISSION_DENIED ||
            statuses[i].error_code() == grpc::StatusCode::UNAUTHENTICATED) {
          return statuses[i];
        }
        unreachable.push_back(directory_->backends_[i]->region->resource_name());
        continue;
      }
      for (auto& r : *answers[i].mutable_requests()) unmet.push_back(std::move(r));
    }
    *response = sharing::BuildUnmetNeedReport(std::move(unmet), absl::Now());
    for (auto& u : unreachable) response->add_unreachable(u);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* DirectorySharingService::GetEquityReport(
    grpc::CallbackServerContext* ctx, const v1::GetEquityReportRequest* request,
    v1::EquityReport* response) {
  return Run(ctx, [=, this]() {
    if (request->parent() != "regions/-") {
      grpc::Status error;
      const Backend* backend = ForParent(request->parent(), "parent", &error);
      if (!backend) return error;
      return EXPERTISE_SYNC(backend, GetEquityReport, Child(ctx, false).get(), *request, response);
    }
    std::vector<v1::EquityReport> answers;
    std::vector<grpc::Status> statuses;
    FanOut(ctx,
           [&](const Backend& b, grpc::ClientContext* c, v1::EquityReport* out,
               std::function<void(grpc::Status)> done) {
             auto one = std::make_shared<v1::GetEquityReportRequest>(*request);
             one->set_parent(b.region->resource_name());
             b.sharing->async()->GetEquityReport(
                 c, one.get(), out, [one, done = std::move(done)](grpc::Status s) { done(std::move(s)); });
           },
           &answers, &statuses);
    std::vector<v1::NearestSpecialist> nearest;
    std::vector<std::string> answered_regions;
    for (size_t i = 0; i < answers.size(); ++i) {
      if (!statuses[i].ok()) {
        // Invalid arguments are the same everywhere: the caller's to fix.
        if (statuses[i].error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
            statuses[i].error_code() == grpc::StatusCode::PERMISSION_DENIED ||
            statuses[i].error_code() == grpc::StatusCode::UNAUTHENTICATED) {
          return statuses[i];
        }
        response->add_unreachable(directory_->backends_[i]->region->resource_name());
        continue;
      }
      answered_regions.push_back(directory_->backends_[i]->region->code);
      response->set_within_km(answers[i].within_km());
      for (auto& row : *answers[i].mutable_rows()) *response->add_rows() = std::move(row);
      for (auto& point : *answers[i].mutable_trend()) *response->add_trend() = std::move(point);
      sharing::MergeNearest(&nearest, {answers[i].nearest().begin(), answers[i].nearest().end()});
    }
    // Gaps are recomputed over every answering region's specialists: the
    // nearest specialist to an authority may work across a regional border.
    // Authorities of unreachable regions are left out rather than reported
    // as gaps.
    const std::vector<std::string> roles(request->roles().begin(), request->roles().end());
    const double within_km = response->within_km() > 0 ? response->within_km() : 30;
    for (v1::CoverageGap& gap :
         sharing::CoverageGaps(nearest, ReferenceData::Get(), roles, within_km, answered_regions)) {
      *response->add_gaps() = std::move(gap);
    }
    for (auto& n : nearest) *response->add_nearest() = std::move(n);
    return grpc::Status::OK;
  });
}

#undef EXPERTISE_SYNC

namespace {

// How long a broken region stream waits before it is opened again (doubling
// from the first, up to the last).
constexpr absl::Duration kFirstRetry = absl::Milliseconds(500);
constexpr absl::Duration kLastRetry = absl::Seconds(30);

}  // namespace

// One merged watch: a stream from every region named, each read one update
// at a time and read again only once that update is written to the client.
// The registries coalesce for a slow reader, so this reactor holds about
// one update per region: its memory does not grow with the rate of change.
// A region whose stream breaks is opened again with its own resume token
// after a back-off, while the others go on. Deletes itself when the client's
// call is done and no upstream stream or retry timer is left.
class DirectorySharingService::MergedWatch final
    : public grpc::ServerWriteReactor<v1::CapacityUpdate> {
 public:
  MergedWatch(const DirectorySharingService* service, grpc::CallbackServerContext* ctx,
              v1::WatchCapacityRequest request, std::vector<const Backend*> backends)
      : service_(service), ctx_(ctx), request_(std::move(request)), backends_(std::move(backends)) {
    std::map<std::string, std::string> tokens = DecodeMergedToken(request_.resume_token());
    regions_.resize(backends_.size());
    for (size_t i = 0; i < backends_.size(); ++i) {
      regions_[i].token = tokens[backends_[i]->region->id];
      regions_[i].retry_after = kFirstRetry;
    }
  }

  void Start() {
    MutexLock lock(&mu_);
    for (size_t i = 0; i < regions_.size(); ++i) OpenLocked(i);
  }

 private:
  struct Upstream final : grpc::ClientReadReactor<v1::CapacityUpdate> {
    MergedWatch* watch;
    size_t index;
    std::unique_ptr<grpc::ClientContext> context;
    v1::WatchCapacityRequest request;
    v1::CapacityUpdate incoming;
    bool reading = false;  // a read is outstanding; guarded by the watch's mu_

    void OnReadDone(bool ok) override {
      if (ok) watch->Received(index, this);
      // !ok: the stream is over; OnDone follows with its status.
    }
    void OnDone(const grpc::Status& status) override {
      watch->Closed(index, status);
      delete this;
    }
  };

  struct Region {
    Upstream* stream = nullptr;   // open stream, owned by gRPC until its OnDone
    std::string token;            // last resume token delivered to the client
    bool snapshot_done = false;
    bool retry_pending = false;
    absl::Duration retry_after;
    std::unique_ptr<grpc::Alarm> alarm;
  };
  struct Queued {
    size_t region;
    v1::CapacityUpdate update;
  };

  void OpenLocked(size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto* upstream = new Upstream();
    upstream->watch = this;
    upstream->index = i;
    upstream->context = service_->directory_->ChildContext(ctx_, /*fan_out=*/false);  // no cap: a stream
    upstream->request = request_;
    upstream->request.set_parent(backends_[i]->region->resource_name());
    upstream->request.set_resume_token(regions_[i].token);
    regions_[i].stream = upstream;
    backends_[i]->sharing->async()->WatchCapacity(upstream->context.get(), &upstream->request, upstream);
    upstream->reading = true;
    upstream->StartRead(&upstream->incoming);
    upstream->StartCall();
  }

  void Received(size_t i, Upstream* upstream) {
    MutexLock lock(&mu_);
    upstream->reading = false;
    regions_[i].retry_after = kFirstRetry;  // it answers again
    queue_.push_back({i, upstream->incoming});
    if (!writing_) WriteNextLocked();
  }

  void Closed(size_t i, const grpc::Status& status) {
    bool remove = false;
    {
      MutexLock lock(&mu_);
      regions_[i].stream = nullptr;
      const grpc::StatusCode code = status.error_code();
      if (!finished_ && (code == grpc::StatusCode::PERMISSION_DENIED ||
                         code == grpc::StatusCode::UNAUTHENTICATED ||
                         code == grpc::StatusCode::INVALID_ARGUMENT)) {
        // The caller's problem, the same in every region: say so and stop.
        FinishLocked(FromRegion(backends_[i]->region->resource_name(), status));
      } else if (!finished_) {
        LogEvent(*GetLogger("directory"), spdlog::level::warn, "watch_region_lost",
                 {{"region", backends_[i]->region->resource_name()},
                  {"code", static_cast<int>(code)},
                  {"retry_ms", absl::ToInt64Milliseconds(regions_[i].retry_after)}});
        Region& region = regions_[i];
        region.retry_pending = true;
        region.alarm = std::make_unique<grpc::Alarm>();
        region.alarm->Set(std::chrono::system_clock::now() +
                              absl::ToChronoMilliseconds(region.retry_after),
                          [this, i](bool fired) { Retry(i, fired); });
        region.retry_after = std::min(region.retry_after * 2, kLastRetry);
      }
      remove = DoneLocked();
    }
    if (remove) delete this;
  }

  void Retry(size_t i, bool fired) {
    bool remove = false;
    {
      MutexLock lock(&mu_);
      regions_[i].retry_pending = false;
      if (fired && !finished_) OpenLocked(i);
      remove = DoneLocked();
    }
    if (remove) delete this;
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (!queue_.empty() && !finished_) {
      Queued next = std::move(queue_.front());
      queue_.pop_front();
      Region& region = regions_[next.region];
      v1::CapacityUpdate& update = next.update;
      if (!update.resume_token().empty()) region.token = update.resume_token();
      update.set_resume_token(EncodeMergedToken(Tokens()));
      if (update.snapshot_end()) {
        const bool first = !region.snapshot_done;
        region.snapshot_done = true;
        // The merged snapshot ends once every region's has.
        const bool all = std::all_of(regions_.begin(), regions_.end(),
                                     [](const Region& r) { return r.snapshot_done; });
        update.set_snapshot_end(all && first);
        if (update.specialist().empty() && !update.snapshot_end()) {
          // An empty region's end marker, not the merged end: nothing to send.
          ReadAgainLocked(next.region);
          continue;
        }
      }
      current_ = std::move(update);
      current_region_ = next.region;
      writing_ = true;
      StartWrite(&current_);
      return;
    }
  }

  std::map<std::string, std::string> Tokens() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::map<std::string, std::string> tokens;
    for (size_t i = 0; i < regions_.size(); ++i) tokens[backends_[i]->region->id] = regions_[i].token;
    return tokens;
  }

  void ReadAgainLocked(size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // A stream opened again since has its own read outstanding.
    Upstream* stream = regions_[i].stream;
    if (stream && !stream->reading) {
      stream->reading = true;
      stream->StartRead(&stream->incoming);
    }
  }

  void OnWriteDone(bool ok) override {
    MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the stream broke"));
      return;
    }
    ReadAgainLocked(current_region_);
    WriteNextLocked();
  }

  void OnCancel() override {
    MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watch was cancelled"));
  }

  void OnDone() override {
    bool remove;
    {
      MutexLock lock(&mu_);
      server_done_ = true;
      remove = DoneLocked();
    }
    if (remove) delete this;
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
    for (Region& region : regions_) {
      if (region.stream) region.stream->context->TryCancel();
      if (region.alarm) region.alarm->Cancel();  // its callback runs with fired=false
    }
  }

  bool DoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!server_done_) return false;
    for (const Region& region : regions_) {
      if (region.stream || region.retry_pending) return false;
    }
    return true;
  }

  const DirectorySharingService* const service_;
  grpc::CallbackServerContext* const ctx_;
  const v1::WatchCapacityRequest request_;
  const std::vector<const Backend*> backends_;
  Mutex mu_;
  std::vector<Region> regions_ ABSL_GUARDED_BY(mu_);
  // At most one per open stream (two for a region briefly, after it is
  // reopened while its last update is still queued).
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  v1::CapacityUpdate current_ ABSL_GUARDED_BY(mu_);
  size_t current_region_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool server_done_ ABSL_GUARDED_BY(mu_) = false;
};

grpc::ServerWriteReactor<v1::CapacityUpdate>* DirectorySharingService::WatchCapacity(
    grpc::CallbackServerContext* ctx, const v1::WatchCapacityRequest* request) {
  class Refusal final : public grpc::ServerWriteReactor<v1::CapacityUpdate> {
   public:
    explicit Refusal(const grpc::Status& status) { Finish(status); }
    void OnDone() override { delete this; }
  };
  const security::CallDecision decision = directory_->options_.gate->Decision(ctx);
  if (!decision.status.ok()) return new Refusal(Error(decision.status));
  std::vector<const Backend*> backends;
  if (request->parent() == "regions/-") {
    for (const auto& b : directory_->backends_) backends.push_back(b.get());
  } else {
    grpc::Status error;
    const Backend* backend = ForParent(request->parent(), "parent", &error);
    if (!backend) return new Refusal(error);
    backends.push_back(backend);
  }
  auto* watch = new MergedWatch(this, ctx, *request, std::move(backends));
  watch->Start();
  return watch;
}

}  // namespace expertise::directory
