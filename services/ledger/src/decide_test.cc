// The ledger's rules, decided in memory against a hand-built snapshot: no database, no clock
// but the `now` each Draft is given.
#include "decide.h"

#include <catch2/catch.hpp>

#include "kura/base/error.h"
#include "kura/base/proto_util.h"

namespace kura::ledger {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
constexpr int64_t kTee = 1, kCup = 2;
constexpr int32_t kStore = 10, kWarehouse = 11, kSupplier = 1, kCustomer = 2, kShrink = 3,
                  kVariance = 4;
constexpr int32_t kEc = 20, kRegister = 21;
constexpr int kSellable = v1::BUCKET_SELLABLE, kCommitted = v1::BUCKET_COMMITTED;

// Two items, a store and a warehouse, kura's system locations, an EC channel served by both
// (respecting safety stock) and a register channel served by the store; the given balances.
Snapshot World(std::map<AccountKey, BalanceRow> balances = {}) {
  Snapshot s;
  for (auto [sku, id] : {std::pair<const char*, int64_t>{"TEE", kTee}, {"CUP", kCup}}) {
    s.items[sku] = id;
    s.skus[id] = sku;
  }
  for (auto [code, id, system] : {std::tuple<const char*, int32_t, bool>{"store", kStore, false},
                                  {"wh", kWarehouse, false},
                                  {"@supplier", kSupplier, true},
                                  {"@customer", kCustomer, true},
                                  {"@shrink", kShrink, true},
                                  {"@count_variance", kVariance, true}}) {
    s.locations[code] = LocationRef{id, code, system};
    s.location_codes[id] = code;
  }
  s.channels["ec"] = ChannelRef{kEc, "ec", v1::CHANNEL_KIND_EC_SITE, true, {kStore, kWarehouse}};
  s.channels["pos"] =
      ChannelRef{kRegister, "pos", v1::CHANNEL_KIND_STORE_REGISTER, false, {kStore}};
  s.channel_codes[kEc] = "ec";
  s.channel_codes[kRegister] = "pos";
  // Every account and usage row the tests touch, zero unless given.
  for (int64_t item : {kTee, kCup}) {
    for (int32_t loc : {kStore, kWarehouse}) {
      for (int bucket = 1; bucket <= 6; ++bucket) s.balances[{item, loc, bucket}] = {};
      for (int32_t channel : {kEc, kRegister}) s.usage[{channel, item, loc}] = {};
    }
    for (int32_t system : {kSupplier, kCustomer, kShrink, kVariance}) {
      s.balances[{item, system, kSystemBucket}] = {};
    }
  }
  for (auto& [key, row] : balances) s.balances[key] = row;
  for (int64_t id = 100; id < 200; ++id) s.movement_ids.push_back(id);
  return s;
}

// Decides `request` in a fresh Draft over `s`; commits it when it succeeds.
template <typename Request>
auto Run(const Request& request, Snapshot& s, Changes& changes, absl::Time now = kNow) {
  Draft draft(s, changes, now);
  auto result = Decide(request, draft);
  if (result.ok()) draft.Commit();
  return result;
}

v1::CreateHoldsRequest Holds(const std::string& channel,
                             std::vector<std::tuple<std::string, std::string, int64_t>> lines,
                             absl::Duration ttl = absl::Minutes(15)) {
  static int n = 0;
  v1::CreateHoldsRequest r;
  r.set_request_id("req-" + std::to_string(++n));
  r.set_channel(channel);
  for (const auto& [sku, location, quantity] : lines) {
    v1::HoldLine* line = r.add_lines();
    line->set_hold_id("hold-" + std::to_string(++n));
    line->set_sku(sku);
    line->set_location(location);
    line->set_quantity(quantity);
  }
  *r.mutable_expires_at() = ToProto(kNow + ttl);
  return r;
}

v1::ApplyMovementsRequest Moves(
    std::vector<std::tuple<v1::MovementKind, std::string, std::string, int64_t>> moves) {
  v1::ApplyMovementsRequest r;
  r.set_request_id("moves");
  for (const auto& [kind, sku, location, quantity] : moves) {
    v1::MovementRequest* m = r.add_movements();
    m->set_kind(kind);
    m->set_sku(sku);
    m->set_location(location);
    if (kind == v1::MOVEMENT_KIND_COUNT) {
      m->set_counted_quantity(quantity);
    } else {
      m->set_quantity(quantity);
    }
    if (kind == v1::MOVEMENT_KIND_TRANSFER_SHIP) m->set_to_location("wh");
  }
  return r;
}

TEST_CASE("A hold takes what is sellable, less what is held, the safety stock and the cap") {
  Snapshot s = World({{{kTee, kStore, kSellable}, {10, 3}}});
  s.safety[{kTee, kStore}] = 2;
  Changes changes;
  // The EC channel respects the safety stock: 10 - 3 - 2 = 5.
  auto too_many = Run(Holds("ec", {{"TEE", "store", 6}}), s, changes);
  REQUIRE(ErrorReason(too_many.status()) == "INSUFFICIENT_STOCK");
  REQUIRE(ErrorMetadata(too_many.status()).at("available") == "5");
  // The register channel does not: 10 - 3 = 7, and two lines of one item count together.
  REQUIRE(ErrorReason(
              Run(Holds("pos", {{"TEE", "store", 4}, {"TEE", "store", 4}}), s, changes).status()) ==
          "INSUFFICIENT_STOCK");
  // Refused requests changed nothing.
  REQUIRE(s.balances.at({kTee, kStore, kSellable}).held == 3);
  REQUIRE(changes.events.empty());
  REQUIRE(changes.new_holds.empty());

  auto ok = Run(Holds("ec", {{"TEE", "store", 5}}), s, changes);
  REQUIRE(ok.ok());
  REQUIRE(ok->holds(0).state() == v1::HOLD_STATE_PENDING);
  REQUIRE(FromProto(ok->holds(0).create_time()) == kNow);
  REQUIRE(s.balances.at({kTee, kStore, kSellable}).held == 8);
  REQUIRE(s.usage.at({kEc, kTee, kStore}).held == 5);
  REQUIRE(changes.new_holds.size() == 1);
  REQUIRE(changes.events.size() == 1);
  REQUIRE(changes.events[0].has_hold_created());
  REQUIRE(changes.announce == std::set<Place>{{kTee, kStore}});

  // A quota of 6 for the EC channel there: 5 held already leaves 1.
  s.usage[{kEc, kTee, kStore}].quota = 6;
  s.safety.clear();
  REQUIRE(
      ErrorMetadata(Run(Holds("ec", {{"TEE", "store", 2}}), s, changes).status()).at("available") ==
      "1");
  // A ratio of 50% of the 10 sellable units: 5 held already leaves 0.
  s.usage[{kEc, kTee, kStore}].quota.reset();
  s.usage[{kEc, kTee, kStore}].ratio_bp = 5000;
  REQUIRE(
      ErrorMetadata(Run(Holds("ec", {{"TEE", "store", 1}}), s, changes).status()).at("available") ==
      "0");
}

TEST_CASE(
    "A hold is refused for an unknown item, a location outside the channel, a taken id, or "
    "a bad expiry") {
  Snapshot s =
      World({{{kTee, kStore, kSellable}, {10, 0}}, {{kTee, kWarehouse, kSellable}, {10, 0}}});
  Changes changes;
  REQUIRE(ErrorReason(Run(Holds("ec", {{"NOPE", "store", 1}}), s, changes).status()) ==
          "ITEM_NOT_FOUND");
  REQUIRE(ErrorReason(Run(Holds("gone", {{"TEE", "store", 1}}), s, changes).status()) ==
          "CHANNEL_NOT_FOUND");
  REQUIRE(ErrorReason(Run(Holds("pos", {{"TEE", "wh", 1}}), s, changes).status()) ==
          "LOCATION_NOT_IN_CHANNEL");
  REQUIRE(ErrorReason(Run(Holds("ec", {{"TEE", "@customer", 1}}), s, changes).status()) ==
          "LOCATION_NOT_FOUND");
  REQUIRE(Run(Holds("ec", {{"TEE", "store", 1}}, -absl::Seconds(1)), s, changes).status().code() ==
          absl::StatusCode::kInvalidArgument);
  REQUIRE(
      Run(Holds("ec", {{"TEE", "store", 1}}, absl::Hours(24 * 90) + absl::Seconds(1)), s, changes)
          .status()
          .code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(Run(Holds("ec", {{"TEE", "store", 1}}, absl::Hours(24 * 90)), s, changes).ok());
  // The id of a hold created earlier in the batch, or stored before it, is taken.
  v1::CreateHoldsRequest again = Holds("ec", {{"TEE", "store", 1}});
  again.mutable_lines(0)->set_hold_id(changes.new_holds[0]);
  REQUIRE(ErrorReason(Run(again, s, changes).status()) == "HOLD_ID_EXISTS");
  s.taken_hold_ids.insert("stored-hold");
  again.mutable_lines(0)->set_hold_id("stored-hold");
  REQUIRE(ErrorReason(Run(again, s, changes).status()) == "HOLD_ID_EXISTS");
  REQUIRE(changes.new_holds.size() == 1);
  REQUIRE(s.balances.at({kTee, kStore, kSellable}).held == 1);
}

TEST_CASE("Posting a hold commits its units, releases the rest and records the movement") {
  Snapshot s = World({{{kTee, kStore, kSellable}, {10, 0}}});
  Changes changes;
  auto created = Run(Holds("ec", {{"TEE", "store", 4}}), s, changes);
  REQUIRE(created.ok());
  const std::string id = created->holds(0).hold_id();
  v1::PostHoldRequest post;
  post.set_request_id("post-1");
  post.set_hold_id(id);
  post.set_quantity(5);
  REQUIRE(ErrorReason(Run(post, s, changes).status()) == "QUANTITY_EXCEEDS_HOLD");
  post.set_quantity(3);
  // Expired at its expiry time.
  REQUIRE(ErrorReason(Run(post, s, changes, kNow + absl::Minutes(15)).status()) == "HOLD_EXPIRED");
  changes.events.clear();
  auto posted = Run(post, s, changes, kNow + absl::Minutes(1));
  REQUIRE(posted.ok());
  REQUIRE(posted->hold().state() == v1::HOLD_STATE_POSTED);
  REQUIRE(posted->hold().posted_quantity() == 3);
  REQUIRE(s.balances.at({kTee, kStore, kSellable}).on_hand == 7);
  REQUIRE(s.balances.at({kTee, kStore, kSellable}).held == 0);  // the fourth unit released
  REQUIRE(s.balances.at({kTee, kStore, kCommitted}).on_hand == 3);
  REQUIRE(s.usage.at({kEc, kTee, kStore}).held == 0);
  REQUIRE(s.usage.at({kEc, kTee, kStore}).committed == 3);
  REQUIRE(changes.movements.size() == 1);
  REQUIRE(changes.movements[0].movement_id == 100);
  REQUIRE(changes.movements[0].kind == v1::MOVEMENT_KIND_COMMIT);
  REQUIRE(changes.movements[0].batch_id == "post-1");
  REQUIRE(changes.events.size() == 2);
  REQUIRE(changes.events[0].has_hold_posted());
  REQUIRE(changes.events[1].movement_applied().movement().movement_id() == 100);
  REQUIRE(ErrorReason(Run(post, s, changes).status()) == "HOLD_NOT_PENDING");
  v1::VoidHoldRequest void_it;
  void_it.set_hold_id("no-such-hold");
  REQUIRE(ErrorReason(Run(void_it, s, changes).status()) == "HOLD_NOT_FOUND");
}

TEST_CASE("Expiry releases pending holds that are due and leaves the others alone") {
  Snapshot s = World({{{kTee, kStore, kSellable}, {10, 0}}});
  Changes changes;
  auto short_hold = Run(Holds("ec", {{"TEE", "store", 1}}, absl::Minutes(1)), s, changes);
  auto long_hold = Run(Holds("ec", {{"TEE", "store", 2}}, absl::Minutes(30)), s, changes);
  auto voided = Run(Holds("ec", {{"TEE", "store", 3}}, absl::Minutes(1)), s, changes);
  v1::VoidHoldRequest void_it;
  void_it.set_hold_id(voided->holds(0).hold_id());
  REQUIRE(Run(void_it, s, changes).ok());
  REQUIRE(s.balances.at({kTee, kStore, kSellable}).held == 3);
  ExpireHoldsRequest expire{{short_hold->holds(0).hold_id(), long_hold->holds(0).hold_id(),
                             voided->holds(0).hold_id(), "no-such-hold"}};
  auto expired = Run(expire, s, changes, kNow + absl::Minutes(2));
  REQUIRE(expired.ok());
  REQUIRE(expired->holds_size() == 1);
  REQUIRE(expired->holds(0).hold_id() == short_hold->holds(0).hold_id());
  REQUIRE(expired->holds(0).state() == v1::HOLD_STATE_EXPIRED);
  REQUIRE(s.balances.at({kTee, kStore, kSellable}).held == 2);
  REQUIRE(s.holds.at(voided->holds(0).hold_id()).state == v1::HOLD_STATE_VOIDED);
}

TEST_CASE("A hold created and ended in one batch is written once, in its final state") {
  Snapshot s = World({{{kTee, kStore, kSellable}, {10, 0}}});
  Changes changes;
  auto created = Run(Holds("ec", {{"TEE", "store", 2}}), s, changes);
  REQUIRE(created.ok());
  v1::PostHoldRequest post;
  post.set_request_id("post-new");
  post.set_hold_id(created->holds(0).hold_id());
  REQUIRE(Run(post, s, changes).ok());
  REQUIRE(changes.new_holds == std::vector<std::string>{created->holds(0).hold_id()});
  REQUIRE(changes.ended_holds.empty());  // not updated: inserted as posted
  REQUIRE(s.holds.at(created->holds(0).hold_id()).state == v1::HOLD_STATE_POSTED);
  REQUIRE(s.balances.at({kTee, kStore, kCommitted}).on_hand == 2);
}

TEST_CASE("A batch locks a new hold's committed account only when it posts the hold") {
  const auto create = Holds("ec", {{"TEE", "store", 2}});
  const std::tuple<std::string, std::string, int> committed{"TEE", "store", kCommitted};
  Wants holds_only;
  Declare(create, holds_only);
  REQUIRE(holds_only.accounts.count(committed) == 0);

  v1::PostHoldRequest post;
  post.set_request_id("post-new");
  post.set_hold_id(create.lines(0).hold_id());
  Wants posted_in_batch;
  Declare(create, posted_in_batch);
  Declare(post, posted_in_batch);
  REQUIRE(posted_in_batch.accounts.count(committed) == 1);
  REQUIRE(posted_in_batch.holds.at(post.hold_id()));  // and, if it existed already, its row
}

TEST_CASE("Movements apply in order; store sales may oversell, once reported per account") {
  Snapshot s = World({{{kTee, kStore, kSellable}, {2, 1}}});
  Changes changes;
  auto sold = Run(Moves({{v1::MOVEMENT_KIND_STORE_SALE, "TEE", "store", 2},
                         {v1::MOVEMENT_KIND_STORE_SALE, "TEE", "store", 1},
                         {v1::MOVEMENT_KIND_RECEIVE, "CUP", "store", 5},
                         {v1::MOVEMENT_KIND_STORE_SALE, "CUP", "store", 5}}),
                  s, changes);
  REQUIRE(sold.ok());
  REQUIRE(sold->oversold());
  REQUIRE(sold->movements_size() == 4);
  REQUIRE(s.balances.at({kTee, kStore, kSellable}).on_hand == -1);
  REQUIRE(s.balances.at({kTee, kCustomer, kSystemBucket}).on_hand == 3);
  REQUIRE(s.balances.at({kCup, kStore, kSellable}).on_hand == 0);  // received, then sold
  int oversold = 0;
  for (const auto& e : changes.events) oversold += e.has_oversold() ? 1 : 0;
  REQUIRE(oversold == 1);  // crossing below zero once, for the tee
  REQUIRE(changes.movements.size() == 4);
  REQUIRE(changes.movements[3].movement_id == 103);

  // A transfer takes only what is free; a count that matches records nothing; an adjustment up
  // moves stock in from the count variance account.
  auto transfer = Run(Moves({{v1::MOVEMENT_KIND_TRANSFER_SHIP, "TEE", "store", 1}}), s, changes);
  REQUIRE(ErrorReason(transfer.status()) == "INSUFFICIENT_STOCK");
  REQUIRE(std::string(transfer.status().message()).find("sellable units") != std::string::npos);
  auto counted = Run(Moves({{v1::MOVEMENT_KIND_COUNT, "TEE", "store", 0},
                            {v1::MOVEMENT_KIND_ADJUST, "CUP", "store", 4}}),
                     s, changes);
  REQUIRE(counted.ok());
  REQUIRE(counted->movements_size() == 2);  // the count of 0 against -1 moves 1 unit
  REQUIRE(s.balances.at({kTee, kStore, kSellable}).on_hand == 0);
  REQUIRE(s.balances.at({kCup, kStore, kSellable}).on_hand == 4);
  REQUIRE(counted->movements(1).from_location() == "@count_variance");
  auto same = Run(Moves({{v1::MOVEMENT_KIND_COUNT, "CUP", "store", 4}}), s, changes);
  REQUIRE(same.ok());
  REQUIRE(same->movements_size() == 0);
  // Far beyond any real stock is refused.
  Snapshot huge = World({{{kCup, kStore, kSellable}, {4'000'000'000'000'000'000 - 1, 0}}});
  Changes none;
  REQUIRE(ErrorReason(
              Run(Moves({{v1::MOVEMENT_KIND_ADJUST, "CUP", "store", 4}}), huge, none).status()) ==
          "BALANCE_LIMIT");
}

TEST_CASE("A failing movement leaves the whole request undone") {
  Snapshot s = World({{{kTee, kStore, kSellable}, {5, 0}}});
  Changes changes;
  auto result = Run(Moves({{v1::MOVEMENT_KIND_STORE_SALE, "TEE", "store", 2},
                           {v1::MOVEMENT_KIND_TRANSFER_SHIP, "TEE", "store", 10}}),
                    s, changes);
  REQUIRE(ErrorReason(result.status()) == "INSUFFICIENT_STOCK");
  REQUIRE(s.balances.at({kTee, kStore, kSellable}).on_hand == 5);
  REQUIRE(changes.movements.empty());
  REQUIRE(changes.events.empty());
  REQUIRE(changes.balances.empty());
  // The ids a failed request used are used again by the next.
  REQUIRE(Run(Moves({{v1::MOVEMENT_KIND_STORE_SALE, "TEE", "store", 1}}), s, changes).ok());
  REQUIRE(changes.movements[0].movement_id == 100);
}

TEST_CASE("Committed units leave only as far as the channel committed them") {
  Snapshot s = World({{{kTee, kStore, kCommitted}, {3, 0}}});
  s.usage[{kEc, kTee, kStore}].committed = 2;  // the register channel committed the third
  Changes changes;
  v1::FulfilCommittedRequest fulfil;
  fulfil.set_request_id("fulfil");
  fulfil.set_sku("TEE");
  fulfil.set_location("store");
  fulfil.set_channel("ec");
  fulfil.set_quantity(3);
  REQUIRE(ErrorReason(Run(fulfil, s, changes).status()) == "INSUFFICIENT_COMMITTED");
  fulfil.set_quantity(2);
  REQUIRE(Run(fulfil, s, changes).ok());
  REQUIRE(s.balances.at({kTee, kCustomer, kSystemBucket}).on_hand == 2);
  REQUIRE(s.usage.at({kEc, kTee, kStore}).committed == 0);
  REQUIRE(changes.announce.empty());  // the sellable stock did not change
  v1::CancelCommittedRequest cancel;
  cancel.set_request_id("cancel");
  cancel.set_sku("TEE");
  cancel.set_location("store");
  cancel.set_channel("ec");
  cancel.set_quantity(1);
  REQUIRE(ErrorReason(Run(cancel, s, changes).status()) == "INSUFFICIENT_COMMITTED");
}

TEST_CASE("Safety stock and channel caps are set and announced") {
  Snapshot s = World();
  Changes changes;
  v1::SetSafetyStockRequest safety;
  safety.set_sku("TEE");
  safety.set_location("store");
  safety.set_quantity(4);
  REQUIRE(Run(safety, s, changes).ok());
  REQUIRE(s.safety.at({kTee, kStore}) == 4);
  REQUIRE(changes.safety == std::set<Place>{{kTee, kStore}});
  REQUIRE(changes.balances.count({kTee, kStore, kSellable}) == 1);  // written: see lock_batch
  v1::SetChannelAllocationRequest cap;
  cap.set_channel("ec");
  cap.set_sku("TEE");
  cap.set_location("store");
  cap.set_ratio_basis_points(2500);
  REQUIRE(Run(cap, s, changes).ok());
  REQUIRE(s.usage.at({kEc, kTee, kStore}).ratio_bp == 2500);
  cap.set_quota(7);
  REQUIRE(Run(cap, s, changes).ok());
  REQUIRE(s.usage.at({kEc, kTee, kStore}).quota == 7);
  REQUIRE(!s.usage.at({kEc, kTee, kStore}).ratio_bp.has_value());
  REQUIRE(changes.announce == std::set<Place>{{kTee, kStore}});
  UsageRow u{.held = 2, .committed = 1};
  u.quota = 7;
  REQUIRE(ChannelCapRemaining(u, 100) == 4);
  u.quota.reset();
  u.ratio_bp = 2500;
  REQUIRE(ChannelCapRemaining(u, 10) == 0);  // 2 of the 2.5 allowed held, rounded down
  REQUIRE(ChannelCapRemaining(u, -5) == -2);
  u.ratio_bp.reset();
  REQUIRE(!ChannelCapRemaining(u, 10).has_value());
}

}  // namespace
}  // namespace kura::ledger
