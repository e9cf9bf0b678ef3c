#pragma once

// The inbox's storage for applying deliveries: a worker claims a due delivery (and its order)
// under a lease, applies it with no transaction open, then records the outcome under its
// claim. Each call is one short transaction or a plain read.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connector.h"
#include "kura/pg/database.h"
#include "kura/pg/query.h"

namespace kura::connector {

/// A verified delivery to store (texts as stored: times in SQL form, the body in hex).
struct NewDelivery {
  std::string channel, platform, topic, event_id, order_id;
  std::optional<std::string> platform_time;
  std::string headers, body_hex, received_at;
};

/// A channel's webhook secrets and the notification URL the platform signs with.
struct ChannelSecrets {
  std::vector<std::string> secrets;
  std::string notification_url;
};

/// A delivery claimed to be applied.
struct ClaimedDelivery {
  int64_t inbox_id = 0;
  std::string token;  // the claim's
  std::string channel, platform, order_id;
  int attempts = 0;
  absl::Time received_at;
  WebhookRequest request;
  std::optional<absl::Time> platform_time;  // the snapshot's time, when ordered by it
  // The order's state, as recorded: cancelled (a cancel applied or remembered), and the time of
  // the newest snapshot applied.
  bool order_cancelled = false;
  std::optional<absl::Time> order_applied_time;
};

/// The outcome of claiming.
struct InboxClaim {
  bool found = false;  // a delivery was due (claimed, skipped as stale, or taken by another)
  std::optional<ClaimedDelivery> delivery;
};

/// What applying a delivery did, recorded with its outcome.
struct DeliveryEffects {
  bool order_cancelled = false;
  std::set<std::string> touched;               // SKUs to set on the platform again
  std::vector<std::string> edits_not_applied;  // details, one dead letter each
  std::vector<std::string> refunds_applied;    // refund ids read and applied
  std::vector<std::pair<std::string, absl::Time>> history_read;  // (platform item, newest seen)
  std::set<std::string> levels_changed;  // SKUs whose platform level differs from the last push
  // The order was kept as unfulfillable (why): cancelled on the platform if the channel says so.
  std::optional<std::string> unfulfillable;
  bool newly_unfulfillable = false;  // this delivery found it so (counted once)
};

/// How a delivery ended this time.
struct DeliveryOutcome {
  enum class Kind { kApplied, kDead, kRetry };
  Kind kind = Kind::kApplied;
  std::string reason;  // kDead: the dead letter's reason
  std::string error;   // kDead, kRetry
  absl::Time retry_at;
  bool count_attempt = true;  // kRetry: false while the services are unreachable
};

class InboxStore {
 public:
  explicit InboxStore(pg::Database& db) : db_(db) {}

  // Intake.
  /// Stores deliveries in one transaction; for each, whether it was new (not a duplicate).
  absl::StatusOr<std::vector<bool>> Store(const std::vector<const NewDelivery*>& deliveries);
  /// Stores a delivery that could not be parsed straight as a dead letter.
  absl::Status StoreMalformed(const std::string& channel, const std::string& platform,
                              const std::string& detail, const std::string& headers_json,
                              const std::string& body_hex, absl::Time now);
  /// The channel's connection to `platform`, if it has one.
  absl::StatusOr<std::optional<ChannelSecrets>> Secrets(const std::string& channel,
                                                        const std::string& platform);

  /// Claims the most overdue delivery whose order no other worker holds, with its order, until
  /// now + `lease`. Found without a delivery: another worker took the order meanwhile.
  absl::StatusOr<InboxClaim> Claim(absl::Time now, absl::Duration lease);
  /// Records the outcome and effects of a claimed delivery and releases it and its order.
  /// Nothing is recorded (false) when the claim lapsed and another worker took the delivery or
  /// its order. When
  /// `snapshot_time` is set, the order's newest applied snapshot moves up to it.
  absl::StatusOr<bool> Record(const ClaimedDelivery& d, const DeliveryOutcome& outcome,
                              const DeliveryEffects& effects,
                              std::optional<absl::Time> snapshot_time, absl::Time now);
  /// When the next waiting delivery comes due (none: nothing waits).
  absl::StatusOr<std::optional<absl::Time>> NextDue();

  // Reads for applying a delivery.
  /// The kura SKU mapped to a platform item of the channel, if any.
  absl::StatusOr<std::optional<std::string>> MappedSku(const std::string& channel,
                                                       const std::string& platform_item_id);
  /// The kura location mapped to a platform location of the channel, if any.
  absl::StatusOr<std::optional<std::string>> MappedLocation(const std::string& channel,
                                                            const std::string& platform_location);
  /// The channel's platform API (empty base URL when it has none).
  absl::StatusOr<ApiEndpoint> Endpoint(const std::string& channel);
  /// Whether refund `refund_id` of the channel was read and applied before.
  absl::StatusOr<bool> RefundApplied(const std::string& channel, const std::string& refund_id);
  /// The item mapped to a platform stock id (Shopify inventory item) of the channel, with the
  /// quantity kura last set there (none before the first push).
  struct PushedLevel {
    std::string sku;
    std::optional<int64_t> pushed;
  };
  absl::StatusOr<std::optional<PushedLevel>> PushedLevelOf(const std::string& channel,
                                                           const std::string& stock_id);
  /// Where reading a platform item's history starts, and how far it was read.
  absl::StatusOr<std::pair<absl::Time, absl::Time>> HistoryRead(const std::string& channel,
                                                                const std::string& item);

 private:
  // The first column of the first row of `query` ($1, $2), if any.
  absl::StatusOr<std::optional<std::string>> FirstText(const pg::Query& query, const std::string& a,
                                                       const std::string& b);

  pg::Database& db_;
};

}  // namespace kura::connector
