#pragma once

// The change feed.
// Each function runs in the caller's transaction.

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <pqxx/transaction_base>

#include "absl/time/time.h"
#include "kura/ledger/v1/change_feed.pb.h"
#include "storage/rows.h"

namespace kura::ledger::storage {

using Tx = pqxx::transaction_base;

std::vector<EventRow> ListEvents(Tx& tx, int64_t after_sequence, int limit);

/// Appends `events` to the change feed; call as the transaction's last step (the feed head is
/// locked until commit, so sequence order is commit order).
void AppendEvents(pqxx::transaction_base& tx,
                  const std::vector<kura::ledger::v1::ChangeEvent>& events);

/// The feed's last sequence.
int64_t FeedHead(Tx& tx);

}  // namespace kura::ledger::storage
