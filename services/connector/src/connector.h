#pragma once

// The connector interface: what kura needs from an EC platform. One class per platform
// (shopify.cc, woocommerce.cc, square.cc, kura_json.cc), listed in connectors.cc; see
// docs/connectors.md for adding one.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kura::connector {

/// One webhook delivery as received.
struct WebhookRequest {
  /// The URL the platform posts to, as registered there (Square signs it).
  std::string url;
  /// Header names lower-cased.
  std::map<std::string, std::string> headers;
  /// The raw body bytes (signatures cover exactly these).
  std::string body;

  /// A header's value, or empty.
  std::string Header(absl::string_view lower_case_name) const;
};

/// What the inbox stores a delivery under, read before the body is applied.
struct DeliveryInfo {
  /// The platform's id of the event: a repeat of a delivery carries the same one.
  std::string event_id;
  /// The platform's topic, e.g. "orders/create".
  std::string topic;
  /// The platform's order id when the delivery is about an order; else empty.
  std::string order_id;
  /// When the platform produced this state of the resource (to recognise stale deliveries);
  /// InfinitePast when the body does not say.
  absl::Time platform_time = absl::InfinitePast();
};

/// A platform-neutral event, in the order a delivery's events are to be applied.
struct CanonicalEvent {
  enum class Kind {
    kOrderPlaced,     // an online order exists: hold its lines
    kOrderPaid,       // ... and is paid: confirm it
    kOrderFulfilled,  // ... and was shipped in full
    kOrderCancelled,  // ... or was cancelled
    kReturned,        // units came back to a location (refund with restock)
    kStoreSale,       // units sold at a platform POS in a store (already handed over)
    kStockCount,      // the platform reports stock levels: what left them is read from its
                      // history (Connector::ReadMovements)
    kRefundIssued,    // a refund the delivery only names (`ref`): its lines are read from the
                      // platform (Connector::ReadRefund)
    kLevelChanged,    // the platform's available quantity of an item (`item_ref`: its stock id)
                      // at a location changed, to about `quantity` (a cue: read it to be sure)
  };
  Kind kind;
  std::string order_id;
  std::string customer;
  struct Line {
    std::string item_ref;      // the platform's variant / item id (mapped to a kura SKU)
    std::string sku;           // the SKU the platform shows, when any (used when unmapped)
    std::string location_ref;  // the platform's location id, when the event has one
    int64_t quantity = 0;
  };
  std::vector<Line> lines;
  /// The platform's reference of a return or sale (e.g. the refund id): applied once per ref.
  std::string ref = {};
};

/// A platform's stock API as a connection configures it.
struct ApiEndpoint {
  std::string base_url;     // e.g. https://example.myshopify.com
  std::string credentials;  // access token, or key:secret
  std::string location_id;  // the platform location pushed to (empty where stock has none)
};

/// One absolute stock level to set on the platform.
struct StockUpdate {
  /// The platform's id for the item's stock (Shopify inventory item, WooCommerce product or
  /// "product/variation", Square catalog object).
  std::string item_id;
  int64_t quantity = 0;
  /// Compare-and-set: the quantity the platform is believed to hold now (where supported).
  std::optional<int64_t> expected;
  /// Unique per update, reused when the same update is retried.
  std::string idempotency_key;
  /// When the value was true in kura (the ledger commit), for platforms that order by it.
  absl::Time as_of;
};

/// A platform's call budget in calls: what its bucket holds, holds now, and restores a second.
struct CallBudget {
  double burst = 0;
  double available = 0;
  double per_second = 0;
};

/// What became of one update.
struct PushResult {
  enum class Outcome {
    kApplied,    // the platform holds the quantity now
    kStale,      // compare-and-set failed: the platform's quantity is `current` (when known)
    kThrottled,  // rate-limited: try again after `retry_after`
    kRetry,      // a transient failure (5xx, transport): try again with backoff
    kRejected,   // refused for good (4xx): needs an operator
  };
  Outcome outcome = Outcome::kRetry;
  std::optional<int64_t> current;
  absl::Duration retry_after = absl::ZeroDuration();
  std::string detail;
  /// The platform's budget as its answer reported it, when it does (Shopify).
  std::optional<CallBudget> budget = std::nullopt;
};

/// A change of stock made on the platform itself (a sale at its own register, a write-off), read
/// from its inventory history. kura's own pushes are never among them.
struct PlatformMovement {
  enum class Kind { kSale, kWriteOff };
  Kind kind;
  /// The platform's id of the change: each is applied once.
  std::string id;
  std::string item_ref;
  std::string location_ref;
  int64_t quantity = 0;
  /// When the platform recorded it (the next read starts a little before the newest seen).
  absl::Time recorded_at;
};

/// How hard a platform's API may be driven: a bucket of `burst` calls, refilled at
/// `requests_per_second` (the platforms' own leaky or cost buckets, in calls), and how many
/// stock levels one call may set.
struct RateLimit {
  double requests_per_second;
  double burst = 1;
  int items_per_call = 1;
};

/// An EC platform. Implementations are stateless and thread-safe.
class Connector {
 public:
  virtual ~Connector() = default;
  /// The platform's name in webhook paths and configuration, e.g. "shopify".
  virtual std::string platform() const = 0;
  /// Whether the delivery is signed with one of `secrets` (two during a rotation). Constant
  /// time in the signature.
  virtual bool Verify(const WebhookRequest& request,
                      const std::vector<std::string>& secrets) const = 0;
  /// The delivery's identity; INVALID_ARGUMENT when the body or headers are malformed.
  virtual absl::StatusOr<DeliveryInfo> Identify(const WebhookRequest& request) const = 0;
  /// The delivery's canonical events (none for a topic kura does not act on);
  /// INVALID_ARGUMENT when malformed.
  virtual absl::StatusOr<std::vector<CanonicalEvent>> Parse(
      const WebhookRequest& request) const = 0;
  /// Whether an unsigned delivery is the platform's harmless set-up ping, answered 200 and
  /// otherwise ignored (WooCommerce's creation ping).
  virtual bool IsPing(const WebhookRequest& request) const { return false; }
  /// Whether every order delivery carries the order's whole current state (then an older
  /// delivery than one applied is stale and skipped); false when deliveries are single events
  /// that must each be applied.
  virtual bool SnapshotsOrders() const { return false; }

  /// Sets the available quantity of items on the platform in one call (at most
  /// Limits().items_per_call of them, one update per item): a result per update, in order.
  virtual std::vector<PushResult> Push(const ApiEndpoint& api,
                                       const std::vector<StockUpdate>& updates) const = 0;
  /// Reads the platform's available quantity of items (at the endpoint's location); items the
  /// platform does not know are left out.
  virtual absl::StatusOr<std::map<std::string, int64_t>> ReadStock(
      const ApiEndpoint& api, const std::vector<std::string>& item_ids) const = 0;
  /// The returned lines of refund `refund_id` of `order_id` as a kReturned event (no lines when
  /// nothing was restocked), for platforms whose deliveries name refunds without their lines
  /// (kRefundIssued). UNAVAILABLE when the platform cannot be reached.
  virtual absl::StatusOr<CanonicalEvent> ReadRefund(const ApiEndpoint& /*api*/,
                                                    const std::string& /*order_id*/,
                                                    const std::string& /*refund_id*/) const {
    return absl::UnimplementedError(platform() + " deliveries carry their refunds' lines");
  }
  /// The sales and write-offs the platform recorded for `item_ids` (at the endpoint's location)
  /// after `after`, oldest first, for platforms that report stock levels (kStockCount).
  /// Other changes (counts, kura's pushes, receipts) are left out: reconciliation sees those.
  virtual absl::StatusOr<std::vector<PlatformMovement>> ReadMovements(
      const ApiEndpoint& /*api*/, const std::vector<std::string>& /*item_ids*/,
      absl::Time /*after*/) const {
    return absl::UnimplementedError(platform() + " has no inventory history");
  }
  /// Whether kura can cancel the platform's orders (CancelOrder).
  virtual bool CancelsOrders() const { return false; }
  /// Cancels order `order_id` on the platform, refunding the customer, because kura could not
  /// cover it (`detail` says why, for the merchant). An order already cancelled there is done.
  /// UNAVAILABLE when the platform cannot be reached or asks to wait (retried);
  /// FAILED_PRECONDITION when it refuses (an order shipped meanwhile, say).
  virtual absl::Status CancelOrder(const ApiEndpoint& /*api*/, const std::string& /*order_id*/,
                                   const std::string& /*detail*/) const {
    return absl::UnimplementedError(platform() + " orders are not cancelled through kura");
  }
  /// The rate the pusher keeps to per connection, and its batch size.
  virtual RateLimit Limits() const = 0;
};

/// The connector of a platform, or null.
const Connector* FindConnector(absl::string_view platform);
/// Every platform's name.
std::vector<std::string> Platforms();

}  // namespace kura::connector
