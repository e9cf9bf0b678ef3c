#include "storage/requests_store.h"

#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "kura/pg/query.h"
#include "storage/queries.h"

namespace kura::ledger::storage {

bool ClaimRequest(pqxx::transaction_base& tx, const std::string& request_id,
                  const std::string& method, const std::string& request) {
  return !pg::Exec(tx, queries::kClaimRequest, request_id, method, absl::BytesToHexString(request))
              .empty();
}

StoredAnswer StoredRequest(pqxx::transaction_base& tx, const std::string& request_id,
                           const std::string& method, const std::string& request) {
  const pqxx::row r =
      pg::Exec1(tx, queries::kStoredRequest, request_id, method, absl::BytesToHexString(request));
  return {r["same"].as<bool>(), absl::HexStringToBytes(r["response_hex"].as<std::string>(""))};
}

void StoreResponse(pqxx::transaction_base& tx, const std::string& request_id,
                   const std::string& response) {
  pg::Exec(tx, queries::kStoreResponse, request_id, absl::BytesToHexString(response));
}

}  // namespace kura::ledger::storage
