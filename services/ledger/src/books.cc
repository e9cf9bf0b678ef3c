#include "books.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kura/base/error.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/pg/transaction.h"
#include "store_support.h"

namespace kura::ledger {
namespace {

constexpr int kMaxBatch = 1000;
constexpr int kMaxHoldLines = 200;
constexpr int kPending = v1::HOLD_STATE_PENDING;
constexpr absl::Duration kMaxHoldLifetime = absl::Hours(24 * 90);
// A balance may not grow beyond this (in either direction): far beyond any real stock, far from
// int64 overflow.
constexpr int64_t kMaxBalance = 4'000'000'000'000'000'000;

// ------------------------------------------------------------------------- movements

struct MovementRecord {
  v1::MovementKind kind;
  int64_t item;
  int64_t quantity;
  int32_t from_location;
  int from_bucket;
  int32_t to_location;
  int to_bucket;
  int32_t channel = 0;
  std::string source_ref;
  absl::Time occurred_at;
  std::optional<absl::Time> expected_at;
};

// Inserts a movement and returns it as the API shows it.
v1::Movement Record(Tx& tx, Resolver& resolver, const std::string& batch_id,
                    const MovementRecord& m, absl::Time now, const std::string& channel_code) {
  int64_t id =
      Prepared1(tx, "record_movement",
                "INSERT INTO movements (batch_id, kind, item_id, quantity, "
                "from_location_id, from_bucket, to_location_id, to_bucket, channel_id, "
                "source_ref, occurred_at, recorded_at, expected_at) VALUES ($1, $2, $3, $4, "
                "$5, $6, $7, $8, NULLIF($9, 0), $10, $11, $12, "
                "NULLIF($13, '')::timestamptz) RETURNING movement_id",
                batch_id, static_cast<int>(m.kind), m.item, m.quantity, m.from_location,
                m.from_bucket, m.to_location, m.to_bucket, m.channel, m.source_ref,
                SqlTime(m.occurred_at), SqlTime(now),
                m.expected_at ? SqlTime(*m.expected_at) : std::string())[0]
          .as<int64_t>();
  v1::Movement out;
  out.set_movement_id(id);
  out.set_kind(m.kind);
  out.set_sku(resolver.SkuOf(m.item));
  out.set_quantity(m.quantity);
  out.set_from_location(resolver.CodeOf(m.from_location));
  out.set_from_bucket(static_cast<v1::Bucket>(m.from_bucket));
  out.set_to_location(resolver.CodeOf(m.to_location));
  out.set_to_bucket(static_cast<v1::Bucket>(m.to_bucket));
  out.set_channel(channel_code);
  out.set_source_ref(m.source_ref);
  *out.mutable_occurred_at() = ToProto(m.occurred_at);
  *out.mutable_recorded_at() = ToProto(now);
  out.set_batch_id(batch_id);
  return out;
}

absl::Status ValidateMovement(int index, const v1::MovementRequest& m) {
  std::string at = absl::StrCat("movements[", index, "]");
  if (!v1::MovementKind_IsValid(m.kind()) || m.kind() == v1::MOVEMENT_KIND_UNSPECIFIED ||
      m.kind() > v1::MOVEMENT_KIND_ADJUST) {
    return InvalidArgument(at + ".kind",
                           at + ".kind must be one of the kinds ApplyMovements takes");
  }
  RETURN_IF_ERROR(ValidateSku(at + ".sku", m.sku()));
  RETURN_IF_ERROR(ValidateCode(at + ".location", m.location()));
  if (m.kind() == v1::MOVEMENT_KIND_COUNT) {
    if (m.quantity() != 0) return InvalidArgument(at + ".quantity", "COUNT takes counted_quantity");
    if (m.counted_quantity() < 0 || m.counted_quantity() > kMaxQuantity) {
      return InvalidArgument(
          at + ".counted_quantity",
          at + ".counted_quantity must be between 0 and " + std::to_string(kMaxQuantity));
    }
  } else if (m.kind() == v1::MOVEMENT_KIND_ADJUST) {
    if (m.quantity() == 0 || m.quantity() < -kMaxQuantity || m.quantity() > kMaxQuantity) {
      return InvalidArgument(at + ".quantity", at + ".quantity must be a non-zero delta within " +
                                                   std::to_string(kMaxQuantity));
    }
  } else {
    RETURN_IF_ERROR(ValidateQuantity(at + ".quantity", m.quantity()));
  }
  if (m.kind() == v1::MOVEMENT_KIND_TRANSFER_SHIP) {
    RETURN_IF_ERROR(ValidateCode(at + ".to_location", m.to_location()));
    if (m.to_location() == m.location()) {
      return InvalidArgument(at + ".to_location", "a transfer must go to another location");
    }
  } else if (!m.to_location().empty()) {
    return InvalidArgument(at + ".to_location", "only TRANSFER_SHIP takes to_location");
  }
  if (m.kind() == v1::MOVEMENT_KIND_ORDER_INCOMING && !m.has_expected_at()) {
    return InvalidArgument(at + ".expected_at", "ORDER_INCOMING needs expected_at");
  }
  if (m.has_expected_at()) RETURN_IF_ERROR(ValidateTimestamp(at + ".expected_at", m.expected_at()));
  if (m.has_occurred_at()) RETURN_IF_ERROR(ValidateTimestamp(at + ".occurred_at", m.occurred_at()));
  if (!m.channel().empty()) RETURN_IF_ERROR(ValidateCode(at + ".channel", m.channel()));
  return ValidateRef(at + ".source_ref", m.source_ref());
}

// ----------------------------------------------------------------------------- holds

struct HoldRow {
  std::string hold_id;
  int64_t item = 0;
  int32_t location = 0;
  int32_t channel = 0;
  int64_t quantity = 0;
  int64_t posted = 0;
  int state = 0;
  int64_t expires_micros = 0;
  std::string order_ref, customer_ref;
  int64_t create_micros = 0;
};

const std::string kHoldColumns = absl::StrCat(
    "h.hold_id, h.item_id, h.location_id, h.channel_id, h.quantity, h.posted_quantity, h.state, ",
    Micros("h.expires_at"), ", h.order_ref, h.customer_ref, ", Micros("h.create_time"),
    ", i.sku, l.code, c.code");
const std::string kHoldFrom =
    " FROM holds h JOIN items i USING (item_id) JOIN locations l USING (location_id) "
    "JOIN channels c USING (channel_id) ";

HoldRow ParseHold(const pqxx::row& r) {
  return HoldRow{r[0].as<std::string>(), r[1].as<int64_t>(), r[2].as<int32_t>(),
                 r[3].as<int32_t>(),     r[4].as<int64_t>(), r[5].as<int64_t>(),
                 r[6].as<int>(),         r[7].as<int64_t>(), r[8].as<std::string>(),
                 r[9].as<std::string>(), r[10].as<int64_t>()};
}

v1::Hold ToApi(const pqxx::row& r) {
  HoldRow h = ParseHold(r);
  v1::Hold out;
  out.set_hold_id(h.hold_id);
  out.set_sku(r[11].as<std::string>());
  out.set_location(r[12].as<std::string>());
  out.set_channel(r[13].as<std::string>());
  out.set_quantity(h.quantity);
  out.set_posted_quantity(h.posted);
  out.set_state(static_cast<v1::HoldState>(h.state));
  *out.mutable_expires_at() = MicrosToProto(h.expires_micros);
  out.set_order_ref(h.order_ref);
  out.set_customer_ref(h.customer_ref);
  *out.mutable_create_time() = MicrosToProto(h.create_micros);
  return out;
}

absl::StatusOr<pqxx::row> LoadHold(Tx& tx, const std::string& hold_id, bool for_update) {
  auto rows =
      tx.exec_params(absl::StrCat("SELECT ", kHoldColumns, kHoldFrom, "WHERE h.hold_id = $1",
                                  for_update ? " FOR UPDATE OF h" : ""),
                     hold_id);
  if (rows.empty()) {
    return MakeError(absl::StatusCode::kNotFound, "HOLD_NOT_FOUND",
                     absl::StrCat("no hold with id \"", hold_id, "\""), {{"hold_id", hold_id}});
  }
  return rows[0];
}

// A channel's holdings of an item at a location and its cap there.
struct Usage {
  int64_t held = 0;
  int64_t committed = 0;
  std::optional<int64_t> quota;
  std::optional<int> ratio_bp;
  bool dirty = false;
};
using UsageKey = std::tuple<int32_t, int64_t, int32_t>;  // channel, item, location

// Locks channel_usage rows in key order (after the balances: the global lock order).
std::map<UsageKey, Usage> LockUsage(Tx& tx, std::set<UsageKey> keys) {
  std::map<UsageKey, Usage> out;
  for (const auto& [channel, item, location] : keys) {
    tx.exec_params(
        "INSERT INTO channel_usage (channel_id, item_id, location_id) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        channel, item, location);
    auto r = tx.exec_params1(
        "SELECT held, committed, quota, ratio_bp FROM channel_usage "
        "WHERE channel_id = $1 AND item_id = $2 AND location_id = $3 FOR UPDATE",
        channel, item, location);
    Usage u{r[0].as<int64_t>(), r[1].as<int64_t>()};
    if (!r[2].is_null()) u.quota = r[2].as<int64_t>();
    if (!r[3].is_null()) u.ratio_bp = r[3].as<int>();
    out[{channel, item, location}] = u;
  }
  return out;
}

void SaveUsage(Tx& tx, std::map<UsageKey, Usage>& usage) {
  for (auto& [key, u] : usage) {
    if (!u.dirty) continue;
    const auto& [channel, item, location] = key;
    tx.exec_params(
        "UPDATE channel_usage SET held = $4, committed = $5 "
        "WHERE channel_id = $1 AND item_id = $2 AND location_id = $3",
        channel, item, location, u.held, u.committed);
    u.dirty = false;
  }
}

std::optional<int64_t> CapRemaining(const Usage& u, int64_t sellable_on_hand) {
  return ChannelCapRemaining(u.held, u.committed, u.quota, u.ratio_bp, sellable_on_hand);
}

int64_t SafetyStock(Tx& tx, int64_t item, int32_t location) {
  auto rows = tx.exec_params(
      "SELECT quantity FROM safety_stock WHERE item_id = $1 AND location_id = $2", item, location);
  return rows.empty() ? 0 : rows[0][0].as<int64_t>();
}

// Ends a pending hold as voided or expired; the caller has locked nothing yet.
absl::StatusOr<v1::Hold> ReleaseHold(Tx& tx, Resolver& resolver, Outbox& outbox,
                                     const std::string& hold_id, v1::HoldState end_state,
                                     absl::Time now) {
  ASSIGN_OR_RETURN(pqxx::row peek, LoadHold(tx, hold_id, false));
  HoldRow h = ParseHold(peek);
  LockedBalances balances;
  balances.Lock(tx, {{h.item, h.location, v1::BUCKET_SELLABLE}});
  auto usage = LockUsage(tx, {{h.channel, h.item, h.location}});
  ASSIGN_OR_RETURN(pqxx::row locked, LoadHold(tx, hold_id, true));
  h = ParseHold(locked);
  if (h.state != kPending) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, "HOLD_NOT_PENDING",
        absl::StrCat("hold \"", hold_id, "\" is already ",
                     v1::HoldState_Name(static_cast<v1::HoldState>(h.state))),
        {{"hold_id", hold_id}, {"state", v1::HoldState_Name(static_cast<v1::HoldState>(h.state))}});
  }
  if (end_state == v1::HOLD_STATE_EXPIRED && absl::FromUnixMicros(h.expires_micros) > now) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "HOLD_NOT_DUE", "not due yet");
  }
  BalanceRow& sellable = balances[{h.item, h.location, v1::BUCKET_SELLABLE}];
  sellable.held -= h.quantity;
  sellable.dirty = true;
  Usage& u = usage[{h.channel, h.item, h.location}];
  u.held -= h.quantity;
  u.dirty = true;
  tx.exec_params("UPDATE holds SET state = $2, end_time = $3 WHERE hold_id = $1", hold_id,
                 static_cast<int>(end_state), SqlTime(now));
  balances.Save(tx);
  SaveUsage(tx, usage);
  ASSIGN_OR_RETURN(pqxx::row after, LoadHold(tx, hold_id, false));
  v1::Hold hold = ToApi(after);
  if (end_state == v1::HOLD_STATE_EXPIRED) {
    *outbox.Add().mutable_hold_expired()->mutable_hold() = hold;
  } else {
    *outbox.Add().mutable_hold_voided()->mutable_hold() = hold;
  }
  outbox.AddAvailabilityChanges(resolver, balances);
  return hold;
}

// Fulfil (committed → customer) or cancel (committed → sellable) committed units.
absl::StatusOr<v1::Movement> MoveCommitted(Tx& tx, Resolver& resolver, Outbox& outbox,
                                           const std::string& batch_id, const std::string& sku,
                                           const std::string& location, int64_t quantity,
                                           const std::string& channel_code,
                                           const std::string& order_ref, bool fulfil,
                                           absl::Time now) {
  ASSIGN_OR_RETURN(int64_t item, resolver.Item(sku));
  ASSIGN_OR_RETURN(int32_t loc, resolver.Location(location));
  ASSIGN_OR_RETURN(ChannelInfo channel, resolver.Channel(channel_code));
  AccountKey committed_key{item, loc, v1::BUCKET_COMMITTED};
  AccountKey to_key = fulfil ? AccountKey{item, resolver.System("@customer"), kSystemBucket}
                             : AccountKey{item, loc, v1::BUCKET_SELLABLE};
  LockedBalances balances;
  balances.Lock(tx, {committed_key, to_key});
  auto usage = LockUsage(tx, {{channel.id, item, loc}});
  BalanceRow& committed = balances[committed_key];
  Usage& u = usage[{channel.id, item, loc}];
  // Each channel hands over or cancels only what it committed itself, so that its quota
  // counts stay exact.
  if (committed.on_hand < quantity || u.committed < quantity) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_COMMITTED",
        absl::StrCat("only ", std::min(committed.on_hand, u.committed), " units of ", sku, " at ",
                     location, " are committed to ", channel.code, ", ", quantity, " requested"),
        {{"sku", sku},
         {"location", location},
         {"channel", channel.code},
         {"requested", std::to_string(quantity)},
         {"available", std::to_string(std::min(committed.on_hand, u.committed))}});
  }
  committed.on_hand -= quantity;
  committed.dirty = true;
  BalanceRow& to = balances[to_key];
  to.on_hand += quantity;
  to.dirty = true;
  u.committed -= quantity;
  u.dirty = true;
  balances.Save(tx);
  SaveUsage(tx, usage);
  MovementRecord m{fulfil ? v1::MOVEMENT_KIND_FULFIL : v1::MOVEMENT_KIND_CANCEL_COMMITTED,
                   item,
                   quantity,
                   loc,
                   v1::BUCKET_COMMITTED,
                   std::get<1>(to_key),
                   std::get<2>(to_key),
                   channel.id,
                   order_ref,
                   now};
  v1::Movement movement = Record(tx, resolver, batch_id, m, now, channel.code);
  *outbox.Add().mutable_movement_applied()->mutable_movement() = movement;
  outbox.AddAvailabilityChanges(resolver, balances);
  return movement;
}

absl::Status ValidateCommittedRequest(const std::string& sku, const std::string& location,
                                      int64_t quantity, const std::string& channel,
                                      const std::string& order_ref) {
  RETURN_IF_ERROR(ValidateSku("sku", sku));
  RETURN_IF_ERROR(ValidateCode("location", location));
  RETURN_IF_ERROR(ValidateQuantity("quantity", quantity));
  RETURN_IF_ERROR(ValidateCode("channel", channel));
  return ValidateRef("order_ref", order_ref);
}

}  // namespace

// ------------------------------------------------------------------------ ApplyMovements

namespace {

struct PlannedMovement {
  const v1::MovementRequest* request;
  MovementRecord record;
};

// Resolves every reference of `request` and the accounts each movement moves between (COUNT
// and ADJUST: as if stock went out; their direction is decided on the locked balance).
absl::StatusOr<std::vector<PlannedMovement>> PlanMovements(const v1::ApplyMovementsRequest& request,
                                                           Resolver& resolver, absl::Time now) {
  std::vector<PlannedMovement> plan;
  for (const v1::MovementRequest& m : request.movements()) {
    ASSIGN_OR_RETURN(int64_t item, resolver.Item(m.sku()));
    ASSIGN_OR_RETURN(int32_t loc, resolver.Location(m.location()));
    int32_t channel_id = 0;
    if (!m.channel().empty()) {
      ASSIGN_OR_RETURN(ChannelInfo channel, resolver.Channel(m.channel()));
      channel_id = channel.id;
    }
    MovementRecord r{m.kind(),
                     item,
                     m.quantity(),
                     0,
                     0,
                     0,
                     0,
                     channel_id,
                     m.source_ref(),
                     m.has_occurred_at() ? FromProto(m.occurred_at()) : now};
    auto from = [&](int32_t l, int b) { r.from_location = l, r.from_bucket = b; };
    auto to = [&](int32_t l, int b) { r.to_location = l, r.to_bucket = b; };
    switch (m.kind()) {
      case v1::MOVEMENT_KIND_RECEIVE:
        from(resolver.System("@supplier"), kSystemBucket), to(loc, v1::BUCKET_SELLABLE);
        break;
      case v1::MOVEMENT_KIND_ORDER_INCOMING:
        from(resolver.System("@supplier"), kSystemBucket), to(loc, v1::BUCKET_INCOMING);
        r.expected_at = FromProto(m.expected_at());
        break;
      case v1::MOVEMENT_KIND_RECEIVE_INCOMING:
        from(loc, v1::BUCKET_INCOMING), to(loc, v1::BUCKET_SELLABLE);
        break;
      case v1::MOVEMENT_KIND_STORE_SALE:
        from(loc, v1::BUCKET_SELLABLE), to(resolver.System("@customer"), kSystemBucket);
        break;
      case v1::MOVEMENT_KIND_RETURN:
        from(resolver.System("@customer"), kSystemBucket), to(loc, v1::BUCKET_QUALITY_CONTROL);
        break;
      case v1::MOVEMENT_KIND_INSPECT_PASS:
        from(loc, v1::BUCKET_QUALITY_CONTROL), to(loc, v1::BUCKET_SELLABLE);
        break;
      case v1::MOVEMENT_KIND_INSPECT_FAIL:
        from(loc, v1::BUCKET_QUALITY_CONTROL), to(loc, v1::BUCKET_DAMAGED);
        break;
      case v1::MOVEMENT_KIND_WRITE_OFF:
        from(loc, v1::BUCKET_DAMAGED), to(resolver.System("@shrink"), kSystemBucket);
        break;
      case v1::MOVEMENT_KIND_TRANSFER_SHIP: {
        ASSIGN_OR_RETURN(int32_t dest, resolver.Location(m.to_location()));
        from(loc, v1::BUCKET_SELLABLE), to(dest, v1::BUCKET_IN_TRANSIT);
        break;
      }
      case v1::MOVEMENT_KIND_TRANSFER_RECEIVE:
        from(loc, v1::BUCKET_IN_TRANSIT), to(loc, v1::BUCKET_SELLABLE);
        break;
      default:  // COUNT and ADJUST: direction decided on the locked balance
        from(loc, v1::BUCKET_SELLABLE), to(resolver.System("@count_variance"), kSystemBucket);
        break;
    }
    plan.push_back({&m, r});
  }
  return plan;
}

std::vector<AccountKey> AccountsOf(const std::vector<PlannedMovement>& plan) {
  std::vector<AccountKey> keys;
  for (const PlannedMovement& p : plan) {
    keys.push_back({p.record.item, p.record.from_location, p.record.from_bucket});
    keys.push_back({p.record.item, p.record.to_location, p.record.to_bucket});
  }
  return keys;
}

}  // namespace

absl::StatusOr<v1::ApplyMovementsResponse> Books::ApplyMovements(
    const v1::ApplyMovementsRequest& request) {
  if (request.movements().empty()) return InvalidArgument("movements", "movements is empty");
  if (request.movements_size() > kMaxBatch) {
    return InvalidArgument("movements", absl::StrCat("at most ", kMaxBatch, " movements"));
  }
  for (int i = 0; i < request.movements_size(); ++i) {
    RETURN_IF_ERROR(ValidateMovement(i, request.movements(i)));
  }
  MutationEffect<v1::ApplyMovementsResponse> effect =
      [&](Tx& tx, Resolver& resolver, Outbox& outbox,
          absl::Time now) -> absl::StatusOr<v1::ApplyMovementsResponse> {
    ASSIGN_OR_RETURN(std::vector<PlannedMovement> plan, PlanMovements(request, resolver, now));
    LockedBalances balances;
    balances.Lock(tx, AccountsOf(plan));
    v1::ApplyMovementsResponse response;
    std::set<std::pair<int64_t, int32_t>> oversold;
    for (size_t i = 0; i < plan.size(); ++i) {
      PlannedMovement& p = plan[i];
      MovementRecord& r = p.record;
      if (r.kind == v1::MOVEMENT_KIND_COUNT || r.kind == v1::MOVEMENT_KIND_ADJUST) {
        int64_t delta = r.kind == v1::MOVEMENT_KIND_COUNT
                            ? p.request->counted_quantity() -
                                  balances[{r.item, r.from_location, r.from_bucket}].on_hand
                            : p.request->quantity();
        if (delta == 0) continue;  // the count matches the books
        if (delta > 0) {
          std::swap(r.from_location, r.to_location);
          std::swap(r.from_bucket, r.to_bucket);
        }
        r.quantity = delta > 0 ? delta : -delta;
      }
      BalanceRow& from = balances[{r.item, r.from_location, r.from_bucket}];
      BalanceRow& to = balances[{r.item, r.to_location, r.to_bucket}];
      bool source_is_real = r.from_bucket != kSystemBucket;
      bool may_go_negative = r.kind == v1::MOVEMENT_KIND_STORE_SALE ||
                             r.kind == v1::MOVEMENT_KIND_COUNT ||
                             r.kind == v1::MOVEMENT_KIND_ADJUST;
      if (source_is_real && !may_go_negative) {
        int64_t free = from.on_hand - (r.from_bucket == v1::BUCKET_SELLABLE ? from.held : 0);
        if (free < r.quantity) {
          return InsufficientStock(
              absl::AsciiStrToLower(
                  v1::Bucket_Name(static_cast<v1::Bucket>(r.from_bucket)).substr(7)) +
                  " units",
              p.request->sku(), resolver.CodeOf(r.from_location), r.quantity, free);
        }
      }
      if (from.on_hand - r.quantity < -kMaxBalance || to.on_hand > kMaxBalance - r.quantity) {
        return MakeError(absl::StatusCode::kFailedPrecondition, "BALANCE_LIMIT",
                         absl::StrCat("movement ", i, " would take a balance of ", p.request->sku(),
                                      " beyond ", kMaxBalance),
                         {{"sku", p.request->sku()}});
      }
      int64_t available_before = from.on_hand - from.held;
      from.on_hand -= r.quantity;
      from.dirty = true;
      to.on_hand += r.quantity;
      to.dirty = true;
      // An oversold event when availability crosses below zero, once per account and batch.
      if (r.from_bucket == v1::BUCKET_SELLABLE && available_before >= 0 &&
          from.on_hand - from.held < 0 && !oversold.count({r.item, r.from_location})) {
        oversold.insert({r.item, r.from_location});
        auto* event = outbox.Add().mutable_oversold();
        event->set_sku(p.request->sku());
        event->set_location(resolver.CodeOf(r.from_location));
        event->set_shortfall(from.on_hand - from.held);
        event->set_source_ref(r.source_ref);
      }
      v1::Movement movement =
          Record(tx, resolver, request.request_id(), r, now, p.request->channel());
      *outbox.Add().mutable_movement_applied()->mutable_movement() = movement;
      *response.add_movements() = std::move(movement);
    }
    balances.Save(tx);
    outbox.AddAvailabilityChanges(resolver, balances);
    response.set_oversold(!oversold.empty());
    return response;
  };
  auto accounts = [&](Tx&, Resolver& resolver) {
    auto plan = PlanMovements(request, resolver, clock_.Now());
    return plan.ok() ? AccountsOf(*plan) : std::vector<AccountKey>();
  };
  return Mutate<v1::ApplyMovementsResponse>(db_, clock_, mutations_, "ApplyMovements",
                                            request.request_id(), request, accounts, effect);
}

// --------------------------------------------------------------------------- CreateHolds

absl::Status Books::ValidateCreateHolds(const v1::CreateHoldsRequest& request) {
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  RETURN_IF_ERROR(ValidateCode("channel", request.channel()));
  if (request.lines().empty()) return InvalidArgument("lines", "lines is empty");
  if (request.lines_size() > kMaxHoldLines) {
    return InvalidArgument("lines", absl::StrCat("at most ", kMaxHoldLines, " lines"));
  }
  if (!request.has_expires_at()) return InvalidArgument("expires_at", "expires_at is required");
  RETURN_IF_ERROR(ValidateTimestamp("expires_at", request.expires_at()));
  RETURN_IF_ERROR(ValidateRef("order_ref", request.order_ref()));
  RETURN_IF_ERROR(ValidateRef("customer_ref", request.customer_ref()));
  std::set<std::string> ids;
  for (int i = 0; i < request.lines_size(); ++i) {
    const v1::HoldLine& line = request.lines(i);
    std::string at = absl::StrCat("lines[", i, "]");
    RETURN_IF_ERROR(ValidateHoldId(at + ".hold_id", line.hold_id()));
    if (!ids.insert(line.hold_id()).second) {
      return InvalidArgument(at + ".hold_id", "hold ids must differ within a request");
    }
    RETURN_IF_ERROR(ValidateSku(at + ".sku", line.sku()));
    RETURN_IF_ERROR(ValidateCode(at + ".location", line.location()));
    RETURN_IF_ERROR(ValidateQuantity(at + ".quantity", line.quantity()));
  }
  return absl::OkStatus();
}

void Books::CreateHoldsAsync(const v1::CreateHoldsRequest& request, HoldBatcher::Done done) {
  if (absl::Status invalid = ValidateCreateHolds(request); !invalid.ok()) {
    done(invalid);
  } else if (batcher_ != nullptr) {
    batcher_->SubmitAsync(request, std::move(done));
  } else {
    done(CreateHolds(request));  // the one-transaction-per-request baseline blocks this thread
  }
}

absl::StatusOr<v1::CreateHoldsResponse> Books::CreateHolds(const v1::CreateHoldsRequest& request) {
  RETURN_IF_ERROR(ValidateCreateHolds(request));
  if (batcher_ != nullptr) return batcher_->Submit(request);
  return Mutate<v1::CreateHoldsResponse>(
      db_, clock_, "CreateHolds", request.request_id(), request,
      [&](Tx& tx, Resolver& resolver, Outbox& outbox,
          absl::Time now) -> absl::StatusOr<v1::CreateHoldsResponse> {
        absl::Time expires_at = FromProto(request.expires_at());
        if (expires_at <= now) {
          return InvalidArgument("expires_at", "expires_at must be in the future");
        }
        if (expires_at > now + kMaxHoldLifetime) {
          return InvalidArgument("expires_at", "a hold may last at most 90 days");
        }
        ASSIGN_OR_RETURN(ChannelInfo channel, resolver.Channel(request.channel()));
        // The channel's settings (safety stock, serving locations) must not change under the
        // check: UpdateChannel takes this row FOR UPDATE. Locked before the balances, and
        // UpdateChannel locks no balance, so the order stays acyclic.
        channel.respects_safety_stock =
            tx.exec_params1(
                  "SELECT respects_safety_stock FROM channels WHERE channel_id = $1 "
                  "FOR SHARE",
                  channel.id)[0]
                .as<bool>();
        // Demand summed per (item, location) before any check: two lines of one item must not
        // each pass against the same stock.
        std::map<std::pair<int64_t, int32_t>, int64_t> demand;
        std::vector<std::pair<int64_t, int32_t>> line_keys;
        for (const v1::HoldLine& line : request.lines()) {
          ASSIGN_OR_RETURN(int64_t item, resolver.Item(line.sku()));
          ASSIGN_OR_RETURN(int32_t loc, resolver.Location(line.location()));
          demand[{item, loc}] += line.quantity();
          line_keys.push_back({item, loc});
        }
        // Taken hold ids are refused before any stock check, as the batch writer does.
        std::vector<std::string> hold_ids;
        for (const v1::HoldLine& line : request.lines()) hold_ids.push_back(line.hold_id());
        auto taken = tx.exec_params("SELECT hold_id FROM holds WHERE hold_id = ANY($1::text[])",
                                    SqlTextArray(hold_ids));
        if (!taken.empty()) {
          std::string id = taken[0][0].as<std::string>();
          return MakeError(absl::StatusCode::kAlreadyExists, "HOLD_ID_EXISTS",
                           absl::StrCat("a hold with id \"", id, "\" exists"), {{"hold_id", id}});
        }
        std::vector<AccountKey> keys;
        std::set<UsageKey> usage_keys;
        for (const auto& [key, quantity] : demand) {
          auto serves = tx.exec_params(
              "SELECT 1 FROM channel_locations WHERE channel_id = $1 AND location_id = $2",
              channel.id, key.second);
          if (serves.empty()) {
            return MakeError(
                absl::StatusCode::kFailedPrecondition, "LOCATION_NOT_IN_CHANNEL",
                absl::StrCat("location ", resolver.CodeOf(key.second), " does not serve channel ",
                             channel.code),
                {{"location", resolver.CodeOf(key.second)}, {"channel", channel.code}});
          }
          keys.push_back({key.first, key.second, v1::BUCKET_SELLABLE});
          usage_keys.insert({channel.id, key.first, key.second});
        }
        LockedBalances balances;
        balances.Lock(tx, keys);
        auto usage = LockUsage(tx, usage_keys);
        for (const auto& [key, quantity] : demand) {
          BalanceRow& sellable = balances[{key.first, key.second, v1::BUCKET_SELLABLE}];
          int64_t safety =
              channel.respects_safety_stock ? SafetyStock(tx, key.first, key.second) : 0;
          int64_t available = sellable.on_hand - sellable.held - safety;
          Usage& u = usage[{channel.id, key.first, key.second}];
          if (auto cap = CapRemaining(u, sellable.on_hand)) available = std::min(available, *cap);
          if (quantity > available) {
            return InsufficientStock("units available", resolver.SkuOf(key.first),
                                     resolver.CodeOf(key.second), quantity, available);
          }
          sellable.held += quantity;
          sellable.dirty = true;
          u.held += quantity;
          u.dirty = true;
        }
        // Hold rows are inserted in hold id order (their unique index is locked in that order),
        // the response keeps the request's line order.
        std::vector<int> order(request.lines_size());
        for (int i = 0; i < request.lines_size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](int a, int b) {
          return request.lines(a).hold_id() < request.lines(b).hold_id();
        });
        v1::CreateHoldsResponse response;
        for (int i = 0; i < request.lines_size(); ++i) *response.add_holds() = v1::Hold();
        for (int i : order) {
          const v1::HoldLine& line = request.lines(i);
          auto inserted = tx.exec_params(
              "INSERT INTO holds (hold_id, item_id, location_id, channel_id, quantity, state, "
              "expires_at, order_ref, customer_ref, create_time) "
              "VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING 1",
              line.hold_id(), line_keys[i].first, line_keys[i].second, channel.id, line.quantity(),
              SqlTime(expires_at), request.order_ref(), request.customer_ref(), SqlTime(now));
          if (inserted.empty()) {
            return MakeError(absl::StatusCode::kAlreadyExists, "HOLD_ID_EXISTS",
                             absl::StrCat("a hold with id \"", line.hold_id(), "\" exists"),
                             {{"hold_id", line.hold_id()}});
          }
          v1::Hold* hold = response.mutable_holds(i);
          *hold = NewPendingHold(request, line, now);
          *outbox.Add().mutable_hold_created()->mutable_hold() = *hold;
        }
        balances.Save(tx);
        SaveUsage(tx, usage);
        outbox.AddAvailabilityChanges(resolver, balances);
        return response;
      });
}

// ------------------------------------------------------------------------------ PostHold

absl::StatusOr<v1::PostHoldResponse> Books::PostHold(const v1::PostHoldRequest& request) {
  RETURN_IF_ERROR(ValidateHoldId("hold_id", request.hold_id()));
  if (request.quantity() < 0 || request.quantity() > kMaxQuantity) {
    return InvalidArgument("quantity", "quantity must be 0 (all) or positive");
  }
  return Mutate<v1::PostHoldResponse>(
      db_, clock_, "PostHold", request.request_id(), request,
      [&](Tx& tx, Resolver& resolver, Outbox& outbox,
          absl::Time now) -> absl::StatusOr<v1::PostHoldResponse> {
        ASSIGN_OR_RETURN(pqxx::row peek, LoadHold(tx, request.hold_id(), false));
        HoldRow h = ParseHold(peek);
        AccountKey sellable_key{h.item, h.location, v1::BUCKET_SELLABLE};
        AccountKey committed_key{h.item, h.location, v1::BUCKET_COMMITTED};
        LockedBalances balances;
        balances.Lock(tx, {sellable_key, committed_key});
        auto usage = LockUsage(tx, {{h.channel, h.item, h.location}});
        ASSIGN_OR_RETURN(pqxx::row locked, LoadHold(tx, request.hold_id(), true));
        h = ParseHold(locked);
        auto state_name = v1::HoldState_Name(static_cast<v1::HoldState>(h.state));
        if (h.state != kPending) {
          return MakeError(absl::StatusCode::kFailedPrecondition, "HOLD_NOT_PENDING",
                           absl::StrCat("hold \"", h.hold_id, "\" is ", state_name),
                           {{"hold_id", h.hold_id}, {"state", state_name}});
        }
        if (absl::FromUnixMicros(h.expires_micros) <= now) {
          return MakeError(absl::StatusCode::kFailedPrecondition, "HOLD_EXPIRED",
                           absl::StrCat("hold \"", h.hold_id, "\" expired"),
                           {{"hold_id", h.hold_id}});
        }
        int64_t quantity = request.quantity() == 0 ? h.quantity : request.quantity();
        if (quantity > h.quantity) {
          return MakeError(absl::StatusCode::kInvalidArgument, "QUANTITY_EXCEEDS_HOLD",
                           absl::StrCat("cannot post ", quantity, " of a hold of ", h.quantity),
                           {{"field", "quantity"}, {"held", std::to_string(h.quantity)}});
        }
        BalanceRow& sellable = balances[sellable_key];
        sellable.held -= h.quantity;
        sellable.on_hand -= quantity;
        sellable.dirty = true;
        BalanceRow& committed = balances[committed_key];
        committed.on_hand += quantity;
        committed.dirty = true;
        Usage& u = usage[{h.channel, h.item, h.location}];
        u.held -= h.quantity;
        u.committed += quantity;
        u.dirty = true;
        tx.exec_params(
            "UPDATE holds SET state = 2, posted_quantity = $2, end_time = $3 WHERE hold_id = $1",
            h.hold_id, quantity, SqlTime(now));
        balances.Save(tx);
        SaveUsage(tx, usage);
        MovementRecord m{v1::MOVEMENT_KIND_COMMIT,
                         h.item,
                         quantity,
                         h.location,
                         v1::BUCKET_SELLABLE,
                         h.location,
                         v1::BUCKET_COMMITTED,
                         h.channel,
                         h.order_ref,
                         now};
        std::string channel_code = locked[13].as<std::string>();
        v1::Movement movement = Record(tx, resolver, request.request_id(), m, now, channel_code);
        v1::PostHoldResponse response;
        ASSIGN_OR_RETURN(pqxx::row after, LoadHold(tx, h.hold_id, false));
        *response.mutable_hold() = ToApi(after);
        *outbox.Add().mutable_hold_posted()->mutable_hold() = response.hold();
        *outbox.Add().mutable_movement_applied()->mutable_movement() = movement;
        outbox.AddAvailabilityChanges(resolver, balances);
        return response;
      });
}

absl::StatusOr<v1::VoidHoldResponse> Books::VoidHold(const v1::VoidHoldRequest& request) {
  RETURN_IF_ERROR(ValidateHoldId("hold_id", request.hold_id()));
  return Mutate<v1::VoidHoldResponse>(
      db_, clock_, "VoidHold", request.request_id(), request,
      [&](Tx& tx, Resolver& resolver, Outbox& outbox,
          absl::Time now) -> absl::StatusOr<v1::VoidHoldResponse> {
        v1::VoidHoldResponse response;
        ASSIGN_OR_RETURN(
            *response.mutable_hold(),
            ReleaseHold(tx, resolver, outbox, request.hold_id(), v1::HOLD_STATE_VOIDED, now));
        return response;
      });
}

absl::StatusOr<int> Books::ExpireDueHolds(int limit) {
  absl::Time now = clock_.Now();
  auto due = db_.Run<std::vector<std::string>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<std::string>> {
        pqxx::nontransaction tx(conn);
        std::vector<std::string> ids;
        for (const auto& row :
             tx.exec_params("SELECT hold_id FROM holds WHERE state = 1 AND expires_at <= $1 "
                            "ORDER BY expires_at LIMIT $2",
                            SqlTime(now), limit)) {
          ids.push_back(row[0].as<std::string>());
        }
        return ids;
      });
  if (!due.ok()) return due.status();
  int expired = 0;
  for (const std::string& hold_id : *due) {
    auto result = db_.Run<bool>([&](pqxx::connection& conn) {
      return pg::RunInTransaction<bool>(conn, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
        Resolver resolver(tx);
        Outbox outbox;
        auto hold = ReleaseHold(tx, resolver, outbox, hold_id, v1::HOLD_STATE_EXPIRED, now);
        if (!hold.ok()) return false;  // posted or voided meanwhile: that call won
        outbox.Flush(tx);
        return true;
      });
    });
    if (!result.ok()) return result.status();
    expired += *result ? 1 : 0;
  }
  return expired;
}

absl::StatusOr<v1::GetHoldResponse> Books::GetHold(const v1::GetHoldRequest& request) {
  RETURN_IF_ERROR(ValidateHoldId("hold_id", request.hold_id()));
  return Read<v1::GetHoldResponse>(
      db_, [&](Tx& tx, Resolver&) -> absl::StatusOr<v1::GetHoldResponse> {
        ASSIGN_OR_RETURN(pqxx::row row, LoadHold(tx, request.hold_id(), false));
        v1::GetHoldResponse response;
        *response.mutable_hold() = ToApi(row);
        return response;
      });
}

absl::StatusOr<v1::ListHoldsResponse> Books::ListHolds(const v1::ListHoldsRequest& request) {
  int page_size = request.page_size() <= 0 ? 100 : std::min(request.page_size(), 1000);
  int64_t before = std::numeric_limits<int64_t>::max();
  std::string before_id;
  if (!request.page_token().empty()) {
    auto bar = request.page_token().find('|');
    if (bar == std::string::npos ||
        !absl::SimpleAtoi(request.page_token().substr(0, bar), &before)) {
      return InvalidArgument("page_token", "page_token is not from a ListHolds response");
    }
    before_id = request.page_token().substr(bar + 1);
  }
  return Read<v1::ListHoldsResponse>(
      db_, [&](Tx& tx, Resolver&) -> absl::StatusOr<v1::ListHoldsResponse> {
        auto rows = tx.exec_params(
            absl::StrCat("SELECT ", kHoldColumns, kHoldFrom,
                         "WHERE ($1 = 0 OR h.state = $1) AND ($2 = '' OR i.sku = $2) "
                         "AND ($3 = '' OR h.order_ref = $3) AND (",
                         Micros("h.create_time"),
                         ", h.hold_id) < ($4, $5) ORDER BY h.create_time DESC, h.hold_id DESC "
                         "LIMIT $6"),
            static_cast<int>(request.state()), request.sku(), request.order_ref(), before,
            before_id.empty() ? std::string("\x7f") : before_id, page_size + 1);
        v1::ListHoldsResponse response;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < page_size; ++i) {
          *response.add_holds() = ToApi(rows[i]);
        }
        if (static_cast<int>(rows.size()) > page_size) {
          const pqxx::row& last = rows[page_size - 1];
          response.set_next_page_token(
              absl::StrCat(last[10].as<int64_t>(), "|", last[0].as<std::string>()));
        }
        return response;
      });
}

absl::StatusOr<v1::FulfilCommittedResponse> Books::FulfilCommitted(
    const v1::FulfilCommittedRequest& request) {
  RETURN_IF_ERROR(ValidateCommittedRequest(request.sku(), request.location(), request.quantity(),
                                           request.channel(), request.order_ref()));
  return Mutate<v1::FulfilCommittedResponse>(
      db_, clock_, "FulfilCommitted", request.request_id(), request,
      [&](Tx& tx, Resolver& resolver, Outbox& outbox,
          absl::Time now) -> absl::StatusOr<v1::FulfilCommittedResponse> {
        v1::FulfilCommittedResponse response;
        ASSIGN_OR_RETURN(*response.mutable_movement(),
                         MoveCommitted(tx, resolver, outbox, request.request_id(), request.sku(),
                                       request.location(), request.quantity(), request.channel(),
                                       request.order_ref(), true, now));
        return response;
      });
}

absl::StatusOr<v1::CancelCommittedResponse> Books::CancelCommitted(
    const v1::CancelCommittedRequest& request) {
  RETURN_IF_ERROR(ValidateCommittedRequest(request.sku(), request.location(), request.quantity(),
                                           request.channel(), request.order_ref()));
  return Mutate<v1::CancelCommittedResponse>(
      db_, clock_, "CancelCommitted", request.request_id(), request,
      [&](Tx& tx, Resolver& resolver, Outbox& outbox,
          absl::Time now) -> absl::StatusOr<v1::CancelCommittedResponse> {
        v1::CancelCommittedResponse response;
        ASSIGN_OR_RETURN(*response.mutable_movement(),
                         MoveCommitted(tx, resolver, outbox, request.request_id(), request.sku(),
                                       request.location(), request.quantity(), request.channel(),
                                       request.order_ref(), false, now));
        return response;
      });
}

// ------------------------------------------------------------------ safety stock and caps

absl::StatusOr<v1::SetSafetyStockResponse> Books::SetSafetyStock(
    const v1::SetSafetyStockRequest& request) {
  RETURN_IF_ERROR(ValidateSku("sku", request.sku()));
  RETURN_IF_ERROR(ValidateCode("location", request.location()));
  if (request.quantity() < 0 || request.quantity() > kMaxQuantity) {
    return InvalidArgument("quantity",
                           "quantity must be between 0 and " + std::to_string(kMaxQuantity));
  }
  return Mutate<v1::SetSafetyStockResponse>(
      db_, clock_, "SetSafetyStock", request.request_id(), request,
      [&](Tx& tx, Resolver& resolver, Outbox& outbox,
          absl::Time) -> absl::StatusOr<v1::SetSafetyStockResponse> {
        ASSIGN_OR_RETURN(int64_t item, resolver.Item(request.sku()));
        ASSIGN_OR_RETURN(int32_t loc, resolver.Location(request.location()));
        LockedBalances balances;  // serialises with holds on the account
        balances.Lock(tx, {{item, loc, v1::BUCKET_SELLABLE}});
        tx.exec_params(
            "INSERT INTO safety_stock (item_id, location_id, quantity) VALUES ($1, $2, $3) "
            "ON CONFLICT (item_id, location_id) DO UPDATE SET quantity = EXCLUDED.quantity",
            item, loc, request.quantity());
        balances[{item, loc, v1::BUCKET_SELLABLE}].dirty = true;  // announce the change
        outbox.AddAvailabilityChanges(resolver, balances);
        balances.Save(tx);
        v1::SetSafetyStockResponse response;
        response.set_quantity(request.quantity());
        return response;
      });
}

absl::StatusOr<v1::SetChannelAllocationResponse> Books::SetChannelAllocation(
    const v1::SetChannelAllocationRequest& request) {
  RETURN_IF_ERROR(ValidateCode("channel", request.channel()));
  RETURN_IF_ERROR(ValidateSku("sku", request.sku()));
  RETURN_IF_ERROR(ValidateCode("location", request.location()));
  if (request.cap_case() == v1::SetChannelAllocationRequest::kQuota &&
      (request.quota() < 0 || request.quota() > kMaxQuantity)) {
    return InvalidArgument("quota", "quota must be between 0 and " + std::to_string(kMaxQuantity));
  }
  if (request.cap_case() == v1::SetChannelAllocationRequest::kRatioBasisPoints &&
      (request.ratio_basis_points() < 1 || request.ratio_basis_points() > 10000)) {
    return InvalidArgument("ratio_basis_points", "ratio_basis_points must be 1 to 10000");
  }
  return Mutate<v1::SetChannelAllocationResponse>(
      db_, clock_, "SetChannelAllocation", request.request_id(), request,
      [&](Tx& tx, Resolver& resolver, Outbox& outbox,
          absl::Time) -> absl::StatusOr<v1::SetChannelAllocationResponse> {
        ASSIGN_OR_RETURN(ChannelInfo channel, resolver.Channel(request.channel()));
        ASSIGN_OR_RETURN(int64_t item, resolver.Item(request.sku()));
        ASSIGN_OR_RETURN(int32_t loc, resolver.Location(request.location()));
        LockedBalances balances;
        balances.Lock(tx, {{item, loc, v1::BUCKET_SELLABLE}});
        LockUsage(tx, {{channel.id, item, loc}});
        bool quota = request.cap_case() == v1::SetChannelAllocationRequest::kQuota;
        bool ratio = request.cap_case() == v1::SetChannelAllocationRequest::kRatioBasisPoints;
        tx.exec_params(
            "UPDATE channel_usage SET quota = CASE WHEN $4::boolean THEN $5::bigint END, "
            "ratio_bp = CASE WHEN $6::boolean THEN $7::integer END "
            "WHERE channel_id = $1 AND item_id = $2 AND location_id = $3",
            channel.id, item, loc, quota, request.quota(), ratio, request.ratio_basis_points());
        balances[{item, loc, v1::BUCKET_SELLABLE}].dirty = true;
        outbox.AddAvailabilityChanges(resolver, balances);
        balances.Save(tx);
        return v1::SetChannelAllocationResponse();
      });
}

// -------------------------------------------------------------------------- availability

absl::StatusOr<v1::GetAvailabilityResponse> Books::GetAvailability(
    const v1::GetAvailabilityRequest& request) {
  if (request.skus().empty()) return InvalidArgument("skus", "skus is empty");
  if (request.skus_size() > 1000) return InvalidArgument("skus", "at most 1000 skus");
  for (const auto& sku : request.skus()) RETURN_IF_ERROR(ValidateSku("skus", sku));
  for (const auto& code : request.locations()) RETURN_IF_ERROR(ValidateCode("locations", code));
  for (const auto& code : request.channels()) RETURN_IF_ERROR(ValidateCode("channels", code));
  return Read<v1::GetAvailabilityResponse>(
      db_, [&](Tx& tx, Resolver& resolver) -> absl::StatusOr<v1::GetAvailabilityResponse> {
        std::vector<ChannelInfo> channels;
        for (const auto& code : request.channels()) {
          ASSIGN_OR_RETURN(ChannelInfo c, resolver.Channel(code));
          channels.push_back(c);
        }
        std::vector<int32_t> asked_locations;
        for (const auto& code : request.locations()) {
          ASSIGN_OR_RETURN(int32_t id, resolver.Location(code));
          asked_locations.push_back(id);
        }
        v1::GetAvailabilityResponse response;
        for (const auto& sku : request.skus()) {
          ASSIGN_OR_RETURN(int64_t item, resolver.Item(sku));
          std::vector<int32_t> locations = asked_locations;
          if (locations.empty()) {
            // Every user location that has stock of the item or serves an asked channel.
            for (const auto& row : tx.exec_params(
                     "SELECT DISTINCT l.location_id, l.code FROM locations l "
                     "WHERE NOT l.is_system AND (EXISTS (SELECT 1 FROM balances b WHERE "
                     "b.item_id = $1 AND b.location_id = l.location_id) OR EXISTS (SELECT 1 FROM "
                     "channel_locations cl JOIN channels c USING (channel_id) WHERE "
                     "cl.location_id = l.location_id AND c.code = ANY($2::text[]))) "
                     "ORDER BY l.code",
                     item, SqlTextArray({request.channels().begin(), request.channels().end()}))) {
              locations.push_back(row[0].as<int32_t>());
            }
          }
          for (int32_t loc : locations) {
            int64_t bucket_qty[7] = {};
            int64_t held = 0;
            for (const auto& row : tx.exec_params("SELECT bucket, on_hand, held FROM balances "
                                                  "WHERE item_id = $1 AND location_id = $2",
                                                  item, loc)) {
              int bucket = row[0].as<int>();
              if (bucket >= 1 && bucket <= 6) bucket_qty[bucket] = row[1].as<int64_t>();
              if (bucket == v1::BUCKET_SELLABLE) held = row[2].as<int64_t>();
            }
            int64_t safety = SafetyStock(tx, item, loc);
            auto fill = [&](v1::Availability* a) {
              a->set_sku(sku);
              a->set_location(resolver.CodeOf(loc));
              a->set_sellable(bucket_qty[v1::BUCKET_SELLABLE]);
              a->set_held(held);
              a->set_committed(bucket_qty[v1::BUCKET_COMMITTED]);
              a->set_incoming(bucket_qty[v1::BUCKET_INCOMING]);
              a->set_quality_control(bucket_qty[v1::BUCKET_QUALITY_CONTROL]);
              a->set_damaged(bucket_qty[v1::BUCKET_DAMAGED]);
              a->set_in_transit(bucket_qty[v1::BUCKET_IN_TRANSIT]);
              a->set_safety_stock(safety);
            };
            if (channels.empty()) {
              v1::Availability* a = response.add_rows();
              fill(a);
              a->set_available_to_promise(
                  std::max<int64_t>(0, bucket_qty[v1::BUCKET_SELLABLE] - held));
              continue;
            }
            for (const ChannelInfo& channel : channels) {
              v1::Availability* a = response.add_rows();
              fill(a);
              a->set_channel(channel.code);
              bool serves = !tx.exec_params(
                                   "SELECT 1 FROM channel_locations WHERE "
                                   "channel_id = $1 AND location_id = $2",
                                   channel.id, loc)
                                 .empty();
              int64_t atp = bucket_qty[v1::BUCKET_SELLABLE] - held -
                            (channel.respects_safety_stock ? safety : 0);
              auto usage = tx.exec_params(
                  "SELECT held, committed, quota, ratio_bp FROM channel_usage "
                  "WHERE channel_id = $1 AND item_id = $2 AND location_id = $3",
                  channel.id, item, loc);
              if (!usage.empty()) {
                Usage u{usage[0][0].as<int64_t>(), usage[0][1].as<int64_t>()};
                if (!usage[0][2].is_null()) u.quota = usage[0][2].as<int64_t>();
                if (!usage[0][3].is_null()) u.ratio_bp = usage[0][3].as<int>();
                if (auto cap = CapRemaining(u, bucket_qty[v1::BUCKET_SELLABLE])) {
                  atp = std::min(atp, *cap);
                }
              }
              a->set_available_to_promise(serves ? std::max<int64_t>(0, atp) : 0);
            }
          }
        }
        return response;
      });
}

// ------------------------------------------------------------------------------ incoming

absl::StatusOr<v1::ListIncomingResponse> Books::ListIncoming(
    const v1::ListIncomingRequest& request) {
  if (request.skus().empty()) return InvalidArgument("skus", "skus is empty");
  if (request.skus_size() > 1000) return InvalidArgument("skus", "at most 1000 skus");
  for (const auto& sku : request.skus()) RETURN_IF_ERROR(ValidateSku("skus", sku));
  for (const auto& code : request.locations()) RETURN_IF_ERROR(ValidateCode("locations", code));
  return Read<v1::ListIncomingResponse>(
      db_, [&](Tx& tx, Resolver& resolver) -> absl::StatusOr<v1::ListIncomingResponse> {
        std::vector<int32_t> locations;
        for (const auto& code : request.locations()) {
          ASSIGN_OR_RETURN(int32_t id, resolver.Location(code));
          locations.push_back(id);
        }
        v1::ListIncomingResponse response;
        for (const auto& sku : request.skus()) {
          ASSIGN_OR_RETURN(int64_t item, resolver.Item(sku));
          // Per location, what is still incoming; the purchase orders latest expected first.
          // Receipts use up the earliest expected units, so the balance belongs to the latest
          // orders: walk back from the latest until it is covered.
          auto balances = tx.exec_params(
              "SELECT b.location_id, b.on_hand FROM balances b JOIN locations l USING "
              "(location_id) WHERE b.item_id = $1 AND b.bucket = $2 AND b.on_hand > 0 "
              "AND (cardinality($3::integer[]) = 0 OR b.location_id = ANY($3::integer[])) "
              "ORDER BY l.code",
              item, static_cast<int>(v1::BUCKET_INCOMING), SqlNumberArray(locations));
          for (const auto& balance : balances) {
            const int32_t loc = balance[0].as<int32_t>();
            int64_t left = balance[1].as<int64_t>();
            std::vector<v1::IncomingLot> lots;
            for (const auto& row :
                 tx.exec_params(absl::StrCat("SELECT quantity, ", Micros("expected_at"),
                                             ", source_ref FROM movements WHERE item_id = $1 AND "
                                             "to_location_id = $2 AND to_bucket = $3 AND kind = $4 "
                                             "ORDER BY expected_at DESC, movement_id DESC"),
                                item, loc, static_cast<int>(v1::BUCKET_INCOMING),
                                static_cast<int>(v1::MOVEMENT_KIND_ORDER_INCOMING))) {
              if (left <= 0) break;
              v1::IncomingLot lot;
              lot.set_sku(sku);
              lot.set_location(resolver.CodeOf(loc));
              lot.set_quantity(std::min(left, row[0].as<int64_t>()));
              *lot.mutable_expected_at() = MicrosToProto(row[1].as<int64_t>());
              lot.set_source_ref(row[2].as<std::string>());
              left -= lot.quantity();
              lots.push_back(std::move(lot));
            }
            for (auto it = lots.rbegin(); it != lots.rend(); ++it) *response.add_lots() = *it;
          }
        }
        return response;
      });
}

// ---------------------------------------------------------------------------- invariants

absl::StatusOr<v1::VerifyInvariantsResponse> Books::VerifyInvariants() {
  return Read<v1::VerifyInvariantsResponse>(
      db_, [&](Tx& tx, Resolver& resolver) -> absl::StatusOr<v1::VerifyInvariantsResponse> {
        v1::VerifyInvariantsResponse response;
        auto add = [&](const char* check, int64_t item, std::optional<int32_t> location, int bucket,
                       int64_t recorded, int64_t expected) {
          v1::InvariantViolation* v = response.add_violations();
          v->set_check(check);
          v->set_sku(resolver.SkuOf(item));
          if (location) v->set_location(resolver.CodeOf(*location));
          v->set_bucket(static_cast<v1::Bucket>(bucket));
          v->set_recorded(recorded);
          v->set_expected(expected);
        };
        for (const auto& r : tx.exec(
                 "WITH flows AS ("
                 "  SELECT item_id, to_location_id AS location_id, to_bucket AS bucket, "
                 "         quantity AS q FROM movements "
                 "  UNION ALL SELECT item_id, from_location_id, from_bucket, -quantity "
                 "  FROM movements), "
                 "sums AS (SELECT item_id, location_id, bucket, sum(q)::bigint AS s FROM flows "
                 "         GROUP BY 1, 2, 3) "
                 "SELECT item_id, location_id, bucket, coalesce(b.on_hand, 0), coalesce(s.s, 0) "
                 "FROM balances b FULL JOIN sums s USING (item_id, location_id, bucket) "
                 "WHERE coalesce(b.on_hand, 0) <> coalesce(s.s, 0)")) {
          add("BALANCE_NE_MOVEMENTS", r[0].as<int64_t>(), r[1].as<int32_t>(), r[2].as<int>(),
              r[3].as<int64_t>(), r[4].as<int64_t>());
        }
        for (const auto& r : tx.exec("SELECT item_id, sum(on_hand)::bigint FROM balances "
                                     "GROUP BY item_id HAVING sum(on_hand) <> 0")) {
          add("ITEM_SUM_NONZERO", r[0].as<int64_t>(), std::nullopt, 0, r[1].as<int64_t>(), 0);
        }
        for (const auto& r :
             tx.exec("WITH pending AS (SELECT item_id, location_id, sum(quantity)::bigint AS q "
                     "  FROM holds WHERE state = 1 GROUP BY 1, 2) "
                     "SELECT item_id, location_id, coalesce(b.held, 0), coalesce(p.q, 0) "
                     "FROM (SELECT * FROM balances WHERE bucket = 1) b "
                     "FULL JOIN pending p USING (item_id, location_id) "
                     "WHERE coalesce(b.held, 0) <> coalesce(p.q, 0)")) {
          add("HELD_NE_PENDING_HOLDS", r[0].as<int64_t>(), r[1].as<int32_t>(), v1::BUCKET_SELLABLE,
              r[2].as<int64_t>(), r[3].as<int64_t>());
        }
        for (const auto& r :
             tx.exec("WITH pending AS (SELECT channel_id, item_id, location_id, "
                     "  sum(quantity)::bigint AS q FROM holds WHERE state = 1 GROUP BY 1, 2, 3) "
                     "SELECT item_id, location_id, coalesce(u.held, 0), coalesce(p.q, 0) "
                     "FROM channel_usage u FULL JOIN pending p "
                     "  USING (channel_id, item_id, location_id) "
                     "WHERE coalesce(u.held, 0) <> coalesce(p.q, 0)")) {
          add("CHANNEL_HELD_NE_PENDING_HOLDS", r[0].as<int64_t>(), r[1].as<int32_t>(),
              v1::BUCKET_SELLABLE, r[2].as<int64_t>(), r[3].as<int64_t>());
        }
        for (const auto& r : tx.exec(
                 "WITH flows AS (SELECT channel_id, item_id, "
                 "  CASE kind WHEN 13 THEN to_location_id ELSE from_location_id END AS "
                 "location_id, "
                 "  CASE kind WHEN 13 THEN quantity ELSE -quantity END AS q "
                 "  FROM movements WHERE kind IN (13, 14, 15)), "
                 "sums AS (SELECT channel_id, item_id, location_id, sum(q)::bigint AS s "
                 "  FROM flows GROUP BY 1, 2, 3) "
                 "SELECT item_id, location_id, coalesce(u.committed, 0), coalesce(s.s, 0) "
                 "FROM channel_usage u FULL JOIN sums s USING (channel_id, item_id, location_id) "
                 "WHERE coalesce(u.committed, 0) <> coalesce(s.s, 0)")) {
          add("CHANNEL_COMMITTED_NE_MOVEMENTS", r[0].as<int64_t>(), r[1].as<int32_t>(),
              v1::BUCKET_COMMITTED, r[2].as<int64_t>(), r[3].as<int64_t>());
        }
        for (const auto& r : tx.exec("SELECT item_id, location_id, bucket, held FROM balances "
                                     "WHERE bucket <> 1 AND held <> 0")) {
          add("HELD_OUTSIDE_SELLABLE", r[0].as<int64_t>(), r[1].as<int32_t>(), r[2].as<int>(),
              r[3].as<int64_t>(), 0);
        }
        response.set_accounts_checked(tx.exec("SELECT count(*) FROM balances")[0][0].as<int64_t>());
        return response;
      });
}

// --------------------------------------------------------------------------- change feed

absl::StatusOr<v1::ListChangesResponse> Books::ListChanges(const v1::ListChangesRequest& request) {
  if (request.after_sequence() < 0) {
    return InvalidArgument("after_sequence", "after_sequence must not be negative");
  }
  int page_size = request.page_size() <= 0 ? 100 : std::min(request.page_size(), 1000);
  return Read<v1::ListChangesResponse>(
      db_, [&](Tx& tx, Resolver&) -> absl::StatusOr<v1::ListChangesResponse> {
        v1::ListChangesResponse response;
        response.set_last_sequence(request.after_sequence());
        for (const auto& r :
             tx.exec_params("SELECT sequence, encode(payload, 'hex'), " + Micros("commit_time") +
                                " FROM events WHERE sequence > $1 ORDER BY sequence LIMIT $2",
                            request.after_sequence(), page_size)) {
          v1::ChangeEvent* event = response.add_events();
          if (!event->ParseFromString(absl::HexStringToBytes(r[1].as<std::string>()))) {
            return absl::InternalError("unreadable change event");
          }
          event->set_sequence(r[0].as<int64_t>());
          *event->mutable_commit_time() = MicrosToProto(r[2].as<int64_t>());
          response.set_last_sequence(r[0].as<int64_t>());
        }
        return response;
      });
}

}  // namespace kura::ledger
