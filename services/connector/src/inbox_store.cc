#include "inbox_store.h"

#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "kura/base/claim_token.h"
#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"

namespace kura::connector {
namespace {

using Tx = pqxx::transaction_base;
using pg::SqlTime;

// Queries, by name.
constexpr pg::Query kStoreDelivery{
    "inbox_store_delivery",
    "INSERT INTO inbox (channel, platform, topic, event_id, order_id, platform_time, headers, "
    "body, received_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, decode($8, 'hex'), "
    "$9, $9) ON CONFLICT DO NOTHING RETURNING 1"};
constexpr pg::Query kStoreMalformed{
    "inbox_store_malformed",
    "INSERT INTO dead_letters (channel, platform, reason, detail, headers, body, created_at) "
    "VALUES ($1, $2, 'MALFORMED_BODY', $3, $4, decode($5, 'hex'), $6)"};
constexpr pg::Query kSecrets{"inbox_secrets",
                             "SELECT array_to_json(webhook_secrets)::text, notification_url "
                             "FROM connections WHERE channel = $1 AND platform = $2"};
// The most overdue unclaimed delivery whose order no live claim holds.
constexpr pg::Query kDueDelivery{
    "inbox_due_delivery",
    "SELECT i.inbox_id, i.channel, i.platform, i.headers, encode(i.body, 'hex'), i.attempts, "
    "i.order_id, (extract(epoch FROM i.platform_time) * 1000000)::bigint, "
    "coalesce(c.notification_url, ''), (extract(epoch FROM i.received_at) * 1000000)::bigint "
    "FROM inbox i LEFT JOIN connections c USING (channel) "
    "WHERE i.state = 0 AND i.next_attempt_at <= $1 "
    "AND (i.claimed_until IS NULL OR i.claimed_until <= $1) "
    "AND (i.order_id = '' OR NOT EXISTS (SELECT 1 FROM platform_orders o WHERE "
    "o.channel = i.channel AND o.order_id = i.order_id AND o.claimed_until > $1)) "
    "ORDER BY i.next_attempt_at, i.inbox_id LIMIT 1 FOR UPDATE OF i SKIP LOCKED"};
constexpr pg::Query kAddOrder{
    "inbox_add_order",
    "INSERT INTO platform_orders (channel, order_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"};
// Locked: a worker that chose another delivery of the order meanwhile waits here, then sees the
// claim.
constexpr pg::Query kOrderState{
    "inbox_order_state",
    "SELECT (extract(epoch FROM platform_time) * 1000000)::bigint, cancelled, "
    "claimed_until > $3 FROM platform_orders WHERE channel = $1 AND order_id = $2 FOR UPDATE"};
constexpr pg::Query kClaimOrder{
    "inbox_claim_order",
    "UPDATE platform_orders SET claim = $3, claimed_until = $4 WHERE channel = $1 AND "
    "order_id = $2"};
constexpr pg::Query kClaimDelivery{
    "inbox_claim_delivery", "UPDATE inbox SET claim = $2, claimed_until = $3 WHERE inbox_id = $1"};
// A delivery whose order another worker holds comes due when that claim ends.
constexpr pg::Query kNextDue{
    "inbox_next_due",
    "SELECT (extract(epoch FROM min(greatest(i.next_attempt_at, i.claimed_until, "
    "o.claimed_until))) * 1000000)::bigint FROM inbox i LEFT JOIN platform_orders o "
    "ON o.channel = i.channel AND o.order_id = i.order_id AND i.order_id <> '' "
    "WHERE i.state = 0"};
// Ends the claim; no row when it lapsed and another worker holds the delivery (or its order).
constexpr pg::Query kRelease{
    "inbox_release",
    "UPDATE inbox SET claim = NULL, claimed_until = NULL WHERE inbox_id = $1 AND claim = $2 "
    "AND ($3 = '' OR EXISTS (SELECT 1 FROM platform_orders o WHERE o.channel = inbox.channel "
    "AND o.order_id = $3 AND o.claim = $2)) RETURNING 1"};
constexpr pg::Query kDone{
    "inbox_done", "UPDATE inbox SET state = 1, last_error = '', done_at = $2 WHERE inbox_id = $1"};
constexpr pg::Query kDead{
    "inbox_dead", "UPDATE inbox SET state = 2, last_error = $2, done_at = $3 WHERE inbox_id = $1"};
constexpr pg::Query kLater{
    "inbox_later",
    "UPDATE inbox SET attempts = attempts + $2, last_error = $3, next_attempt_at = $4 "
    "WHERE inbox_id = $1"};
constexpr pg::Query kDeadLetter{
    "inbox_dead_letter",
    "INSERT INTO dead_letters (inbox_id, channel, platform, reason, detail, headers, body, "
    "created_at) SELECT inbox_id, channel, platform, $2, $3, headers, body, $4 FROM inbox "
    "WHERE inbox_id = $1"};
constexpr pg::Query kReleaseOrder{
    "inbox_release_order",
    "UPDATE platform_orders SET claim = NULL, claimed_until = NULL WHERE channel = $1 AND "
    "order_id = $2 AND claim = $3"};
// A cancellation, once known, stays (a cancel may be recorded while a create is applied).
constexpr pg::Query kOrderApplied{
    "inbox_order_applied",
    "UPDATE platform_orders SET cancelled = cancelled OR $3, platform_time = "
    "greatest(platform_time, $4::timestamptz) WHERE channel = $1 AND order_id = $2"};
constexpr pg::Query kPushAgain{
    "inbox_push_again", "INSERT INTO push_refresh (channel, sku) SELECT $1, unnest($2::text[])"};
// An unfulfillable order is cancelled on the platform where the channel says so (once).
constexpr pg::Query kCancelOnPlatform{
    "inbox_cancel_on_platform",
    "INSERT INTO platform_cancels (channel, order_id, reason, skus, created_at, next_attempt_at) "
    "SELECT channel, $2, $3, $5::text[], $4, $4 FROM connections WHERE channel = $1 "
    "AND cancel_unfulfillable ON CONFLICT DO NOTHING"};
constexpr pg::Query kRefundApplied{
    "inbox_refund_applied",
    "INSERT INTO applied_refunds VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"};
constexpr pg::Query kHistoryRead{
    "inbox_history_read",
    "UPDATE item_mappings SET history_read_to = greatest(history_read_to, $3::timestamptz) "
    "WHERE channel = $1 AND platform_item_id = $2"};
constexpr pg::Query kMappedSku{
    "inbox_mapped_sku",
    "SELECT sku FROM item_mappings WHERE channel = $1 AND platform_item_id = $2"};
constexpr pg::Query kMappedLocation{
    "inbox_mapped_location",
    "SELECT location FROM location_mappings WHERE channel = $1 AND platform_location_id = $2"};
constexpr pg::Query kEndpoint{
    "inbox_endpoint",
    "SELECT api_url, api_credentials, push_location_id FROM connections WHERE channel = $1"};
constexpr pg::Query kRefundSeen{
    "inbox_refund_seen", "SELECT 1 FROM applied_refunds WHERE channel = $1 AND refund_id = $2"};
constexpr pg::Query kPushedLevel{
    "inbox_pushed_level",
    "SELECT m.sku, p.pushed FROM item_mappings m LEFT JOIN pushes p USING (channel, sku) "
    "WHERE m.channel = $1 AND (m.platform_inventory_item_id = $2 OR "
    "(m.platform_inventory_item_id = '' AND m.platform_item_id = $2)) LIMIT 1"};
constexpr pg::Query kHistoryFrom{
    "inbox_history_from",
    "SELECT (extract(epoch FROM history_from) * 1000000)::bigint, "
    "(extract(epoch FROM coalesce(history_read_to, history_from)) * 1000000)::bigint "
    "FROM item_mappings WHERE channel = $1 AND platform_item_id = $2"};

std::optional<absl::Time> MicrosOrNull(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return absl::FromUnixMicros(f.as<int64_t>());
}

}  // namespace

absl::StatusOr<std::vector<bool>> InboxStore::Store(
    const std::vector<const NewDelivery*>& deliveries) {
  return pg::Transact<std::vector<bool>>(db_, {}, [&](Tx& tx) -> absl::StatusOr<std::vector<bool>> {
    std::vector<bool> inserted;
    for (const NewDelivery* r : deliveries) {
      inserted.push_back(!pg::Exec(tx, kStoreDelivery, r->channel, r->platform, r->topic,
                                   r->event_id, r->order_id, r->platform_time, r->headers,
                                   r->body_hex, r->received_at)
                              .empty());
    }
    return inserted;
  });
}

absl::Status InboxStore::StoreMalformed(const std::string& channel, const std::string& platform,
                                        const std::string& detail, const std::string& headers_json,
                                        const std::string& body_hex, absl::Time now) {
  return pg::ReadEach<bool>(db_,
                            [&](Tx& tx) -> absl::StatusOr<bool> {
                              pg::Exec(tx, kStoreMalformed, channel, platform, detail, headers_json,
                                       body_hex, SqlTime(now));
                              return true;
                            })
      .status();
}

absl::StatusOr<std::optional<ChannelSecrets>> InboxStore::Secrets(const std::string& channel,
                                                                  const std::string& platform) {
  using Out = std::optional<ChannelSecrets>;
  return pg::ReadEach<Out>(db_, [&](Tx& tx) -> absl::StatusOr<Out> {
    auto rows = pg::Exec(tx, kSecrets, channel, platform);
    if (rows.empty()) return std::nullopt;
    ChannelSecrets out;
    for (const auto& secret : nlohmann::json::parse(rows[0][0].as<std::string>())) {
      out.secrets.push_back(secret.get<std::string>());
    }
    out.notification_url = rows[0][1].as<std::string>();
    return out;
  });
}

absl::StatusOr<InboxClaim> InboxStore::Claim(absl::Time now, absl::Duration lease) {
  return pg::Transact<InboxClaim>(db_, {}, [&](Tx& tx) -> absl::StatusOr<InboxClaim> {
    auto rows = pg::Exec(tx, kDueDelivery, SqlTime(now));
    if (rows.empty()) return InboxClaim{};
    const auto& row = rows[0];
    ClaimedDelivery d;
    d.inbox_id = row[0].as<int64_t>();
    d.channel = row[1].as<std::string>();
    d.platform = row[2].as<std::string>();
    d.attempts = row[5].as<int>();
    d.order_id = row[6].as<std::string>();
    d.platform_time = MicrosOrNull(row[7]);
    d.request.url = row[8].as<std::string>();
    d.received_at = absl::FromUnixMicros(row[9].as<int64_t>());
    const nlohmann::json headers = nlohmann::json::parse(row[3].as<std::string>());
    for (const auto& [k, v] : headers.items()) d.request.headers[k] = v.get<std::string>();
    d.request.body = absl::HexStringToBytes(row[4].as<std::string>());
    d.token = NewClaimToken();
    const std::string until = SqlTime(now + lease);
    if (!d.order_id.empty()) {
      pg::Exec(tx, kAddOrder, d.channel, d.order_id);
      auto state = pg::Exec1(tx, kOrderState, d.channel, d.order_id, SqlTime(now));
      // Another worker claimed the order after this one chose its delivery: try again.
      if (!state[2].is_null() && state[2].as<bool>()) return InboxClaim{.found = true};
      d.order_applied_time = MicrosOrNull(state[0]);
      d.order_cancelled = state[1].as<bool>();
      pg::Exec(tx, kClaimOrder, d.channel, d.order_id, d.token, until);
    }
    pg::Exec(tx, kClaimDelivery, d.inbox_id, d.token, until);
    return InboxClaim{.found = true, .delivery = std::move(d)};
  });
}

absl::StatusOr<bool> InboxStore::Record(const ClaimedDelivery& d, const DeliveryOutcome& outcome,
                                        const DeliveryEffects& effects,
                                        std::optional<absl::Time> snapshot_time, absl::Time now) {
  using Kind = DeliveryOutcome::Kind;
  return pg::Transact<bool>(db_, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
    if (pg::Exec(tx, kRelease, d.inbox_id, d.token, d.order_id).empty()) return false;
    switch (outcome.kind) {
      case Kind::kApplied:
        pg::Exec(tx, kDone, d.inbox_id, SqlTime(now));
        if (effects.unfulfillable && !d.order_id.empty() && !effects.order_cancelled) {
          pg::Exec(tx, kCancelOnPlatform, d.channel, d.order_id, *effects.unfulfillable,
                   SqlTime(now),
                   pg::SqlTextArray({effects.touched.begin(), effects.touched.end()}));
        }
        if (!d.order_id.empty()) {
          pg::Exec(tx, kOrderApplied, d.channel, d.order_id, effects.order_cancelled,
                   snapshot_time ? std::optional(SqlTime(*snapshot_time)) : std::nullopt);
        }
        break;
      case Kind::kDead:
        pg::Exec(tx, kDeadLetter, d.inbox_id, outcome.reason, outcome.error, SqlTime(now));
        pg::Exec(tx, kDead, d.inbox_id, outcome.error, SqlTime(now));
        break;
      case Kind::kRetry:
        pg::Exec(tx, kLater, d.inbox_id, outcome.count_attempt ? 1 : 0, outcome.error,
                 SqlTime(outcome.retry_at));
        break;
    }
    if (!d.order_id.empty()) pg::Exec(tx, kReleaseOrder, d.channel, d.order_id, d.token);
    // Facts of what was done: kept whatever the outcome (a retry does not redo them).
    if (!effects.touched.empty()) {
      pg::Exec(tx, kPushAgain, d.channel,
               pg::SqlTextArray({effects.touched.begin(), effects.touched.end()}));
    }
    for (const auto& refund : effects.refunds_applied) {
      pg::Exec(tx, kRefundApplied, d.channel, refund, SqlTime(now));
    }
    for (const auto& [item, newest] : effects.history_read) {
      pg::Exec(tx, kHistoryRead, d.channel, item, SqlTime(newest));
    }
    if (outcome.kind != Kind::kRetry) {  // a retry finds the edit again
      for (const auto& detail : effects.edits_not_applied) {
        pg::Exec(tx, kDeadLetter, d.inbox_id, "ORDER_EDIT_NOT_APPLIED", detail, SqlTime(now));
      }
    }
    return true;
  });
}

absl::StatusOr<std::optional<absl::Time>> InboxStore::NextDue() {
  using Out = std::optional<absl::Time>;
  return pg::ReadEach<Out>(
      db_, [](Tx& tx) -> absl::StatusOr<Out> { return MicrosOrNull(pg::Exec1(tx, kNextDue)[0]); });
}

absl::StatusOr<std::optional<std::string>> InboxStore::MappedSku(
    const std::string& channel, const std::string& platform_item_id) {
  return FirstText(kMappedSku, channel, platform_item_id);
}

absl::StatusOr<std::optional<std::string>> InboxStore::MappedLocation(
    const std::string& channel, const std::string& platform_location) {
  return FirstText(kMappedLocation, channel, platform_location);
}

absl::StatusOr<std::optional<std::string>> InboxStore::FirstText(const pg::Query& query,
                                                                 const std::string& a,
                                                                 const std::string& b) {
  using Out = std::optional<std::string>;
  return pg::ReadEach<Out>(db_, [&](Tx& tx) -> absl::StatusOr<Out> {
    auto rows = pg::Exec(tx, query, a, b);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
  });
}

absl::StatusOr<ApiEndpoint> InboxStore::Endpoint(const std::string& channel) {
  return pg::ReadEach<ApiEndpoint>(db_, [&](Tx& tx) -> absl::StatusOr<ApiEndpoint> {
    auto rows = pg::Exec(tx, kEndpoint, channel);
    if (rows.empty()) return ApiEndpoint{};
    return ApiEndpoint{rows[0][0].as<std::string>(), rows[0][1].as<std::string>(),
                       rows[0][2].as<std::string>()};
  });
}

absl::StatusOr<bool> InboxStore::RefundApplied(const std::string& channel,
                                               const std::string& refund_id) {
  return pg::ReadEach<bool>(db_, [&](Tx& tx) -> absl::StatusOr<bool> {
    return !pg::Exec(tx, kRefundSeen, channel, refund_id).empty();
  });
}

absl::StatusOr<std::optional<InboxStore::PushedLevel>> InboxStore::PushedLevelOf(
    const std::string& channel, const std::string& stock_id) {
  using Out = std::optional<PushedLevel>;
  return pg::ReadEach<Out>(db_, [&](Tx& tx) -> absl::StatusOr<Out> {
    auto rows = pg::Exec(tx, kPushedLevel, channel, stock_id);
    if (rows.empty()) return std::nullopt;
    PushedLevel out{rows[0][0].as<std::string>(), std::nullopt};
    if (!rows[0][1].is_null()) out.pushed = rows[0][1].as<int64_t>();
    return out;
  });
}

absl::StatusOr<std::pair<absl::Time, absl::Time>> InboxStore::HistoryRead(
    const std::string& channel, const std::string& item) {
  using Out = std::pair<absl::Time, absl::Time>;
  return pg::ReadEach<Out>(db_, [&](Tx& tx) -> absl::StatusOr<Out> {
    auto row = pg::Exec1(tx, kHistoryFrom, channel, item);
    return Out{absl::FromUnixMicros(row[0].as<int64_t>()),
               absl::FromUnixMicros(row[1].as<int64_t>())};
  });
}

}  // namespace kura::connector
