#include "inbox_store.h"

#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "claim_token.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"

namespace kura::connector {
namespace {

using Tx = pqxx::transaction_base;
using pg::SqlTime;

// Queries, by name.
// The most overdue unclaimed delivery whose order no live claim holds.
constexpr const char* kDueDelivery =
    "SELECT i.inbox_id, i.channel, i.platform, i.headers, encode(i.body, 'hex'), i.attempts, "
    "i.order_id, (extract(epoch FROM i.platform_time) * 1000000)::bigint, "
    "coalesce(c.notification_url, ''), (extract(epoch FROM i.received_at) * 1000000)::bigint "
    "FROM inbox i LEFT JOIN connections c USING (channel) "
    "WHERE i.state = 0 AND i.next_attempt_at <= $1 "
    "AND (i.claimed_until IS NULL OR i.claimed_until <= $1) "
    "AND (i.order_id = '' OR NOT EXISTS (SELECT 1 FROM platform_orders o WHERE "
    "o.channel = i.channel AND o.order_id = i.order_id AND o.claimed_until > $1)) "
    "ORDER BY i.next_attempt_at, i.inbox_id LIMIT 1 FOR UPDATE OF i SKIP LOCKED";
constexpr const char* kAddOrder =
    "INSERT INTO platform_orders (channel, order_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
// Locked: a worker that chose another delivery of the order meanwhile waits here, then sees the
// claim.
constexpr const char* kOrderState =
    "SELECT (extract(epoch FROM platform_time) * 1000000)::bigint, cancelled, "
    "claimed_until > $3 FROM platform_orders WHERE channel = $1 AND order_id = $2 FOR UPDATE";
constexpr const char* kClaimOrder =
    "UPDATE platform_orders SET claim = $3, claimed_until = $4 WHERE channel = $1 AND "
    "order_id = $2";
constexpr const char* kClaimDelivery =
    "UPDATE inbox SET claim = $2, claimed_until = $3 WHERE inbox_id = $1";
// A delivery whose order another worker holds comes due when that claim ends.
constexpr const char* kNextDue =
    "SELECT (extract(epoch FROM min(greatest(i.next_attempt_at, i.claimed_until, "
    "o.claimed_until))) * 1000000)::bigint FROM inbox i LEFT JOIN platform_orders o "
    "ON o.channel = i.channel AND o.order_id = i.order_id AND i.order_id <> '' "
    "WHERE i.state = 0";
// Ends the claim; no row when it lapsed and another worker holds the delivery (or its order).
constexpr const char* kRelease =
    "UPDATE inbox SET claim = NULL, claimed_until = NULL WHERE inbox_id = $1 AND claim = $2 "
    "AND ($3 = '' OR EXISTS (SELECT 1 FROM platform_orders o WHERE o.channel = inbox.channel "
    "AND o.order_id = $3 AND o.claim = $2)) RETURNING 1";
constexpr const char* kDone =
    "UPDATE inbox SET state = 1, last_error = '', done_at = $2 WHERE inbox_id = $1";
constexpr const char* kDead =
    "UPDATE inbox SET state = 2, last_error = $2, done_at = $3 WHERE inbox_id = $1";
constexpr const char* kLater =
    "UPDATE inbox SET attempts = attempts + $2, last_error = $3, next_attempt_at = $4 "
    "WHERE inbox_id = $1";
constexpr const char* kDeadLetter =
    "INSERT INTO dead_letters (inbox_id, channel, platform, reason, detail, headers, body, "
    "created_at) SELECT inbox_id, channel, platform, $2, $3, headers, body, $4 FROM inbox "
    "WHERE inbox_id = $1";
constexpr const char* kReleaseOrder =
    "UPDATE platform_orders SET claim = NULL, claimed_until = NULL WHERE channel = $1 AND "
    "order_id = $2 AND claim = $3";
// A cancellation, once known, stays (a cancel may be recorded while a create is applied).
constexpr const char* kOrderApplied =
    "UPDATE platform_orders SET cancelled = cancelled OR $3, platform_time = "
    "greatest(platform_time, $4::timestamptz) WHERE channel = $1 AND order_id = $2";
constexpr const char* kPushAgain =
    "INSERT INTO push_refresh (channel, sku) SELECT $1, unnest($2::text[])";
// An unfulfillable order is cancelled on the platform where the channel says so (once).
constexpr const char* kCancelOnPlatform =
    "INSERT INTO platform_cancels (channel, order_id, reason, created_at, next_attempt_at) "
    "SELECT channel, $2, $3, $4, $4 FROM connections WHERE channel = $1 AND cancel_unfulfillable "
    "ON CONFLICT DO NOTHING";
constexpr const char* kRefundApplied =
    "INSERT INTO applied_refunds VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
constexpr const char* kHistoryRead =
    "UPDATE item_mappings SET history_read_to = greatest(history_read_to, $3::timestamptz) "
    "WHERE channel = $1 AND platform_item_id = $2";
constexpr const char* kMappedSku =
    "SELECT sku FROM item_mappings WHERE channel = $1 AND platform_item_id = $2";
constexpr const char* kMappedLocation =
    "SELECT location FROM location_mappings WHERE channel = $1 AND platform_location_id = $2";
constexpr const char* kEndpoint =
    "SELECT api_url, api_credentials, push_location_id FROM connections WHERE channel = $1";
constexpr const char* kRefundSeen =
    "SELECT 1 FROM applied_refunds WHERE channel = $1 AND refund_id = $2";
constexpr const char* kPushedLevel =
    "SELECT m.sku, p.pushed FROM item_mappings m LEFT JOIN pushes p USING (channel, sku) "
    "WHERE m.channel = $1 AND (m.platform_inventory_item_id = $2 OR "
    "(m.platform_inventory_item_id = '' AND m.platform_item_id = $2)) LIMIT 1";
constexpr const char* kHistoryFrom =
    "SELECT (extract(epoch FROM history_from) * 1000000)::bigint, "
    "(extract(epoch FROM coalesce(history_read_to, history_from)) * 1000000)::bigint "
    "FROM item_mappings WHERE channel = $1 AND platform_item_id = $2";

std::optional<absl::Time> MicrosOrNull(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return absl::FromUnixMicros(f.as<int64_t>());
}

}  // namespace

absl::StatusOr<InboxClaim> InboxStore::Claim(absl::Time now, absl::Duration lease) {
  return pg::Transact<InboxClaim>(db_, {}, [&](Tx& tx) -> absl::StatusOr<InboxClaim> {
    auto rows = tx.exec_params(kDueDelivery, SqlTime(now));
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
      tx.exec_params(kAddOrder, d.channel, d.order_id);
      auto state = tx.exec_params1(kOrderState, d.channel, d.order_id, SqlTime(now));
      // Another worker claimed the order after this one chose its delivery: try again.
      if (!state[2].is_null() && state[2].as<bool>()) return InboxClaim{.found = true};
      d.order_applied_time = MicrosOrNull(state[0]);
      d.order_cancelled = state[1].as<bool>();
      tx.exec_params(kClaimOrder, d.channel, d.order_id, d.token, until);
    }
    tx.exec_params(kClaimDelivery, d.inbox_id, d.token, until);
    return InboxClaim{.found = true, .delivery = std::move(d)};
  });
}

absl::StatusOr<bool> InboxStore::Record(const ClaimedDelivery& d, const DeliveryOutcome& outcome,
                                        const DeliveryEffects& effects,
                                        std::optional<absl::Time> snapshot_time, absl::Time now) {
  using Kind = DeliveryOutcome::Kind;
  return pg::Transact<bool>(db_, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
    if (tx.exec_params(kRelease, d.inbox_id, d.token, d.order_id).empty()) return false;
    switch (outcome.kind) {
      case Kind::kApplied:
        tx.exec_params(kDone, d.inbox_id, SqlTime(now));
        if (effects.unfulfillable && !d.order_id.empty() && !effects.order_cancelled) {
          tx.exec_params(kCancelOnPlatform, d.channel, d.order_id, *effects.unfulfillable,
                         SqlTime(now));
        }
        if (!d.order_id.empty()) {
          tx.exec_params(kOrderApplied, d.channel, d.order_id, effects.order_cancelled,
                         snapshot_time ? std::optional(SqlTime(*snapshot_time)) : std::nullopt);
        }
        break;
      case Kind::kDead:
        tx.exec_params(kDeadLetter, d.inbox_id, outcome.reason, outcome.error, SqlTime(now));
        tx.exec_params(kDead, d.inbox_id, outcome.error, SqlTime(now));
        break;
      case Kind::kRetry:
        tx.exec_params(kLater, d.inbox_id, outcome.count_attempt ? 1 : 0, outcome.error,
                       SqlTime(outcome.retry_at));
        break;
    }
    if (!d.order_id.empty()) tx.exec_params(kReleaseOrder, d.channel, d.order_id, d.token);
    // Facts of what was done: kept whatever the outcome (a retry does not redo them).
    if (!effects.touched.empty()) {
      tx.exec_params(kPushAgain, d.channel,
                     pg::SqlTextArray({effects.touched.begin(), effects.touched.end()}));
    }
    for (const auto& refund : effects.refunds_applied) {
      tx.exec_params(kRefundApplied, d.channel, refund, SqlTime(now));
    }
    for (const auto& [item, newest] : effects.history_read) {
      tx.exec_params(kHistoryRead, d.channel, item, SqlTime(newest));
    }
    if (outcome.kind != Kind::kRetry) {  // a retry finds the edit again
      for (const auto& detail : effects.edits_not_applied) {
        tx.exec_params(kDeadLetter, d.inbox_id, "ORDER_EDIT_NOT_APPLIED", detail, SqlTime(now));
      }
    }
    return true;
  });
}

absl::StatusOr<std::optional<absl::Time>> InboxStore::NextDue() {
  using Out = std::optional<absl::Time>;
  return pg::ReadEach<Out>(
      db_, [](Tx& tx) -> absl::StatusOr<Out> { return MicrosOrNull(tx.exec1(kNextDue)[0]); });
}

absl::StatusOr<std::optional<std::string>> InboxStore::MappedSku(
    const std::string& channel, const std::string& platform_item_id) {
  return FirstText(kMappedSku, channel, platform_item_id);
}

absl::StatusOr<std::optional<std::string>> InboxStore::MappedLocation(
    const std::string& channel, const std::string& platform_location) {
  return FirstText(kMappedLocation, channel, platform_location);
}

absl::StatusOr<std::optional<std::string>> InboxStore::FirstText(const char* query,
                                                                 const std::string& a,
                                                                 const std::string& b) {
  using Out = std::optional<std::string>;
  return pg::ReadEach<Out>(db_, [&](Tx& tx) -> absl::StatusOr<Out> {
    auto rows = tx.exec_params(query, a, b);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
  });
}

absl::StatusOr<ApiEndpoint> InboxStore::Endpoint(const std::string& channel) {
  return pg::ReadEach<ApiEndpoint>(db_, [&](Tx& tx) -> absl::StatusOr<ApiEndpoint> {
    auto rows = tx.exec_params(kEndpoint, channel);
    if (rows.empty()) return ApiEndpoint{};
    return ApiEndpoint{rows[0][0].as<std::string>(), rows[0][1].as<std::string>(),
                       rows[0][2].as<std::string>()};
  });
}

absl::StatusOr<bool> InboxStore::RefundApplied(const std::string& channel,
                                               const std::string& refund_id) {
  return pg::ReadEach<bool>(db_, [&](Tx& tx) -> absl::StatusOr<bool> {
    return !tx.exec_params(kRefundSeen, channel, refund_id).empty();
  });
}

absl::StatusOr<std::optional<InboxStore::PushedLevel>> InboxStore::PushedLevelOf(
    const std::string& channel, const std::string& stock_id) {
  using Out = std::optional<PushedLevel>;
  return pg::ReadEach<Out>(db_, [&](Tx& tx) -> absl::StatusOr<Out> {
    auto rows = tx.exec_params(kPushedLevel, channel, stock_id);
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
    auto row = tx.exec_params1(kHistoryFrom, channel, item);
    return Out{absl::FromUnixMicros(row[0].as<int64_t>()),
               absl::FromUnixMicros(row[1].as<int64_t>())};
  });
}

}  // namespace kura::connector
