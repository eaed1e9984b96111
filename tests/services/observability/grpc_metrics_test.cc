// The gRPC metrics interceptor on an in-process server (real loopback
// calls): go-grpc-prometheus names, labels and codes, message counts, the
// latency histogram, cancellation and deadlines, unknown methods, and the
// interceptor order that makes the handled code the one the client gets.
// Also the plaintext health probe server and the status mirror.

#include "services/observability/grpc_metrics.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "expertise/registry/v1/registry_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/observability/health_probe.h"

namespace expertise::observability {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;
using ::testing::Not;

// The value of one series in an exposition, or -1 when absent.
double SeriesValue(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.size() > series.size() && line.substr(0, series.size()) == series &&
        line[series.size()] == ' ') {
      double value = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
    }
  }
  return -1;
}

std::string Labels(const std::string& type, const std::string& service, const std::string& method) {
  return "{grpc_type=\"" + type + "\",grpc_service=\"" + service + "\",grpc_method=\"" + method + "\"";
}

std::string Handled(const std::string& type, const std::string& service, const std::string& method,
                    const std::string& code) {
  return "grpc_server_handled_total" + Labels(type, service, method) + ",grpc_code=\"" + code + "\"}";
}

// Finishes with `on_cancel` only when the call is cancelled (deadline or client).
class FinishOnCancel final : public grpc::ServerUnaryReactor {
 public:
  void OnCancel() override { Finish(grpc::Status::OK); }
  void OnDone() override { delete this; }
};

// Writes `count` answers, then finishes OK, or (hang) waits to be cancelled
// and then finishes OK all the same.
class Writer final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Writer(int count, bool hang) : left_(count), hang_(hang) {
    response_.set_status(HealthCheckResponse::SERVING);
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return;  // cancelled: OnCancel finishes
    Next();
  }
  void OnCancel() override { FinishOnce(); }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (left_-- > 0) {
      StartWrite(&response_);
    } else if (!hang_) {
      FinishOnce();
    }
  }
  void FinishOnce() {
    if (!finished_.exchange(true)) Finish(grpc::Status::OK);
  }
  int left_;
  const bool hang_;
  std::atomic<bool> finished_{false};
  HealthCheckResponse response_;
};

// grpc.health.v1.Health as a test double: the requested service name says
// what to do.
class TestHealth final : public Health::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx, const HealthCheckRequest* request,
                                  HealthCheckResponse* response) override {
    if (request->service() == "wait-for-cancel") return new FinishOnCancel();
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (request->service() == "missing") {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such service"));
    } else {
      response->set_status(HealthCheckResponse::SERVING);
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }
  grpc::ServerWriteReactor<HealthCheckResponse>* Watch(grpc::CallbackServerContext* ctx,
                                                       const HealthCheckRequest* request) override {
    return new Writer(request->service() == "hang" ? 1 : 3, request->service() == "hang");
  }
};

// Client streaming: reads every message, then answers OK.
class TestImport final : public registry::v1::RegistryService::CallbackService {
 public:
  grpc::ServerReadReactor<registry::v1::ImportSpecialistsRequest>* ImportSpecialists(
      grpc::CallbackServerContext* ctx, registry::v1::Import* response) override {
    class Reader final : public grpc::ServerReadReactor<registry::v1::ImportSpecialistsRequest> {
     public:
      Reader() { StartRead(&request_); }
      void OnReadDone(bool ok) override {
        if (ok) {
          StartRead(&request_);
        } else {
          Finish(grpc::Status::OK);
        }
      }
      void OnDone() override { delete this; }

     private:
      registry::v1::ImportSpecialistsRequest request_;
    };
    return new Reader();
  }
};

// Stands in for the security interceptor: a call with "x-refuse" metadata
// ends PERMISSION_DENIED whatever the handler answered.
class RefusingInterceptor final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      refuse_ = methods->GetRecvInitialMetadata()->count("x-refuse") > 0;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) && refuse_) {
      methods->ModifySendStatus(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "refused"));
    }
    methods->Proceed();
  }

 private:
  bool refuse_ = false;
};

class RefusingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo*) override {
    return new RefusingInterceptor();
  }
};

class GrpcMetricsTest : public ::testing::Test {
 protected:
  // `metrics_first`: the wrong order, to show why the order matters.
  void StartServer(bool metrics_first = false) {
    grpc::EnableDefaultHealthCheckService(false);  // TestHealth serves grpc.health.v1 here
    metrics_ = std::make_unique<GrpcServerMetrics>(&registry_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&health_);
    builder.RegisterService(&import_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    if (metrics_first) factories.push_back(metrics_->NewInterceptorFactory());
    factories.push_back(std::make_unique<RefusingFactory>());
    if (!metrics_first) factories.push_back(metrics_->NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(factories));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
    stub_ = Health::NewStub(channel_);
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
      server_->Wait();
    }
  }

  grpc::Status Check(const std::string& service, bool refuse = false,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    if (refuse) ctx.AddMetadata("x-refuse", "1");
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    return stub_->Check(&ctx, request, &response);
  }

  double Value(const std::string& series) const { return SeriesValue(registry_.Render(), series); }

  // Polls for what the server records after the client already has its
  // answer (messages sent, cancellations).
  bool WaitFor(const std::string& series, double value) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Value(series) == value) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  MetricsRegistry registry_;
  std::unique_ptr<GrpcServerMetrics> metrics_;
  TestHealth health_;
  TestImport import_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Health::Stub> stub_;
};

constexpr char kHealth[] = "grpc.health.v1.Health";

TEST_F(GrpcMetricsTest, UnaryCallsByCode) {
  StartServer();
  ASSERT_TRUE(Check("").ok());
  ASSERT_TRUE(Check("").ok());
  ASSERT_EQ(Check("missing").error_code(), grpc::StatusCode::NOT_FOUND);

  const std::string labels = Labels("unary", kHealth, "Check");
  EXPECT_EQ(Value("grpc_server_started_total" + labels + "}"), 3);
  EXPECT_EQ(Value(Handled("unary", kHealth, "Check", "OK")), 2);
  EXPECT_EQ(Value(Handled("unary", kHealth, "Check", "NotFound")), 1);
  EXPECT_EQ(Value("grpc_server_msg_received_total" + labels + "}"), 3);
  // Sent only for the successful calls (go-grpc-prometheus does the same).
  EXPECT_TRUE(WaitFor("grpc_server_msg_sent_total" + labels + "}", 2));
  EXPECT_EQ(Value("grpc_server_handling_seconds_count" + labels + "}"), 3);
  EXPECT_EQ(Value("grpc_server_handling_seconds_bucket" + labels + ",le=\"+Inf\"}"), 3);
  EXPECT_EQ(Value("grpc_server_handling_seconds_bucket" + labels + ",le=\"10\"}"), 3);
  EXPECT_GE(Value("grpc_server_handling_seconds_sum" + labels + "}"), 0);

  const std::string text = registry_.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE grpc_server_handling_seconds histogram\n"));
  for (const char* le : {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    EXPECT_THAT(text, HasSubstr(labels + ",le=\"" + le + "\"}")) << le;
  }
  EXPECT_TRUE(registry_.definition_status().ok());
}

TEST_F(GrpcMetricsTest, RefusalForcedByAnEarlierInterceptorIsTheCodeCounted) {
  StartServer();
  // The handler answers OK; the refusing interceptor (registered first, as
  // the security interceptor is) turns it into PERMISSION_DENIED.
  ASSERT_EQ(Check("", /*refuse=*/true).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Value(Handled("unary", kHealth, "Check", "PermissionDenied")), 1);
  EXPECT_EQ(Value(Handled("unary", kHealth, "Check", "OK")), -1);
}

TEST_F(GrpcMetricsTest, WrongOrderWouldCountTheHandlersCode) {
  StartServer(/*metrics_first=*/true);
  ASSERT_EQ(Check("", /*refuse=*/true).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Why ServerSecurity::Install puts the metrics interceptor last.
  EXPECT_EQ(Value(Handled("unary", kHealth, "Check", "OK")), 1);
}

TEST_F(GrpcMetricsTest, ServerStreamingCountsEveryMessage) {
  StartServer();
  grpc::ClientContext ctx;
  HealthCheckRequest request;
  auto reader = stub_->Watch(&ctx, request);
  HealthCheckResponse response;
  int got = 0;
  while (reader->Read(&response)) ++got;
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(got, 3);
  const std::string labels = Labels("server_stream", kHealth, "Watch");
  EXPECT_EQ(Value("grpc_server_started_total" + labels + "}"), 1);
  EXPECT_EQ(Value("grpc_server_msg_received_total" + labels + "}"), 1);
  EXPECT_TRUE(WaitFor("grpc_server_msg_sent_total" + labels + "}", 3));
  EXPECT_EQ(Value(Handled("server_stream", kHealth, "Watch", "OK")), 1);
}

TEST_F(GrpcMetricsTest, ClientStreamingCountsEveryMessage) {
  StartServer();
  auto stub = registry::v1::RegistryService::NewStub(channel_);
  grpc::ClientContext ctx;
  registry::v1::Import response;
  auto writer = stub->ImportSpecialists(&ctx, &response);
  registry::v1::ImportSpecialistsRequest request;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(writer->Write(request));
  ASSERT_TRUE(writer->WritesDone());
  ASSERT_TRUE(writer->Finish().ok());
  const std::string labels = Labels("client_stream", "expertise.registry.v1.RegistryService", "ImportSpecialists");
  EXPECT_EQ(Value("grpc_server_msg_received_total" + labels + "}"), 4);
  EXPECT_EQ(Value(Handled("client_stream", "expertise.registry.v1.RegistryService", "ImportSpecialists", "OK")), 1);
  EXPECT_TRUE(WaitFor("grpc_server_msg_sent_total" + labels + "}", 1));
}

TEST_F(GrpcMetricsTest, CancelledAndTimedOutCallsCountWhatTheClientSaw) {
  StartServer();
  // The handler answers OK once cancelled, but the client already ended the
  // call: counted as the client saw it.
  ASSERT_EQ(Check("wait-for-cancel", false, std::chrono::milliseconds(200)).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(WaitFor(Handled("unary", kHealth, "Check", "DeadlineExceeded"), 1));

  {
    grpc::ClientContext ctx;
    HealthCheckRequest request;
    request.set_service("hang");
    auto reader = stub_->Watch(&ctx, request);
    HealthCheckResponse response;
    ASSERT_TRUE(reader->Read(&response));
    ctx.TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(WaitFor(Handled("server_stream", kHealth, "Watch", "Canceled"), 1));
  EXPECT_EQ(Value(Handled("server_stream", kHealth, "Watch", "OK")), -1);
  EXPECT_EQ(Value(Handled("unary", kHealth, "Check", "OK")), -1);
}

TEST_F(GrpcMetricsTest, UnknownMethodsShareOneLabelSet) {
  StartServer();
  grpc::GenericStub generic(channel_);
  for (const char* method : {"/no.such.Service/Method", "/expertise.registry.v1.RegistryService/NoSuch", "/x"}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1), response;
    grpc::Status status;
    std::atomic<bool> done{false};
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
      status = std::move(s);
      done = true;
    });
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << method;
  }
  const std::string text = registry_.Render();
  EXPECT_THAT(text, Not(HasSubstr("no.such")));
  EXPECT_THAT(text, Not(HasSubstr("NoSuch")));
  EXPECT_THAT(text, HasSubstr("grpc_service=\"unknown\",grpc_method=\"unknown\",grpc_code=\"Unimplemented\"} 3\n"));
}

TEST(GrpcCodeNameTest, MatchesGrpcGo) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::CANCELLED), "Canceled");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::INVALID_ARGUMENT), "InvalidArgument");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DEADLINE_EXCEEDED), "DeadlineExceeded");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "ResourceExhausted");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FailedPrecondition");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "Unauthenticated");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DATA_LOSS), "DataLoss");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "Unknown");
}

TEST(GrpcServerMetricsTest, InitializeServiceCreatesZeroSeries) {
  MetricsRegistry registry;
  GrpcServerMetrics metrics(&registry);
  metrics.InitializeService("expertise.registry.v1.RegistryService");
  metrics.InitializeService("no.such.Service");  // ignored
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("grpc_server_started_total" +
                              Labels("unary", "expertise.registry.v1.RegistryService", "GetSpecialist") + "} 0\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_msg_received_total" +
                              Labels("client_stream", "expertise.registry.v1.RegistryService", "ImportSpecialists") +
                              "} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("no.such")));
}

// --- the health probe port ---------------------------------------------------

class RecordingHealth final : public grpc::HealthCheckServiceInterface {
 public:
  void SetServingStatus(const std::string& service, bool serving) override {
    calls.push_back(service + "=" + (serving ? "1" : "0"));
  }
  void SetServingStatus(bool serving) override { calls.push_back(std::string("*=") + (serving ? "1" : "0")); }
  void Shutdown() override { calls.push_back("shutdown"); }
  std::vector<std::string> calls;
};

HealthCheckResponse::ServingStatus ProbeStatus(Health::Stub& stub, const std::string& service,
                                               grpc::StatusCode* code) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  *code = stub.Check(&ctx, request, &response).error_code();
  return response.status();
}

TEST(HealthProbeTest, MirrorsTheMainServerAndServesNothingElse) {
  auto probe = HealthProbeServer::Start("127.0.0.1:0");
  ASSERT_TRUE(probe.ok()) << probe.status();
  ASSERT_GT((*probe)->port(), 0);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*probe)->port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = Health::NewStub(channel);
  grpc::StatusCode code;
  // Not serving until the main server says so.
  EXPECT_EQ(ProbeStatus(*stub, "", &code), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(code, grpc::StatusCode::OK);

  RecordingHealth primary;
  HealthMirror mirror(&primary, probe->get());
  mirror.SetServingStatus(true);
  mirror.SetServingStatus("expertise.registry.v1.RegistryService", true);
  EXPECT_EQ(ProbeStatus(*stub, "", &code), HealthCheckResponse::SERVING);
  EXPECT_EQ(ProbeStatus(*stub, "expertise.registry.v1.RegistryService", &code), HealthCheckResponse::SERVING);
  ProbeStatus(*stub, "other.Service", &code);
  EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);
  mirror.SetServingStatus(false);
  EXPECT_EQ(ProbeStatus(*stub, "", &code), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(ProbeStatus(*stub, "expertise.registry.v1.RegistryService", &code), HealthCheckResponse::NOT_SERVING);
  EXPECT_THAT(primary.calls, ::testing::ElementsAre("*=1", "expertise.registry.v1.RegistryService=1", "*=0"));

  // No other service, no reflection.
  auto registry = registry::v1::RegistryService::NewStub(channel);
  grpc::ClientContext ctx;
  registry::v1::ListRegionsResponse regions;
  EXPECT_EQ(registry->ListRegions(&ctx, {}, &regions).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  grpc::GenericStub generic(channel);
  grpc::ClientContext rctx;
  std::atomic<bool> done{false};
  grpc::Status reflection;
  grpc::Slice empty("");
  grpc::ByteBuffer in(&empty, 1), out;
  generic.UnaryCall(&rctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", grpc::StubOptions(),
                    &in, &out, [&](grpc::Status s) {
                      reflection = std::move(s);
                      done = true;
                    });
  while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(reflection.error_code(), grpc::StatusCode::UNIMPLEMENTED);

  mirror.SetServingStatus(true);
  (*probe)->Shutdown();
  (*probe)->Shutdown();  // idempotent
}

TEST(HealthProbeTest, WatchFollowsChangesAndEndsAtShutdown) {
  auto probe = HealthProbeServer::Start("127.0.0.1:0");
  ASSERT_TRUE(probe.ok()) << probe.status();
  auto stub = Health::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string((*probe)->port()),
                                                  grpc::InsecureChannelCredentials()));
  grpc::ClientContext all_ctx, named_ctx;
  HealthCheckRequest all, named;
  named.set_service("expertise.registry.v1.RegistryService");
  auto all_reader = stub->Watch(&all_ctx, all);
  auto named_reader = stub->Watch(&named_ctx, named);
  HealthCheckResponse response;
  ASSERT_TRUE(all_reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  // Unknown yet: SERVICE_UNKNOWN, and the stream stays open (health.proto).
  ASSERT_TRUE(named_reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);

  (*probe)->health()->SetServingStatus(true);
  ASSERT_TRUE(all_reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  (*probe)->health()->SetServingStatus("expertise.registry.v1.RegistryService", true);
  ASSERT_TRUE(named_reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  // Many changes at once coalesce; the last one always arrives. They end on
  // a status other than the one the client saw last: changes that coalesce
  // into no change at all rightly send nothing, and a client waiting for a
  // message then would wait for ever.
  for (int i = 0; i < 50; ++i) (*probe)->health()->SetServingStatus(i % 2 == 1);
  (*probe)->health()->SetServingStatus(false);
  HealthCheckResponse::ServingStatus last = HealthCheckResponse::UNKNOWN;
  while (last != HealthCheckResponse::NOT_SERVING && all_reader->Read(&response)) last = response.status();
  EXPECT_EQ(last, HealthCheckResponse::NOT_SERVING);
  (*probe)->health()->SetServingStatus(true);
  ASSERT_TRUE(all_reader->Read(&response));
  last = response.status();
  ASSERT_EQ(last, HealthCheckResponse::SERVING);

  // Shutdown ends the open watches rather than waiting for their clients
  // (it returns while both streams are still open: the test would hang
  // otherwise), and they end with the final status.
  (*probe)->Shutdown();
  while (all_reader->Read(&response)) last = response.status();
  EXPECT_EQ(last, HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(all_reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  while (named_reader->Read(&response)) {
  }
  EXPECT_EQ(named_reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(HealthProbeTest, ListenErrors) {
  auto first = HealthProbeServer::Start("127.0.0.1:0");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(HealthProbeServer::Start("127.0.0.1:" + std::to_string((*first)->port())).ok());
}

}  // namespace
}  // namespace expertise::observability
