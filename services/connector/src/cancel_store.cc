#include "cancel_store.h"

#include <pqxx/pqxx>

#include "kura/base/claim_token.h"
#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"

namespace kura::connector {
namespace {

using Tx = pqxx::transaction_base;
using pg::SqlTime;

// Queries, by name.
constexpr pg::Query kDue{
    "cancel_due",
    "SELECT p.channel, p.order_id, p.reason, p.attempts, c.platform, c.api_url, "
    "c.api_credentials, c.push_location_id FROM platform_cancels p JOIN connections c "
    "USING (channel) WHERE p.state = 0 AND c.cancel_unfulfillable AND p.next_attempt_at <= $1 "
    "AND (p.claimed_until IS NULL OR p.claimed_until <= $1) "
    "ORDER BY p.next_attempt_at LIMIT 1 FOR UPDATE OF p SKIP LOCKED"};
constexpr pg::Query kTake{
    "cancel_take",
    "UPDATE platform_cancels SET claim = $3, claimed_until = $4 WHERE channel = $1 AND "
    "order_id = $2"};
// kind: 0 done, 1 later, 2 given up.
constexpr pg::Query kRecord{
    "cancel_record",
    "UPDATE platform_cancels SET claim = NULL, claimed_until = NULL, "
    "state = CASE $4::integer WHEN 0 THEN 1 WHEN 2 THEN 2 ELSE 0 END, "
    "attempts = attempts + CASE $4::integer WHEN 0 THEN 0 ELSE 1 END, last_error = $5, "
    "next_attempt_at = CASE $4::integer WHEN 1 THEN $6::timestamptz ELSE next_attempt_at END, "
    "done_at = CASE $4::integer WHEN 1 THEN NULL ELSE $7::timestamptz END "
    "WHERE channel = $1 AND order_id = $2 AND claim = $3 RETURNING skus"};
// The platform restocks its own count of a cancelled order (WooCommerce does): its items are
// pushed afresh.
constexpr pg::Query kPushAgain{
    "cancel_push_again", "INSERT INTO push_refresh (channel, sku) SELECT $1, unnest($2::text[])"};
constexpr pg::Query kDeadLetter{
    "cancel_dead_letter",
    "INSERT INTO dead_letters (channel, platform, reason, detail, headers, body, created_at) "
    "VALUES ($1, $2, 'PLATFORM_CANCEL_FAILED', $3, '{}', ''::bytea, $4)"};
constexpr pg::Query kNextDue{
    "cancel_next_due",
    "SELECT (extract(epoch FROM min(greatest(next_attempt_at, claimed_until))) * 1000000)::bigint "
    "FROM platform_cancels p JOIN connections c USING (channel) "
    "WHERE p.state = 0 AND c.cancel_unfulfillable"};

}  // namespace

absl::StatusOr<std::optional<ClaimedCancel>> CancelStore::Claim(absl::Time now,
                                                                absl::Duration lease) {
  using Out = std::optional<ClaimedCancel>;
  return pg::Transact<Out>(db_, {}, [&](Tx& tx) -> absl::StatusOr<Out> {
    auto rows = pg::Exec(tx, kDue, SqlTime(now));
    if (rows.empty()) return std::nullopt;
    const auto& r = rows[0];
    ClaimedCancel c{
        .channel = r[0].as<std::string>(),
        .order_id = r[1].as<std::string>(),
        .reason = r[2].as<std::string>(),
        .platform = r[4].as<std::string>(),
        .token = NewClaimToken(),
        .attempts = r[3].as<int>(),
        .api = {r[5].as<std::string>(), r[6].as<std::string>(), r[7].as<std::string>()}};
    pg::Exec(tx, kTake, c.channel, c.order_id, c.token, SqlTime(now + lease));
    return c;
  });
}

absl::StatusOr<bool> CancelStore::Record(const ClaimedCancel& c, const CancelOutcome& outcome,
                                         absl::Time now) {
  const int kind = outcome.kind == CancelOutcome::Kind::kDone    ? 0
                   : outcome.kind == CancelOutcome::Kind::kRetry ? 1
                                                                 : 2;
  return pg::Transact<bool>(db_, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
    auto recorded = pg::Exec(tx, kRecord, c.channel, c.order_id, c.token, kind, outcome.error,
                             SqlTime(outcome.retry_at), SqlTime(now));
    if (recorded.empty()) return false;
    if (kind == 0) pg::Exec(tx, kPushAgain, c.channel, recorded[0][0].c_str());
    if (kind == 2) {
      pg::Exec(tx, kDeadLetter, c.channel, c.platform,
               "order " + c.order_id + " could not be cancelled on the platform: " + outcome.error,
               SqlTime(now));
    }
    return true;
  });
}

absl::StatusOr<std::optional<absl::Time>> CancelStore::NextDue() {
  using Out = std::optional<absl::Time>;
  return pg::ReadEach<Out>(db_, [](Tx& tx) -> absl::StatusOr<Out> {
    const auto f = pg::Exec1(tx, kNextDue)[0];
    if (f.is_null()) return std::nullopt;
    return absl::FromUnixMicros(f.as<int64_t>());
  });
}

}  // namespace kura::connector
