#include "catalog.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "storage/catalog_store.h"
#include "transactions.h"

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

using Tx = pqxx::transaction_base;

absl::Status NotFound(const char* reason, const char* what, const std::string& key,
                      const std::string& code) {
  return MakeError(
      absl::StatusCode::kNotFound, reason,
      absl::StrCat("no ", what, " with ", key == "sku" ? "sku" : "code", " \"", code, "\""),
      {{key, code}});
}

absl::StatusOr<v1::Item> FindItem(Tx& tx, const std::string& sku, bool for_update = false) {
  auto item = storage::ItemBySku(tx, sku, for_update);
  if (!item) return NotFound("ITEM_NOT_FOUND", "item", "sku", sku);
  return *std::move(item);
}

absl::StatusOr<v1::Location> FindLocation(Tx& tx, const std::string& code) {
  auto location = storage::LocationByCode(tx, code);
  if (!location) return NotFound("LOCATION_NOT_FOUND", "location", "location", code);
  return *std::move(location);
}

absl::StatusOr<storage::ChannelRow> FindChannel(Tx& tx, const std::string& code,
                                                bool for_update = false) {
  auto channel = storage::ChannelByCode(tx, code, for_update);
  if (!channel) return NotFound("CHANNEL_NOT_FOUND", "channel", "channel", code);
  return *std::move(channel);
}

// Writes the item's attributes and barcodes (replacing what it had).
absl::Status WriteItemDetails(Tx& tx, int64_t id, const v1::Item& item) {
  if (auto taken = storage::ReplaceItemDetails(tx, id, item)) {
    return MakeError(absl::StatusCode::kAlreadyExists, "BARCODE_TAKEN",
                     absl::StrCat("barcode ", *taken, " belongs to another item"),
                     {{"barcode", *taken}});
  }
  return absl::OkStatus();
}

// Writes the locations that serve the channel, in priority order.
absl::Status WriteChannelLocations(Tx& tx, int32_t channel_id, const v1::Channel& channel) {
  std::vector<std::string> codes(channel.location_codes().begin(), channel.location_codes().end());
  std::map<std::string, int32_t> found = storage::LocationIds(tx, codes);
  std::vector<int32_t> ids;
  for (const std::string& code : codes) {
    auto it = found.find(code);
    if (it == found.end()) return NotFound("LOCATION_NOT_FOUND", "location", "location", code);
    ids.push_back(it->second);
  }
  storage::ReplaceChannelLocations(tx, channel_id, ids);
  return absl::OkStatus();
}

}  // namespace

// ------------------------------------------------------------------------------ items

absl::StatusOr<v1::CreateItemResponse> Catalog::CreateItem(const v1::CreateItemRequest& request) {
  RETURN_IF_ERROR(ValidateItem(request.item()));
  return MutateOnce<v1::CreateItemResponse>(
      db_, clock_, "CreateItem", request, request.request_id(),
      [&](Tx& tx, std::vector<v1::ChangeEvent>&,
          absl::Time now) -> absl::StatusOr<v1::CreateItemResponse> {
        const v1::Item& item = request.item();
        std::optional<int64_t> id = storage::InsertItem(tx, item, now);
        if (!id) {
          return MakeError(absl::StatusCode::kAlreadyExists, "ITEM_EXISTS",
                           absl::StrCat("an item with sku \"", item.sku(), "\" exists"),
                           {{"sku", item.sku()}});
        }
        RETURN_IF_ERROR(WriteItemDetails(tx, *id, item));
        v1::CreateItemResponse response;
        ASSIGN_OR_RETURN(*response.mutable_item(), FindItem(tx, item.sku()));
        return response;
      });
}

absl::StatusOr<v1::GetItemResponse> Catalog::GetItem(const v1::GetItemRequest& request) {
  RETURN_IF_ERROR(ValidateSku("sku", request.sku()));
  return Read<v1::GetItemResponse>(db_, [&](Tx& tx) -> absl::StatusOr<v1::GetItemResponse> {
    v1::GetItemResponse response;
    ASSIGN_OR_RETURN(*response.mutable_item(), FindItem(tx, request.sku()));
    return response;
  });
}

absl::StatusOr<v1::ListItemsResponse> Catalog::ListItems(const v1::ListItemsRequest& request) {
  const int page_size = PageSize(request.page_size());
  return Read<v1::ListItemsResponse>(db_, [&](Tx& tx) -> absl::StatusOr<v1::ListItemsResponse> {
    std::vector<v1::Item> items =
        storage::ListItems(tx, request.page_token(), request.product_group(), page_size + 1);
    v1::ListItemsResponse response;
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
  return MutateOnce<v1::UpdateItemResponse>(
      db_, clock_, "UpdateItem", request, request.request_id(),
      [&](Tx& tx, std::vector<v1::ChangeEvent>&,
          absl::Time now) -> absl::StatusOr<v1::UpdateItemResponse> {
        ASSIGN_OR_RETURN(v1::Item item, FindItem(tx, request.item().sku(), true));
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
        RETURN_IF_ERROR(WriteItemDetails(tx, storage::UpdateItem(tx, item, now), item));
        v1::UpdateItemResponse response;
        ASSIGN_OR_RETURN(*response.mutable_item(), FindItem(tx, item.sku()));
        return response;
      });
}

absl::StatusOr<v1::LookupBarcodeResponse> Catalog::LookupBarcode(
    const v1::LookupBarcodeRequest& request) {
  RETURN_IF_ERROR(ValidateBarcode("barcode", request.barcode()));
  return Read<v1::LookupBarcodeResponse>(
      db_, [&](Tx& tx) -> absl::StatusOr<v1::LookupBarcodeResponse> {
        std::optional<std::string> sku = storage::SkuOfBarcode(tx, request.barcode());
        if (!sku) {
          return MakeError(absl::StatusCode::kNotFound, "BARCODE_NOT_FOUND",
                           absl::StrCat("no item has barcode ", request.barcode()),
                           {{"barcode", request.barcode()}});
        }
        v1::LookupBarcodeResponse response;
        ASSIGN_OR_RETURN(*response.mutable_item(), FindItem(tx, *sku));
        return response;
      });
}

// -------------------------------------------------------------------------- locations

absl::StatusOr<v1::CreateLocationResponse> Catalog::CreateLocation(
    const v1::CreateLocationRequest& request) {
  RETURN_IF_ERROR(ValidateLocation(request.location()));
  return MutateOnce<v1::CreateLocationResponse>(
      db_, clock_, "CreateLocation", request, request.request_id(),
      [&](Tx& tx, std::vector<v1::ChangeEvent>&,
          absl::Time now) -> absl::StatusOr<v1::CreateLocationResponse> {
        const v1::Location& l = request.location();
        if (!storage::InsertLocation(tx, l, now)) {
          return MakeError(absl::StatusCode::kAlreadyExists, "LOCATION_EXISTS",
                           absl::StrCat("a location with code \"", l.code(), "\" exists"),
                           {{"location", l.code()}});
        }
        v1::CreateLocationResponse response;
        ASSIGN_OR_RETURN(*response.mutable_location(), FindLocation(tx, l.code()));
        return response;
      });
}

absl::StatusOr<v1::GetLocationResponse> Catalog::GetLocation(
    const v1::GetLocationRequest& request) {
  RETURN_IF_ERROR(ValidateCode("code", request.code()));
  return Read<v1::GetLocationResponse>(db_, [&](Tx& tx) -> absl::StatusOr<v1::GetLocationResponse> {
    v1::GetLocationResponse response;
    ASSIGN_OR_RETURN(*response.mutable_location(), FindLocation(tx, request.code()));
    return response;
  });
}

absl::StatusOr<v1::ListLocationsResponse> Catalog::ListLocations(
    const v1::ListLocationsRequest& request) {
  const int page_size = PageSize(request.page_size());
  return Read<v1::ListLocationsResponse>(
      db_, [&](Tx& tx) -> absl::StatusOr<v1::ListLocationsResponse> {
        std::vector<v1::Location> locations =
            storage::ListLocations(tx, request.page_token(), page_size + 1);
        v1::ListLocationsResponse response;
        for (size_t i = 0; i < locations.size() && static_cast<int>(i) < page_size; ++i) {
          *response.add_locations() = std::move(locations[i]);
        }
        if (static_cast<int>(locations.size()) > page_size) {
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
  return MutateOnce<v1::UpdateLocationResponse>(
      db_, clock_, "UpdateLocation", request, request.request_id(),
      [&](Tx& tx, std::vector<v1::ChangeEvent>&,
          absl::Time) -> absl::StatusOr<v1::UpdateLocationResponse> {
        ASSIGN_OR_RETURN(v1::Location l, FindLocation(tx, request.location().code()));
        const v1::Location& in = request.location();
        if (Masked(request.update_mask(), "name")) l.set_name(in.name());
        if (Masked(request.update_mask(), "time_zone")) l.set_time_zone(in.time_zone());
        if (Masked(request.update_mask(), "pickup_enabled")) {
          l.set_pickup_enabled(in.pickup_enabled());
        }
        if (Masked(request.update_mask(), "coordinates")) {
          if (in.has_coordinates()) {
            *l.mutable_coordinates() = in.coordinates();
          } else {
            l.clear_coordinates();
          }
        }
        RETURN_IF_ERROR(ValidateLocation(l));
        storage::UpdateLocation(tx, l);
        v1::UpdateLocationResponse response;
        ASSIGN_OR_RETURN(*response.mutable_location(), FindLocation(tx, l.code()));
        return response;
      });
}

// --------------------------------------------------------------------------- channels

absl::StatusOr<v1::CreateChannelResponse> Catalog::CreateChannel(
    const v1::CreateChannelRequest& request) {
  RETURN_IF_ERROR(ValidateChannel(request.channel()));
  return MutateOnce<v1::CreateChannelResponse>(
      db_, clock_, "CreateChannel", request, request.request_id(),
      [&](Tx& tx, std::vector<v1::ChangeEvent>& events,
          absl::Time now) -> absl::StatusOr<v1::CreateChannelResponse> {
        const v1::Channel& c = request.channel();
        std::optional<int32_t> id = storage::InsertChannel(tx, c, now);
        if (!id) {
          return MakeError(absl::StatusCode::kAlreadyExists, "CHANNEL_EXISTS",
                           absl::StrCat("a channel with code \"", c.code(), "\" exists"),
                           {{"channel", c.code()}});
        }
        RETURN_IF_ERROR(WriteChannelLocations(tx, *id, c));
        events.emplace_back().mutable_channel_changed()->set_channel(c.code());
        v1::CreateChannelResponse response;
        ASSIGN_OR_RETURN(storage::ChannelRow row, FindChannel(tx, c.code()));
        *response.mutable_channel() = std::move(row.channel);
        return response;
      });
}

absl::StatusOr<v1::GetChannelResponse> Catalog::GetChannel(const v1::GetChannelRequest& request) {
  RETURN_IF_ERROR(ValidateCode("code", request.code()));
  return Read<v1::GetChannelResponse>(db_, [&](Tx& tx) -> absl::StatusOr<v1::GetChannelResponse> {
    ASSIGN_OR_RETURN(storage::ChannelRow row, FindChannel(tx, request.code()));
    v1::GetChannelResponse response;
    *response.mutable_channel() = std::move(row.channel);
    return response;
  });
}

absl::StatusOr<v1::ListChannelsResponse> Catalog::ListChannels(
    const v1::ListChannelsRequest& request) {
  const int page_size = PageSize(request.page_size());
  return Read<v1::ListChannelsResponse>(
      db_, [&](Tx& tx) -> absl::StatusOr<v1::ListChannelsResponse> {
        std::vector<std::string> codes =
            storage::ListChannelCodes(tx, request.page_token(), page_size + 1);
        v1::ListChannelsResponse response;
        for (size_t i = 0; i < codes.size() && static_cast<int>(i) < page_size; ++i) {
          ASSIGN_OR_RETURN(storage::ChannelRow row, FindChannel(tx, codes[i]));
          *response.add_channels() = std::move(row.channel);
        }
        if (static_cast<int>(codes.size()) > page_size) {
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
  return MutateOnce<v1::UpdateChannelResponse>(
      db_, clock_, "UpdateChannel", request, request.request_id(),
      [&](Tx& tx, std::vector<v1::ChangeEvent>& events,
          absl::Time) -> absl::StatusOr<v1::UpdateChannelResponse> {
        ASSIGN_OR_RETURN(storage::ChannelRow row, FindChannel(tx, request.channel().code(), true));
        v1::Channel& c = row.channel;
        const v1::Channel& in = request.channel();
        const auto& mask = request.update_mask();
        if (Masked(mask, "name")) c.set_name(in.name());
        if (Masked(mask, "location_codes")) *c.mutable_location_codes() = in.location_codes();
        if (Masked(mask, "respects_safety_stock")) {
          c.set_respects_safety_stock(in.respects_safety_stock());
        }
        RETURN_IF_ERROR(ValidateChannel(c));
        RETURN_IF_ERROR(WriteChannelLocations(tx, storage::UpdateChannel(tx, c), c));
        events.emplace_back().mutable_channel_changed()->set_channel(c.code());
        ASSIGN_OR_RETURN(storage::ChannelRow updated, FindChannel(tx, c.code()));
        v1::UpdateChannelResponse response;
        *response.mutable_channel() = std::move(updated.channel);
        return response;
      });
}

}  // namespace kura::ledger
