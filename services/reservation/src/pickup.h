#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/reservation/v1/pickup.pb.h"
#include "ledger_client.h"
#include "orders.h"

namespace kura::reservation {

/// The location `code`, which must take pickups: NOT_FOUND LOCATION_NOT_FOUND (the ledger's) or
/// FAILED_PRECONDITION PICKUP_NOT_ENABLED.
absl::StatusOr<ledger_v1::Location> PickupStore(const LedgerClient& ledger, const std::string& code,
                                                std::optional<absl::Time> deadline);

/// Great-circle distance in kilometres.
double DistanceKm(const ledger_v1::GeoPoint& a, const ledger_v1::GeoPoint& b);

/// Buy online, pick up in store: where and when lines can be collected, and the hand-over.
/// Thread-safe.
class Pickup {
 public:
  Pickup(Orders& orders, const LedgerClient& ledger) : orders_(orders), ledger_(ledger) {}

  absl::StatusOr<v1::CheckPickupResponse> Check(const v1::CheckPickupRequest& request,
                                                std::optional<absl::Time> deadline);
  absl::StatusOr<v1::Order> Complete(const v1::CompletePickupRequest& request,
                                     std::optional<absl::Time> deadline);

 private:
  Orders& orders_;
  const LedgerClient& ledger_;
};

}  // namespace kura::reservation
