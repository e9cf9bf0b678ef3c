#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kura/server/service_main.h"

namespace kura::reservation {

/// Builds kura-reservation's module: OrderService over the service's database and kura-ledger,
/// and the order-expiry sweeper.
absl::StatusOr<std::unique_ptr<server::ServiceModule>> MakeReservationModule(
    server::ServiceContext& context);

/// The reservation's own settings and their defaults.
std::map<std::string, std::string> ReservationDefaults();

}  // namespace kura::reservation
