#pragma once

// The books' invariants (VerifyInvariants).
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

std::vector<ViolationRow> Violations(Tx& tx);

int64_t CountAccounts(Tx& tx);

/// The skus and codes of item and location ids.
void CodesOf(Tx& tx, const std::vector<int64_t>& item_ids, const std::vector<int32_t>& location_ids,
             std::map<int64_t, std::string>& skus, std::map<int32_t, std::string>& codes);

}  // namespace kura::ledger::storage
