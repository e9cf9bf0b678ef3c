#include "orders.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/log/log.h"
#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"
#include "limited_items.h"
#include "order_queries.h"
#include "pickup.h"
#include "preorders.h"

namespace kura::reservation {
namespace {

using Tx = pqxx::transaction_base;
using queries::kAddFulfilled;
using queries::kCancelledFrom;
using queries::kConversionAttempt;
using queries::kDeleteAllocation;
using queries::kDeleteAllocations;
using queries::kDeleteOrder;
using queries::kEndMove;
using queries::kExistingOrder;
using queries::kExpireDue;
using queries::kFulfilmentOfOrder;
using queries::kFulfilmentResponse;
using queries::kHeldAtShelf;
using queries::kInsertAllocation;
using queries::kInsertFulfilment;
using queries::kInsertLine;
using queries::kInsertOrder;
using queries::kInsertUncountedLine;
using queries::kInsertUnfulfillable;
using queries::kLastPosition;
using queries::kListOrders;
using queries::kLoadAllocations;
using queries::kLoadOrder;
using queries::kLockOrder;
using queries::kMoveHead;
using queries::kMovesCutOff;
using queries::kMovesOfRequest;
using queries::kMoveUnfulfillable;
using queries::kMovingAtShelf;
using queries::kOrderAllocations;
using queries::kOrderId;
using queries::kOrderLines;
using queries::kPreorderHead;
using queries::kPreordersToConvert;
using queries::kReadOrder;
using queries::kRecordMove;
using queries::kSetExpected;
using queries::kSetState;
using queries::kStartCancel;
using queries::kStartConversion;
using queries::kStartMove;
using queries::kStoredFulfilment;

constexpr int kPlacing = 0;         // internal states, beside the OrderState numbers
constexpr int kConfirming = 6;      // holds being posted (shown as pending)
constexpr int kCancelling = 7;      // units being given back (shown as cancelled)
constexpr int kFulfilling = 8;      // units being handed over (shown as confirmed)
constexpr int kPreordered = 9;      // a pre-order waiting for stock (shown as preordered)
constexpr int kConverting = 10;     // a pre-order's holds on received stock being made (preordered)
constexpr int kUnfulfillable = 11;  // accepted by its platform, not covered (unfulfillable)
constexpr int kMoving = 12;         // a pending order's hold being moved off a short shelf
constexpr int kMaxLines = 100;
constexpr int kMaxAllocations = 200;  // the ledger's limit of lines per CreateHolds
constexpr int64_t kMaxLineQuantity = 1'000'000;
// How long a pre-order's holds on received stock may take to be posted.
constexpr absl::Duration kConversionHoldTtl = absl::Minutes(10);

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

// What a placed order's repeats are compared with: its contents (how a refusal is answered, or
// whether it came paid, is not part of them).
std::string RequestBytes(v1::PlaceOrderRequest request) {
  request.set_record_unfulfillable(false);
  request.set_confirm(false);
  return Hex(DeterministicBytes(request));
}

using pg::SqlTime;

absl::Status CheckKey(const std::string& channel, const std::string& external_id) {
  RETURN_IF_ERROR(ValidateCode("channel", channel));
  if (external_id.empty()) {
    return InvalidArgument("external_order_id", "external_order_id is required");
  }
  return ValidateRef("external_order_id", external_id);
}

absl::Status OrderNotFound(const std::string& channel, const std::string& external_id) {
  return MakeError(absl::StatusCode::kNotFound, "ORDER_NOT_FOUND",
                   absl::StrCat("no order \"", external_id, "\" on channel ", channel),
                   {{"channel", channel}, {"external_order_id", external_id}});
}

absl::Status WrongState(const char* reason, const std::string& what) {
  return MakeError(absl::StatusCode::kFailedPrecondition, reason, what);
}

absl::Status OrderExpired(const std::string& channel, const std::string& external_id) {
  return MakeError(absl::StatusCode::kFailedPrecondition, "ORDER_EXPIRED",
                   "the order expired before it was confirmed",
                   {{"channel", channel}, {"external_order_id", external_id}});
}

bool HasReason(const absl::Status& s, absl::string_view reason) { return ErrorReason(s) == reason; }

// A move of the order's hold is under way (seconds at most): the caller retries.
absl::Status OrderMoving() {
  return MakeError(absl::StatusCode::kUnavailable, "ORDER_MOVING",
                   "the order's hold is being moved to another location; retry shortly");
}

}  // namespace

// The order row, locked or not, with its allocations.
struct OrderRow {
  int64_t id = 0;
  int state = 0;
  std::string channel, external_id, customer;
  absl::Time expires_at;
  struct Alloc {
    int position;
    std::string sku, location, hold_id;
    int64_t quantity, fulfilled;
  };
  std::vector<Alloc> allocations;
};

namespace {

std::optional<OrderRow> ReadOrder(Tx& tx, const std::string& channel,
                                  const std::string& external_id, bool lock) {
  auto rows = pg::Exec(tx, lock ? kLockOrder : kReadOrder, channel, external_id);
  if (rows.empty()) return std::nullopt;
  OrderRow o;
  o.id = rows[0][0].as<int64_t>();
  o.state = rows[0][1].as<int>();
  o.channel = channel;
  o.external_id = external_id;
  o.customer = rows[0][2].as<std::string>();
  o.expires_at = absl::FromUnixMicros(rows[0][3].as<int64_t>());
  for (const auto& a : pg::Exec(tx, kOrderAllocations, o.id)) {
    o.allocations.push_back({a[0].as<int>(), a[1].as<std::string>(), a[2].as<std::string>(),
                             a[3].as<std::string>(), a[4].as<int64_t>(), a[5].as<int64_t>()});
  }
  return o;
}

// The order as committed, read without a lock: what a step that calls the ledger works from
// (no transaction is open across the call; the step's result is then recorded under the lock,
// unless another call finished the order meanwhile).
absl::StatusOr<std::optional<OrderRow>> PeekOrder(pg::Database& db, const std::string& channel,
                                                  const std::string& external_id) {
  return pg::ReadEach<std::optional<OrderRow>>(
      db, [&](Tx& tx) -> absl::StatusOr<std::optional<OrderRow>> {
        return ReadOrder(tx, channel, external_id, false);
      });
}

v1::Order LoadOrder(Tx& tx, int64_t order_id) {
  auto r = pg::Exec1(tx, kLoadOrder, order_id);
  v1::Order o;
  o.set_channel(r[0].as<std::string>());
  o.set_external_order_id(r[1].as<std::string>());
  o.set_customer(r[2].as<std::string>());
  o.set_pickup_store(r[3].as<std::string>());
  const int state = r[4].as<int>();
  o.set_state(PublicOrderState(state));
  if (o.state() != v1::ORDER_STATE_PREORDERED && o.state() != v1::ORDER_STATE_UNFULFILLABLE) {
    *o.mutable_expires_at() = MicrosToProto(r[5].as<int64_t>());
  }
  o.set_unfulfillable_reason(r[10].as<std::string>());
  o.set_unfulfillable_detail(r[11].as<std::string>());
  o.set_short_sku(r[12].as<std::string>());
  o.set_preorder(r[8].as<bool>());
  if (!r[9].is_null()) *o.mutable_expected_at() = MicrosToProto(r[9].as<int64_t>());
  *o.mutable_create_time() = MicrosToProto(r[6].as<int64_t>());
  *o.mutable_update_time() = MicrosToProto(r[7].as<int64_t>());
  for (const auto& l : pg::Exec(tx, kOrderLines, order_id)) {
    auto* line = o.add_lines();
    line->set_sku(l[0].as<std::string>());
    line->set_quantity(l[1].as<int64_t>());
  }
  for (const auto& a : pg::Exec(tx, kLoadAllocations, order_id)) {
    auto* alloc = o.add_allocations();
    alloc->set_sku(a[0].as<std::string>());
    alloc->set_location(a[1].as<std::string>());
    alloc->set_quantity(a[2].as<int64_t>());
    alloc->set_fulfilled_quantity(a[3].as<int64_t>());
    alloc->set_hold_id(a[4].as<std::string>());
  }
  return o;
}

// Holds every allocation of an order in the ledger, all or nothing, until the order's expiry.
// Returns false when the ledger refused (a shortage or another refusal in `refusal`); a
// transient failure is returned as the error.
absl::StatusOr<bool> HoldAll(const LedgerClient& ledger, const OrderRow& o,
                             const std::string& request_id, std::optional<absl::Time> deadline,
                             absl::Status* refusal) {
  ledger_v1::CreateHoldsRequest holds;
  holds.set_request_id(request_id);
  holds.set_channel(o.channel);
  holds.set_order_ref(o.external_id);
  holds.set_customer_ref(o.customer);
  *holds.mutable_expires_at() = MicrosToProto(absl::ToUnixMicros(o.expires_at));
  for (const auto& a : o.allocations) {
    auto* line = holds.add_lines();
    line->set_hold_id(a.hold_id);
    line->set_sku(a.sku);
    line->set_location(a.location);
    line->set_quantity(a.quantity);
  }
  auto held =
      ledger.Call(ledger.ledger(), &ledger_v1::LedgerService::Stub::CreateHolds, holds, deadline);
  if (held.ok()) return true;
  const absl::StatusCode code = held.status().code();
  if (code != absl::StatusCode::kFailedPrecondition && code != absl::StatusCode::kInvalidArgument &&
      code != absl::StatusCode::kNotFound) {
    return held.status();
  }
  *refusal = held.status();
  return false;
}

// Posts every hold of an order (each call idempotent). If one had lapsed, takes back those
// posted and returns false: the order then has nothing held or committed. A failed call returns
// its error; repeating resumes.
absl::StatusOr<bool> PostAll(const LedgerClient& ledger, const OrderRow& o,
                             std::optional<absl::Time> deadline) {
  bool expired = false;
  std::vector<const OrderRow::Alloc*> posted;
  for (const auto& a : o.allocations) {
    ledger_v1::PostHoldRequest post;
    post.set_request_id(absl::StrCat("rsv-post-", a.hold_id));
    post.set_hold_id(a.hold_id);
    post.set_quantity(a.quantity);
    auto result =
        ledger.Call(ledger.ledger(), &ledger_v1::LedgerService::Stub::PostHold, post, deadline);
    if (result.ok()) {
      posted.push_back(&a);
    } else if (HasReason(result.status(), "HOLD_EXPIRED") ||
               HasReason(result.status(), "HOLD_NOT_PENDING")) {
      expired = true;
    } else {
      return result.status();
    }
  }
  if (!expired) return true;
  for (const auto* a : posted) {
    ledger_v1::CancelCommittedRequest undo;
    undo.set_request_id(absl::StrCat("rsv-unpost-", a->hold_id));
    undo.set_sku(a->sku);
    undo.set_location(a->location);
    undo.set_quantity(a->quantity);
    undo.set_channel(o.channel);
    undo.set_order_ref(o.external_id);
    RETURN_IF_ERROR(
        ledger
            .Call(ledger.ledger(), &ledger_v1::LedgerService::Stub::CancelCommitted, undo, deadline)
            .status());
  }
  return false;
}

// Releases every hold of an order (each call idempotent; a hold already gone is fine).
absl::Status VoidAll(const LedgerClient& ledger, const OrderRow& o,
                     std::optional<absl::Time> deadline) {
  for (const auto& a : o.allocations) {
    ledger_v1::VoidHoldRequest release;
    release.set_request_id(absl::StrCat("rsv-void-", a.hold_id));
    release.set_hold_id(a.hold_id);
    auto result =
        ledger.Call(ledger.ledger(), &ledger_v1::LedgerService::Stub::VoidHold, release, deadline);
    if (!result.ok() && !HasReason(result.status(), "HOLD_NOT_FOUND") &&
        !HasReason(result.status(), "HOLD_NOT_PENDING") &&
        !HasReason(result.status(), "HOLD_EXPIRED")) {
      return result.status();
    }
  }
  return absl::OkStatus();
}

struct Planned {
  std::string sku, location;
  int64_t quantity;
};

// Sources every line from those locations in their order, splitting a line where one location
// cannot cover it, and leaving `reserved` units per SKU (for waiting pre-orders) unsourced.
absl::StatusOr<std::vector<Planned>> Source(
    const LedgerClient& ledger, const std::string& channel_code, const std::string& pickup_store,
    const google::protobuf::RepeatedPtrField<v1::OrderLine>& lines,
    const std::map<std::string, int64_t>& reserved, std::optional<absl::Time> deadline,
    const std::string& except_location = "") {
  ASSIGN_OR_RETURN(auto locations, ChannelLocations(ledger, channel_code, pickup_store, deadline));
  std::erase(locations, except_location);
  if (locations.empty()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_STOCK",
                     absl::StrCat("no other location serves ", channel_code));
  }
  ledger_v1::GetAvailabilityRequest get_availability;
  for (const auto& line : lines) get_availability.add_skus(line.sku());
  for (const auto& location : locations) get_availability.add_locations(location);
  get_availability.add_channels(channel_code);
  ASSIGN_OR_RETURN(auto availability,
                   ledger.Call(ledger.ledger(), &ledger_v1::LedgerService::Stub::GetAvailability,
                               get_availability, deadline));
  std::map<std::pair<std::string, std::string>, int64_t> atp;
  for (const auto& row : availability.rows()) {
    atp[{row.sku(), row.location()}] = std::max<int64_t>(0, row.available_to_promise());
  }
  std::vector<Planned> plan;
  for (const auto& line : lines) {
    int64_t total = 0;
    for (const auto& location : locations) total += atp[{line.sku(), location}];
    auto held_back = reserved.find(line.sku());
    if (held_back != reserved.end() && held_back->second > 0) total -= held_back->second;
    int64_t remaining = line.quantity();
    for (const auto& location : locations) {
      if (remaining > total) break;
      int64_t take = std::min(remaining, atp[{line.sku(), location}]);
      if (take > 0) plan.push_back({line.sku(), location, take});
      remaining -= take;
    }
    if (remaining > 0) {
      int64_t available = std::max<int64_t>(0, total);
      return MakeError(absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_STOCK",
                       absl::StrCat("only ", available, " of ", line.sku(), " available on ",
                                    channel_code, ", ", line.quantity(), " ordered"),
                       {{"sku", line.sku()},
                        {"requested", std::to_string(line.quantity())},
                        {"available", std::to_string(available)}});
    }
  }
  if (plan.size() > kMaxAllocations) {
    return InvalidArgument("lines", "the order would need more than 200 allocations");
  }
  return plan;
}

void SetState(Tx& tx, int64_t order_id, int state, absl::Time now) {
  pg::Exec(tx, kSetState, order_id, state, SqlTime(now));
}

}  // namespace

// What a stored state shows as.
v1::OrderState PublicOrderState(int state) {
  switch (state) {
    case kPlacing:
    case kConfirming:
      return v1::ORDER_STATE_PENDING;
    case kCancelling:
      return v1::ORDER_STATE_CANCELLED;
    case kFulfilling:
      return v1::ORDER_STATE_CONFIRMED;
    case kPreordered:
    case kConverting:
      return v1::ORDER_STATE_PREORDERED;
    case kUnfulfillable:
      return v1::ORDER_STATE_UNFULFILLABLE;
    case kMoving:
      return v1::ORDER_STATE_PENDING;
    default:
      return static_cast<v1::OrderState>(state);
  }
}

// The locations that serve a channel, in priority order, the pickup store (which must serve the
// channel and take pickups) first.
absl::StatusOr<std::vector<std::string>> ChannelLocations(const LedgerClient& ledger,
                                                          const std::string& channel_code,
                                                          const std::string& pickup_store,
                                                          std::optional<absl::Time> deadline) {
  ASSIGN_OR_RETURN(const ledger_v1::Channel channel, ledger.Channel(channel_code, deadline));
  std::vector<std::string> locations(channel.location_codes().begin(),
                                     channel.location_codes().end());
  if (pickup_store.empty()) return locations;
  ASSIGN_OR_RETURN(auto store, PickupStore(ledger, pickup_store, deadline));
  auto it = std::find(locations.begin(), locations.end(), pickup_store);
  if (it == locations.end()) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "PICKUP_STORE_NOT_IN_CHANNEL",
                     absl::StrCat("store ", pickup_store, " does not serve channel ", channel_code),
                     {{"pickup_store", pickup_store}});
  }
  std::rotate(locations.begin(), it, it + 1);
  return locations;
}

absl::Status CheckOrderLines(const google::protobuf::RepeatedPtrField<v1::OrderLine>& lines,
                             bool required) {
  if (required && lines.empty()) return InvalidArgument("lines", "lines is empty");
  if (lines.size() > kMaxLines) {
    return InvalidArgument("lines", absl::StrCat("at most ", kMaxLines, " lines"));
  }
  std::set<std::string> skus;
  for (int i = 0; i < lines.size(); ++i) {
    std::string at = absl::StrCat("lines[", i, "]");
    RETURN_IF_ERROR(ValidateSku(at + ".sku", lines[i].sku()));
    if (lines[i].quantity() <= 0 || lines[i].quantity() > kMaxLineQuantity) {
      return InvalidArgument(
          at + ".quantity", absl::StrCat(at, ".quantity must be between 1 and ", kMaxLineQuantity));
    }
    if (!skus.insert(lines[i].sku()).second) {
      return InvalidArgument(at + ".sku", "each sku may appear once");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, absl::Duration>> ParseTtlByChannel(const std::string& text) {
  std::map<std::string, absl::Duration> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    absl::Duration d;
    if (!ValidateCode("channel", kv.first).ok() || !absl::ParseDuration(kv.second, &d) ||
        d < absl::Seconds(1) || d > absl::Hours(24 * 90)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", part, "\" is not channel=duration with a duration between 1s and 90 days"));
    }
    out[kv.first] = d;
  }
  return out;
}

// ------------------------------------------------------------------------------ PlaceOrder

absl::StatusOr<v1::PlaceOrderResponse> Orders::Place(const v1::PlaceOrderRequest& request,
                                                     std::optional<absl::Time> deadline) {
  // The refusals that stock or limits decide (not the request's form, nor unknown items).
  static const auto* kNotCovered = new std::set<std::string>{
      "INSUFFICIENT_STOCK", "TOTAL_CAP_REACHED", "PER_CUSTOMER_LIMIT", "SALE_WINDOW_CLOSED"};
  v1::PlaceOrderResponse out;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<v1::Order> placed = PlaceOrRefuse(request, deadline);
    if (placed.ok() && request.confirm() && placed->state() == v1::ORDER_STATE_PENDING) {
      // Placed before (unpaid, or cut off while its holds were posted): confirmed now.
      placed = Confirm(request.channel(), request.external_order_id(), deadline);
    }
    if (placed.ok()) {
      *out.mutable_order() = *std::move(placed);
      return out;
    }
    const std::string reason = ErrorReason(placed.status());
    if (attempt == 1 && (reason == "LOCATION_NOT_IN_CHANNEL" ||
                         (request.record_unfulfillable() && kNotCovered->count(reason)))) {
      // Sourced from the channel's locations as read up to a second ago: before an order is
      // declared unfulfillable (or refused for a location the channel no longer has), it is
      // sourced once more from the channel as it stands.
      ledger_.ForgetChannel(request.channel());
      continue;
    }
    if (!request.record_unfulfillable() || request.preorder() || !kNotCovered->count(reason)) {
      return placed.status();
    }
    // Kept as unfulfillable, with what refused it; a repeat gets it back (the stored request
    // is the same), other contents under the same id are refused as for any order.
    const absl::Status refusal = placed.status();
    const auto metadata = ErrorMetadata(refusal);
    const auto sku = metadata.find("sku");
    const absl::Time now = clock_.Now();
    auto recorded = db_.Run<std::optional<v1::Order>>([&](pqxx::connection& c) {
      return pg::RunInTransaction<std::optional<v1::Order>>(
          c, {.deadline = deadline}, [&](Tx& tx) -> absl::StatusOr<std::optional<v1::Order>> {
            auto row = pg::Exec(tx, kInsertUnfulfillable, request.channel(),
                                request.external_order_id(), request.customer(),
                                request.pickup_store(), kUnfulfillable, RequestBytes(request),
                                SqlTime(now), ErrorReason(refusal), std::string(refusal.message()),
                                sku == metadata.end() ? std::string() : sku->second);
            if (row.empty()) return std::nullopt;  // placed concurrently: look again
            const int64_t id = row[0][0].as<int64_t>();
            for (int i = 0; i < request.lines_size(); ++i) {
              pg::Exec(tx, kInsertUncountedLine, id, i, request.lines(i).sku(),
                       request.lines(i).quantity());
            }
            return LoadOrder(tx, id);
          });
    });
    if (!recorded.ok()) return recorded.status();
    if (*recorded) {
      log::Info("order recorded as unfulfillable", {{"channel", request.channel()},
                                                    {"order", request.external_order_id()},
                                                    {"reason", ErrorReason(refusal)}});
      *out.mutable_order() = **recorded;
      out.set_newly_unfulfillable(true);
      return out;
    }
    if (attempt >= 3) return refusal;
  }
}

absl::StatusOr<v1::Order> Orders::PlaceOrRefuse(const v1::PlaceOrderRequest& request,
                                                std::optional<absl::Time> deadline) {
  RETURN_IF_ERROR(CheckKey(request.channel(), request.external_order_id()));
  RETURN_IF_ERROR(ValidateRef("customer", request.customer()));
  RETURN_IF_ERROR(CheckOrderLines(request.lines(), true));
  if (!request.pickup_store().empty()) {
    RETURN_IF_ERROR(ValidateCode("pickup_store", request.pickup_store()));
  }
  const std::string bytes = RequestBytes(request);
  const pg::TransactionOptions tx_options{.deadline = deadline};

  for (int attempt = 1;; ++attempt) {
    // A repeat of a placed order gets it back; other contents under the same id are refused.
    auto existing = db_.Run<std::optional<std::pair<int64_t, bool>>>([&](pqxx::connection& c) {
      return pg::RunInTransaction<std::optional<std::pair<int64_t, bool>>>(
          c, tx_options, [&](Tx& tx) -> absl::StatusOr<std::optional<std::pair<int64_t, bool>>> {
            auto rows =
                pg::Exec(tx, kExistingOrder, request.channel(), request.external_order_id(), bytes);
            if (rows.empty()) return std::nullopt;
            return std::make_pair(rows[0][0].as<int64_t>(), rows[0][1].as<bool>());
          });
    });
    if (!existing.ok()) return existing.status();
    if (*existing && !(*existing)->second) {
      return MakeError(
          absl::StatusCode::kAlreadyExists, "ORDER_EXISTS",
          absl::StrCat("order \"", request.external_order_id(), "\" on channel ", request.channel(),
                       " was placed with other contents"),
          {{"channel", request.channel()}, {"external_order_id", request.external_order_id()}});
    }

    if (!*existing) {
      // An order is sourced now; a pre-order is counted against the incoming stock.
      std::vector<Planned> plan;
      std::map<std::string, IncomingLots> incoming;
      std::vector<std::string> skus;
      for (const auto& line : request.lines()) skus.push_back(line.sku());
      if (request.preorder()) {
        // Counted against what is incoming where the channel's orders are sourced.
        ASSIGN_OR_RETURN(auto locations, ChannelLocations(ledger_, request.channel(),
                                                          request.pickup_store(), deadline));
        ASSIGN_OR_RETURN(incoming, FetchIncoming(ledger_, skus, locations, deadline));
      } else {
        // Waiting pre-orders beyond what is still incoming are owed received stock: it is
        // theirs until they are converted.
        using Reserved = std::map<std::string, int64_t>;
        auto waiting = db_.Run<Reserved>([&](pqxx::connection& c) -> absl::StatusOr<Reserved> {
          pqxx::nontransaction tx(c);
          return WaitingPreorders(tx, skus);
        });
        if (!waiting.ok()) return waiting.status();
        Reserved reserved = *waiting;
        if (!reserved.empty()) {
          std::vector<std::string> preordered;
          for (const auto& [sku, _] : reserved) preordered.push_back(sku);
          ASSIGN_OR_RETURN(auto still_incoming, FetchIncoming(ledger_, preordered, {}, deadline));
          for (auto& [sku, units] : reserved) units -= TotalUnits(still_incoming[sku]);
        }
        ASSIGN_OR_RETURN(plan, Source(ledger_, request.channel(), request.pickup_store(),
                                      request.lines(), reserved, deadline));
      }
      const absl::Time now = clock_.Now();
      auto inserted = db_.Run<bool>([&](pqxx::connection& c) {
        return pg::RunInTransaction<bool>(c, tx_options, [&](Tx& tx) -> absl::StatusOr<bool> {
          auto row = pg::Exec(tx, kInsertOrder, request.channel(), request.external_order_id(),
                              request.customer(), request.pickup_store(), bytes,
                              SqlTime(now + ttl_.For(request.channel())), SqlTime(now),
                              request.preorder() ? kPreordered : kPlacing, request.preorder());
          if (row.empty()) return false;  // placed concurrently: read it on the next turn
          int64_t id = row[0][0].as<int64_t>();
          ASSIGN_OR_RETURN(auto counted, CountLimits(tx, request.customer(), request.lines(), now));
          for (int i = 0; i < request.lines_size(); ++i) {
            auto it = counted.find(request.lines(i).sku());
            pg::Exec(tx, kInsertLine, id, i, request.lines(i).sku(), request.lines(i).quantity(),
                     it != counted.end(), it != counted.end() ? it->second : 0);
          }
          if (request.preorder()) {
            ASSIGN_OR_RETURN(auto expected, CountPreorders(tx, request.lines(), incoming));
            if (expected) {
              pg::Exec(tx, kSetExpected, id, SqlTime(*expected));
            }
          }
          for (size_t i = 0; i < plan.size(); ++i) {
            pg::Exec(tx, kInsertAllocation, id, static_cast<int>(i), plan[i].sku, plan[i].location,
                     plan[i].quantity, absl::StrCat("rsv-", id, "-", i));
          }
          return true;
        });
      });
      if (!inserted.ok()) return inserted.status();
      if (!*inserted) continue;
    }

    // Hold the allocations in the ledger, all or nothing, with no transaction open (the call is
    // idempotent: a retry, or a concurrent repeat, resumes it); then record the result.
    bool stale = false;          // the allocation no longer fits (stock moved, or the order lapsed)
    bool final_refusal = false;  // the ledger refused for a reason a new allocation cannot fix
    absl::Status stale_reason;
    ASSIGN_OR_RETURN(std::optional<OrderRow> seen,
                     PeekOrder(db_, request.channel(), request.external_order_id()));
    std::optional<bool> held;
    bool orphaned = false;    // held for an order a concurrent attempt dropped
    bool confirming = false;  // held, and (request.confirm) to be posted now
    if (seen && seen->state == kPlacing && seen->expires_at > clock_.Now()) {
      // A transient failure leaves the placing order; a retry resumes.
      ASSIGN_OR_RETURN(held, HoldAll(ledger_, *seen, absl::StrCat("rsv-place-", seen->id), deadline,
                                     &stale_reason));
    }
    auto placed = db_.Run<v1::Order>([&](pqxx::connection& c) {
      return pg::RunInTransaction<v1::Order>(
          c, tx_options, [&](Tx& tx) -> absl::StatusOr<v1::Order> {
            stale = false;
            final_refusal = false;
            confirming = false;
            auto o = ReadOrder(tx, request.channel(), request.external_order_id(), true);
            orphaned = false;
            if (!o || !seen || o->id != seen->id) {
              // Dropped, or dropped and placed again, by a concurrent attempt: look again. What
              // this attempt held for the dropped order is released (below).
              stale = true;
              orphaned = held.has_value() && *held;
              stale_reason = absl::AbortedError("the order was dropped concurrently; retry");
              return v1::Order();
            }
            if (o->state != kPlacing) return LoadOrder(tx, o->id);
            if (o->expires_at <= clock_.Now()) {
              stale = true;
              stale_reason = WrongState("ORDER_EXPIRED", "the order lapsed while being placed");
            } else if (!held || !*held) {
              // The ledger refused: drop the order (and its counts). A shortage is retried
              // with a fresh allocation; any other refusal is the answer.
              stale = true;
              if (!HasReason(stale_reason, "INSUFFICIENT_STOCK")) final_refusal = true;
            }
            if (stale) {
              // Nothing is held (or what was lapses with the order): drop the attempt so that
              // the next one allocates afresh.
              ReleaseLimits(tx, o->id);
              pg::Exec(tx, kDeleteOrder, o->id);
              return v1::Order();
            }
            if (request.confirm()) {  // paid already: its holds are posted next
              SetState(tx, o->id, kConfirming, clock_.Now());
              confirming = true;
              return v1::Order();
            }
            SetState(tx, o->id, v1::ORDER_STATE_PENDING, clock_.Now());
            return LoadOrder(tx, o->id);
          });
    });
    if (!placed.ok()) return placed.status();
    if (orphaned) RETURN_IF_ERROR(VoidAll(ledger_, *seen, deadline));
    if (confirming) {
      seen->state = kConfirming;
      return FinishConfirm(*seen, deadline);
    }
    if (!stale) return placed;
    // Stock keeps moving under us: report the shortage after three allocations.
    if (final_refusal || attempt >= 3) return stale_reason;
  }
}

// ------------------------------------------------------------------ Confirm, Fulfil, Cancel

// Confirm and Cancel make several ledger calls. They first commit an intent state
// (confirming, cancelling) and then make the calls, each idempotent. A call that fails leaves
// the intent in place, and the next Confirm or Cancel resumes it. Neither the sweeper nor any
// other call acts on an order in an intent state.
absl::StatusOr<v1::Order> Orders::Confirm(const std::string& channel,
                                          const std::string& external_id,
                                          std::optional<absl::Time> deadline) {
  RETURN_IF_ERROR(CheckKey(channel, external_id));
  const pg::TransactionOptions options{.deadline = deadline};
  // 1. Check the state and record the intent.
  absl::Status outcome;  // an answer that follows a committed state change
  bool resume = false;
  auto checked = db_.Run<v1::Order>([&](pqxx::connection& c) {
    return pg::RunInTransaction<v1::Order>(c, options, [&](Tx& tx) -> absl::StatusOr<v1::Order> {
      outcome = absl::OkStatus();
      resume = false;
      auto o = ReadOrder(tx, channel, external_id, true);
      if (!o) return OrderNotFound(channel, external_id);
      switch (o->state) {
        case kPlacing:
          return WrongState("ORDER_PLACING", "the order is still being placed");
        case kPreordered:
        case kConverting:
          return WrongState(
              "ORDER_PREORDERED",
              "the pre-order waits for stock; it is confirmed when the stock arrives");
        case v1::ORDER_STATE_CANCELLED:
        case kCancelling:
          return WrongState("ORDER_CANCELLED", "the order was cancelled");
        case kUnfulfillable:
          return WrongState("ORDER_UNFULFILLABLE",
                            "the stock could not cover the order when it was placed");
        case v1::ORDER_STATE_EXPIRED:
          return WrongState("ORDER_EXPIRED", "the order expired before it was confirmed");
        case kMoving:
          return OrderMoving();
        case v1::ORDER_STATE_CONFIRMED:
        case kFulfilling:
        case v1::ORDER_STATE_FULFILLED:
          return LoadOrder(tx, o->id);  // already confirmed: the same answer again
        case v1::ORDER_STATE_PENDING:
          if (o->expires_at <= clock_.Now()) {
            ReleaseLimits(tx, o->id);
            SetState(tx, o->id, v1::ORDER_STATE_EXPIRED, clock_.Now());
            outcome = OrderExpired(channel, external_id);
            return LoadOrder(tx, o->id);
          }
          SetState(tx, o->id, kConfirming, clock_.Now());
          break;
        default:  // confirming: resume
          break;
      }
      resume = true;
      return v1::Order();
    });
  });
  if (!checked.ok()) return checked.status();
  if (!outcome.ok()) return outcome;
  if (!resume) return checked;
  ASSIGN_OR_RETURN(std::optional<OrderRow> seen, PeekOrder(db_, channel, external_id));
  if (!seen) return OrderNotFound(channel, external_id);
  return FinishConfirm(*seen, deadline);
}

// 2. Post every hold (no transaction open; each call idempotent, so a failure leaves the
// intent and a retry resumes); if one lapsed first, those posted are taken back and the expiry
// is reported. Then the result is recorded, unless another call finished the order meanwhile.
absl::StatusOr<v1::Order> Orders::FinishConfirm(const OrderRow& order_seen,
                                                std::optional<absl::Time> deadline) {
  const pg::TransactionOptions options{.deadline = deadline};
  const std::string& channel = order_seen.channel;
  const std::string& external_id = order_seen.external_id;
  const OrderRow* seen = &order_seen;
  absl::Status outcome;
  std::optional<bool> all_posted;
  if (seen->state == kConfirming) {
    ASSIGN_OR_RETURN(all_posted, PostAll(ledger_, *seen, deadline));
  }
  auto order = db_.Run<v1::Order>([&](pqxx::connection& c) {
    return pg::RunInTransaction<v1::Order>(c, options, [&](Tx& tx) -> absl::StatusOr<v1::Order> {
      outcome = absl::OkStatus();
      auto o = ReadOrder(tx, channel, external_id, true);
      if (!o) return OrderNotFound(channel, external_id);
      if (o->state != kConfirming || !all_posted) return LoadOrder(tx, o->id);  // finished
      if (*all_posted) {
        SetState(tx, o->id, v1::ORDER_STATE_CONFIRMED, clock_.Now());
        return LoadOrder(tx, o->id);
      }
      ReleaseLimits(tx, o->id);
      SetState(tx, o->id, v1::ORDER_STATE_EXPIRED, clock_.Now());
      outcome = OrderExpired(channel, external_id);
      return LoadOrder(tx, o->id);
    });
  });
  if (!order.ok()) return order.status();
  if (!outcome.ok()) return outcome;
  return order;
}

absl::StatusOr<v1::Order> Orders::Cancel(const std::string& channel, const std::string& external_id,
                                         std::optional<absl::Time> deadline) {
  RETURN_IF_ERROR(CheckKey(channel, external_id));
  const pg::TransactionOptions options{.deadline = deadline};
  // 1. Check the state and record the intent, with the state it leaves.
  bool resume = false;
  auto checked = db_.Run<v1::Order>([&](pqxx::connection& c) {
    return pg::RunInTransaction<v1::Order>(c, options, [&](Tx& tx) -> absl::StatusOr<v1::Order> {
      resume = false;
      auto o = ReadOrder(tx, channel, external_id, true);
      if (!o) return OrderNotFound(channel, external_id);
      switch (o->state) {
        case v1::ORDER_STATE_CANCELLED:
          return LoadOrder(tx, o->id);
        case v1::ORDER_STATE_EXPIRED:
          return WrongState("ORDER_EXPIRED", "the order expired; nothing is held for it");
        case v1::ORDER_STATE_FULFILLED:
          return WrongState("ORDER_FULFILLED", "every unit of the order was handed over");
        case kConfirming:
          return WrongState("ORDER_CONFIRMING",
                            "a confirmation is unfinished: repeat ConfirmOrder, then cancel");
        case kFulfilling:
          return WrongState("ORDER_FULFILLING",
                            "a hand-over is unfinished: repeat FulfilOrder, then cancel");
        case kConverting:
          return WrongState("ORDER_CONVERTING",
                            "the pre-order is being moved onto received stock; cancel it after");
        case kMoving:
          return OrderMoving();
        case kUnfulfillable:  // holds and counts nothing
          SetState(tx, o->id, v1::ORDER_STATE_CANCELLED, clock_.Now());
          return LoadOrder(tx, o->id);
        case kPreordered:  // holds nothing: give back its counts
          ReleaseLimits(tx, o->id);
          ReleasePreorders(tx, o->id);
          SetState(tx, o->id, v1::ORDER_STATE_CANCELLED, clock_.Now());
          return LoadOrder(tx, o->id);
        case kCancelling:
          break;  // resume
        default:  // placing, pending, confirmed
          pg::Exec(tx, kStartCancel, o->id, kCancelling, SqlTime(clock_.Now()));
      }
      resume = true;
      return v1::Order();
    });
  });
  if (!checked.ok() || !resume) return checked;

  // 2. Give the units back: committed ones to sellable, held ones released (no transaction
  // open; each call idempotent, so a failure leaves the intent and repeating resumes). Then the
  // result is recorded, unless another call finished the cancellation meanwhile.
  ASSIGN_OR_RETURN(std::optional<OrderRow> seen, PeekOrder(db_, channel, external_id));
  if (!seen) return OrderNotFound(channel, external_id);
  if (seen->state == kCancelling) {
    ASSIGN_OR_RETURN(const int from, pg::ReadEach<int>(db_, [&](Tx& tx) -> absl::StatusOr<int> {
                       return pg::Exec1(tx, kCancelledFrom, seen->id)[0].as<int>();
                     }));
    if (from != v1::ORDER_STATE_CONFIRMED) {
      RETURN_IF_ERROR(VoidAll(ledger_, *seen, deadline));  // the intent stays; a retry resumes
    }
    for (const auto& a : seen->allocations) {
      if (from != v1::ORDER_STATE_CONFIRMED || a.quantity == a.fulfilled) continue;
      ledger_v1::CancelCommittedRequest cancel;
      cancel.set_request_id(absl::StrCat("rsv-cancel-", a.hold_id));
      cancel.set_sku(a.sku);
      cancel.set_location(a.location);
      cancel.set_quantity(a.quantity - a.fulfilled);
      cancel.set_channel(channel);
      cancel.set_order_ref(external_id);
      RETURN_IF_ERROR(ledger_
                          .Call(ledger_.ledger(), &ledger_v1::LedgerService::Stub::CancelCommitted,
                                cancel, deadline)
                          .status());
    }
  }
  return db_.Run<v1::Order>([&](pqxx::connection& c) {
    return pg::RunInTransaction<v1::Order>(c, options, [&](Tx& tx) -> absl::StatusOr<v1::Order> {
      auto o = ReadOrder(tx, channel, external_id, true);
      if (!o) return OrderNotFound(channel, external_id);
      if (o->state != kCancelling || seen->state != kCancelling) {
        return LoadOrder(tx, o->id);  // finished meanwhile
      }
      ReleaseLimits(tx, o->id);
      SetState(tx, o->id, v1::ORDER_STATE_CANCELLED, clock_.Now());
      return LoadOrder(tx, o->id);
    });
  });
}

absl::StatusOr<v1::Order> Orders::Fulfil(const v1::FulfilOrderRequest& request,
                                         std::optional<absl::Time> deadline) {
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  RETURN_IF_ERROR(CheckKey(request.channel(), request.external_order_id()));
  RETURN_IF_ERROR(CheckOrderLines(request.lines(), false));
  const std::string bytes = Hex(DeterministicBytes(request));
  const pg::TransactionOptions options{.deadline = deadline};
  // What to hand over from each allocation: the lines asked for, or all that is left.
  auto plan = [&](const OrderRow& o) -> absl::StatusOr<std::vector<std::pair<int, int64_t>>> {
    std::map<std::string, int64_t> wanted;
    for (const auto& line : request.lines()) wanted[line.sku()] = line.quantity();
    if (request.lines().empty()) {
      for (const auto& a : o.allocations) wanted[a.sku] += a.quantity - a.fulfilled;
    }
    for (const auto& [sku, quantity] : wanted) {
      int64_t left = 0;
      for (const auto& a : o.allocations) {
        if (a.sku == sku) left += a.quantity - a.fulfilled;
      }
      if (quantity > left) {
        return MakeError(
            absl::StatusCode::kFailedPrecondition, "EXCEEDS_ORDER",
            absl::StrCat(quantity, " of ", sku, " asked for, ", left, " left to hand over"),
            {{"sku", sku}});
      }
    }
    std::vector<std::pair<int, int64_t>> takes;  // (allocation index, units)
    for (size_t i = 0; i < o.allocations.size(); ++i) {
      const auto& a = o.allocations[i];
      int64_t take = std::min(wanted[a.sku], a.quantity - a.fulfilled);
      if (take == 0) continue;
      wanted[a.sku] -= take;
      takes.push_back({static_cast<int>(i), take});
    }
    return takes;
  };
  // The answer of a hand-over already made under this request id, if any.
  auto stored = [&](Tx& tx) -> std::optional<absl::StatusOr<v1::Order>> {
    auto done = pg::Exec(tx, kStoredFulfilment, request.request_id(), bytes);
    if (done.empty()) return std::nullopt;
    if (!done[0][0].as<bool>()) {
      return absl::StatusOr<v1::Order>(IdempotencyKeyReused(request.request_id()));
    }
    if (done[0][1].is_null()) return std::nullopt;  // recorded, unfinished
    v1::Order order;
    order.ParseFromString(absl::HexStringToBytes(done[0][1].as<std::string>()));
    return absl::StatusOr<v1::Order>(order);
  };

  // 1. Check, and record the hand-over with the order's intent state before any ledger call.
  bool resume = false;
  auto checked = db_.Run<v1::Order>([&](pqxx::connection& c) {
    return pg::RunInTransaction<v1::Order>(c, options, [&](Tx& tx) -> absl::StatusOr<v1::Order> {
      resume = false;
      auto o = ReadOrder(tx, request.channel(), request.external_order_id(), true);
      if (!o) return OrderNotFound(request.channel(), request.external_order_id());
      if (auto answer = stored(tx)) return *answer;
      if (o->state == kFulfilling) {
        auto mine = pg::Exec(tx, kFulfilmentOfOrder, request.request_id(), o->id);
        if (mine.empty()) {
          return WrongState("ORDER_FULFILLING", "another hand-over is unfinished: repeat it first");
        }
        resume = true;
        return v1::Order();
      }
      if (o->state != v1::ORDER_STATE_CONFIRMED) {
        return WrongState("ORDER_NOT_CONFIRMED", "only a confirmed order can be fulfilled");
      }
      RETURN_IF_ERROR(plan(*o).status());
      auto recorded = pg::Exec(tx, kInsertFulfilment, request.request_id(), o->id, bytes);
      if (recorded.empty()) {  // the same id recorded concurrently: look again
        return MakeError(absl::StatusCode::kAborted, "TRANSACTION_CONFLICT",
                         "request_id recorded concurrently");
      }
      SetState(tx, o->id, kFulfilling, clock_.Now());
      resume = true;
      return v1::Order();
    });
  });
  if (!checked.ok() || !resume) return checked;

  // 2. Hand over in the ledger (no transaction open; each call idempotent, so a failure leaves
  // the intent and repeating resumes), then record the result under the order's lock.
  ASSIGN_OR_RETURN(std::optional<OrderRow> seen,
                   PeekOrder(db_, request.channel(), request.external_order_id()));
  if (!seen) return OrderNotFound(request.channel(), request.external_order_id());
  std::vector<std::pair<int, int64_t>> takes;
  if (seen->state == kFulfilling) {
    ASSIGN_OR_RETURN(takes, plan(*seen));
    for (const auto& [index, take] : takes) {
      const auto& a = seen->allocations[index];
      ledger_v1::FulfilCommittedRequest fulfil;
      fulfil.set_request_id(
          absl::StrCat("rsv-ful-", a.hold_id, "-", RequestDigest(request.request_id())));
      fulfil.set_sku(a.sku);
      fulfil.set_location(a.location);
      fulfil.set_quantity(take);
      fulfil.set_channel(request.channel());
      fulfil.set_order_ref(request.external_order_id());
      RETURN_IF_ERROR(ledger_
                          .Call(ledger_.ledger(), &ledger_v1::LedgerService::Stub::FulfilCommitted,
                                fulfil, deadline)
                          .status());
    }
  }
  return db_.Run<v1::Order>([&](pqxx::connection& c) {
    return pg::RunInTransaction<v1::Order>(c, options, [&](Tx& tx) -> absl::StatusOr<v1::Order> {
      auto o = ReadOrder(tx, request.channel(), request.external_order_id(), true);
      if (!o) return OrderNotFound(request.channel(), request.external_order_id());
      if (auto answer = stored(tx)) return *answer;  // finished meanwhile
      ASSIGN_OR_RETURN(auto locked, plan(*o));
      if (o->state != kFulfilling || seen->state != kFulfilling || locked != takes) {
        return MakeError(absl::StatusCode::kAborted, "ORDER_FULFILLING",
                         "the hand-over changed while the ledger was called: repeat it");
      }
      for (const auto& [index, take] : takes) {
        auto& a = o->allocations[index];
        pg::Exec(tx, kAddFulfilled, o->id, a.position, take);
        a.fulfilled += take;
      }
      bool all = std::all_of(o->allocations.begin(), o->allocations.end(),
                             [](const auto& a) { return a.fulfilled == a.quantity; });
      SetState(tx, o->id, all ? v1::ORDER_STATE_FULFILLED : v1::ORDER_STATE_CONFIRMED,
               clock_.Now());
      v1::Order result = LoadOrder(tx, o->id);
      pg::Exec(tx, kFulfilmentResponse, request.request_id(), Hex(result.SerializeAsString()));
      return result;
    });
  });
}

// ---------------------------------------------------------------------------- Get, List

absl::StatusOr<v1::Order> Orders::Get(const std::string& channel, const std::string& external_id) {
  RETURN_IF_ERROR(CheckKey(channel, external_id));
  return db_.Run<v1::Order>([&](pqxx::connection& c) {
    return pg::RunInTransaction<v1::Order>(
        c, {.isolation = pg::Isolation::kRepeatableRead}, [&](Tx& tx) -> absl::StatusOr<v1::Order> {
          auto row = pg::Exec(tx, kOrderId, channel, external_id);
          if (row.empty()) return OrderNotFound(channel, external_id);
          return LoadOrder(tx, row[0][0].as<int64_t>());
        });
  });
}

absl::StatusOr<v1::ListOrdersResponse> Orders::List(const v1::ListOrdersRequest& request) {
  if (request.page_size() < 0 || request.page_size() > 500) {
    return InvalidArgument("page_size", "page_size must be between 0 and 500");
  }
  int64_t before = INT64_MAX;
  if (!request.page_token().empty() && (!absl::SimpleAtoi(request.page_token(), &before))) {
    return InvalidArgument("page_token", "page_token is not one this service gave out");
  }
  if (!request.channel().empty()) RETURN_IF_ERROR(ValidateCode("channel", request.channel()));
  RETURN_IF_ERROR(ValidateRef("customer", request.customer()));
  if (!request.pickup_store().empty()) {
    RETURN_IF_ERROR(ValidateCode("pickup_store", request.pickup_store()));
  }
  if (!v1::OrderState_IsValid(request.state())) {
    return InvalidArgument("state", "state is not an OrderState");
  }
  const int limit = request.page_size() == 0 ? 100 : request.page_size();
  return db_.Run<v1::ListOrdersResponse>([&](pqxx::connection& c) {
    return pg::RunInTransaction<v1::ListOrdersResponse>(
        c, {.isolation = pg::Isolation::kRepeatableRead},
        [&](Tx& tx) -> absl::StatusOr<v1::ListOrdersResponse> {
          std::vector<int> states;  // the stored states that show as the one asked for
          for (int state = kPlacing; state <= kMoving; ++state) {
            if (PublicOrderState(state) == request.state()) states.push_back(state);
          }
          auto rows = pg::Exec(tx, kListOrders, before, request.channel(), request.customer(),
                               request.state() == v1::ORDER_STATE_UNSPECIFIED, limit + 1,
                               pg::SqlNumberArray(states), request.pickup_store());
          v1::ListOrdersResponse out;
          for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
            *out.add_orders() = LoadOrder(tx, rows[i][0].as<int64_t>());
          }
          if (static_cast<int>(rows.size()) > limit) {
            out.set_next_page_token(std::to_string(rows[limit - 1][0].as<int64_t>()));
          }
          return out;
        });
  });
}

// ------------------------------------------------------------------------- ResourceHolds

// A register sold units held for pending orders (goods in hand are a fact). For each item short
// at the location, the holds of the newest pending orders there are moved until the shelf covers
// the rest. Each move is claim → call → record: (1) under the order's lock, the intent state
// moving with the hold being replaced and the new allocations (hold ids of the order's attempt);
// (2) the new holds made and the old one released, no transaction open; (3) the result recorded
// if the attempt is still current. When no other location has the units, every hold of the
// order is released and it becomes UNFULFILLABLE (HELD_UNITS_SOLD).
absl::StatusOr<v1::ResourceHoldsResponse> Orders::ResourceHolds(
    const v1::ResourceHoldsRequest& request, std::optional<absl::Time> deadline) {
  RETURN_IF_ERROR(ValidateRef("request_id", request.request_id()));
  if (request.request_id().empty()) return InvalidArgument("request_id", "request_id is required");
  RETURN_IF_ERROR(ValidateCode("location", request.location()));
  if (request.skus().empty() || request.skus_size() > 100) {
    return InvalidArgument("skus", "skus takes 1 to 100 items");
  }
  for (int i = 0; i < request.skus_size(); ++i) {
    RETURN_IF_ERROR(ValidateSku(absl::StrCat("skus[", i, "]"), request.skus(i)));
  }
  for (const auto& sku : std::set<std::string>(request.skus().begin(), request.skus().end())) {
    // The shelf as it stands now (a move for an earlier item may have released holds here).
    ledger_v1::GetAvailabilityRequest shelf;
    shelf.add_locations(request.location());
    shelf.add_skus(sku);
    ASSIGN_OR_RETURN(
        auto rows, ledger_.Call(ledger_.ledger(), &ledger_v1::LedgerService::Stub::GetAvailability,
                                shelf, deadline));
    if (rows.rows().empty()) continue;
    const auto& row = rows.rows(0);
    int64_t short_by = row.held() - std::max<int64_t>(0, row.sellable());
    // Holds being moved off this shelf by another call (or cut off, for the sweeper) leave it.
    ASSIGN_OR_RETURN(
        int64_t moving, pg::ReadEach<int64_t>(db_, [&](Tx& tx) {
          return pg::Exec1(tx, kMovingAtShelf, request.location(), sku)[0].as<int64_t>();
        }));
    short_by -= moving;
    if (short_by <= 0) continue;
    struct Held {
      int64_t order_id;
      int64_t quantity;
      std::string hold_id;
    };
    ASSIGN_OR_RETURN(
        auto held, pg::ReadEach<std::vector<Held>>(db_, [&](Tx& tx) {
          std::vector<Held> found;
          for (const auto& r : pg::Exec(tx, kHeldAtShelf, request.location(), row.sku(), 100)) {
            found.push_back({r[0].as<int64_t>(), r[2].as<int64_t>(), r[3].as<std::string>()});
          }
          return found;
        }));
    for (const Held& h : held) {
      if (short_by <= 0) break;
      ASSIGN_OR_RETURN(bool moved, MoveHold(request.request_id(), h.order_id, h.hold_id,
                                            request.location(), row.sku(), h.quantity, deadline));
      // Moved by this call, or no longer held here at all (moved by another call, cancelled,
      // expired): either way the shelf is short of that much less.
      (void)moved;
      short_by -= h.quantity;
    }
  }
  return pg::ReadEach<v1::ResourceHoldsResponse>(db_, [&](Tx& tx) {
    v1::ResourceHoldsResponse out;
    for (const auto& r : pg::Exec(tx, kMovesOfRequest, request.request_id())) {
      auto* m = out.add_moved();
      m->set_channel(r[0].as<std::string>());
      m->set_external_order_id(r[1].as<std::string>());
      m->set_sku(r[2].as<std::string>());
      m->set_quantity(r[3].as<int64_t>());
      for (absl::string_view to : absl::StrSplit(r[4].as<std::string>(), ',', absl::SkipEmpty())) {
        m->add_to_locations(std::string(to));
      }
    }
    return out;
  });
}

absl::StatusOr<bool> Orders::MoveHold(const std::string& request_id, int64_t order_id,
                                      const std::string& hold_id, const std::string& location,
                                      const std::string& sku, int64_t quantity,
                                      std::optional<absl::Time> deadline) {
  using Head = std::pair<std::string, std::string>;  // channel, pickup store
  ASSIGN_OR_RETURN(Head head, pg::ReadEach<Head>(db_, [&](Tx& tx) {
                     auto r = pg::Exec1(tx, kMoveHead, order_id);
                     return Head(r[0].as<std::string>(), r[5].as<std::string>());
                   }));
  const auto& [channel, pickup_store] = head;
  // Where else the channel has the units; none: the order cannot be covered.
  google::protobuf::RepeatedPtrField<v1::OrderLine> line;
  line.Add()->set_sku(sku);
  line.Mutable(0)->set_quantity(quantity);
  std::vector<Planned> plan;
  auto planned = Source(ledger_, channel, pickup_store, line, {}, deadline, location);
  if (planned.ok()) {
    plan = *std::move(planned);
  } else if (!HasReason(planned.status(), "INSUFFICIENT_STOCK")) {
    return planned.status();
  }
  // 1. The intent, if the order still holds those units there.
  ASSIGN_OR_RETURN(
      bool started,
      pg::Transact<bool>(db_, {.deadline = deadline}, [&](Tx& tx) -> absl::StatusOr<bool> {
        auto r = pg::Exec1(tx, kMoveHead, order_id);
        auto o = ReadOrder(tx, r[0].as<std::string>(), r[1].as<std::string>(), true);
        if (o->state != v1::ORDER_STATE_PENDING) return false;
        if (std::none_of(o->allocations.begin(), o->allocations.end(),
                         [&](const OrderRow::Alloc& a) { return a.hold_id == hold_id; })) {
          return false;
        }
        const int attempt =
            pg::Exec1(tx, kStartMove, order_id, hold_id, SqlTime(clock_.Now()), request_id)[0]
                .as<int>();
        int position = pg::Exec1(tx, kLastPosition, order_id)[0].as<int>();
        for (size_t i = 0; i < plan.size(); ++i) {
          pg::Exec(tx, kInsertAllocation, order_id, ++position, plan[i].sku, plan[i].location,
                   plan[i].quantity, absl::StrCat("rsv-", order_id, "-m", attempt, "-", i));
        }
        return true;
      }));
  if (!started) return false;
  return FinishMove(order_id, deadline);
}

// Steps 2 and 3 of a move whose intent is committed (also what the sweeper resumes).
absl::StatusOr<bool> Orders::FinishMove(int64_t order_id, std::optional<absl::Time> deadline) {
  struct Seen {
    std::optional<OrderRow> order;
    int attempt = 0;
    std::string moving_hold, request_id;
  };
  ASSIGN_OR_RETURN(Seen seen, pg::ReadEach<Seen>(db_, [&](Tx& tx) -> absl::StatusOr<Seen> {
                     auto r = pg::Exec1(tx, kMoveHead, order_id);
                     Seen out;
                     if (r[2].as<int>() != kMoving) return out;
                     out.attempt = r[3].as<int>();
                     out.moving_hold = r[4].as<std::string>();
                     out.request_id = r[6].as<std::string>();
                     out.order =
                         ReadOrder(tx, r[0].as<std::string>(), r[1].as<std::string>(), false);
                     return out;
                   }));
  if (!seen.order) return false;  // recorded by another call meanwhile
  const OrderRow& o = *seen.order;
  const std::string prefix = absl::StrCat("rsv-", order_id, "-m", seen.attempt, "-");
  OrderRow fresh = o;  // only the new allocations
  fresh.allocations.clear();
  const OrderRow::Alloc* old = nullptr;
  for (const auto& a : o.allocations) {
    if (absl::StartsWith(a.hold_id, prefix)) fresh.allocations.push_back(a);
    if (a.hold_id == seen.moving_hold) old = &a;
  }
  if (old == nullptr) return absl::InternalError("a moving order lost the hold it moves");
  std::vector<std::string> moved_to;
  bool held = false;
  if (!fresh.allocations.empty()) {
    absl::Status refusal;
    ASSIGN_OR_RETURN(held,
                     HoldAll(ledger_, fresh, absl::StrCat("rsv-move-", order_id, "-", seen.attempt),
                             deadline, &refusal));
  }
  if (held) {
    OrderRow gone = o;
    gone.allocations = {*old};
    RETURN_IF_ERROR(VoidAll(ledger_, gone, deadline));
    for (const auto& a : fresh.allocations) moved_to.push_back(a.location);
  } else {
    RETURN_IF_ERROR(VoidAll(ledger_, o, deadline));  // nothing of the order stays held
  }
  const std::string detail =
      absl::StrCat("the ", old->quantity, " units of ", old->sku, " held at ", old->location,
                   " were sold at the register and no other location of ", o.channel, " had them");
  ASSIGN_OR_RETURN(
      bool recorded,
      pg::Transact<bool>(db_, {.deadline = deadline}, [&](Tx& tx) -> absl::StatusOr<bool> {
        auto now = ReadOrder(tx, o.channel, o.external_id, true);
        if (now->state != kMoving ||
            pg::Exec1(tx, kConversionAttempt, order_id)[0].as<int>() != seen.attempt) {
          return false;
        }
        if (held) {
          pg::Exec(tx, kDeleteAllocation, order_id, old->hold_id);
          pg::Exec(tx, kEndMove, order_id, SqlTime(clock_.Now()));
        } else {
          pg::Exec(tx, kDeleteAllocations, order_id);
          ReleaseLimits(tx, order_id);
          pg::Exec(tx, kMoveUnfulfillable, order_id, detail, old->sku, SqlTime(clock_.Now()));
        }
        pg::Exec(tx, kRecordMove, seen.request_id, order_id, old->sku, old->quantity, old->location,
                 pg::SqlTextArray(moved_to));
        return true;
      }));
  if (!recorded) return false;
  log::Info(held ? "order's hold moved off a short shelf" : "order unfulfillable: held units sold",
            {{"channel", o.channel},
             {"external_order_id", o.external_id},
             {"sku", old->sku},
             {"from", old->location}});
  return true;
}

absl::StatusOr<int> Orders::ResumeMoves(int limit) {
  // Those untouched for a few seconds: a move under way is left to its own call.
  ASSIGN_OR_RETURN(auto ids, pg::ReadEach<std::vector<int64_t>>(db_, [&](Tx& tx) {
                     std::vector<int64_t> out;
                     for (const auto& r : pg::Exec(
                              tx, kMovesCutOff, SqlTime(clock_.Now() - absl::Seconds(5)), limit)) {
                       out.push_back(r[0].as<int64_t>());
                     }
                     return out;
                   }));
  int finished = 0;
  for (int64_t id : ids) {
    auto moved = FinishMove(id, std::nullopt);
    if (!moved.ok()) {  // the others are not held up by it; it is tried again next round
      log::Warn("a cut-off move not finished", {{"order_id", std::to_string(id)},
                                                {"error", std::string(moved.status().message())}});
      continue;
    }
    if (*moved) ++finished;
  }
  return finished;
}

// ---------------------------------------------------------------------------- pre-orders

namespace {

// Of `skus`, those with units available to promise at some location (channel caps aside).
absl::StatusOr<std::set<std::string>> ItemsOnSale(const LedgerClient& ledger,
                                                  const std::vector<std::string>& skus) {
  std::set<std::string> out;
  constexpr size_t kChunk = 1000;  // the ledger's limit per call
  for (size_t from = 0; from < skus.size(); from += kChunk) {
    ledger_v1::GetAvailabilityRequest request;
    for (size_t i = from; i < std::min(skus.size(), from + kChunk); ++i) request.add_skus(skus[i]);
    ASSIGN_OR_RETURN(auto rows,
                     ledger.Call(ledger.ledger(), &ledger_v1::LedgerService::Stub::GetAvailability,
                                 request, std::nullopt));
    for (const auto& row : rows.rows()) {
      if (row.available_to_promise() > 0) out.insert(row.sku());
    }
  }
  return out;
}

}  // namespace

// A waiting pre-order moves onto received stock in two steps, like Confirm: (1) source it and
// record the allocations with the intent state converting; (2) hold and post them in the ledger
// (ledger request ids carry the attempt number), then confirm. A shortage in (2) drops the
// allocations and the order waits again; any other failure leaves the intent, and the next pass
// resumes it.
absl::StatusOr<Orders::Conversion> Orders::ConvertOne(int64_t order_id) {
  const pg::TransactionOptions options{};
  auto read = [&](Tx& tx) {
    auto r = pg::Exec1(tx, kPreorderHead, order_id);
    return std::make_tuple(r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                           r[3].as<int>());
  };
  // 1. Source the lines on the stock there is now.
  auto head = db_.Run<std::tuple<std::string, std::string, std::string, int,
                                 google::protobuf::RepeatedPtrField<v1::OrderLine>>>(
      [&](pqxx::connection& c)
          -> absl::StatusOr<std::tuple<std::string, std::string, std::string, int,
                                       google::protobuf::RepeatedPtrField<v1::OrderLine>>> {
        pqxx::nontransaction tx(c);
        auto [channel, external_id, store, state] = read(tx);
        google::protobuf::RepeatedPtrField<v1::OrderLine> lines;
        for (const auto& l : pg::Exec(tx, kOrderLines, order_id)) {
          auto* line = lines.Add();
          line->set_sku(l[0].as<std::string>());
          line->set_quantity(l[1].as<int64_t>());
        }
        return std::make_tuple(channel, external_id, store, state, lines);
      });
  if (!head.ok()) return head.status();
  auto& [channel, external_id, store, state, lines] = *head;
  if (state == kPreordered) {
    auto plan = Source(ledger_, channel, store, lines, {}, std::nullopt);
    if (!plan.ok()) {
      if (HasReason(plan.status(), "INSUFFICIENT_STOCK")) return Conversion::kShort;
      return plan.status();
    }
    auto recorded = db_.Run<bool>([&](pqxx::connection& c) {
      return pg::RunInTransaction<bool>(c, options, [&](Tx& tx) -> absl::StatusOr<bool> {
        auto o = ReadOrder(tx, channel, external_id, true);
        if (o->state != kPreordered) return true;  // taken on by another pass (step 2 sees)
        const absl::Time now = clock_.Now();
        const int attempt = pg::Exec1(tx, kStartConversion, order_id, kConverting,
                                      SqlTime(now + kConversionHoldTtl), SqlTime(now))[0]
                                .as<int>();
        for (size_t i = 0; i < plan->size(); ++i) {
          const Planned& p = (*plan)[i];
          pg::Exec(tx, kInsertAllocation, order_id, static_cast<int>(i), p.sku, p.location,
                   p.quantity, absl::StrCat("rsv-", order_id, "-a", attempt, "-", i));
        }
        return true;
      });
    });
    if (!recorded.ok()) return recorded.status();
  }

  // 2. Hold and post in the ledger (no transaction open across the calls), then record the
  // result under the order's lock, unless another pass or a cancel finished it meanwhile.
  auto seen = db_.Run<std::pair<std::optional<OrderRow>, int>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::pair<std::optional<OrderRow>, int>> {
        pqxx::read_transaction tx(c);
        auto o = ReadOrder(tx, channel, external_id, false);
        return std::make_pair(o, pg::Exec1(tx, kConversionAttempt, order_id)[0].as<int>());
      });
  if (!seen.ok()) return seen.status();
  const auto& [o, attempt] = *seen;
  if (!o || o->state == kPreordered) return Conversion::kShort;  // undone by another pass
  if (o->state != kConverting) return Conversion::kDone;         // finished or cancelled
  // The calls carry the ledger client's own timeout; a transient failure leaves the intent.
  absl::Status refusal;
  ASSIGN_OR_RETURN(bool held,
                   HoldAll(ledger_, *o, absl::StrCat("rsv-convert-", order_id, "-", attempt),
                           std::nullopt, &refusal));
  bool all_posted = false;
  if (held) {
    ASSIGN_OR_RETURN(all_posted, PostAll(ledger_, *o, std::nullopt));
  }
  return db_.Run<Conversion>([&](pqxx::connection& c) {
    return pg::RunInTransaction<Conversion>(c, options, [&](Tx& tx) -> absl::StatusOr<Conversion> {
      auto now = ReadOrder(tx, channel, external_id, true);
      if (now->state == kPreordered) return Conversion::kShort;
      if (now->state != kConverting ||
          pg::Exec1(tx, kConversionAttempt, order_id)[0].as<int>() != attempt) {
        return Conversion::kDone;  // recorded by another pass meanwhile
      }
      if (!all_posted) {  // refused or lapsed: nothing is held; wait for stock again
        pg::Exec(tx, kDeleteAllocations, order_id);
        SetState(tx, order_id, kPreordered, clock_.Now());
        return Conversion::kShort;
      }
      ReleasePreorders(tx, order_id);
      SetState(tx, order_id, v1::ORDER_STATE_CONFIRMED, clock_.Now());
      return Conversion::kConverted;
    });
  });
}

absl::StatusOr<int> Orders::ConvertPreorders() {
  // In order of placement, per item, channel and pickup store: an order that cannot be covered
  // keeps later orders of the same key waiting, so none overtakes it. An order that fails for
  // another reason is logged and passed over.
  using Key = std::tuple<std::string, std::string, std::string>;  // sku, channel, pickup store
  std::set<Key> blocked;
  int converted = 0;
  constexpr int kPage = 1000;
  for (int64_t after = 0;;) {
    auto page = db_.Run<std::vector<std::pair<int64_t, std::vector<Key>>>>(
        [&](pqxx::connection& c)
            -> absl::StatusOr<std::vector<std::pair<int64_t, std::vector<Key>>>> {
          pqxx::nontransaction tx(c);
          std::vector<std::pair<int64_t, std::vector<Key>>> out;
          for (const auto& row : pg::Exec(tx, kPreordersToConvert, after, kPage)) {
            std::vector<Key> keys;
            for (absl::string_view sku : absl::StrSplit(row[3].as<std::string>(), '\n')) {
              keys.emplace_back(std::string(sku), row[1].as<std::string>(),
                                row[2].as<std::string>());
            }
            out.push_back({row[0].as<int64_t>(), std::move(keys)});
          }
          return out;
        });
    if (!page.ok()) return page.status();
    // One look at the page's items first: one with nothing on sale anywhere waits without a
    // sourcing call (the common case: its goods have not arrived).
    std::set<std::string> skus;
    for (const auto& [_, keys] : *page) {
      for (const auto& key : keys) skus.insert(std::get<0>(key));
    }
    ASSIGN_OR_RETURN(auto on_sale, ItemsOnSale(ledger_, {skus.begin(), skus.end()}));
    for (const auto& [order_id, keys] : *page) {
      after = order_id;
      const bool wait = std::any_of(keys.begin(), keys.end(), [&](const Key& k) {
        return blocked.count(k) > 0 || !on_sale.count(std::get<0>(k));
      });
      auto done = wait ? Conversion::kShort : ConvertOne(order_id);
      if (done.ok() && *done == Conversion::kConverted) ++converted;
      if (!done.ok()) {
        log::Warn("pre-order not converted", {{"order_id", std::to_string(order_id)},
                                              {"error", std::string(done.status().message())}});
      }
      // A shortage, or a failure that may pass (the ledger unreachable), holds the queue.
      const bool transient =
          !done.ok() && (done.status().code() == absl::StatusCode::kUnavailable ||
                         done.status().code() == absl::StatusCode::kDeadlineExceeded);
      if ((done.ok() && *done == Conversion::kShort) || transient) {
        blocked.insert(keys.begin(), keys.end());
      }
    }
    if (static_cast<int>(page->size()) < kPage) break;
  }
  return converted;
}

absl::StatusOr<int> Orders::ExpireDue(int limit) {
  return db_.Run<int>([&](pqxx::connection& c) {
    return pg::RunInTransaction<int>(c, {}, [&](Tx& tx) -> absl::StatusOr<int> {
      const std::string now = SqlTime(clock_.Now());
      auto rows = pg::Exec(tx, kExpireDue, now, limit);
      for (const auto& row : rows) ReleaseLimits(tx, row[0].as<int64_t>());
      return static_cast<int>(rows.size());
    });
  });
}

}  // namespace kura::reservation
