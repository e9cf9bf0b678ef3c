#pragma once

// The batch writer's storage: one transaction loads (two queries) and writes (one query)
// everything a batch of mutations decides.

#include <pqxx/transaction_base>

#include "absl/time/time.h"
#include "snapshot.h"

namespace kura::ledger::storage {

/// Locks and reads what `wants` names (lock_batch, then read_batch). Codes that name nothing
/// are simply absent from the snapshot; rows wanted that do not exist yet are zero rows, listed
/// in new_balances and new_usage.
Snapshot LoadBatch(pqxx::transaction_base& tx, const Wants& wants);

/// Writes `changes` over `snapshot` at `now` (write_batch). Returns false when a concurrent
/// transaction created one of the new rows, took one of the new hold ids or stored one of the
/// new request ids first: the batch must then be rolled back and run again.
bool WriteBatch(pqxx::transaction_base& tx, const Snapshot& snapshot, const Changes& changes,
                absl::Time now);

}  // namespace kura::ledger::storage
