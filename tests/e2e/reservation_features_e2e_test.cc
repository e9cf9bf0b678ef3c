// kura-reservation's pre-orders, channel allocation and store pickup, as a real process in front
// of a real kura-ledger process on a real PostgreSQL. The allocation schedule test drives the
// applier in-process with a manual clock against the same database and ledger.
#include <algorithm>

#include <atomic>

#include "allocation.h"
#include "kura/base/clock.h"
#include "kura/pg/database.h"
#include "orders.h"
#include "reservation_fixture.h"

namespace kura::reservation::testing {
namespace {

namespace lv1 = ::kura::ledger::v1;

// A purchase order: `quantity` units of `sku` expected at `location` after `in`.
void OrderIncoming(LedgerFixture& l, const std::string& sku, const std::string& location,
                   int64_t quantity, absl::Duration in, const std::string& po) {
  lv1::ApplyMovementsRequest r;
  r.set_request_id(NewId());
  auto* m = r.add_movements();
  m->set_kind(lv1::MOVEMENT_KIND_ORDER_INCOMING);
  m->set_sku(sku);
  m->set_location(location);
  m->set_quantity(quantity);
  m->set_source_ref(po);
  m->mutable_expected_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + in));
  auto result = Call(*l.ledger, &lv1::LedgerService::Stub::ApplyMovements, r);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
}

absl::StatusOr<rv1::PreorderItem> EnablePreorders(Fixture& f, const std::string& sku,
                                                  int overbook_percent) {
  rv1::SetPreorderItemRequest r;
  r.mutable_item()->set_sku(sku);
  r.mutable_item()->set_enabled(true);
  r.mutable_item()->set_overbook_percent(overbook_percent);
  auto result = Call(*f.preorders, &rv1::PreorderService::Stub::SetPreorderItem, r);
  if (!result.ok()) return result.status();
  return result->item();
}

rv1::PreorderItem GetPreorderItem(Fixture& f, const std::string& sku) {
  rv1::GetPreorderItemRequest r;
  r.set_sku(sku);
  auto result = Call(*f.preorders, &rv1::PreorderService::Stub::GetPreorderItem, r);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return result->item();
}

absl::StatusOr<rv1::Order> Preorder(Fixture& f, const std::string& id, const std::string& sku,
                                    int64_t quantity, const std::string& customer = "cust-1") {
  return f.Place("ec", id, {{sku, quantity}}, "", customer, true);
}

int64_t Days(const google::protobuf::Timestamp& t) {
  return (t.seconds() - absl::ToUnixSeconds(absl::Now()) + 43200) / 86400;
}

TEST_CASE("Pre-orders are capped at incoming plus overbooking under 32 concurrent orders") {
  Fixture f("rsv_preorder_cap");
  f.l.CreateItem("PRE");
  f.l.CreateItem("PLAIN");
  OrderIncoming(f.l, "PRE", "wh", 10, absl::Hours(24 * 7), "PO-1");
  OrderIncoming(f.l, "PRE", "store-a", 5, absl::Hours(24 * 14), "PO-2");

  // Not enabled: refused, nothing recorded.
  REQUIRE(ErrorReason(Preorder(f, "p-0", "PRE", 1).status()) == "NOT_PREORDERABLE");
  REQUIRE(ErrorReason(EnablePreorders(f, "PRE", 101).status()) == "INVALID_ARGUMENT");
  REQUIRE(ErrorReason(EnablePreorders(f, "NOPE", 0).status()) == "ITEM_NOT_FOUND");
  auto item = EnablePreorders(f, "PRE", 20);
  INFO(item.status().ToString());
  REQUIRE(item.ok());
  REQUIRE(item->incoming() == 15);
  REQUIRE(item->available() == 18);  // 15 + 20 %
  REQUIRE(Days(item->expected_at()) == 7);
  REQUIRE(ErrorReason(Preorder(f, "p-plain", "PLAIN", 1).status()) == "NOT_PREORDERABLE");
  REQUIRE(ErrorReason(Preorder(f, "p-neg", "PRE", -1).status()) == "INVALID_ARGUMENT");

  // 32 customers at once, one unit each: exactly 18 pass.
  auto outcomes = PlaceAtOnce(32, [&](int i) {
    return Preorder(f, absl::StrCat("p-", i), "PRE", 1, absl::StrCat("cust-", i));
  });
  REQUIRE(outcomes == std::map<std::string, int>{{"OK", 18}, {"PREORDER_CAP_REACHED", 14}});
  auto after = GetPreorderItem(f, "PRE");
  REQUIRE(after.preordered() == 18);
  REQUIRE(after.available() == 0);

  // They wait without holding stock, each with its date: the first 10 on PO-1, the rest on PO-2.
  rv1::ListOrdersRequest list;
  list.set_state(rv1::ORDER_STATE_PREORDERED);
  auto waiting = Call(*f.orders, &Stub::ListOrders, list);
  REQUIRE(waiting.ok());
  REQUIRE(waiting->orders_size() == 18);
  std::map<int64_t, int> by_days;
  for (const auto& o : waiting->orders()) {
    REQUIRE(o.preorder());
    REQUIRE(o.allocations().empty());
    ++by_days[Days(o.expected_at())];
  }
  REQUIRE(by_days == std::map<int64_t, int>{{7, 10}, {14, 8}});
  REQUIRE(f.l.Availability("PRE", "wh").held() == 0);

  // A waiting pre-order cannot be confirmed; cancelling gives its unit back.
  const std::string some = waiting->orders(0).external_order_id();
  REQUIRE(ErrorReason(f.Confirm("ec", some).status()) == "ORDER_PREORDERED");
  auto cancelled = f.Cancel("ec", some);
  REQUIRE(cancelled.ok());
  REQUIRE(cancelled->state() == rv1::ORDER_STATE_CANCELLED);
  REQUIRE(GetPreorderItem(f, "PRE").available() == 1);

  // The item is suggested as a pre-order with its date.
  auto suggested = f.Suggest("PRE", "ec", "", 1);
  REQUIRE(suggested.ok());
  REQUIRE(suggested->alternatives_size() == 1);
  REQUIRE(suggested->alternatives(0).kind() == rv1::ALTERNATIVE_KIND_PREORDER);
  REQUIRE(suggested->alternatives(0).available() == 1);
  REQUIRE(Days(suggested->alternatives(0).expected_at()) == 14);
  REQUIRE(f.Suggest("PRE", "ec", "", 2)->alternatives().empty());
}

TEST_CASE("Received stock converts pre-orders in order of placement into confirmed orders") {
  Fixture f("rsv_preorder_convert");
  f.l.CreateItem("PRE");
  OrderIncoming(f.l, "PRE", "wh", 6, absl::Hours(48), "PO-9");
  REQUIRE(EnablePreorders(f, "PRE", 0).ok());
  REQUIRE(Preorder(f, "a", "PRE", 3).ok());
  REQUIRE(Preorder(f, "b", "PRE", 2).ok());
  REQUIRE(Preorder(f, "c", "PRE", 1).ok());

  // 4 units arrive: a (3) converts; b (2) does not fit, and c (1) must not overtake it.
  REQUIRE(f.l.Move(lv1::MOVEMENT_KIND_RECEIVE_INCOMING, "PRE", "wh", 4).ok());
  REQUIRE(kura::testing::WaitFor(
      [&] { return f.Get("ec", "a")->state() == rv1::ORDER_STATE_CONFIRMED; }, absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(500));  // several sweeps
  REQUIRE(f.Get("ec", "b")->state() == rv1::ORDER_STATE_PREORDERED);
  REQUIRE(f.Get("ec", "c")->state() == rv1::ORDER_STATE_PREORDERED);
  auto a = f.Get("ec", "a");
  REQUIRE(Allocated(*a, "wh") == 3);
  REQUIRE(f.l.Availability("PRE", "wh").committed() == 3);
  REQUIRE(GetPreorderItem(f, "PRE").preordered() == 3);
  // The unit left over is owed to b and c (3 waiting, 2 still incoming): not for a new order.
  REQUIRE(f.l.Availability("PRE", "wh").sellable() == 1);
  REQUIRE(ErrorReason(f.Place("ec", "plain-1", {{"PRE", 1}}).status()) == "INSUFFICIENT_STOCK");

  // The rest arrives: b, then c.
  REQUIRE(f.l.Move(lv1::MOVEMENT_KIND_RECEIVE_INCOMING, "PRE", "wh", 2).ok());
  REQUIRE(kura::testing::WaitFor(
      [&] { return f.Get("ec", "c")->state() == rv1::ORDER_STATE_CONFIRMED; }, absl::Seconds(10)));
  REQUIRE(f.Get("ec", "b")->state() == rv1::ORDER_STATE_CONFIRMED);
  REQUIRE(f.l.Availability("PRE", "wh").committed() == 6);
  REQUIRE(f.l.Availability("PRE", "wh").incoming() == 0);
  REQUIRE(GetPreorderItem(f, "PRE").preordered() == 0);

  // Now ordinary orders: handed over as usual.
  auto handed = f.Fulfil("ec", "b", {});
  INFO(handed.status().ToString());
  REQUIRE(handed.ok());
  REQUIRE(handed->state() == rv1::ORDER_STATE_FULFILLED);
  f.l.RequireConsistent();
}

TEST_CASE("Two replicas converting at once move every pre-order onto stock exactly once") {
  Fixture f("rsv_preorder_replicas");
  f.l.CreateItem("PRE");
  OrderIncoming(f.l, "PRE", "wh", 40, absl::Hours(48), "PO-1");
  REQUIRE(EnablePreorders(f, "PRE", 0).ok());
  auto placed =
      PlaceAtOnce(40, [&](int i) { return Preorder(f, absl::StrCat("r-", i), "PRE", 1); });
  REQUIRE(placed == std::map<std::string, int>{{"OK", 40}});

  // Two more replicas beside the service's own sweeper, converting in a loop.
  LedgerClient ledger(grpc::CreateChannel(f.l.address(), grpc::InsecureChannelCredentials()),
                      absl::Seconds(5));
  std::atomic<bool> stop = false;
  std::vector<std::thread> replicas;
  std::vector<absl::Status> failures(2);
  for (int r = 0; r < 2; ++r) {
    replicas.emplace_back([&, r] {
      auto db = pg::Database::Open({.dsn = f.l.dsn(), .threads = 2, .search_path = "reservation"});
      if (!db.ok()) {
        failures[r] = db.status();
        return;
      }
      Orders orders(**db, RealClock::Instance(), ledger, OrderTtl());
      while (!stop) {
        auto converted = orders.ConvertPreorders();
        if (!converted.ok()) failures[r] = converted.status();
      }
    });
  }
  for (int receipt = 0; receipt < 4; ++receipt) {
    REQUIRE(f.l.Move(lv1::MOVEMENT_KIND_RECEIVE_INCOMING, "PRE", "wh", 10).ok());
    absl::SleepFor(absl::Milliseconds(100));
  }
  bool all = kura::testing::WaitFor([&] { return f.l.Availability("PRE", "wh").committed() == 40; },
                                    absl::Seconds(20));
  stop = true;
  for (auto& t : replicas) t.join();
  for (const auto& failure : failures) REQUIRE(failure.ok());
  REQUIRE(all);

  rv1::ListOrdersRequest list;
  list.set_state(rv1::ORDER_STATE_CONFIRMED);
  auto confirmed = Call(*f.orders, &Stub::ListOrders, list);
  REQUIRE(confirmed.ok());
  REQUIRE(confirmed->orders_size() == 40);
  for (const auto& o : confirmed->orders()) REQUIRE(Allocated(o, "wh") == 1);
  auto stock = f.l.Availability("PRE", "wh");
  REQUIRE(stock.held() == 0);
  REQUIRE(stock.sellable() == 0);
  REQUIRE(GetPreorderItem(f, "PRE").preordered() == 0);
  f.l.RequireConsistent();
}

// ------------------------------------------------------------------------------ allocation

absl::Time Tokyo(int y, int mo, int d, int h, int mi) {
  absl::TimeZone tz;
  REQUIRE(absl::LoadTimeZone("Asia/Tokyo", &tz));
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), tz);
}

rv1::AllocationRule QuotaRule(const std::string& sku, int64_t quota) {
  rv1::AllocationRule rule;
  rule.set_sku(sku);
  rule.set_location("store-a");
  rule.set_channel("ec");
  rule.set_quota(quota);
  return rule;
}

TEST_CASE("An allocation schedule switches the ledger's caps at its boundary (manual clock)") {
  // The service's own applier stays out of the way; this test's applier runs on a manual clock.
  Fixture f("rsv_allocation", {{"KURA_ALLOCATION_INTERVAL", "1h"}});
  f.l.CreateItem("HOT");
  f.l.Receive("HOT", "store-a", 20);
  auto db = pg::Database::Open({.dsn = f.l.dsn(), .threads = 1, .search_path = "reservation"});
  REQUIRE(db.ok());
  LedgerClient ledger(grpc::CreateChannel(f.l.address(), grpc::InsecureChannelCredentials()),
                      absl::Seconds(5));
  ManualClock clock(Tokyo(2026, 11, 27, 17, 59));  // a Friday
  Allocation allocation(**db, clock, ledger);
  auto atp = [&] { return f.l.Availability("HOT", "store-a", "ec").available_to_promise(); };

  // Always 10 for the EC site; weekday evenings 18:00-24:00 only 2.
  rv1::SetAllocationRuleRequest always;
  *always.mutable_rule() = QuotaRule("HOT", 10);
  auto stored = allocation.Set(always, std::nullopt);
  INFO(stored.status().ToString());
  REQUIRE(stored.ok());
  REQUIRE(stored->applied());
  REQUIRE(atp() == 10);
  rv1::SetAllocationRuleRequest evening;
  *evening.mutable_rule() = QuotaRule("HOT", 2);
  auto* schedule = evening.mutable_rule()->mutable_schedule();
  for (int d = 1; d <= 5; ++d) schedule->add_weekdays(d);
  schedule->set_start("18:00");
  schedule->set_end("24:00");
  auto scheduled = allocation.Set(evening, std::nullopt);
  REQUIRE(scheduled.ok());
  REQUIRE(atp() == 10);  // not yet
  REQUIRE(allocation.Apply(std::nullopt)->writes == 0);

  // 18:00 Tokyo: the evening cap is written; a hold beyond it fails.
  clock.Set(Tokyo(2026, 11, 27, 18, 0));
  REQUIRE(allocation.Apply(std::nullopt)->writes == 1);
  REQUIRE(atp() == 2);
  REQUIRE(!f.l.Hold("HOT", "store-a", 3).ok());
  REQUIRE(f.l.Hold("HOT", "store-a", 2).ok());
  rv1::GetEffectiveAllocationRequest ask;
  ask.set_sku("HOT");
  ask.set_location("store-a");
  auto effective = allocation.Effective(ask, std::nullopt);
  REQUIRE(effective.ok());
  REQUIRE(effective->local_time() == "2026-11-27 18:00 Fri");
  REQUIRE(effective->values_size() == 2);  // ec, then the safety stock
  REQUIRE(effective->values(0).channel() == "ec");
  REQUIRE(effective->values(0).quota() == 2);
  REQUIRE(effective->values(0).rule_id() == scheduled->rule().rule_id());
  REQUIRE(effective->values(0).reason() ==
          absl::StrCat("rule ", scheduled->rule().rule_id(),
                       ": item HOT, Mon,Tue,Wed,Thu,Fri 18:00-24:00 Asia/Tokyo"));
  REQUIRE(effective->values(0).in_ledger() == "quota 2");
  REQUIRE(effective->values(1).reason() == "no rule applies now");

  // Saturday 00:00: the evening is over and Saturday has none; back to 10 (2 of them held).
  clock.Set(Tokyo(2026, 11, 27, 23, 59));
  REQUIRE(allocation.Apply(std::nullopt)->writes == 0);
  clock.Set(Tokyo(2026, 11, 28, 0, 0));
  REQUIRE(allocation.Apply(std::nullopt)->writes == 1);
  REQUIRE(atp() == 8);
  REQUIRE(f.l.Hold("HOT", "store-a", 3).ok());

  // A product group's safety stock applies to its items; the item's own rule wins over it.
  rv1::DeleteAllocationRuleRequest drop;
  drop.set_rule_id(stored->rule().rule_id());
  REQUIRE(allocation.Delete(drop, std::nullopt).ok());
  REQUIRE(atp() == 15);  // no cap: 20 - 5 held
  REQUIRE(ErrorReason(allocation.Delete(drop, std::nullopt).status()) ==
          "ALLOCATION_RULE_NOT_FOUND");
  f.CreateVariant("TEE-S", "tees", {{"size", "S"}});
  f.l.Receive("TEE-S", "store-a", 10);
  rv1::SetAllocationRuleRequest group_safety;
  group_safety.mutable_rule()->set_product_group("tees");
  group_safety.mutable_rule()->set_location("store-a");
  group_safety.mutable_rule()->set_safety_stock(4);
  REQUIRE(allocation.Set(group_safety, std::nullopt).ok());
  REQUIRE(f.l.Availability("TEE-S", "store-a", "ec").available_to_promise() == 6);
  rv1::SetAllocationRuleRequest own_safety = group_safety;
  own_safety.mutable_rule()->clear_product_group();
  own_safety.mutable_rule()->set_sku("TEE-S");
  own_safety.mutable_rule()->set_safety_stock(1);
  REQUIRE(allocation.Set(own_safety, std::nullopt).ok());
  REQUIRE(f.l.Availability("TEE-S", "store-a", "ec").available_to_promise() == 9);
}

TEST_CASE("Appliers of two replicas racing with rule changes leave the ledger at the last rule") {
  Fixture f("rsv_allocation_race", {{"KURA_ALLOCATION_INTERVAL", "1h"}});
  f.l.CreateItem("HOT");
  f.l.Receive("HOT", "store-a", 100);
  LedgerClient ledger(grpc::CreateChannel(f.l.address(), grpc::InsecureChannelCredentials()),
                      absl::Seconds(5));
  ManualClock clock(Tokyo(2026, 11, 27, 12, 0));
  auto open = [&] {
    auto db = pg::Database::Open({.dsn = f.l.dsn(), .threads = 1, .search_path = "reservation"});
    REQUIRE(db.ok());
    return *std::move(db);
  };
  auto db1 = open(), db2 = open();
  Allocation one(*db1, clock, ledger), two(*db2, clock, ledger);
  rv1::SetAllocationRuleRequest rule;
  *rule.mutable_rule() = QuotaRule("HOT", 1);
  auto stored = one.Set(rule, std::nullopt);
  REQUIRE(stored.ok());
  *rule.mutable_rule() = stored->rule();

  std::atomic<bool> stop = false;
  std::atomic<int> passes = 0;  // passes that ran (took the lock)
  std::vector<absl::Status> failures(2);
  std::vector<std::thread> appliers;
  for (int i = 0; i < 2; ++i) {
    appliers.emplace_back([&, i] {
      while (!stop) {
        auto pass = (i == 0 ? one : two).Apply(std::nullopt);
        if (!pass.ok()) failures[i] = pass.status();
        if (pass.ok() && pass->ran) ++passes;
      }
    });
  }
  for (int64_t quota = 2; quota <= 21; ++quota) {
    rule.mutable_rule()->set_quota(quota);
    REQUIRE((quota % 2 == 0 ? one : two).Set(rule, std::nullopt).ok());
  }
  // Two more passes complete: one of them started after the last change.
  const int seen = passes;
  bool settled = kura::testing::WaitFor([&] { return passes >= seen + 2; }, absl::Seconds(10));
  stop = true;
  for (auto& t : appliers) t.join();
  for (const auto& failure : failures) REQUIRE(failure.ok());
  REQUIRE(settled);
  REQUIRE(f.l.Availability("HOT", "store-a", "ec").available_to_promise() == 21);
  rv1::GetEffectiveAllocationRequest ask;
  ask.set_sku("HOT");
  ask.set_location("store-a");
  REQUIRE(two.Effective(ask, std::nullopt)->values(0).in_ledger() == "quota 21");
}

TEST_CASE("Allocation rules through the API: bad input is refused and changes nothing") {
  Fixture f("rsv_allocation_api");
  f.l.CreateItem("HOT");
  f.l.Receive("HOT", "store-a", 20);
  auto set = [&](rv1::AllocationRule rule) {
    rv1::SetAllocationRuleRequest r;
    *r.mutable_rule() = std::move(rule);
    return Call(*f.allocation, &rv1::AllocationService::Stub::SetAllocationRule, r);
  };
  auto bad = QuotaRule("HOT", 5);
  bad.set_ratio_basis_points(0);
  REQUIRE(ErrorReason(set(bad).status()) == "INVALID_ARGUMENT");
  bad = QuotaRule("HOT", 5);
  bad.set_location("nowhere");
  REQUIRE(ErrorReason(set(bad).status()) == "LOCATION_NOT_FOUND");
  bad = QuotaRule("HOT", 5);
  bad.set_channel("flash");  // served by store-a only
  bad.set_location("store-b");
  REQUIRE(ErrorReason(set(bad).status()) == "LOCATION_NOT_IN_CHANNEL");
  bad = QuotaRule("HOT", 5);
  bad.mutable_schedule()->set_start("25:00");
  REQUIRE(ErrorReason(set(bad).status()) == "INVALID_ARGUMENT");
  bad = QuotaRule("NOPE", 5);
  REQUIRE(ErrorReason(set(bad).status()) == "ITEM_NOT_FOUND");
  auto none = Call(*f.allocation, &rv1::AllocationService::Stub::ListAllocationRules,
                   rv1::ListAllocationRulesRequest());
  REQUIRE(none.ok());
  REQUIRE(none->rules().empty());

  // A ratio rule through the API lands in the ledger at once.
  auto ratio = QuotaRule("HOT", 0);
  ratio.set_ratio_basis_points(2500);
  auto stored = set(ratio);
  INFO(stored.status().ToString());
  REQUIRE(stored.ok());
  REQUIRE(stored->applied());
  REQUIRE(f.l.Availability("HOT", "store-a", "ec").available_to_promise() == 5);
  rv1::GetEffectiveAllocationRequest ask;
  ask.set_sku("HOT");
  ask.set_location("store-a");
  auto effective = Call(*f.allocation, &rv1::AllocationService::Stub::GetEffectiveAllocation, ask);
  REQUIRE(effective.ok());
  REQUIRE(effective->values(0).ratio_basis_points() == 2500);
  REQUIRE(effective->values(0).in_ledger() == "ratio 2500");
}

// ---------------------------------------------------------------------------------- pickup

TEST_CASE("Pickup: available at the store, else the nearest stores that have it, else a date") {
  Fixture f("rsv_pickup");
  f.CreateStore("store-c", 35.4437, 139.6380);  // Yokohama
  {
    lv1::CreateLocationRequest r;  // a pickup store without coordinates
    r.set_request_id(NewId());
    r.mutable_location()->set_code("store-d");
    r.mutable_location()->set_name("store-d");
    r.mutable_location()->set_kind(lv1::LOCATION_KIND_STORE);
    r.mutable_location()->set_time_zone("Asia/Tokyo");
    r.mutable_location()->set_pickup_enabled(true);
    REQUIRE(Call(*f.l.catalog, &lv1::CatalogService::Stub::CreateLocation, r).ok());
  }
  f.l.CreateChannel("bopis", {"store-a", "store-b", "store-c", "store-d", "wh"});
  f.l.CreateItem("BAG");
  f.l.Receive("BAG", "store-b", 2);
  f.l.Receive("BAG", "store-c", 5);
  f.l.Receive("BAG", "store-d", 5);
  OrderIncoming(f.l, "BAG", "store-a", 3, absl::Hours(72), "PO-7");
  auto check = [&](const std::string& store, int64_t quantity) {
    rv1::CheckPickupRequest r;
    r.set_channel("bopis");
    r.set_store(store);
    auto* line = r.add_lines();
    line->set_sku("BAG");
    line->set_quantity(quantity);
    return Call(*f.pickup, &rv1::PickupService::Stub::CheckPickup, r);
  };
  auto here = check("store-b", 2);
  REQUIRE(here.ok());
  REQUIRE(here->available_now());
  REQUIRE(here->alternatives().empty());

  // Not at store-a: store-b (Shinjuku, ~3.5 km), store-c (Yokohama, ~24.5 km), store-d (unknown).
  auto elsewhere = check("store-a", 2);
  REQUIRE(elsewhere.ok());
  REQUIRE(!elsewhere->available_now());
  REQUIRE(elsewhere->store().available(0).quantity() == 0);
  REQUIRE(elsewhere->alternatives_size() == 3);
  REQUIRE(elsewhere->alternatives(0).store() == "store-b");
  REQUIRE(elsewhere->alternatives(0).distance_km() == Approx(3.5).margin(0.3));
  REQUIRE(elsewhere->alternatives(1).store() == "store-c");
  REQUIRE(elsewhere->alternatives(1).distance_km() == Approx(24.5).margin(1));
  REQUIRE(elsewhere->alternatives(2).store() == "store-d");
  REQUIRE(!elsewhere->alternatives(2).has_distance_km());
  REQUIRE(Days(elsewhere->expected_at()) == 3);
  // 4: store-b is too small, and the 3 incoming do not cover it: no date.
  auto big = check("store-a", 4);
  REQUIRE(big.ok());
  REQUIRE(big->alternatives_size() == 2);
  REQUIRE(big->alternatives(0).store() == "store-c");
  REQUIRE(!big->has_expected_at());

  REQUIRE(ErrorReason(check("nowhere", 1).status()) == "LOCATION_NOT_FOUND");
  REQUIRE(ErrorReason(check("wh", 1).status()) == "PICKUP_NOT_ENABLED");
  REQUIRE(ErrorReason(check("store-a", 0).status()) == "INVALID_ARGUMENT");
  REQUIRE(ErrorReason(f.Place("bopis", "nope", {{"BAG", 1}}, "wh").status()) ==
          "PICKUP_NOT_ENABLED");

  // A pickup order holds at its store and is handed over there.
  auto placed = f.Place("bopis", "pick-1", {{"BAG", 2}}, "store-b");
  REQUIRE(placed.ok());
  REQUIRE(Allocated(*placed, "store-b") == 2);
  REQUIRE(f.Confirm("bopis", "pick-1").ok());
  auto complete = [&](const std::string& id, const std::string& store,
                      const std::string& request_id) {
    rv1::CompletePickupRequest r;
    r.set_request_id(request_id);
    r.set_channel("bopis");
    r.set_external_order_id(id);
    r.set_store(store);
    return Call(*f.pickup, &rv1::PickupService::Stub::CompletePickup, r);
  };
  REQUIRE(ErrorReason(complete("pick-1", "store-c", "cp-0").status()) == "PICKUP_STORE_MISMATCH");
  REQUIRE(f.l.Availability("BAG", "store-b").committed() == 2);
  auto done = complete("pick-1", "store-b", "cp-1");
  INFO(done.status().ToString());
  REQUIRE(done.ok());
  REQUIRE(done->order().state() == rv1::ORDER_STATE_FULFILLED);
  REQUIRE(complete("pick-1", "store-b", "cp-1")->order().state() == rv1::ORDER_STATE_FULFILLED);
  REQUIRE(f.l.Availability("BAG", "store-b").committed() == 0);
  REQUIRE(f.l.Availability("BAG", "store-b").sellable() == 0);

  REQUIRE(f.Place("bopis", "ship-1", {{"BAG", 1}}).ok());
  REQUIRE(ErrorReason(complete("ship-1", "store-c", "cp-2").status()) == "NOT_A_PICKUP_ORDER");
  REQUIRE(ErrorReason(complete("ghost", "store-c", "cp-3").status()) == "ORDER_NOT_FOUND");
  f.l.RequireConsistent();
}

TEST_CASE("kura-ctl sets and shows allocation rules, pre-orders and pickup") {
  Fixture f("rsv_features_ctl");
  f.l.CreateItem("PEN");
  f.l.Receive("PEN", "store-b", 3);
  auto expect = [&](std::vector<std::string> args, int code, std::vector<std::string> shown,
                    std::string addr = "") {
    auto [exit, out] = f.Ctl(std::move(args), std::move(addr));
    INFO(out);
    REQUIRE(exit == code);
    for (const auto& text : shown) REQUIRE(out.find(text) != std::string::npos);
  };
  // Allocation: a weekday-evening ratio, shown with its schedule and in effect or not.
  expect({"allocation", "set", "--sku", "PEN", "--location", "store-b", "--channel", "ec",
          "--ratio", "50", "--days", "mon,tue,wed,thu,fri", "--from", "18:00", "--to", "24:00"},
         0, {"rule 1 stored"});
  expect({"allocation"}, 0, {"item PEN", "store-b", "ratio 50.00%", "Mon,Tue,Wed,Thu,Fri"});
  expect({"allocation", "effective", "PEN", "store-b"}, 0, {"Asia/Tokyo", "ec"});
  expect({"allocation", "set", "--sku", "PEN", "--location", "store-b", "--ratio", "0"}, 2, {});
  expect({"allocation", "set", "--sku", "PEN", "--location", "nowhere", "--channel", "ec",
          "--quota", "1"},
         1, {"LOCATION_NOT_FOUND"});
  expect({"allocation", "delete", "1"}, 0, {"rule 1 deleted"});
  expect({"allocation", "delete", "1"}, 1, {"ALLOCATION_RULE_NOT_FOUND"});

  // Pre-orders: a purchase order through the ledger commands, then the item and an order.
  expect({"order-incoming", "PEN", "wh", "4", "--expected", "2099-01-15", "--ref", "PO-1"}, 0,
         {"incoming"}, f.l.address());
  expect({"incoming", "PEN"}, 0, {"PO-1", "2099-01-15"}, f.l.address());
  expect({"preorders", "set", "PEN", "--overbook", "50"}, 0, {"PEN", "6"});
  expect({"orders", "place", "ec", "pre-1", "PEN=5", "--preorder"}, 0, {"preordered"});
  expect({"orders", "place", "ec", "pre-2", "PEN=2", "--preorder"}, 1, {"PREORDER_CAP_REACHED"});
  expect({"preorders"}, 0, {"PEN", "5"});

  // Pickup: store-b has it now; store-a does not and names store-b.
  expect({"pickup", "check", "--channel", "ec", "--store", "store-b", "PEN=2"}, 0,
         {"available now at store-b"});
  expect({"pickup", "check", "--channel", "ec", "--store", "store-a", "PEN=2"}, 0,
         {"not available at store-a", "store-b", "km"});
  expect({"orders", "place", "ec", "pick-1", "PEN=2", "--pickup", "store-b"}, 0, {"pending"});
  expect({"orders", "confirm", "ec", "pick-1"}, 0, {"confirmed"});
  expect({"pickup", "complete", "--channel", "ec", "--order", "pick-1", "--store", "store-a"}, 1,
         {"PICKUP_STORE_MISMATCH"});
  expect({"pickup", "complete", "--channel", "ec", "--order", "pick-1", "--store", "store-b"}, 0,
         {"fulfilled"});
}

}  // namespace
}  // namespace kura::reservation::testing
