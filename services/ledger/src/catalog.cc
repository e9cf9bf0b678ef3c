#include "catalog.h"

#include <pqxx/pqxx>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "kura/base/error.h"
#include "store_support.h"

namespace kura::ledger {
namespace {

constexpr int64_t kMaxPriceYen = 10'000'000'000;

int PageSize(int32_t asked) { return asked <= 0 ? 100 : std::min(asked, 1000); }

absl::Status CheckText(absl::string_view field, const std::string& value, size_t max,
                       bool required) {
  if (required && value.empty()) return InvalidArgument(field, absl::StrCat(field, " is required"));
  if (value.size() > max) {
    return InvalidArgument(field, absl::StrCat(field, " exceeds ", max, " bytes"));
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgument(field, absl::StrCat(field, " may not contain control characters"));
    }
  }
  return absl::OkStatus();
}

bool Masked(const google::protobuf::FieldMask& mask, const std::string& field) {
  if (mask.paths().empty()) return true;
  return std::find(mask.paths().begin(), mask.paths().end(), field) != mask.paths().end();
}

absl::Status CheckMask(const google::protobuf::FieldMask& mask,
                       std::initializer_list<const char*> allowed) {
  for (const auto& path : mask.paths()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || path == a;
    if (!ok) {
      return InvalidArgument("update_mask",
                             absl::StrCat("update_mask: \"", path, "\" cannot be updated"));
    }
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------------------------ items

absl::Status ValidateItem(const v1::Item& item) {
  RETURN_IF_ERROR(ValidateSku("item.sku", item.sku()));
  RETURN_IF_ERROR(CheckText("item.name", item.name(), 200, true));
  RETURN_IF_ERROR(CheckText("item.product_group", item.product_group(), 64, false));
  if (item.attributes_size() > 20)
    return InvalidArgument("item.attributes", "at most 20 attributes");
  for (const auto& [name, value] : item.attributes()) {
    RETURN_IF_ERROR(ValidateCode("item.attributes", name));
    RETURN_IF_ERROR(CheckText("item.attributes", value, 64, true));
  }
  if (item.barcodes_size() > 10) return InvalidArgument("item.barcodes", "at most 10 barcodes");
  std::set<std::string> seen;
  for (const auto& barcode : item.barcodes()) {
    RETURN_IF_ERROR(ValidateBarcode("item.barcodes", barcode));
    if (!seen.insert(barcode).second) {
      return InvalidArgument("item.barcodes",
                             absl::StrCat("barcode ", barcode, " is listed twice"));
    }
  }
  if (item.price_yen() < 0 || item.price_yen() > kMaxPriceYen) {
    return InvalidArgument("item.price_yen", "item.price_yen must be 0 to 10,000,000,000");
  }
  if (item.unit_cost_yen() < 0 || item.unit_cost_yen() > kMaxPriceYen) {
    return InvalidArgument("item.unit_cost_yen", "item.unit_cost_yen must be 0 to 10,000,000,000");
  }
  if (item.tax_class() != v1::TAX_CLASS_STANDARD && item.tax_class() != v1::TAX_CLASS_REDUCED) {
    return InvalidArgument("item.tax_class", "item.tax_class must be STANDARD or REDUCED");
  }
  return absl::OkStatus();
}

const std::string kItemColumns =
    absl::StrCat("item_id, sku, name, product_group, price_yen, tax_class, unit_cost_yen, ",
                 Micros("create_time"), ", ", Micros("update_time"));

std::vector<v1::Item> LoadItems(Tx& tx, const pqxx::result& rows) {
  std::vector<v1::Item> items;
  std::map<int64_t, size_t> index;
  std::vector<int64_t> ids;
  for (const auto& r : rows) {
    v1::Item& item = items.emplace_back();
    index[r[0].as<int64_t>()] = items.size() - 1;
    ids.push_back(r[0].as<int64_t>());
    item.set_sku(r[1].as<std::string>());
    item.set_name(r[2].as<std::string>());
    item.set_product_group(r[3].as<std::string>());
    item.set_price_yen(r[4].as<int64_t>());
    item.set_tax_class(static_cast<v1::TaxClass>(r[5].as<int>()));
    item.set_unit_cost_yen(r[6].as<int64_t>());
    *item.mutable_create_time() = MicrosToProto(r[7].as<int64_t>());
    *item.mutable_update_time() = MicrosToProto(r[8].as<int64_t>());
  }
  if (items.empty()) return items;
  std::string id_array = SqlNumberArray(ids);
  for (const auto& r : tx.exec_params(
           "SELECT item_id, name, value FROM item_attributes WHERE item_id = ANY($1::bigint[])",
           id_array)) {
    (*items[index[r[0].as<int64_t>()]].mutable_attributes())[r[1].as<std::string>()] =
        r[2].as<std::string>();
  }
  for (const auto& r : tx.exec_params("SELECT item_id, barcode FROM barcodes "
                                      "WHERE item_id = ANY($1::bigint[]) ORDER BY barcode",
                                      id_array)) {
    items[index[r[0].as<int64_t>()]].add_barcodes(r[1].as<std::string>());
  }
  return items;
}

absl::StatusOr<v1::Item> LoadItem(Tx& tx, const std::string& sku, bool for_update = false) {
  auto rows = tx.exec_params(absl::StrCat("SELECT ", kItemColumns, " FROM items WHERE sku = $1",
                                          for_update ? " FOR NO KEY UPDATE" : ""),
                             sku);
  if (rows.empty()) {
    return MakeError(absl::StatusCode::kNotFound, "ITEM_NOT_FOUND",
                     absl::StrCat("no item with sku \"", sku, "\""), {{"sku", sku}});
  }
  return LoadItems(tx, rows).front();
}

// Writes attributes and barcodes of item `id` (replacing what it had).
absl::Status WriteItemDetails(Tx& tx, int64_t id, const v1::Item& item) {
  tx.exec_params("DELETE FROM item_attributes WHERE item_id = $1", id);
  for (const auto& [name, value] : item.attributes()) {
    tx.exec_params("INSERT INTO item_attributes (item_id, name, value) VALUES ($1, $2, $3)", id,
                   name, value);
  }
  tx.exec_params("DELETE FROM barcodes WHERE item_id = $1", id);
  for (const auto& barcode : item.barcodes()) {
    auto inserted = tx.exec_params(
        "INSERT INTO barcodes (barcode, item_id) VALUES ($1, $2) ON CONFLICT DO NOTHING "
        "RETURNING 1",
        barcode, id);
    if (inserted.empty()) {
      return MakeError(absl::StatusCode::kAlreadyExists, "BARCODE_TAKEN",
                       absl::StrCat("barcode ", barcode, " belongs to another item"),
                       {{"barcode", barcode}});
    }
  }
  return absl::OkStatus();
}

// -------------------------------------------------------------------------- locations

absl::Status ValidateLocation(const v1::Location& location) {
  RETURN_IF_ERROR(ValidateCode("location.code", location.code()));
  RETURN_IF_ERROR(CheckText("location.name", location.name(), 200, true));
  if (location.kind() == v1::LOCATION_KIND_UNSPECIFIED ||
      !v1::LocationKind_IsValid(location.kind())) {
    return InvalidArgument("location.kind", "location.kind must be STORE, WAREHOUSE or VIRTUAL");
  }
  absl::TimeZone tz;
  if (location.time_zone().empty() || !absl::LoadTimeZone(location.time_zone(), &tz)) {
    return InvalidArgument("location.time_zone",
                           absl::StrCat("location.time_zone \"", location.time_zone(),
                                        "\" is not an IANA time zone such as Asia/Tokyo"));
  }
  if (location.has_coordinates()) {
    const auto& p = location.coordinates();
    if (!(p.latitude() >= -90 && p.latitude() <= 90 && p.longitude() >= -180 &&
          p.longitude() <= 180)) {
      return InvalidArgument("location.coordinates",
                             "latitude must be within ±90 degrees and longitude within ±180");
    }
  }
  return absl::OkStatus();
}

const std::string kLocationColumns = absl::StrCat("code, name, kind, time_zone, pickup_enabled, ",
                                                  Micros("create_time"), ", latitude, longitude");

// The coordinates as SQL parameters (NULL when unset).
std::optional<double> Latitude(const v1::Location& l) {
  return l.has_coordinates() ? std::optional(l.coordinates().latitude()) : std::nullopt;
}
std::optional<double> Longitude(const v1::Location& l) {
  return l.has_coordinates() ? std::optional(l.coordinates().longitude()) : std::nullopt;
}

v1::Location ToLocation(const pqxx::row& r) {
  v1::Location l;
  l.set_code(r[0].as<std::string>());
  l.set_name(r[1].as<std::string>());
  l.set_kind(static_cast<v1::LocationKind>(r[2].as<int>()));
  l.set_time_zone(r[3].as<std::string>());
  l.set_pickup_enabled(r[4].as<bool>());
  *l.mutable_create_time() = MicrosToProto(r[5].as<int64_t>());
  if (!r[6].is_null()) {
    l.mutable_coordinates()->set_latitude(r[6].as<double>());
    l.mutable_coordinates()->set_longitude(r[7].as<double>());
  }
  return l;
}

absl::StatusOr<v1::Location> LoadLocation(Tx& tx, const std::string& code) {
  auto rows = tx.exec_params(absl::StrCat("SELECT ", kLocationColumns,
                                          " FROM locations WHERE code = $1 AND NOT is_system"),
                             code);
  if (rows.empty()) {
    return MakeError(absl::StatusCode::kNotFound, "LOCATION_NOT_FOUND",
                     absl::StrCat("no location with code \"", code, "\""), {{"location", code}});
  }
  return ToLocation(rows[0]);
}

// --------------------------------------------------------------------------- channels

absl::Status ValidateChannel(const v1::Channel& channel) {
  RETURN_IF_ERROR(ValidateCode("channel.code", channel.code()));
  RETURN_IF_ERROR(CheckText("channel.name", channel.name(), 200, true));
  if (channel.kind() == v1::CHANNEL_KIND_UNSPECIFIED || !v1::ChannelKind_IsValid(channel.kind())) {
    return InvalidArgument("channel.kind", "channel.kind must be STORE_REGISTER or EC_SITE");
  }
  std::set<std::string> seen;
  for (const auto& code : channel.location_codes()) {
    RETURN_IF_ERROR(ValidateCode("channel.location_codes", code));
    if (!seen.insert(code).second) {
      return InvalidArgument("channel.location_codes",
                             absl::StrCat("location ", code, " is listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Channel> LoadChannel(Tx& tx, const std::string& code, bool for_update = false) {
  auto rows =
      tx.exec_params(absl::StrCat("SELECT channel_id, code, name, kind, respects_safety_stock, ",
                                  Micros("create_time"), " FROM channels WHERE code = $1",
                                  for_update ? " FOR NO KEY UPDATE" : ""),
                     code);
  if (rows.empty()) {
    return MakeError(absl::StatusCode::kNotFound, "CHANNEL_NOT_FOUND",
                     absl::StrCat("no channel with code \"", code, "\""), {{"channel", code}});
  }
  const auto& r = rows[0];
  v1::Channel c;
  c.set_code(r[1].as<std::string>());
  c.set_name(r[2].as<std::string>());
  c.set_kind(static_cast<v1::ChannelKind>(r[3].as<int>()));
  c.set_respects_safety_stock(r[4].as<bool>());
  *c.mutable_create_time() = MicrosToProto(r[5].as<int64_t>());
  for (const auto& l : tx.exec_params(
           "SELECT l.code FROM channel_locations cl JOIN locations l USING (location_id) "
           "WHERE cl.channel_id = $1 ORDER BY cl.priority",
           r[0].as<int32_t>())) {
    c.add_location_codes(l[0].as<std::string>());
  }
  return c;
}

absl::Status WriteChannelLocations(Tx& tx, Resolver& resolver, int32_t channel_id,
                                   const v1::Channel& channel) {
  tx.exec_params("DELETE FROM channel_locations WHERE channel_id = $1", channel_id);
  int priority = 0;
  for (const auto& code : channel.location_codes()) {
    ASSIGN_OR_RETURN(int32_t loc, resolver.Location(code));
    tx.exec_params(
        "INSERT INTO channel_locations (channel_id, location_id, priority) VALUES ($1, $2, $3)",
        channel_id, loc, ++priority);
  }
  return absl::OkStatus();
}

}  // namespace

// ------------------------------------------------------------------------------ items

absl::StatusOr<v1::CreateItemResponse> Catalog::CreateItem(const v1::CreateItemRequest& request) {
  RETURN_IF_ERROR(ValidateItem(request.item()));
  return Mutate<v1::CreateItemResponse>(
      db_, clock_, "CreateItem", request.request_id(), request,
      [&](Tx& tx, Resolver&, Outbox&, absl::Time now) -> absl::StatusOr<v1::CreateItemResponse> {
        const v1::Item& item = request.item();
        auto inserted = tx.exec_params(
            "INSERT INTO items (sku, name, product_group, price_yen, tax_class, unit_cost_yen, "
            "create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
            "ON CONFLICT (sku) DO NOTHING RETURNING item_id",
            item.sku(), item.name(), item.product_group(), item.price_yen(),
            static_cast<int>(item.tax_class()), item.unit_cost_yen(), SqlTime(now));
        if (inserted.empty()) {
          return MakeError(absl::StatusCode::kAlreadyExists, "ITEM_EXISTS",
                           absl::StrCat("an item with sku \"", item.sku(), "\" exists"),
                           {{"sku", item.sku()}});
        }
        RETURN_IF_ERROR(WriteItemDetails(tx, inserted[0][0].as<int64_t>(), item));
        v1::CreateItemResponse response;
        ASSIGN_OR_RETURN(*response.mutable_item(), LoadItem(tx, item.sku()));
        return response;
      });
}

absl::StatusOr<v1::GetItemResponse> Catalog::GetItem(const v1::GetItemRequest& request) {
  RETURN_IF_ERROR(ValidateSku("sku", request.sku()));
  return Read<v1::GetItemResponse>(
      db_, [&](Tx& tx, Resolver&) -> absl::StatusOr<v1::GetItemResponse> {
        v1::GetItemResponse response;
        ASSIGN_OR_RETURN(*response.mutable_item(), LoadItem(tx, request.sku()));
        return response;
      });
}

absl::StatusOr<v1::ListItemsResponse> Catalog::ListItems(const v1::ListItemsRequest& request) {
  int page_size = PageSize(request.page_size());
  return Read<v1::ListItemsResponse>(
      db_, [&](Tx& tx, Resolver&) -> absl::StatusOr<v1::ListItemsResponse> {
        auto rows = tx.exec_params(
            absl::StrCat("SELECT ", kItemColumns,
                         " FROM items WHERE sku > $1 AND ($2 = '' OR product_group = $2) "
                         "ORDER BY sku LIMIT $3"),
            request.page_token(), request.product_group(), page_size + 1);
        v1::ListItemsResponse response;
        std::vector<v1::Item> items = LoadItems(tx, rows);
        for (size_t i = 0; i < items.size() && static_cast<int>(i) < page_size; ++i) {
          *response.add_items() = std::move(items[i]);
        }
        if (static_cast<int>(items.size()) > page_size) {
          response.set_next_page_token(response.items(page_size - 1).sku());
        }
        return response;
      });
}

absl::StatusOr<v1::UpdateItemResponse> Catalog::UpdateItem(const v1::UpdateItemRequest& request) {
  RETURN_IF_ERROR(ValidateSku("item.sku", request.item().sku()));
  RETURN_IF_ERROR(
      CheckMask(request.update_mask(), {"name", "product_group", "attributes", "barcodes",
                                        "price_yen", "tax_class", "unit_cost_yen"}));
  return Mutate<v1::UpdateItemResponse>(
      db_, clock_, "UpdateItem", request.request_id(), request,
      [&](Tx& tx, Resolver&, Outbox&, absl::Time now) -> absl::StatusOr<v1::UpdateItemResponse> {
        ASSIGN_OR_RETURN(v1::Item item, LoadItem(tx, request.item().sku(), true));
        const v1::Item& in = request.item();
        const auto& mask = request.update_mask();
        if (Masked(mask, "name")) item.set_name(in.name());
        if (Masked(mask, "product_group")) item.set_product_group(in.product_group());
        if (Masked(mask, "attributes")) *item.mutable_attributes() = in.attributes();
        if (Masked(mask, "barcodes")) *item.mutable_barcodes() = in.barcodes();
        if (Masked(mask, "price_yen")) item.set_price_yen(in.price_yen());
        if (Masked(mask, "tax_class")) item.set_tax_class(in.tax_class());
        if (Masked(mask, "unit_cost_yen")) item.set_unit_cost_yen(in.unit_cost_yen());
        RETURN_IF_ERROR(ValidateItem(item));
        int64_t id =
            tx.exec_params1(
                  "UPDATE items SET name = $2, product_group = $3, price_yen = $4, "
                  "tax_class = $5, unit_cost_yen = $6, update_time = $7 WHERE sku = $1 "
                  "RETURNING item_id",
                  item.sku(), item.name(), item.product_group(), item.price_yen(),
                  static_cast<int>(item.tax_class()), item.unit_cost_yen(), SqlTime(now))[0]
                .as<int64_t>();
        RETURN_IF_ERROR(WriteItemDetails(tx, id, item));
        v1::UpdateItemResponse response;
        ASSIGN_OR_RETURN(*response.mutable_item(), LoadItem(tx, item.sku()));
        return response;
      });
}

absl::StatusOr<v1::LookupBarcodeResponse> Catalog::LookupBarcode(
    const v1::LookupBarcodeRequest& request) {
  RETURN_IF_ERROR(ValidateBarcode("barcode", request.barcode()));
  return Read<v1::LookupBarcodeResponse>(
      db_, [&](Tx& tx, Resolver&) -> absl::StatusOr<v1::LookupBarcodeResponse> {
        auto rows = tx.exec_params(
            "SELECT i.sku FROM barcodes b JOIN items i USING (item_id) WHERE b.barcode = $1",
            request.barcode());
        if (rows.empty()) {
          return MakeError(absl::StatusCode::kNotFound, "BARCODE_NOT_FOUND",
                           absl::StrCat("no item has barcode ", request.barcode()),
                           {{"barcode", request.barcode()}});
        }
        v1::LookupBarcodeResponse response;
        ASSIGN_OR_RETURN(*response.mutable_item(), LoadItem(tx, rows[0][0].as<std::string>()));
        return response;
      });
}

// -------------------------------------------------------------------------- locations

absl::StatusOr<v1::CreateLocationResponse> Catalog::CreateLocation(
    const v1::CreateLocationRequest& request) {
  RETURN_IF_ERROR(ValidateLocation(request.location()));
  return Mutate<v1::CreateLocationResponse>(
      db_, clock_, "CreateLocation", request.request_id(), request,
      [&](Tx& tx, Resolver&, Outbox&,
          absl::Time now) -> absl::StatusOr<v1::CreateLocationResponse> {
        const v1::Location& l = request.location();
        auto inserted = tx.exec_params(
            "INSERT INTO locations (code, name, kind, time_zone, pickup_enabled, create_time, "
            "latitude, longitude) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
            "ON CONFLICT (code) DO NOTHING RETURNING 1",
            l.code(), l.name(), static_cast<int>(l.kind()), l.time_zone(), l.pickup_enabled(),
            SqlTime(now), Latitude(l), Longitude(l));
        if (inserted.empty()) {
          return MakeError(absl::StatusCode::kAlreadyExists, "LOCATION_EXISTS",
                           absl::StrCat("a location with code \"", l.code(), "\" exists"),
                           {{"location", l.code()}});
        }
        v1::CreateLocationResponse response;
        ASSIGN_OR_RETURN(*response.mutable_location(), LoadLocation(tx, l.code()));
        return response;
      });
}

absl::StatusOr<v1::GetLocationResponse> Catalog::GetLocation(
    const v1::GetLocationRequest& request) {
  RETURN_IF_ERROR(ValidateCode("code", request.code()));
  return Read<v1::GetLocationResponse>(
      db_, [&](Tx& tx, Resolver&) -> absl::StatusOr<v1::GetLocationResponse> {
        v1::GetLocationResponse response;
        ASSIGN_OR_RETURN(*response.mutable_location(), LoadLocation(tx, request.code()));
        return response;
      });
}

absl::StatusOr<v1::ListLocationsResponse> Catalog::ListLocations(
    const v1::ListLocationsRequest& request) {
  int page_size = PageSize(request.page_size());
  return Read<v1::ListLocationsResponse>(
      db_, [&](Tx& tx, Resolver&) -> absl::StatusOr<v1::ListLocationsResponse> {
        auto rows = tx.exec_params(
            absl::StrCat("SELECT ", kLocationColumns,
                         " FROM locations WHERE NOT is_system AND code > $1 ORDER BY code "
                         "LIMIT $2"),
            request.page_token(), page_size + 1);
        v1::ListLocationsResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          *response.add_locations() = ToLocation(rows[i]);
        }
        if (static_cast<int>(rows.size()) > page_size) {
          response.set_next_page_token(response.locations(page_size - 1).code());
        }
        return response;
      });
}

absl::StatusOr<v1::UpdateLocationResponse> Catalog::UpdateLocation(
    const v1::UpdateLocationRequest& request) {
  RETURN_IF_ERROR(ValidateCode("location.code", request.location().code()));
  RETURN_IF_ERROR(
      CheckMask(request.update_mask(), {"name", "time_zone", "pickup_enabled", "coordinates"}));
  return Mutate<v1::UpdateLocationResponse>(
      db_, clock_, "UpdateLocation", request.request_id(), request,
      [&](Tx& tx, Resolver&, Outbox&, absl::Time) -> absl::StatusOr<v1::UpdateLocationResponse> {
        ASSIGN_OR_RETURN(v1::Location l, LoadLocation(tx, request.location().code()));
        const v1::Location& in = request.location();
        if (Masked(request.update_mask(), "name")) l.set_name(in.name());
        if (Masked(request.update_mask(), "time_zone")) l.set_time_zone(in.time_zone());
        if (Masked(request.update_mask(), "pickup_enabled"))
          l.set_pickup_enabled(in.pickup_enabled());
        if (Masked(request.update_mask(), "coordinates")) {
          if (in.has_coordinates()) {
            *l.mutable_coordinates() = in.coordinates();
          } else {
            l.clear_coordinates();
          }
        }
        RETURN_IF_ERROR(ValidateLocation(l));
        tx.exec_params(
            "UPDATE locations SET name = $2, time_zone = $3, pickup_enabled = $4, latitude = $5, "
            "longitude = $6 WHERE code = $1",
            l.code(), l.name(), l.time_zone(), l.pickup_enabled(), Latitude(l), Longitude(l));
        v1::UpdateLocationResponse response;
        ASSIGN_OR_RETURN(*response.mutable_location(), LoadLocation(tx, l.code()));
        return response;
      });
}

// --------------------------------------------------------------------------- channels

absl::StatusOr<v1::CreateChannelResponse> Catalog::CreateChannel(
    const v1::CreateChannelRequest& request) {
  RETURN_IF_ERROR(ValidateChannel(request.channel()));
  return Mutate<v1::CreateChannelResponse>(
      db_, clock_, "CreateChannel", request.request_id(), request,
      [&](Tx& tx, Resolver& resolver, Outbox& outbox,
          absl::Time now) -> absl::StatusOr<v1::CreateChannelResponse> {
        const v1::Channel& c = request.channel();
        auto inserted = tx.exec_params(
            "INSERT INTO channels (code, name, kind, respects_safety_stock, create_time) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING RETURNING channel_id",
            c.code(), c.name(), static_cast<int>(c.kind()), c.respects_safety_stock(),
            SqlTime(now));
        if (inserted.empty()) {
          return MakeError(absl::StatusCode::kAlreadyExists, "CHANNEL_EXISTS",
                           absl::StrCat("a channel with code \"", c.code(), "\" exists"),
                           {{"channel", c.code()}});
        }
        RETURN_IF_ERROR(WriteChannelLocations(tx, resolver, inserted[0][0].as<int32_t>(), c));
        outbox.Add().mutable_channel_changed()->set_channel(c.code());
        v1::CreateChannelResponse response;
        ASSIGN_OR_RETURN(*response.mutable_channel(), LoadChannel(tx, c.code()));
        return response;
      });
}

absl::StatusOr<v1::GetChannelResponse> Catalog::GetChannel(const v1::GetChannelRequest& request) {
  RETURN_IF_ERROR(ValidateCode("code", request.code()));
  return Read<v1::GetChannelResponse>(
      db_, [&](Tx& tx, Resolver&) -> absl::StatusOr<v1::GetChannelResponse> {
        v1::GetChannelResponse response;
        ASSIGN_OR_RETURN(*response.mutable_channel(), LoadChannel(tx, request.code()));
        return response;
      });
}

absl::StatusOr<v1::ListChannelsResponse> Catalog::ListChannels(
    const v1::ListChannelsRequest& request) {
  int page_size = PageSize(request.page_size());
  return Read<v1::ListChannelsResponse>(
      db_, [&](Tx& tx, Resolver&) -> absl::StatusOr<v1::ListChannelsResponse> {
        auto rows = tx.exec_params(
            "SELECT code FROM channels WHERE code > $1 ORDER BY code "
            "LIMIT $2",
            request.page_token(), page_size + 1);
        v1::ListChannelsResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          ASSIGN_OR_RETURN(*response.add_channels(), LoadChannel(tx, rows[i][0].as<std::string>()));
        }
        if (static_cast<int>(rows.size()) > page_size) {
          response.set_next_page_token(response.channels(page_size - 1).code());
        }
        return response;
      });
}

absl::StatusOr<v1::UpdateChannelResponse> Catalog::UpdateChannel(
    const v1::UpdateChannelRequest& request) {
  RETURN_IF_ERROR(ValidateCode("channel.code", request.channel().code()));
  RETURN_IF_ERROR(
      CheckMask(request.update_mask(), {"name", "location_codes", "respects_safety_stock"}));
  return Mutate<v1::UpdateChannelResponse>(
      db_, clock_, "UpdateChannel", request.request_id(), request,
      [&](Tx& tx, Resolver& resolver, Outbox& outbox,
          absl::Time) -> absl::StatusOr<v1::UpdateChannelResponse> {
        ASSIGN_OR_RETURN(v1::Channel c, LoadChannel(tx, request.channel().code(), true));
        const v1::Channel& in = request.channel();
        const auto& mask = request.update_mask();
        if (Masked(mask, "name")) c.set_name(in.name());
        if (Masked(mask, "location_codes")) *c.mutable_location_codes() = in.location_codes();
        if (Masked(mask, "respects_safety_stock")) {
          c.set_respects_safety_stock(in.respects_safety_stock());
        }
        RETURN_IF_ERROR(ValidateChannel(c));
        int32_t id = tx.exec_params1(
                           "UPDATE channels SET name = $2, respects_safety_stock = $3 "
                           "WHERE code = $1 RETURNING channel_id",
                           c.code(), c.name(), c.respects_safety_stock())[0]
                         .as<int32_t>();
        RETURN_IF_ERROR(WriteChannelLocations(tx, resolver, id, c));
        outbox.Add().mutable_channel_changed()->set_channel(c.code());
        v1::UpdateChannelResponse response;
        ASSIGN_OR_RETURN(*response.mutable_channel(), LoadChannel(tx, c.code()));
        return response;
      });
}

}  // namespace kura::ledger
