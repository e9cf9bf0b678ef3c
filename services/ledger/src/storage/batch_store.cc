#include "storage/batch_store.h"

#include <pqxx/pqxx>

#include <stdexcept>

#include "absl/strings/escaping.h"
#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "storage/fields.h"
#include "storage/queries.h"

namespace kura::ledger::storage {
namespace {

using pg::SqlBoolArray;
using pg::SqlNumberArray;
using pg::SqlTextArray;

std::string TextArray(const std::set<std::string>& values) {
  return SqlTextArray(std::vector<std::string>(values.begin(), values.end()));
}

std::string NewHoldIds(const Wants& wants) {
  std::vector<std::string> ids;
  for (const auto& [id, place] : wants.new_holds) ids.push_back(id);
  return SqlTextArray(ids);
}

// A row of what a batch reads besides its locked rows (lock_batch and read_batch); false for
// another kind.
bool ReadOther(const std::string& kind, const pqxx::row& row, Snapshot& s) {
  if (kind == "safety") {
    s.safety[{row["item_id"].as<int64_t>(), row["location_id"].as<int32_t>()}] =
        row["quantity"].as<int64_t>();
  } else if (kind == "serves") {
    const std::string& code = s.channel_codes.at(row["channel_id"].as<int32_t>());
    s.channels.at(code).serving.insert(row["location_id"].as<int32_t>());
  } else if (kind == "taken") {
    s.taken_hold_ids.insert(row["hold_id"].as<std::string>());
  } else if (kind == "request") {
    s.requests[row["request_id"].as<std::string>()] =
        StoredRequest{row["method"].as<std::string>(),
                      absl::HexStringToBytes(row["request_hex"].as<std::string>()),
                      absl::HexStringToBytes(row["response_hex"].as<std::string>(""))};
  } else if (kind == "movement_id") {
    s.movement_ids.push_back(row["movement_id"].as<int64_t>());
  } else {
    return false;
  }
  return true;
}

// The rows of lock_batch, by their kind column; whether its reads are stale.
bool ReadLocked(const pqxx::result& rows, Snapshot& s) {
  bool stale = false;
  std::vector<pqxx::row> others;  // read once the channels are known
  for (const pqxx::row& row : rows) {
    const std::string kind = row["kind"].as<std::string>();
    if (kind == "stale") {
      stale = row["stale"].as<bool>();
    } else if (kind == "channel" || kind == "hold_channel") {
      const int32_t id = row["channel_id"].as<int32_t>();
      const std::string code = row["code"].as<std::string>();
      s.channel_codes[id] = code;
      if (kind == "channel") {
        s.channels[code] = ChannelRef{id,
                                      code,
                                      static_cast<v1::ChannelKind>(row["channel_kind"].as<int>()),
                                      row["respects_safety_stock"].as<bool>(),
                                      {}};
      }
    } else if (kind == "item") {
      const int64_t id = row["item_id"].as<int64_t>();
      const std::string sku = row["code"].as<std::string>();
      s.items[sku] = id;
      s.skus[id] = sku;
    } else if (kind == "location") {
      const int32_t id = row["location_id"].as<int32_t>();
      const std::string code = row["code"].as<std::string>();
      s.locations[code] = LocationRef{id, code, row["is_system"].as<bool>()};
      s.location_codes[id] = code;
    } else if (kind == "balance") {
      const AccountKey key{row["item_id"].as<int64_t>(), row["location_id"].as<int32_t>(),
                           row["bucket"].as<int>()};
      s.balances[key] = BalanceRow{row["on_hand"].as<int64_t>(), row["held"].as<int64_t>()};
      s.balance_ctids[key] = row["row_ctid"].as<std::string>();
    } else if (kind == "usage") {
      const UsageKey key{row["channel_id"].as<int32_t>(), row["item_id"].as<int64_t>(),
                         row["location_id"].as<int32_t>()};
      s.usage[key] = UsageRow{row["held"].as<int64_t>(), row["committed"].as<int64_t>(),
                              Optional<int64_t>(row["quota"]), Optional<int>(row["ratio_bp"])};
      s.usage_ctids[key] = row["row_ctid"].as<std::string>();
    } else if (kind == "hold") {
      HoldRow h;
      h.hold_id = row["hold_id"].as<std::string>();
      h.item_id = row["item_id"].as<int64_t>();
      h.location_id = row["location_id"].as<int32_t>();
      h.channel_id = row["channel_id"].as<int32_t>();
      h.quantity = row["quantity"].as<int64_t>();
      h.posted_quantity = row["posted_quantity"].as<int64_t>();
      h.state = static_cast<v1::HoldState>(row["state"].as<int>());
      h.expires_at = FromMicros(row["expires_us"]);
      h.order_ref = row["order_ref"].as<std::string>();
      h.customer_ref = row["customer_ref"].as<std::string>();
      h.create_time = FromMicros(row["create_us"]);
      if (!row["end_us"].is_null()) h.end_time = FromMicros(row["end_us"]);
      s.hold_ctids[h.hold_id] = row["row_ctid"].as<std::string>();
      std::string id = h.hold_id;
      s.holds.emplace(std::move(id), std::move(h));
    } else {
      others.push_back(row);
    }
  }
  for (const pqxx::row& row : others) ReadOther(row["kind"].as<std::string>(), row, s);
  // The holds' codes (their items, locations and channels came in the same result).
  for (auto& [id, h] : s.holds) {
    h.sku = s.skus.at(h.item_id);
    h.location = s.location_codes.at(h.location_id);
    h.channel = s.channel_codes.at(h.channel_id);
  }
  return stale;
}

// Zero rows for the wanted rows that do not exist yet.
void AddMissing(const Wants& wants, Snapshot& s) {
  auto account = [&](const AccountKey& key) {
    if (s.balances.emplace(key, BalanceRow{}).second) s.new_balances.insert(key);
  };
  auto usage = [&](const UsageKey& key) {
    if (s.usage.emplace(key, UsageRow{}).second) s.new_usage.insert(key);
  };
  for (const auto& [sku, code, bucket] : wants.accounts) {
    auto item = s.items.find(sku);
    auto location = s.locations.find(code);
    if (item == s.items.end() || location == s.locations.end()) continue;
    if (location->second.is_system != (bucket == kSystemBucket)) continue;
    account({item->second, location->second.id, bucket});
  }
  for (const auto& [channel, sku, code] : wants.usage) {
    auto c = s.channels.find(channel);
    auto item = s.items.find(sku);
    auto location = s.locations.find(code);
    if (c == s.channels.end() || item == s.items.end() || location == s.locations.end() ||
        location->second.is_system) {
      continue;
    }
    usage({c->second.id, item->second, location->second.id});
  }
  for (const auto& [id, h] : s.holds) {
    account({h.item_id, h.location_id, v1::BUCKET_SELLABLE});
    auto wanted = wants.holds.find(id);
    if (wanted != wants.holds.end() && wanted->second) {
      account({h.item_id, h.location_id, v1::BUCKET_COMMITTED});
    }
    usage({h.channel_id, h.item_id, h.location_id});
  }
}

// The reads of lock_batch again, after its locks (read_batch); the movement ids it allocated
// stay.
void ReadAgain(pqxx::transaction_base& tx, const Wants& wants, Snapshot& s) {
  s.safety.clear();
  s.taken_hold_ids.clear();
  s.requests.clear();
  for (auto& [code, channel] : s.channels) channel.serving.clear();
  std::vector<int64_t> safety_items;
  std::vector<int32_t> safety_locations;
  for (const auto& [sku, code] : wants.safety) {
    auto item = s.items.find(sku);
    auto location = s.locations.find(code);
    if (item == s.items.end() || location == s.locations.end()) continue;
    safety_items.push_back(item->second);
    safety_locations.push_back(location->second.id);
  }
  std::vector<int32_t> channel_ids;
  for (const auto& [code, channel] : s.channels) channel_ids.push_back(channel.id);
  const pqxx::result rows = pg::Exec(tx, queries::kReadBatch, SqlNumberArray(safety_items),
                                     SqlNumberArray(safety_locations), SqlNumberArray(channel_ids),
                                     NewHoldIds(wants), TextArray(wants.request_ids), 0);
  for (const pqxx::row& row : rows) ReadOther(row["kind"].as<std::string>(), row, s);
}

std::optional<std::string> OptionalTime(const std::optional<absl::Time>& t) {
  return t ? std::optional(pg::SqlTime(*t)) : std::nullopt;
}

}  // namespace

Snapshot LoadBatch(pqxx::transaction_base& tx, const Wants& wants) {
  std::vector<std::string> account_skus, account_codes, usage_channels, usage_skus, usage_codes,
      hold_ids, safety_skus, safety_codes;
  std::vector<int> buckets;
  std::vector<bool> hold_committed;
  for (const auto& [sku, code, bucket] : wants.accounts) {
    account_skus.push_back(sku);
    account_codes.push_back(code);
    buckets.push_back(bucket);
  }
  for (const auto& [channel, sku, code] : wants.usage) {
    usage_channels.push_back(channel);
    usage_skus.push_back(sku);
    usage_codes.push_back(code);
  }
  for (const auto& [id, committed] : wants.holds) {
    hold_ids.push_back(id);
    hold_committed.push_back(committed);
  }
  for (const auto& [sku, code] : wants.safety) {
    safety_skus.push_back(sku);
    safety_codes.push_back(code);
  }
  Snapshot s;
  const bool stale = ReadLocked(
      pg::Exec(tx, queries::kLockBatch, TextArray(wants.channels), TextArray(wants.skus),
               TextArray(wants.locations), SqlTextArray(account_skus), SqlTextArray(account_codes),
               SqlNumberArray(buckets), SqlTextArray(usage_channels), SqlTextArray(usage_skus),
               SqlTextArray(usage_codes), SqlTextArray(hold_ids), SqlBoolArray(hold_committed),
               SqlTextArray(safety_skus), SqlTextArray(safety_codes), NewHoldIds(wants),
               TextArray(wants.request_ids), wants.movements),
      s);
  if (stale) ReadAgain(tx, wants, s);
  AddMissing(wants, s);
  return s;
}

bool WriteBatch(pqxx::transaction_base& tx, const Snapshot& s, const Changes& changes,
                absl::Time now) {
  // Holds created (with their state: one may be created and ended in the same batch), and
  // existing holds ended.
  std::vector<std::string> new_ids, new_orders, new_customers, new_expires;
  std::vector<int64_t> new_items, new_quantities, new_posted;
  std::vector<int32_t> new_locations, new_channels;
  std::vector<int> new_states;
  for (const std::string& id : changes.new_holds) {
    const HoldRow& h = s.holds.at(id);
    new_ids.push_back(id);
    new_items.push_back(h.item_id);
    new_locations.push_back(h.location_id);
    new_channels.push_back(h.channel_id);
    new_quantities.push_back(h.quantity);
    new_posted.push_back(h.posted_quantity);
    new_states.push_back(h.state);
    new_expires.push_back(pg::SqlTime(h.expires_at));
    new_orders.push_back(h.order_ref);
    new_customers.push_back(h.customer_ref);
  }
  std::vector<std::string> ended_ctids;
  std::vector<int> ended_states;
  std::vector<int64_t> ended_posted;
  for (const std::string& id : changes.ended_holds) {
    const HoldRow& h = s.holds.at(id);
    ended_ctids.push_back(s.hold_ctids.at(id));
    ended_states.push_back(h.state);
    ended_posted.push_back(h.posted_quantity);
  }
  // Balances and usage rows: new ones inserted, locked ones updated where they are.
  std::vector<int64_t> bn_items, bn_on_hands, bn_helds, b_on_hands, b_helds;
  std::vector<int32_t> bn_locations;
  std::vector<int> bn_buckets;
  std::vector<std::string> b_ctids;
  for (const AccountKey& key : changes.balances) {
    const auto& [item, location, bucket] = key;
    const BalanceRow& row = s.balances.at(key);
    if (s.new_balances.count(key)) {
      bn_items.push_back(item);
      bn_locations.push_back(location);
      bn_buckets.push_back(bucket);
      bn_on_hands.push_back(row.on_hand);
      bn_helds.push_back(row.held);
    } else {
      b_ctids.push_back(s.balance_ctids.at(key));
      b_on_hands.push_back(row.on_hand);
      b_helds.push_back(row.held);
    }
  }
  std::vector<int32_t> un_channels, un_locations;
  std::vector<int64_t> un_items, un_helds, un_committed, u_helds, u_committed;
  std::vector<std::optional<int64_t>> un_quotas, u_quotas;
  std::vector<std::optional<int>> un_ratios, u_ratios;
  std::vector<std::string> u_ctids;
  for (const UsageKey& key : changes.usage) {
    const auto& [channel, item, location] = key;
    const UsageRow& row = s.usage.at(key);
    if (s.new_usage.count(key)) {
      un_channels.push_back(channel);
      un_items.push_back(item);
      un_locations.push_back(location);
      un_helds.push_back(row.held);
      un_committed.push_back(row.committed);
      un_quotas.push_back(row.quota);
      un_ratios.push_back(row.ratio_bp);
    } else {
      u_ctids.push_back(s.usage_ctids.at(key));
      u_helds.push_back(row.held);
      u_committed.push_back(row.committed);
      u_quotas.push_back(row.quota);
      u_ratios.push_back(row.ratio_bp);
    }
  }
  std::vector<int64_t> s_items, s_quantities;
  std::vector<int32_t> s_locations;
  for (const Place& place : changes.safety) {
    s_items.push_back(place.first);
    s_locations.push_back(place.second);
    s_quantities.push_back(s.safety.at(place));
  }
  std::vector<int64_t> m_ids, m_items, m_quantities;
  std::vector<std::string> m_batches, m_refs, m_occurred;
  std::vector<std::optional<std::string>> m_expected;
  std::vector<int> m_kinds, m_from_buckets, m_to_buckets;
  std::vector<int32_t> m_from, m_to, m_channels;
  for (const MovementRow& m : changes.movements) {
    m_ids.push_back(m.movement_id);
    m_batches.push_back(m.batch_id);
    m_kinds.push_back(m.kind);
    m_items.push_back(m.item_id);
    m_quantities.push_back(m.quantity);
    m_from.push_back(m.from_location_id);
    m_from_buckets.push_back(m.from_bucket);
    m_to.push_back(m.to_location_id);
    m_to_buckets.push_back(m.to_bucket);
    m_channels.push_back(m.channel_id);
    m_refs.push_back(m.source_ref);
    m_occurred.push_back(pg::SqlTime(m.occurred_at));
    m_expected.push_back(OptionalTime(m.expected_at));
  }
  std::vector<std::string> q_ids, q_methods, q_requests, q_responses;
  for (const NewRequest& r : changes.requests) {
    q_ids.push_back(r.request_id);
    q_methods.push_back(r.method);
    q_requests.push_back(absl::BytesToHexString(r.request));
    q_responses.push_back(absl::BytesToHexString(r.response));
  }
  // Stored without their sequence and commit time, which the feed's columns carry (ListChanges
  // puts them back); hex strings need no quoting inside an array literal.
  std::vector<std::string> payloads;
  for (const v1::ChangeEvent& event : changes.events) {
    payloads.push_back(absl::BytesToHexString(event.SerializeAsString()));
  }
  const pqxx::row written = pg::Exec1(
      tx, queries::kWriteBatch, pg::SqlTime(now), SqlTextArray(new_ids), SqlNumberArray(new_items),
      SqlNumberArray(new_locations), SqlNumberArray(new_channels), SqlNumberArray(new_quantities),
      SqlNumberArray(new_posted), SqlNumberArray(new_states), SqlTextArray(new_expires),
      SqlTextArray(new_orders), SqlTextArray(new_customers), SqlTextArray(ended_ctids),
      SqlNumberArray(ended_states), SqlNumberArray(ended_posted), SqlNumberArray(bn_items),
      SqlNumberArray(bn_locations), SqlNumberArray(bn_buckets), SqlNumberArray(bn_on_hands),
      SqlNumberArray(bn_helds), SqlTextArray(b_ctids), SqlNumberArray(b_on_hands),
      SqlNumberArray(b_helds), SqlNumberArray(un_channels), SqlNumberArray(un_items),
      SqlNumberArray(un_locations), SqlNumberArray(un_helds), SqlNumberArray(un_committed),
      pg::SqlNullableNumberArray(un_quotas), pg::SqlNullableNumberArray(un_ratios),
      SqlTextArray(u_ctids), SqlNumberArray(u_helds), SqlNumberArray(u_committed),
      pg::SqlNullableNumberArray(u_quotas), pg::SqlNullableNumberArray(u_ratios),
      SqlNumberArray(s_items), SqlNumberArray(s_locations), SqlNumberArray(s_quantities),
      SqlNumberArray(m_ids), SqlTextArray(m_batches), SqlNumberArray(m_kinds),
      SqlNumberArray(m_items), SqlNumberArray(m_quantities), SqlNumberArray(m_from),
      SqlNumberArray(m_from_buckets), SqlNumberArray(m_to), SqlNumberArray(m_to_buckets),
      SqlNumberArray(m_channels), SqlTextArray(m_refs), SqlTextArray(m_occurred),
      pg::SqlNullableTextArray(m_expected), SqlTextArray(q_ids), SqlTextArray(q_methods),
      SqlTextArray(q_requests), SqlTextArray(q_responses), SqlTextArray(payloads));
  // The locked rows are all still there: anything else is a bug, not a conflict to retry.
  const size_t updated =
      ended_ctids.size() + b_ctids.size() + u_ctids.size() + s_items.size() + m_ids.size();
  if (written["rows_written"].as<size_t>() != updated) {
    throw std::logic_error("write_batch wrote " + written["rows_written"].as<std::string>() +
                           " rows of " + std::to_string(updated));
  }
  return written["holds_inserted"].as<size_t>() == new_ids.size() &&
         written["balances_inserted"].as<size_t>() == bn_items.size() &&
         written["usage_inserted"].as<size_t>() == un_items.size() &&
         written["requests_inserted"].as<size_t>() == q_ids.size();
}

}  // namespace kura::ledger::storage
