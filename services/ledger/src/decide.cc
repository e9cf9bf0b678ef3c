#include "decide.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/numeric/int128.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "to_api.h"

namespace kura::ledger {
namespace {

constexpr absl::Duration kMaxHoldLifetime = absl::Hours(24 * 90);
// A balance may not grow beyond this (in either direction): far beyond any real stock, far from
// int64 overflow.
constexpr int64_t kMaxBalance = 4'000'000'000'000'000'000;
constexpr int kSellable = v1::BUCKET_SELLABLE;
constexpr int kCommitted = v1::BUCKET_COMMITTED;

absl::Status InsufficientStock(absl::string_view what, const std::string& sku,
                               const std::string& location, int64_t requested, int64_t available) {
  std::string shown = std::to_string(std::max<int64_t>(available, 0));
  return MakeError(absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_STOCK",
                   absl::StrCat("only ", shown, " ", what, " of ", sku, " at ", location, ", ",
                                requested, " requested"),
                   {{"sku", sku},
                    {"location", location},
                    {"requested", std::to_string(requested)},
                    {"available", shown}});
}

absl::Status HoldNotFound(const std::string& hold_id) {
  return MakeError(absl::StatusCode::kNotFound, "HOLD_NOT_FOUND",
                   absl::StrCat("no hold with id \"", hold_id, "\""), {{"hold_id", hold_id}});
}

// The movement as the API and the change feed show it.
v1::Movement MovementToApi(const Draft& d, const MovementRow& m) {
  return ToApi(m, {d.SkuOf(m.item_id), d.CodeOf(m.from_location_id), d.CodeOf(m.to_location_id),
                   m.channel_id == 0 ? std::string() : d.ChannelCodeOf(m.channel_id)});
}

// Records `m` and its MovementApplied event; returns it as the API shows it.
v1::Movement RecordMovement(Draft& d, MovementRow m) {
  v1::Movement movement = MovementToApi(d, d.Record(std::move(m)));
  *d.AddEvent().mutable_movement_applied()->mutable_movement() = movement;
  return movement;
}

// ------------------------------------------------------------------------------- holds

// Releases a pending hold as voided or expired (expired only once due).
absl::StatusOr<v1::Hold> Release(Draft& d, const std::string& hold_id, v1::HoldState end_state) {
  const HoldRow* found = d.Hold(hold_id);
  if (found == nullptr) return HoldNotFound(hold_id);
  if (found->state != v1::HOLD_STATE_PENDING) {
    const std::string state = v1::HoldState_Name(found->state);
    return MakeError(absl::StatusCode::kFailedPrecondition, "HOLD_NOT_PENDING",
                     absl::StrCat("hold \"", hold_id, "\" is already ", state),
                     {{"hold_id", hold_id}, {"state", state}});
  }
  if (end_state == v1::HOLD_STATE_EXPIRED && found->expires_at > d.now()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "HOLD_NOT_DUE", "not due yet");
  }
  HoldRow& h = d.MutableHold(hold_id);
  d.MutableBalance({h.item_id, h.location_id, kSellable}).held -= h.quantity;
  d.MutableUsage({h.channel_id, h.item_id, h.location_id}).held -= h.quantity;
  h.state = end_state;
  h.end_time = d.now();
  v1::Hold hold = ToApi(h);
  v1::ChangeEvent& event = d.AddEvent();
  if (end_state == v1::HOLD_STATE_EXPIRED) {
    *event.mutable_hold_expired()->mutable_hold() = hold;
  } else {
    *event.mutable_hold_voided()->mutable_hold() = hold;
  }
  return hold;
}

void DeclareHold(const std::string& hold_id, bool committed, Wants& w) {
  bool& with_committed = w.holds[hold_id];
  with_committed = with_committed || committed;
  // A hold created earlier in the batch is not in the database yet: declare what a post of it
  // moves its units into.
  auto created = w.new_holds.find(hold_id);
  if (committed && created != w.new_holds.end()) {
    const auto& [sku, location] = created->second;
    w.accounts.insert({sku, location, kCommitted});
  }
}

// -------------------------------------------------------------------------- movements

// One side of a movement: an account at the request's location (or the transfer's
// destination), or the single account of one of kura's own system locations.
struct Side {
  std::string code;
  int bucket;
  bool system;
};
struct Route {
  Side from, to;
};

Side At(const std::string& code, int bucket) { return {code, bucket, false}; }
Side System(const char* code) { return {code, kSystemBucket, true}; }

// Where a movement takes stock from and to. COUNT and ADJUST are routed as if stock went out;
// their direction is decided on the locked balance.
Route RouteOf(const v1::MovementRequest& m) {
  const std::string& loc = m.location();
  switch (m.kind()) {
    case v1::MOVEMENT_KIND_RECEIVE:
      return {System("@supplier"), At(loc, kSellable)};
    case v1::MOVEMENT_KIND_ORDER_INCOMING:
      return {System("@supplier"), At(loc, v1::BUCKET_INCOMING)};
    case v1::MOVEMENT_KIND_RECEIVE_INCOMING:
      return {At(loc, v1::BUCKET_INCOMING), At(loc, kSellable)};
    case v1::MOVEMENT_KIND_STORE_SALE:
      return {At(loc, kSellable), System("@customer")};
    case v1::MOVEMENT_KIND_RETURN:
      return {System("@customer"), At(loc, v1::BUCKET_QUALITY_CONTROL)};
    case v1::MOVEMENT_KIND_INSPECT_PASS:
      return {At(loc, v1::BUCKET_QUALITY_CONTROL), At(loc, kSellable)};
    case v1::MOVEMENT_KIND_INSPECT_FAIL:
      return {At(loc, v1::BUCKET_QUALITY_CONTROL), At(loc, v1::BUCKET_DAMAGED)};
    case v1::MOVEMENT_KIND_WRITE_OFF:
      return {At(loc, v1::BUCKET_DAMAGED), System("@shrink")};
    case v1::MOVEMENT_KIND_TRANSFER_SHIP:
      return {At(loc, kSellable), At(m.to_location(), v1::BUCKET_IN_TRANSIT)};
    case v1::MOVEMENT_KIND_TRANSFER_RECEIVE:
      return {At(loc, v1::BUCKET_IN_TRANSIT), At(loc, kSellable)};
    default:  // COUNT and ADJUST
      return {At(loc, kSellable), System("@count_variance")};
  }
}

void DeclareSide(const std::string& sku, const Side& side, Wants& w) {
  w.locations.insert(side.code);
  w.accounts.insert({sku, side.code, side.bucket});
}

absl::StatusOr<int32_t> Resolve(const Draft& d, const Side& side) {
  if (side.system) return d.System(side.code);
  return d.Location(side.code);
}

// Moves committed units of `channel_code` at a location on (fulfil: to the customer; cancel:
// back to sellable).
absl::StatusOr<v1::Movement> MoveCommitted(Draft& d, const std::string& request_id,
                                           const std::string& sku, const std::string& location,
                                           int64_t quantity, const std::string& channel_code,
                                           const std::string& order_ref, bool fulfil) {
  ASSIGN_OR_RETURN(int64_t item, d.Item(sku));
  ASSIGN_OR_RETURN(int32_t loc, d.Location(location));
  ASSIGN_OR_RETURN(const ChannelRef* channel, d.Channel(channel_code));
  const AccountKey committed_key{item, loc, kCommitted};
  const AccountKey to_key = fulfil ? AccountKey{item, d.System("@customer"), kSystemBucket}
                                   : AccountKey{item, loc, kSellable};
  const UsageKey usage_key{channel->id, item, loc};
  // Each channel hands over or cancels only what it committed itself, so that its quota counts
  // stay exact.
  const int64_t committed =
      std::min(d.Balance(committed_key).on_hand, d.Usage(usage_key).committed);
  if (committed < quantity) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_COMMITTED",
        absl::StrCat("only ", committed, " units of ", sku, " at ", location, " are committed to ",
                     channel->code, ", ", quantity, " requested"),
        {{"sku", sku},
         {"location", location},
         {"channel", channel->code},
         {"requested", std::to_string(quantity)},
         {"available", std::to_string(committed)}});
  }
  d.MutableBalance(committed_key).on_hand -= quantity;
  d.MutableBalance(to_key).on_hand += quantity;
  d.MutableUsage(usage_key).committed -= quantity;
  MovementRow m;
  m.batch_id = request_id;
  m.kind = fulfil ? v1::MOVEMENT_KIND_FULFIL : v1::MOVEMENT_KIND_CANCEL_COMMITTED;
  m.item_id = item;
  m.quantity = quantity;
  m.from_location_id = loc;
  m.from_bucket = kCommitted;
  m.to_location_id = std::get<1>(to_key);
  m.to_bucket = std::get<2>(to_key);
  m.channel_id = channel->id;
  m.source_ref = order_ref;
  m.occurred_at = d.now();
  m.recorded_at = d.now();
  return RecordMovement(d, std::move(m));
}

void DeclareCommitted(const std::string& request_id, const std::string& sku,
                      const std::string& location, const std::string& channel, bool fulfil,
                      Wants& w) {
  w.request_ids.insert(request_id);
  w.skus.insert(sku);
  w.channels.insert(channel);
  DeclareSide(sku, At(location, kCommitted), w);
  DeclareSide(sku, fulfil ? System("@customer") : At(location, kSellable), w);
  w.usage.insert({channel, sku, location});
  ++w.movements;
}

}  // namespace

std::optional<int64_t> ChannelCapRemaining(const UsageRow& u, int64_t sellable_on_hand) {
  if (u.quota) return *u.quota - u.held - u.committed;
  if (u.ratio_bp) {
    absl::int128 share = absl::int128(std::max<int64_t>(sellable_on_hand, 0)) * *u.ratio_bp;
    return static_cast<int64_t>(share / 10000) - u.held;
  }
  return std::nullopt;
}

// ----------------------------------------------------------------------------- holds

void Declare(const v1::CreateHoldsRequest& r, Wants& w) {
  w.request_ids.insert(r.request_id());
  w.channels.insert(r.channel());
  for (const v1::HoldLine& line : r.lines()) {
    w.skus.insert(line.sku());
    DeclareSide(line.sku(), At(line.location(), kSellable), w);
    w.usage.insert({r.channel(), line.sku(), line.location()});
    w.safety.insert({line.sku(), line.location()});
    w.new_holds.emplace(line.hold_id(), std::pair(line.sku(), line.location()));
  }
}

absl::StatusOr<v1::CreateHoldsResponse> Decide(const v1::CreateHoldsRequest& r, Draft& d) {
  const absl::Time expires_at = ToMicros(FromProto(r.expires_at()));
  if (expires_at <= d.now()) {
    return InvalidArgument("expires_at", "expires_at must be in the future");
  }
  if (expires_at > d.now() + kMaxHoldLifetime) {
    return InvalidArgument("expires_at", "a hold may last at most 90 days");
  }
  ASSIGN_OR_RETURN(const ChannelRef* channel, d.Channel(r.channel()));
  std::vector<Place> places;  // per line
  for (const v1::HoldLine& line : r.lines()) {
    ASSIGN_OR_RETURN(int64_t item, d.Item(line.sku()));
    ASSIGN_OR_RETURN(int32_t loc, d.Location(line.location()));
    if (!channel->serving.count(loc)) {
      return MakeError(
          absl::StatusCode::kFailedPrecondition, "LOCATION_NOT_IN_CHANNEL",
          absl::StrCat("location ", line.location(), " does not serve channel ", channel->code),
          {{"location", line.location()}, {"channel", channel->code}});
    }
    places.push_back({item, loc});
  }
  for (const v1::HoldLine& line : r.lines()) {
    if (d.HoldIdTaken(line.hold_id())) {
      return MakeError(absl::StatusCode::kAlreadyExists, "HOLD_ID_EXISTS",
                       absl::StrCat("a hold with id \"", line.hold_id(), "\" exists"),
                       {{"hold_id", line.hold_id()}});
    }
  }
  // Demand summed per (item, location) before any check: two lines of one item must not each
  // pass against the same stock.
  std::map<Place, int64_t> demand;
  for (int i = 0; i < r.lines_size(); ++i) demand[places[i]] += r.lines(i).quantity();
  for (const auto& [place, quantity] : demand) {
    const BalanceRow& sellable = d.Balance({place.first, place.second, kSellable});
    int64_t available =
        sellable.on_hand - sellable.held - (channel->respects_safety_stock ? d.Safety(place) : 0);
    const UsageRow& usage = d.Usage({channel->id, place.first, place.second});
    if (auto cap = ChannelCapRemaining(usage, sellable.on_hand)) {
      available = std::min(available, *cap);
    }
    if (quantity > available) {
      return InsufficientStock("units available", d.SkuOf(place.first), d.CodeOf(place.second),
                               quantity, available);
    }
  }
  for (const auto& [place, quantity] : demand) {
    d.MutableBalance({place.first, place.second, kSellable}).held += quantity;
    d.MutableUsage({channel->id, place.first, place.second}).held += quantity;
  }
  v1::CreateHoldsResponse response;
  for (int i = 0; i < r.lines_size(); ++i) {
    const v1::HoldLine& line = r.lines(i);
    HoldRow h;
    h.hold_id = line.hold_id();
    h.item_id = places[i].first;
    h.location_id = places[i].second;
    h.channel_id = channel->id;
    h.sku = line.sku();
    h.location = line.location();
    h.channel = channel->code;
    h.quantity = line.quantity();
    h.state = v1::HOLD_STATE_PENDING;
    h.expires_at = expires_at;
    h.order_ref = r.order_ref();
    h.customer_ref = r.customer_ref();
    h.create_time = ToMicros(d.now());
    v1::Hold* hold = response.add_holds();
    *hold = ToApi(h);
    *d.AddEvent().mutable_hold_created()->mutable_hold() = *hold;
    d.CreateHold(std::move(h));
  }
  return response;
}

void Declare(const v1::PostHoldRequest& r, Wants& w) {
  w.request_ids.insert(r.request_id());
  DeclareHold(r.hold_id(), true, w);
  ++w.movements;
}

absl::StatusOr<v1::PostHoldResponse> Decide(const v1::PostHoldRequest& r, Draft& d) {
  const HoldRow* found = d.Hold(r.hold_id());
  if (found == nullptr) return HoldNotFound(r.hold_id());
  if (found->state != v1::HOLD_STATE_PENDING) {
    const std::string state = v1::HoldState_Name(found->state);
    return MakeError(absl::StatusCode::kFailedPrecondition, "HOLD_NOT_PENDING",
                     absl::StrCat("hold \"", r.hold_id(), "\" is ", state),
                     {{"hold_id", r.hold_id()}, {"state", state}});
  }
  if (found->expires_at <= d.now()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "HOLD_EXPIRED",
                     absl::StrCat("hold \"", r.hold_id(), "\" expired"),
                     {{"hold_id", r.hold_id()}});
  }
  const int64_t quantity = r.quantity() == 0 ? found->quantity : r.quantity();
  if (quantity > found->quantity) {
    return MakeError(absl::StatusCode::kInvalidArgument, "QUANTITY_EXCEEDS_HOLD",
                     absl::StrCat("cannot post ", quantity, " of a hold of ", found->quantity),
                     {{"field", "quantity"}, {"held", std::to_string(found->quantity)}});
  }
  HoldRow& h = d.MutableHold(r.hold_id());
  BalanceRow& sellable = d.MutableBalance({h.item_id, h.location_id, kSellable});
  sellable.held -= h.quantity;
  sellable.on_hand -= quantity;
  d.MutableBalance({h.item_id, h.location_id, kCommitted}).on_hand += quantity;
  UsageRow& usage = d.MutableUsage({h.channel_id, h.item_id, h.location_id});
  usage.held -= h.quantity;
  usage.committed += quantity;
  h.state = v1::HOLD_STATE_POSTED;
  h.posted_quantity = quantity;
  h.end_time = d.now();
  v1::PostHoldResponse response;
  *response.mutable_hold() = ToApi(h);
  *d.AddEvent().mutable_hold_posted()->mutable_hold() = response.hold();
  MovementRow m;
  m.batch_id = r.request_id();
  m.kind = v1::MOVEMENT_KIND_COMMIT;
  m.item_id = h.item_id;
  m.quantity = quantity;
  m.from_location_id = h.location_id;
  m.from_bucket = kSellable;
  m.to_location_id = h.location_id;
  m.to_bucket = kCommitted;
  m.channel_id = h.channel_id;
  m.source_ref = h.order_ref;
  m.occurred_at = d.now();
  m.recorded_at = d.now();
  RecordMovement(d, std::move(m));
  return response;
}

void Declare(const v1::VoidHoldRequest& r, Wants& w) {
  w.request_ids.insert(r.request_id());
  DeclareHold(r.hold_id(), false, w);
}

absl::StatusOr<v1::VoidHoldResponse> Decide(const v1::VoidHoldRequest& r, Draft& d) {
  v1::VoidHoldResponse response;
  ASSIGN_OR_RETURN(*response.mutable_hold(), Release(d, r.hold_id(), v1::HOLD_STATE_VOIDED));
  return response;
}

void Declare(const ExpireHoldsRequest& r, Wants& w) {
  for (const std::string& id : r.hold_ids) DeclareHold(id, false, w);
}

absl::StatusOr<v1::ListHoldsResponse> Decide(const ExpireHoldsRequest& r, Draft& d) {
  v1::ListHoldsResponse expired;
  for (const std::string& id : r.hold_ids) {
    // A hold posted or voided meanwhile (that call won), or not due: left alone.
    auto hold = Release(d, id, v1::HOLD_STATE_EXPIRED);
    if (hold.ok()) *expired.add_holds() = *std::move(hold);
  }
  return expired;
}

// -------------------------------------------------------------------------- movements

void Declare(const v1::ApplyMovementsRequest& r, Wants& w) {
  w.request_ids.insert(r.request_id());
  for (const v1::MovementRequest& m : r.movements()) {
    w.skus.insert(m.sku());
    w.locations.insert(m.location());
    if (!m.channel().empty()) w.channels.insert(m.channel());
    const Route route = RouteOf(m);
    DeclareSide(m.sku(), route.from, w);
    DeclareSide(m.sku(), route.to, w);
    ++w.movements;
  }
}

absl::StatusOr<v1::ApplyMovementsResponse> Decide(const v1::ApplyMovementsRequest& r, Draft& d) {
  // Every reference is resolved before anything moves.
  std::vector<MovementRow> plan;
  for (const v1::MovementRequest& m : r.movements()) {
    MovementRow row;
    ASSIGN_OR_RETURN(row.item_id, d.Item(m.sku()));
    ASSIGN_OR_RETURN(int32_t loc, d.Location(m.location()));
    (void)loc;  // the route names it again
    if (!m.channel().empty()) {
      ASSIGN_OR_RETURN(const ChannelRef* channel, d.Channel(m.channel()));
      row.channel_id = channel->id;
    }
    const Route route = RouteOf(m);
    ASSIGN_OR_RETURN(row.from_location_id, Resolve(d, route.from));
    ASSIGN_OR_RETURN(row.to_location_id, Resolve(d, route.to));
    row.from_bucket = route.from.bucket;
    row.to_bucket = route.to.bucket;
    row.batch_id = r.request_id();
    row.kind = m.kind();
    row.quantity = m.quantity();
    row.source_ref = m.source_ref();
    row.occurred_at = m.has_occurred_at() ? ToMicros(FromProto(m.occurred_at())) : d.now();
    row.recorded_at = d.now();
    if (m.kind() == v1::MOVEMENT_KIND_ORDER_INCOMING) row.expected_at = FromProto(m.expected_at());
    plan.push_back(std::move(row));
  }
  v1::ApplyMovementsResponse response;
  std::set<Place> oversold;
  std::vector<std::pair<Place, std::string>> sellable_taken;  // (account, sku), in request order
  for (size_t i = 0; i < plan.size(); ++i) {
    MovementRow& m = plan[i];
    const v1::MovementRequest& asked = r.movements(static_cast<int>(i));
    if (m.kind == v1::MOVEMENT_KIND_COUNT || m.kind == v1::MOVEMENT_KIND_ADJUST) {
      const int64_t delta =
          m.kind == v1::MOVEMENT_KIND_COUNT
              ? asked.counted_quantity() -
                    d.Balance({m.item_id, m.from_location_id, m.from_bucket}).on_hand
              : asked.quantity();
      if (delta == 0) continue;  // the count matches the books
      if (delta > 0) {
        std::swap(m.from_location_id, m.to_location_id);
        std::swap(m.from_bucket, m.to_bucket);
      }
      m.quantity = delta > 0 ? delta : -delta;
    }
    const BalanceRow& from = d.Balance({m.item_id, m.from_location_id, m.from_bucket});
    const BalanceRow& to = d.Balance({m.item_id, m.to_location_id, m.to_bucket});
    const bool may_go_negative = m.kind == v1::MOVEMENT_KIND_STORE_SALE ||
                                 m.kind == v1::MOVEMENT_KIND_COUNT ||
                                 m.kind == v1::MOVEMENT_KIND_ADJUST;
    if (m.from_bucket != kSystemBucket && !may_go_negative) {
      const int64_t free = from.on_hand - (m.from_bucket == kSellable ? from.held : 0);
      if (free < m.quantity) {
        return InsufficientStock(
            absl::AsciiStrToLower(
                v1::Bucket_Name(static_cast<v1::Bucket>(m.from_bucket)).substr(7)) +
                " units",
            asked.sku(), d.CodeOf(m.from_location_id), m.quantity, free);
      }
    }
    if (from.on_hand - m.quantity < -kMaxBalance || to.on_hand > kMaxBalance - m.quantity) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "BALANCE_LIMIT",
                       absl::StrCat("movement ", i, " would take a balance of ", asked.sku(),
                                    " beyond ", kMaxBalance),
                       {{"sku", asked.sku()}});
    }
    const int64_t available_before = from.on_hand - from.held;
    BalanceRow& source = d.MutableBalance({m.item_id, m.from_location_id, m.from_bucket});
    source.on_hand -= m.quantity;
    d.MutableBalance({m.item_id, m.to_location_id, m.to_bucket}).on_hand += m.quantity;
    if (m.from_bucket == kSellable)
      sellable_taken.push_back({{m.item_id, m.from_location_id}, asked.sku()});
    // An oversold event when availability crosses below zero, once per account and request.
    if (m.from_bucket == kSellable && available_before >= 0 && source.on_hand - source.held < 0 &&
        oversold.insert({m.item_id, m.from_location_id}).second) {
      auto* event = d.AddEvent().mutable_oversold();
      event->set_sku(asked.sku());
      event->set_location(d.CodeOf(m.from_location_id));
      event->set_shortfall(source.on_hand - source.held);
      event->set_source_ref(m.source_ref);
    }
    *response.add_movements() = RecordMovement(d, std::move(m));
  }
  response.set_oversold(!oversold.empty());
  // The shelves taken from that are below zero once the whole request is applied.
  // And those whose shelf no longer covers the units held there for orders.
  std::set<Place> below_zero, short_of_holds;
  for (const auto& [place, sku] : sellable_taken) {
    const BalanceRow& shelf = d.MutableBalance({place.first, place.second, kSellable});
    if (shelf.on_hand < 0 && below_zero.insert(place).second) response.add_below_zero_skus(sku);
    if (shelf.held > 0 && shelf.on_hand < shelf.held && short_of_holds.insert(place).second) {
      response.add_short_of_holds_skus(sku);
    }
  }
  return response;
}

void Declare(const v1::FulfilCommittedRequest& r, Wants& w) {
  DeclareCommitted(r.request_id(), r.sku(), r.location(), r.channel(), true, w);
}

absl::StatusOr<v1::FulfilCommittedResponse> Decide(const v1::FulfilCommittedRequest& r, Draft& d) {
  v1::FulfilCommittedResponse response;
  ASSIGN_OR_RETURN(*response.mutable_movement(),
                   MoveCommitted(d, r.request_id(), r.sku(), r.location(), r.quantity(),
                                 r.channel(), r.order_ref(), true));
  return response;
}

void Declare(const v1::CancelCommittedRequest& r, Wants& w) {
  DeclareCommitted(r.request_id(), r.sku(), r.location(), r.channel(), false, w);
}

absl::StatusOr<v1::CancelCommittedResponse> Decide(const v1::CancelCommittedRequest& r, Draft& d) {
  v1::CancelCommittedResponse response;
  ASSIGN_OR_RETURN(*response.mutable_movement(),
                   MoveCommitted(d, r.request_id(), r.sku(), r.location(), r.quantity(),
                                 r.channel(), r.order_ref(), false));
  return response;
}

// ------------------------------------------------------------- safety stock and caps

void Declare(const v1::SetSafetyStockRequest& r, Wants& w) {
  w.request_ids.insert(r.request_id());
  w.skus.insert(r.sku());
  DeclareSide(r.sku(), At(r.location(), kSellable), w);  // serialises with holds on it
  w.safety.insert({r.sku(), r.location()});
}

absl::StatusOr<v1::SetSafetyStockResponse> Decide(const v1::SetSafetyStockRequest& r, Draft& d) {
  ASSIGN_OR_RETURN(int64_t item, d.Item(r.sku()));
  ASSIGN_OR_RETURN(int32_t loc, d.Location(r.location()));
  d.SetSafety({item, loc}, r.quantity());
  // The sellable balance is written too (unchanged): a batch elsewhere that waited for it then
  // knows the safety stock it read is out of date (storage/queries.h, lock_batch).
  d.MutableBalance({item, loc, kSellable});
  v1::SetSafetyStockResponse response;
  response.set_quantity(r.quantity());
  return response;
}

void Declare(const v1::SetChannelAllocationRequest& r, Wants& w) {
  w.request_ids.insert(r.request_id());
  w.skus.insert(r.sku());
  w.channels.insert(r.channel());
  DeclareSide(r.sku(), At(r.location(), kSellable), w);
  w.usage.insert({r.channel(), r.sku(), r.location()});
}

absl::StatusOr<v1::SetChannelAllocationResponse> Decide(const v1::SetChannelAllocationRequest& r,
                                                        Draft& d) {
  ASSIGN_OR_RETURN(const ChannelRef* channel, d.Channel(r.channel()));
  ASSIGN_OR_RETURN(int64_t item, d.Item(r.sku()));
  ASSIGN_OR_RETURN(int32_t loc, d.Location(r.location()));
  UsageRow& usage = d.MutableUsage({channel->id, item, loc});
  usage.quota.reset();
  usage.ratio_bp.reset();
  if (r.cap_case() == v1::SetChannelAllocationRequest::kQuota) usage.quota = r.quota();
  if (r.cap_case() == v1::SetChannelAllocationRequest::kRatioBasisPoints) {
    usage.ratio_bp = r.ratio_basis_points();
  }
  d.Announce({item, loc});
  return v1::SetChannelAllocationResponse();
}

}  // namespace kura::ledger
