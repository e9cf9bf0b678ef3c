#include "pickup.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "preorders.h"

namespace kura::reservation {

absl::StatusOr<ledger_v1::Location> PickupStore(const LedgerClient& ledger, const std::string& code,
                                                std::optional<absl::Time> deadline) {
  ledger_v1::GetLocationRequest request;
  request.set_code(code);
  ASSIGN_OR_RETURN(auto response,
                   ledger.Call(ledger.catalog(), &ledger_v1::CatalogService::Stub::GetLocation,
                               request, deadline));
  if (!response.location().pickup_enabled()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "PICKUP_NOT_ENABLED",
                     absl::StrCat("location ", code, " does not take pickups"), {{"store", code}});
  }
  return response.location();
}

double DistanceKm(const ledger_v1::GeoPoint& a, const ledger_v1::GeoPoint& b) {
  constexpr double kEarthRadiusKm = 6371.0088;
  constexpr double kRad = M_PI / 180;
  const double dlat = (b.latitude() - a.latitude()) * kRad;
  const double dlng = (b.longitude() - a.longitude()) * kRad;
  const double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(a.latitude() * kRad) * std::cos(b.latitude() * kRad) *
                       std::sin(dlng / 2) * std::sin(dlng / 2);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
}

absl::StatusOr<v1::CheckPickupResponse> Pickup::Check(const v1::CheckPickupRequest& request,
                                                      std::optional<absl::Time> deadline) {
  RETURN_IF_ERROR(ValidateCode("channel", request.channel()));
  RETURN_IF_ERROR(ValidateCode("store", request.store()));
  RETURN_IF_ERROR(CheckOrderLines(request.lines(), true));
  ASSIGN_OR_RETURN(ledger_v1::Location asked, PickupStore(ledger_, request.store(), deadline));

  // The channel's pickup stores, with their coordinates.
  ledger_v1::GetChannelRequest get_channel;
  get_channel.set_code(request.channel());
  ASSIGN_OR_RETURN(auto channel,
                   ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::GetChannel,
                                get_channel, deadline));
  const auto& served = channel.channel().location_codes();
  if (std::find(served.begin(), served.end(), request.store()) == served.end()) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, "PICKUP_STORE_NOT_IN_CHANNEL",
        absl::StrCat("store ", request.store(), " does not serve channel ", request.channel()),
        {{"store", request.store()}});
  }
  ledger_v1::ListLocationsRequest list;
  list.set_page_size(1000);
  ASSIGN_OR_RETURN(auto all,
                   ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::ListLocations,
                                list, deadline));
  std::map<std::string, ledger_v1::Location> stores;  // pickup stores of the channel
  for (const auto& l : all.locations()) {
    if (l.pickup_enabled() && std::find(served.begin(), served.end(), l.code()) != served.end()) {
      stores[l.code()] = l;
    }
  }
  stores[asked.code()] = asked;

  // What each has for the channel now.
  ledger_v1::GetAvailabilityRequest get_availability;
  for (const auto& line : request.lines()) get_availability.add_skus(line.sku());
  for (const auto& [code, _] : stores) get_availability.add_locations(code);
  get_availability.add_channels(request.channel());
  ASSIGN_OR_RETURN(auto availability,
                   ledger_.Call(ledger_.ledger(), &ledger_v1::LedgerService::Stub::GetAvailability,
                                get_availability, deadline));
  std::map<std::pair<std::string, std::string>, int64_t> atp;  // (store, sku)
  for (const auto& row : availability.rows()) {
    atp[{row.location(), row.sku()}] = std::max<int64_t>(0, row.available_to_promise());
  }
  auto describe = [&](const ledger_v1::Location& store, bool* covers) {
    v1::PickupStore out;
    out.set_store(store.code());
    out.set_name(store.name());
    if (store.has_coordinates() && asked.has_coordinates()) {
      out.set_distance_km(DistanceKm(asked.coordinates(), store.coordinates()));
    }
    *covers = true;
    for (const auto& line : request.lines()) {
      auto* a = out.add_available();
      a->set_sku(line.sku());
      a->set_quantity(std::min(line.quantity(), atp[{store.code(), line.sku()}]));
      if (a->quantity() < line.quantity()) *covers = false;
    }
    return out;
  };

  v1::CheckPickupResponse response;
  bool covers = false;
  *response.mutable_store() = describe(asked, &covers);
  response.set_available_now(covers);
  if (covers) return response;

  // Other stores that have every line, nearest first.
  for (const auto& [code, store] : stores) {
    if (code == asked.code()) continue;
    v1::PickupStore other = describe(store, &covers);
    if (covers) *response.add_alternatives() = std::move(other);
  }
  std::stable_sort(response.mutable_alternatives()->begin(), response.mutable_alternatives()->end(),
                   [](const v1::PickupStore& a, const v1::PickupStore& b) {
                     if (a.has_distance_km() != b.has_distance_km()) return a.has_distance_km();
                     return a.has_distance_km() && a.distance_km() < b.distance_km();
                   });

  // When incoming stock at the asked store covers what it lacks.
  ledger_v1::ListIncomingRequest get_incoming;
  for (const auto& line : request.lines()) get_incoming.add_skus(line.sku());
  get_incoming.add_locations(asked.code());
  ASSIGN_OR_RETURN(auto incoming,
                   ledger_.Call(ledger_.ledger(), &ledger_v1::LedgerService::Stub::ListIncoming,
                                get_incoming, deadline));
  std::optional<absl::Time> expected = absl::InfinitePast();
  for (const auto& line : request.lines()) {
    const int64_t short_by = line.quantity() - atp[{asked.code(), line.sku()}];
    if (short_by <= 0) continue;
    int64_t running = 0;
    std::optional<absl::Time> at;
    for (const auto& lot : incoming.lots()) {  // earliest first
      if (lot.sku() != line.sku()) continue;
      running += lot.quantity();
      if (running >= short_by) {
        at = FromProto(lot.expected_at());
        break;
      }
    }
    if (!at) {
      expected.reset();
      break;
    }
    expected = std::max(*expected, *at);
  }
  if (expected) *response.mutable_expected_at() = MicrosToProto(absl::ToUnixMicros(*expected));
  return response;
}

absl::StatusOr<v1::Order> Pickup::Complete(const v1::CompletePickupRequest& request,
                                           std::optional<absl::Time> deadline) {
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  RETURN_IF_ERROR(ValidateCode("store", request.store()));
  ASSIGN_OR_RETURN(v1::Order order, orders_.Get(request.channel(), request.external_order_id()));
  if (order.pickup_store().empty()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "NOT_A_PICKUP_ORDER",
                     "the order is not for pickup in a store",
                     {{"external_order_id", request.external_order_id()}});
  }
  if (order.pickup_store() != request.store()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "PICKUP_STORE_MISMATCH",
                     absl::StrCat("the order is to be picked up at ", order.pickup_store(),
                                  ", not ", request.store()),
                     {{"pickup_store", order.pickup_store()}, {"store", request.store()}});
  }
  v1::FulfilOrderRequest fulfil;
  fulfil.set_request_id(request.request_id());
  fulfil.set_channel(request.channel());
  fulfil.set_external_order_id(request.external_order_id());
  return orders_.Fulfil(fulfil, deadline);
}

}  // namespace kura::reservation
