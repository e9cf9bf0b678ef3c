#include "hold_batcher.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kura/base/error.h"
#include "kura/log/log.h"
#include "kura/pg/transaction.h"
#include "store_support.h"

namespace kura::ledger {
namespace {

using Result = absl::StatusOr<v1::CreateHoldsResponse>;

// One request of the batch while it is being decided.
struct Slot {
  const v1::CreateHoldsRequest* request = nullptr;
  std::string bytes_hex;
  std::optional<Result> result;  // set once decided
  bool fresh = false;            // a new request id: stored with its response at commit
  bool stored = false;           // a known request id: answered from the requests table
  int same_as = -1;              // an earlier slot with the same request id and bytes
  int32_t channel_id = 0;
  bool respects_safety = true;
  std::vector<std::pair<int64_t, int32_t>> line_keys;  // (item, location) per line
};

void Fail(Slot& slot, absl::Status status) {
  if (!slot.result) slot.result = Result(std::move(status));
}

// Decides and writes a whole batch in the caller's transaction; returns one result per request.
absl::StatusOr<std::vector<Result>> ApplyHoldBatch(
    Tx& tx, const Clock& clock, const std::vector<const v1::CreateHoldsRequest*>& requests) {
  const absl::Time now = clock.Now();
  std::vector<Slot> slots(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    Slot& s = slots[i];
    s.request = requests[i];
    s.bytes_hex = absl::BytesToHexString(DeterministicBytes(*s.request));
  }

  // 1. Duplicates inside the batch follow their first occurrence; one with other contents is
  // refused, unless the id turns out to be stored already (step 3), which then decides.
  std::map<std::string, int> first_by_id;
  for (size_t i = 0; i < slots.size(); ++i) {
    Slot& s = slots[i];
    auto [it, inserted] = first_by_id.emplace(s.request->request_id(), static_cast<int>(i));
    if (inserted) continue;
    if (slots[it->second].bytes_hex == s.bytes_hex) {
      s.same_as = it->second;
    } else {
      Fail(s, MakeError(absl::StatusCode::kInvalidArgument, "IDEMPOTENCY_KEY_REUSED",
                        absl::StrCat("request_id \"", s.request->request_id(),
                                     "\" was already used for a different request"),
                        {{"request_id", s.request->request_id()}}));
    }
  }
  // 2. One round trip resolves the codes of every request (also of those that turn out to be
  // repeats, which is harmless). Channels are locked FOR SHARE: their settings hold until
  // commit (UpdateChannel locks them FOR UPDATE).
  std::set<std::pair<std::string, std::string>> id_bytes;  // every (request id, contents)
  for (const Slot& s : slots) id_bytes.insert({s.request->request_id(), s.bytes_hex});
  std::vector<std::string> ids, hexes;
  for (const auto& [id, hex] : id_bytes) ids.push_back(id), hexes.push_back(hex);
  std::set<std::string> channel_codes, skus, location_codes;
  for (auto& [id, index] : first_by_id) {
    const Slot& s = slots[index];
    channel_codes.insert(s.request->channel());
    for (const auto& line : s.request->lines()) {
      skus.insert(line.sku());
      location_codes.insert(line.location());
    }
  }
  std::map<std::string, std::pair<int32_t, bool>> channels;
  std::map<std::string, int64_t> items;
  std::map<std::string, int32_t> locations;
  std::set<std::pair<int32_t, int32_t>> serving;
  Resolver resolver(tx);
  for (const auto& row : Prepared(
           tx, "hb_2",
           "WITH c AS (SELECT code, channel_id, respects_safety_stock FROM channels "
           "  WHERE code = ANY($1::text[]) ORDER BY channel_id FOR SHARE) "
           "SELECT 'c', code, channel_id::bigint, respects_safety_stock, NULL::text FROM c "
           "UNION ALL SELECT 'i', sku, item_id, false, NULL FROM items WHERE sku = ANY($2::text[]) "
           "UNION ALL SELECT 'l', code, location_id, false, NULL FROM locations "
           "  WHERE code = ANY($3::text[]) AND NOT is_system "
           "UNION ALL SELECT 's', cl.location_id::text, cl.channel_id, false, NULL "
           "  FROM channel_locations cl JOIN c USING (channel_id)",
           SqlTextArray({channel_codes.begin(), channel_codes.end()}),
           SqlTextArray({skus.begin(), skus.end()}),
           SqlTextArray({location_codes.begin(), location_codes.end()}))) {
    const std::string kind = row[0].as<std::string>(), code = row[1].as<std::string>();
    if (kind == "c") {
      channels[code] = {row[2].as<int32_t>(), row[3].as<bool>()};
    } else if (kind == "i") {
      items[code] = row[2].as<int64_t>();
      resolver.RememberItem(code, row[2].as<int64_t>());
    } else if (kind == "l") {
      locations[code] = row[2].as<int32_t>();
      resolver.RememberLocation(code, row[2].as<int32_t>());
    } else {
      serving.insert({row[2].as<int32_t>(), std::stoi(code)});
    }
  }
  // Time checks (a repeat of a stored request gets its stored answer instead, see step 3).
  for (Slot& s : slots) {
    if (s.result || s.same_as >= 0) continue;
    absl::Time expires_at = FromProto(s.request->expires_at());
    if (expires_at <= now) {
      Fail(s, InvalidArgument("expires_at", "expires_at must be in the future"));
    } else if (expires_at > now + absl::Hours(24 * 90)) {
      Fail(s, InvalidArgument("expires_at", "a hold may last at most 90 days"));
    }
  }

  std::vector<std::string> hold_ids;
  for (Slot& s : slots) {
    if (s.result || s.same_as >= 0) continue;
    auto c = channels.find(s.request->channel());
    if (c == channels.end()) {
      Fail(s, MakeError(absl::StatusCode::kNotFound, "CHANNEL_NOT_FOUND",
                        absl::StrCat("no channel with code \"", s.request->channel(), "\""),
                        {{"channel", s.request->channel()}}));
      continue;
    }
    s.channel_id = c->second.first;
    s.respects_safety = c->second.second;
    for (const auto& line : s.request->lines()) {
      auto item = items.find(line.sku());
      auto loc = locations.find(line.location());
      if (item == items.end()) {
        Fail(s, MakeError(absl::StatusCode::kNotFound, "ITEM_NOT_FOUND",
                          absl::StrCat("no item with sku \"", line.sku(), "\""),
                          {{"sku", line.sku()}}));
      } else if (loc == locations.end()) {
        Fail(s, MakeError(absl::StatusCode::kNotFound, "LOCATION_NOT_FOUND",
                          absl::StrCat("no location with code \"", line.location(), "\""),
                          {{"location", line.location()}}));
      } else if (!serving.count({s.channel_id, loc->second})) {
        Fail(s, MakeError(absl::StatusCode::kFailedPrecondition, "LOCATION_NOT_IN_CHANNEL",
                          absl::StrCat("location ", line.location(), " does not serve channel ",
                                       s.request->channel()),
                          {{"location", line.location()}, {"channel", s.request->channel()}}));
      }
      if (s.result) break;
      s.line_keys.push_back({item->second, loc->second});
      hold_ids.push_back(line.hold_id());
    }
  }

  // 3. Lock what the undecided requests touch, each kind of row once and in the global order.
  std::vector<AccountKey> keys;
  std::set<std::tuple<int32_t, int64_t, int32_t>> usage_keys;
  for (Slot& s : slots) {
    if (s.result || s.same_as >= 0) continue;
    for (const auto& [item, loc] : s.line_keys) {
      keys.push_back({item, loc, v1::BUCKET_SELLABLE});
      usage_keys.insert({s.channel_id, item, loc});
    }
  }
  LockedBalances balances;
  balances.Lock(tx, keys);
  struct UsageRow {
    int64_t held = 0, committed = 0;
    std::optional<int64_t> quota;
    std::optional<int> ratio_bp;
    bool dirty = false;
  };
  std::map<std::tuple<int32_t, int64_t, int32_t>, UsageRow> usage;
  std::map<std::pair<int64_t, int32_t>, int64_t> safety;
  std::set<std::string> taken_hold_ids;
  std::vector<int32_t> uc, ul;
  std::vector<int64_t> ui;
  for (const auto& [c, i, l] : usage_keys) uc.push_back(c), ui.push_back(i), ul.push_back(l);
  if (!usage_keys.empty()) {
    Prepared(tx, "hb_3",
             "INSERT INTO channel_usage (channel_id, item_id, location_id) "
             "SELECT c, i, l FROM unnest($1::integer[], $2::bigint[], $3::integer[]) AS k(c, i, l) "
             "ORDER BY c, i, l ON CONFLICT DO NOTHING",
             SqlNumberArray(uc), SqlNumberArray(ui), SqlNumberArray(ul));
  }
  std::map<std::pair<std::string, std::string>, std::pair<bool, std::string>> known;
  // One round trip: the usage rows locked (in key order), the safety stocks, the hold ids
  // taken, and the stored answers of known request ids. Read after the balance locks: a first
  // attempt of the same request, running concurrently elsewhere, locks the same rows, so by now
  // it has committed (and is seen here) or rolled back.
  for (const auto& row : Prepared(
           tx, "hb_4",
           "WITH u AS (SELECT channel_id, item_id, location_id, held, committed, quota, "
           "  ratio_bp FROM channel_usage WHERE (channel_id, item_id, location_id) IN "
           "  (SELECT * FROM unnest($1::integer[], $2::bigint[], $3::integer[])) "
           "  ORDER BY channel_id, item_id, location_id FOR UPDATE) "
           "SELECT 'u', channel_id, item_id, location_id, held, committed, quota, "
           "  ratio_bp::bigint, NULL::text, NULL::text, NULL::text FROM u "
           "UNION ALL SELECT 's', 0, item_id, location_id, quantity, 0, NULL, NULL, NULL, NULL, "
           "  NULL FROM safety_stock WHERE (item_id, location_id) IN "
           "  (SELECT * FROM unnest($2::bigint[], $3::integer[])) "
           "UNION ALL SELECT 'h', 0, 0, 0, 0, 0, NULL, NULL, hold_id, NULL, NULL FROM holds "
           "  WHERE hold_id = ANY($4::text[]) "
           "UNION ALL SELECT 'q', "
           "  (q.method = 'CreateHolds' AND q.request = decode(r.h, 'hex'))::int, "
           "  0, 0, 0, 0, NULL, NULL, q.request_id, encode(q.response, 'hex'), r.h "
           "  FROM requests q "
           "  JOIN unnest($5::text[], $6::text[]) AS r(id, h) ON q.request_id = r.id",
           SqlNumberArray(uc), SqlNumberArray(ui), SqlNumberArray(ul), SqlTextArray(hold_ids),
           SqlTextArray(ids), SqlTextArray(hexes))) {
    const std::string kind = row[0].as<std::string>();
    if (kind == "u") {
      UsageRow u{row[4].as<int64_t>(), row[5].as<int64_t>()};
      if (!row[6].is_null()) u.quota = row[6].as<int64_t>();
      if (!row[7].is_null()) u.ratio_bp = row[7].as<int>();
      usage[{row[1].as<int32_t>(), row[2].as<int64_t>(), row[3].as<int32_t>()}] = u;
    } else if (kind == "s") {
      safety[{row[2].as<int64_t>(), row[3].as<int32_t>()}] = row[4].as<int64_t>();
    } else if (kind == "h") {
      taken_hold_ids.insert(row[8].as<std::string>());
    } else {
      known[{row[8].as<std::string>(), row[10].as<std::string>()}] = {row[1].as<int>() == 1,
                                                                      row[9].as<std::string>("")};
    }
  }
  // A known id gets its stored answer, or IDEMPOTENCY_KEY_REUSED for other contents, in place
  // of whatever this attempt concluded so far.
  for (Slot& s : slots) {
    auto it = known.find({s.request->request_id(), s.bytes_hex});
    if (it == known.end()) continue;
    s.stored = true;
    s.same_as = -1;  // answers itself
    if (!it->second.first) {
      s.result = Result(MakeError(absl::StatusCode::kInvalidArgument, "IDEMPOTENCY_KEY_REUSED",
                                  absl::StrCat("request_id \"", s.request->request_id(),
                                               "\" was already used for a different request"),
                                  {{"request_id", s.request->request_id()}}));
    } else {
      v1::CreateHoldsResponse stored;
      stored.ParseFromString(absl::HexStringToBytes(it->second.second));
      s.result = Result(std::move(stored));
    }
  }
  // New ids are stored, with their responses, just before the commit.
  for (auto& [id, index] : first_by_id) slots[index].fresh = !slots[index].stored;

  // 4. Decide in arrival order on the locked rows; a refused request leaves them untouched.
  Outbox outbox;
  std::vector<std::string> h_ids, h_orders, h_customers;
  std::vector<int64_t> h_items, h_quantities;
  std::vector<int32_t> h_locations, h_channels;
  std::vector<std::string> h_expires;
  for (Slot& s : slots) {
    if (s.result || s.same_as >= 0) continue;
    std::map<std::pair<int64_t, int32_t>, int64_t> demand;
    for (int i = 0; i < s.request->lines_size(); ++i) {
      demand[s.line_keys[i]] += s.request->lines(i).quantity();
      if (taken_hold_ids.count(s.request->lines(i).hold_id())) {
        Fail(s, MakeError(
                    absl::StatusCode::kAlreadyExists, "HOLD_ID_EXISTS",
                    absl::StrCat("a hold with id \"", s.request->lines(i).hold_id(), "\" exists"),
                    {{"hold_id", s.request->lines(i).hold_id()}}));
      }
    }
    if (s.result) continue;
    for (const auto& [key, quantity] : demand) {
      BalanceRow& sellable = balances[{key.first, key.second, v1::BUCKET_SELLABLE}];
      UsageRow& u = usage[{s.channel_id, key.first, key.second}];
      int64_t available = sellable.on_hand - sellable.held -
                          (s.respects_safety ? safety[{key.first, key.second}] : 0);
      if (auto cap =
              ChannelCapRemaining(u.held, u.committed, u.quota, u.ratio_bp, sellable.on_hand)) {
        available = std::min(available, *cap);
      }
      if (quantity > available) {
        Fail(s, InsufficientStock("units available", resolver.SkuOf(key.first),
                                  resolver.CodeOf(key.second), quantity, available));
        break;
      }
    }
    if (s.result) continue;
    for (const auto& [key, quantity] : demand) {
      BalanceRow& sellable = balances[{key.first, key.second, v1::BUCKET_SELLABLE}];
      sellable.held += quantity;
      sellable.dirty = true;
      UsageRow& u = usage[{s.channel_id, key.first, key.second}];
      u.held += quantity;
      u.dirty = true;
    }
    v1::CreateHoldsResponse response;
    for (int i = 0; i < s.request->lines_size(); ++i) {
      const v1::HoldLine& line = s.request->lines(i);
      taken_hold_ids.insert(line.hold_id());
      v1::Hold* hold = response.add_holds();
      *hold = NewPendingHold(*s.request, line, now);
      *outbox.Add().mutable_hold_created()->mutable_hold() = *hold;
      h_ids.push_back(line.hold_id());
      h_items.push_back(s.line_keys[i].first);
      h_locations.push_back(s.line_keys[i].second);
      h_channels.push_back(s.channel_id);
      h_quantities.push_back(line.quantity());
      h_expires.push_back(SqlTime(FromProto(s.request->expires_at())));
      h_orders.push_back(s.request->order_ref());
      h_customers.push_back(s.request->customer_ref());
    }
    s.result = Result(std::move(response));
  }

  // 5. Write the batch in one statement — the holds, the balances, the channel usage and the
  // new request ids with their responses — then the events.
  std::vector<int32_t> wc, wl;  // the channel usage rows that changed
  std::vector<int64_t> wi, wh;
  for (auto& [key, u] : usage) {
    if (!u.dirty) continue;
    wc.push_back(std::get<0>(key));
    wi.push_back(std::get<1>(key));
    wl.push_back(std::get<2>(key));
    wh.push_back(u.held);
  }
  std::vector<std::string> ok_ids, ok_requests, ok_responses;
  for (Slot& s : slots) {
    if (!s.fresh || !s.result->ok()) continue;  // a failure stores nothing: retry allowed
    ok_ids.push_back(s.request->request_id());
    ok_requests.push_back(s.bytes_hex);
    ok_responses.push_back(absl::BytesToHexString((*s.result)->SerializeAsString()));
  }
  const LockedBalances::Changes changed = balances.Changed();
  auto written = Prepared1(
      tx, "hb_7",
      "WITH hw AS (INSERT INTO holds (hold_id, item_id, location_id, channel_id, quantity, state, "
      "  expires_at, order_ref, customer_ref, create_time) "
      "  SELECT h, i, l, c, q, 1, e, o, cu, $9 FROM unnest($1::text[], $2::bigint[], "
      "  $3::integer[], $4::integer[], $5::bigint[], $6::timestamptz[], $7::text[], $8::text[]) "
      "  AS x(h, i, l, c, q, e, o, cu) ORDER BY h ON CONFLICT DO NOTHING RETURNING 1), "
      "bw AS (UPDATE balances b SET on_hand = v.o, held = v.h FROM unnest($10::bigint[], "
      "  $11::integer[], $12::smallint[], $13::bigint[], $14::bigint[]) AS v(i, l, k, o, h) "
      "  WHERE b.item_id = v.i AND b.location_id = v.l AND b.bucket = v.k), "
      "uw AS (UPDATE channel_usage u SET held = v.h FROM unnest($15::integer[], $16::bigint[], "
      "  $17::integer[], $18::bigint[]) AS v(c, i, l, h) "
      "  WHERE u.channel_id = v.c AND u.item_id = v.i AND u.location_id = v.l), "
      "qw AS (INSERT INTO requests (request_id, method, request, response) "
      "  SELECT id, 'CreateHolds', decode(q, 'hex'), decode(r, 'hex') "
      "  FROM unnest($19::text[], $20::text[], $21::text[]) AS v(id, q, r) "
      "  ORDER BY id ON CONFLICT DO NOTHING RETURNING 1) "
      "SELECT (SELECT count(*) FROM hw), (SELECT count(*) FROM qw)",
      SqlTextArray(h_ids), SqlNumberArray(h_items), SqlNumberArray(h_locations),
      SqlNumberArray(h_channels), SqlNumberArray(h_quantities), SqlTextArray(h_expires),
      SqlTextArray(h_orders), SqlTextArray(h_customers), SqlTime(now), changed.items,
      changed.locations, changed.buckets, changed.on_hands, changed.helds, SqlNumberArray(wc),
      SqlNumberArray(wi), SqlNumberArray(wl), SqlNumberArray(wh), SqlTextArray(ok_ids),
      SqlTextArray(ok_requests), SqlTextArray(ok_responses));
  // Another transaction took one of these hold ids or stored one of these request ids since our
  // look-up: retry the batch, whose next attempt refuses that request or answers it with the
  // stored response.
  if (written[0].as<size_t>() != h_ids.size()) {
    return MakeError(absl::StatusCode::kAborted, "TRANSACTION_CONFLICT",
                     "a hold id was taken concurrently");
  }
  if (written[1].as<size_t>() != ok_ids.size()) {
    return MakeError(absl::StatusCode::kAborted, "TRANSACTION_CONFLICT",
                     "a request id was stored concurrently");
  }
  outbox.AddAvailabilityChanges(resolver, balances);
  outbox.Flush(tx);

  std::vector<Result> results;
  for (Slot& s : slots) {
    results.push_back(s.same_as >= 0 ? *slots[s.same_as].result : *s.result);
  }
  return results;
}

}  // namespace

HoldBatcher::HoldBatcher(pg::Database& db, const Clock& clock, GroupCommitMetrics& metrics,
                         GroupCommitOptions options)
    : db_(db), clock_(clock), queue_(options, metrics, [this](std::vector<Pending>&& batch) {
        return RunBatch(std::move(batch));
      }) {}

void HoldBatcher::SubmitAsync(const v1::CreateHoldsRequest& request, Done done) {
  Pending pending{&request, std::move(done)};
  if (!queue_.Push(std::move(pending))) {
    pending.done(absl::UnavailableError("the ledger is shutting down"));
  }
}

absl::StatusOr<v1::CreateHoldsResponse> HoldBatcher::Submit(const v1::CreateHoldsRequest& request) {
  auto promise = std::make_shared<std::promise<Result>>();
  auto future = promise->get_future();
  SubmitAsync(request, [promise](Result result) { promise->set_value(std::move(result)); });
  return future.get();
}

std::function<void()> HoldBatcher::RunBatch(std::vector<Pending>&& batch) {
  std::vector<const v1::CreateHoldsRequest*> requests;
  for (const Pending& p : batch) requests.push_back(p.request);
  auto results = db_.Run<std::vector<Result>>([&](pqxx::connection& conn) {
    return pg::RunInTransaction<std::vector<Result>>(
        conn, {}, [&](Tx& tx) { return ApplyHoldBatch(tx, clock_, requests); });
  });
  return [batch = std::move(batch), results = std::move(results)]() mutable {
    for (size_t i = 0; i < batch.size(); ++i) {
      try {
        batch[i].done(results.ok() ? std::move((*results)[i]) : Result(results.status()));
      } catch (const std::exception& e) {
        log::Error("a CreateHolds completion failed", {{"error", e.what()}});
      }
    }
  };
}

}  // namespace kura::ledger
