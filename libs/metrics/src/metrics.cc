#include "kura/metrics/metrics.h"

#include <chrono>

#include <prometheus/exposer.h>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/log/log.h"
#include "kura/rpc/status.h"

namespace kura::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

const char* TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unary";
}

struct GrpcFamilies {
  prometheus::Family<prometheus::Counter>& started;
  prometheus::Family<prometheus::Counter>& handled;
  prometheus::Family<prometheus::Histogram>& seconds;
};

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcFamilies& families, ServerRpcInfo* info)
      : families_(families), info_(info) {
    // "/package.Service/Method"
    absl::string_view full = info->method() != nullptr ? info->method() : "";
    if (!full.empty() && full.front() == '/') full.remove_prefix(1);
    auto slash = full.find('/');
    service_ = std::string(full.substr(0, slash));
    method_ =
        slash == absl::string_view::npos ? std::string() : std::string(full.substr(slash + 1));
    type_ = TypeName(info->type());
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      start_ = std::chrono::steady_clock::now();
      families_.started
          .Add({{"grpc_service", service_}, {"grpc_method", method_}, {"grpc_type", type_}})
          .Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      const char* code = GrpcCodeName(status.error_code());
      families_.handled
          .Add({{"grpc_service", service_},
                {"grpc_method", method_},
                {"grpc_type", type_},
                {"grpc_code", code}})
          .Increment();
      families_.seconds
          .Add({{"grpc_service", service_}, {"grpc_method", method_}, {"grpc_type", type_}},
               prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                       0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
          .Observe(seconds);
      bool is_error = !status.ok();
      if (is_error || service_ != "grpc.health.v1.Health") {
        auto trace = rpc::ServerTraceScope(*info_->server_context());
        log::Write(is_error ? log::Level::kInfo : log::Level::kDebug, "rpc finished",
                   {{"grpc_service", service_},
                    {"grpc_method", method_},
                    {"grpc_code", code},
                    {"duration_ms", seconds * 1000}});
      }
    }
    methods->Proceed();
  }

 private:
  GrpcFamilies& families_;
  ServerRpcInfo* info_;
  std::string service_, method_;
  const char* type_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(prometheus::Registry& registry)
      : families_{prometheus::BuildCounter()
                      .Name("grpc_server_started_total")
                      .Help("RPCs started on the server.")
                      .Register(registry),
                  prometheus::BuildCounter()
                      .Name("grpc_server_handled_total")
                      .Help("RPCs completed on the server, whatever their status.")
                      .Register(registry),
                  prometheus::BuildHistogram()
                      .Name("grpc_server_handling_seconds")
                      .Help("Time from receiving an RPC to sending its status.")
                      .Register(registry)} {}

  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new MetricsInterceptor(families_, info);
  }

 private:
  GrpcFamilies families_;
};

}  // namespace

const char* GrpcCodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen_address) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->registry_ = std::make_shared<prometheus::Registry>();
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(listen_address, 2);
  } catch (const std::exception& e) {
    return MakeError(
        absl::StatusCode::kUnavailable, "LISTEN_FAILED",
        absl::StrCat("metrics_listen: cannot listen on ", listen_address, ": ", e.what()),
        {{"setting", "metrics_listen"}});
  }
  server->exposer_->RegisterCollectable(server->registry_);
  auto ports = server->exposer_->GetListeningPorts();
  server->port_ = ports.empty() ? 0 : ports.front();
  return server;
}

MetricsServer::~MetricsServer() = default;

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcServerMetricsInterceptorFactory(prometheus::Registry& registry) {
  return std::make_unique<MetricsInterceptorFactory>(registry);
}

}  // namespace kura::metrics
