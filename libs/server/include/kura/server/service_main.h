#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/server_builder.h>
#include <prometheus/registry.h>

#include "absl/status/statusor.h"
#include "kura/base/clock.h"
#include "kura/config/config.h"
#include "kura/pg/database.h"
#include "kura/pg/migrations.h"

namespace kura::server {

/// The business part of a service: its gRPC services and the objects behind them.
class ServiceModule {
 public:
  virtual ~ServiceModule() = default;
  /// Adds the module's gRPC services to `builder`; they must live as long as the module.
  virtual void Register(grpc::ServerBuilder& builder) = 0;
  /// Called when shutdown begins, before in-flight RPCs drain: end long-lived streams here.
  virtual void Draining() {}
  /// Called once the server has drained its RPCs, before the database closes.
  virtual void Stop() {}
};

/// What a module is built from; everything outlives the module.
struct ServiceContext {
  const std::string& error_domain;  ///< For kura::rpc::ToGrpcStatus, e.g. "kura.ledger".
  const config::Config& config;
  pg::Database& db;
  prometheus::Registry& metrics;
  Clock& clock;
};

/// Describes one kura service process.
struct ServiceSpec {
  std::string name;          ///< Process name and health service name, e.g. "kura-ledger".
  std::string schema;        ///< The PostgreSQL schema it owns, e.g. "ledger".
  std::string error_domain;  ///< google.rpc.ErrorInfo domain, e.g. "kura.ledger".
  const std::vector<pg::MigrationFile>& (*migrations)() = nullptr;
  int grpc_port = 0;                                  ///< Default gRPC port.
  int metrics_port = 0;                               ///< Default metrics port.
  std::map<std::string, std::string> extra_defaults;  ///< The service's own settings.
  /// Builds the module; may be empty while the service has no RPCs of its own.
  std::function<absl::StatusOr<std::unique_ptr<ServiceModule>>(ServiceContext&)> create_module;
};

/// Settings every service shares, with their defaults (ports from `spec`).
std::map<std::string, std::string> CommonDefaults(const ServiceSpec& spec);

/// Runs a service process: parses flags (--config FILE, --migrate-only, --help, --version),
/// loads and validates config, connects to PostgreSQL, migrates the service's schema, then serves
/// gRPC (with grpc.health.v1 and reflection) and /metrics until SIGTERM or SIGINT, when it stops
/// taking calls, drains in-flight RPCs for up to shutdown_grace and exits 0. Health is SERVING
/// while the database answers and NOT_SERVING while it does not. Start-up failures (bad flags,
/// config, unreachable database, failed migration, port in use) print one line and return 2.
int RunServiceMain(int argc, char** argv, const ServiceSpec& spec);

}  // namespace kura::server
