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
  Mapper(Tx& tx, std::string channel, bool locations_are_codes)
      : tx_(tx), channel_(std::move(channel)), locations_are_codes_(locations_are_codes) {}

  absl::StatusOr<std::string> Sku(const CanonicalEvent::Line& line) {
    if (!line.item_ref.empty()) {
      auto rows = tx_.exec_params(
          "SELECT sku FROM item_mappings WHERE channel = $1 AND platform_item_id = $2", channel_,
          line.item_ref);
      if (!rows.empty()) return rows[0][0].as<std::string>();
    }
    if (!line.sku.empty() && ValidateSku("sku", line.sku).ok()) return line.sku;  // same SKU
    return Permanent("UNKNOWN_ITEM", absl::StrCat("platform item \"", line.item_ref, "\" (sku \"",
                                                  line.sku, "\") is not mapped to a kura item"));
  }

  absl::StatusOr<std::string> Location(const CanonicalEvent::Line& line) {
    auto rows = tx_.exec_params(
        "SELECT location FROM location_mappings WHERE channel = $1 AND platform_location_id = $2",
        channel_, line.location_ref);
    if (!rows.empty()) return rows[0][0].as<std::string>();
    if (locations_are_codes_ && ValidateCode("location", line.location_ref).ok()) {
      return line.location_ref;
    }
    return Permanent("UNMAPPED_LOCATION", absl::StrCat("platform location \"", line.location_ref,
                                                       "\" is not mapped to a kura location"));
  }

 private:
  Tx& tx_;
  const std::string channel_;
  const bool locations_are_codes_;
};

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
    auto stored = db_.Run<bool>([&](pqxx::connection& c) -> absl::StatusOr<bool> {
      pqxx::nontransaction tx(c);
      tx.exec_params(
          "INSERT INTO dead_letters (channel, platform, reason, detail, headers, body, "
          "created_at) VALUES ($1, $2, 'MALFORMED_BODY', $3, $4, decode($5, 'hex'), $6)",
          channel, platform, std::string(parsed.message()), HeadersJson(request.headers),
          absl::BytesToHexString(request.body), SqlTime(now));
      return true;
    });
    observer_.DeadLettered("MALFORMED_BODY");
    log::Warn(
        "webhook body malformed",
        {{"platform", platform}, {"channel", channel}, {"error", std::string(parsed.message())}});
    return {stored.ok() ? 400 : 503, "malformed"};
  }
  // Only snapshots of orders are deduplicated and ordered by the platform's time (clamped: the
  // header that carries it is not signed).
  const InboxRow row{channel,
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

absl::StatusOr<std::optional<Inbox::Secrets>> Inbox::Connection(const std::string& channel,
                                                                const std::string& platform) {
  const std::pair<std::string, std::string> key{channel, platform};
  const absl::Time now = absl::Now();
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.first > now) return it->second.second;
  }
  auto loaded = db_.Run<std::optional<Secrets>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::optional<Secrets>> {
        pqxx::nontransaction tx(c);
        auto rows = tx.exec_params(
            "SELECT array_to_json(webhook_secrets)::text, notification_url FROM connections "
            "WHERE channel = $1 AND platform = $2",
            channel, platform);
        if (rows.empty()) return std::nullopt;
        Secrets out;
        for (const auto& secret : Json::parse(rows[0][0].as<std::string>())) {
          out.secrets.push_back(secret.get<std::string>());
        }
        out.notification_url = rows[0][1].as<std::string>();
        return out;
      });
  if (!loaded.ok()) return loaded.status();
  std::lock_guard lock(cache_mu_);
  cache_[key] = {now + kConnectionCacheTtl, *loaded};
  return *loaded;
}

absl::StatusOr<bool> Inbox::Store(const InboxRow& row) {
  auto done = std::make_shared<std::promise<absl::StatusOr<bool>>>();
  auto stored = done->get_future();
  store_.Push(StoreItem{&row, std::move(done)});
  return stored.get();
}

batch::GroupCommit<Inbox::StoreItem>::Answer Inbox::WriteBatch(std::vector<StoreItem>& batch) {
  auto stored =
      db_.Run<std::vector<bool>>([&](pqxx::connection& c) -> absl::StatusOr<std::vector<bool>> {
        pqxx::work tx(c);
        std::vector<bool> inserted;
        for (const StoreItem& item : batch) {
          const InboxRow& r = *item.row;
          inserted.push_back(
              !tx.exec_params(
                     "INSERT INTO inbox (channel, platform, topic, event_id, order_id, "
                     "platform_time, headers, body, received_at, next_attempt_at) VALUES ($1, $2, "
                     "$3, $4, $5, $6, $7, decode($8, 'hex'), $9, $9) ON CONFLICT DO NOTHING "
                     "RETURNING 1",
                     r.channel, r.platform, r.topic, r.event_id, r.order_id, r.platform_time,
                     r.headers, r.body_hex, r.received_at)
                   .empty());
        }
        tx.commit();
        return inserted;
      });
  return [batch = std::move(batch), stored = std::move(stored)] {
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i].done->set_value(stored.ok() ? absl::StatusOr<bool>((*stored)[i])
                                           : absl::StatusOr<bool>(stored.status()));
    }
  };
}

absl::StatusOr<bool> Inbox::ProcessNext() {
  const absl::Time started = absl::Now();
  std::optional<std::string> dead_reason;
  auto processed = db_.Run<bool>([&](pqxx::connection& c) {
    return pg::RunInTransaction<bool>(c, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
      dead_reason.reset();
      auto rows = tx.exec_params(
          "SELECT i.inbox_id, i.channel, i.platform, i.headers, encode(i.body, 'hex'), "
          "i.attempts, i.order_id, (extract(epoch FROM i.platform_time) * 1000000)::bigint, "
          "coalesce(c.notification_url, '') FROM inbox i LEFT JOIN connections c USING (channel) "
          "WHERE i.state = 0 AND i.next_attempt_at <= $1 ORDER BY i.next_attempt_at, i.inbox_id "
          "LIMIT 1 FOR UPDATE OF i SKIP LOCKED",
          SqlTime(clock_.Now()));
      if (rows.empty()) return false;
      const auto& row = rows[0];
      const int64_t inbox_id = row[0].as<int64_t>();
      const std::string channel = row[1].as<std::string>(), platform = row[2].as<std::string>();
      const int attempts = row[5].as<int>();
      const std::string order_id = row[6].as<std::string>();
      WebhookRequest request;
      request.url = row[8].as<std::string>();
      const Json headers = Json::parse(row[3].as<std::string>());
      for (const auto& [k, v] : headers.items()) request.headers[k] = v.get<std::string>();
      request.body = absl::HexStringToBytes(row[4].as<std::string>());
      const Connector* connector = FindConnector(platform);

      auto dead = [&](const std::string& reason, const std::string& detail) {
        tx.exec_params(
            "INSERT INTO dead_letters (inbox_id, channel, platform, reason, detail, headers, "
            "body, created_at) SELECT inbox_id, channel, platform, $2, $3, headers, body, $4 "
            "FROM inbox WHERE inbox_id = $1",
            inbox_id, reason, detail, SqlTime(clock_.Now()));
        tx.exec_params(
            "UPDATE inbox SET state = 2, last_error = $2, done_at = $3 WHERE inbox_id = $1",
            inbox_id, detail, SqlTime(clock_.Now()));
        dead_reason = reason;
        log::Warn("webhook delivery dead-lettered", {{"inbox_id", std::to_string(inbox_id)},
                                                     {"channel", channel},
                                                     {"reason", reason},
                                                     {"detail", detail}});
        return true;
      };
      if (connector == nullptr) return dead("UNKNOWN_PLATFORM", platform);
      auto events = connector->Parse(request);
      if (!events.ok()) return dead("MALFORMED_BODY", std::string(events.status().message()));

      // Deliveries about one order take turns; a snapshot of the order (not a refund, say)
      // older than one applied is stale.
      const bool snapshot =
          connector->SnapshotsOrders() &&
          std::any_of(events->begin(), events->end(), [](const CanonicalEvent& e) {
            return e.kind == Kind::kOrderPlaced || e.kind == Kind::kOrderCancelled;
          });
      bool cancelled = false;
      std::optional<int64_t> applied_time;
      if (!order_id.empty()) {
        tx.exec_params(
            "INSERT INTO platform_orders (channel, order_id) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING",
            channel, order_id);
        auto state = tx.exec_params1(
            "SELECT (extract(epoch FROM platform_time) * 1000000)::bigint, cancelled "
            "FROM platform_orders WHERE channel = $1 AND order_id = $2 FOR UPDATE",
            channel, order_id);
        if (!state[0].is_null()) applied_time = state[0].as<int64_t>();
        cancelled = state[1].as<bool>();
        if (snapshot && !row[7].is_null() && applied_time && row[7].as<int64_t>() < *applied_time) {
          tx.exec_params(
              "UPDATE inbox SET state = 1, last_error = 'stale', done_at = $2 "
              "WHERE inbox_id = $1",
              inbox_id, SqlTime(clock_.Now()));
          return true;
        }
      }

      absl::Status applied = Apply(tx, channel, *connector, inbox_id, *events, &cancelled);
      applied = Classify(applied);
      if (applied.ok()) {
        tx.exec_params(
            "UPDATE inbox SET state = 1, last_error = '', done_at = $2 WHERE inbox_id = $1",
            inbox_id, SqlTime(clock_.Now()));
        if (!order_id.empty()) {
          tx.exec_params(
              "UPDATE platform_orders SET cancelled = $3, platform_time = "
              "greatest(platform_time, $4::timestamptz) WHERE channel = $1 AND order_id = $2",
              channel, order_id, cancelled,
              row[7].is_null() || !snapshot
                  ? std::nullopt
                  : std::optional(SqlTime(absl::FromUnixMicros(row[7].as<int64_t>()))));
        }
        return true;
      }
      if (IsPermanent(applied)) {
        return dead(ErrorReason(applied), std::string(applied.message()));
      }
      if (attempts + 1 >= max_attempts_) {
        return dead("TOO_MANY_ATTEMPTS", std::string(applied.message()));
      }
      // Try again later, backing off (with jitter) up to five minutes.
      thread_local std::mt19937 random(std::random_device{}());
      const absl::Duration wait =
          std::min(absl::Seconds(1) * (1 << std::min(attempts, 8)), absl::Minutes(5)) *
          std::uniform_real_distribution<double>(0.5, 1.0)(random);
      tx.exec_params(
          "UPDATE inbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 "
          "WHERE inbox_id = $1",
          inbox_id, std::string(applied.message()), SqlTime(clock_.Now() + wait));
      return true;
    });
  });
  if (processed.ok() && *processed) {
    observer_.Processed(absl::Now() - started);
    if (dead_reason) observer_.DeadLettered(*dead_reason);
  }
  return processed;
}

absl::StatusOr<std::optional<absl::Time>> Inbox::NextDue() {
  return db_.Run<std::optional<absl::Time>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::optional<absl::Time>> {
        pqxx::nontransaction tx(c);
        auto row = tx.exec1(
            "SELECT (extract(epoch FROM min(next_attempt_at)) * 1000000)::bigint FROM inbox "
            "WHERE state = 0");
        if (row[0].is_null()) return std::nullopt;
        return absl::FromUnixMicros(row[0].as<int64_t>());
      });
}

absl::Status Inbox::Apply(Tx& tx, const std::string& channel, const Connector& connector,
                          int64_t inbox_id, const std::vector<CanonicalEvent>& events,
                          bool* cancelled) {
  Mapper mapper(tx, channel, connector.platform() == "kura");
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
  for (const CanonicalEvent& event : events) {
    switch (event.kind) {
      case Kind::kOrderPlaced: {
        if (cancels) break;
        reservation_v1::PlaceOrderRequest place;
        place.set_channel(channel);
        place.set_external_order_id(event.order_id);
        place.set_customer(event.customer);
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
          tx.exec_params(
              "INSERT INTO dead_letters (inbox_id, channel, platform, reason, detail, headers, "
              "body, created_at) SELECT inbox_id, channel, platform, 'ORDER_EDIT_NOT_APPLIED', "
              "$2, headers, body, $3 FROM inbox WHERE inbox_id = $1",
              inbox_id,
              absl::StrCat("order ", event.order_id,
                           " differs from its first contents, which kura keeps; the rest of "
                           "the delivery was applied"),
              SqlTime(clock_.Now()));
          observer_.DeadLettered("ORDER_EDIT_NOT_APPLIED");
          break;
        }
        RETURN_IF_ERROR(placed.status());
        break;
      }
      case Kind::kOrderPaid: {
        if (*cancelled) break;
        reservation_v1::ConfirmOrderRequest confirm;
        confirm.set_channel(channel);
        confirm.set_external_order_id(event.order_id);
        auto confirmed = clients_.Call(*clients_.orders, &Orders::ConfirmOrder, confirm);
        if (ErrorReason(confirmed.status()) == "ORDER_CANCELLED") break;  // cancelled in kura
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
        if (!tx.exec_params("SELECT 1 FROM applied_refunds WHERE channel = $1 AND refund_id = $2",
                            channel, event.ref)
                 .empty()) {
          break;  // read and applied before
        }
        ASSIGN_OR_RETURN(ApiEndpoint api, Endpoint(tx, channel));
        absl::StatusOr<CanonicalEvent> refund =
            connector.ReadRefund(api, event.order_id, event.ref);
        if (absl::IsNotFound(refund.status())) {
          log::Warn("refund gone from the platform; nothing returned",
                    {{"channel", channel}, {"order", event.order_id}, {"refund", event.ref}});
        } else {
          RETURN_IF_ERROR(refund.status());
          RETURN_IF_ERROR(ApplyMovements(*refund));
        }
        tx.exec_params("INSERT INTO applied_refunds VALUES ($1, $2, $3)", channel, event.ref,
                       SqlTime(clock_.Now()));
        break;
      }
      case Kind::kStockCount: {
        // A platform that sells over its own counter (Square) reports the stock left. What left
        // it is read from its history: each sale there becomes a store sale and each write-off an
        // adjustment at the mapped location, once per platform id. kura's own pushes are not
        // in that history, so their echoes change nothing; other changes are reconciliation's.
        std::set<std::string> items;
        for (const auto& line : event.lines) {
          if (mapper.Sku(line).ok() && mapper.Location(line).ok()) items.insert(line.item_ref);
        }
        if (items.empty()) break;
        ASSIGN_OR_RETURN(ApiEndpoint api, Endpoint(tx, channel));
        for (const std::string& item : items) {
          // Read from a minute before the newest change seen: the platform's clock and the
          // order it records changes in are its own; what is read twice is applied once.
          auto from = tx.exec_params1(
              "SELECT (extract(epoch FROM history_from) * 1000000)::bigint, "
              "(extract(epoch FROM coalesce(history_read_to, history_from)) * 1000000)::bigint "
              "FROM item_mappings WHERE channel = $1 AND platform_item_id = $2 FOR UPDATE",
              channel, item);
          const absl::Time history_from = absl::FromUnixMicros(from[0].as<int64_t>());
          const absl::Time read_to = absl::FromUnixMicros(from[1].as<int64_t>());
          ASSIGN_OR_RETURN(std::vector<PlatformMovement> moved,
                           connector.ReadMovements(
                               api, {item}, std::max(history_from, read_to - absl::Minutes(1))));
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
          tx.exec_params(
              "UPDATE item_mappings SET history_read_to = $3 WHERE channel = $1 AND "
              "platform_item_id = $2",
              channel, item, SqlTime(newest));
        }
        break;
      }
    }
  }
  // The platform moves its own stock for its orders (WooCommerce at payment, Shopify at
  // creation): kura's quantity is set there again once kura has applied the order.
  for (const auto& sku : touched) {
    tx.exec_params(
        "INSERT INTO push_refresh VALUES ($1, $2) ON CONFLICT (channel, sku) DO UPDATE SET sku = "
        "excluded.sku",  // renewed: a new xmin, so a follower's pass under way leaves it
        channel, sku);
  }
  return absl::OkStatus();
}

absl::StatusOr<ApiEndpoint> Inbox::Endpoint(Tx& tx, const std::string& channel) {
  auto rows = tx.exec_params(
      "SELECT api_url, api_credentials, push_location_id FROM connections WHERE channel = $1",
      channel);
  if (rows.empty() || rows[0][0].as<std::string>().empty()) {
    return Permanent("NO_PLATFORM_API",
                     absl::StrCat("channel ", channel, " has no platform API to read from"));
  }
  return ApiEndpoint{rows[0][0].as<std::string>(), rows[0][1].as<std::string>(),
                     rows[0][2].as<std::string>()};
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
