#include "storage/movements_store.h"

#include <pqxx/pqxx>

#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "storage/queries.h"

namespace kura::ledger::storage {
namespace {

using pg::SqlNumberArray;
using pg::SqlTextArray;

}  // namespace

std::vector<std::tuple<int32_t, std::string, int64_t>> IncomingBalances(
    Tx& tx, int64_t item_id, const std::vector<int32_t>& location_ids) {
  std::vector<std::tuple<int32_t, std::string, int64_t>> out;
  for (const pqxx::row& r :
       pg::Exec(tx, queries::kIncomingBalances, item_id, SqlNumberArray(location_ids))) {
    out.emplace_back(r["location_id"].as<int32_t>(), r["code"].as<std::string>(),
                     r["on_hand"].as<int64_t>());
  }
  return out;
}

std::vector<IncomingOrderRow> IncomingOrders(Tx& tx, int64_t item_id, int32_t location_id) {
  std::vector<IncomingOrderRow> out;
  for (const pqxx::row& r : pg::Exec(tx, queries::kIncomingOrders, item_id, location_id)) {
    out.push_back({r["quantity"].as<int64_t>(),
                   absl::FromUnixMicros(r["expected_us"].as<int64_t>()),
                   r["source_ref"].as<std::string>()});
  }
  return out;
}

}  // namespace kura::ledger::storage
