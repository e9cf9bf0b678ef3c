#include "storage/reads.h"

#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "storage/queries.h"

namespace kura::ledger::storage {
namespace {

using pg::SqlNumberArray;
using pg::SqlTextArray;

template <typename T>
std::optional<T> Optional(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<T>(f.as<T>());
}

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

ViolationRow ReadViolation(const char* check, const pqxx::row& r) {
  return ViolationRow{check,
                      r["item_id"].as<int64_t>(),
                      Optional<int32_t>(r["location_id"]),
                      r["bucket"].as<int>(),
                      r["recorded"].as<int64_t>(),
                      r["expected"].as<int64_t>()};
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

std::map<std::string, int64_t> ItemsBySku(Tx& tx, const std::vector<std::string>& skus) {
  std::map<std::string, int64_t> items;
  for (const pqxx::row& r : pg::Exec(tx, queries::kItemsBySku, SqlTextArray(skus))) {
    items[r["sku"].as<std::string>()] = r["item_id"].as<int64_t>();
  }
  return items;
}

std::map<std::string, int32_t> LocationsByCode(Tx& tx, const std::vector<std::string>& codes) {
  std::map<std::string, int32_t> locations;
  for (const pqxx::row& r : pg::Exec(tx, queries::kLocationsByCode, SqlTextArray(codes))) {
    locations[r["code"].as<std::string>()] = r["location_id"].as<int32_t>();
  }
  return locations;
}

std::map<std::string, ChannelRef> ChannelsByCode(Tx& tx, const std::vector<std::string>& codes) {
  std::map<std::string, ChannelRef> channels;
  for (const pqxx::row& r : pg::Exec(tx, queries::kChannelsByCode, SqlTextArray(codes))) {
    ChannelRef c{r["channel_id"].as<int32_t>(),
                 r["code"].as<std::string>(),
                 static_cast<v1::ChannelKind>(r["kind"].as<int>()),
                 r["respects_safety_stock"].as<bool>(),
                 {}};
    // An integer array literal: {1,2,3}.
    const std::string serving = r["serving"].as<std::string>();
    for (absl::string_view id : absl::StrSplit(
             absl::string_view(serving).substr(1, serving.size() - 2), ',', absl::SkipEmpty())) {
      int32_t location = 0;
      if (absl::SimpleAtoi(id, &location)) c.serving.insert(location);
    }
    channels[c.code] = std::move(c);
  }
  return channels;
}

std::vector<std::tuple<int64_t, int32_t, std::string>> LocationsOfItems(
    Tx& tx, const std::vector<int64_t>& item_ids, const std::vector<std::string>& channel_codes) {
  std::vector<std::tuple<int64_t, int32_t, std::string>> out;
  for (const pqxx::row& r : pg::Exec(tx, queries::kLocationsOfItems, SqlNumberArray(item_ids),
                                     SqlTextArray(channel_codes))) {
    out.emplace_back(r["item_id"].as<int64_t>(), r["location_id"].as<int32_t>(),
                     r["code"].as<std::string>());
  }
  return out;
}

Stock StockOf(Tx& tx, const std::vector<int64_t>& item_ids,
              const std::vector<int32_t>& location_ids, const std::vector<int32_t>& channel_ids) {
  Stock stock;
  for (const pqxx::row& r : pg::Exec(tx, queries::kStockOf, SqlNumberArray(item_ids),
                                     SqlNumberArray(location_ids), SqlNumberArray(channel_ids))) {
    const std::string kind = r["kind"].as<std::string>();
    const int64_t item = r["item_id"].as<int64_t>();
    const int32_t location = r["location_id"].as<int32_t>();
    if (kind == "balance") {
      stock.balances[{item, location, r["bucket"].as<int>()}] =
          BalanceRow{r["on_hand"].as<int64_t>(), r["held"].as<int64_t>()};
    } else if (kind == "safety") {
      stock.safety[{item, location}] = r["on_hand"].as<int64_t>();
    } else if (kind == "usage") {
      stock.usage[{r["channel_id"].as<int32_t>(), item, location}] =
          UsageRow{r["held"].as<int64_t>(), r["committed"].as<int64_t>(),
                   Optional<int64_t>(r["quota"]), Optional<int>(r["ratio_bp"])};
    }
  }
  return stock;
}

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

std::vector<EventRow> ListEvents(Tx& tx, int64_t after_sequence, int limit) {
  std::vector<EventRow> out;
  for (const pqxx::row& r : pg::Exec(tx, queries::kListEvents, after_sequence, limit)) {
    out.push_back({r["sequence"].as<int64_t>(), absl::FromUnixMicros(r["commit_us"].as<int64_t>()),
                   absl::HexStringToBytes(r["payload_hex"].as<std::string>())});
  }
  return out;
}

}  // namespace kura::ledger::storage
