#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/base/clock.h"
#include "kura/pg/database.h"
#include "kura/reservation/v1/orders.pb.h"
#include "ledger_client.h"

namespace kura::reservation {

namespace v1 = ::kura::reservation::v1;

struct OrderRow;  // an order as stored (orders.cc)

/// What a stored order state (including the internal intent states) shows as.
v1::OrderState PublicOrderState(int state);

/// The locations that serve a channel, in priority order, the pickup store (when given: it must
/// take pickups and serve the channel) first.
absl::StatusOr<std::vector<std::string>> ChannelLocations(const LedgerClient& ledger,
                                                          const std::string& channel,
                                                          const std::string& pickup_store,
                                                          std::optional<absl::Time> deadline);

/// Checks order lines: 1 (when `required`) to 100, each SKU once, quantities 1 to 1,000,000.
absl::Status CheckOrderLines(const google::protobuf::RepeatedPtrField<v1::OrderLine>& lines,
                             bool required);

/// How long a pending order holds its units: per channel, else the default.
struct OrderTtl {
  absl::Duration fallback = absl::Minutes(15);
  std::map<std::string, absl::Duration> by_channel;
  absl::Duration For(const std::string& channel) const {
    auto it = by_channel.find(channel);
    return it == by_channel.end() ? fallback : it->second;
  }
};

/// Parses "channel=duration,channel=duration" (e.g. "ec-shop=10m,pos-a=2m").
absl::StatusOr<std::map<std::string, absl::Duration>> ParseTtlByChannel(const std::string& text);

/// Orders with expiring holds. The order rows live in the reservation schema; the stock
/// arithmetic is the ledger's: each allocation is one ledger hold, posted on confirmation,
/// fulfilled or cancelled from committed stock afterwards. Every ledger call carries an
/// idempotency key derived from the order, so a call repeated after a crash or a timeout takes
/// effect once. Per order, calls are serialised by a row lock held across the ledger calls.
/// Thread-safe.
class Orders {
 public:
  Orders(pg::Database& db, const Clock& clock, const LedgerClient& ledger, OrderTtl ttl)
      : db_(db), clock_(clock), ledger_(ledger), ttl_(std::move(ttl)) {}

  /// The calls take the caller's deadline for their ledger calls. Place records an order its
  /// platform accepted and the stock cannot cover as unfulfillable when asked to.
  absl::StatusOr<v1::PlaceOrderResponse> Place(const v1::PlaceOrderRequest& r,
                                               std::optional<absl::Time> d);
  absl::StatusOr<v1::Order> Confirm(const std::string& channel, const std::string& external_id,
                                    std::optional<absl::Time> deadline);
  absl::StatusOr<v1::Order> Fulfil(const v1::FulfilOrderRequest& r, std::optional<absl::Time> d);
  absl::StatusOr<v1::Order> Cancel(const std::string& channel, const std::string& external_id,
                                   std::optional<absl::Time> deadline);
  absl::StatusOr<v1::Order> Get(const std::string& channel, const std::string& external_id);
  absl::StatusOr<v1::ListOrdersResponse> List(const v1::ListOrdersRequest& r);

  /// Marks up to `limit` pending orders whose time is up as expired (the ledger releases their
  /// holds at the same instant); several replicas share the work (SKIP LOCKED). Returns how
  /// many it expired.
  absl::StatusOr<int> ExpireDue(int limit);

  /// Moves waiting pre-orders onto received stock in order of placement per (item, channel,
  /// pickup store): each is sourced like an order, held and posted, and becomes confirmed.
  /// Returns how many it converted.
  absl::StatusOr<int> ConvertPreorders();

  /// Moves the holds of pending orders off a shelf that no longer covers them (see
  /// OrderService.ResourceHolds).
  absl::StatusOr<v1::ResourceHoldsResponse> ResourceHolds(const v1::ResourceHoldsRequest& r,
                                                          std::optional<absl::Time> deadline);
  /// Finishes up to `limit` moves cut off (a crash between their intent and their result);
  /// returns how many were recorded.
  absl::StatusOr<int> ResumeMoves(int limit);

 private:
  // Moves one order's hold (`hold_id`, `quantity` units of `sku` at `location`) under
  // `request_id`; false when the order no longer holds them there.
  absl::StatusOr<bool> MoveHold(const std::string& request_id, int64_t order_id,
                                const std::string& hold_id, const std::string& location,
                                const std::string& sku, int64_t quantity,
                                std::optional<absl::Time> deadline);
  // Steps 2 and 3 of a move whose intent is committed; false when recorded by another call.
  absl::StatusOr<bool> FinishMove(int64_t order_id, std::optional<absl::Time> deadline);
  enum class Conversion {
    kConverted,  // confirmed by this call
    kShort,      // the stock does not cover it (yet)
    kDone,       // confirmed or cancelled by someone else meanwhile
  };
  absl::StatusOr<Conversion> ConvertOne(int64_t order_id);
  // Posts the holds of an order in its confirming state (`seen`, read after the intent was
  // committed) and records the result.
  absl::StatusOr<v1::Order> FinishConfirm(const OrderRow& seen, std::optional<absl::Time> deadline);
  // Places an order, or refuses it (Place records some refusals as unfulfillable orders).
  absl::StatusOr<v1::Order> PlaceOrRefuse(const v1::PlaceOrderRequest& r,
                                          std::optional<absl::Time> deadline);

  pg::Database& db_;
  const Clock& clock_;
  const LedgerClient& ledger_;
  const OrderTtl ttl_;
};

}  // namespace kura::reservation
