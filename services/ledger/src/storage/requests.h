#pragma once

// What a per-request transaction (the catalog's mutations) needs besides its own rows: its
// request id claimed once, and its change events appended to the feed.

#include <optional>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "kura/ledger/v1/change_feed.pb.h"

namespace kura::ledger::storage {

/// Claims `request_id` for `method` and `request` (bytes). A concurrent first request with the
/// same id makes this wait until it commits or rolls back. True when claimed (a new id).
bool ClaimRequest(pqxx::transaction_base& tx, const std::string& request_id,
                  const std::string& method, const std::string& request);

/// The stored answer of a claimed-before id: whether it was for the same method and bytes, and
/// its response (bytes).
struct StoredAnswer {
  bool same = false;
  std::string response;
};
StoredAnswer StoredRequest(pqxx::transaction_base& tx, const std::string& request_id,
                           const std::string& method, const std::string& request);

/// Stores the response of a claimed id.
void StoreResponse(pqxx::transaction_base& tx, const std::string& request_id,
                   const std::string& response);

/// Appends `events` to the change feed; call as the transaction's last step (the feed head is
/// locked until commit, so sequence order is commit order).
void AppendEvents(pqxx::transaction_base& tx,
                  const std::vector<kura::ledger::v1::ChangeEvent>& events);

}  // namespace kura::ledger::storage
