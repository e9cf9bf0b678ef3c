#pragma once

// Movements: what purchase orders still have to deliver.
// Each function runs in the caller's transaction.

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

/// (location, code, units incoming) of `item_id` at `location_ids` (empty: all), by code.
std::vector<std::tuple<int32_t, std::string, int64_t>> IncomingBalances(
    Tx& tx, int64_t item_id, const std::vector<int32_t>& location_ids);

/// The purchase orders into a location, latest expected first.
std::vector<IncomingOrderRow> IncomingOrders(Tx& tx, int64_t item_id, int32_t location_id);

}  // namespace kura::ledger::storage
