#include "storage/catalog_store.h"

#include <pqxx/pqxx>

#include <set>

#include "kura/base/proto_util.h"
#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "storage/queries.h"
#include "storage/stock_store.h"

namespace kura::ledger::storage {
namespace {

using pg::SqlNumberArray;
using pg::SqlTextArray;

// Items without their attributes and barcodes, and their ids.
std::vector<std::pair<int64_t, v1::Item>> ReadItems(const pqxx::result& rows) {
  std::vector<std::pair<int64_t, v1::Item>> items;
  for (const pqxx::row& r : rows) {
    v1::Item item;
    item.set_sku(r["sku"].as<std::string>());
    item.set_name(r["name"].as<std::string>());
    item.set_product_group(r["product_group"].as<std::string>());
    item.set_price_yen(r["price_yen"].as<int64_t>());
    item.set_tax_class(static_cast<v1::TaxClass>(r["tax_class"].as<int>()));
    item.set_unit_cost_yen(r["unit_cost_yen"].as<int64_t>());
    *item.mutable_create_time() = MicrosToProto(r["create_us"].as<int64_t>());
    *item.mutable_update_time() = MicrosToProto(r["update_us"].as<int64_t>());
    items.emplace_back(r["item_id"].as<int64_t>(), std::move(item));
  }
  return items;
}

// Adds the attributes and barcodes.
std::vector<v1::Item> WithDetails(Tx& tx, std::vector<std::pair<int64_t, v1::Item>> items) {
  std::map<int64_t, size_t> index;
  std::vector<int64_t> ids;
  for (size_t i = 0; i < items.size(); ++i) {
    index[items[i].first] = i;
    ids.push_back(items[i].first);
  }
  std::vector<v1::Item> out;
  if (items.empty()) return out;
  for (const pqxx::row& r : pg::Exec(tx, queries::kItemAttributes, SqlNumberArray(ids))) {
    (*items[index.at(r["item_id"].as<int64_t>())]
          .second.mutable_attributes())[r["name"].as<std::string>()] = r["value"].as<std::string>();
  }
  for (const pqxx::row& r : pg::Exec(tx, queries::kItemBarcodes, SqlNumberArray(ids))) {
    items[index.at(r["item_id"].as<int64_t>())].second.add_barcodes(r["barcode"].as<std::string>());
  }
  for (auto& [id, item] : items) out.push_back(std::move(item));
  return out;
}

v1::Location ReadLocation(const pqxx::row& r) {
  v1::Location l;
  l.set_code(r["code"].as<std::string>());
  l.set_name(r["name"].as<std::string>());
  l.set_kind(static_cast<v1::LocationKind>(r["kind"].as<int>()));
  l.set_time_zone(r["time_zone"].as<std::string>());
  l.set_pickup_enabled(r["pickup_enabled"].as<bool>());
  *l.mutable_create_time() = MicrosToProto(r["create_us"].as<int64_t>());
  if (!r["latitude"].is_null()) {
    l.mutable_coordinates()->set_latitude(r["latitude"].as<double>());
    l.mutable_coordinates()->set_longitude(r["longitude"].as<double>());
  }
  return l;
}

// The coordinates as parameters (NULL when unset).
std::optional<double> Latitude(const v1::Location& l) {
  return l.has_coordinates() ? std::optional(l.coordinates().latitude()) : std::nullopt;
}
std::optional<double> Longitude(const v1::Location& l) {
  return l.has_coordinates() ? std::optional(l.coordinates().longitude()) : std::nullopt;
}

}  // namespace

std::optional<int64_t> InsertItem(Tx& tx, const v1::Item& item, absl::Time now) {
  const pqxx::result rows = pg::Exec(
      tx, queries::kInsertItem, item.sku(), item.name(), item.product_group(), item.price_yen(),
      static_cast<int>(item.tax_class()), item.unit_cost_yen(), pg::SqlTime(now));
  if (rows.empty()) return std::nullopt;
  return rows[0]["item_id"].as<int64_t>();
}

std::optional<v1::Item> ItemBySku(Tx& tx, const std::string& sku, bool for_update) {
  auto items = WithDetails(
      tx, ReadItems(
              pg::Exec(tx, for_update ? queries::kItemBySkuForUpdate : queries::kItemBySku, sku)));
  if (items.empty()) return std::nullopt;
  return std::move(items.front());
}

std::vector<v1::Item> ListItems(Tx& tx, const std::string& after_sku, const std::string& group,
                                int limit) {
  return WithDetails(tx, ReadItems(pg::Exec(tx, queries::kListItems, after_sku, group, limit)));
}

int64_t UpdateItem(Tx& tx, const v1::Item& item, absl::Time now) {
  return pg::Exec1(tx, queries::kUpdateItem, item.sku(), item.name(), item.product_group(),
                   item.price_yen(), static_cast<int>(item.tax_class()), item.unit_cost_yen(),
                   pg::SqlTime(now))["item_id"]
      .as<int64_t>();
}

std::optional<std::string> ReplaceItemDetails(Tx& tx, int64_t item_id, const v1::Item& item) {
  pg::Exec(tx, queries::kDeleteAttributes, item_id);
  std::vector<std::string> names, values;
  for (const auto& [name, value] : item.attributes()) {
    names.push_back(name);
    values.push_back(value);
  }
  if (!names.empty()) {
    pg::Exec(tx, queries::kInsertAttributes, item_id, SqlTextArray(names), SqlTextArray(values));
  }
  pg::Exec(tx, queries::kDeleteBarcodes, item_id);
  if (item.barcodes().empty()) return std::nullopt;
  std::set<std::string> inserted;
  for (const pqxx::row& r :
       pg::Exec(tx, queries::kInsertBarcodes, item_id,
                SqlTextArray({item.barcodes().begin(), item.barcodes().end()}))) {
    inserted.insert(r["barcode"].as<std::string>());
  }
  for (const std::string& barcode : item.barcodes()) {
    if (!inserted.count(barcode)) return barcode;
  }
  return std::nullopt;
}

std::optional<std::string> SkuOfBarcode(Tx& tx, const std::string& barcode) {
  const pqxx::result rows = pg::Exec(tx, queries::kSkuOfBarcode, barcode);
  if (rows.empty()) return std::nullopt;
  return rows[0]["sku"].as<std::string>();
}

bool InsertLocation(Tx& tx, const v1::Location& l, absl::Time now) {
  return !pg::Exec(tx, queries::kInsertLocation, l.code(), l.name(), static_cast<int>(l.kind()),
                   l.time_zone(), l.pickup_enabled(), pg::SqlTime(now), Latitude(l), Longitude(l))
              .empty();
}

std::optional<v1::Location> LocationByCode(Tx& tx, const std::string& code) {
  const pqxx::result rows = pg::Exec(tx, queries::kLocationByCode, code);
  if (rows.empty()) return std::nullopt;
  return ReadLocation(rows[0]);
}

std::vector<v1::Location> ListLocations(Tx& tx, const std::string& after_code, int limit) {
  std::vector<v1::Location> out;
  for (const pqxx::row& r : pg::Exec(tx, queries::kListLocations, after_code, limit)) {
    out.push_back(ReadLocation(r));
  }
  return out;
}

void UpdateLocation(Tx& tx, const v1::Location& l) {
  pg::Exec(tx, queries::kUpdateLocation, l.code(), l.name(), l.time_zone(), l.pickup_enabled(),
           Latitude(l), Longitude(l));
}

std::map<std::string, int32_t> LocationIds(Tx& tx, const std::vector<std::string>& codes) {
  return LocationsByCode(tx, codes);
}

std::optional<int32_t> InsertChannel(Tx& tx, const v1::Channel& c, absl::Time now) {
  const pqxx::result rows =
      pg::Exec(tx, queries::kInsertChannel, c.code(), c.name(), static_cast<int>(c.kind()),
               c.respects_safety_stock(), pg::SqlTime(now));
  if (rows.empty()) return std::nullopt;
  return rows[0]["channel_id"].as<int32_t>();
}

std::optional<ChannelRow> ChannelByCode(Tx& tx, const std::string& code, bool for_update) {
  const pqxx::result rows =
      pg::Exec(tx, for_update ? queries::kChannelByCodeForUpdate : queries::kChannelByCode, code);
  if (rows.empty()) return std::nullopt;
  const pqxx::row& r = rows[0];
  ChannelRow out;
  out.channel_id = r["channel_id"].as<int32_t>();
  out.channel.set_code(r["code"].as<std::string>());
  out.channel.set_name(r["name"].as<std::string>());
  out.channel.set_kind(static_cast<v1::ChannelKind>(r["kind"].as<int>()));
  out.channel.set_respects_safety_stock(r["respects_safety_stock"].as<bool>());
  *out.channel.mutable_create_time() = MicrosToProto(r["create_us"].as<int64_t>());
  for (const pqxx::row& l : pg::Exec(tx, queries::kChannelLocationCodes, out.channel_id)) {
    out.channel.add_location_codes(l["code"].as<std::string>());
  }
  return out;
}

std::vector<std::string> ListChannelCodes(Tx& tx, const std::string& after_code, int limit) {
  std::vector<std::string> codes;
  for (const pqxx::row& r : pg::Exec(tx, queries::kListChannelCodes, after_code, limit)) {
    codes.push_back(r["code"].as<std::string>());
  }
  return codes;
}

int32_t UpdateChannel(Tx& tx, const v1::Channel& c) {
  return pg::Exec1(tx, queries::kUpdateChannel, c.code(), c.name(),
                   c.respects_safety_stock())["channel_id"]
      .as<int32_t>();
}

void ReplaceChannelLocations(Tx& tx, int32_t channel_id, const std::vector<int32_t>& location_ids) {
  pg::Exec(tx, queries::kDeleteChannelLocations, channel_id);
  if (!location_ids.empty()) {
    pg::Exec(tx, queries::kInsertChannelLocations, channel_id, SqlNumberArray(location_ids));
  }
}

}  // namespace kura::ledger::storage
