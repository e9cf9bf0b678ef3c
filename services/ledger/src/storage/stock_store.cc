#include "storage/stock_store.h"

#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "storage/fields.h"
#include "storage/queries.h"

namespace kura::ledger::storage {
namespace {

using pg::SqlNumberArray;
using pg::SqlTextArray;

}  // namespace

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

}  // namespace kura::ledger::storage
