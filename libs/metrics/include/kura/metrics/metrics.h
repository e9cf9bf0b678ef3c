#pragma once

#include <memory>
#include <string>

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/status/statusor.h"

namespace prometheus {
class Exposer;
}

namespace kura::metrics {

/// A Prometheus registry served as text on http://ADDRESS/metrics.
class MetricsServer {
 public:
  /// Starts serving on `listen_address` ("host:port"; port 0 picks a free one). Returns
  /// UNAVAILABLE when the address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& listen_address);
  ~MetricsServer();

  /// The registry whose metrics are served; lives as long as this server.
  prometheus::Registry& registry() { return *registry_; }
  /// The port actually bound.
  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

/// Creates the interceptor that counts every RPC the server handles, under the names of
/// go-grpc-prometheus that dashboards expect: grpc_server_started_total,
/// grpc_server_handled_total{grpc_service,grpc_method,grpc_type,grpc_code} and the
/// grpc_server_handling_seconds histogram. It also logs each finished call at debug level
/// (errors at info) with the trace id of its `traceparent`.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcServerMetricsInterceptorFactory(prometheus::Registry& registry);

/// Returns the canonical upper-case name of a gRPC status code, e.g. "FAILED_PRECONDITION".
const char* GrpcCodeName(int code);

}  // namespace kura::metrics
