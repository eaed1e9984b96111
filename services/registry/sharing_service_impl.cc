#include "services/registry/sharing_service_impl.h"

#include <utility>

#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/rpc/grpc_status.h"
#include "services/common/logging.h"

namespace expertise::registry {
namespace {

using Audited = RegistryCalls::Audited;
using Call = RegistryCalls::Call;

}  // namespace

// One WatchCapacity stream. Kept alive by shared_ptrs (itself until OnDone,
// the executor task that subscribes, the watcher callback while it runs), so
// a cancellation racing the subscription cannot free it early.
class SharingServiceImpl::WatchReactor final : public grpc::ServerWriteReactor<v1::CapacityUpdate> {
 public:
  explicit WatchReactor(SharingServiceImpl* service) : service_(service) {}

  void Hold(std::shared_ptr<WatchReactor> self) { self_ = std::move(self); }

  // Called once the registry has subscribed (and queued any snapshot).
  void Begin(std::shared_ptr<watch::Watcher> watcher) {
    bool finished;
    {
      MutexLock lock(&mu_);
      watcher_ = watcher;
      finished = finished_;
    }
    if (finished) {
      watcher->Cancel();
      return;
    }
    Pump();
  }

  // Sends the next pending update unless a write is in flight. Never blocks
  // beyond this stream's own mutex, so the publisher may call it.
  void Pump() {
    MutexLock lock(&mu_);
    if (writing_ || finished_ || !watcher_) return;
    std::optional<v1::CapacityUpdate> next = watcher_->Next();
    if (!next) {
      if (watcher_->overflowed()) {
        FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  "this watch fell too far behind; resume with the last "
                                  "resume_token received"));
      }
      return;
    }
    current_ = *std::move(next);
    writing_ = true;
    StartWrite(&current_);
  }

  void End(const grpc::Status& status) {
    MutexLock lock(&mu_);
    FinishLocked(status);
  }

  void OnWriteDone(bool ok) override {
    {
      MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the stream broke"));
        return;
      }
    }
    Pump();
  }

  void OnCancel() override {
    MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watch was cancelled"));
  }

  void OnDone() override {
    std::shared_ptr<watch::Watcher> watcher;
    {
      MutexLock lock(&mu_);
      watcher = watcher_;
    }
    if (watcher) watcher->Cancel();  // waits for a running callback; no lock held
    service_->Forget(this);
    std::shared_ptr<WatchReactor> self = std::move(self_);  // may free this on return
  }

 private:
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  SharingServiceImpl* const service_;
  std::shared_ptr<WatchReactor> self_;
  Mutex mu_;
  std::shared_ptr<watch::Watcher> watcher_ ABSL_GUARDED_BY(mu_);
  v1::CapacityUpdate current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

SharingServiceImpl::SharingServiceImpl(RegistryCalls* calls)
    : calls_(calls) {}

SharingServiceImpl::~SharingServiceImpl() = default;

void SharingServiceImpl::Forget(WatchReactor* reactor) {
  MutexLock lock(&mu_);
  watches_.erase(reactor);
}

void SharingServiceImpl::EndWatches() {
  MutexLock lock(&mu_);
  ending_ = true;
  for (WatchReactor* reactor : watches_) {
    reactor->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the registry is shutting down; resume with the last resume_token"));
  }
}

#define EXPERTISE_SHARING_UNARY(Method, Request, Response, audited, resource, body) \
  grpc::ServerUnaryReactor* SharingServiceImpl::Method(                             \
      grpc::CallbackServerContext* ctx, const v1::Request* request, v1::Response* response) { \
    return calls_->Dispatch(ctx, audited, {resource}, [=, this](Registry& r, Call& call) body); \
  }

EXPERTISE_SHARING_UNARY(CreateSupportRequest, CreateSupportRequestRequest, SupportRequest,
                        Audited::kChange, request->parent(), {
                          absl::Status status =
                              StoreResult(r.support_requests().Create(*request, call.access), response);
                          if (status.ok()) call.changed.push_back(response->name());
                          return status;
                        })
EXPERTISE_SHARING_UNARY(GetSupportRequest, GetSupportRequestRequest, SupportRequest, Audited::kNo,
                        request->name(), {
                          (void)call;
                          return StoreResult(r.support_requests().Get(*request), response);
                        })
EXPERTISE_SHARING_UNARY(ListSupportRequests, ListSupportRequestsRequest,
                        ListSupportRequestsResponse, Audited::kNo, request->parent(), {
                          (void)call;
                          return StoreResult(r.support_requests().List(*request), response);
                        })
EXPERTISE_SHARING_UNARY(SuggestProviders, SuggestProvidersRequest, SuggestProvidersResponse,
                        Audited::kReads, request->name(), {
                          absl::Status status =
                              StoreResult(r.support_requests().SuggestProviders(*request, call.access), response);
                          for (v1::ProviderSuggestion& s : *response->mutable_suggestions()) {
                            calls_->Present(call, s.mutable_specialist());
                          }
                          return status;
                        })
EXPERTISE_SHARING_UNARY(OfferSupport, OfferSupportRequest, SupportRequest, Audited::kChange,
                        request->name(), {
                          call.changed.push_back(request->commitment());
                          return StoreResult(r.offers().Offer(*request, call.access), response);
                        })
EXPERTISE_SHARING_UNARY(AcceptOffer, AcceptOfferRequest, SupportRequest, Audited::kChange,
                        request->name(), {
                          return StoreResult(r.offers().Accept(*request, call.access), response);
                        })
EXPERTISE_SHARING_UNARY(DeclineOffers, DeclineOffersRequest, SupportRequest, Audited::kChange,
                        request->name(), {
                          return StoreResult(r.offers().Decline(*request, call.access), response);
                        })
EXPERTISE_SHARING_UNARY(WithdrawSupportRequest, WithdrawSupportRequestRequest, SupportRequest,
                        Audited::kChange, request->name(), {
                          return StoreResult(r.offers().Withdraw(*request, call.access), response);
                        })
EXPERTISE_SHARING_UNARY(CompleteSupportRequest, CompleteSupportRequestRequest, SupportRequest,
                        Audited::kChange, request->name(), {
                          return StoreResult(r.offers().Complete(*request, call.access), response);
                        })
EXPERTISE_SHARING_UNARY(EscalateSupportRequest, EscalateSupportRequestRequest, SupportRequest,
                        Audited::kChange, request->name(), {
                          return StoreResult(r.offers().Escalate(*request, call.access), response);
                        })
EXPERTISE_SHARING_UNARY(CreateCapacityCommitment, CreateCapacityCommitmentRequest,
                        CapacityCommitment, Audited::kChange, request->parent(), {
                          absl::Status status =
                              StoreResult(r.commitments().Create(*request, call.access), response);
                          if (status.ok()) call.changed.push_back(response->name());
                          return status;
                        })
EXPERTISE_SHARING_UNARY(ConfirmCapacityCommitment, ConfirmCapacityCommitmentRequest,
                        CapacityCommitment, Audited::kChange, request->name(), {
                          // Hours are committed by accepting an offer: here, as
                          // the first step of an acceptance the directory carries
                          // for a request in another region, and for that request
                          // only. A caller confirming on its own could hold a
                          // provider's hours without accepting.
                          if (!call.access.forwarded) {
                            return WithReason(
                                absl::FailedPreconditionError(
                                    "commitments are confirmed by accepting the offer "
                                    "(AcceptOffer), through the directory when the hours are "
                                    "in another region"),
                                reasons::kUseAcceptOffer);
                          }
                          if (request->support_request().empty()) {
                            return InvalidFieldError("support_request", "is required");
                          }
                          return StoreResult(r.commitments().Confirm(*request, call.access), response);
                        })
EXPERTISE_SHARING_UNARY(ReleaseCapacityCommitment, ReleaseCapacityCommitmentRequest,
                        CapacityCommitment, Audited::kChange, request->name(), {
                          return StoreResult(r.commitments().Release(*request, call.access), response);
                        })
EXPERTISE_SHARING_UNARY(GetUnmetNeedReport, GetUnmetNeedReportRequest, UnmetNeedReport,
                        Audited::kNo, request->parent(), {
                          (void)call;
                          return StoreResult(r.reports().GetUnmetNeedReport(*request), response);
                        })
EXPERTISE_SHARING_UNARY(GetEquityReport, GetEquityReportRequest, EquityReport, Audited::kNo,
                        request->parent(), {
                          (void)call;
                          return StoreResult(r.reports().GetEquityReport(*request), response);
                        })

#undef EXPERTISE_SHARING_UNARY

grpc::ServerWriteReactor<v1::CapacityUpdate>* SharingServiceImpl::WatchCapacity(
    grpc::CallbackServerContext* ctx, const v1::WatchCapacityRequest* request) {
  auto reactor = std::make_shared<WatchReactor>(this);
  reactor->Hold(reactor);
  security::CallDecision decision = calls_->gate()->Decision(ctx);
  Registry* registry = calls_->registry();
  if (!decision.status.ok()) {
    if (registry != nullptr) {
      // The trail is written on the executor; never on gRPC's thread.
      (void)calls_->executor()->Submit([this, decision, name = request->parent()]() {
        calls_->RecordRefusal(decision, {name});
      });
    }
    reactor->End(ToGrpcStatus(decision.status, kErrorDomain));
    return reactor.get();
  }
  if (registry == nullptr) {
    reactor->End(ToGrpcStatus(absl::UnavailableError("the registry is starting up; retry shortly"),
                              kErrorDomain));
    return reactor.get();
  }
  {
    MutexLock lock(&mu_);
    if (ending_) {
      reactor->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the registry is shutting down"));
      return reactor.get();
    }
    watches_.insert(reactor.get());
  }
  const bool queued = calls_->executor()->Submit(
      [this, reactor, registry, decision = std::move(decision), req = *request]() {
        Call call = calls_->MakeCall(decision, *registry);
        std::weak_ptr<WatchReactor> weak = reactor;
        absl::StatusOr<std::shared_ptr<watch::Watcher>> watcher =
            registry->WatchCapacity(req, call.access, [weak]() {
              if (std::shared_ptr<WatchReactor> r = weak.lock()) r->Pump();
            });
        if (!watcher.ok()) {
          reactor->End(ToGrpcStatus(watcher.status(), kErrorDomain));
          return;
        }
        reactor->Begin(*std::move(watcher));
      });
  if (!queued) {
    reactor->End(ToGrpcStatus(
        absl::ResourceExhaustedError("the registry is overloaded; retry with backoff"), kErrorDomain));
  }
  return reactor.get();
}

}  // namespace expertise::registry
