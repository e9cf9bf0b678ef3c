#pragma once

// The ledger's read queries (holds, stock, incoming purchase orders, invariants, the change
// feed), returning typed rows. Each runs in the caller's (read) transaction.

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <pqxx/transaction_base>

#include "absl/time/time.h"
#include "storage/rows.h"

namespace kura::ledger::storage {

using Tx = pqxx::transaction_base;

// Holds.
std::optional<HoldRow> GetHold(Tx& tx, const std::string& hold_id);
/// Newest first; 0 / empty filters match all; after (create time in µs, hold id) exclusive.
std::vector<HoldRow> ListHolds(Tx& tx, int state, const std::string& sku,
                               const std::string& order_ref, int64_t before_create_us,
                               const std::string& before_hold_id, int limit);
std::vector<std::string> DueHolds(Tx& tx, absl::Time now, int limit);
double SweeperLagSeconds(Tx& tx);

// Stock.
std::map<std::string, int64_t> ItemsBySku(Tx& tx, const std::vector<std::string>& skus);
std::map<std::string, int32_t> LocationsByCode(Tx& tx, const std::vector<std::string>& codes);
std::map<std::string, ChannelRef> ChannelsByCode(Tx& tx, const std::vector<std::string>& codes);
/// Per item, the user locations that have an account of it or serve one of `channel_codes`:
/// (item, location, code), by item then code.
std::vector<std::tuple<int64_t, int32_t, std::string>> LocationsOfItems(
    Tx& tx, const std::vector<int64_t>& item_ids, const std::vector<std::string>& channel_codes);
struct Stock {
  std::map<AccountKey, BalanceRow> balances;
  std::map<Place, int64_t> safety;
  std::map<UsageKey, UsageRow> usage;
};
Stock StockOf(Tx& tx, const std::vector<int64_t>& item_ids,
              const std::vector<int32_t>& location_ids, const std::vector<int32_t>& channel_ids);

// Incoming purchase orders.
/// (location, code, units incoming) of `item_id` at `location_ids` (empty: all), by code.
std::vector<std::tuple<int32_t, std::string, int64_t>> IncomingBalances(
    Tx& tx, int64_t item_id, const std::vector<int32_t>& location_ids);
/// The purchase orders into a location, latest expected first.
std::vector<IncomingOrderRow> IncomingOrders(Tx& tx, int64_t item_id, int32_t location_id);

// Invariants.
std::vector<ViolationRow> Violations(Tx& tx);
int64_t CountAccounts(Tx& tx);
/// The skus and codes of item and location ids.
void CodesOf(Tx& tx, const std::vector<int64_t>& item_ids, const std::vector<int32_t>& location_ids,
             std::map<int64_t, std::string>& skus, std::map<int32_t, std::string>& codes);

// The change feed.
std::vector<EventRow> ListEvents(Tx& tx, int64_t after_sequence, int limit);

}  // namespace kura::ledger::storage
