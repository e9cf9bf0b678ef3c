#pragma once

#include "absl/status/statusor.h"
#include "kura/base/clock.h"
#include "kura/ledger/v1/catalog.pb.h"
#include "kura/pg/database.h"

namespace kura::ledger {

/// Items (with attributes and barcodes), locations and channels (with the locations that serve
/// them, in priority order). Mutations are idempotent on request_id. Thread-safe.
class Catalog {
 public:
  Catalog(pg::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  absl::StatusOr<v1::CreateItemResponse> CreateItem(const v1::CreateItemRequest& r);
  absl::StatusOr<v1::GetItemResponse> GetItem(const v1::GetItemRequest& r);
  absl::StatusOr<v1::ListItemsResponse> ListItems(const v1::ListItemsRequest& r);
  absl::StatusOr<v1::UpdateItemResponse> UpdateItem(const v1::UpdateItemRequest& r);
  absl::StatusOr<v1::LookupBarcodeResponse> LookupBarcode(const v1::LookupBarcodeRequest& r);
  absl::StatusOr<v1::CreateLocationResponse> CreateLocation(const v1::CreateLocationRequest& r);
  absl::StatusOr<v1::GetLocationResponse> GetLocation(const v1::GetLocationRequest& r);
  absl::StatusOr<v1::ListLocationsResponse> ListLocations(const v1::ListLocationsRequest& r);
  absl::StatusOr<v1::UpdateLocationResponse> UpdateLocation(const v1::UpdateLocationRequest& r);
  absl::StatusOr<v1::CreateChannelResponse> CreateChannel(const v1::CreateChannelRequest& r);
  absl::StatusOr<v1::GetChannelResponse> GetChannel(const v1::GetChannelRequest& r);
  absl::StatusOr<v1::ListChannelsResponse> ListChannels(const v1::ListChannelsRequest& r);
  absl::StatusOr<v1::UpdateChannelResponse> UpdateChannel(const v1::UpdateChannelRequest& r);

 private:
  pg::Database& db_;
  const Clock& clock_;
};

}  // namespace kura::ledger
