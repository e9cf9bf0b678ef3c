#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kura/server/service_main.h"

namespace kura::pos {

/// Builds kura-pos-gateway's module: the register API (PosGatewayService) and its
/// administration (PosAdminService) over the service's database, kura-ledger and
/// kura-reservation.
absl::StatusOr<std::unique_ptr<server::ServiceModule>> MakePosModule(
    server::ServiceContext& context);

/// The gateway's own settings and their defaults.
std::map<std::string, std::string> PosDefaults();

}  // namespace kura::pos
