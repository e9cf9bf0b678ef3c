#pragma once

// Idempotent requests of per-request transactions (the catalog's mutations): a request id is
// claimed once, with its request; its response stored with its effect.

#include <optional>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

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

}  // namespace kura::ledger::storage
