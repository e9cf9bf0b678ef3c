// kura-ledger's books through its gRPC API, as a real process on a real PostgreSQL: movements,
// holds, availability and the concurrency guarantees (no oversell, no deadlock reaching a
// caller, exactly one winner, exactly-once requests).
#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "kura/base/error.h"
#include "ledger_fixture.h"

namespace kura::ledger::testing {
namespace {

using Stub = v1::LedgerService::Stub;

// Three concurrent requests with one id, the first two identical: whichever contents came first
// take effect once, the others' are refused, and identical ones get the same answer. Returns the
// units that took effect: `same_units` or `other_units`.
template <typename Response>
int64_t RequireOneIdOneEffect(const absl::StatusOr<Response>& same1,
                              const absl::StatusOr<Response>& same2,
                              const absl::StatusOr<Response>& other, int64_t same_units,
                              int64_t other_units) {
  INFO(same1.status().ToString() << " / " << same2.status().ToString() << " / "
                                 << other.status().ToString());
  if (other.ok()) {
    REQUIRE(ErrorReason(same1.status()) == "IDEMPOTENCY_KEY_REUSED");
    REQUIRE(ErrorReason(same2.status()) == "IDEMPOTENCY_KEY_REUSED");
    return other_units;
  }
  REQUIRE(ErrorReason(other.status()) == "IDEMPOTENCY_KEY_REUSED");
  REQUIRE(same1.ok());
  REQUIRE(same2.ok());
  REQUIRE(same1->SerializeAsString() == same2->SerializeAsString());
  return same_units;
}

TEST_CASE("Movements move stock between the documented accounts and keep the books balanced") {
  LedgerFixture l("ledger_moves");
  l.SeedTopology();
  l.CreateItem("TEE-M");
  l.Receive("TEE-M", "store-a", 10);
  REQUIRE(l.Move(v1::MOVEMENT_KIND_STORE_SALE, "TEE-M", "store-a", 3).ok());
  REQUIRE(l.Move(v1::MOVEMENT_KIND_RETURN, "TEE-M", "store-a", 2).ok());
  REQUIRE(l.Move(v1::MOVEMENT_KIND_INSPECT_PASS, "TEE-M", "store-a", 1).ok());
  REQUIRE(l.Move(v1::MOVEMENT_KIND_INSPECT_FAIL, "TEE-M", "store-a", 1).ok());
  REQUIRE(l.Move(v1::MOVEMENT_KIND_WRITE_OFF, "TEE-M", "store-a", 1).ok());

  v1::Availability a = l.Availability("TEE-M", "store-a");
  REQUIRE(a.sellable() == 8);  // 10 - 3 + 1
  REQUIRE(a.quality_control() == 0);
  REQUIRE(a.damaged() == 0);

  // Transfer 5 to the warehouse through in_transit.
  v1::ApplyMovementsRequest ship;
  ship.set_request_id(NewId());
  auto* m = ship.add_movements();
  m->set_kind(v1::MOVEMENT_KIND_TRANSFER_SHIP);
  m->set_sku("TEE-M");
  m->set_location("store-a");
  m->set_to_location("wh");
  m->set_quantity(5);
  REQUIRE(Call(*l.ledger, &Stub::ApplyMovements, ship).ok());
  REQUIRE(l.Availability("TEE-M", "wh").in_transit() == 5);
  REQUIRE(l.Move(v1::MOVEMENT_KIND_TRANSFER_RECEIVE, "TEE-M", "wh", 5).ok());
  REQUIRE(l.Availability("TEE-M", "wh").sellable() == 5);
  REQUIRE(l.Availability("TEE-M", "store-a").sellable() == 3);

  // A count of 1 at the store books a variance of -2; a count of 4 one of +3.
  auto count = l.Move(v1::MOVEMENT_KIND_COUNT, "TEE-M", "store-a", 1);
  REQUIRE(count.ok());
  REQUIRE(count->movements(0).quantity() == 2);
  REQUIRE(count->movements(0).to_location() == "@count_variance");
  REQUIRE(l.Move(v1::MOVEMENT_KIND_COUNT, "TEE-M", "store-a", 4).ok());
  REQUIRE(l.Availability("TEE-M", "store-a").sellable() == 4);
  // A count that matches records nothing.
  REQUIRE(l.Move(v1::MOVEMENT_KIND_COUNT, "TEE-M", "store-a", 4)->movements().empty());

  // Purchase order: incoming, then arrival.
  v1::ApplyMovementsRequest po;
  po.set_request_id(NewId());
  auto* in = po.add_movements();
  in->set_kind(v1::MOVEMENT_KIND_ORDER_INCOMING);
  in->set_sku("TEE-M");
  in->set_location("wh");
  in->set_quantity(20);
  in->mutable_expected_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(72)));
  REQUIRE(Call(*l.ledger, &Stub::ApplyMovements, po).ok());
  REQUIRE(l.Availability("TEE-M", "wh").incoming() == 20);
  REQUIRE(l.Move(v1::MOVEMENT_KIND_RECEIVE_INCOMING, "TEE-M", "wh", 20).ok());
  REQUIRE(l.Availability("TEE-M", "wh").sellable() == 25);

  // Taking more than there is from a bucket is refused and changes nothing.
  auto too_many = l.Move(v1::MOVEMENT_KIND_WRITE_OFF, "TEE-M", "store-a", 1);
  REQUIRE(too_many.status().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(ErrorReason(too_many.status()) == "INSUFFICIENT_STOCK");
  l.RequireConsistent();
}

TEST_CASE("A batch is all or nothing") {
  LedgerFixture l("ledger_batch");
  l.SeedTopology();
  l.CreateItem("A");
  l.Receive("A", "store-a", 5);
  v1::ApplyMovementsRequest r;
  r.set_request_id(NewId());
  auto* ok = r.add_movements();
  ok->set_kind(v1::MOVEMENT_KIND_RECEIVE);
  ok->set_sku("A");
  ok->set_location("store-a");
  ok->set_quantity(100);
  auto* bad = r.add_movements();
  bad->set_kind(v1::MOVEMENT_KIND_TRANSFER_RECEIVE);  // nothing is in transit
  bad->set_sku("A");
  bad->set_location("store-a");
  bad->set_quantity(1);
  auto result = Call(*l.ledger, &Stub::ApplyMovements, r);
  REQUIRE(ErrorReason(result.status()) == "INSUFFICIENT_STOCK");
  REQUIRE(l.Availability("A", "store-a").sellable() == 5);
}

TEST_CASE("64 concurrent callers racing for the last units: exactly that many holds succeed") {
  LedgerFixture l("ledger_race", {{"KURA_DB_POOL_SIZE", "8"}});
  l.SeedTopology();
  l.CreateItem("DROP-1");
  constexpr int kUnits = 40;
  l.Receive("DROP-1", "store-a", kUnits);
  std::atomic<int> ok{0}, insufficient{0}, other{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 64; ++c) {
    callers.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        auto r = l.Hold("DROP-1", "store-a", 1);
        if (r.ok()) {
          ++ok;
        } else if (ErrorReason(r.status()) == "INSUFFICIENT_STOCK" &&
                   r.status().code() == absl::StatusCode::kFailedPrecondition) {
          ++insufficient;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  REQUIRE(other == 0);
  REQUIRE(ok == kUnits);
  REQUIRE(insufficient == 64 * 3 - kUnits);
  v1::Availability a = l.Availability("DROP-1", "store-a", "ec");
  REQUIRE(a.held() == kUnits);
  REQUIRE(a.available_to_promise() == 0);
  l.RequireConsistent();
}

TEST_CASE("Multi-line holds in opposite item order never deadlock") {
  LedgerFixture l("ledger_deadlock", {{"KURA_DB_POOL_SIZE", "8"}});
  l.SeedTopology();
  for (const char* sku : {"X", "Y", "Z"}) {
    l.CreateItem(sku);
    l.Receive(sku, "store-a", 100000);
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 16; ++c) {
    callers.emplace_back([&, c] {
      std::vector<std::string> order = {"X", "Y", "Z"};
      if (c % 2 == 1) std::reverse(order.begin(), order.end());
      for (int round = 0; round < 15; ++round) {
        v1::CreateHoldsRequest r;
        r.set_request_id(NewId());
        r.set_channel("ec");
        for (const auto& sku : order) {
          auto* line = r.add_lines();
          line->set_hold_id(NewId("h"));
          line->set_sku(sku);
          line->set_location("store-a");
          line->set_quantity(1);
        }
        r.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
        auto result = Call(*l.ledger, &Stub::CreateHolds, r);
        if (!result.ok()) {
          UNSCOPED_INFO(result.status().ToString());
          ++failures;
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  REQUIRE(failures == 0);
  REQUIRE(l.Availability("X", "store-a").held() == 16 * 15);
  l.RequireConsistent();
}

TEST_CASE("Demand for one item in several lines is summed before the check") {
  LedgerFixture l("ledger_sum");
  l.SeedTopology();
  l.CreateItem("B");
  l.Receive("B", "store-a", 3);
  v1::CreateHoldsRequest r;
  r.set_request_id(NewId());
  r.set_channel("ec");
  for (int i = 0; i < 2; ++i) {
    auto* line = r.add_lines();
    line->set_hold_id(NewId("h"));
    line->set_sku("B");
    line->set_location("store-a");
    line->set_quantity(2);
  }
  r.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  auto result = Call(*l.ledger, &Stub::CreateHolds, r);
  REQUIRE(ErrorReason(result.status()) == "INSUFFICIENT_STOCK");
  REQUIRE(ErrorMetadata(result.status()).at("requested") == "4");
  REQUIRE(l.Availability("B", "store-a").held() == 0);  // nothing of the request stayed
  r.set_request_id(NewId());
  r.mutable_lines(1)->set_quantity(1);
  REQUIRE(Call(*l.ledger, &Stub::CreateHolds, r).ok());
  REQUIRE(l.Availability("B", "store-a").held() == 3);
}

TEST_CASE("The first writers of an account with no balance row yet do not race") {
  LedgerFixture l("ledger_first", {{"KURA_DB_POOL_SIZE", "8"}});
  l.SeedTopology();
  l.CreateItem("NEW-1");
  l.CreateItem("NEW-2");
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      if (t % 2 == 0) {
        auto r = l.Hold("NEW-1", "store-a", 1);  // no stock, no row: a clean refusal
        if (ErrorReason(r.status()) != "INSUFFICIENT_STOCK") ++unexpected;
      } else {
        auto r = l.Move(v1::MOVEMENT_KIND_RECEIVE, "NEW-2", "store-a", 2);
        if (!r.ok()) ++unexpected;
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(unexpected == 0);
  REQUIRE(l.Availability("NEW-2", "store-a").sellable() == 16);
  l.RequireConsistent();
}

TEST_CASE("A store sale racing an EC hold on the last unit always succeeds") {
  LedgerFixture l("ledger_sale_race", {{"KURA_DB_POOL_SIZE", "4"}});
  l.SeedTopology();
  int oversold_rounds = 0;
  for (int round = 0; round < 12; ++round) {
    std::string sku = absl::StrCat("LAST-", round);
    l.CreateItem(sku);
    l.Receive(sku, "store-a", 1);
    absl::StatusOr<v1::ApplyMovementsResponse> sale;
    absl::StatusOr<v1::CreateHoldsResponse> hold;
    std::thread a([&] { sale = l.Move(v1::MOVEMENT_KIND_STORE_SALE, sku, "store-a", 1); });
    std::thread b([&] { hold = l.Hold(sku, "store-a", 1); });
    a.join();
    b.join();
    INFO(sale.status().ToString());
    REQUIRE(sale.ok());
    // The hold either came first (and the sale oversold) or found nothing left.
    if (hold.ok()) {
      REQUIRE(sale->oversold());
      ++oversold_rounds;
    } else {
      REQUIRE(ErrorReason(hold.status()) == "INSUFFICIENT_STOCK");
      REQUIRE_FALSE(sale->oversold());
    }
    REQUIRE(l.Availability(sku, "store-a", "ec").available_to_promise() == 0);
  }
  // The feed holds exactly one oversold event per oversold round.
  int oversold_events = 0;
  for (const auto& e : l.AllEvents()) oversold_events += e.has_oversold() ? 1 : 0;
  REQUIRE(oversold_events == oversold_rounds);
  l.RequireConsistent();
}

TEST_CASE("Posting, voiding, fulfilling and cancelling move stock as documented") {
  LedgerFixture l("ledger_hold_life");
  l.SeedTopology();
  l.CreateItem("C");
  l.Receive("C", "store-a", 10);
  auto hold = l.Hold("C", "store-a", 4, absl::Minutes(10), "ec", "order-1-line-1");
  REQUIRE(hold.ok());
  REQUIRE(l.Availability("C", "store-a", "ec").available_to_promise() == 6);

  v1::PostHoldRequest post;
  post.set_request_id(NewId());
  post.set_hold_id("order-1-line-1");
  post.set_quantity(3);  // partial: one unit goes back
  auto posted = Call(*l.ledger, &Stub::PostHold, post);
  REQUIRE(posted.ok());
  REQUIRE(posted->hold().state() == v1::HOLD_STATE_POSTED);
  REQUIRE(posted->hold().posted_quantity() == 3);
  v1::Availability a = l.Availability("C", "store-a", "ec");
  REQUIRE(a.sellable() == 7);
  REQUIRE(a.committed() == 3);
  REQUIRE(a.held() == 0);

  post.set_request_id(NewId());
  REQUIRE(ErrorReason(Call(*l.ledger, &Stub::PostHold, post).status()) == "HOLD_NOT_PENDING");
  REQUIRE(l.Hold("C", "store-a", 1, absl::Minutes(10), "ec", "small").ok());
  v1::PostHoldRequest over;
  over.set_request_id(NewId());
  over.set_hold_id("small");
  over.set_quantity(2);
  REQUIRE(ErrorReason(Call(*l.ledger, &Stub::PostHold, over).status()) == "QUANTITY_EXCEEDS_HOLD");
  v1::VoidHoldRequest release_small;
  release_small.set_request_id(NewId());
  release_small.set_hold_id("small");
  REQUIRE(Call(*l.ledger, &Stub::VoidHold, release_small).ok());

  v1::FulfilCommittedRequest fulfil;
  fulfil.set_request_id(NewId());
  fulfil.set_sku("C");
  fulfil.set_location("store-a");
  fulfil.set_quantity(2);
  fulfil.set_channel("ec");
  REQUIRE(Call(*l.ledger, &Stub::FulfilCommitted, fulfil).ok());
  v1::CancelCommittedRequest cancel;
  cancel.set_request_id(NewId());
  cancel.set_sku("C");
  cancel.set_location("store-a");
  cancel.set_quantity(1);
  cancel.set_channel("ec");
  REQUIRE(Call(*l.ledger, &Stub::CancelCommitted, cancel).ok());
  a = l.Availability("C", "store-a", "ec");
  REQUIRE(a.committed() == 0);
  REQUIRE(a.sellable() == 8);
  cancel.set_request_id(NewId());
  REQUIRE(ErrorReason(Call(*l.ledger, &Stub::CancelCommitted, cancel).status()) ==
          "INSUFFICIENT_COMMITTED");

  REQUIRE(l.Hold("C", "store-a", 2, absl::Minutes(10), "ec", "to-void").ok());
  v1::VoidHoldRequest void_hold;
  void_hold.set_request_id(NewId());
  void_hold.set_hold_id("to-void");
  REQUIRE(Call(*l.ledger, &Stub::VoidHold, void_hold)->hold().state() == v1::HOLD_STATE_VOIDED);
  REQUIRE(l.Availability("C", "store-a").held() == 0);
  l.RequireConsistent();
}

TEST_CASE("Safety stock and channel caps limit what a channel may hold") {
  LedgerFixture l("ledger_caps");
  l.SeedTopology();
  l.CreateItem("D");
  l.Receive("D", "store-a", 10);
  v1::SetSafetyStockRequest safety;
  safety.set_request_id(NewId());
  safety.set_sku("D");
  safety.set_location("store-a");
  safety.set_quantity(2);
  REQUIRE(Call(*l.ledger, &Stub::SetSafetyStock, safety).ok());
  REQUIRE(l.Availability("D", "store-a", "ec").available_to_promise() == 8);
  // The register channel does not respect safety stock.
  REQUIRE(l.Availability("D", "store-a", "pos-a").available_to_promise() == 10);
  // A location that does not serve a channel offers it nothing.
  l.Receive("D", "wh", 5);
  REQUIRE(l.Availability("D", "wh", "pos-a").available_to_promise() == 0);

  v1::SetChannelAllocationRequest quota;
  quota.set_request_id(NewId());
  quota.set_channel("ec");
  quota.set_sku("D");
  quota.set_location("store-a");
  quota.set_quota(3);
  REQUIRE(Call(*l.ledger, &Stub::SetChannelAllocation, quota).ok());
  REQUIRE(l.Availability("D", "store-a", "ec").available_to_promise() == 3);
  REQUIRE(l.Hold("D", "store-a", 2).ok());
  REQUIRE(ErrorReason(l.Hold("D", "store-a", 2).status()) == "INSUFFICIENT_STOCK");
  REQUIRE(l.Availability("D", "store-a", "ec").available_to_promise() == 1);

  v1::SetChannelAllocationRequest ratio;
  ratio.set_request_id(NewId());
  ratio.set_channel("ec");
  ratio.set_sku("D");
  ratio.set_location("store-a");
  ratio.set_ratio_basis_points(5000);  // half of the 10 sellable, minus the 2 held
  REQUIRE(Call(*l.ledger, &Stub::SetChannelAllocation, ratio).ok());
  REQUIRE(l.Availability("D", "store-a", "ec").available_to_promise() == 3);
  l.RequireConsistent();
}

TEST_CASE("Expiry racing PostHold has exactly one winner, and an unswept hold stays held") {
  LedgerFixture l("ledger_expiry",
                  {{"KURA_HOLD_SWEEP_INTERVAL", "50ms"}, {"KURA_DB_POOL_SIZE", "4"}});
  l.SeedTopology();
  l.CreateItem("E");
  l.Receive("E", "store-a", 100);
  constexpr int kHolds = 20;
  for (int i = 0; i < kHolds; ++i) {
    REQUIRE(
        l.Hold("E", "store-a", 1, absl::Milliseconds(400 + 10 * i), "ec", absl::StrCat("race-", i))
            .ok());
  }
  absl::SleepFor(absl::Milliseconds(380));
  int posted = 0, expired = 0;
  for (int i = 0; i < kHolds; ++i) {
    v1::PostHoldRequest post;
    post.set_request_id(NewId());
    post.set_hold_id(absl::StrCat("race-", i));
    auto result = Call(*l.ledger, &Stub::PostHold, post);
    if (result.ok()) {
      ++posted;
    } else {
      std::string reason = ErrorReason(result.status());
      REQUIRE((reason == "HOLD_EXPIRED" || reason == "HOLD_NOT_PENDING"));
    }
  }
  // Every hold ends in exactly one terminal state, matching what PostHold answered.
  REQUIRE(kura::testing::WaitFor([&] { return l.Availability("E", "store-a").held() == 0; },
                                 absl::Seconds(10)));
  v1::ListHoldsRequest list;
  list.set_page_size(100);
  auto holds = Call(*l.ledger, &Stub::ListHolds, list);
  REQUIRE(holds.ok());
  int posted_state = 0;
  for (const auto& h : holds->holds()) {
    REQUIRE((h.state() == v1::HOLD_STATE_POSTED || h.state() == v1::HOLD_STATE_EXPIRED));
    posted_state += h.state() == v1::HOLD_STATE_POSTED ? 1 : 0;
    expired += h.state() == v1::HOLD_STATE_EXPIRED ? 1 : 0;
  }
  REQUIRE(posted_state == posted);
  REQUIRE(posted + expired == kHolds);
  REQUIRE(l.Availability("E", "store-a").committed() == posted);
  l.RequireConsistent();
}

TEST_CASE("ListHolds finds an order's holds, also among holds without an order") {
  LedgerFixture l("ledger_holds_by_order");
  l.SeedTopology();
  l.CreateItem("O");
  l.Receive("O", "store-a", 10);
  const auto hold = [&](const std::string& order_ref) {
    v1::CreateHoldsRequest r;
    r.set_request_id(NewId());
    r.set_channel("ec");
    r.set_order_ref(order_ref);
    auto* line = r.add_lines();
    line->set_hold_id(NewId("hold"));
    line->set_sku("O");
    line->set_location("store-a");
    line->set_quantity(1);
    r.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Minutes(15)));
    auto created = Call(*l.ledger, &Stub::CreateHolds, r);
    REQUIRE(created.ok());
    return created->holds(0).hold_id();
  };
  hold("");
  const std::string first = hold("order-7");
  hold("order-8");
  hold("");
  const std::string second = hold("order-7");
  v1::ListHoldsRequest list;
  list.set_order_ref("order-7");
  auto found = Call(*l.ledger, &Stub::ListHolds, list);
  REQUIRE(found.ok());
  std::set<std::string> ids;
  for (const auto& h : found->holds()) {
    REQUIRE(h.order_ref() == "order-7");
    ids.insert(h.hold_id());
  }
  REQUIRE(ids == std::set<std::string>{first, second});
  list.set_order_ref("");
  auto all = Call(*l.ledger, &Stub::ListHolds, list);
  REQUIRE(all.ok());
  REQUIRE(all->holds_size() == 5);
}

TEST_CASE("An expired hold that is not yet swept is never offered again") {
  LedgerFixture l("ledger_unswept", {{"KURA_HOLD_SWEEP_INTERVAL", "10m"}});
  l.SeedTopology();
  l.CreateItem("F");
  l.Receive("F", "store-a", 1);
  REQUIRE(l.Hold("F", "store-a", 1, absl::Milliseconds(200)).ok());
  absl::SleepFor(absl::Milliseconds(400));
  REQUIRE(l.Availability("F", "store-a", "ec").available_to_promise() == 0);
  REQUIRE(ErrorReason(l.Hold("F", "store-a", 1).status()) == "INSUFFICIENT_STOCK");
}

TEST_CASE("A request id takes effect once, also when retried concurrently") {
  LedgerFixture l("ledger_idem", {{"KURA_DB_POOL_SIZE", "8"}});
  l.SeedTopology();
  l.CreateItem("G");
  auto first = l.Move(v1::MOVEMENT_KIND_RECEIVE, "G", "store-a", 5, "receipt-1");
  REQUIRE(first.ok());
  auto again = l.Move(v1::MOVEMENT_KIND_RECEIVE, "G", "store-a", 5, "receipt-1");
  REQUIRE(again.ok());
  REQUIRE(again->movements(0).movement_id() == first->movements(0).movement_id());
  REQUIRE(l.Availability("G", "store-a").sellable() == 5);

  std::vector<std::thread> threads;
  std::vector<int64_t> ids(16, -1);
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      auto r = l.Move(v1::MOVEMENT_KIND_RECEIVE, "G", "store-a", 7, "receipt-2");
      if (r.ok()) ids[t] = r->movements(0).movement_id();
    });
  }
  for (auto& t : threads) t.join();
  for (int64_t id : ids) REQUIRE(id == ids[0]);
  REQUIRE(ids[0] > 0);
  REQUIRE(l.Availability("G", "store-a").sellable() == 12);

  // Concurrent duplicates of a CreateHolds: one hold, the same answer for all.
  v1::CreateHoldsRequest hold;
  hold.set_request_id("order-77");
  hold.set_channel("ec");
  auto* line = hold.add_lines();
  line->set_hold_id("order-77-1");
  line->set_sku("G");
  line->set_location("store-a");
  line->set_quantity(2);
  hold.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  std::vector<std::string> answers(8);
  threads.clear();
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto r = Call(*l.ledger, &Stub::CreateHolds, hold);
      answers[t] = r.ok() ? r->SerializeAsString() : r.status().ToString();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& a : answers) REQUIRE(a == answers[0]);
  REQUIRE(l.Availability("G", "store-a").held() == 2);

  // A post retried after its response was lost posts once.
  v1::PostHoldRequest post;
  post.set_request_id("post-77");
  post.set_hold_id("order-77-1");
  auto posted = Call(*l.ledger, &Stub::PostHold, post);
  REQUIRE(posted.ok());
  auto posted_again = Call(*l.ledger, &Stub::PostHold, post);
  REQUIRE(posted_again.ok());
  REQUIRE(posted_again->SerializeAsString() == posted->SerializeAsString());
  REQUIRE(l.Availability("G", "store-a").committed() == 2);

  auto reused = l.Move(v1::MOVEMENT_KIND_RECEIVE, "G", "store-a", 8, "receipt-2");
  REQUIRE(reused.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(ErrorReason(reused.status()) == "IDEMPOTENCY_KEY_REUSED");
  l.RequireConsistent();
}

TEST_CASE("Requests that fail in a batch fail alone; the others commit") {
  // A long window gathers the burst into one batch when group commit is on.
  LedgerFixture l("ledger_mixed", {{"KURA_BATCH_WINDOW", "50ms"}, {"KURA_DB_POOL_SIZE", "4"}});
  l.SeedTopology();
  l.CreateItem("M");
  l.Receive("M", "store-a", 10);
  REQUIRE(l.Hold("M", "store-a", 1, absl::Minutes(5), "ec", "reused-1").ok());

  // One expiry for all, so that requests built alike are alike to the byte.
  const int64_t expires = absl::ToUnixSeconds(absl::Now() + absl::Hours(1));
  auto request = [expires](const std::string& id, const std::string& sku, int64_t quantity,
                           const std::string& hold_id) {
    v1::CreateHoldsRequest r;
    r.set_request_id(id);
    r.set_channel("ec");
    auto* line = r.add_lines();
    line->set_hold_id(hold_id);
    line->set_sku(sku);
    line->set_location("store-a");
    line->set_quantity(quantity);
    r.mutable_expires_at()->set_seconds(expires);
    return r;
  };
  std::vector<v1::CreateHoldsRequest> burst = {
      request("ok-1", "M", 1, "ok-1"),        request("unknown", "NOPE", 1, "unknown"),
      request("ok-2", "M", 2, "ok-2"),        request("too-many", "M", 20, "too-many"),
      request("dup", "M", 1, "dup"),          request("dup", "M", 1, "dup"),
      request("dup", "M", 3, "dup-other"),    request("taken", "M", 1, "reused-1"),
      request("again", "M", 20, "again-big"), request("again", "M", 1, "again-small"),
  };
  std::vector<absl::StatusOr<v1::CreateHoldsResponse>> results(burst.size());
  std::vector<std::thread> callers;
  for (size_t i = 0; i < burst.size(); ++i) {
    callers.emplace_back(
        [&, i] { results[i] = Call(*l.ledger, &v1::LedgerService::Stub::CreateHolds, burst[i]); });
  }
  for (auto& t : callers) t.join();
  REQUIRE(results[0].ok());
  REQUIRE(ErrorReason(results[1].status()) == "ITEM_NOT_FOUND");
  REQUIRE(results[2].ok());
  REQUIRE(ErrorReason(results[3].status()) == "INSUFFICIENT_STOCK");
  // Requests 4 and 5 share an id and contents (1 unit), 6 has that id with other contents (3).
  const int64_t dup_units = RequireOneIdOneEffect(results[4], results[5], results[6], 1, 3);
  REQUIRE(ErrorReason(results[7].status()) == "HOLD_ID_EXISTS");
  // Requests 8 and 9 share an id: as if one came after the other, the small one takes it either
  // way (after the big one failed and stored nothing, or first, refusing the big one's reuse).
  REQUIRE(results[9].ok());
  const std::string big = ErrorReason(results[8].status());
  INFO(big);
  REQUIRE((big == "INSUFFICIENT_STOCK" || big == "IDEMPOTENCY_KEY_REUSED"));
  // 1 (before) + 1 + 2 + the duplicate's units + 1 held; the failures changed nothing.
  REQUIRE(l.Availability("M", "store-a").held() == 5 + dup_units);
  REQUIRE(l.Availability("M", "store-a").sellable() == 10);
  // A hold posted right after it was asked for, likely in the same batch (the writer waits for
  // a burst as large as the last one): held, then committed, and written once.
  absl::StatusOr<v1::CreateHoldsResponse> created;
  std::thread create([&] {
    created =
        Call(*l.ledger, &v1::LedgerService::Stub::CreateHolds, request("pair", "M", 1, "pair"));
  });
  absl::SleepFor(absl::Milliseconds(5));
  v1::PostHoldRequest post;
  post.set_request_id("post-pair");
  post.set_hold_id("pair");
  auto posted = Call(*l.ledger, &v1::LedgerService::Stub::PostHold, post);
  create.join();
  REQUIRE(created.ok());
  // Had the post overtaken the hold (a slow thread start), it failed and stored nothing.
  if (ErrorReason(posted.status()) == "HOLD_NOT_FOUND") {
    posted = Call(*l.ledger, &v1::LedgerService::Stub::PostHold, post);
  }
  INFO(posted.status().ToString());
  REQUIRE(posted.ok());
  REQUIRE(l.Availability("M", "store-a").held() == 5 + dup_units);
  REQUIRE(l.Availability("M", "store-a").committed() == 1);
  // A failed request stored nothing: its id may be used again, here for a smaller hold (one
  // unit: when the 3-unit "dup" won, only one is left).
  auto retry = Call(*l.ledger, &v1::LedgerService::Stub::CreateHolds,
                    request("too-many", "M", 1, "too-many"));
  INFO(retry.status().ToString());
  REQUIRE(retry.ok());
  REQUIRE(l.Availability("M", "store-a").held() == 6 + dup_units);
  REQUIRE(l.Availability("M", "store-a").sellable() == 9);
  l.RequireConsistent();
}

TEST_CASE("Movements that fail in a batch fail alone; the others commit") {
  // A long window gathers the burst into one batch when group commit is on.
  LedgerFixture l("ledger_mixed_moves",
                  {{"KURA_BATCH_WINDOW", "50ms"}, {"KURA_DB_POOL_SIZE", "4"}});
  l.SeedTopology();
  l.CreateItem("N");
  l.Receive("N", "store-a", 10);
  REQUIRE(l.Move(v1::MOVEMENT_KIND_STORE_SALE, "N", "store-a", 1, "sold-before").ok());

  auto request = [](const std::string& id, v1::MovementKind kind, const std::string& sku,
                    int64_t quantity) {
    v1::ApplyMovementsRequest r;
    r.set_request_id(id);
    auto* m = r.add_movements();
    m->set_kind(kind);
    m->set_sku(sku);
    m->set_location("store-a");
    m->set_quantity(quantity);
    if (kind == v1::MOVEMENT_KIND_TRANSFER_SHIP) m->set_to_location("wh");
    return r;
  };
  std::vector<v1::ApplyMovementsRequest> burst = {
      request("sale-1", v1::MOVEMENT_KIND_STORE_SALE, "N", 1),
      request("unknown", v1::MOVEMENT_KIND_STORE_SALE, "NOPE", 1),
      request("sale-2", v1::MOVEMENT_KIND_STORE_SALE, "N", 2),
      request("ship-too-many", v1::MOVEMENT_KIND_TRANSFER_SHIP, "N", 50),
      request("dup", v1::MOVEMENT_KIND_STORE_SALE, "N", 1),
      request("dup", v1::MOVEMENT_KIND_STORE_SALE, "N", 1),
      request("dup", v1::MOVEMENT_KIND_STORE_SALE, "N", 3),
      request("sold-before", v1::MOVEMENT_KIND_STORE_SALE, "N", 2),  // the id, other contents
      request("ship", v1::MOVEMENT_KIND_TRANSFER_SHIP, "N", 2),
  };
  std::vector<absl::StatusOr<v1::ApplyMovementsResponse>> results(burst.size());
  std::vector<std::thread> callers;
  for (size_t i = 0; i < burst.size(); ++i) {
    callers.emplace_back([&, i] {
      results[i] = Call(*l.ledger, &v1::LedgerService::Stub::ApplyMovements, burst[i]);
    });
  }
  for (auto& t : callers) t.join();
  REQUIRE(results[0].ok());
  REQUIRE(ErrorReason(results[1].status()) == "ITEM_NOT_FOUND");
  REQUIRE(results[2].ok());
  REQUIRE(ErrorReason(results[3].status()) == "INSUFFICIENT_STOCK");
  // Requests 4 and 5 share an id and contents (1 unit), 6 has that id with other contents (3).
  const int64_t dup_units = RequireOneIdOneEffect(results[4], results[5], results[6], 1, 3);
  REQUIRE(ErrorReason(results[7].status()) == "IDEMPOTENCY_KEY_REUSED");
  REQUIRE(results[8].ok());
  // 10 - 1 (before) - 1 - 2 - the duplicate's units - 2 shipped; the failures changed nothing.
  REQUIRE(l.Availability("N", "store-a").sellable() == 10 - 1 - 1 - 2 - dup_units - 2);
  // A failed request stored nothing: its id may be used again, here for a smaller transfer.
  auto retry = Call(*l.ledger, &v1::LedgerService::Stub::ApplyMovements,
                    request("ship-too-many", v1::MOVEMENT_KIND_TRANSFER_SHIP, "N", 1));
  REQUIRE(retry.ok());
  REQUIRE(l.Availability("N", "store-a").sellable() == 10 - 1 - 1 - 2 - dup_units - 2 - 1);
  // The feed shows each committed movement once, and in the order of its sequence numbers.
  int applied = 0;
  int64_t last = 0;
  for (const auto& e : l.AllEvents()) {
    REQUIRE(e.sequence() > last);
    last = e.sequence();
    if (e.has_movement_applied()) ++applied;
  }
  REQUIRE(applied == 1 + 1 + 1 + 1 + 1 + 1 + 1);  // receive, before, 1, 2, dup, ship, retry
  l.RequireConsistent();
}

TEST_CASE("A batch of movements takes its balance locks in the global order") {
  LedgerFixture l("ledger_lock_order");
  l.SeedTopology();
  for (const char* sku : {"S1", "S2", "S3"}) {  // created in order: S1 first in the lock order
    l.CreateItem(sku);
    l.Receive(sku, "store-a", 10);
  }
  auto lock_row = [](pqxx::work& tx, const std::string& sku) {
    tx.exec(
        "SELECT 1 FROM ledger.balances b JOIN ledger.items i USING (item_id) "
        "WHERE i.sku = " +
        tx.quote(sku) + " AND b.bucket = 1 FOR UPDATE OF b");
  };
  std::atomic<int> failed_sales{0};
  std::atomic<int> finished_sales{0};
  auto sell = [&](const std::string& sku) {
    return std::thread([&l, &failed_sales, &finished_sales, sku] {
      if (!l.Move(v1::MOVEMENT_KIND_STORE_SALE, sku, "store-a", 1).ok()) ++failed_sales;
      ++finished_sales;
    });
  };
  // With group commit, a first sale blocked on S3 keeps the writer busy while the sales of S2
  // and then S1 queue up behind it, to run as one batch in that order.
  pqxx::connection blocker_conn(l.dsn()), writer_conn(l.dsn()), monitor_conn(l.dsn());
  // How many sessions wait for a lock that session `pid` holds.
  auto blocked_by = [&](int pid) {
    pqxx::nontransaction monitor(monitor_conn);
    return monitor
        .exec_params1("SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                      pid)[0]
        .as<int>();
  };
  pqxx::work blocker(blocker_conn);
  lock_row(blocker, "S3");
  std::thread s3 = sell("S3");
  // (Catch2 must not stop the test while the sales' threads run: results are checked after.)
  const bool s3_waited = kura::testing::WaitFor(
      [&] { return blocked_by(blocker_conn.backendpid()) > 0; }, absl::Seconds(10));
  // The ledger's queue cannot be watched from here: short pauses let S2's sale arrive before
  // S1's, and both before the writer below takes S1.
  std::thread s2 = sell("S2");
  absl::SleepFor(absl::Milliseconds(20));
  std::thread s1 = sell("S1");
  absl::SleepFor(absl::Milliseconds(100));
  // Another writer, locking in the global order, takes S1 and will want S2.
  pqxx::work writer(writer_conn);
  writer.exec("SET lock_timeout = '10s'");
  // This session checks for a deadlock first, so that it, not the ledger (which would retry
  // and hide it), is the one PostgreSQL aborts.
  writer.exec("SET deadlock_timeout = '10ms'");
  lock_row(writer, "S1");
  blocker.commit();  // the S2-then-S1 batch starts and waits for S1
  // With group commit the batch now waits for S1; with one transaction per sale, S1's sale
  // committed before the writer took S1 and all three finish.
  const bool settled = kura::testing::WaitFor(
      [&] { return blocked_by(writer_conn.backendpid()) > 0 || finished_sales == 3; },
      absl::Seconds(10));
  // Had that batch locked S2 for its first sale before waiting for S1, this would deadlock.
  std::string deadlock;
  try {
    lock_row(writer, "S2");
    writer.commit();
  } catch (const std::exception& e) {
    deadlock = e.what();
  }
  for (std::thread* t : {&s1, &s2, &s3}) t->join();
  REQUIRE(s3_waited);
  REQUIRE(settled);
  INFO(deadlock);
  REQUIRE(deadlock.empty());
  REQUIRE(failed_sales == 0);
  for (const char* sku : {"S1", "S2", "S3"}) {
    REQUIRE(l.Availability(sku, "store-a").sellable() == 9);
  }
  l.RequireConsistent();
}

TEST_CASE("Store sales, counts and holds on the same items in every order keep the books") {
  LedgerFixture l("ledger_no_deadlock", {{"KURA_DB_POOL_SIZE", "8"}});
  l.SeedTopology();
  for (const char* sku : {"P", "Q", "R"}) {
    l.CreateItem(sku);
    l.Receive(sku, "store-a", 100000);
  }
  const std::vector<std::string> skus = {"P", "Q", "R"};
  constexpr int kCallers = 24, kRequests = 25;
  std::atomic<int> failures{0};
  std::atomic<int64_t> held{0};
  std::map<std::string, std::atomic<int64_t>> sold, adjusted;  // by sku
  for (const auto& sku : skus) sold[sku] = 0, adjusted[sku] = 0;
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int n = 0; n < kRequests; ++n) {
        // Holds take all three items, movements one or two, in orders that differ from caller
        // to caller and from request to request: a batch of movements meets the items in any
        // order, the holds batch in key order.
        std::vector<std::string> order = skus;
        std::rotate(order.begin(), order.begin() + (c + n) % 3, order.end());
        if ((c + n) % 2 == 1) std::reverse(order.begin(), order.end());
        if (c % 3 != 0) order.resize(1 + n % 2);
        bool ok = false;
        if (c % 3 == 0) {
          v1::CreateHoldsRequest r;
          r.set_request_id(NewId());
          r.set_channel("ec");
          for (const auto& sku : order) {
            auto* line = r.add_lines();
            line->set_hold_id(NewId("hold"));
            line->set_sku(sku);
            line->set_location("store-a");
            line->set_quantity(1);
          }
          r.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
          ok = Call(*l.ledger, &Stub::CreateHolds, r).ok();
          if (ok) held += 1;
        } else {
          v1::ApplyMovementsRequest r;
          r.set_request_id(NewId());
          bool adjust = c % 3 == 2;
          for (const auto& sku : order) {
            auto* m = r.add_movements();
            m->set_kind(adjust ? v1::MOVEMENT_KIND_ADJUST : v1::MOVEMENT_KIND_STORE_SALE);
            m->set_sku(sku);
            m->set_location("store-a");
            m->set_quantity(adjust ? 2 : 1);
          }
          ok = Call(*l.ledger, &Stub::ApplyMovements, r).ok();
          if (ok) {
            for (const auto& sku : order) (adjust ? adjusted : sold).at(sku) += adjust ? 2 : 1;
          }
        }
        if (!ok) ++failures;
      }
    });
  }
  for (auto& t : callers) t.join();
  REQUIRE(failures == 0);
  for (const auto& sku : skus) {
    v1::Availability a = l.Availability(sku, "store-a");
    REQUIRE(a.sellable() == 100000 - sold[sku] + adjusted[sku]);
    REQUIRE(a.held() == held);
  }
  l.RequireConsistent();
  // PostgreSQL counts every deadlock it broke, also those our retries hid from the callers.
  // The count is final once the ledger's sessions have ended.
  l.Stop();
  pqxx::connection conn(l.dsn());
  REQUIRE(kura::testing::WaitFor(
      [&] {
        pqxx::work tx(conn);
        return tx.exec1(
                     "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND pid <> pg_backend_pid()")[0]
                   .as<int>() == 0;
      },
      absl::Seconds(10)));
  pqxx::work tx(conn);
  REQUIRE(tx.exec1("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")[0]
              .as<int64_t>() == 0);
}

TEST_CASE("A crash with holds in flight loses no acknowledged hold and leaves no partial batch") {
  LedgerFixture l("ledger_crash", {{"KURA_DB_POOL_SIZE", "4"}});
  l.SeedTopology();
  l.CreateItem("K");
  l.Receive("K", "store-a", 1000000);
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int c = 0; c < 32; ++c) {
    callers.emplace_back([&] {
      while (!stop) {
        std::string hold_id = NewId("crash");
        auto r = l.Hold("K", "store-a", 1, absl::Hours(1), "ec", hold_id);
        if (r.ok()) {
          std::lock_guard lock(mu);
          acknowledged.push_back(hold_id);
        }
      }
    });
  }
  REQUIRE(kura::testing::WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return acknowledged.size() >= 200;
      },
      absl::Seconds(30)));
  l.Kill();  // kill -9 with requests in flight
  stop = true;
  for (auto& t : callers) t.join();
  l.Start();
  for (const std::string& hold_id : acknowledged) {
    v1::GetHoldRequest get;
    get.set_hold_id(hold_id);
    auto hold = Call(*l.ledger, &v1::LedgerService::Stub::GetHold, get);
    INFO(hold_id);
    REQUIRE(hold.ok());
    REQUIRE(hold->hold().state() == v1::HOLD_STATE_PENDING);
  }
  // Whatever committed is whole: held equals the pending holds, balances their movements.
  l.RequireConsistent();
  REQUIRE(l.Availability("K", "store-a").held() >= static_cast<int64_t>(acknowledged.size()));
}

TEST_CASE("A call whose deadline passed while it waited for a lock does not commit later") {
  LedgerFixture l("ledger_deadline");
  l.SeedTopology();
  l.CreateItem("L");
  l.Receive("L", "store-a", 5);
  // Another session holds the item's sellable balance row.
  pqxx::connection blocker(l.dsn());
  pqxx::work lock(blocker);
  lock.exec(
      "SELECT * FROM ledger.balances b JOIN ledger.items i USING (item_id) "
      "WHERE i.sku = 'L' AND b.bucket = 1 FOR UPDATE OF b");
  v1::ApplyMovementsRequest r;
  r.set_request_id(NewId());
  auto* m = r.add_movements();
  m->set_kind(v1::MOVEMENT_KIND_STORE_SALE);
  m->set_sku("L");
  m->set_location("store-a");
  m->set_quantity(1);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(800));
  v1::ApplyMovementsResponse response;
  grpc::Status status = l.ledger->ApplyMovements(&context, r, &response);
  REQUIRE(status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  absl::SleepFor(absl::Milliseconds(500));  // past the server-side statement timeout
  lock.commit();
  // Had the ledger's transaction kept waiting, it would now commit a sale nobody was told of.
  absl::SleepFor(absl::Milliseconds(500));
  REQUIRE(l.Availability("L", "store-a").sellable() == 5);
  l.RequireConsistent();
}

TEST_CASE("Two replicas on one database: a request id takes effect once, the last units once") {
  // Each replica has its own writer: their batches meet only in PostgreSQL's locks.
  LedgerFixture l("ledger_replicas");
  l.SeedTopology();
  l.CreateItem("T");
  l.CreateItem("U");
  l.Receive("U", "store-a", 100);
  auto other = l.StartReplica();
  std::vector<Stub*> replicas = {l.ledger.get(), other.get()};

  // The same first request at both replicas at once, 20 times over: one effect, one answer.
  // Each round's account is new, so the two also race to create its balance row.
  std::atomic<int> disagreements{0}, failures{0};
  for (int round = 0; round < 20; ++round) {
    v1::ApplyMovementsRequest r;
    r.set_request_id(absl::StrCat("replica-receipt-", round));
    auto* m = r.add_movements();
    m->set_kind(v1::MOVEMENT_KIND_RECEIVE);
    m->set_sku("T");
    m->set_location(round % 2 == 0 ? "store-a" : "wh");
    m->set_quantity(1);
    std::vector<std::string> answers(4);
    std::vector<std::thread> callers;
    for (int c = 0; c < 4; ++c) {
      callers.emplace_back([&, c] {
        auto result = Call(*replicas[c % 2], &Stub::ApplyMovements, r);
        if (!result.ok()) ++failures;
        answers[c] = result.ok() ? result->SerializeAsString() : result.status().ToString();
      });
    }
    for (auto& t : callers) t.join();
    for (const auto& a : answers) disagreements += a == answers[0] ? 0 : 1;
  }
  REQUIRE(failures == 0);
  REQUIRE(disagreements == 0);
  REQUIRE(l.Availability("T", "store-a").sellable() == 10);
  REQUIRE(l.Availability("T", "wh").sellable() == 10);

  // The last 100 units of U, held one at a time from both replicas: exactly 100 holds.
  std::atomic<int> held{0}, refused{0}, other_errors{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 16; ++c) {
    callers.emplace_back([&, c] {
      for (int n = 0; n < 10; ++n) {
        v1::CreateHoldsRequest r;
        r.set_request_id(NewId());
        r.set_channel("ec");
        auto* line = r.add_lines();
        line->set_hold_id(NewId("replica-hold"));
        line->set_sku("U");
        line->set_location("store-a");
        line->set_quantity(1);
        r.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
        auto result = Call(*replicas[c % 2], &Stub::CreateHolds, r);
        if (result.ok()) {
          ++held;
        } else if (ErrorReason(result.status()) == "INSUFFICIENT_STOCK") {
          ++refused;
        } else {
          ++other_errors;
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  REQUIRE(other_errors == 0);
  REQUIRE(held == 100);
  REQUIRE(refused == 60);
  REQUIRE(l.Availability("U", "store-a").held() == 100);
  l.RequireConsistent();
}

TEST_CASE("Items, locations and channels are never removed; a dangling reference is reported") {
  // holds and movements carry no foreign keys (sql/0004): what they refer to cannot go away.
  LedgerFixture l("ledger_references");
  l.SeedTopology();
  l.CreateItem("R");
  l.Receive("R", "store-a", 3);
  pqxx::connection conn(l.dsn());
  for (const char* sql :
       {"DELETE FROM ledger.items WHERE sku = 'R'", "TRUNCATE ledger.locations CASCADE",
        "UPDATE ledger.channels SET channel_id = channel_id + 100 WHERE code = 'ec'"}) {
    INFO(sql);
    pqxx::work tx(conn);
    REQUIRE_THROWS_WITH(tx.exec(sql), Catch::Contains("never removed"));
  }
  l.RequireConsistent();
  {
    // A movement written by hand with an item id that names nothing.
    pqxx::work tx(conn);
    tx.exec(
        "INSERT INTO ledger.movements (batch_id, kind, item_id, quantity, from_location_id, "
        "from_bucket, to_location_id, to_bucket, occurred_at) SELECT 'by-hand', 1, 999999, 1, "
        "s.location_id, 0, l.location_id, 1, now() FROM ledger.locations s, ledger.locations l "
        "WHERE s.code = '@supplier' AND l.code = 'store-a'");
    tx.commit();
  }
  auto verify =
      Call(*l.ledger, &v1::LedgerService::Stub::VerifyInvariants, v1::VerifyInvariantsRequest());
  REQUIRE(verify.ok());
  bool reported = false;
  for (const auto& v : verify->violations()) {
    reported = reported ||
               (v.check() == "REFERENCE_MISSING" && v.location() == "store-a" && v.recorded() == 1);
  }
  INFO(verify->DebugString());
  REQUIRE(reported);
}

TEST_CASE("A batch that waited for another writer's locks decides on what that writer committed") {
  // What another replica's writer or the catalog commits while a batch waits for their locks:
  // the batch read its safety stocks and serving locations before it got the locks, and must
  // read them again (storage/queries.h, lock_batch's `stale`).
  LedgerFixture l("ledger_stale_reads");
  l.SeedTopology();
  l.CreateItem("V");
  l.Receive("V", "store-a", 10);
  l.Receive("V", "wh", 10);
  pqxx::connection blocker_conn(l.dsn()), monitor_conn(l.dsn());
  auto waits = [&] {
    return kura::testing::WaitFor(
        [&] {
          pqxx::nontransaction monitor(monitor_conn);
          return monitor
                     .exec_params1(
                         "SELECT count(*) FROM pg_stat_activity "
                         "WHERE $1 = ANY(pg_blocking_pids(pid))",
                         blocker_conn.backendpid())[0]
                     .as<int>() > 0;
        },
        absl::Seconds(10));
  };

  SECTION("a safety stock set meanwhile") {
    // As SetSafetyStock does: the safety stock, and the sellable balance written (locked).
    pqxx::work other(blocker_conn);
    other.exec(
        "INSERT INTO ledger.safety_stock (item_id, location_id, quantity) "
        "SELECT i.item_id, l.location_id, 8 FROM ledger.items i, ledger.locations l "
        "WHERE i.sku = 'V' AND l.code = 'store-a'");
    other.exec(
        "UPDATE ledger.balances b SET on_hand = b.on_hand FROM ledger.items i, ledger.locations l "
        "WHERE b.item_id = i.item_id AND b.location_id = l.location_id AND i.sku = 'V' "
        "AND l.code = 'store-a' AND b.bucket = 1");
    absl::StatusOr<v1::CreateHoldsResponse> hold;
    std::thread caller([&] { hold = l.Hold("V", "store-a", 5); });
    const bool waited = waits();
    other.commit();
    caller.join();
    REQUIRE(waited);
    INFO(hold.status().ToString());
    REQUIRE(ErrorReason(hold.status()) == "INSUFFICIENT_STOCK");  // 10 - 8 left for the channel
    REQUIRE(l.Hold("V", "store-a", 2).ok());
  }
  SECTION("a serving location removed meanwhile") {
    // As UpdateChannel does: the channel row updated (locked), its locations replaced.
    pqxx::work other(blocker_conn);
    other.exec("UPDATE ledger.channels SET name = name WHERE code = 'ec'");
    other.exec(
        "DELETE FROM ledger.channel_locations WHERE channel_id = "
        "(SELECT channel_id FROM ledger.channels WHERE code = 'ec') AND location_id = "
        "(SELECT location_id FROM ledger.locations WHERE code = 'wh')");
    absl::StatusOr<v1::CreateHoldsResponse> hold;
    std::thread caller([&] { hold = l.Hold("V", "wh", 1); });
    const bool waited = waits();
    other.commit();
    caller.join();
    REQUIRE(waited);
    INFO(hold.status().ToString());
    REQUIRE(ErrorReason(hold.status()) == "LOCATION_NOT_IN_CHANNEL");
  }
  l.RequireConsistent();
}

}  // namespace
}  // namespace kura::ledger::testing
