#pragma once

#include <map>
#include <set>
#include <string>

#include <pqxx/transaction_base>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/base/clock.h"
#include "kura/pg/database.h"
#include "kura/reservation/v1/limits.pb.h"
#include "kura/reservation/v1/orders.pb.h"

namespace kura::reservation {

/// Limited items: their settings (LimitedItemService) and the counting PlaceOrder does.
/// Thread-safe.
class LimitedItems {
 public:
  LimitedItems(pg::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  absl::StatusOr<v1::LimitedItem> Set(const v1::SetLimitedItemRequest& request);
  absl::StatusOr<v1::LimitedItem> Get(const std::string& sku);
  absl::StatusOr<v1::ListLimitedItemsResponse> List();
  /// Counts a register sale or return against the caps (see LimitedItemService.CountStoreSale).
  absl::StatusOr<v1::CountStoreSaleResponse> CountStoreSale(const v1::CountStoreSaleRequest& r);

 private:
  pg::Database& db_;
  const Clock& clock_;
};

/// In PlaceOrder's transaction: counts the lines of limited items against their window, total
/// cap and `customer`'s limit (row locks make concurrent orders of one customer take turns).
/// Returns the SKUs it counted, each with the units counted against the customer's limit (0 when
/// the item has none); fails FAILED_PRECONDITION SALE_WINDOW_CLOSED,
/// TOTAL_CAP_REACHED or PER_CUSTOMER_LIMIT (the caller's transaction then rolls back), or
/// INVALID_ARGUMENT when a limited item is ordered without a customer.
absl::StatusOr<std::map<std::string, int64_t>> CountLimits(
    pqxx::transaction_base& tx, const std::string& customer,
    const google::protobuf::RepeatedPtrField<v1::OrderLine>& lines, absl::Time now);

/// In the transaction that ends an order (cancelled, expired, dropped): gives back the units of
/// its counted lines that were not handed over.
void ReleaseLimits(pqxx::transaction_base& tx, int64_t order_id);

}  // namespace kura::reservation
