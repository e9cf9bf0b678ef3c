#include "push_store.h"

#include <pqxx/pqxx>

#include "kura/base/claim_token.h"
#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"

namespace kura::connector {
namespace {

using Tx = pqxx::transaction_base;
using pg::SqlTextArray;
using pg::SqlTime;

// The pusher's state is derived (from the ledger's feed and the platform's answers): a commit
// lost with a PostgreSQL crash is worked out or pushed again, never wrong. Its transactions do
// not wait for the WAL flush.
constexpr pg::TransactionOptions kNoFlushWait{.wait_for_flush = false};

// Queries, by name.
constexpr pg::Query kCursor{"push_cursor", "SELECT sequence FROM feed_cursor WHERE name = 'push'"};
// Each request is a row; those made after this read stay for the next pass.
constexpr pg::Query kRefreshes{
    "push_refreshes",
    "SELECT channel, sku, request_id FROM push_refresh ORDER BY request_id LIMIT 10000"};
constexpr pg::Query kMappedSkus{"push_mapped_skus",
                                "SELECT DISTINCT sku FROM item_mappings WHERE channel = $1"};
// (A join with the list rather than `sku = ANY($1)`, which a generic plan compares row by row
// with every element: 28 s in all for a 100,000-item resync, scripts/bench resync.)
constexpr pg::Query kConnectedChannels{
    "push_connected_channels",
    "SELECT DISTINCT m.sku, m.channel FROM unnest($1::text[]) AS s(sku) "
    "JOIN item_mappings m ON m.sku = s.sku JOIN connections c ON c.channel = m.channel"};
constexpr pg::Query kMoveCursor{
    "push_move_cursor",
    "UPDATE feed_cursor SET sequence = $2 WHERE name = 'push' AND sequence = $1"};
constexpr pg::Query kDoneRefreshes{"push_done_refreshes",
                                   "DELETE FROM push_refresh WHERE request_id = ANY($1::bigint[])"};
// A value equal to the one already pushed needs no push; a value worked out afresh at the
// position of the last push does (pushed_sequence -1). An older value never replaces a newer.
constexpr pg::Query kOfferValues{
    "push_offer_values",
    "INSERT INTO pushes (channel, sku, desired, desired_sequence, desired_at, next_attempt_at, "
    "pushed_sequence) "
    "SELECT channel, sku, desired, $4, at, $5, -1 "
    "FROM unnest($1::text[], $2::text[], $3::bigint[], $6::timestamptz[]) "
    "AS v(channel, sku, desired, at) "
    "ON CONFLICT (channel, sku) DO UPDATE SET desired = excluded.desired, "
    "desired_sequence = excluded.desired_sequence, desired_at = excluded.desired_at, "
    "next_attempt_at = least(pushes.next_attempt_at, excluded.next_attempt_at), "
    "attempts = 0, stale_cap = NULL, revision = pushes.revision + 1, pushed_sequence = CASE "
    "  WHEN pushes.pushed IS NOT DISTINCT FROM excluded.desired "
    "    AND pushes.pushed_sequence >= pushes.desired_sequence THEN excluded.desired_sequence "
    "  WHEN pushes.pushed_sequence >= excluded.desired_sequence THEN -1 "
    "  ELSE pushes.pushed_sequence END "
    "WHERE pushes.desired_sequence <= excluded.desired_sequence"};
constexpr pg::Query kPushAgain{
    "push_push_again",
    "UPDATE pushes p SET pushed_sequence = -1, revision = p.revision + 1 "
    "FROM unnest($1::text[], $2::text[]) AS d(channel, sku) "
    "WHERE p.channel = d.channel AND p.sku = d.sku"};
// The most overdue unclaimed push of a connected channel.
constexpr pg::Query kDueChannel{
    "push_due_channel",
    "SELECT p.channel, c.platform, c.api_url, c.api_credentials, c.push_location_id "
    "FROM pushes p JOIN connections c USING (channel) "
    "WHERE p.pushed_sequence < p.desired_sequence AND p.next_attempt_at <= $1 "
    "AND (p.claimed_until IS NULL OR p.claimed_until <= $1) AND NOT p.channel = ANY($2::text[]) "
    "ORDER BY p.next_attempt_at LIMIT 1 FOR UPDATE OF p SKIP LOCKED"};
constexpr pg::Query kDuePushes{
    "push_due_pushes",
    "SELECT p.sku, p.desired, p.desired_sequence, "
    "(extract(epoch FROM p.desired_at) * 1000000)::bigint, p.platform_quantity, p.attempts, "
    "EXISTS (SELECT 1 FROM drift_incidents d WHERE d.channel = p.channel AND d.sku = p.sku "
    "AND d.state = 0), p.stale_cap "
    "FROM pushes p WHERE p.channel = $1 AND p.pushed_sequence < p.desired_sequence "
    "AND p.next_attempt_at <= $2 AND (p.claimed_until IS NULL OR p.claimed_until <= $2) "
    "ORDER BY p.next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED"};
constexpr pg::Query kNextDue{
    "push_next_due",
    "SELECT (extract(epoch FROM min(greatest(next_attempt_at, claimed_until))) * 1000000)::bigint "
    "FROM pushes WHERE pushed_sequence < desired_sequence"};
constexpr pg::Query kTakeClaim{
    "push_take_claim",
    "UPDATE pushes SET claim = $3, claimed_until = $4, claimed_revision = revision, "
    "next_attempt_at = $4 WHERE channel = $1 AND sku = ANY($2::text[])"};
// The values of a claim's rows as they are now (newer ones may have come while the pusher
// waited for the platform's budget), taken on by the claim.
constexpr pg::Query kRenewClaimed{
    "push_renew_claimed",
    "UPDATE pushes p SET claimed_revision = p.revision, claimed_until = $3, next_attempt_at = $3 "
    "WHERE p.channel = $1 AND p.claim = $2 RETURNING p.sku, p.desired, p.desired_sequence, "
    "(extract(epoch FROM p.desired_at) * 1000000)::bigint, p.platform_quantity, p.attempts, "
    "EXISTS (SELECT 1 FROM drift_incidents d WHERE d.channel = p.channel AND d.sku = p.sku "
    "AND d.state = 0), p.stale_cap"};
constexpr pg::Query kReleaseClaim{
    "push_release_claim",
    "UPDATE pushes SET claim = NULL, claimed_until = NULL, next_attempt_at = $3 "
    "WHERE channel = $1 AND claim = $2"};
constexpr pg::Query kTargets{
    "push_targets",
    "SELECT DISTINCT sku, CASE WHEN platform_inventory_item_id <> '' "
    "THEN platform_inventory_item_id ELSE platform_item_id END FROM item_mappings "
    "WHERE channel = $1 AND sku = ANY($2::text[]) ORDER BY 1, 2"};
// kind: 0 applied, 1 stale, 2 later, 3 settled, 4 unknown (PushRecord::Kind). A push is done only
// when the row's value is still the one claimed (revision): a newer value stays due.
constexpr pg::Query kRecord{
    "push_record",
    "UPDATE pushes p SET "
    "pushed = CASE WHEN r.kind = 0 THEN r.quantity ELSE p.pushed END, "
    "pushed_sequence = CASE WHEN r.kind IN (0, 3) AND p.revision = p.claimed_revision "
    "  THEN greatest(p.pushed_sequence, r.sequence) ELSE p.pushed_sequence END, "
    "platform_quantity = CASE WHEN r.kind IN (0, 1) THEN r.quantity WHEN r.kind = 4 THEN NULL "
    "  ELSE p.platform_quantity END, "
    // A cap from a failed compare-and-set holds only for the value claimed: a newer value
    // (which cleared the cap) is offered whole.
    "stale_cap = CASE WHEN r.kind = 0 THEN NULL "
    "  WHEN r.kind = 1 AND p.revision = p.claimed_revision THEN r.quantity "
    "  ELSE p.stale_cap END, "
    "attempts = CASE WHEN r.kind IN (0, 3) THEN 0 ELSE p.attempts + r.counted END, "
    "last_error = r.error, "
    "acknowledged_at = CASE WHEN r.kind = 0 THEN $3::timestamptz ELSE p.acknowledged_at END, "
    "next_attempt_at = r.retry_at, "
    "claim = NULL, claimed_until = NULL "
    "FROM unnest($4::text[], $5::smallint[], $6::bigint[], $7::bigint[], $8::timestamptz[], "
    "$9::integer[], $10::text[]) AS r(sku, kind, sequence, quantity, retry_at, counted, error) "
    "WHERE p.channel = $1 AND p.sku = r.sku AND p.claim = $2"};

}  // namespace

absl::StatusOr<int64_t> PushStore::Cursor() {
  return pg::ReadEach<int64_t>(db_, [](Tx& tx) -> absl::StatusOr<int64_t> {
    return pg::Exec1(tx, kCursor)[0].as<int64_t>();
  });
}

absl::StatusOr<std::vector<RefreshRequest>> PushStore::Refreshes() {
  return pg::ReadEach<std::vector<RefreshRequest>>(
      db_, [](Tx& tx) -> absl::StatusOr<std::vector<RefreshRequest>> {
        std::vector<RefreshRequest> out;
        for (const auto& row : pg::Exec(tx, kRefreshes)) {
          out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int64_t>()});
        }
        return out;
      });
}

absl::StatusOr<std::vector<std::string>> PushStore::MappedSkus(const std::string& channel) {
  return pg::ReadEach<std::vector<std::string>>(
      db_, [&](Tx& tx) -> absl::StatusOr<std::vector<std::string>> {
        std::vector<std::string> out;
        for (const auto& row : pg::Exec(tx, kMappedSkus, channel)) {
          out.push_back(row[0].as<std::string>());
        }
        return out;
      });
}

absl::StatusOr<std::map<std::string, std::set<std::string>>> PushStore::ConnectedChannels(
    const std::vector<std::string>& skus) {
  using Out = std::map<std::string, std::set<std::string>>;
  return pg::ReadEach<Out>(db_, [&](Tx& tx) -> absl::StatusOr<Out> {
    Out out;
    for (const auto& row : pg::Exec(tx, kConnectedChannels, SqlTextArray(skus))) {
      out[row[0].as<std::string>()].insert(row[1].as<std::string>());
    }
    return out;
  });
}

absl::StatusOr<bool> PushStore::Commit(const FollowPlan& plan, absl::Time now) {
  return pg::Transact<bool>(db_, kNoFlushWait, [&](Tx& tx) -> absl::StatusOr<bool> {
    if (pg::Exec(tx, kMoveCursor, plan.from, plan.to).affected_rows() == 0) return false;
    std::vector<std::string> channels, skus;
    std::vector<int64_t> ids;
    for (const auto& r : plan.refreshed) {
      channels.push_back(r.channel);
      skus.push_back(r.sku);
      ids.push_back(r.request_id);
    }
    if (!plan.refreshed.empty()) pg::Exec(tx, kDoneRefreshes, pg::SqlNumberArray(ids));
    if (!plan.values.empty()) {
      std::vector<std::string> value_channels, value_skus, ats;
      std::vector<int64_t> available;
      for (const auto& v : plan.values) {
        value_channels.push_back(v.channel);
        value_skus.push_back(v.sku);
        available.push_back(v.available);
        ats.push_back(SqlTime(v.at));
      }
      pg::Exec(tx, kOfferValues, SqlTextArray(value_channels), SqlTextArray(value_skus),
               pg::SqlNumberArray(available), plan.to, SqlTime(now), SqlTextArray(ats));
    }
    // Set on the platform again, even if unchanged here (an item requested twice is one row).
    if (!plan.refreshed.empty())
      pg::Exec(tx, kPushAgain, SqlTextArray(channels), SqlTextArray(skus));
    return true;
  });
}

namespace {

// A claimed row as kDuePushes and kRenewClaimed return it.
ClaimedPush FromDueRow(const pqxx::row& r) {
  ClaimedPush p;
  p.sku = r[0].as<std::string>();
  p.sequence = r[2].as<int64_t>();
  p.as_of = absl::FromUnixMicros(r[3].as<int64_t>());
  if (!r[4].is_null()) p.platform_quantity = r[4].as<int64_t>();
  p.attempts = r[5].as<int>();
  // An item with an open drift incident is frozen: offered as 0. After a failed
  // compare-and-set, no more than the platform showed.
  p.quantity = r[6].as<bool>() ? 0 : r[1].as<int64_t>();
  if (!r[7].is_null()) p.quantity = std::min(p.quantity, r[7].as<int64_t>());
  return p;
}

// Adds up to `room` of the channel's unclaimed due pushes to `claim` (under its token until
// `until`), then reads the platform ids of every claimed push.
void ClaimDue(Tx& tx, PushClaim& claim, absl::Time now, absl::Time until, int room) {
  std::vector<std::string> added;
  if (room > 0) {
    for (const auto& r : pg::Exec(tx, kDuePushes, claim.channel, SqlTime(now), room)) {
      claim.pushes.push_back(FromDueRow(r));
      added.push_back(claim.pushes.back().sku);
    }
  }
  if (!added.empty()) {
    pg::Exec(tx, kTakeClaim, claim.channel, SqlTextArray(added), claim.token, SqlTime(until));
  }
  std::vector<std::string> skus;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < claim.pushes.size(); ++i) {
    claim.pushes[i].targets.clear();
    index[claim.pushes[i].sku] = i;
    skus.push_back(claim.pushes[i].sku);
  }
  for (const auto& r : pg::Exec(tx, kTargets, claim.channel, SqlTextArray(skus))) {
    claim.pushes[index.at(r[0].as<std::string>())].targets.push_back(r[1].as<std::string>());
  }
}

}  // namespace

absl::StatusOr<std::optional<PushClaim>> PushStore::Claim(
    absl::Time now, absl::Duration lease, const std::function<int(const std::string&)>& batch,
    const std::vector<std::string>& skip_channels) {
  using Out = std::optional<PushClaim>;
  return pg::Transact<Out>(db_, kNoFlushWait, [&](Tx& tx) -> absl::StatusOr<Out> {
    auto head = pg::Exec(tx, kDueChannel, SqlTime(now), SqlTextArray(skip_channels));
    if (head.empty()) return std::nullopt;
    PushClaim claim;
    claim.channel = head[0][0].as<std::string>();
    claim.platform = head[0][1].as<std::string>();
    claim.api = {head[0][2].as<std::string>(), head[0][3].as<std::string>(),
                 head[0][4].as<std::string>()};
    claim.token = NewClaimToken();
    ClaimDue(tx, claim, now, now + lease, std::max(1, batch(claim.platform)));
    return claim;
  });
}

absl::Status PushStore::Renew(PushClaim& claim, absl::Time now, absl::Duration lease, int batch) {
  return pg::Transact<bool>(
             db_, kNoFlushWait,
             [&](Tx& tx) -> absl::StatusOr<bool> {
               PushClaim renewed{claim.token, claim.channel, claim.platform, claim.api, {}};
               for (const auto& r :
                    pg::Exec(tx, kRenewClaimed, claim.channel, claim.token, SqlTime(now + lease))) {
                 renewed.pushes.push_back(FromDueRow(r));
               }
               ClaimDue(tx, renewed, now, now + lease,
                        batch - static_cast<int>(renewed.pushes.size()));
               claim = std::move(renewed);
               return true;
             })
      .status();
}

absl::Status PushStore::Release(const PushClaim& claim, absl::Time due) {
  return pg::Transact<bool>(db_, kNoFlushWait,
                            [&](Tx& tx) -> absl::StatusOr<bool> {
                              pg::Exec(tx, kReleaseClaim, claim.channel, claim.token, SqlTime(due));
                              return true;
                            })
      .status();
}

absl::StatusOr<std::optional<absl::Time>> PushStore::NextDue() {
  using Out = std::optional<absl::Time>;
  return pg::ReadEach<Out>(db_, [](Tx& tx) -> absl::StatusOr<Out> {
    auto row = pg::Exec1(tx, kNextDue);
    if (row[0].is_null()) return std::nullopt;
    return absl::FromUnixMicros(row[0].as<int64_t>());
  });
}

absl::Status PushStore::Record(const PushClaim& claim, const std::vector<PushRecord>& records,
                               absl::Time now) {
  if (records.empty()) return absl::OkStatus();
  std::vector<std::string> skus, retry_at, errors;
  std::vector<int> kinds, counted;
  std::vector<int64_t> sequences, quantities;
  for (const auto& r : records) {
    skus.push_back(r.sku);
    kinds.push_back(static_cast<int>(r.kind));
    sequences.push_back(r.sequence);
    quantities.push_back(r.quantity);
    retry_at.push_back(SqlTime(r.kind == PushRecord::Kind::kLater ? r.retry_at : now));
    counted.push_back(r.count_attempt ? 1 : 0);
    errors.push_back(r.error);
  }
  return pg::Transact<bool>(db_, kNoFlushWait,
                            [&](Tx& tx) -> absl::StatusOr<bool> {
                              pg::Exec(tx, kRecord, claim.channel, claim.token, SqlTime(now),
                                       SqlTextArray(skus), pg::SqlNumberArray(kinds),
                                       pg::SqlNumberArray(sequences),
                                       pg::SqlNumberArray(quantities), SqlTextArray(retry_at),
                                       pg::SqlNumberArray(counted), SqlTextArray(errors));
                              return true;
                            })
      .status();
}

}  // namespace kura::connector
