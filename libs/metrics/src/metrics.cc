#include "kura/metrics/metrics.h"

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>

#include <prometheus/exposer.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
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

// One method's series, looked up once: building label sets and finding them in the families
// on every call would cost each RPC several allocations and hash look-ups under the families'
// lock.
struct MethodMetrics {
  std::string service, method;
  const char* type;
  prometheus::Counter* started;
  prometheus::Histogram* seconds;
  std::array<std::atomic<prometheus::Counter*>, 17> handled{};  // by status code, when first seen
};

class MetricsInterceptorFactory;

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(MetricsInterceptorFactory& factory, MethodMetrics& metrics,
                     ServerRpcInfo* info)
      : factory_(factory), metrics_(metrics), info_(info) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override;

 private:
  MetricsInterceptorFactory& factory_;
  MethodMetrics& metrics_;
  ServerRpcInfo* info_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(prometheus::Registry& registry)
      : started_(prometheus::BuildCounter()
                     .Name("grpc_server_started_total")
                     .Help("RPCs started on the server.")
                     .Register(registry)),
        handled_(prometheus::BuildCounter()
                     .Name("grpc_server_handled_total")
                     .Help("RPCs completed on the server, whatever their status.")
                     .Register(registry)),
        seconds_(prometheus::BuildHistogram()
                     .Name("grpc_server_handling_seconds")
                     .Help("Time from receiving an RPC to sending its status.")
                     .Register(registry)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new MetricsInterceptor(*this, For(info), info);
  }

  // The counter of `metrics`' calls that ended with `code`.
  prometheus::Counter& Handled(MethodMetrics& metrics, int code) {
    const int index = code >= 0 && code <= 16 ? code : 2;  // UNKNOWN
    prometheus::Counter* counter = metrics.handled[index].load(std::memory_order_acquire);
    if (counter == nullptr) {
      std::lock_guard lock(mu_);
      counter = &handled_.Add({{"grpc_service", metrics.service},
                               {"grpc_method", metrics.method},
                               {"grpc_type", metrics.type},
                               {"grpc_code", GrpcCodeName(index)}});
      metrics.handled[index].store(counter, std::memory_order_release);
    }
    return *counter;
  }

 private:
  MethodMetrics& For(ServerRpcInfo* info) {
    // "/package.Service/Method"
    const absl::string_view full = info->method() != nullptr ? info->method() : "";
    std::lock_guard lock(mu_);
    auto found = by_method_.find(full);
    if (found != by_method_.end()) return *found->second;
    absl::string_view name = full;
    if (!name.empty() && name.front() == '/') name.remove_prefix(1);
    const auto slash = name.find('/');
    auto metrics = std::make_unique<MethodMetrics>();
    metrics->service = std::string(name.substr(0, slash));
    metrics->method =
        slash == absl::string_view::npos ? std::string() : std::string(name.substr(slash + 1));
    metrics->type = TypeName(info->type());
    const std::map<std::string, std::string> labels{{"grpc_service", metrics->service},
                                                    {"grpc_method", metrics->method},
                                                    {"grpc_type", metrics->type}};
    metrics->started = &started_.Add(labels);
    metrics->seconds = &seconds_.Add(
        labels, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    return *by_method_.emplace(std::string(full), std::move(metrics)).first->second;
  }

  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<MethodMetrics>> by_method_ ABSL_GUARDED_BY(mu_);
};

void MetricsInterceptor::Intercept(grpc::experimental::InterceptorBatchMethods* methods) {
  if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
    start_ = std::chrono::steady_clock::now();
    metrics_.started->Increment();
  }
  if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
    grpc::Status status = methods->GetSendStatus();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    factory_.Handled(metrics_, status.error_code()).Increment();
    metrics_.seconds->Observe(seconds);
    const log::Level level = status.ok() ? log::Level::kDebug : log::Level::kInfo;
    if (log::Enabled(level) && (!status.ok() || metrics_.service != "grpc.health.v1.Health")) {
      auto trace = rpc::ServerTraceScope(*info_->server_context());
      log::Write(level, "rpc finished",
                 {{"grpc_service", metrics_.service},
                  {"grpc_method", metrics_.method},
                  {"grpc_code", GrpcCodeName(status.error_code())},
                  {"duration_ms", seconds * 1000}});
    }
  }
  methods->Proceed();
}

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
