#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kura/server/service_main.h"

namespace kura::connector {

/// Builds kura-connector's module: the webhook HTTP server, the inbox workers and the admin API.
absl::StatusOr<std::unique_ptr<server::ServiceModule>> MakeConnectorModule(
    server::ServiceContext& context);

/// The connector's own settings and their defaults.
std::map<std::string, std::string> ConnectorDefaults();

}  // namespace kura::connector
