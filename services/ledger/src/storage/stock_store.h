#pragma once

// Stock: the codes of items, locations and channels resolved, and the balances, safety stocks
// and channel usage rows of items at locations.
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

}  // namespace kura::ledger::storage
