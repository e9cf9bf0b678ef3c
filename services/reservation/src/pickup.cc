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
  // The channel's locations (the asked store, which must take pickups, first) and of them the
  // pickup stores, with their coordinates.
  ASSIGN_OR_RETURN(auto served,
                   ChannelLocations(ledger_, request.channel(), request.store(), deadline));
  std::map<std::string, ledger_v1::Location> stores;
  for (const auto& code : served) {
    ledger_v1::GetLocationRequest get;
    get.set_code(code);
    ASSIGN_OR_RETURN(auto found,
                     ledger_.Call(ledger_.catalog(), &ledger_v1::CatalogService::Stub::GetLocation,
                                  get, deadline));
    if (found.location().pickup_enabled()) stores[code] = found.location();
  }
  const ledger_v1::Location asked = stores[request.store()];

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
  std::vector<std::string> skus;
  for (const auto& line : request.lines()) skus.push_back(line.sku());
  ASSIGN_OR_RETURN(auto incoming, FetchIncoming(ledger_, skus, {asked.code()}, deadline));
  std::optional<absl::Time> expected = absl::InfinitePast();
  for (const auto& line : request.lines()) {
    const int64_t short_by = line.quantity() - atp[{asked.code(), line.sku()}];
    if (short_by <= 0) continue;
    auto at = CoveredBy(incoming[line.sku()], short_by);
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
