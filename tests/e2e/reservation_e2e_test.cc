// kura-reservation's OrderService, limited items and substitutes as a real process in front of a
// real kura-ledger process, on a real PostgreSQL: sourcing, TTL expiry, confirmation, hand-over,
// cancellation, idempotency, bad input and the last units under concurrency.
#include "reservation_fixture.h"

namespace kura::reservation::testing {
namespace {

TEST_CASE("An order is sourced in priority order, confirmed, handed over in part and cancelled") {
  Fixture f("rsv_lifecycle");
  f.l.CreateItem("TEE");
  f.l.Receive("TEE", "wh", 3);
  f.l.Receive("TEE", "store-a", 10);
  f.l.Receive("TEE", "store-b", 10);

  // 5 units: the warehouse's 3 first, then 2 from store-a.
  auto placed = f.Place("ec", "ord-1", {{"TEE", 5}});
  INFO(placed.status().ToString());
  REQUIRE(placed.ok());
  REQUIRE(placed->state() == rv1::ORDER_STATE_PENDING);
  REQUIRE(Allocated(*placed, "wh") == 3);
  REQUIRE(Allocated(*placed, "store-a") == 2);
  REQUIRE(f.l.Availability("TEE", "wh").held() == 3);
  REQUIRE(f.l.Availability("TEE", "store-a").held() == 2);

  // A pickup order takes its store first.
  auto pickup = f.Place("ec", "ord-2", {{"TEE", 4}}, "store-b");
  REQUIRE(pickup.ok());
  REQUIRE(Allocated(*pickup, "store-b") == 4);

  auto confirmed = f.Confirm("ec", "ord-1");
  REQUIRE(confirmed.ok());
  REQUIRE(confirmed->state() == rv1::ORDER_STATE_CONFIRMED);
  REQUIRE(f.l.Availability("TEE", "wh").committed() == 3);
  REQUIRE(f.l.Availability("TEE", "wh").held() == 0);
  // Confirming again answers the same.
  REQUIRE(f.Confirm("ec", "ord-1")->state() == rv1::ORDER_STATE_CONFIRMED);

  // Hand over 4 of 5 (the same request twice takes effect once), then cancel the rest.
  auto handed = f.Fulfil("ec", "ord-1", {{"TEE", 4}}, "ful-1");
  REQUIRE(handed.ok());
  REQUIRE(handed->state() == rv1::ORDER_STATE_CONFIRMED);
  REQUIRE(f.Fulfil("ec", "ord-1", {{"TEE", 4}}, "ful-1").ok());
  // The warehouse's 3 and 1 of store-a's 2 left; store-a still has 1 committed to the order.
  REQUIRE(f.l.Availability("TEE", "wh").committed() == 0);
  REQUIRE(f.l.Availability("TEE", "store-a").sellable() == 8);
  REQUIRE(f.l.Availability("TEE", "store-a").committed() == 1);
  auto too_many = f.Fulfil("ec", "ord-1", {{"TEE", 2}});
  REQUIRE(ErrorReason(too_many.status()) == "EXCEEDS_ORDER");

  auto cancelled = f.Cancel("ec", "ord-1");
  REQUIRE(cancelled.ok());
  REQUIRE(cancelled->state() == rv1::ORDER_STATE_CANCELLED);
  // The unit not handed over is back on sale.
  REQUIRE(f.l.Availability("TEE", "store-a").committed() == 0);
  REQUIRE(f.l.Availability("TEE", "store-a").sellable() == 9);
  REQUIRE(f.l.Availability("TEE", "store-a").available_to_promise() == 9);
  // Confirming a cancelled order is refused and changes nothing.
  REQUIRE(ErrorReason(f.Confirm("ec", "ord-1").status()) == "ORDER_CANCELLED");

  // Cancelling before confirmation releases the holds.
  REQUIRE(f.Cancel("ec", "ord-2")->state() == rv1::ORDER_STATE_CANCELLED);
  REQUIRE(f.l.Availability("TEE", "store-b").held() == 0);
  f.l.RequireConsistent();
}

TEST_CASE("An unconfirmed order expires with its TTL and gives its units back") {
  Fixture f("rsv_expiry");
  f.l.CreateItem("CAP");
  f.l.Receive("CAP", "store-a", 2);
  auto placed = f.Place("flash", "f-1", {{"CAP", 2}});
  REQUIRE(placed.ok());
  REQUIRE(f.l.Availability("CAP", "store-a").held() == 2);
  // Sold out meanwhile.
  REQUIRE(ErrorReason(f.Place("flash", "f-2", {{"CAP", 1}}).status()) == "INSUFFICIENT_STOCK");

  REQUIRE(kura::testing::WaitFor(
      [&] {
        auto o = f.Get("flash", "f-1");
        return o.ok() && o->state() == rv1::ORDER_STATE_EXPIRED;
      },
      absl::Seconds(10)));
  auto late = f.Confirm("flash", "f-1");
  REQUIRE(late.status().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(ErrorReason(late.status()) == "ORDER_EXPIRED");
  // The units are on offer again.
  REQUIRE(kura::testing::WaitFor([&] { return f.l.Availability("CAP", "store-a").held() == 0; },
                                 absl::Seconds(10)));
  REQUIRE(f.Place("flash", "f-3", {{"CAP", 2}}).ok());
  f.l.RequireConsistent();
}

TEST_CASE("A confirmation or hand-over cut off by a ledger outage is resumed, never half-applied") {
  Fixture f("rsv_resume");
  f.l.CreateItem("JAM");
  f.l.Receive("JAM", "wh", 2);
  f.l.Receive("JAM", "store-a", 2);
  REQUIRE(f.Place("ec", "r-1", {{"JAM", 3}}).ok());  // two allocations: wh 2, store-a 1
  f.l.Stop();
  auto cut = f.Confirm("ec", "r-1");
  REQUIRE(cut.status().code() == absl::StatusCode::kUnavailable);
  // The unfinished confirmation blocks a cancel and keeps the order pending.
  REQUIRE(ErrorReason(f.Cancel("ec", "r-1").status()) == "ORDER_CONFIRMING");
  REQUIRE(f.Get("ec", "r-1")->state() == rv1::ORDER_STATE_PENDING);
  f.l.Start();
  absl::StatusOr<rv1::Order> resumed;
  REQUIRE(kura::testing::WaitFor(
      [&] {
        resumed = f.Confirm("ec", "r-1");
        return resumed.ok();
      },
      absl::Seconds(20)));
  REQUIRE(resumed->state() == rv1::ORDER_STATE_CONFIRMED);
  REQUIRE(f.l.Availability("JAM", "wh").committed() == 2);
  REQUIRE(f.l.Availability("JAM", "store-a").committed() == 1);
  REQUIRE(f.l.Availability("JAM", "store-a").held() == 0);

  // A hand-over cut off the same way is resumed by repeating it, and blocks the others.
  f.l.Stop();
  REQUIRE(f.Fulfil("ec", "r-1", {{"JAM", 3}}, "hand-over-1").status().code() ==
          absl::StatusCode::kUnavailable);
  REQUIRE(ErrorReason(f.Cancel("ec", "r-1").status()) == "ORDER_FULFILLING");
  REQUIRE(ErrorReason(f.Fulfil("ec", "r-1", {{"JAM", 1}}, "hand-over-2").status()) ==
          "ORDER_FULFILLING");
  f.l.Start();
  absl::StatusOr<rv1::Order> handed;
  REQUIRE(kura::testing::WaitFor(
      [&] {
        handed = f.Fulfil("ec", "r-1", {{"JAM", 3}}, "hand-over-1");
        return handed.ok();
      },
      absl::Seconds(20)));
  REQUIRE(handed->state() == rv1::ORDER_STATE_FULFILLED);
  REQUIRE(f.l.Availability("JAM", "wh").committed() == 0);
  REQUIRE(f.l.Availability("JAM", "store-a").committed() == 0);
  REQUIRE(f.l.Availability("JAM", "store-a").sellable() == 1);
  f.l.RequireConsistent();
}

TEST_CASE("PlaceOrder is idempotent on the channel's order id") {
  Fixture f("rsv_idempotent");
  f.l.CreateItem("MUG");
  f.l.Receive("MUG", "wh", 10);
  auto first = f.Place("ec", "dup-1", {{"MUG", 2}});
  auto again = f.Place("ec", "dup-1", {{"MUG", 2}});
  REQUIRE(first.ok());
  REQUIRE(again.ok());
  REQUIRE(first->SerializeAsString() == again->SerializeAsString());
  REQUIRE(f.l.Availability("MUG", "wh").held() == 2);
  auto other = f.Place("ec", "dup-1", {{"MUG", 3}});
  REQUIRE(other.status().code() == absl::StatusCode::kAlreadyExists);
  REQUIRE(ErrorReason(other.status()) == "ORDER_EXISTS");
  REQUIRE(f.l.Availability("MUG", "wh").held() == 2);
}

TEST_CASE("An order placed paid is held and confirmed in one call") {
  Fixture f("rsv_place_paid");
  f.l.CreateItem("MUG");
  f.l.Receive("MUG", "wh", 3);
  rv1::PlaceOrderRequest r;
  r.set_channel("ec");
  r.set_external_order_id("paid-1");
  r.set_confirm(true);
  auto* line = r.add_lines();
  line->set_sku("MUG");
  line->set_quantity(2);
  auto placed = Call(*f.orders, &Stub::PlaceOrder, r);
  INFO(placed.status().ToString());
  REQUIRE(placed.ok());
  REQUIRE(placed->order().state() == rv1::ORDER_STATE_CONFIRMED);
  REQUIRE(f.l.Availability("MUG", "wh").committed() == 2);
  REQUIRE(f.l.Availability("MUG", "wh").held() == 0);
  // A repeat (paid or not) answers the order as it stands; a confirmation changes nothing.
  auto again = Call(*f.orders, &Stub::PlaceOrder, r);
  REQUIRE(again.ok());
  REQUIRE(again->order().state() == rv1::ORDER_STATE_CONFIRMED);
  r.set_confirm(false);
  REQUIRE(Call(*f.orders, &Stub::PlaceOrder, r).ok());
  REQUIRE(f.Confirm("ec", "paid-1").ok());
  REQUIRE(f.l.Availability("MUG", "wh").committed() == 2);
  // Placed unpaid, then again as paid: the repeat confirms it.
  r.set_external_order_id("unpaid-1");
  line->set_quantity(1);
  REQUIRE(Call(*f.orders, &Stub::PlaceOrder, r)->order().state() == rv1::ORDER_STATE_PENDING);
  REQUIRE(f.l.Availability("MUG", "wh").held() == 1);
  r.set_confirm(true);
  REQUIRE(Call(*f.orders, &Stub::PlaceOrder, r)->order().state() == rv1::ORDER_STATE_CONFIRMED);
  REQUIRE(f.Confirm("ec", "unpaid-1")->state() == rv1::ORDER_STATE_CONFIRMED);
  REQUIRE(f.l.Availability("MUG", "wh").committed() == 3);
  REQUIRE(f.l.Availability("MUG", "wh").held() == 0);
  f.l.RequireConsistent();
}

TEST_CASE("Bad requests get a clear status and change nothing") {
  Fixture f("rsv_bad_input");
  f.l.CreateItem("BAG");
  f.l.Receive("BAG", "wh", 5);
  REQUIRE(ErrorReason(f.Get("ec", "nope").status()) == "ORDER_NOT_FOUND");
  REQUIRE(ErrorReason(f.Confirm("ec", "nope").status()) == "ORDER_NOT_FOUND");
  auto negative = f.Place("ec", "bad-1", {{"BAG", -1}});
  REQUIRE(negative.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(ErrorMetadata(negative.status()).at("field") == "lines[0].quantity");
  REQUIRE(ErrorReason(f.Place("nochannel", "bad-2", {{"BAG", 1}}).status()) == "CHANNEL_NOT_FOUND");
  REQUIRE(ErrorReason(f.Place("ec", "bad-3", {{"NOPE", 1}}).status()) == "ITEM_NOT_FOUND");
  REQUIRE(ErrorReason(f.Place("ec", "bad-4", {{"BAG", 6}}).status()) == "INSUFFICIENT_STOCK");
  REQUIRE(ErrorReason(f.Place("flash", "bad-5", {{"BAG", 1}}, "store-b").status()) ==
          "PICKUP_STORE_NOT_IN_CHANNEL");
  REQUIRE(ErrorReason(f.Place("ec", "bad-6", {{"BAG", 1}}, "wh").status()) == "PICKUP_NOT_ENABLED");
  REQUIRE(ErrorReason(f.Place("ec", "bad-7", {{"BAG", 1}}, "nowhere").status()) ==
          "LOCATION_NOT_FOUND");
  REQUIRE(f.Place("ec", "", {{"BAG", 1}}).status().code() == absl::StatusCode::kInvalidArgument);
  // Nothing was held and no refused order exists.
  REQUIRE(f.l.Availability("BAG", "wh").held() == 0);
  REQUIRE(ErrorReason(f.Get("ec", "bad-4").status()) == "ORDER_NOT_FOUND");
  auto listed = Call(*f.orders, &Stub::ListOrders, rv1::ListOrdersRequest());
  REQUIRE(listed.ok());
  REQUIRE(listed->orders().empty());
}

TEST_CASE("32 concurrent orders for the last 10 units never oversell") {
  Fixture f("rsv_last_units");
  f.l.CreateItem("HOT");
  f.l.Receive("HOT", "store-a", 6);
  f.l.Receive("HOT", "store-b", 4);
  auto outcomes = PlaceAtOnce(32, [&](int i) {
    return f.Place("ec", absl::StrCat("race-", i), {{"HOT", 1}});
  });
  REQUIRE(outcomes == std::map<std::string, int>{{"OK", 10}, {"INSUFFICIENT_STOCK", 22}});
  REQUIRE(f.l.Availability("HOT", "store-a").held() + f.l.Availability("HOT", "store-b").held() ==
          10);
  f.l.RequireConsistent();
}

TEST_CASE("An order its platform accepted that the stock cannot cover is kept as UNFULFILLABLE") {
  Fixture f("rsv_unfulfillable");
  f.l.CreateItem("HOT");
  f.l.Receive("HOT", "store-a", 6);
  f.l.Receive("HOT", "store-b", 4);
  f.l.CreateItem("ALT");
  f.l.Receive("ALT", "wh", 7);
  REQUIRE(Call(*f.substitutes, &rv1::SubstituteService::Stub::SetSubstitutes,
               [] {
                 rv1::SetSubstitutesRequest set;
                 set.set_sku("HOT");
                 set.add_substitute_skus("ALT");
                 return set;
               }())
              .ok());
  const auto accepted = [&](const std::string& id, int64_t units) {
    return f.Place("ec", id, {{"HOT", units}}, "", "cust-1", false, true);
  };
  // 32 accepted orders at once for the last 10 units: 10 hold them, 22 are kept, none lost.
  std::map<std::string, int> states;
  std::mutex mu;
  std::vector<std::thread> callers;
  for (int i = 0; i < 32; ++i) {
    callers.emplace_back([&, i] {
      auto o = accepted(absl::StrCat("acc-", i), 1);
      std::lock_guard lock(mu);
      ++states[o.ok() ? rv1::OrderState_Name(o->state()) : o.status().ToString()];
    });
  }
  for (auto& t : callers) t.join();
  REQUIRE(states == std::map<std::string, int>{{"ORDER_STATE_PENDING", 10},
                                               {"ORDER_STATE_UNFULFILLABLE", 22}});
  REQUIRE(f.l.Availability("HOT", "store-a").held() + f.l.Availability("HOT", "store-b").held() ==
          10);

  // One of them, as its platform and an operator see it.
  auto late = accepted("late-1", 2);
  REQUIRE(late.ok());
  REQUIRE(late->state() == rv1::ORDER_STATE_UNFULFILLABLE);
  REQUIRE(late->unfulfillable_reason() == "INSUFFICIENT_STOCK");
  REQUIRE(late->short_sku() == "HOT");
  REQUIRE(late->unfulfillable_detail().find("available") != std::string::npos);
  REQUIRE(late->allocations().empty());
  REQUIRE(late->lines_size() == 1);
  // A repeat gets it back; other contents under its id are refused; it cannot be confirmed.
  auto again = accepted("late-1", 2);
  REQUIRE(again.ok());
  REQUIRE(again->SerializeAsString() == late->SerializeAsString());
  REQUIRE(ErrorReason(accepted("late-1", 1).status()) == "ORDER_EXISTS");
  REQUIRE(ErrorReason(f.Place("ec", "late-1", {{"HOT", 2}}).status()).empty());  // same contents
  REQUIRE(ErrorReason(f.Confirm("ec", "late-1").status()) == "ORDER_UNFULFILLABLE");
  // Refusals that are not the stock's stay errors, and nothing is kept of them.
  REQUIRE(ErrorReason(f.Place("ec", "bad-1", {{"NOPE", 1}}, "", "cust-1", false, true).status()) ==
          "ITEM_NOT_FOUND");
  REQUIRE(ErrorReason(f.Get("ec", "bad-1").status()) == "ORDER_NOT_FOUND");
  // Without the flag, a shortage is refused as before.
  REQUIRE(ErrorReason(f.Place("ec", "direct-1", {{"HOT", 1}}).status()) == "INSUFFICIENT_STOCK");

  rv1::ListOrdersRequest list;
  list.set_state(rv1::ORDER_STATE_UNFULFILLABLE);
  list.set_page_size(500);
  auto listed = Call(*f.orders, &Stub::ListOrders, list);
  REQUIRE(listed.ok());
  REQUIRE(listed->orders_size() == 23);
  REQUIRE(listed->orders(0).external_order_id() == "late-1");  // newest first

  // The operator's list names the shortage and what is in stock instead.
  auto [code, out] = f.Ctl({"orders", "unfulfillable", "--channel", "ec"});
  INFO(out);
  REQUIRE(code == 0);
  REQUIRE(out.find("late-1") != std::string::npos);
  REQUIRE(out.find("INSUFFICIENT_STOCK") != std::string::npos);
  REQUIRE(out.find("ALT(7)") != std::string::npos);
  auto [shown_code, shown] = f.Ctl({"orders", "get", "ec", "late-1"});
  INFO(shown);
  REQUIRE(shown.find("unfulfillable, customer cust-1, INSUFFICIENT_STOCK: only") !=
          std::string::npos);

  // Cancelled (on the platform, or by an operator): nothing was held, nothing moves.
  auto cancelled = f.Cancel("ec", "late-1");
  REQUIRE(cancelled.ok());
  REQUIRE(cancelled->state() == rv1::ORDER_STATE_CANCELLED);
  REQUIRE(f.l.Availability("HOT", "store-a").held() + f.l.Availability("HOT", "store-b").held() ==
          10);
  f.l.RequireConsistent();
}

TEST_CASE("A limited item sells only in its window, within its cap and per-customer limit") {
  Fixture f("rsv_limited");
  f.l.CreateItem("LTD");
  f.l.CreateItem("OLD");
  f.l.Receive("LTD", "store-a", 100);
  f.l.Receive("OLD", "store-a", 100);
  auto set = f.Limit("LTD", -absl::Hours(1), absl::Hours(1), 5, 2,
                     {{-absl::Minutes(30), 900}, {absl::Minutes(30), 800}});
  INFO(set.status().ToString());
  REQUIRE(set.ok());
  REQUIRE(set->window_open());
  REQUIRE(set->current_price_yen() == 900);  // the step in force now, not the later one

  REQUIRE(f.Place("ec", "a-1", {{"LTD", 2}}, "", "alice").ok());
  // The limit counts across orders and channels.
  auto over = f.Place("flash", "a-2", {{"LTD", 1}}, "", "alice");
  REQUIRE(ErrorReason(over.status()) == "PER_CUSTOMER_LIMIT");
  REQUIRE(f.Place("ec", "b-1", {{"LTD", 2}}, "", "bob").ok());
  REQUIRE(ErrorReason(f.Place("ec", "c-1", {{"LTD", 2}}, "", "carol").status()) ==
          "TOTAL_CAP_REACHED");
  REQUIRE(f.Place("ec", "c-2", {{"LTD", 1}}, "", "carol").ok());
  // A per-customer limit needs a customer.
  REQUIRE(f.Place("ec", "d-1", {{"LTD", 1}}, "", "").status().code() ==
          absl::StatusCode::kInvalidArgument);
  // A refusal changed nothing: 5 units counted, 5 held.
  auto got = Call(*f.limited, &rv1::LimitedItemService::Stub::GetLimitedItem, [] {
    rv1::GetLimitedItemRequest r;
    r.set_sku("LTD");
    return r;
  }());
  REQUIRE(got.ok());
  REQUIRE(got->item().reserved() == 5);
  REQUIRE(f.l.Availability("LTD", "store-a").held() == 5);

  // Cancelling gives alice's allowance and the cap back; an expired order does too.
  REQUIRE(f.Cancel("ec", "a-1").ok());
  REQUIRE(f.Place("flash", "a-3", {{"LTD", 2}}, "", "alice").ok());  // flash: 1 s TTL
  REQUIRE(kura::testing::WaitFor(
      [&] {
        auto o = f.Get("flash", "a-3");
        return o.ok() && o->state() == rv1::ORDER_STATE_EXPIRED;
      },
      absl::Seconds(10)));
  REQUIRE(f.Place("ec", "a-4", {{"LTD", 2}}, "", "alice").ok());

  // Outside its window an item cannot be ordered at all.
  REQUIRE(f.Limit("OLD", -absl::Hours(2), -absl::Hours(1), 0, 0).ok());
  REQUIRE(ErrorReason(f.Place("ec", "o-1", {{"OLD", 1}}, "", "alice").status()) ==
          "SALE_WINDOW_CLOSED");
  // Bad settings are refused.
  auto backwards = f.Limit("OLD", absl::Hours(2), absl::Hours(1), 0, 0);
  REQUIRE(backwards.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(f.l.Availability("OLD", "store-a").held() == 0);
  f.l.RequireConsistent();
}

TEST_CASE("32 concurrent orders of one customer across two channels: the limit holds exactly") {
  Fixture f("rsv_limit_race");
  f.l.CreateItem("DROP");
  f.l.Receive("DROP", "store-a", 1000);
  f.l.CreateChannel("app", {"store-a"});  // a second channel with the default TTL
  REQUIRE(f.Limit("DROP", -absl::Hours(1), absl::Hours(1), 0, 3).ok());
  auto outcomes = PlaceAtOnce(32, [&](int i) {
    return f.Place(i % 2 == 0 ? "ec" : "app", absl::StrCat("drop-", i), {{"DROP", 1}}, "", "dave");
  });
  REQUIRE(outcomes == std::map<std::string, int>{{"OK", 3}, {"PER_CUSTOMER_LIMIT", 29}});
  REQUIRE(f.l.Availability("DROP", "store-a").held() == 3);
}

TEST_CASE("Alternatives: explicit substitutes first, then variants by attribute closeness") {
  Fixture f("rsv_substitutes");
  f.CreateVariant("TEE-NAVY-S", "tee", {{"color", "navy"}, {"size", "S"}});
  f.CreateVariant("TEE-NAVY-M", "tee", {{"color", "navy"}, {"size", "M"}});
  f.CreateVariant("TEE-NAVY-L", "tee", {{"color", "navy"}, {"size", "L"}});
  f.CreateVariant("TEE-WHITE-S", "tee", {{"color", "white"}, {"size", "S"}});
  f.CreateVariant("TEE-WHITE-M", "tee", {{"color", "white"}, {"size", "M"}});
  f.CreateVariant("POLO-NAVY-S", "polo", {{"color", "navy"}, {"size", "S"}});
  for (const char* sku : {"TEE-NAVY-M", "TEE-WHITE-S", "TEE-WHITE-M", "POLO-NAVY-S"}) {
    f.l.Receive(sku, "wh", 5);
  }
  f.l.Receive("TEE-NAVY-M", "store-b", 3);
  f.l.Receive("TEE-NAVY-L", "wh", 1);  // too few for 2

  rv1::SetSubstitutesRequest set;
  set.set_sku("TEE-NAVY-S");
  set.add_substitute_skus("POLO-NAVY-S");
  REQUIRE(Call(*f.substitutes, &rv1::SubstituteService::Stub::SetSubstitutes, set).ok());

  auto online = f.Suggest("TEE-NAVY-S", "ec", "", 2);
  INFO(online.status().ToString());
  REQUIRE(online.ok());
  std::vector<std::string> skus;
  for (const auto& a : online->alternatives()) skus.push_back(a.sku());
  REQUIRE(skus ==
          std::vector<std::string>{"POLO-NAVY-S", "TEE-NAVY-M", "TEE-WHITE-S", "TEE-WHITE-M"});
  REQUIRE(online->alternatives(0).kind() == rv1::ALTERNATIVE_KIND_EXPLICIT);
  REQUIRE(online->alternatives(1).kind() == rv1::ALTERNATIVE_KIND_VARIANT);
  REQUIRE(online->alternatives(1).differs_in(0) == "size");   // same color, other size
  REQUIRE(online->alternatives(2).differs_in(0) == "color");  // same size, other color
  REQUIRE(online->alternatives(3).differs_in_size() == 2);
  REQUIRE(online->alternatives(1).available() == 8);  // wh 5 + store-b 3, both serve ec

  // At one store: only what that store has.
  auto store = f.Suggest("TEE-NAVY-S", "", "store-b", 2);
  REQUIRE(store.ok());
  REQUIRE(store->alternatives_size() == 1);
  REQUIRE(store->alternatives(0).sku() == "TEE-NAVY-M");
  REQUIRE(store->alternatives(0).available() == 3);

  // Bad input.
  REQUIRE(f.Suggest("TEE-NAVY-S", "ec", "store-b", 1).status().code() ==
          absl::StatusCode::kInvalidArgument);
  REQUIRE(ErrorReason(f.Suggest("NOPE", "ec", "", 1).status()) == "ITEM_NOT_FOUND");
  set.add_substitute_skus("TEE-NAVY-S");
  REQUIRE(
      Call(*f.substitutes, &rv1::SubstituteService::Stub::SetSubstitutes, set).status().code() ==
      absl::StatusCode::kInvalidArgument);
  set.set_substitute_skus(1, "NOPE");
  REQUIRE(ErrorReason(
              Call(*f.substitutes, &rv1::SubstituteService::Stub::SetSubstitutes, set).status()) ==
          "ITEM_NOT_FOUND");
}

TEST_CASE("kura-ctl places, shows, confirms and lists orders and reports refusals") {
  Fixture f("rsv_ctl");
  f.l.CreateItem("PEN");
  f.l.Receive("PEN", "store-a", 5);
  auto ctl = [&](std::vector<std::string> args) { return f.Ctl(std::move(args)); };
  auto [placed, placed_out] =
      ctl({"orders", "place", "ec", "web-7", "PEN=3", "--customer", "alice"});
  INFO(placed_out);
  REQUIRE(placed == 0);
  REQUIRE(placed_out.find("order web-7 on ec: pending, customer alice") != std::string::npos);
  REQUIRE(placed_out.find("store-a") != std::string::npos);
  REQUIRE(ctl({"orders", "confirm", "ec", "web-7"}).first == 0);
  auto [listed, listed_out] = ctl({"orders", "--state", "confirmed"});
  INFO(listed_out);
  REQUIRE(listed == 0);
  REQUIRE(listed_out.find("web-7") != std::string::npos);
  REQUIRE(listed_out.find("confirmed") != std::string::npos);
  auto [refused, refused_out] = ctl({"orders", "place", "ec", "web-8", "PEN=9"});
  INFO(refused_out);
  REQUIRE(refused == 1);
  REQUIRE(refused_out.find("FAILED_PRECONDITION INSUFFICIENT_STOCK") != std::string::npos);
  REQUIRE(ctl({"orders", "place", "ec", "web-9", "PEN"}).first == 2);  // not SKU=QTY
  REQUIRE(f.l.Availability("PEN", "store-a").committed() == 3);

  auto [limited, limited_out] = ctl({"limited", "set", "PEN", "--from", "2020-01-01T00:00:00+09:00",
                                     "--until", "2099-01-01T00:00:00+09:00", "--per-customer", "1",
                                     "--markdown", "2020-06-01T00:00:00+09:00=1500"});
  INFO(limited_out);
  REQUIRE(limited == 0);
  REQUIRE(limited_out.find("open") != std::string::npos);
  REQUIRE(limited_out.find("1500") != std::string::npos);
  auto [capped, capped_out] =
      ctl({"orders", "place", "ec", "web-10", "PEN=2", "--customer", "bob"});
  INFO(capped_out);
  REQUIRE(capped == 1);
  REQUIRE(capped_out.find("PER_CUSTOMER_LIMIT") != std::string::npos);
  REQUIRE(ctl({"limited", "set", "PEN", "--from", "yesterday"}).first == 2);

  f.l.CreateItem("PENCIL");
  f.l.Receive("PENCIL", "wh", 4);
  REQUIRE(ctl({"substitutes", "set", "PEN", "PENCIL"}).first == 0);
  auto [suggested, suggested_out] = ctl({"substitutes", "PEN", "--channel", "ec"});
  INFO(suggested_out);
  REQUIRE(suggested == 0);
  REQUIRE(suggested_out.find("PENCIL") != std::string::npos);
  REQUIRE(suggested_out.find("explicit") != std::string::npos);
  REQUIRE(ctl({"substitutes", "PEN"}).first == 1);  // neither --channel nor --store
}

}  // namespace
}  // namespace kura::reservation::testing
