#include "storage/invariants_store.h"

#include <pqxx/pqxx>

#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "storage/fields.h"
#include "storage/queries.h"

namespace kura::ledger::storage {
namespace {

using pg::SqlNumberArray;
using pg::SqlTextArray;

ViolationRow ReadViolation(const char* check, const pqxx::row& r) {
  return ViolationRow{check,
                      r["item_id"].as<int64_t>(),
                      Optional<int32_t>(r["location_id"]),
                      r["bucket"].as<int>(),
                      r["recorded"].as<int64_t>(),
                      r["expected"].as<int64_t>()};
}

}  // namespace

std::vector<ViolationRow> Violations(Tx& tx) {
  const std::pair<const char*, const pg::Query*> checks[] = {
      {"BALANCE_NE_MOVEMENTS", &queries::kBalanceNeMovements},
      {"ITEM_SUM_NONZERO", &queries::kItemSumNonzero},
      {"HELD_NE_PENDING_HOLDS", &queries::kHeldNePendingHolds},
      {"CHANNEL_HELD_NE_PENDING_HOLDS", &queries::kChannelHeldNePendingHolds},
      {"CHANNEL_COMMITTED_NE_MOVEMENTS", &queries::kChannelCommittedNeMovements},
      {"HELD_OUTSIDE_SELLABLE", &queries::kHeldOutsideSellable},
      {"REFERENCE_MISSING", &queries::kDanglingReferences},
  };
  std::vector<ViolationRow> out;
  for (const auto& [check, query] : checks) {
    for (const pqxx::row& r : pg::Exec(tx, *query)) out.push_back(ReadViolation(check, r));
  }
  return out;
}

int64_t CountAccounts(Tx& tx) {
  return pg::Exec1(tx, queries::kCountAccounts)["accounts"].as<int64_t>();
}

void CodesOf(Tx& tx, const std::vector<int64_t>& item_ids, const std::vector<int32_t>& location_ids,
             std::map<int64_t, std::string>& skus, std::map<int32_t, std::string>& codes) {
  for (const pqxx::row& r :
       pg::Exec(tx, queries::kCodesOf, SqlNumberArray(item_ids), SqlNumberArray(location_ids))) {
    if (r["kind"].as<std::string>() == "item") {
      skus[r["id"].as<int64_t>()] = r["code"].as<std::string>();
    } else {
      codes[r["id"].as<int32_t>()] = r["code"].as<std::string>();
    }
  }
}

}  // namespace kura::ledger::storage
