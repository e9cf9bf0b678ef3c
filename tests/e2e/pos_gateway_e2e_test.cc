// kura-pos-gateway as a real process (with kura-reservation and kura-ledger processes on a real
// PostgreSQL): register authentication, lookups of every code kind, sales with Japanese receipts,
// returns, stock checks, pickups and offline journal replay.
#include <pqxx/pqxx>

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "kura/base/validation.h"
#include "pos_fixture.h"

namespace kura::pos::testing {
namespace {

// `digits` with its GS1 check digit appended.
std::string WithCheckDigit(const std::string& digits) {
  return digits + std::to_string(kura::Gs1CheckDigit(digits));
}

std::string Reason(const absl::Status& s) { return ErrorReason(s); }

// Items used by the cases below, with stock at both stores.
void SeedItems(PosFixture& f) {
  f.Item("PEN", 105, lv1::TAX_CLASS_STANDARD, {"4901330578862"});
  f.Item("ONIGIRI", 108, lv1::TAX_CLASS_REDUCED, {"49123456"});
  f.Item("TISSUE", 330, lv1::TAX_CLASS_STANDARD, {"036000291452"});
  f.Item("SASHIMI", 0, lv1::TAX_CLASS_REDUCED, {WithCheckDigit("211200250000")});
  f.Item("BEEF", 2000, lv1::TAX_CLASS_REDUCED, {WithCheckDigit("251234500000")});
  f.Item("BOOK", 1500, lv1::TAX_CLASS_STANDARD, {"9784864561211"});
  for (const char* sku : {"PEN", "ONIGIRI", "TISSUE", "SASHIMI", "BEEF", "BOOK"}) {
    f.l.Receive(sku, "store-a", 10);
    f.l.Receive(sku, "store-b", 4);
  }
}

TEST_CASE("Terminals act only for their own store, and revoked tokens stop at once") {
  PosFixture f("pos_auth");
  SeedItems(f);
  pv1::LookupRequest lookup;
  lookup.set_barcode("4901330578862");
  lookup.set_store("store-a");
  REQUIRE(f.As(f.token_a, &Gateway::Lookup, lookup).ok());
  // store-b's terminal acting for store-a.
  auto other = f.As(f.token_b, &Gateway::Lookup, lookup);
  REQUIRE(other.status().code() == absl::StatusCode::kPermissionDenied);
  REQUIRE(Reason(other.status()) == "WRONG_STORE");
  auto sale = f.As(f.token_b, &Gateway::Sale, PosFixture::SaleOf("x-1", {{"PEN", 1, 105}}, 105));
  REQUIRE(sale.status().code() == absl::StatusCode::kPermissionDenied);
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 10);
  // No token, a made-up token.
  REQUIRE(f.As("", &Gateway::Lookup, lookup).status().code() == absl::StatusCode::kUnauthenticated);
  REQUIRE(f.As("kpt_nope", &Gateway::Lookup, lookup).status().code() ==
          absl::StatusCode::kUnauthenticated);
  // Revoked: the next call is refused.
  pv1::RevokeTerminalRequest revoke;
  revoke.set_terminal_id("a-01");
  REQUIRE(Call(*f.admin, &Admin::RevokeTerminal, revoke).ok());
  auto revoked = f.As(f.token_a, &Gateway::Lookup, lookup);
  REQUIRE(revoked.status().code() == absl::StatusCode::kUnauthenticated);
  REQUIRE(Reason(revoked.status()) == "TOKEN_INVALID");
  // Reissued: a new token works, the old one still does not.
  const std::string fresh = f.Issue("a-01", "store-a");
  REQUIRE(f.As(fresh, &Gateway::Lookup, lookup).ok());
  REQUIRE(!f.As(f.token_a, &Gateway::Lookup, lookup).ok());
  // Terminals belong to stores only, and store settings are validated.
  pv1::IssueTerminalRequest wh;
  wh.mutable_terminal()->set_terminal_id("w-01");
  wh.mutable_terminal()->set_location("wh");
  REQUIRE(Reason(Call(*f.admin, &Admin::IssueTerminal, wh).status()) == "NOT_A_STORE");
  pv1::SetStoreSettingsRequest bad;
  bad.mutable_settings()->set_location("store-a");
  bad.mutable_settings()->set_name("x");
  bad.mutable_settings()->set_invoice_number("T123");
  REQUIRE(Call(*f.admin, &Admin::SetStoreSettings, bad).status().code() ==
          absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Lookup reads every code kind, applies markdowns and shows stock everywhere") {
  PosFixture f("pos_lookup");
  SeedItems(f);
  const std::string cake_code = WithCheckDigit("491234567890");
  f.Item("CAKE", 500, lv1::TAX_CLASS_REDUCED, {cake_code});
  REQUIRE(f.Limit("CAKE", -absl::Hours(1), absl::Hours(1), 0, 0, {{-absl::Minutes(30), 380}}).ok());
  auto lookup = [&](const std::string& code) {
    pv1::LookupRequest r;
    r.set_barcode(code);
    r.set_store("store-a");
    return f.As(f.token_a, &Gateway::Lookup, r);
  };
  struct Case {
    std::string code;
    pv1::CodeKind kind;
    std::string sku;
    int64_t price;
  };
  for (const Case& c : std::vector<Case>{
           {"4901330578862", pv1::CODE_KIND_EAN13, "PEN", 105},
           {"49123456", pv1::CODE_KIND_EAN8, "ONIGIRI", 108},
           {"036000291452", pv1::CODE_KIND_UPCA, "TISSUE", 330},
           {"2112002515005", pv1::CODE_KIND_IN_STORE_PRICE, "SASHIMI", 1500},
           {WithCheckDigit("251234501234"), pv1::CODE_KIND_IN_STORE_WEIGHT, "BEEF", 2468},
           {"9784864561211", pv1::CODE_KIND_ISBN, "BOOK", 1500},  // the catalog's price
           {"9784864561211 1920072016008", pv1::CODE_KIND_ISBN, "BOOK", 1760},  // ¥1,600 + 10 %
           {"1920072016008", pv1::CODE_KIND_BOOK_PRICE, "", 1760},
           {cake_code, pv1::CODE_KIND_EAN13, "CAKE", 380},
       }) {
    INFO(c.code);
    auto got = lookup(c.code);
    INFO(got.status().ToString());
    REQUIRE(got.ok());
    REQUIRE(got->kind() == c.kind);
    REQUIRE(got->sku() == c.sku);
    REQUIRE(got->price_yen() == c.price);
  }
  auto beef = lookup(WithCheckDigit("251234501234"));
  REQUIRE(beef->weight_grams() == 1234);
  REQUIRE(beef->tax_rate() == pv1::TAX_RATE_REDUCED);
  auto cake = lookup(cake_code);
  REQUIRE(cake->list_price_yen() == 500);  // the markdown shows against the catalog price

  // Stock here, at the other store, and per EC channel.
  auto pen = lookup("4901330578862");
  REQUIRE(pen->stock_here() == 10);
  REQUIRE(pen->other_stores_size() == 1);
  REQUIRE(pen->other_stores(0).place() == "store-b");
  REQUIRE(pen->other_stores(0).available() == 4);
  std::map<std::string, int64_t> online;
  for (const auto& at : pen->online()) online[at.place()] = at.available();
  REQUIRE(online["ec"] == 14);     // wh, store-a and store-b
  REQUIRE(online["flash"] == 10);  // store-a only

  // Wrong check digits, wrong lengths and letters are refused with the reason; a valid code of
  // no item is not found.
  for (const std::string code : {"4901330578863", "49123457", "036000291453", "12345", "49O1"}) {
    INFO(code);
    auto bad = lookup(code);
    REQUIRE(bad.status().code() == absl::StatusCode::kInvalidArgument);
    REQUIRE(Reason(bad.status()) == "INVALID_BARCODE");
    REQUIRE(!bad.status().message().empty());
  }
  auto unknown = lookup(WithCheckDigit("490000000001"));
  REQUIRE(unknown.status().code() == absl::StatusCode::kNotFound);
  REQUIRE(Reason(unknown.status()) == "UNKNOWN_BARCODE");

  pv1::StockCheckRequest check;
  check.set_store("store-a");
  check.set_barcode("49123456");
  auto stock = f.As(f.token_a, &Gateway::StockCheck, check);
  REQUIRE(stock.ok());
  REQUIRE(stock->sku() == "ONIGIRI");
  REQUIRE(stock->here() == 10);
  REQUIRE(stock->other_stores(0).available() == 4);
}

TEST_CASE("A sale is one ledger store sale with a receipt taxed once per rate") {
  PosFixture f("pos_sale");
  SeedItems(f);
  auto request = PosFixture::SaleOf("a-01-1", {{"PEN", 3, 105}, {"ONIGIRI", 2, 108}}, 1000);
  request.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(absl::Now() - absl::Minutes(5)));
  auto sale = f.As(f.token_a, &Gateway::Sale, request);
  INFO(sale.status().ToString());
  REQUIRE(sale.ok());
  const auto& receipt = sale->receipt();
  REQUIRE(receipt.total_yen() == 531);
  REQUIRE(receipt.change_yen() == 469);
  REQUIRE(receipt.invoice_number() == "T1234567890123");
  REQUIRE(receipt.store_name() == "渋谷店");
  REQUIRE(receipt.taxes_size() == 2);
  for (const auto& t : receipt.taxes()) {
    if (t.rate() == pv1::TAX_RATE_STANDARD) {
      REQUIRE(t.taxable_yen() == 315);
      REQUIRE(t.tax_yen() == 28);  // once on ¥315, not 3 × ¥9
    } else {
      REQUIRE(t.taxable_yen() == 216);
      REQUIRE(t.tax_yen() == 16);
    }
  }
  REQUIRE(!receipt.lines(0).reduced_rate());
  REQUIRE(receipt.lines(1).reduced_rate());
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 7);
  REQUIRE(f.l.Availability("ONIGIRI", "store-a").sellable() == 8);

  // The same transaction again: the same receipt, stock moved once.
  auto again = f.As(f.token_a, &Gateway::Sale, request);
  REQUIRE(again.ok());
  REQUIRE(again->receipt().SerializeAsString() == receipt.SerializeAsString());
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 7);
  // The ledger holds it with the register's time.
  bool found = false;
  for (const auto& e : f.l.AllEvents()) {
    if (!e.has_movement_applied()) continue;
    const auto& m = e.movement_applied().movement();
    if (m.sku() == "PEN" && m.kind() == lv1::MOVEMENT_KIND_STORE_SALE) {
      found = true;
      REQUIRE(m.occurred_at().seconds() == request.occurred_at().seconds());
    }
  }
  REQUIRE(found);

  // Bad input changes nothing: a reused id with other contents, short tenders, an unknown item,
  // a card paying more than due.
  auto reused =
      f.As(f.token_a, &Gateway::Sale, PosFixture::SaleOf("a-01-1", {{"PEN", 1, 105}}, 105));
  REQUIRE(Reason(reused.status()) == "TRANSACTION_ID_REUSED");
  REQUIRE(f.As(f.token_a, &Gateway::Sale, PosFixture::SaleOf("a-01-2", {{"PEN", 1, 105}}, 100))
              .status()
              .code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(
      !f.As(f.token_a, &Gateway::Sale, PosFixture::SaleOf("a-01-3", {{"NOPE", 1, 105}}, 105)).ok());
  auto card = PosFixture::SaleOf("a-01-4", {{"PEN", 1, 105}}, 0);
  card.mutable_tenders(0)->set_kind(pv1::TENDER_KIND_CARD);
  card.mutable_tenders(0)->set_amount_yen(200);
  REQUIRE(f.As(f.token_a, &Gateway::Sale, card).status().code() ==
          absl::StatusCode::kInvalidArgument);
  auto untimed = PosFixture::SaleOf("a-01-6", {{"PEN", 1, 105}}, 105);
  untimed.clear_occurred_at();  // a retry must send the ledger the same time: required
  REQUIRE(f.As(f.token_a, &Gateway::Sale, untimed).status().code() ==
          absl::StatusCode::kInvalidArgument);
  auto both = PosFixture::SaleOf("a-01-7", {{"PEN", 1, 105}}, 105);
  both.mutable_lines(0)->mutable_discount()->set_amount_yen(5);
  both.mutable_lines(0)->mutable_discount()->set_percent(5);
  REQUIRE(f.As(f.token_a, &Gateway::Sale, both).status().code() ==
          absl::StatusCode::kInvalidArgument);
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 7);

  // A limited item outside its window is not sold at the register.
  REQUIRE(f.Limit("TISSUE", absl::Hours(1), absl::Hours(2), 0, 0).ok());
  auto closed =
      f.As(f.token_a, &Gateway::Sale, PosFixture::SaleOf("a-01-5", {{"TISSUE", 1, 330}}, 330));
  REQUIRE(Reason(closed.status()) == "SALE_WINDOW_CLOSED");
  f.l.RequireConsistent();
}

TEST_CASE(
    "A sale is recorded as an intent before its ledger call and resumed by a retry or by the "
    "gateway; a sale over the line limit is refused before any work") {
  PosFixture f("pos_sale_resume");
  SeedItems(f);
  auto request = PosFixture::SaleOf("a-01-1", {{"PEN", 2, 105}}, 210);
  request.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  pqxx::connection db(f.l.dsn());

  auto sold = f.As(f.token_a, &Gateway::Sale, request);
  INFO(sold.status().ToString());
  REQUIRE(sold.ok());
  REQUIRE(sold->receipt().total_yen() == 210);
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 8);

  // A crash after the ledger call and before the sale was marked applied leaves the intent: the
  // register's retry resumes it (the ledger call again, idempotent) and gets the same receipt.
  {
    pqxx::work tx(db);
    tx.exec("UPDATE pos.transactions SET applied = false WHERE transaction_id = 'a-01-1'");
    tx.commit();
  }
  auto resumed = f.As(f.token_a, &Gateway::Sale, request);
  REQUIRE(resumed.ok());
  REQUIRE(resumed->receipt().SerializeAsString() == sold->receipt().SerializeAsString());
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 8);
  {
    pqxx::nontransaction tx(db);
    REQUIRE(tx.exec1("SELECT count(*) FROM pos.transactions WHERE NOT applied")[0].as<int>() == 0);
  }
  // An intent left older than a register's retries (it never came back) is finished by the
  // gateway itself, within its 5-second round: the ledger call again, then the result.
  {
    pqxx::work tx(db);
    tx.exec(
        "UPDATE pos.transactions SET applied = false, recorded_at = now() - interval '1 minute' "
        "WHERE transaction_id = 'a-01-1'");
    tx.commit();
  }
  REQUIRE(kura::testing::WaitFor(
      [&] {
        pqxx::nontransaction tx(db);
        return tx.exec1("SELECT count(*) FROM pos.transactions WHERE NOT applied")[0].as<int>() ==
               0;
      },
      absl::Seconds(15)));
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 8);

  // 501 lines: refused at once, whatever the lines say; nothing recorded.
  pv1::SaleRequest big = PosFixture::SaleOf("a-01-2", {{"PEN", 1, 105}}, 105);
  for (int i = 0; i < 500; ++i) *big.add_lines() = big.lines(0);
  auto refused = f.As(f.token_a, &Gateway::Sale, big);
  REQUIRE(refused.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(absl::StrContains(refused.status().message(), "at most 500 lines"));
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 8);
  f.l.RequireConsistent();
}

TEST_CASE("Returns go back against their sale, to the shelf, inspection or damaged") {
  PosFixture f("pos_return");
  SeedItems(f);
  auto sale = PosFixture::SaleOf("a-01-10", {{"PEN", 3, 105}, {"TISSUE", 2, 330}}, 2000);
  sale.mutable_lines(1)->mutable_discount()->set_amount_yen(60);  // ¥600 for the two
  REQUIRE(f.As(f.token_a, &Gateway::Sale, sale).ok());
  auto give_back = [&](const std::string& id, const std::string& original,
                       std::vector<std::tuple<std::string, int64_t, pv1::Disposition>> lines,
                       const std::string& token, const std::string& store = "store-a") {
    pv1::ReturnRequest r;
    r.set_transaction_id(id);
    r.set_original_transaction_id(original);
    r.set_store(store);
    r.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    for (auto& [sku, quantity, disposition] : lines) {
      auto* line = r.add_lines();
      line->set_sku(sku);
      line->set_quantity(quantity);
      line->set_disposition(disposition);
      line->set_unit_price_yen(105);
    }
    return f.As(token, &Gateway::Return, r);
  };
  auto back = give_back(
      "a-01-11", "a-01-10",
      {{"PEN", 1, pv1::DISPOSITION_SELLABLE}, {"TISSUE", 1, pv1::DISPOSITION_QUALITY_CONTROL}},
      f.token_a);
  INFO(back.status().ToString());
  REQUIRE(back.ok());
  REQUIRE(back->receipt().is_return());
  REQUIRE(back->receipt().original_transaction_id() == "a-01-10");
  REQUIRE(back->receipt().total_yen() == 105 + 300);  // the price paid, discount included
  REQUIRE(back->receipt().tenders(0).amount_yen() == 405);
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 8);
  REQUIRE(f.l.Availability("TISSUE", "store-a").quality_control() == 1);
  REQUIRE(give_back("a-01-12", "a-01-10", {{"PEN", 2, pv1::DISPOSITION_DAMAGED}}, f.token_a).ok());
  REQUIRE(f.l.Availability("PEN", "store-a").damaged() == 2);
  // More than was sold, another store's sale, and without a receipt where the store refuses it.
  auto more = give_back("a-01-13", "a-01-10", {{"PEN", 1, pv1::DISPOSITION_SELLABLE}}, f.token_a);
  REQUIRE(Reason(more.status()) == "RETURN_EXCEEDS_SALE");
  REQUIRE(Reason(give_back("b-01-1", "a-01-10", {{"TISSUE", 1, pv1::DISPOSITION_SELLABLE}},
                           f.token_b, "store-b")
                     .status()) == "SALE_NOT_FOUND");
  REQUIRE(Reason(give_back("a-01-14", "", {{"PEN", 1, pv1::DISPOSITION_SELLABLE}}, f.token_a)
                     .status()) == "RETURN_NEEDS_RECEIPT");
  // store-b takes returns without a receipt at the price keyed in.
  auto free =
      give_back("b-01-2", "", {{"PEN", 1, pv1::DISPOSITION_SELLABLE}}, f.token_b, "store-b");
  REQUIRE(free.ok());
  REQUIRE(free->receipt().total_yen() == 105);
  REQUIRE(f.l.Availability("PEN", "store-b").sellable() == 5);

  // Three pens for ¥100 in all, given back one at a time: ¥33, ¥33, ¥34 — never more or less
  // than was paid.
  auto cheap = PosFixture::SaleOf("a-01-15", {{"PEN", 3, 105}}, 100);
  cheap.mutable_lines(0)->mutable_discount()->set_amount_yen(215);
  REQUIRE(f.As(f.token_a, &Gateway::Sale, cheap).ok());
  int64_t refunded = 0;
  for (int i = 0; i < 3; ++i) {
    auto one = give_back(absl::StrCat("a-01-", 16 + i), "a-01-15",
                         {{"PEN", 1, pv1::DISPOSITION_SELLABLE}}, f.token_a);
    REQUIRE(one.ok());
    refunded += one->receipt().total_yen();
  }
  REQUIRE(refunded == 100);
  f.l.RequireConsistent();
}

TEST_CASE("Two registers returning the last unit of a sale at once: exactly one succeeds") {
  PosFixture f("pos_return_race");
  SeedItems(f);
  const std::string token_2 = f.Issue("a-02", "store-a");
  for (int round = 0; round < 8; ++round) {
    const std::string sale_id = absl::StrCat("a-01-s", round);
    REQUIRE(
        f.As(f.token_a, &Gateway::Sale, PosFixture::SaleOf(sale_id, {{"PEN", 1, 105}}, 105)).ok());
    std::vector<absl::Status> results(2);
    std::vector<std::thread> registers;
    for (int r = 0; r < 2; ++r) {
      registers.emplace_back([&, r] {
        pv1::ReturnRequest back;
        back.set_transaction_id(absl::StrCat(r == 0 ? "a-01-r" : "a-02-r", round));
        back.set_original_transaction_id(sale_id);
        back.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
        auto* line = back.add_lines();
        line->set_sku("PEN");
        line->set_quantity(1);
        line->set_disposition(pv1::DISPOSITION_SELLABLE);
        results[r] = f.As(r == 0 ? f.token_a : token_2, &Gateway::Return, back).status();
      });
    }
    for (auto& t : registers) t.join();
    INFO(results[0].ToString() << " / " << results[1].ToString());
    REQUIRE(results[0].ok() != results[1].ok());
    REQUIRE(Reason(results[0].ok() ? results[1] : results[0]) == "RETURN_EXCEEDS_SALE");
  }
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 10);
  // A terminal stays in its store; a transaction id is one store's once.
  pv1::IssueTerminalRequest move;
  move.mutable_terminal()->set_terminal_id("a-02");
  move.mutable_terminal()->set_location("store-b");
  REQUIRE(Reason(Call(*f.admin, &Admin::IssueTerminal, move).status()) ==
          "TERMINAL_OF_OTHER_STORE");
  auto reused =
      f.As(token_2, &Gateway::Sale, PosFixture::SaleOf("a-01-s0", {{"PEN", 1, 105}}, 105));
  REQUIRE(Reason(reused.status()) == "TRANSACTION_ID_REUSED");
  f.l.RequireConsistent();
}

TEST_CASE("Pickup orders are listed at their store and handed over there") {
  PosFixture f("pos_pickup");
  SeedItems(f);
  REQUIRE(f.Place("ec", "P-1", {{"PEN", 2}}, "store-a").ok());
  REQUIRE(f.Confirm("ec", "P-1").ok());
  REQUIRE(f.Place("ec", "P-2", {{"PEN", 1}}, "store-b").ok());
  pv1::ListPickupsRequest list;
  list.set_store("store-a");
  auto pickups = f.As(f.token_a, &Gateway::ListPickups, list);
  REQUIRE(pickups.ok());
  REQUIRE(pickups->pickups_size() == 1);
  REQUIRE(pickups->pickups(0).external_order_id() == "P-1");
  REQUIRE(pickups->pickups(0).ready());
  pv1::CompletePickupRequest done;
  done.set_store("store-a");
  done.set_transaction_id("a-01-20");
  done.set_channel("ec");
  done.set_external_order_id("P-1");
  REQUIRE(f.As(f.token_a, &Gateway::CompletePickup, done).ok());
  REQUIRE(f.Get("ec", "P-1")->state() == reservation::testing::rv1::ORDER_STATE_FULFILLED);
  REQUIRE(f.As(f.token_a, &Gateway::ListPickups, list)->pickups_size() == 0);
  // store-b's order is not store-a's to hand over.
  done.set_transaction_id("a-01-21");
  done.set_external_order_id("P-2");
  auto wrong = f.As(f.token_a, &Gateway::CompletePickup, done);
  REQUIRE(wrong.status().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(Reason(wrong.status()) == "PICKUP_STORE_MISMATCH");
  REQUIRE(f.Get("ec", "P-2")->state() == reservation::testing::rv1::ORDER_STATE_PENDING);
}

TEST_CASE("A sale that takes units held for online orders moves their holds or ends them") {
  PosFixture f("pos_held");
  using reservation::testing::rv1::ORDER_STATE_PENDING;
  using reservation::testing::rv1::ORDER_STATE_UNFULFILLABLE;
  f.Item("CAP", 2000, lv1::TAX_CLASS_STANDARD);
  f.l.Receive("CAP", "store-a", 2);
  f.l.Receive("CAP", "store-b", 1);
  // The channel takes from wh (empty), then store-a: the order holds 1 of store-a's 2.
  REQUIRE(f.Place("ec", "H-1", {{"CAP", 1}}).ok());
  REQUIRE(f.Get("ec", "H-1")->allocations(0).location() == "store-a");

  // The register sells both units on the shelf: goods in hand, so the sale goes through, warns,
  // and the order is held at store-b now.
  auto sale =
      f.As(f.token_a, &Gateway::Sale, PosFixture::SaleOf("a-01-h1", {{"CAP", 2, 2000}}, 4000));
  INFO(sale.status().ToString());
  REQUIRE(sale.ok());
  REQUIRE_FALSE(sale->oversold());  // the shelf is at 0, not below
  REQUIRE(sale->held_orders_size() == 1);
  REQUIRE(sale->held_orders(0).external_order_id() == "H-1");
  REQUIRE(sale->held_orders(0).quantity() == 1);
  REQUIRE(sale->held_orders(0).moved_to_size() == 1);
  REQUIRE(sale->held_orders(0).moved_to(0) == "store-b");
  REQUIRE(sale->warning().find("ec order H-1") != std::string::npos);
  auto h1 = f.Get("ec", "H-1");
  REQUIRE(h1->state() == ORDER_STATE_PENDING);
  REQUIRE(h1->allocations_size() == 1);
  REQUIRE(h1->allocations(0).location() == "store-b");
  REQUIRE(f.l.Availability("CAP", "store-a").held() == 0);
  REQUIRE(f.l.Availability("CAP", "store-b").held() == 1);
  REQUIRE(f.Confirm("ec", "H-1").ok());  // and it is fulfilled from there as usual

  // A second order held at store-a, whose units no other location has: it ends unfulfillable,
  // holding nothing, and the shelf at store-a never goes below zero for it.
  f.l.Receive("CAP", "store-a", 1);
  REQUIRE(f.Place("ec", "H-2", {{"CAP", 1}}).ok());
  sale = f.As(f.token_a, &Gateway::Sale, PosFixture::SaleOf("a-01-h2", {{"CAP", 1, 2000}}, 2000));
  REQUIRE(sale.ok());
  REQUIRE(sale->held_orders_size() == 1);
  REQUIRE(sale->held_orders(0).moved_to_size() == 0);
  REQUIRE(sale->warning().find("unfulfillable") != std::string::npos);
  auto h2 = f.Get("ec", "H-2");
  REQUIRE(h2->state() == ORDER_STATE_UNFULFILLABLE);
  REQUIRE(h2->unfulfillable_reason() == "HELD_UNITS_SOLD");
  REQUIRE(h2->short_sku() == "CAP");
  REQUIRE(f.l.Availability("CAP", "store-a").held() == 0);
  REQUIRE(f.l.Availability("CAP", "store-a").sellable() == 0);
  // A sale that takes nothing held warns of nothing.
  f.l.Receive("CAP", "store-a", 1);
  sale = f.As(f.token_a, &Gateway::Sale, PosFixture::SaleOf("a-01-h3", {{"CAP", 1, 2000}}, 2000));
  REQUIRE(sale.ok());
  REQUIRE(sale->held_orders_size() == 0);
  REQUIRE(sale->warning().empty());

  // Both are incidents naming the orders.
  auto incidents = Call(*f.admin, &Admin::ListIncidents, pv1::ListIncidentsRequest());
  REQUIRE(incidents.ok());
  REQUIRE(incidents->incidents_size() == 2);
  for (const auto& i : incidents->incidents()) {
    REQUIRE(i.kind() == "HELD_UNITS_SOLD");
    REQUIRE(i.skus_size() == 1);
    REQUIRE(i.skus(0) == "CAP");
  }
  REQUIRE(incidents->incidents(0).transaction_id() == "a-01-h2");
  REQUIRE(incidents->incidents(0).detail().find("ec order H-2") != std::string::npos);
  REQUIRE(incidents->incidents(1).detail().find("now held at store-b") != std::string::npos);

  // The reservation unreachable: the sale still goes through, says the orders are pending, and
  // the gateway moves them once it is back.
  f.l.Receive("CAP", "store-a", 1);
  REQUIRE(f.Place("ec", "H-3", {{"CAP", 1}}).ok());
  f.l.Receive("CAP", "store-b", 1);
  f.reservation->process().Signal(SIGSTOP);
  sale = f.As(f.token_a, &Gateway::Sale, PosFixture::SaleOf("a-01-h4", {{"CAP", 1, 2000}}, 2000));
  f.reservation->process().Signal(SIGCONT);
  INFO(sale.status().ToString());
  REQUIRE(sale.ok());
  REQUIRE(sale->held_orders_pending());
  bool moved = false;
  for (int i = 0; i < 200 && !moved; ++i) {
    auto listed = Call(*f.admin, &Admin::ListIncidents, pv1::ListIncidentsRequest());
    moved = listed.ok() && listed->incidents(0).detail().find(
                               "ec order H-3: 1 × CAP now held "
                               "at store-b") != std::string::npos;
    if (!moved) absl::SleepFor(absl::Milliseconds(100));
  }
  REQUIRE(moved);
  REQUIRE(f.Get("ec", "H-3")->allocations(0).location() == "store-b");
  f.l.RequireConsistent();
}

TEST_CASE(
    "Limited items: refused at scan outside their window or at their cap; register sales "
    "and returns count against the cap") {
  PosFixture f("pos_limited");
  namespace rv1 = reservation::testing::rv1;
  f.Item("DOLL", 5000, lv1::TAX_CLASS_STANDARD, {"4901234567894"});
  f.Item("LATE", 5000, lv1::TAX_CLASS_STANDARD, {"4909876543214"});
  f.l.Receive("DOLL", "store-a", 10);
  f.l.Receive("LATE", "store-a", 10);
  REQUIRE(f.Limit("DOLL", -absl::Hours(1), absl::Hours(1), 3, 0).ok());
  REQUIRE(f.Limit("LATE", absl::Hours(1), absl::Hours(2), 0, 0).ok());
  auto scan = [&](const std::string& code) {
    pv1::LookupRequest r;
    r.set_barcode(code);
    r.set_store("store-a");
    return f.As(f.token_a, &Gateway::Lookup, r);
  };
  // Outside its window: refused at the scan, before anything is rung up.
  auto late = scan("4909876543214");
  REQUIRE(Reason(late.status()) == "SALE_WINDOW_CLOSED");
  REQUIRE(scan("4901234567894").ok());

  // Two sold at the register count against the cap of 3: an online order for 2 is refused.
  REQUIRE(f.As(f.token_a, &Gateway::Sale, PosFixture::SaleOf("a-01-l1", {{"DOLL", 2, 5000}}, 10000))
              .ok());
  auto counted = [&] {
    rv1::GetLimitedItemRequest get;
    get.set_sku("DOLL");
    return Call(*f.limited, &rv1::LimitedItemService::Stub::GetLimitedItem, get)->item().reserved();
  };
  REQUIRE(counted() == 2);
  auto order = f.Place("ec", "L-1", {{"DOLL", 2}});
  REQUIRE(Reason(order.status()) == "TOTAL_CAP_REACHED");
  REQUIRE(f.Place("ec", "L-2", {{"DOLL", 1}}).ok());  // the last one
  REQUIRE(counted() == 3);
  // At the cap: the next scan is refused.
  auto capped = scan("4901234567894");
  REQUIRE(Reason(capped.status()) == "TOTAL_CAP_REACHED");
  // A return gives its unit back to the cap; a repeated sale counts nothing twice.
  pv1::ReturnRequest back;
  back.set_transaction_id("a-01-l2");
  back.set_original_transaction_id("a-01-l1");
  back.set_store("store-a");
  back.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  auto* line = back.add_lines();
  line->set_sku("DOLL");
  line->set_quantity(1);
  line->set_disposition(pv1::DISPOSITION_SELLABLE);
  line->set_unit_price_yen(5000);
  auto returned = f.As(f.token_a, &Gateway::Return, back);
  INFO(returned.status().ToString());
  REQUIRE(returned.ok());
  REQUIRE(counted() == 2);
  REQUIRE(f.As(f.token_a, &Gateway::Sale, PosFixture::SaleOf("a-01-l1", {{"DOLL", 2, 5000}}, 10000))
              .ok());
  REQUIRE(counted() == 2);
  REQUIRE(scan("4901234567894").ok());
}

TEST_CASE("An offline journal is applied once, in order, at its original times") {
  PosFixture f("pos_journal");
  SeedItems(f);
  REQUIRE(f.Limit("TISSUE", absl::Hours(1), absl::Hours(2), 0, 0).ok());  // window closed now
  const absl::Time t0 = absl::Now() - absl::Hours(2);
  pv1::SyncJournalRequest journal;
  journal.set_store("store-a");
  auto add_sale = [&](const std::string& id, const std::string& sku, int64_t quantity,
                      absl::Duration after) {
    auto sale = PosFixture::SaleOf(id, {{sku, quantity, 105}}, 105 * quantity);
    sale.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(t0 + after));
    *journal.add_entries()->mutable_sale() = sale;
  };
  add_sale("a-01-30", "PEN", 4, absl::Minutes(1));
  add_sale("a-01-31", "PEN", 8, absl::Minutes(2));     // only 6 left: oversold, still applied
  add_sale("a-01-32", "TISSUE", 1, absl::Minutes(3));  // it happened: the window is not checked
  add_sale("a-01-35", "PEN", 1, absl::Minutes(3));     // into stock already below zero
  auto bad = PosFixture::SaleOf("a-01-33", {{"PEN", 1, 105}}, 50);  // short: refused for good
  bad.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(t0 + absl::Minutes(4)));
  *journal.add_entries()->mutable_sale() = bad;
  pv1::ReturnRequest back;
  back.set_transaction_id("a-01-34");
  back.set_original_transaction_id("a-01-30");
  back.set_store("store-a");
  back.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(t0 + absl::Minutes(5)));
  auto* line = back.add_lines();
  line->set_sku("PEN");
  line->set_quantity(1);
  line->set_disposition(pv1::DISPOSITION_SELLABLE);
  *journal.add_entries()->mutable_return_() = back;

  auto synced = f.As(f.token_a, &Gateway::SyncJournal, journal);
  INFO(synced.status().ToString());
  REQUIRE(synced.ok());
  REQUIRE(synced->results_size() == 6);
  REQUIRE(synced->results(0).applied());
  REQUIRE(!synced->results(0).oversold());
  REQUIRE(synced->results(1).applied());
  REQUIRE(synced->results(1).oversold());
  REQUIRE(synced->results(2).applied());
  REQUIRE(!synced->results(2).oversold());
  REQUIRE(synced->results(3).applied());
  REQUIRE(synced->results(3).oversold());
  REQUIRE(!synced->results(4).applied());
  REQUIRE(!synced->results(4).error().empty());
  REQUIRE(synced->results(5).applied());
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 10 - 4 - 8 - 1 + 1);
  // The rejected entry is kept for an operator, not dropped.
  {
    pqxx::connection db(f.l.dsn());
    pqxx::work tx(db);
    auto kept = tx.exec1(
        "SELECT transaction_id, reason FROM pos.journal_rejections WHERE terminal_id = 'a-01'");
    REQUIRE(kept[0].as<std::string>() == "a-01-33");
    REQUIRE(kept[1].as<std::string>() == "INVALID_ARGUMENT");
    REQUIRE(tx.exec1("SELECT count(*) FROM pos.oversold_incidents")[0].as<int>() == 2);
  }
  REQUIRE(f.l.Availability("TISSUE", "store-a").sellable() == 9);

  // Sent again (the register did not hear the answer): nothing moves twice.
  auto repeat = f.As(f.token_a, &Gateway::SyncJournal, journal);
  REQUIRE(repeat.ok());
  REQUIRE(repeat->results(0).duplicate());
  REQUIRE(repeat->results(1).duplicate());
  REQUIRE(repeat->results(1).oversold());
  REQUIRE(repeat->results(5).duplicate());
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == -2);

  // The ledger has the sales at the times they happened, in order.
  std::vector<int64_t> times;
  for (const auto& e : f.l.AllEvents()) {
    if (!e.has_movement_applied()) continue;
    const auto& m = e.movement_applied().movement();
    if (m.kind() == lv1::MOVEMENT_KIND_STORE_SALE) times.push_back(m.occurred_at().seconds());
  }
  REQUIRE(times == std::vector<int64_t>{absl::ToUnixSeconds(t0 + absl::Minutes(1)),
                                        absl::ToUnixSeconds(t0 + absl::Minutes(2)),
                                        absl::ToUnixSeconds(t0 + absl::Minutes(3)),
                                        absl::ToUnixSeconds(t0 + absl::Minutes(3))});
  // An operator sees both oversold sales and the rejected entry.
  auto incidents = Call(*f.admin, &Admin::ListIncidents, pv1::ListIncidentsRequest());
  REQUIRE(incidents.ok());
  std::map<std::string, std::string> seen;
  for (const auto& i : incidents->incidents()) {
    seen[i.transaction_id()] = i.kind() + " " + absl::StrJoin(i.skus(), ",") + i.detail();
  }
  REQUIRE(seen.size() == 3);
  REQUIRE(seen["a-01-31"] == "OVERSOLD PEN");
  REQUIRE(seen["a-01-35"] == "OVERSOLD PEN");
  REQUIRE(absl::StartsWith(seen["a-01-33"], "JOURNAL_REJECTED INVALID_ARGUMENT"));
  auto [exit, out] = f.Ctl({"pos-incidents", "--store", "store-a"}, f.admin_address());
  INFO(out);
  REQUIRE(exit == 0);
  REQUIRE(out.find("a-01-33") != std::string::npos);
  REQUIRE(out.find("OVERSOLD") != std::string::npos);

  // An entry naming another store is refused whole: it stays with the register.
  pv1::SyncJournalRequest elsewhere;
  auto other = PosFixture::SaleOf("a-01-41", {{"PEN", 1, 105}}, 105, "store-b");
  *elsewhere.add_entries()->mutable_sale() = other;
  REQUIRE(f.As(f.token_a, &Gateway::SyncJournal, elsewhere).status().code() ==
          absl::StatusCode::kPermissionDenied);
  // A journal entry without its time is refused, not stamped now.
  pv1::SyncJournalRequest untimed;
  untimed.set_store("store-a");
  *untimed.add_entries()->mutable_sale() = PosFixture::SaleOf("a-01-40", {{"PEN", 1, 105}}, 105);
  untimed.mutable_entries(0)->mutable_sale()->clear_occurred_at();
  auto refused = f.As(f.token_a, &Gateway::SyncJournal, untimed);
  REQUIRE(refused.ok());
  REQUIRE(!refused->results(0).error().empty());
  f.l.RequireConsistent();
}

TEST_CASE("kura-ctl issues and revokes terminals and sets store settings") {
  PosFixture f("pos_ctl");
  const std::string addr = f.admin_address();
  auto expect = [&](std::vector<std::string> args, int code, std::vector<std::string> shown) {
    auto [exit, out] = f.Ctl(std::move(args), addr);
    INFO(out);
    REQUIRE(exit == code);
    for (const auto& text : shown) REQUIRE(out.find(text) != std::string::npos);
    return out;
  };
  const std::string issued =
      expect({"terminals", "issue", "a-02", "--store", "store-a", "--name", "Front"}, 0,
             {"terminal a-02 of store store-a", "token kpt_"});
  const std::string token = issued.substr(issued.find("kpt_"), 68);
  pv1::LookupRequest lookup;
  lookup.set_barcode("4901330578862");
  f.Item("PEN", 105, lv1::TAX_CLASS_STANDARD, {"4901330578862"});
  REQUIRE(f.As(token, &Gateway::Lookup, lookup).ok());
  expect({"terminals", "--store", "store-a"}, 0, {"a-01", "a-02", "Front"});
  expect({"terminals", "revoke", "a-02"}, 0, {"revoked"});
  REQUIRE(f.As(token, &Gateway::Lookup, lookup).status().code() ==
          absl::StatusCode::kUnauthenticated);
  expect({"terminals", "issue", "w-01", "--store", "wh"}, 1, {"NOT_A_STORE"});
  expect({"terminals", "issue", "x"}, 2, {});
  expect({"pos-store", "set", "store-b", "--name", "新宿店", "--invoice", "T9876543210987",
          "--layout", "20-29:price:5", "--returns-without-receipt"},
         0, {"T9876543210987", "20-29:price:5", "yes", "Asia/Tokyo"});
  expect({"pos-store", "store-b"}, 0, {"新宿店"});
  expect({"pos-store", "set", "store-b", "--name", "x", "--invoice", "T12"}, 1,
         {"INVALID_ARGUMENT"});
  expect({"pos-store", "set", "store-b", "--name", "x", "--invoice", "T9876543210987", "--layout",
          "20:bogus"},
         1, {"INVALID_IN_STORE_LAYOUT"});
}

}  // namespace
}  // namespace kura::pos::testing
