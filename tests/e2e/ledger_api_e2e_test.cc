// kura-ledger's catalog, input validation and change feed through its gRPC API.
#include <set>
#include <thread>

#include "kura/base/error.h"
#include "ledger_fixture.h"

namespace kura::ledger::testing {
namespace {

using CatalogStub = v1::CatalogService::Stub;
using LedgerStub = v1::LedgerService::Stub;

TEST_CASE("Items, locations and channels round-trip; barcodes find their item") {
  LedgerFixture l("ledger_catalog");
  l.SeedTopology();
  // Real-world codes: a JAN (EAN-13), an EAN-8 and a UPC-A with correct check digits.
  l.CreateItem("SHIRT-NAVY-M", {"4901234567894", "96385074", "036000291452"});
  for (int i = 0; i < 5; ++i) l.CreateItem(absl::StrCat("SOCK-", i));

  auto found = Call(*l.catalog, &CatalogStub::LookupBarcode, [] {
    v1::LookupBarcodeRequest r;
    r.set_barcode("96385074");
    return r;
  }());
  REQUIRE(found.ok());
  REQUIRE(found->item().sku() == "SHIRT-NAVY-M");
  REQUIRE(found->item().barcodes_size() == 3);

  v1::UpdateItemRequest update;
  update.set_request_id(NewId());
  update.mutable_item()->set_sku("SHIRT-NAVY-M");
  update.mutable_item()->set_price_yen(2480);
  (*update.mutable_item()->mutable_attributes())["size"] = "M";
  update.mutable_update_mask()->add_paths("price_yen");
  update.mutable_update_mask()->add_paths("attributes");
  auto updated = Call(*l.catalog, &CatalogStub::UpdateItem, update);
  REQUIRE(updated.ok());
  REQUIRE(updated->item().price_yen() == 2480);
  REQUIRE(updated->item().attributes().at("size") == "M");
  REQUIRE(updated->item().name() == "Item SHIRT-NAVY-M");  // not in the mask: kept

  // Paging visits every item once, in sku order.
  std::vector<std::string> skus;
  v1::ListItemsRequest list;
  list.set_page_size(2);
  while (true) {
    auto page = Call(*l.catalog, &CatalogStub::ListItems, list);
    REQUIRE(page.ok());
    for (const auto& item : page->items()) skus.push_back(item.sku());
    if (page->next_page_token().empty()) break;
    list.set_page_token(page->next_page_token());
  }
  REQUIRE(skus.size() == 6);
  REQUIRE(std::is_sorted(skus.begin(), skus.end()));

  auto channel = Call(*l.catalog, &CatalogStub::GetChannel, [] {
    v1::GetChannelRequest r;
    r.set_code("ec");
    return r;
  }());
  REQUIRE(channel.ok());
  REQUIRE(channel->channel().location_codes_size() == 2);
  REQUIRE(channel->channel().location_codes(0) == "store-a");  // priority order kept

  // Changing a channel tells the feed's consumers to recompute its availability.
  v1::UpdateChannelRequest change;
  change.set_request_id(NewId());
  change.mutable_channel()->set_code("ec");
  change.mutable_channel()->add_location_codes("wh");
  change.mutable_update_mask()->add_paths("location_codes");
  auto changed = Call(*l.catalog, &CatalogStub::UpdateChannel, change);
  REQUIRE(changed.ok());
  REQUIRE(changed->channel().location_codes_size() == 1);
  auto events = l.AllEvents();
  REQUIRE(events.back().channel_changed().channel() == "ec");
}

// One bad request and what it must answer.
struct BadCase {
  std::string what;
  std::function<absl::Status()> call;
  absl::StatusCode code;
  std::string reason;
};

TEST_CASE("Bad input gets a clear error with a reason and changes nothing") {
  LedgerFixture l("ledger_bad_input");
  l.SeedTopology();
  l.CreateItem("OK-1", {"4901234567894"});
  l.Receive("OK-1", "store-a", 5);
  auto before = l.AllEvents().size();
  auto move = [&](std::function<void(v1::MovementRequest*)> edit) {
    return [&l, edit] {
      v1::ApplyMovementsRequest r;
      r.set_request_id(NewId());
      auto* m = r.add_movements();
      m->set_kind(v1::MOVEMENT_KIND_RECEIVE);
      m->set_sku("OK-1");
      m->set_location("store-a");
      m->set_quantity(1);
      edit(m);
      return Call(*l.ledger, &LedgerStub::ApplyMovements, r).status();
    };
  };
  auto item = [&](std::function<void(v1::Item*)> edit) {
    return [&l, edit] {
      v1::CreateItemRequest r;
      r.set_request_id(NewId());
      r.mutable_item()->set_sku("NEW-ITEM");
      r.mutable_item()->set_name("New");
      r.mutable_item()->set_price_yen(100);
      r.mutable_item()->set_tax_class(v1::TAX_CLASS_REDUCED);
      edit(r.mutable_item());
      return Call(*l.catalog, &CatalogStub::CreateItem, r).status();
    };
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  const auto kNotFound = absl::StatusCode::kNotFound;
  std::vector<BadCase> cases = {
      {"unknown sku", move([](auto* m) { m->set_sku("NOPE"); }), kNotFound, "ITEM_NOT_FOUND"},
      {"unknown location", move([](auto* m) { m->set_location("nowhere"); }), kNotFound,
       "LOCATION_NOT_FOUND"},
      {"system location", move([](auto* m) { m->set_location("@customer"); }), kInvalid,
       "INVALID_ARGUMENT"},
      {"unknown channel", move([](auto* m) { m->set_channel("no-channel"); }), kNotFound,
       "CHANNEL_NOT_FOUND"},
      {"zero quantity", move([](auto* m) { m->set_quantity(0); }), kInvalid, "INVALID_ARGUMENT"},
      {"negative quantity", move([](auto* m) { m->set_quantity(-3); }), kInvalid,
       "INVALID_ARGUMENT"},
      {"overflowing quantity", move([](auto* m) { m->set_quantity(INT64_MAX); }), kInvalid,
       "INVALID_ARGUMENT"},
      {"unspecified kind", move([](auto* m) { m->set_kind(v1::MOVEMENT_KIND_UNSPECIFIED); }),
       kInvalid, "INVALID_ARGUMENT"},
      {"internal kind", move([](auto* m) { m->set_kind(v1::MOVEMENT_KIND_COMMIT); }), kInvalid,
       "INVALID_ARGUMENT"},
      {"malformed sku", move([](auto* m) { m->set_sku("bad sku!"); }), kInvalid,
       "INVALID_ARGUMENT"},
      {"empty batch",
       [&] {
         v1::ApplyMovementsRequest r;
         r.set_request_id(NewId());
         return Call(*l.ledger, &LedgerStub::ApplyMovements, r).status();
       },
       kInvalid, "INVALID_ARGUMENT"},
      {"missing request id",
       [&] {
         v1::ApplyMovementsRequest r;
         *r.add_movements() = v1::MovementRequest();
         return Call(*l.ledger, &LedgerStub::ApplyMovements, r).status();
       },
       kInvalid, "INVALID_ARGUMENT"},
      {"bad check digit", item([](auto* i) { i->add_barcodes("4901234567890"); }), kInvalid,
       "INVALID_BARCODE"},
      {"barcode of wrong length", item([](auto* i) { i->add_barcodes("12345"); }), kInvalid,
       "INVALID_BARCODE"},
      {"barcode taken", item([](auto* i) { i->add_barcodes("4901234567894"); }),
       absl::StatusCode::kAlreadyExists, "BARCODE_TAKEN"},
      {"unspecified tax class", item([](auto* i) { i->set_tax_class(v1::TAX_CLASS_UNSPECIFIED); }),
       kInvalid, "INVALID_ARGUMENT"},
      {"negative price", item([](auto* i) { i->set_price_yen(-1); }), kInvalid, "INVALID_ARGUMENT"},
      {"hold with malformed id",
       [&] { return l.Hold("OK-1", "store-a", 1, absl::Minutes(1), "ec", "bad id").status(); },
       kInvalid, "INVALID_ARGUMENT"},
      {"hold already expired",
       [&] { return l.Hold("OK-1", "store-a", 1, -absl::Minutes(1)).status(); }, kInvalid,
       "INVALID_ARGUMENT"},
      {"unknown movement kind",
       move([](auto* m) { m->set_kind(static_cast<v1::MovementKind>(-1)); }), kInvalid,
       "INVALID_ARGUMENT"},
      {"time out of range",
       move([](auto* m) { m->mutable_occurred_at()->set_seconds(INT64_MAX / 2); }), kInvalid,
       "INVALID_ARGUMENT"},
      {"nanos out of range", move([](auto* m) { m->mutable_occurred_at()->set_nanos(-5); }),
       kInvalid, "INVALID_ARGUMENT"},
      {"hold for a year",
       [&] { return l.Hold("OK-1", "store-a", 1, absl::Hours(24 * 365)).status(); }, kInvalid,
       "INVALID_ARGUMENT"},
      {"malformed page token",
       [&] {
         v1::ListHoldsRequest r;
         r.set_page_token("garbage");
         return Call(*l.ledger, &LedgerStub::ListHolds, r).status();
       },
       kInvalid, "INVALID_ARGUMENT"},
      {"control character in order_ref",
       [&] {
         v1::CreateHoldsRequest r;
         r.set_request_id(NewId());
         r.set_channel("ec");
         r.set_order_ref(std::string("order\0-1", 8));
         auto* line = r.add_lines();
         line->set_hold_id(NewId("h"));
         line->set_sku("OK-1");
         line->set_location("store-a");
         line->set_quantity(1);
         r.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
         return Call(*l.ledger, &LedgerStub::CreateHolds, r).status();
       },
       kInvalid, "INVALID_ARGUMENT"},
      {"hold beyond stock", [&] { return l.Hold("OK-1", "store-a", 6).status(); },
       absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_STOCK"},
      {"post unknown hold",
       [&] {
         v1::PostHoldRequest r;
         r.set_request_id(NewId());
         r.set_hold_id("no-such-hold");
         return Call(*l.ledger, &LedgerStub::PostHold, r).status();
       },
       kNotFound, "HOLD_NOT_FOUND"},
      {"unspecified location kind",
       [&] {
         v1::CreateLocationRequest r;
         r.set_request_id(NewId());
         r.mutable_location()->set_code("x");
         r.mutable_location()->set_name("x");
         r.mutable_location()->set_time_zone("Asia/Tokyo");
         return Call(*l.catalog, &CatalogStub::CreateLocation, r).status();
       },
       kInvalid, "INVALID_ARGUMENT"},
      {"unknown time zone",
       [&] {
         v1::CreateLocationRequest r;
         r.set_request_id(NewId());
         r.mutable_location()->set_code("x");
         r.mutable_location()->set_name("x");
         r.mutable_location()->set_kind(v1::LOCATION_KIND_STORE);
         r.mutable_location()->set_time_zone("Mars/Olympus");
         return Call(*l.catalog, &CatalogStub::CreateLocation, r).status();
       },
       kInvalid, "INVALID_ARGUMENT"},
  };
  for (const BadCase& c : cases) {
    INFO(c.what);
    absl::Status status = c.call();
    INFO(status.ToString());
    REQUIRE(status.code() == c.code);
    REQUIRE(ErrorReason(status) == c.reason);
    REQUIRE(ErrorDomain(status) == "kura.ledger");
  }
  // Nothing changed: no event, the same stock, no new item, consistent books.
  REQUIRE(l.AllEvents().size() == before);
  v1::Availability a = l.Availability("OK-1", "store-a", "ec");
  REQUIRE(a.sellable() == 5);
  REQUIRE(a.held() == 0);
  REQUIRE(Call(*l.catalog, &CatalogStub::GetItem,
               [] {
                 v1::GetItemRequest r;
                 r.set_sku("NEW-ITEM");
                 return r;
               }())
              .status()
              .code() == kNotFound);
  l.RequireConsistent();
}

TEST_CASE("Incoming stock is listed per purchase order, receipts using up the earliest first") {
  LedgerFixture l("ledger_incoming");
  l.CreateLocation("wh", v1::LOCATION_KIND_WAREHOUSE);
  l.CreateLocation("store-a");
  l.CreateItem("PRE");
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto order = [&](const std::string& location, int64_t quantity, int days, const std::string& po) {
    v1::ApplyMovementsRequest r;
    r.set_request_id(NewId());
    auto* m = r.add_movements();
    m->set_kind(v1::MOVEMENT_KIND_ORDER_INCOMING);
    m->set_sku("PRE");
    m->set_location(location);
    m->set_quantity(quantity);
    m->set_source_ref(po);
    m->mutable_expected_at()->set_seconds(now + days * 86400);
    REQUIRE(Call(*l.ledger, &LedgerStub::ApplyMovements, r).ok());
  };
  auto list = [&](std::vector<std::string> locations) {
    v1::ListIncomingRequest r;
    r.add_skus("PRE");
    for (auto& location : locations) r.add_locations(location);
    auto result = Call(*l.ledger, &LedgerStub::ListIncoming, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
    std::vector<std::tuple<std::string, std::string, int64_t, int64_t>> lots;
    for (const auto& lot : result->lots()) {
      lots.push_back({lot.location(), lot.source_ref(), lot.quantity(),
                      (lot.expected_at().seconds() - now) / 86400});
    }
    return lots;
  };
  order("wh", 5, 14, "PO-2");  // entered out of date order
  order("wh", 4, 7, "PO-1");
  order("store-a", 3, 10, "PO-3");
  using Lots = std::vector<std::tuple<std::string, std::string, int64_t, int64_t>>;
  REQUIRE(list({}) ==
          Lots{{"store-a", "PO-3", 3, 10}, {"wh", "PO-1", 4, 7}, {"wh", "PO-2", 5, 14}});
  // 6 arrive at the warehouse: PO-1 in full, 2 of PO-2.
  REQUIRE(l.Move(v1::MOVEMENT_KIND_RECEIVE_INCOMING, "PRE", "wh", 6).ok());
  REQUIRE(list({"wh"}) == Lots{{"wh", "PO-2", 3, 14}});
  REQUIRE(l.Move(v1::MOVEMENT_KIND_RECEIVE_INCOMING, "PRE", "store-a", 3).ok());
  REQUIRE(list({"store-a"}).empty());
  v1::ListIncomingRequest bad;
  REQUIRE(Call(*l.ledger, &LedgerStub::ListIncoming, bad).status().code() ==
          absl::StatusCode::kInvalidArgument);
  bad.add_skus("NOPE");
  REQUIRE(ErrorReason(Call(*l.ledger, &LedgerStub::ListIncoming, bad).status()) ==
          "ITEM_NOT_FOUND");

  // Coordinates round-trip and are checked.
  v1::CreateLocationRequest located;
  located.set_request_id(NewId());
  auto* store = located.mutable_location();
  store->set_code("store-geo");
  store->set_name("geo");
  store->set_kind(v1::LOCATION_KIND_STORE);
  store->set_time_zone("Asia/Tokyo");
  store->mutable_coordinates()->set_latitude(95);
  store->mutable_coordinates()->set_longitude(139.7);
  REQUIRE(ErrorReason(Call(*l.catalog, &CatalogStub::CreateLocation, located).status()) ==
          "INVALID_ARGUMENT");
  store->mutable_coordinates()->set_latitude(35.68);
  located.set_request_id(NewId());
  auto created = Call(*l.catalog, &CatalogStub::CreateLocation, located);
  REQUIRE(created.ok());
  REQUIRE(created->location().coordinates().latitude() == 35.68);
  REQUIRE(created->location().coordinates().longitude() == 139.7);
  v1::UpdateLocationRequest clear;
  clear.set_request_id(NewId());
  clear.mutable_location()->set_code("store-geo");
  clear.mutable_update_mask()->add_paths("coordinates");
  auto cleared = Call(*l.catalog, &CatalogStub::UpdateLocation, clear);
  REQUIRE(cleared.ok());
  REQUIRE(!cleared->location().has_coordinates());
}

// Reads WatchChanges into `events`, reconnecting from the last sequence it got whenever the
// stream ends, until `stop`.
void Watch(LedgerFixture& l, std::mutex& mu, std::vector<v1::ChangeEvent>& events,
           std::atomic<bool>& stop, std::atomic<int>& reconnects) {
  int64_t cursor = 0;
  while (!stop) {
    auto stub = v1::ChangeFeedService::NewStub(l.channel());
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    v1::WatchChangesRequest request;
    request.set_after_sequence(cursor);
    auto reader = stub->WatchChanges(&context, request);
    v1::WatchChangesResponse response;
    while (reader->Read(&response)) {
      std::lock_guard lock(mu);
      events.push_back(response.event());
      cursor = response.event().sequence();
    }
    reader->Finish();
    ++reconnects;
  }
}

TEST_CASE("WatchChanges delivers every event once, in commit order, across restarts") {
  LedgerFixture l("ledger_watch", {{"KURA_DB_POOL_SIZE", "4"}});
  l.SeedTopology();
  l.CreateItem("W");
  std::mutex mu;
  std::vector<v1::ChangeEvent> seen;
  std::atomic<bool> stop{false};
  std::atomic<int> reconnects{0};
  std::thread watcher([&] { Watch(l, mu, seen, stop, reconnects); });

  auto write = [&](int n) {
    std::atomic<int> failed{0};  // Catch2's assertions are not thread-safe: count, then check
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&] {
        for (int i = 0; i < n; ++i) {
          if (!l.Move(v1::MOVEMENT_KIND_RECEIVE, "W", "store-a", 1).ok()) ++failed;
        }
      });
    }
    for (auto& t : writers) t.join();
    REQUIRE(failed == 0);
  };
  write(10);
  // Restart the ledger in the middle: the watcher reconnects from its cursor.
  l.Stop();
  l.Start();
  write(10);
  auto all = l.AllEvents();
  REQUIRE(kura::testing::WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return seen.size() >= all.size();
      },
      absl::Seconds(15)));
  stop = true;
  watcher.join();
  REQUIRE(reconnects >= 1);
  std::lock_guard lock(mu);
  REQUIRE(seen.size() == all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    REQUIRE(seen[i].sequence() == static_cast<int64_t>(i) + 1);  // no gap, no duplicate
    REQUIRE(seen[i].SerializeAsString() == all[i].SerializeAsString());
  }
  // 80 receipts: one movement event each, and an availability event per transaction (a batch of
  // receipts commits together) with the sellable units at its commit: the last says 80.
  int movements = 0, availability = 0;
  int64_t last_sellable = 0;
  for (const auto& e : all) {
    movements += e.has_movement_applied() ? 1 : 0;
    if (e.has_availability_changed()) {
      ++availability;
      REQUIRE(e.availability_changed().sellable() > last_sellable);
      last_sellable = e.availability_changed().sellable();
    }
  }
  REQUIRE(movements == 80);
  REQUIRE(availability >= 1);
  REQUIRE(availability <= 80);
  REQUIRE(last_sellable == 80);
}

TEST_CASE("A watcher is woken by a commit without waiting for a poll") {
  // The safety-net poll is made far longer than the test: only a notification can wake it.
  LedgerFixture l("ledger_wake", {{"KURA_CHANGE_FEED_POLL_INTERVAL", "60s"}});
  l.SeedTopology();
  l.CreateItem("V");
  auto stub = v1::ChangeFeedService::NewStub(l.channel());
  grpc::ClientContext context;
  v1::WatchChangesRequest request;
  auto reader = stub->WatchChanges(&context, request);
  absl::SleepFor(absl::Milliseconds(300));  // the stream is idle, waiting
  absl::Time sent = absl::Now();
  REQUIRE(l.Move(v1::MOVEMENT_KIND_RECEIVE, "V", "store-a", 1).ok());
  v1::WatchChangesResponse response;
  REQUIRE(reader->Read(&response));
  REQUIRE(absl::Now() - sent < absl::Seconds(5));
  context.TryCancel();
  reader->Finish();
}

// Runs kura-ctl against the fixture's ledger; returns its exit code and output.
std::pair<int, std::string> Ctl(LedgerFixture& l, std::vector<std::string> args) {
  static int n = 0;
  std::string dir = kura::testing::MakeTempDir("ctl");
  args.insert(args.begin(), KURA_CTL);
  args.push_back("--addr=" + l.address());
  kura::testing::Subprocess p(args, {}, absl::StrCat(dir, "/ctl-", ++n, ".log"));
  std::optional<int> code = p.Wait(absl::Seconds(30));
  REQUIRE(code.has_value());
  return {*code, p.Output()};
}

TEST_CASE("kura-ctl manages the catalog and stock and reports errors with their reason") {
  LedgerFixture l("ledger_ctl");
  auto ok = [&](std::vector<std::string> args) {
    auto [code, out] = Ctl(l, args);
    INFO(out);
    REQUIRE(code == 0);
    return out;
  };
  ok({"locations", "create", "--code", "shibuya", "--name", "Shibuya", "--kind", "store"});
  ok({"channels", "create", "--code", "shop", "--name", "Shop", "--kind", "ec", "--locations",
      "shibuya"});
  ok({"items", "create", "--sku", "TEE-M", "--name", "Tee M", "--price", "2980", "--attr", "size=M",
      "--barcode", "4901234567894"});
  ok({"receive", "TEE-M", "shibuya", "12", "--ref", "PO-1"});
  REQUIRE(ok({"count", "TEE-M", "shibuya", "10"})
              .find("2 × TEE-M  shibuya/sellable → "
                    "@count_variance") != std::string::npos);
  ok({"adjust", "TEE-M", "shibuya", "1"});
  std::string stock = ok({"stock", "TEE-M", "--channel", "shop"});
  REQUIRE(stock.find("SELLABLE") != std::string::npos);
  REQUIRE(stock.find("TEE-M  shibuya   shop") != std::string::npos);
  REQUIRE(stock.find(" 11 ") != std::string::npos);
  REQUIRE(ok({"items", "--json"}).find("\"sku\":\"TEE-M\"") != std::string::npos);
  REQUIRE(ok({"items", "barcode", "4901234567894"}).find("TEE-M") != std::string::npos);
  REQUIRE(ok({"changes"}).find("movement receive 12 × TEE-M @supplier → shibuya") !=
          std::string::npos);
  REQUIRE(ok({"verify"}).find("ok: ") == 0);
  REQUIRE(ok({"holds"}).find("HOLD") == 0);

  auto [missing_code, missing] = Ctl(l, {"stock", "NOPE"});
  REQUIRE(missing_code == 1);
  REQUIRE(missing.find("NOT_FOUND ITEM_NOT_FOUND") != std::string::npos);
  auto [usage_code, usage] = Ctl(l, {"receive", "TEE-M"});
  REQUIRE(usage_code == 2);
  REQUIRE(usage.find("receive takes SKU LOCATION QUANTITY") != std::string::npos);
  auto [option_code, option] = Ctl(l, {"stock", "TEE-M", "--colour", "red"});
  REQUIRE(option_code == 2);
  REQUIRE(option.find("unknown option --colour") != std::string::npos);
}

}  // namespace
}  // namespace kura::ledger::testing
