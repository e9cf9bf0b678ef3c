#include "inbox.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "json_util.h"
#include "kura/base/error.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/log/log.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"

namespace kura::connector {
namespace {

using Tx = pqxx::transaction_base;
using Kind = CanonicalEvent::Kind;
using pg::SqlTime;

// A failure that waiting will not mend: the delivery goes to dead letters at once.
absl::Status Permanent(const std::string& reason, const std::string& detail) {
  return MakeError(absl::StatusCode::kFailedPrecondition, reason, detail, {{"permanent", "1"}});
}
bool IsPermanent(const absl::Status& s) {
  auto meta = ErrorMetadata(s);
  return meta.count("permanent") > 0;
}

// A reservation or ledger refusal: permanent unless it is one that passes (the order not there
// yet, or in the middle of another operation).
absl::Status Classify(const absl::Status& s) {
  if (s.ok() || IsPermanent(s)) return s;
  const std::string reason = ErrorReason(s);
  static const auto* passing = new std::set<std::string>{
      "ORDER_NOT_FOUND",  "ORDER_NOT_CONFIRMED", "ORDER_PLACING",    "ORDER_CONFIRMING",
      "ORDER_CANCELLING", "ORDER_FULFILLING",    "ORDER_CONVERTING", "TRANSACTION_CONFLICT"};
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
      if (!passing->count(reason)) {
        return Permanent(reason.empty() ? absl::StatusCodeToString(s.code()) : reason,
                         std::string(s.message()));
      }
      return s;
    default:
      return s;
  }
}

std::string HeadersJson(const std::map<std::string, std::string>& headers) {
  Json out = Json::object();
  for (const auto& [k, v] : headers) out[k] = v;
  // Header bytes are the sender's: invalid UTF-8 is stored replaced, never thrown on.
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Whether a text the inbox keys on is storable: valid UTF-8 without control characters, at most
// 512 bytes (a header value is the sender's bytes).
bool Storable(const std::string& text) {
  if (text.size() > 512) return false;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return false;
    const int n = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xe  ? 3
                  : (c >> 3) == 0x1e ? 4
                                     : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (int k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

// Resolves platform references to kura codes with the channel's mappings.
class Mapper {
 public:
  Mapper(InboxStore& store, std::string channel, bool locations_are_codes)
      : store_(store), channel_(std::move(channel)), locations_are_codes_(locations_are_codes) {}

  absl::StatusOr<std::string> Sku(const CanonicalEvent::Line& line) {
    if (!line.item_ref.empty()) {
      ASSIGN_OR_RETURN(auto sku, store_.MappedSku(channel_, line.item_ref));
      if (sku) return *sku;
    }
    if (!line.sku.empty() && ValidateSku("sku", line.sku).ok()) return line.sku;  // same SKU
    return Permanent("UNKNOWN_ITEM", absl::StrCat("platform item \"", line.item_ref, "\" (sku \"",
                                                  line.sku, "\") is not mapped to a kura item"));
  }

  absl::StatusOr<std::string> Location(const CanonicalEvent::Line& line) {
    ASSIGN_OR_RETURN(auto location, store_.MappedLocation(channel_, line.location_ref));
    if (location) return *location;
    if (locations_are_codes_ && ValidateCode("location", line.location_ref).ok()) {
      return line.location_ref;
    }
    return Permanent("UNMAPPED_LOCATION", absl::StrCat("platform location \"", line.location_ref,
                                                       "\" is not mapped to a kura location"));
  }

 private:
  InboxStore& store_;
  const std::string channel_;
  const bool locations_are_codes_;
};

// Whether a failure is the reservation or ledger being out of reach (or too slow) rather than a
// refusal: such deliveries wait for them however long it takes.
bool Unreachable(const absl::Status& s) {
  if (ErrorReason(s) == "PLATFORM_READ_FAILED") return false;  // the platform's: counted
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsResourceExhausted(s);
}

// A failed read of the platform (a refund, its history): retried like a passing refusal and
// counted, so that a platform that keeps refusing (revoked credentials) ends in a dead letter
// instead of waiting for ever.
absl::Status PlatformReadFailed(const absl::Status& s) {
  if (s.ok()) return s;
  return MakeError(absl::StatusCode::kUnavailable, "PLATFORM_READ_FAILED",
                   std::string(s.message()));
}

}  // namespace

Reception Inbox::Receive(const std::string& platform, const std::string& channel,
                         WebhookRequest request) {
  const Connector* connector = FindConnector(platform);
  if (connector == nullptr || !ValidateCode("channel", channel).ok()) {
    return {404, "unknown_webhook"};
  }
  auto connection = Connection(channel, platform);
  if (!connection.ok()) return {503, "error"};
  if (!*connection) return {404, "unknown_webhook"};
  request.url = (*connection)->notification_url;
  if (!connector->Verify(request, (*connection)->secrets)) {
    if (connector->IsPing(request)) return {200, "ping"};
    log::Warn("webhook signature rejected", {{"platform", platform}, {"channel", channel}});
    return {401, "bad_signature"};
  }
  absl::StatusOr<DeliveryInfo> info = connector->Identify(request);
  if (info.ok() &&
      (!Storable(info->topic) || !Storable(info->event_id) || !Storable(info->order_id))) {
    info = InvalidArgument("headers", "the topic, event id or order id is not printable UTF-8");
  }
  absl::Status parsed = info.ok() ? connector->Parse(request).status() : info.status();
  const absl::Time now = clock_.Now();
  if (!parsed.ok()) {
    const absl::Status stored = inbox_store_.StoreMalformed(
        channel, platform, std::string(parsed.message()), HeadersJson(request.headers),
        absl::BytesToHexString(request.body), now);
    observer_.DeadLettered("MALFORMED_BODY");
    log::Warn(
        "webhook body malformed",
        {{"platform", platform}, {"channel", channel}, {"error", std::string(parsed.message())}});
    return {stored.ok() ? 400 : 503, "malformed"};
  }
  // Only snapshots of orders are deduplicated and ordered by the platform's time (clamped: the
  // header that carries it is not signed).
  const NewDelivery row{channel,
                        platform,
                        info->topic,
                        info->event_id,
                        info->order_id,
                        info->platform_time == absl::InfinitePast() || !connector->SnapshotsOrders()
                            ? std::nullopt
                            : std::optional(SqlTime(std::min(info->platform_time, now))),
                        HeadersJson(request.headers),
                        absl::BytesToHexString(request.body),
                        SqlTime(now)};
  absl::StatusOr<bool> inserted = Store(row);
  if (!inserted.ok()) return {503, "error"};  // not stored: the platform retries
  return {200, *inserted ? "accepted" : "duplicate"};
}

absl::StatusOr<std::optional<ChannelSecrets>> Inbox::Connection(const std::string& channel,
                                                                const std::string& platform) {
  return connections_.Get({channel, platform},
                          [&] { return inbox_store_.Secrets(channel, platform); });
}

absl::StatusOr<bool> Inbox::Store(const NewDelivery& row) {
  auto done = std::make_shared<std::promise<absl::StatusOr<bool>>>();
  auto stored = done->get_future();
  store_.Push(StoreItem{&row, std::move(done)});
  return stored.get();
}

batch::GroupCommit<Inbox::StoreItem>::Answer Inbox::WriteBatch(std::vector<StoreItem>& batch) {
  std::vector<const NewDelivery*> rows;
  for (const StoreItem& item : batch) rows.push_back(item.row);
  auto stored = inbox_store_.Store(rows);
  return [batch = std::move(batch), stored = std::move(stored)] {
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i].done->set_value(stored.ok() ? absl::StatusOr<bool>((*stored)[i])
                                           : absl::StatusOr<bool>(stored.status()));
    }
  };
}

absl::StatusOr<bool> Inbox::ProcessNext() {
  // Long enough for a delivery's calls (a few, each at most call_timeout); after a crash, what
  // the dead worker held waits this long. A worker slower than that (platform reads take up to
  // kHttpTimeout each) records nothing: its claim, or its order's, is another worker's by then,
  // and that worker repeats the idempotent calls.
  const absl::Duration lease = 6 * clients_.timeout;
  const absl::Time started = absl::Now();
  ASSIGN_OR_RETURN(InboxClaim claim, inbox_store_.Claim(clock_.Now(), lease));
  if (!claim.delivery) return claim.found;
  const ClaimedDelivery& d = *claim.delivery;
  const Connector* connector = FindConnector(d.platform);

  DeliveryOutcome outcome;
  DeliveryEffects effects;
  effects.order_cancelled = d.order_cancelled;
  std::optional<absl::Time> snapshot_time;
  const auto dead = [&](const std::string& reason, const std::string& detail) {
    outcome = {.kind = DeliveryOutcome::Kind::kDead, .reason = reason, .error = detail};
  };
  absl::StatusOr<std::vector<CanonicalEvent>> events =
      connector == nullptr ? absl::NotFoundError("unknown platform") : connector->Parse(d.request);
  if (connector == nullptr) {
    dead("UNKNOWN_PLATFORM", d.platform);
  } else if (!events.ok()) {
    dead("MALFORMED_BODY", std::string(events.status().message()));
  } else {
    // Deliveries about one order take turns (the claim holds the order); a snapshot of the
    // order (not a refund, say) older than one applied is stale.
    const bool snapshot = connector->SnapshotsOrders() &&
                          std::any_of(events->begin(), events->end(), [](const CanonicalEvent& e) {
                            return e.kind == Kind::kOrderPlaced || e.kind == Kind::kOrderCancelled;
                          });
    if (snapshot) snapshot_time = d.platform_time;
    if (snapshot && d.platform_time && d.order_applied_time &&
        *d.platform_time < *d.order_applied_time) {
      outcome.kind = DeliveryOutcome::Kind::kApplied;  // stale: nothing to do
      snapshot_time.reset();
    } else {
      absl::Status applied = Classify(Apply(d.channel, *connector, d.inbox_id, *events, effects));
      if (applied.ok()) {
        outcome.kind = DeliveryOutcome::Kind::kApplied;
      } else if (IsPermanent(applied)) {
        dead(ErrorReason(applied), std::string(applied.message()));
      } else if (!Unreachable(applied) && d.attempts + 1 >= max_attempts_) {
        dead("TOO_MANY_ATTEMPTS", std::string(applied.message()));
      } else {
        // Try again later, backing off (with jitter): doubling up to five minutes after
        // refusals that may pass; while the services are out of reach, without counting the
        // attempt and by a quarter of the time the delivery has waited, between 1 and 30
        // seconds, so that an outage of any length delays the deliveries but loses none and
        // they drain soon after it ends.
        const bool unreachable = Unreachable(applied);
        thread_local std::mt19937 random(std::random_device{}());
        const absl::Duration backoff =
            unreachable
                ? std::clamp((clock_.Now() - d.received_at) / 4, absl::Seconds(1),
                             absl::Seconds(30))
                : std::min(absl::Seconds(1) * (1 << std::min(d.attempts, 8)), absl::Minutes(5));
        const absl::Duration wait =
            backoff * std::uniform_real_distribution<double>(0.5, 1.0)(random);
        outcome = {.kind = DeliveryOutcome::Kind::kRetry,
                   .error = std::string(applied.message()),
                   .retry_at = clock_.Now() + wait,
                   .count_attempt = !unreachable};
      }
    }
  }
  if (outcome.kind == DeliveryOutcome::Kind::kDead) {
    log::Warn("webhook delivery dead-lettered", {{"inbox_id", std::to_string(d.inbox_id)},
                                                 {"channel", d.channel},
                                                 {"reason", outcome.reason},
                                                 {"detail", outcome.error}});
  }
  ASSIGN_OR_RETURN(const bool recorded,
                   inbox_store_.Record(d, outcome, effects, snapshot_time, clock_.Now()));
  if (!recorded) {
    log::Warn(
        "a delivery's claim lapsed before its outcome was recorded; another worker repeats it",
        {{"inbox_id", std::to_string(d.inbox_id)}, {"channel", d.channel}});
    return true;
  }
  if (!effects.levels_changed.empty() && on_level_changed_) {
    on_level_changed_(d.channel, effects.levels_changed);
  }
  if (effects.newly_unfulfillable && outcome.kind == DeliveryOutcome::Kind::kApplied) {
    observer_.Unfulfillable(d.platform);
    if (on_unfulfillable_) on_unfulfillable_();
  }
  observer_.Processed(d.platform, absl::Now() - started, clock_.Now() - d.received_at);
  if (outcome.kind == DeliveryOutcome::Kind::kDead) observer_.DeadLettered(outcome.reason);
  if (outcome.kind != DeliveryOutcome::Kind::kRetry) {
    for (size_t i = 0; i < effects.edits_not_applied.size(); ++i) {
      observer_.DeadLettered("ORDER_EDIT_NOT_APPLIED");
    }
  }
  return true;
}

absl::StatusOr<std::optional<absl::Time>> Inbox::NextDue() { return inbox_store_.NextDue(); }

absl::Status Inbox::Apply(const std::string& channel, const Connector& connector, int64_t inbox_id,
                          const std::vector<CanonicalEvent>& events, DeliveryEffects& effects) {
  Mapper mapper(inbox_store_, channel, connector.platform() == "kura");
  bool* cancelled = &effects.order_cancelled;
  using Orders = reservation_v1::OrderService::Stub;
  // A delivery that cancels its order does that first and nothing else of the order: what was
  // held or committed goes back, or (when the order is not there yet) the cancel is remembered
  // for a create that comes later.
  const bool cancels = std::any_of(events.begin(), events.end(), [](const CanonicalEvent& e) {
    return e.kind == Kind::kOrderCancelled;
  });
  for (const CanonicalEvent& event : events) {
    if (event.kind == Kind::kOrderCancelled) {
      *cancelled = true;
      absl::Status s = CancelOrder(channel, event.order_id);
      if (ErrorReason(s) != "ORDER_NOT_FOUND") RETURN_IF_ERROR(s);
    }
  }
  // Returns and store sales: keyed on the platform's own reference (refund, order), not on the
  // delivery, so that a replayed body under a new delivery id is applied once.
  auto ApplyMovements = [&](const CanonicalEvent& event) -> absl::Status {
    ledger_v1::ApplyMovementsRequest moves;
    const std::string ref = !event.ref.empty()        ? event.ref
                            : !event.order_id.empty() ? absl::StrCat("order-", event.order_id)
                                                      : absl::StrCat("inbox-", inbox_id);
    moves.set_request_id(
        absl::StrCat(event.kind == Kind::kReturned ? "cn-return-" : "cn-sale-", channel, "-", ref));
    for (const auto& line : event.lines) {
      auto* m = moves.add_movements();
      m->set_kind(event.kind == Kind::kReturned ? ledger_v1::MOVEMENT_KIND_RETURN
                                                : ledger_v1::MOVEMENT_KIND_STORE_SALE);
      ASSIGN_OR_RETURN(std::string sku, mapper.Sku(line));
      // A platform without locations (WooCommerce), or a refund that names none: the channel's
      // first location, where its online orders ship from.
      ASSIGN_OR_RETURN(std::string location, line.location_ref.empty() ? PrimaryLocation(channel)
                                                                       : mapper.Location(line));
      m->set_sku(sku);
      m->set_location(location);
      m->set_quantity(line.quantity);
      m->set_source_ref(absl::StrCat(connector.platform(), " order ", event.order_id));
    }
    if (moves.movements().empty()) return absl::OkStatus();
    return clients_.Call(*clients_.ledger, &ledger_v1::LedgerService::Stub::ApplyMovements, moves)
        .status();
  };
  std::set<std::string> touched;  // SKUs of the orders applied: pushed afresh (below)
  // An order placed paid is confirmed by PlaceOrder itself (one call); its paid event then
  // has nothing left to do.
  const bool paid = std::any_of(events.begin(), events.end(),
                                [](const CanonicalEvent& e) { return e.kind == Kind::kOrderPaid; });
  bool settled_at_placing = false;
  for (const CanonicalEvent& event : events) {
    switch (event.kind) {
      case Kind::kOrderPlaced: {
        if (cancels) break;
        reservation_v1::PlaceOrderRequest place;
        place.set_channel(channel);
        place.set_external_order_id(event.order_id);
        place.set_customer(event.customer);
        // The platform took the order already: one the stock cannot cover is kept as
        // unfulfillable (with the reason), never lost or dead-lettered.
        place.set_record_unfulfillable(true);
        place.set_confirm(paid && !*cancelled);
        std::map<std::string, int64_t> units;  // PlaceOrder takes each SKU once
        for (const auto& line : event.lines) {
          ASSIGN_OR_RETURN(std::string sku, mapper.Sku(line));
          units[sku] += line.quantity;
        }
        for (const auto& [sku, quantity] : units) {
          auto* line = place.add_lines();
          line->set_sku(sku);
          line->set_quantity(quantity);
          touched.insert(sku);
        }
        auto placed = clients_.Call(*clients_.orders, &Orders::PlaceOrder, place);
        if (*cancelled) {
          // Its cancel came first: what it may have held goes straight back.
          if (!placed.ok() && IsPermanent(Classify(placed.status()))) break;
          RETURN_IF_ERROR(placed.status());
          RETURN_IF_ERROR(CancelOrder(channel, event.order_id));
          break;
        }
        if (ErrorReason(placed.status()) == "ORDER_EXISTS") {
          // Placed before with other contents (an edit, a customer attached later): edits are
          // not applied; the order's later events still are. The operator is told through a
          // dead letter of this delivery.
          log::Warn("order changed on the platform; kept as first placed",
                    {{"channel", channel}, {"order", event.order_id}});
          effects.edits_not_applied.push_back(
              absl::StrCat("order ", event.order_id,
                           " differs from its first contents, which kura keeps; the rest of "
                           "the delivery was applied"));
          break;
        }
        RETURN_IF_ERROR(placed.status());
        settled_at_placing = placed->order().state() == reservation_v1::ORDER_STATE_CONFIRMED ||
                             placed->order().state() == reservation_v1::ORDER_STATE_UNFULFILLABLE;
        if (placed->order().state() == reservation_v1::ORDER_STATE_UNFULFILLABLE) {
          effects.unfulfillable = absl::StrCat(placed->order().unfulfillable_reason(), ": ",
                                               placed->order().unfulfillable_detail());
          effects.newly_unfulfillable = placed->newly_unfulfillable();
          log::Warn("order unfulfillable", {{"channel", channel},
                                            {"order", event.order_id},
                                            {"reason", placed->order().unfulfillable_reason()}});
        }
        break;
      }
      case Kind::kOrderPaid: {
        if (*cancelled || settled_at_placing) break;
        reservation_v1::ConfirmOrderRequest confirm;
        confirm.set_channel(channel);
        confirm.set_external_order_id(event.order_id);
        auto confirmed = clients_.Call(*clients_.orders, &Orders::ConfirmOrder, confirm);
        if (ErrorReason(confirmed.status()) == "ORDER_CANCELLED") break;      // cancelled in kura
        if (ErrorReason(confirmed.status()) == "ORDER_UNFULFILLABLE") break;  // nothing to post
        RETURN_IF_ERROR(confirmed.status());
        break;
      }
      case Kind::kOrderFulfilled: {
        if (*cancelled) break;
        reservation_v1::FulfilOrderRequest fulfil;
        fulfil.set_request_id(absl::StrCat("cn-fulfil-", channel, "-", event.order_id));
        fulfil.set_channel(channel);
        fulfil.set_external_order_id(event.order_id);
        auto done = clients_.Call(*clients_.orders, &Orders::FulfilOrder, fulfil);
        if (!done.ok() && ErrorReason(done.status()) == "IDEMPOTENCY_KEY_REUSED") break;
        RETURN_IF_ERROR(done.status());
        break;
      }
      case Kind::kOrderCancelled:
        break;  // done above
      case Kind::kReturned:
      case Kind::kStoreSale:
        RETURN_IF_ERROR(ApplyMovements(event));
        break;
      case Kind::kRefundIssued: {
        ASSIGN_OR_RETURN(const bool seen, inbox_store_.RefundApplied(channel, event.ref));
        if (seen) break;  // read and applied before
        ASSIGN_OR_RETURN(ApiEndpoint api, Endpoint(channel));
        absl::StatusOr<CanonicalEvent> refund =
            connector.ReadRefund(api, event.order_id, event.ref);
        if (absl::IsNotFound(refund.status())) {
          log::Warn("refund gone from the platform; nothing returned",
                    {{"channel", channel}, {"order", event.order_id}, {"refund", event.ref}});
        } else {
          RETURN_IF_ERROR(PlatformReadFailed(refund.status()));
          RETURN_IF_ERROR(ApplyMovements(*refund));
        }
        effects.refunds_applied.push_back(event.ref);
        break;
      }
      case Kind::kLevelChanged:
        RETURN_IF_ERROR(NoteLevels(channel, event.lines, effects));
        break;
      case Kind::kStockCount: {
        // A platform that sells over its own counter (Square) reports the stock left. What left
        // it is read from its history: each sale there becomes a store sale and each write-off an
        // adjustment at the mapped location, once per platform id. kura's own pushes are not
        // in that history, so their echoes change nothing; other changes are reconciliation's.
        // A count kura did not push (an edit in the dashboard, a recount, a sale there) is also
        // checked against kura's value, like any platform-side change: after the sales are
        // booked, only a difference they do not explain remains.
        RETURN_IF_ERROR(NoteLevels(channel, event.lines, effects));
        std::set<std::string> items;
        for (const auto& line : event.lines) {
          if (mapper.Sku(line).ok() && mapper.Location(line).ok()) items.insert(line.item_ref);
        }
        if (items.empty()) break;
        ASSIGN_OR_RETURN(ApiEndpoint api, Endpoint(channel));
        for (const std::string& item : items) {
          // Read from a minute before the newest change seen: the platform's clock and the
          // order it records changes in are its own; what is read twice is applied once.
          ASSIGN_OR_RETURN(const auto read, inbox_store_.HistoryRead(channel, item));
          const auto& [history_from, read_to] = read;
          absl::StatusOr<std::vector<PlatformMovement>> read_moved = connector.ReadMovements(
              api, {item}, std::max(history_from, read_to - absl::Minutes(1)));
          RETURN_IF_ERROR(PlatformReadFailed(read_moved.status()));
          const std::vector<PlatformMovement>& moved = *read_moved;
          absl::Time newest = read_to;
          for (const PlatformMovement& m : moved) {
            newest = std::max(newest, m.recorded_at);
            if (m.recorded_at < history_from || m.item_ref != item) continue;
            const CanonicalEvent::Line line{m.item_ref, "", m.location_ref, m.quantity};
            ASSIGN_OR_RETURN(std::string sku, mapper.Sku(line));
            ASSIGN_OR_RETURN(std::string location, mapper.Location(line));
            ledger_v1::ApplyMovementsRequest moves;
            moves.set_request_id(absl::StrCat("cn-platform-", channel, "-", m.id));
            auto* move = moves.add_movements();
            move->set_sku(sku);
            move->set_location(location);
            if (m.kind == PlatformMovement::Kind::kSale) {
              move->set_kind(ledger_v1::MOVEMENT_KIND_STORE_SALE);
              move->set_quantity(m.quantity);
            } else {
              move->set_kind(ledger_v1::MOVEMENT_KIND_ADJUST);
              move->set_quantity(-m.quantity);
            }
            move->set_source_ref(absl::StrCat(
                connector.platform(),
                m.kind == PlatformMovement::Kind::kSale ? " sale " : " write-off ", m.id));
            RETURN_IF_ERROR(
                clients_
                    .Call(*clients_.ledger, &ledger_v1::LedgerService::Stub::ApplyMovements, moves)
                    .status());
          }
          effects.history_read.push_back({item, newest});
        }
        break;
      }
    }
  }
  // The platform moves its own stock for its orders (WooCommerce at payment, Shopify at
  // creation): kura's quantity is set there again once kura has applied the order.
  effects.touched.insert(touched.begin(), touched.end());
  return absl::OkStatus();
}

absl::Status Inbox::NoteLevels(const std::string& channel,
                               const std::vector<CanonicalEvent::Line>& lines,
                               DeliveryEffects& effects) {
  // The platform's level of an item at the location kura pushes to differs from what kura last
  // set there (not an echo of kura's own push): the item is checked against the platform at
  // once, under the drift rules (after this delivery is recorded).
  ASSIGN_OR_RETURN(ApiEndpoint api, inbox_store_.Endpoint(channel));
  for (const auto& line : lines) {
    if (!api.location_id.empty() && !line.location_ref.empty() &&
        line.location_ref != api.location_id) {
      continue;  // a location kura does not push to
    }
    ASSIGN_OR_RETURN(auto level, inbox_store_.PushedLevelOf(channel, line.item_ref));
    if (!level || !level->pushed || *level->pushed == line.quantity) continue;
    effects.levels_changed.insert(level->sku);
  }
  return absl::OkStatus();
}

absl::StatusOr<ApiEndpoint> Inbox::Endpoint(const std::string& channel) {
  ASSIGN_OR_RETURN(ApiEndpoint api, inbox_store_.Endpoint(channel));
  if (api.base_url.empty()) {
    return Permanent("NO_PLATFORM_API",
                     absl::StrCat("channel ", channel, " has no platform API to read from"));
  }
  return api;
}

absl::StatusOr<std::string> Inbox::PrimaryLocation(const std::string& channel) {
  ledger_v1::GetChannelRequest get;
  get.set_code(channel);
  ASSIGN_OR_RETURN(auto got, clients_.Call(*clients_.catalog,
                                           &ledger_v1::CatalogService::Stub::GetChannel, get));
  if (got.channel().location_codes().empty()) {
    return Permanent("UNMAPPED_LOCATION",
                     absl::StrCat("channel ", channel, " has no location to return goods to"));
  }
  return got.channel().location_codes(0);
}

absl::Status Inbox::CancelOrder(const std::string& channel, const std::string& order_id) {
  reservation_v1::CancelOrderRequest cancel;
  cancel.set_channel(channel);
  cancel.set_external_order_id(order_id);
  absl::Status s =
      clients_.Call(*clients_.orders, &reservation_v1::OrderService::Stub::CancelOrder, cancel)
          .status();
  // Handed over already, or lapsed: nothing is held for it any more.
  if (ErrorReason(s) == "ORDER_FULFILLED" || ErrorReason(s) == "ORDER_EXPIRED") return {};
  return s;
}

}  // namespace kura::connector
