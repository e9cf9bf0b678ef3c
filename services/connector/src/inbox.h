#pragma once

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "absl/status/statusor.h"
#include "clients.h"
#include "connector.h"
#include "inbox_store.h"
#include "kura/base/clock.h"
#include "kura/base/ttl_cache.h"
#include "kura/batch/group_commit.h"
#include "kura/pg/database.h"

namespace kura::connector {

/// What a webhook delivery was answered.
struct Reception {
  int http_status;
  /// For the metric: accepted, duplicate, ping, bad_signature, malformed, unknown_webhook, error.
  std::string result;
};

/// Counts the inbox reports to metrics.
class InboxObserver {
 public:
  virtual ~InboxObserver() = default;
  virtual void DeadLettered(const std::string& reason) = 0;
  /// A delivery was applied (or ended): how long applying it took, and how long after it was
  /// received.
  virtual void Processed(const std::string& platform, absl::Duration took,
                         absl::Duration since_received) = 0;
  /// An order the platform accepted was kept as unfulfillable.
  virtual void Unfulfillable(const std::string& platform) = 0;
};

/// Webhook deliveries: verified, stored (deduplicated) and answered; then applied by workers
/// as reservation and ledger calls. Thread-safe.
class Inbox {
 public:
  Inbox(pg::Database& db, const Clock& clock, const Clients& clients, int max_attempts,
        InboxObserver& observer)
      : db_(db),
        clock_(clock),
        clients_(clients),
        max_attempts_(max_attempts),
        observer_(observer),
        store_(
            {.max_batch = 256, .window = absl::ZeroDuration()}, nullptr, clock,
            [this](std::vector<StoreItem>& batch) { return WriteBatch(batch); },
            [](StoreItem&& item, absl::Status why) { item.done->set_value(std::move(why)); }) {}

  /// Handles `POST /webhooks/{platform}/{channel}`: verifies the signature with the channel's
  /// secrets, stores the delivery once, and says how to answer. Never logs the body or secrets.
  Reception Receive(const std::string& platform, const std::string& channel,
                    WebhookRequest request);

  /// Applies the next due delivery, if any: claims it (and its order) under a lease, makes its
  /// reservation and ledger calls with no transaction open, records the outcome under the claim
  /// (workers of every replica share the inbox). Returns whether there was one.
  absl::StatusOr<bool> ProcessNext();
  /// Called (on the worker's thread) when a delivery reported a platform level of some items
  /// that differs from what kura last pushed there. Set before the workers start.
  void OnLevelChanged(
      std::function<void(const std::string& channel, const std::set<std::string>& skus)> f) {
    on_level_changed_ = std::move(f);
  }
  /// Called (on the worker's thread) after an order was recorded as unfulfillable: the channel
  /// may cancel it on the platform. Set before the workers start.
  void OnUnfulfillable(std::function<void()> f) { on_unfulfillable_ = std::move(f); }
  /// When the next waiting delivery comes due (none: nothing waits).
  absl::StatusOr<std::optional<absl::Time>> NextDue();

 private:
  // A delivery waiting to be stored; `done` gets whether it was new.
  struct StoreItem {
    const NewDelivery* row;
    std::shared_ptr<std::promise<absl::StatusOr<bool>>> done;
  };
  // A channel's webhook secrets and notification URL, read at most every
  // kConnectionCacheTtl (a changed connection takes effect within that).
  static constexpr absl::Duration kConnectionCacheTtl = absl::Seconds(2);
  absl::StatusOr<std::optional<ChannelSecrets>> Connection(const std::string& channel,
                                                           const std::string& platform);

  // Stores one delivery (group commit with those arriving meanwhile); whether it was new.
  absl::StatusOr<bool> Store(const NewDelivery& row);
  // Stores a batch in one transaction; returns the work of answering its deliveries.
  batch::GroupCommit<StoreItem>::Answer WriteBatch(std::vector<StoreItem>& batch);

  // Applies a delivery's events in order, with no transaction open; `effects` starts with the
  // order's remembered cancellation and collects what is to be recorded.
  absl::Status Apply(const std::string& channel, const Connector& connector, int64_t inbox_id,
                     const std::vector<CanonicalEvent>& events, DeliveryEffects& effects);
  absl::Status CancelOrder(const std::string& channel, const std::string& order_id);
  // Notes the items whose platform level (`lines`) differs from what kura last pushed there.
  absl::Status NoteLevels(const std::string& channel,
                          const std::vector<CanonicalEvent::Line>& lines, DeliveryEffects& effects);
  // The channel's platform API, to read from (refunds, stock history).
  absl::StatusOr<ApiEndpoint> Endpoint(const std::string& channel);
  // The channel's first location in the ledger.
  absl::StatusOr<std::string> PrimaryLocation(const std::string& channel);

  pg::Database& db_;
  const Clock& clock_;
  const Clients& clients_;
  const int max_attempts_;
  InboxObserver& observer_;
  InboxStore inbox_store_{db_};
  std::function<void(const std::string&, const std::set<std::string>&)> on_level_changed_;
  std::function<void()> on_unfulfillable_;
  TtlCache<std::pair<std::string, std::string>, std::optional<ChannelSecrets>> connections_{
      clock_, kConnectionCacheTtl};
  // Deliveries that arrive together are stored in one transaction (one commit, one fsync).
  batch::GroupCommit<StoreItem> store_;  // last: its writer thread uses the members above
};

}  // namespace kura::connector
