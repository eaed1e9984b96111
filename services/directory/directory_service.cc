#include "services/directory/directory_service.h"

#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/errors.h"
#include "services/common/status_macros.h"
#include "services/directory/federation.h"
#include "services/directory/import_proxy.h"
#include "services/registry/resource_model.h"

namespace expertise::directory {

namespace v1 = ::expertise::registry::v1;

namespace {

// The one region a batch goes to: a batch is atomic in one registry, and
// across regions it cannot be, so every record must be in the same region.
absl::StatusOr<const RegionPool::Region*> BatchRegion(const RegionPool& pool,
                                                      const v1::BatchUpsertSpecialistsRequest& request) {
  const RegionPool::Region* region = nullptr;
  FieldViolations violations;
  absl::Status error;
  for (int i = 0; i < request.specialists_size(); ++i) {
    const std::string field = absl::StrCat("specialists[", i, "].owning_authority");
    absl::StatusOr<const RegionPool::Region*> one = pool.ForAuthority(request.specialists(i).owning_authority(), field);
    if (!one.ok()) {
      if (error.ok()) error = one.status();
      continue;
    }
    if (region == nullptr) {
      region = *one;
    } else if (*one != region) {
      violations.Add(field, absl::StrCat("is in ", (*one)->name(), " but the batch started in ", region->name(),
                                         ": a batch is atomic, so send one batch per region"));
    }
  }
  RETURN_IF_ERROR(error);
  RETURN_IF_ERROR(violations.ToStatus());
  if (region == nullptr) return InvalidFieldError("specialists", "is empty");
  return region;
}

}  // namespace

template <typename Response>
grpc::ServerUnaryReactor* DirectoryService::AnswerLocally(grpc::CallbackServerContext* ctx,
                                                          const absl::StatusOr<Response>& answer,
                                                          Response* response) const {
  if (grpc::ServerUnaryReactor* refused = forward_.Refused(ctx)) return refused;
  if (!answer.ok()) return Forwarder::Finished(ctx, Error(answer.status()));
  *response = *answer;
  return Forwarder::Finished(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* DirectoryService::GetSpecialist(grpc::CallbackServerContext* ctx,
                                                          const v1::GetSpecialistRequest* request,
                                                          v1::Specialist* response) {
  constexpr absl::string_view kAnyRegion = "regions/-/specialists/";
  if (absl::StartsWith(request->name(), kAnyRegion)) {
    // An id without its region: every region is asked; ids are unique.
    return forward_.Find(ctx, request->name(), request->name().substr(kAnyRegion.size()), "specialists",
                         &RegistryAsync::GetSpecialist, "GetSpecialist", response);
  }
  return forward_.Route(ctx, pool_->ForName(request->name(), "name"), request, response,
                        &RegistryAsync::GetSpecialist);
}

grpc::ServerUnaryReactor* DirectoryService::ListSpecialists(grpc::CallbackServerContext* ctx,
                                                            const v1::ListSpecialistsRequest* request,
                                                            v1::ListSpecialistsResponse* response) {
  if (request->parent() != kAllRegions) {
    return forward_.Route(ctx, pool_->ForParent(request->parent(), "parent"), request, response,
                          &RegistryAsync::ListSpecialists);
  }
  return forward_.Federated(ctx, "ListSpecialists", FederatedList::Begin(*request, pool_->names()),
                            &RegistryAsync::ListSpecialists, response);
}

grpc::ServerUnaryReactor* DirectoryService::SearchSpecialists(grpc::CallbackServerContext* ctx,
                                                              const v1::SearchSpecialistsRequest* request,
                                                              v1::SearchSpecialistsResponse* response) {
  if (request->parent() != kAllRegions) {
    return forward_.Route(ctx, pool_->ForParent(request->parent(), "parent"), request, response,
                          &RegistryAsync::SearchSpecialists);
  }
  return forward_.Federated(ctx, "SearchSpecialists",
                            FederatedSearch::Begin(*request, pool_->names(), pool_->clock().Now()),
                            &RegistryAsync::SearchSpecialists, response);
}

grpc::ServerUnaryReactor* DirectoryService::GetCapacitySummary(grpc::CallbackServerContext* ctx,
                                                               const v1::GetCapacitySummaryRequest* request,
                                                               v1::CapacitySummary* response) {
  if (request->parent() != kAllRegions) {
    return forward_.Route(ctx, pool_->ForParent(request->parent(), "parent"), request, response,
                          &RegistryAsync::GetCapacitySummary);
  }
  return forward_.Federated(ctx, "GetCapacitySummary",
                            absl::StatusOr<FederatedCapacity>(
                                FederatedCapacity(*request, pool_->names(), pool_->clock().Now())),
                            &RegistryAsync::GetCapacitySummary, response);
}

grpc::ServerUnaryReactor* DirectoryService::CreateSpecialist(grpc::CallbackServerContext* ctx,
                                                             const v1::CreateSpecialistRequest* request,
                                                             v1::Specialist* response) {
  // Routed by the owning authority.
  auto region = pool_->ForAuthority(request->specialist().owning_authority(), "specialist.owning_authority");
  if (request->parent() == kAllRegions || request->parent().empty()) {
    return forward_.RouteToParent(ctx, region, request, response, &RegistryAsync::CreateSpecialist);
  }
  return forward_.Route(ctx, region, request, response, &RegistryAsync::CreateSpecialist);
}

grpc::ServerUnaryReactor* DirectoryService::UpdateSpecialist(grpc::CallbackServerContext* ctx,
                                                             const v1::UpdateSpecialistRequest* request,
                                                             v1::Specialist* response) {
  return forward_.Route(ctx, pool_->ForName(request->specialist().name(), "specialist.name"), request, response,
                        &RegistryAsync::UpdateSpecialist);
}

grpc::ServerUnaryReactor* DirectoryService::DeleteSpecialist(grpc::CallbackServerContext* ctx,
                                                             const v1::DeleteSpecialistRequest* request,
                                                             google::protobuf::Empty* response) {
  return forward_.Route(ctx, pool_->ForName(request->name(), "name"), request, response,
                        &RegistryAsync::DeleteSpecialist);
}

grpc::ServerUnaryReactor* DirectoryService::UpdateCapacity(grpc::CallbackServerContext* ctx,
                                                           const v1::UpdateCapacityRequest* request,
                                                           v1::Specialist* response) {
  return forward_.Route(ctx, pool_->ForName(request->name(), "name"), request, response,
                        &RegistryAsync::UpdateCapacity);
}

grpc::ServerUnaryReactor* DirectoryService::BatchUpsertSpecialists(
    grpc::CallbackServerContext* ctx, const v1::BatchUpsertSpecialistsRequest* request,
    v1::BatchUpsertSpecialistsResponse* response) {
  return forward_.RouteToParent(ctx, BatchRegion(*pool_, *request), request, response,
                                &RegistryAsync::BatchUpsertSpecialists);
}

grpc::ServerUnaryReactor* DirectoryService::ListTaxonomyTerms(grpc::CallbackServerContext* ctx,
                                                              const v1::ListTaxonomyTermsRequest* request,
                                                              v1::ListTaxonomyTermsResponse* response) {
  return AnswerLocally(ctx, absl::StatusOr<v1::ListTaxonomyTermsResponse>(
                                registry::ListTaxonomyTerms(ReferenceData::Get(), *request)),
                       response);
}

grpc::ServerUnaryReactor* DirectoryService::ListLocalAuthorities(
    grpc::CallbackServerContext* ctx, const v1::ListLocalAuthoritiesRequest* request,
    v1::ListLocalAuthoritiesResponse* response) {
  return AnswerLocally(ctx, registry::ListLocalAuthorities(ReferenceData::Get(), *request), response);
}

grpc::ServerUnaryReactor* DirectoryService::ListRegions(grpc::CallbackServerContext* ctx,
                                                        const v1::ListRegionsRequest* /*request*/,
                                                        v1::ListRegionsResponse* response) {
  return AnswerLocally(ctx, absl::StatusOr<v1::ListRegionsResponse>(registry::ListRegions(ReferenceData::Get())),
                       response);
}

grpc::ServerUnaryReactor* DirectoryService::GetImport(grpc::CallbackServerContext* ctx,
                                                      const v1::GetImportRequest* request,
                                                      v1::Import* response) {
  return forward_.Route(ctx, pool_->ForName(request->name(), "name"), request, response,
                        &RegistryAsync::GetImport);
}

grpc::ServerUnaryReactor* DirectoryService::ListImportRejects(grpc::CallbackServerContext* ctx,
                                                              const v1::ListImportRejectsRequest* request,
                                                              v1::ListImportRejectsResponse* response) {
  return forward_.Route(ctx, pool_->ForName(request->parent(), "parent"), request, response,
                        &RegistryAsync::ListImportRejects);
}

grpc::ServerUnaryReactor* DirectoryService::GetImportCursor(grpc::CallbackServerContext* ctx,
                                                            const v1::GetImportCursorRequest* request,
                                                            v1::ImportCursor* response) {
  return forward_.Route(ctx, pool_->ForName(request->name(), "name"), request, response,
                        &RegistryAsync::GetImportCursor);
}

grpc::ServerUnaryReactor* DirectoryService::GetRegionStatus(grpc::CallbackServerContext* ctx,
                                                            const v1::GetRegionStatusRequest* request,
                                                            v1::RegionStatus* response) {
  return forward_.Route(ctx, pool_->ForName(request->name(), "name"), request, response,
                        &RegistryAsync::GetRegionStatus);
}

grpc::ServerUnaryReactor* DirectoryService::ListRegionStatuses(grpc::CallbackServerContext* ctx,
                                                               const v1::ListRegionStatusesRequest* /*request*/,
                                                               v1::ListRegionStatusesResponse* response) {
  if (grpc::ServerUnaryReactor* refused = forward_.Refused(ctx)) return refused;
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::vector<std::optional<v1::GetRegionStatusRequest>> requests;
  for (const std::string& region : pool_->names()) {
    v1::GetRegionStatusRequest request;
    request.set_name(region + "/status");
    requests.emplace_back(std::move(request));
  }
  // A region that fails is reported as UNREACHABLE: a status call reports,
  // it never fails.
  pool_->FanOut<RegistryAsync, v1::GetRegionStatusRequest, v1::RegionStatus>(
      ctx, std::move(requests), &RegistryAsync::GetRegionStatus, {.method = "ListRegionStatuses"},
      [pool = pool_, reactor, response](const FanOutAnswers<v1::RegionStatus>& heard) {
        if (!heard.caller_error.ok()) return reactor->Finish(heard.caller_error);
        for (size_t i = 0; i < heard.answers.size(); ++i) {
          if (heard.answers[i] != nullptr) {
            *response->add_region_statuses() = *heard.answers[i];
            continue;
          }
          const RegionPool::Region& region = pool->region(i);
          v1::RegionStatus* out = response->add_region_statuses();
          out->set_name(region.name() + "/status");
          out->set_region_code(region.info->code);
          out->set_region_display_name(region.info->name);
          out->set_state(v1::RegionStatus::UNREACHABLE);
          out->set_unreachable_reason(absl::StrCat(
              region.target, ": ",
              absl::StatusCodeToString(static_cast<absl::StatusCode>(heard.statuses[i].error_code())), ": ",
              heard.statuses[i].error_message()));
          out->set_authority_count(static_cast<int32_t>(region.info->authorities.size()));
          response->add_unreachable(region.name());
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* DirectoryService::ListAuditRecords(grpc::CallbackServerContext* ctx,
                                                             const v1::ListAuditRecordsRequest* request,
                                                             v1::ListAuditRecordsResponse* response) {
  if (grpc::ServerUnaryReactor* refused = forward_.Refused(ctx)) return refused;
  const security::CallDecision decision = pool_->gate().Decision(ctx);
  if (decision.caller && decision.caller->kind == security::PrincipalKind::kAdministrator) {
    return Forwarder::Finished(
        ctx, Error(absl::PermissionDeniedError(
                 "administrators read a region's audit trail from its registry directly; the directory "
                 "does not forward an administrator's rights")));
  }
  return forward_.Route(ctx, pool_->ForParent(request->parent(), "parent"), request, response,
                        &RegistryAsync::ListAuditRecords);
}

grpc::ServerReadReactor<v1::ImportSpecialistsRequest>* DirectoryService::ImportSpecialists(
    grpc::CallbackServerContext* ctx, v1::Import* response) {
  return NewImportProxy(pool_, ctx, response);
}

}  // namespace expertise::directory
