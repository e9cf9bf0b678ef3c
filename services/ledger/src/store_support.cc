#include "store_support.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <set>

#include "absl/numeric/int128.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kura/base/error.h"
#include "kura/base/status_macros.h"

namespace kura::ledger {

absl::StatusOr<int64_t> Resolver::Item(const std::string& sku) {
  if (auto it = items_.find(sku); it != items_.end()) return it->second;
  auto rows = Prepared(tx_, "ss_1", "SELECT item_id FROM items WHERE sku = $1", sku);
  if (rows.empty()) {
    return MakeError(absl::StatusCode::kNotFound, "ITEM_NOT_FOUND",
                     absl::StrCat("no item with sku \"", sku, "\""), {{"sku", sku}});
  }
  int64_t id = rows[0][0].as<int64_t>();
  items_[sku] = id;
  skus_[id] = sku;
  return id;
}

absl::StatusOr<int32_t> Resolver::Location(const std::string& code, bool allow_system) {
  if (!allow_system && !code.empty() && code.front() == '@') {
    return MakeError(absl::StatusCode::kNotFound, "LOCATION_NOT_FOUND",
                     absl::StrCat("\"", code, "\" is one of kura's own accounts, not a location"),
                     {{"location", code}});
  }
  if (auto it = locations_.find(code); it != locations_.end()) return it->second;
  auto rows = Prepared(tx_, "ss_2", "SELECT location_id FROM locations WHERE code = $1", code);
  if (rows.empty()) {
    return MakeError(absl::StatusCode::kNotFound, "LOCATION_NOT_FOUND",
                     absl::StrCat("no location with code \"", code, "\""), {{"location", code}});
  }
  int32_t id = rows[0][0].as<int32_t>();
  locations_[code] = id;
  codes_[id] = code;
  return id;
}

int32_t Resolver::System(const std::string& code) {
  auto id = Location(code, true);
  // The system locations are created by the schema migration; their absence is a broken
  // installation, not bad input.
  if (!id.ok()) throw std::logic_error("system location " + code + " is missing");
  return *id;
}

absl::StatusOr<ChannelInfo> Resolver::Channel(const std::string& code) {
  if (auto it = channels_.find(code); it != channels_.end()) return it->second;
  auto rows = Prepared(
      tx_, "ss_3", "SELECT channel_id, kind, respects_safety_stock FROM channels WHERE code = $1",
      code);
  if (rows.empty()) {
    return MakeError(absl::StatusCode::kNotFound, "CHANNEL_NOT_FOUND",
                     absl::StrCat("no channel with code \"", code, "\""), {{"channel", code}});
  }
  ChannelInfo info{rows[0][0].as<int32_t>(), code,
                   static_cast<v1::ChannelKind>(rows[0][1].as<int>()), rows[0][2].as<bool>()};
  channels_[code] = info;
  return info;
}

void Resolver::RememberItem(const std::string& sku, int64_t item_id) {
  items_[sku] = item_id;
  skus_[item_id] = sku;
}

void Resolver::RememberLocation(const std::string& code, int32_t location_id) {
  locations_[code] = location_id;
  codes_[location_id] = code;
}

std::string Resolver::SkuOf(int64_t item_id) {
  if (auto it = skus_.find(item_id); it != skus_.end()) return it->second;
  auto sku = Prepared1(tx_, "ss_4", "SELECT sku FROM items WHERE item_id = $1", item_id)[0]
                 .as<std::string>();
  skus_[item_id] = sku;
  items_[sku] = item_id;
  return sku;
}

std::string Resolver::CodeOf(int32_t location_id) {
  if (auto it = codes_.find(location_id); it != codes_.end()) return it->second;
  auto code =
      Prepared1(tx_, "ss_5", "SELECT code FROM locations WHERE location_id = $1", location_id)[0]
          .as<std::string>();
  codes_[location_id] = code;
  locations_[code] = location_id;
  return code;
}

void LockedBalances::Lock(Tx& tx, std::vector<AccountKey> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  if (keys.empty()) return;
  std::vector<int64_t> item_ids;
  std::vector<int32_t> location_ids;
  std::vector<int> bucket_ids;
  for (const auto& [item, location, bucket] : keys) {
    item_ids.push_back(item);
    location_ids.push_back(location);
    bucket_ids.push_back(bucket);
  }
  std::string items = SqlNumberArray(item_ids), locations = SqlNumberArray(location_ids),
              buckets = SqlNumberArray(bucket_ids);
  // Rows must exist before they can be locked; inserted in key order so that two first writers
  // of overlapping accounts wait for each other instead of deadlocking.
  Prepared(tx, "ss_6",
           "INSERT INTO balances (item_id, location_id, bucket) "
           "SELECT i, l, b FROM unnest($1::bigint[], $2::integer[], $3::smallint[]) AS k(i, l, b) "
           "ORDER BY i, l, b ON CONFLICT DO NOTHING",
           items, locations, buckets);
  auto rows = Prepared(
      tx, "ss_7",
      "SELECT item_id, location_id, bucket, on_hand, held FROM balances "
      "WHERE (item_id, location_id, bucket) IN "
      "  (SELECT i, l, b FROM unnest($1::bigint[], $2::integer[], $3::smallint[]) AS k(i, l, b)) "
      "ORDER BY item_id, location_id, bucket FOR UPDATE",
      items, locations, buckets);
  for (const auto& row : rows) {
    rows_[{row[0].as<int64_t>(), row[1].as<int32_t>(), row[2].as<int>()}] =
        BalanceRow{row[3].as<int64_t>(), row[4].as<int64_t>(), false};
  }
}

BalanceRow& LockedBalances::operator[](const AccountKey& key) {
  auto it = rows_.find(key);
  if (it == rows_.end()) throw std::logic_error("balance used without being locked");
  return it->second;
}

LockedBalances::Changes LockedBalances::Changed() const {
  std::vector<int64_t> items, on_hands, helds;
  std::vector<int32_t> locations;
  std::vector<int> buckets;
  for (const auto& [key, row] : rows_) {
    if (!row.dirty) continue;
    const auto& [item, location, bucket] = key;
    items.push_back(item);
    locations.push_back(location);
    buckets.push_back(bucket);
    on_hands.push_back(row.on_hand);
    helds.push_back(row.held);
  }
  return {SqlNumberArray(items), SqlNumberArray(locations), SqlNumberArray(buckets),
          SqlNumberArray(on_hands), SqlNumberArray(helds)};
}

void LockedBalances::Save(Tx& tx) {
  if (std::none_of(rows_.begin(), rows_.end(), [](const auto& r) { return r.second.dirty; })) {
    return;
  }
  const Changes changed = Changed();
  // One statement for every changed row.
  Prepared(tx, "ss_8",
           "UPDATE balances b SET on_hand = v.o, held = v.h "
           "FROM unnest($1::bigint[], $2::integer[], $3::smallint[], $4::bigint[], $5::bigint[]) "
           "AS v(i, l, k, o, h) WHERE b.item_id = v.i AND b.location_id = v.l AND b.bucket = v.k",
           changed.items, changed.locations, changed.buckets, changed.on_hands, changed.helds);
}

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

v1::Hold NewPendingHold(const v1::CreateHoldsRequest& request, const v1::HoldLine& line,
                        absl::Time now) {
  v1::Hold hold;
  hold.set_hold_id(line.hold_id());
  hold.set_channel(request.channel());
  hold.set_sku(line.sku());
  hold.set_location(line.location());
  hold.set_quantity(line.quantity());
  hold.set_state(v1::HOLD_STATE_PENDING);
  *hold.mutable_expires_at() = ToProto(FromProto(request.expires_at()));
  hold.set_order_ref(request.order_ref());
  hold.set_customer_ref(request.customer_ref());
  *hold.mutable_create_time() = ToProto(now);
  return hold;
}

std::optional<int64_t> ChannelCapRemaining(int64_t held, int64_t committed,
                                           std::optional<int64_t> quota,
                                           std::optional<int> ratio_bp, int64_t sellable_on_hand) {
  if (quota) return *quota - held - committed;
  if (ratio_bp) {
    absl::int128 share = absl::int128(std::max<int64_t>(sellable_on_hand, 0)) * *ratio_bp;
    return static_cast<int64_t>(share / 10000) - held;
  }
  return std::nullopt;
}

void Outbox::AddAvailabilityChanges(Resolver& resolver, const LockedBalances& balances) {
  for (const auto& [key, row] : balances.rows()) {
    const auto& [item, location, bucket] = key;
    if (bucket != v1::BUCKET_SELLABLE || !row.dirty) continue;
    auto* changed = Add().mutable_availability_changed();
    changed->set_sku(resolver.SkuOf(item));
    changed->set_location(resolver.CodeOf(location));
    changed->set_sellable(row.on_hand);
    changed->set_held(row.held);
  }
}

void Outbox::Append(Outbox&& other) {
  for (v1::ChangeEvent& event : other.events_) events_.push_back(std::move(event));
  other.events_.clear();
}

void Outbox::Flush(Tx& tx) {
  if (events_.empty()) return;
  // Stored without their sequence and commit time, which the feed's columns carry (ListChanges
  // puts them back); hex strings need no quoting inside an array literal.
  std::vector<std::string> payloads;
  for (const v1::ChangeEvent& event : events_) {
    payloads.push_back(absl::BytesToHexString(event.SerializeAsString()));
  }
  // One statement: the feed head — the last lock of the transaction, held only until its commit,
  // so sequence order is commit order — then the events, stamped with the database's clock read
  // under that lock (never backwards along the feed), then the notification.
  Prepared(tx, "ss_9",
           "WITH head AS (UPDATE feed_head SET last = last + $1 WHERE id = 1 RETURNING last), "
           "stamp AS (SELECT clock_timestamp() AS t FROM head), "
           "ins AS (INSERT INTO events (sequence, commit_time, payload) "
           "  SELECT head.last - $1 + e.n, stamp.t, decode(e.p, 'hex') "
           "  FROM head, stamp, unnest($2::text[]) WITH ORDINALITY AS e(p, n)) "
           "SELECT pg_notify('kura_ledger_changes', last::text) FROM head",
           static_cast<int64_t>(events_.size()), SqlTextArray(payloads));
  events_.clear();
}

namespace {
thread_local std::optional<absl::Time> current_deadline;
}  // namespace

DeadlineScope::DeadlineScope(std::optional<absl::Time> deadline) : previous_(current_deadline) {
  current_deadline = deadline;
}

DeadlineScope::~DeadlineScope() { current_deadline = previous_; }

std::optional<absl::Time> DeadlineScope::Current() { return current_deadline; }

absl::StatusOr<std::string> RunIdempotent(
    Tx& tx, const std::string& method, const std::string& request_id,
    const google::protobuf::Message& request,
    const std::function<absl::StatusOr<std::string>()>& effect) {
  std::string bytes = absl::BytesToHexString(DeterministicBytes(request));
  // A concurrent first request with the same id makes this INSERT wait until it commits or
  // rolls back; then we either see its row or insert ours.
  auto inserted = Prepared(
      tx, "ss_11",
      "INSERT INTO requests (request_id, method, request) VALUES ($1, $2, decode($3, 'hex')) "
      "ON CONFLICT DO NOTHING RETURNING 1",
      request_id, method, bytes);
  if (inserted.empty()) {
    auto row =
        Prepared1(tx, "ss_12",
                  "SELECT method = $2 AND request = decode($3, 'hex'), encode(response, 'hex') "
                  "FROM requests WHERE request_id = $1",
                  request_id, method, bytes);
    if (!row[0].as<bool>()) {
      return MakeError(
          absl::StatusCode::kInvalidArgument, "IDEMPOTENCY_KEY_REUSED",
          absl::StrCat("request_id \"", request_id, "\" was already used for a different request"),
          {{"request_id", request_id}});
    }
    return absl::HexStringToBytes(row[1].as<std::string>(""));
  }
  ASSIGN_OR_RETURN(std::string response, effect());
  Prepared(tx, "ss_13", "UPDATE requests SET response = decode($2, 'hex') WHERE request_id = $1",
           request_id, absl::BytesToHexString(response));
  return response;
}

}  // namespace kura::ledger
