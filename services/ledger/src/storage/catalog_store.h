#pragma once

// The catalog's rows: items (with attributes and barcodes), locations and channels (with the
// locations that serve them, in priority order). Each function runs in the caller's transaction.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "absl/time/time.h"
#include "kura/ledger/v1/catalog.pb.h"

namespace kura::ledger::storage {

using Tx = pqxx::transaction_base;
namespace v1 = ::kura::ledger::v1;

/// The new item's id, or nullopt when its sku exists.
std::optional<int64_t> InsertItem(Tx& tx, const v1::Item& item, absl::Time now);
/// An item with its attributes and barcodes (for_update: locked FOR NO KEY UPDATE).
std::optional<v1::Item> ItemBySku(Tx& tx, const std::string& sku, bool for_update = false);
/// After `after_sku`, of `group` (empty: all), at most `limit`, with attributes and barcodes.
std::vector<v1::Item> ListItems(Tx& tx, const std::string& after_sku, const std::string& group,
                                int limit);
/// Updates an existing item's own columns; returns its id.
int64_t UpdateItem(Tx& tx, const v1::Item& item, absl::Time now);
/// Replaces the item's attributes and barcodes; returns a barcode another item holds, if any
/// (then the caller rolls back).
std::optional<std::string> ReplaceItemDetails(Tx& tx, int64_t item_id, const v1::Item& item);
std::optional<std::string> SkuOfBarcode(Tx& tx, const std::string& barcode);

/// False when the code exists.
bool InsertLocation(Tx& tx, const v1::Location& location, absl::Time now);
std::optional<v1::Location> LocationByCode(Tx& tx, const std::string& code);
std::vector<v1::Location> ListLocations(Tx& tx, const std::string& after_code, int limit);
void UpdateLocation(Tx& tx, const v1::Location& location);
/// The ids of user location codes (codes that name none are absent).
std::map<std::string, int32_t> LocationIds(Tx& tx, const std::vector<std::string>& codes);

/// The new channel's id, or nullopt when the code exists.
std::optional<int32_t> InsertChannel(Tx& tx, const v1::Channel& channel, absl::Time now);
struct ChannelRow {
  int32_t channel_id = 0;
  v1::Channel channel;  // with its location codes
};
std::optional<ChannelRow> ChannelByCode(Tx& tx, const std::string& code, bool for_update = false);
std::vector<std::string> ListChannelCodes(Tx& tx, const std::string& after_code, int limit);
/// Updates an existing channel's own columns; returns its id.
int32_t UpdateChannel(Tx& tx, const v1::Channel& channel);
void ReplaceChannelLocations(Tx& tx, int32_t channel_id, const std::vector<int32_t>& location_ids);

}  // namespace kura::ledger::storage
