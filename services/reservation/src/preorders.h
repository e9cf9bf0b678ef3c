#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/base/clock.h"
#include "kura/pg/database.h"
#include "kura/reservation/v1/orders.pb.h"
#include "kura/reservation/v1/preorders.pb.h"
#include "ledger_client.h"

namespace kura::reservation {

/// Incoming lots of one item at every location: (expected at, units), earliest first.
using IncomingLots = std::vector<std::pair<absl::Time, int64_t>>;

/// The items' incoming lots at `locations` (every location when empty) from the ledger
/// (ListIncoming, in chunks of 1000 items); NOT_FOUND ITEM_NOT_FOUND for an unknown item.
absl::StatusOr<std::map<std::string, IncomingLots>> FetchIncoming(
    const LedgerClient& ledger, const std::vector<std::string>& skus,
    const std::vector<std::string>& locations, std::optional<absl::Time> deadline);

/// Units in all the lots.
int64_t TotalUnits(const IncomingLots& lots);

/// When `units` units are expected: the date of the lot whose running total reaches them;
/// nullopt when the lots do not add up to them.
std::optional<absl::Time> CoveredBy(const IncomingLots& lots, int64_t units);

/// As CoveredBy, but when the lots fall short (an overbooked pre-order), the last lot's date;
/// nullopt only when nothing is incoming.
std::optional<absl::Time> ExpectedBy(const IncomingLots& lots, int64_t units);

/// Pre-order settings (PreorderService), read with the ledger's incoming stock. Thread-safe.
class Preorders {
 public:
  Preorders(pg::Database& db, const Clock& clock, const LedgerClient& ledger)
      : db_(db), clock_(clock), ledger_(ledger) {}

  absl::StatusOr<v1::PreorderItem> Set(const v1::SetPreorderItemRequest& request,
                                       std::optional<absl::Time> deadline);
  absl::StatusOr<v1::PreorderItem> Get(const std::string& sku, std::optional<absl::Time> deadline);
  absl::StatusOr<v1::ListPreorderItemsResponse> List(std::optional<absl::Time> deadline);

 private:
  pg::Database& db_;
  const Clock& clock_;
  const LedgerClient& ledger_;
};

/// In PlaceOrder's transaction, after CountLimits: counts a pre-order's lines against each item's
/// room (incoming plus overbooking, less what is pre-ordered), the item rows locked in SKU order
/// so that concurrent pre-orders take turns. Returns when the order's units are expected (the
/// latest of its lines). FAILED_PRECONDITION NOT_PREORDERABLE or PREORDER_CAP_REACHED.
absl::StatusOr<std::optional<absl::Time>> CountPreorders(
    pqxx::transaction_base& tx, const google::protobuf::RepeatedPtrField<v1::OrderLine>& lines,
    const std::map<std::string, IncomingLots>& incoming);

/// Units of the items on pre-orders that wait for stock (only items that have some).
absl::StatusOr<std::map<std::string, int64_t>> WaitingPreorders(
    pqxx::transaction_base& tx, const std::vector<std::string>& skus);

/// In the transaction that cancels or converts a waiting pre-order (after ReleaseLimits): gives
/// its units back to the items' pre-order room.
void ReleasePreorders(pqxx::transaction_base& tx, int64_t order_id);

}  // namespace kura::reservation
