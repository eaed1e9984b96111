#include "services/directory/region_pool.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/error_reasons.h"
#include "services/common/errors.h"
#include "services/common/logging.h"
#include "services/rpc/grpc_status.h"

namespace expertise::directory {

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

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                          const security::ClientSecurityOptions& security) {
  grpc::ChannelArguments args;
  // Keepalive matched with the registries' server settings (ServerRunner),
  // so a dead peer is noticed within ~15 s even on an idle channel.
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
    // The server checks the options before it builds the pool, so this
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

RegionPool::RegionPool(RegionPoolOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : RealClock()) {
  for (const RegionEndpoint& e : options_.regions) {
    auto region = std::make_unique<Region>();
    region->info = e.region;
    region->resource_name = e.region->resource_name();
    region->target = e.target;
    region->channel = MakeChannel(e.target, options_.upstream);
    region->registry = registry::v1::RegistryService::NewStub(region->channel);
    region->sharing = registry::v1::CapacitySharingService::NewStub(region->channel);
    names_.push_back(e.region->resource_name());
    regions_.push_back(std::move(region));
  }
}

RegionPool::~RegionPool() = default;

absl::StatusOr<const RegionPool::Region*> RegionPool::ForRegion(const RegionInfo* info) const {
  for (const auto& region : regions_) {
    if (region->info == info) return region.get();
  }
  return WithReason(absl::FailedPreconditionError(absl::StrCat("this directory has no registry for ",
                                                               info->resource_name(), " (", info->name,
                                                               "); add it to the --regions file")),
                    reasons::kRegionNotConfigured);
}

absl::StatusOr<const RegionPool::Region*> RegionPool::ForParent(const std::string& parent,
                                                                std::string_view field) const {
  const RegionInfo* info =
      absl::StartsWith(parent, "regions/") ? ReferenceData::Get().FindRegion(parent) : nullptr;
  if (!info) {
    return InvalidFieldError(std::string(field), "must be regions/- or a region such as regions/north-east");
  }
  return ForRegion(info);
}

absl::StatusOr<const RegionPool::Region*> RegionPool::ForName(const std::string& name,
                                                              std::string_view field) const {
  // regions/{region}/...
  const size_t second_slash = name.find('/', 8);
  if (!absl::StartsWith(name, "regions/") || second_slash == std::string::npos) {
    return InvalidFieldError(std::string(field),
                             "must be a name in a region, e.g. regions/north-east/specialists/s-1");
  }
  return ForParent(name.substr(0, second_slash), field);
}

absl::StatusOr<const RegionPool::Region*> RegionPool::ForAuthority(const std::string& code,
                                                                   std::string_view field) const {
  const AuthorityInfo* la = ReferenceData::Get().FindAuthority(code);
  if (!la) {
    return InvalidFieldError(std::string(field),
                             code.empty() ? "is required: it decides the region" : "is not a known GSS code");
  }
  return ForRegion(ReferenceData::Get().FindRegion(la->region_code));
}

std::unique_ptr<grpc::ClientContext> RegionPool::ChildContext(grpc::CallbackServerContext* ctx,
                                                              CallKind kind) const {
  std::unique_ptr<grpc::ClientContext> child = grpc::ClientContext::FromCallbackServerContext(*ctx);
  // The registries decide what the caller may see and do: name the caller.
  if (std::optional<std::string> caller = ForwardedCaller(options_.gate->Decision(ctx))) {
    child->AddMetadata(security::kOnBehalfOfKey, *caller);
  }
  if (kind == CallKind::kStream) return child;
  const auto now = std::chrono::system_clock::now();
  auto deadline = kind == CallKind::kFanOut ? now + absl::ToChronoNanoseconds(options_.region_timeout)
                                            : std::chrono::system_clock::time_point::max();
  const auto caller = ctx->deadline();
  if (caller < deadline) {
    // Keep a margin to merge and answer before the caller gives up: a tenth
    // of the time left, between 5 and 250 ms.
    const auto left = caller - now;
    auto margin = std::clamp<std::chrono::system_clock::duration>(left / 10, std::chrono::milliseconds(5),
                                                                  std::chrono::milliseconds(250));
    deadline = caller - margin;
  }
  if (deadline != std::chrono::system_clock::time_point::max()) child->set_deadline(deadline);
  if (kind == CallKind::kStep) CapAsStep(child.get());
  return child;
}

void RegionPool::CapAsStep(grpc::ClientContext* context) {
  const auto cap = std::chrono::system_clock::now() + kLongestStep;
  if (context->deadline() > cap) context->set_deadline(cap);
}

void RegionPool::NoteOutcome(size_t i, const char* method, const grpc::Status& status,
                             const FanOutOptions& options, bool caller_gone) const {
  const Region& region = *regions_[i];
  const bool answered = status.ok() || IsCallerError(static_cast<int>(status.error_code())) ||
                        (options.not_found_is_an_answer && status.error_code() == grpc::StatusCode::NOT_FOUND);
  if (answered) {
    if (!region.answering.exchange(true)) {
      LogEvent(Log(), spdlog::level::info, "region_answering_again", {{"region", names_[i]}});
    }
    return;
  }
  if (caller_gone) return;
  const bool was_answering = region.answering.exchange(false);
  LogEvent(Log(), was_answering ? spdlog::level::warn : spdlog::level::debug, "region_unreachable",
           {{"method", method},
            {"region", names_[i]},
            {"code", static_cast<int>(status.error_code())},
            {"error", status.error_message()}});
}

void RegionPool::LogFanOut(const char* method, const std::vector<std::string>& unreachable,
                           std::chrono::steady_clock::time_point start) const {
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  LogEvent(Log(), spdlog::level::debug, "fan_out",
           {{"method", method}, {"unreachable", absl::StrJoin(unreachable, ",")}, {"ms", ms}});
}

std::vector<std::pair<std::string, bool>> RegionPool::RegionsAnswering() const {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& region : regions_) out.emplace_back(region->info->id, region->answering.load());
  return out;
}

}  // namespace expertise::directory
