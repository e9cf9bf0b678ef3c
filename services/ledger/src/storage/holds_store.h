#pragma once

// Holds: one by id, a filtered page, those due for expiry, and how far behind the sweeper is.
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

std::optional<HoldRow> GetHold(Tx& tx, const std::string& hold_id);

/// Newest first; 0 / empty filters match all; after (create time in µs, hold id) exclusive.
std::vector<HoldRow> ListHolds(Tx& tx, int state, const std::string& sku,
                               const std::string& order_ref, int64_t before_create_us,
                               const std::string& before_hold_id, int limit);

std::vector<std::string> DueHolds(Tx& tx, absl::Time now, int limit);

double SweeperLagSeconds(Tx& tx);

}  // namespace kura::ledger::storage
