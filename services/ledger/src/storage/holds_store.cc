#include "storage/holds_store.h"

#include <pqxx/pqxx>

#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "storage/queries.h"

namespace kura::ledger::storage {
namespace {

HoldRow ReadHold(const pqxx::row& r) {
  HoldRow h;
  h.hold_id = r["hold_id"].as<std::string>();
  h.item_id = r["item_id"].as<int64_t>();
  h.location_id = r["location_id"].as<int32_t>();
  h.channel_id = r["channel_id"].as<int32_t>();
  h.sku = r["sku"].as<std::string>();
  h.location = r["location"].as<std::string>();
  h.channel = r["channel"].as<std::string>();
  h.quantity = r["quantity"].as<int64_t>();
  h.posted_quantity = r["posted_quantity"].as<int64_t>();
  h.state = static_cast<v1::HoldState>(r["state"].as<int>());
  h.expires_at = absl::FromUnixMicros(r["expires_us"].as<int64_t>());
  h.order_ref = r["order_ref"].as<std::string>();
  h.customer_ref = r["customer_ref"].as<std::string>();
  h.create_time = absl::FromUnixMicros(r["create_us"].as<int64_t>());
  if (!r["end_us"].is_null()) h.end_time = absl::FromUnixMicros(r["end_us"].as<int64_t>());
  return h;
}

}  // namespace

std::optional<HoldRow> GetHold(Tx& tx, const std::string& hold_id) {
  const pqxx::result rows = pg::Exec(tx, queries::kGetHold, hold_id);
  if (rows.empty()) return std::nullopt;
  return ReadHold(rows[0]);
}

std::vector<HoldRow> ListHolds(Tx& tx, int state, const std::string& sku,
                               const std::string& order_ref, int64_t before_create_us,
                               const std::string& before_hold_id, int limit) {
  std::vector<HoldRow> holds;
  for (const pqxx::row& r : pg::Exec(tx, queries::kListHolds, state, sku, order_ref,
                                     before_create_us, before_hold_id, limit)) {
    holds.push_back(ReadHold(r));
  }
  return holds;
}

std::vector<std::string> DueHolds(Tx& tx, absl::Time now, int limit) {
  std::vector<std::string> ids;
  for (const pqxx::row& r : pg::Exec(tx, queries::kDueHolds, pg::SqlTime(now), limit)) {
    ids.push_back(r["hold_id"].as<std::string>());
  }
  return ids;
}

double SweeperLagSeconds(Tx& tx) {
  return pg::Exec1(tx, queries::kSweeperLag)["lag_seconds"].as<double>();
}

}  // namespace kura::ledger::storage
