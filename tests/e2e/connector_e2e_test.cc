// kura-connector as a real process (webhooks over real HTTP, signed with the platforms'
// algorithms) in front of real kura-reservation and kura-ledger processes on a real PostgreSQL.
#include <httplib.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "crypto.h"
#include "kura/connector/v1/admin.grpc.pb.h"
#include "reservation_fixture.h"

namespace kura::reservation::testing {
namespace {

namespace cv1 = ::kura::connector::v1;
namespace lv1 = ::kura::ledger::v1;
using AdminStub = cv1::ConnectorAdminService::Stub;

const char kShopifySecret[] = "shpss_test_5e4a1c0ffee0123456789abcdef";
const char kKuraSecret[] = "kura-test-secret-0001";

std::string Sample(const std::string& name) {
  std::ifstream in(std::string(KURA_CONNECTOR_TESTDATA) + "/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The reservation fixture plus a kura-connector process and its webhook port.
struct ConnectorFixture : Fixture {
  // `settings` override the connector's environment.
  explicit ConnectorFixture(const std::string& name,
                            const std::map<std::string, std::string>& settings = {})
      : Fixture(name) {
    webhook_port = kura::testing::FreePort();
    env = {{"KURA_LEDGER_ADDR", l.address()},
           {"KURA_RESERVATION_ADDR", reservation->grpc_address()},
           {"KURA_WEBHOOK_LISTEN", absl::StrCat("127.0.0.1:", webhook_port)},
           {"KURA_INBOX_POLL_INTERVAL", "50ms"},
           {"KURA_DRIFT_CONFIRM_AFTER", "0s"}};
    for (const auto& [k, v] : settings) env[k] = v;
    StartConnector();
    admin = cv1::ConnectorAdminService::NewStub(
        grpc::CreateChannel(connector->grpc_address(), grpc::InsecureChannelCredentials()));
  }

  // (Re)starts the connector process, on the same ports.
  void StartConnector() {
    connector = std::make_unique<kura::testing::ServiceProcess>(
        absl::StrCat(KURA_SERVICES_DIR, "/kura-connector"), l.dsn(), dir, env);
    env["KURA_GRPC_LISTEN"] = connector->grpc_address();
  }

  // A channel's connection; with `api_url`, its stock API too (credentials "sim-token", the
  // simulators' push location).
  void Connect(const std::string& channel, const std::string& platform,
               std::vector<std::string> secrets, const std::string& api_url = "") {
    cv1::SetConnectionRequest r;
    r.mutable_connection()->set_channel(channel);
    r.mutable_connection()->set_platform(platform);
    for (auto& s : secrets) r.mutable_connection()->add_webhook_secrets(s);
    if (!api_url.empty()) {
      r.mutable_connection()->set_api_url(api_url);
      r.mutable_connection()->set_api_credentials("sim-token");
      r.mutable_connection()->set_push_location_id("71234567890");
    }
    auto result = Call(*admin, &AdminStub::SetConnection, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
  }

  // A platform item mapped to `sku`, with the platform's stock id where it differs.
  void MapItem(const std::string& channel, const std::string& platform_id, const std::string& sku,
               const std::string& inventory_item = "") {
    cv1::SetItemMappingRequest r;
    r.mutable_mapping()->set_channel(channel);
    r.mutable_mapping()->set_platform_item_id(platform_id);
    r.mutable_mapping()->set_sku(sku);
    r.mutable_mapping()->set_platform_inventory_item_id(inventory_item);
    auto result = Call(*admin, &AdminStub::SetItemMapping, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
  }

  // POSTs a body to /webhooks/{platform}/{channel}: the HTTP status, 0 for no answer after
  // three tries (a platform retries an unanswered delivery). Safe on any thread.
  int Post(const std::string& platform, const std::string& channel, const std::string& body,
           httplib::Headers headers) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      httplib::Client client("127.0.0.1", webhook_port);
      client.set_connection_timeout(5);
      auto res = client.Post(absl::StrCat("/webhooks/", platform, "/", channel).c_str(), headers,
                             body, "application/json");
      if (res) return res->status;
    }
    return 0;
  }

  int PostShopify(const std::string& channel, const std::string& body, const std::string& topic,
                  const std::string& event_id, const std::string& secret = kShopifySecret) {
    return Post("shopify", channel, body,
                {{"X-Shopify-Topic", topic},
                 {"X-Shopify-Hmac-Sha256", connector::Base64(connector::HmacSha256(secret, body))},
                 {"X-Shopify-Event-Id", event_id},
                 {"X-Shopify-Triggered-At", "2025-03-14T01:22:31Z"}});
  }

  // A kura signed-JSON event.
  int PostKura(const std::string& channel, const std::string& event_id, const std::string& type,
               const std::string& order_id, const std::string& occurred_at,
               const std::string& lines) {
    const std::string body =
        absl::StrCat(R"({"event_id":")", event_id, R"(","type":")", type, R"(","order_id":")",
                     order_id, R"(","occurred_at":")", occurred_at, R"(","lines":)", lines, "}");
    return Post("kura", channel, body,
                {{"Kura-Signature", connector::Base64(connector::HmacSha256(kKuraSecret, body))}});
  }

  std::vector<cv1::DeadLetter> DeadLetters() {
    auto result = Call(*admin, &AdminStub::ListDeadLetters, cv1::ListDeadLettersRequest());
    REQUIRE(result.ok());
    return {result->dead_letters().begin(), result->dead_letters().end()};
  }

  // Waits until every stored delivery is done (applied, skipped or dead-lettered): what a
  // delivery did not do by then, it never does.
  void WaitIdle() {
    pqxx::connection db(l.dsn());
    REQUIRE(kura::testing::WaitFor(
        [&] {
          pqxx::nontransaction tx(db);
          return tx.exec1("SELECT count(*) FROM connector.inbox WHERE state = 0")[0].as<int>() == 0;
        },
        absl::Seconds(15)));
  }
  // Waits until the availability pusher has read the ledger's change feed to its end.
  void WaitFeedRead() {
    const int64_t head = l.AllEvents().back().sequence();
    pqxx::connection db(l.dsn());
    REQUIRE(kura::testing::WaitFor(
        [&] {
          pqxx::nontransaction tx(db);
          return tx.exec1("SELECT sequence FROM connector.feed_cursor WHERE name = 'push'")[0]
                     .as<int64_t>() >= head;
        },
        absl::Seconds(15)));
  }

  // A metric of the connector without labels, as its /metrics shows it now (-1: not shown).
  double Metric(const std::string& name) {
    httplib::Client client("127.0.0.1", connector->metrics_port());
    auto res = client.Get("/metrics");
    if (!res || res->status != 200) return -1;
    std::istringstream lines(res->body);
    for (std::string line; std::getline(lines, line);) {
      if (absl::StartsWith(line, name + " ")) return std::stod(line.substr(name.size() + 1));
    }
    return -1;
  }

  int webhook_port = 0;
  std::map<std::string, std::string> env;  // the connector's
  std::unique_ptr<kura::testing::ServiceProcess> connector;
  std::unique_ptr<AdminStub> admin;
};

bool Eventually(const std::function<bool()>& condition) {
  return kura::testing::WaitFor(condition, absl::Seconds(15));
}

TEST_CASE("A signed Shopify order becomes a confirmed kura order once, however often it comes") {
  ConnectorFixture f("cn_shopify_order");
  f.l.CreateItem("TSHIRT-BLK-M");
  f.l.CreateItem("MUG-WHT");
  f.l.Receive("TSHIRT-BLK-M", "wh", 10);
  f.l.Receive("MUG-WHT", "wh", 10);
  f.Connect("ec", "shopify", {kShopifySecret, "shpss_previous_secret"});
  f.MapItem("ec", "44123456789012", "TSHIRT-BLK-M");  // the mug maps by its SKU

  const std::string body = Sample("shopify_orders_create_online.json");
  REQUIRE(f.PostShopify("ec", body, "orders/create", "ev-1") == 200);
  REQUIRE(Eventually([&] {
    auto o = f.Get("ec", "5891234567890");
    return o.ok() && o->state() == rv1::ORDER_STATE_CONFIRMED;
  }));
  REQUIRE(f.l.Availability("TSHIRT-BLK-M", "wh").committed() == 2);
  REQUIRE(f.l.Availability("MUG-WHT", "wh").committed() == 1);

  // The same delivery again, and the same event from a rotated secret: applied once.
  REQUIRE(f.PostShopify("ec", body, "orders/create", "ev-1") == 200);
  REQUIRE(f.PostShopify("ec", body, "orders/create", "ev-1", "shpss_previous_secret") == 200);
  f.WaitIdle();
  REQUIRE(f.l.Availability("TSHIRT-BLK-M", "wh").committed() == 2);

  // A bad signature: 401 and nothing stored; a signed body that is not an order: 400 and a
  // dead letter.
  REQUIRE(f.PostShopify("ec", body, "orders/create", "ev-2", "wrong-secret") == 401);
  REQUIRE(f.PostShopify("ec", R"({"id": 77})", "orders/create", "ev-3") == 400);
  auto dead = f.DeadLetters();
  REQUIRE(dead.size() == 1);
  REQUIRE(dead[0].reason() == "MALFORMED_BODY");
  REQUIRE(f.Post("shopify", "nochannel", body, {}) == 404);

  // An edit on the platform (three shirts now) is not applied: kura keeps the order as first
  // placed and tells the operator with a dead letter; the delivery's other events still apply.
  std::string edited = body;
  edited.replace(edited.find(R"("quantity": 2)"), 13, R"("quantity": 3)");
  edited.replace(edited.find(R"("current_quantity": 2)"), 21, R"("current_quantity": 3)");
  REQUIRE(f.PostShopify("ec", edited, "orders/updated", "ev-4") == 200);
  REQUIRE(Eventually([&] { return f.DeadLetters().size() == 2; }));
  REQUIRE(f.DeadLetters()[0].reason() == "ORDER_EDIT_NOT_APPLIED");
  REQUIRE(f.l.Availability("TSHIRT-BLK-M", "wh").committed() == 2);
  REQUIRE(f.Get("ec", "5891234567890")->state() == rv1::ORDER_STATE_CONFIRMED);

  // A POS order is a store sale at the mapped location.
  cv1::SetLocationMappingRequest map;
  map.mutable_mapping()->set_channel("ec");
  map.mutable_mapping()->set_platform_location_id("71234567890");
  map.mutable_mapping()->set_location("store-a");
  REQUIRE(Call(*f.admin, &AdminStub::SetLocationMapping, map).ok());
  f.l.Receive("TSHIRT-BLK-M", "store-a", 5);
  REQUIRE(f.PostShopify("ec", Sample("shopify_orders_create_pos.json"), "orders/create",
                        "ev-pos") == 200);
  REQUIRE(Eventually([&] { return f.l.Availability("TSHIRT-BLK-M", "store-a").sellable() == 4; }));
  f.l.RequireConsistent();
}

TEST_CASE("Shopify snapshots out of order: an older state never overrides a newer one") {
  ConnectorFixture f("cn_stale");
  f.l.CreateItem("TEE");
  f.l.Receive("TEE", "wh", 10);
  f.Connect("ec", "shopify", {kShopifySecret});
  auto order = [](const std::string& financial_status, const std::string& cancelled_at) {
    return absl::StrCat(R"({"id":900001,"financial_status":")", financial_status,
                        R"(","cancelled_at":)", cancelled_at,
                        R"(,"customer":null,"line_items":[{"id":1,"variant_id":7,"sku":"TEE",)",
                        R"("quantity":2}]})");
  };
  auto post = [&](const std::string& body, const std::string& event, const std::string& at) {
    return f.Post(
        "shopify", "ec", body,
        {{"X-Shopify-Topic", "orders/updated"},
         {"X-Shopify-Hmac-Sha256", connector::Base64(connector::HmacSha256(kShopifySecret, body))},
         {"X-Shopify-Event-Id", event},
         {"X-Shopify-Triggered-At", at}});
  };
  auto state = [&] {
    auto o = f.Get("ec", "900001");
    return o.ok() ? o->state() : rv1::ORDER_STATE_UNSPECIFIED;
  };
  // Created (pending) at 10:00, then paid at 10:02: confirmed.
  REQUIRE(post(order("pending", "null"), "s-1", "2026-11-26T10:00:00Z") == 200);
  REQUIRE(Eventually([&] { return state() == rv1::ORDER_STATE_PENDING; }));
  REQUIRE(post(order("paid", "null"), "s-3", "2026-11-26T10:02:00Z") == 200);
  REQUIRE(Eventually([&] { return state() == rv1::ORDER_STATE_CONFIRMED; }));
  // A retried delivery of a 10:01 state (cancelled then, as its snapshot says) arrives last: it
  // is older than the state applied, so it is skipped and the order stays confirmed.
  REQUIRE(post(order("voided", R"("2026-11-26T10:01:00Z")"), "s-2", "2026-11-26T10:01:00Z") == 200);
  f.WaitIdle();
  REQUIRE(state() == rv1::ORDER_STATE_CONFIRMED);
  REQUIRE(f.l.Availability("TEE", "wh").committed() == 2);
  REQUIRE(f.DeadLetters().empty());
}

TEST_CASE(
    "While the reservation is out of reach, deliveries wait however long it takes; none is "
    "dead-lettered, each is applied once when it returns") {
  // Two attempts would dead-letter a delivery that keeps being refused; an outage is not a
  // refusal.
  ConnectorFixture f("cn_outage",
                     {{"KURA_CALL_TIMEOUT", "200ms"}, {"KURA_INBOX_MAX_ATTEMPTS", "2"}});
  f.l.CreateItem("TSHIRT-BLK-M");
  f.l.CreateItem("MUG-WHT");
  f.l.Receive("TSHIRT-BLK-M", "wh", 10);
  f.l.Receive("MUG-WHT", "wh", 10);
  f.Connect("ec", "shopify", {kShopifySecret});
  f.MapItem("ec", "44123456789012", "TSHIRT-BLK-M");

  f.reservation->process().Signal(SIGSTOP);  // hangs: every call times out
  REQUIRE(f.PostShopify("ec", Sample("shopify_orders_create_online.json"), "orders/create",
                        "ev-outage") == 200);
  pqxx::connection db(f.l.dsn());
  // Three tries, each timed out (more than inbox_max_attempts), counted by the connector's
  // kura_connector_processing_seconds (one per outcome recorded).
  REQUIRE(Eventually([&] { return f.Metric("kura_connector_processing_seconds_count") >= 3; }));
  {
    pqxx::nontransaction tx(db);
    REQUIRE(tx.exec1("SELECT count(*) FROM connector.inbox WHERE state = 0")[0].as<int>() == 1);
  }
  REQUIRE(f.DeadLetters().empty());

  f.reservation->process().Signal(SIGCONT);
  REQUIRE(kura::testing::WaitFor(
      [&] {
        auto o = f.Get("ec", "5891234567890");
        return o.ok() && o->state() == rv1::ORDER_STATE_CONFIRMED;
      },
      absl::Seconds(40)));
  f.WaitIdle();
  REQUIRE(f.DeadLetters().empty());
  REQUIRE(f.l.Availability("TSHIRT-BLK-M", "wh").committed() == 2);
  REQUIRE(f.l.Availability("MUG-WHT", "wh").committed() == 1);
  f.l.RequireConsistent();
}

TEST_CASE(
    "A flash sale on two EC channels while registers sell the same item: exactly the stock "
    "is sold, every other order kept as UNFULFILLABLE") {
  ConnectorFixture f("cn_flash");
  constexpr int kUnits = 100, kOrdersPerChannel = 150, kSenders = 16;
  f.l.CreateItem("FLASH");
  f.l.CreateChannel("ec2", {"store-a", "wh"});
  f.l.CreateChannel("registers-a", {"store-a"}, lv1::CHANNEL_KIND_STORE_REGISTER, false);
  f.l.Receive("FLASH", "wh", 60);
  f.l.Receive("FLASH", "store-a", 40);
  f.Connect("ec", "shopify", {kShopifySecret});
  f.Connect("ec2", "shopify", {kShopifySecret});

  // The registers of store-a sell what is on its shelf and not held (a hold on the register
  // channel, posted at once: the ledger refuses what is not there).
  std::atomic<bool> selling = true;
  std::atomic<int> register_sales = 0, failed_posts = 0;
  std::mutex error_mu;
  std::string last_error;
  std::thread registers([&] {
    while (selling) {
      const std::string hold = NewId("reg");
      auto held = f.l.Hold("FLASH", "store-a", 1, absl::Minutes(1), "registers-a", hold);
      if (!held.ok()) {
        // The shelf is empty for good (nothing returns in this test): the registers stop.
        std::lock_guard lock(error_mu);
        last_error = held.status().ToString();
        break;
      }
      lv1::PostHoldRequest post;
      post.set_request_id(NewId());
      post.set_hold_id(hold);
      post.set_quantity(1);
      if (!Call(*f.l.ledger, &lv1::LedgerService::Stub::PostHold, post).ok()) {
        ++failed_posts;  // (checked on the test's thread)
        continue;
      }
      ++register_sales;
      absl::SleepFor(absl::Milliseconds(20));
    }
  });

  // 300 paid orders of one unit, from 16 senders, half on each channel.
  std::atomic<int> next = 0, refused_at_intake = 0;
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&] {
      for (int i = next++; i < 2 * kOrdersPerChannel; i = next++) {
        const std::string body = absl::StrCat(
            R"({"id":)", 7000 + i, R"(,"financial_status":"paid","source_name":"web",)",
            R"("cancelled_at":null,"customer":null,"line_items":[{"id":)", 7000 + i,
            R"(,"variant_id":1,"sku":"FLASH","quantity":1}]})");
        if (f.PostShopify(i % 2 == 0 ? "ec" : "ec2", body, "orders/create",
                          absl::StrCat("flash-", i)) != 200) {
          ++refused_at_intake;
        }
      }
    });
  }
  for (auto& t : senders) t.join();
  REQUIRE(refused_at_intake == 0);
  f.WaitIdle();
  selling = false;
  registers.join();
  REQUIRE(failed_posts == 0);
  INFO("the register's last refusal: " << last_error);

  int confirmed = 0, unfulfillable = 0;
  for (int i = 0; i < 2 * kOrdersPerChannel; ++i) {
    auto o = f.Get(i % 2 == 0 ? "ec" : "ec2", std::to_string(7000 + i));
    REQUIRE(o.ok());  // none lost
    if (o->state() == rv1::ORDER_STATE_CONFIRMED) ++confirmed;
    if (o->state() == rv1::ORDER_STATE_UNFULFILLABLE) {
      ++unfulfillable;
      REQUIRE(o->unfulfillable_reason() == "INSUFFICIENT_STOCK");
    }
  }
  const auto committed = f.l.Availability("FLASH", "wh").committed() +
                         f.l.Availability("FLASH", "store-a").committed();
  INFO(confirmed << " orders confirmed, " << register_sales << " register sales");
  REQUIRE(committed == confirmed + register_sales);  // (a register's posted hold is committed)
  REQUIRE(confirmed + register_sales == kUnits);
  REQUIRE(register_sales > 0);
  // Every other order is kept as unfulfillable, for the operator (none is a dead letter).
  REQUIRE(unfulfillable == 2 * kOrdersPerChannel - confirmed);
  REQUIRE(f.DeadLetters().empty());
  f.l.RequireConsistent();
}

TEST_CASE(
    "kill -9 of the connector during a burst of orders: each order applied exactly once "
    "after the restart") {
  // A short call_timeout makes the dead process's claims lapse in seconds (six of them).
  ConnectorFixture f("cn_kill", {{"KURA_CALL_TIMEOUT", "500ms"}});
  constexpr int kOrders = 200, kSenders = 8;
  f.l.CreateItem("BURST");
  f.l.Receive("BURST", "wh", 1000);
  f.Connect("ec", "shopify", {kShopifySecret});

  // Each order is sent until it is answered 200, as a platform retries an unanswered delivery.
  std::atomic<int> next = 0, gave_up = 0;
  auto send = [&] {
    for (int i = next++; i < kOrders; i = next++) {
      const std::string body =
          absl::StrCat(R"({"id":)", 8000 + i, R"(,"financial_status":"paid","source_name":"web",)",
                       R"("cancelled_at":null,"customer":null,"line_items":[{"id":)", 8000 + i,
                       R"(,"variant_id":1,"sku":"BURST","quantity":1}]})");
      const absl::Time until = absl::Now() + absl::Seconds(30);
      while (f.PostShopify("ec", body, "orders/create", absl::StrCat("burst-", i)) != 200) {
        if (absl::Now() > until) {
          ++gave_up;
          break;
        }
        absl::SleepFor(absl::Milliseconds(50));
      }
    }
  };
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) senders.emplace_back(send);
  REQUIRE(Eventually([&] { return next >= kOrders / 3; }));
  f.connector->process().Signal(SIGKILL);
  f.connector->process().Wait(absl::Seconds(10));
  f.StartConnector();
  for (auto& t : senders) t.join();
  REQUIRE(gave_up == 0);

  pqxx::connection db(f.l.dsn());
  REQUIRE(kura::testing::WaitFor(
      [&] {
        pqxx::nontransaction tx(db);
        return tx.exec1("SELECT count(*) FROM connector.inbox WHERE state = 0")[0].as<int>() == 0;
      },
      absl::Seconds(30)));
  int confirmed = 0;
  for (int i = 0; i < kOrders; ++i) {
    auto o = f.Get("ec", std::to_string(8000 + i));
    if (o.ok() && o->state() == rv1::ORDER_STATE_CONFIRMED) ++confirmed;
  }
  REQUIRE(confirmed == kOrders);
  REQUIRE(f.l.Availability("BURST", "wh").committed() == kOrders);
  REQUIRE(f.DeadLetters().empty());
  f.l.RequireConsistent();
}

TEST_CASE("A cancel that arrives before its create ends cancelled with stock unchanged") {
  ConnectorFixture f("cn_cancel_first");
  f.l.CreateItem("TEE");
  f.l.Receive("TEE", "wh", 5);
  f.Connect("ec", "kura", {kKuraSecret});
  const std::string lines = R"([{"sku":"TEE","quantity":2}])";
  REQUIRE(f.PostKura("ec", "e-2", "order.cancelled", "K-1", "2026-11-26T10:05:00Z", lines) == 200);
  f.WaitIdle();  // the cancel is applied (remembered) before its create arrives
  REQUIRE(f.PostKura("ec", "e-1", "order.placed", "K-1", "2026-11-26T10:00:00Z", lines) == 200);
  // (A cancelling order already shows as cancelled: wait for its hold to be voided too.)
  REQUIRE(Eventually([&] {
    auto o = f.Get("ec", "K-1");
    return o.ok() && o->state() == rv1::ORDER_STATE_CANCELLED &&
           f.l.Availability("TEE", "wh").held() == 0;
  }));
  auto stock = f.l.Availability("TEE", "wh");
  REQUIRE(stock.held() == 0);
  REQUIRE(stock.sellable() == 5);
  REQUIRE(f.DeadLetters().empty());
}

TEST_CASE("A burst of signed webhooks for the last units never oversells") {
  ConnectorFixture f("cn_burst");
  f.l.CreateItem("LAST");
  f.l.Receive("LAST", "wh", 5);
  f.Connect("ec", "kura", {kKuraSecret});
  std::vector<std::thread> senders;
  std::vector<int> statuses(30);
  for (int i = 0; i < 30; ++i) {
    senders.emplace_back([&, i] {
      statuses[i] = f.PostKura("ec", absl::StrCat("b-", i), "order.placed", absl::StrCat("B-", i),
                               "2026-11-26T10:00:00Z", R"([{"sku":"LAST","quantity":1}])");
    });
  }
  for (auto& t : senders) t.join();
  for (int status : statuses) REQUIRE(status == 200);
  // Every delivery is applied: 5 orders hold the 5 units, 25 are kept as unfulfillable.
  f.WaitIdle();
  int unfulfillable = 0;
  for (int i = 0; i < 30; ++i) {
    auto o = f.Get("ec", absl::StrCat("B-", i));
    REQUIRE(o.ok());
    if (o->state() == rv1::ORDER_STATE_UNFULFILLABLE) ++unfulfillable;
  }
  REQUIRE(unfulfillable == 25);
  REQUIRE(f.DeadLetters().empty());
  auto stock = f.l.Availability("LAST", "wh");
  REQUIRE(stock.held() == 5);
  REQUIRE(stock.sellable() == 5);
  f.l.RequireConsistent();
}

// A kura-ec-sim process for one platform.
struct Simulator {
  // `on_port`: a restart on the port of one before (0: any free port).
  Simulator(const std::string& platform, const std::string& dir, const std::string& location,
            std::vector<std::string> extra = {}, int on_port = 0)
      : port(on_port != 0 ? on_port : kura::testing::FreePort()) {
    std::vector<std::string> argv = {KURA_EC_SIM, "--platform=" + platform,
                                     absl::StrCat("--port=", port), "--token=sim-token",
                                     "--location=" + location};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<kura::testing::Subprocess>(
        argv, std::map<std::string, std::string>{}, absl::StrCat(dir, "/sim-", platform, ".log"));
    REQUIRE(
        kura::testing::WaitFor([&] { return Get("/sim/stats").has_value(); }, absl::Seconds(10)));
  }
  ~Simulator() {
    process->Signal(SIGTERM);
    process->Wait(absl::Seconds(5));
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port); }
  std::optional<nlohmann::json> Get(const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    auto res = client.Get(path.c_str());
    if (!res || res->status != 200) return std::nullopt;
    return nlohmann::json::parse(res->body);
  }
  void Post(const std::string& path, const nlohmann::json& body) {
    httplib::Client client("127.0.0.1", port);
    auto res = client.Post(path.c_str(), body.dump(), "application/json");
    REQUIRE(res);
  }
  // A change made in the platform itself (Square: a sale or write-off); the webhook's status.
  int Adjust(const std::string& item, int64_t quantity, const std::string& to_state) {
    httplib::Client client("127.0.0.1", port);
    auto res = client.Post(
        "/sim/adjust",
        nlohmann::json({{"item_id", item}, {"quantity", quantity}, {"to_state", to_state}}).dump(),
        "application/json");
    return res ? res->status : 0;
  }
  std::optional<int64_t> Stock(const std::string& item) {
    auto got = Get("/sim/stock/" + item);
    if (!got) return std::nullopt;
    return (*got)["quantity"].get<int64_t>();
  }

  int port;
  std::unique_ptr<kura::testing::Subprocess> process;
};

TEST_CASE("Ledger changes reach the Shopify simulator; throttling, 5xx and drift are handled") {
  ConnectorFixture f("cn_push_shopify");
  Simulator sim("shopify", f.dir, "71234567890");
  f.l.CreateItem("TEE");
  f.Connect("ec", "shopify", {kShopifySecret}, sim.url());
  f.MapItem("ec", "441", "TEE", "461");
  auto offered = [&](int64_t n) { return Eventually([&] { return sim.Stock("461") == n; }); };

  f.l.Receive("TEE", "store-a", 10);
  REQUIRE(offered(10));
  // A sale at the register lowers what the site offers.
  REQUIRE(f.l.Move(lv1::MOVEMENT_KIND_STORE_SALE, "TEE", "store-a", 3).ok());
  REQUIRE(offered(7));

  // Three 503s and two THROTTLED answers in a row: retried, nothing lost.
  sim.Post("/sim/fail", {{"count", 3}, {"status", 503}});
  sim.Post("/sim/throttle", {{"count", 2}});
  REQUIRE(f.l.Move(lv1::MOVEMENT_KIND_STORE_SALE, "TEE", "store-a", 2).ok());
  REQUIRE(offered(5));

  // The platform's count moved behind kura's back: compare-and-set fails, the connector reads
  // the platform's quantity and sets kura's again.
  sim.Post("/sim/stock", {{"item_id", "461"}, {"quantity", 99}});
  REQUIRE(f.l.Move(lv1::MOVEMENT_KIND_STORE_SALE, "TEE", "store-a", 1).ok());
  REQUIRE(offered(4));
  auto stats = sim.Get("/sim/stats");
  REQUIRE(stats);
  REQUIRE((*stats)["stale"].get<int>() >= 1);
  REQUIRE((*stats)["refused"].get<int>() == 0);

  // Drift: the platform shows 50 with nothing in kura to explain it. The first reconciliation
  // suspects it, the second confirms: the item is frozen (offered as 0) until resolved.
  sim.Post("/sim/stock", {{"item_id", "461"}, {"quantity", 50}});
  auto reconcile = [&] {
    // The platform shows a push before the pusher records it: reconciliation compares settled
    // pushes only, so wait for the record.
    pqxx::connection db(f.l.dsn());
    REQUIRE(Eventually([&] {
      pqxx::nontransaction tx(db);
      return tx.exec1(
                   "SELECT count(*) FROM connector.pushes WHERE claim IS NOT NULL OR "
                   "pushed_sequence < desired_sequence")[0]
                 .as<int>() == 0;
    }));
    auto r = Call(*f.admin, &AdminStub::Reconcile, cv1::ReconcileRequest());
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    return *r;
  };
  auto first = reconcile();
  REQUIRE(first.checked() == 1);
  REQUIRE(first.suspected() == 1);
  REQUIRE(first.opened() == 0);
  REQUIRE(reconcile().opened() == 1);
  REQUIRE(offered(0));
  cv1::ListDriftsRequest open;
  open.set_state(cv1::DRIFT_STATE_OPEN);
  auto drifts = Call(*f.admin, &AdminStub::ListDrifts, open);
  REQUIRE(drifts.ok());
  REQUIRE(drifts->incidents_size() == 1);
  REQUIRE(drifts->incidents(0).platform_quantity() == 50);
  REQUIRE(drifts->incidents(0).pushed_quantity() == 4);
  // Trusting kura pushes kura's 4 again and unfreezes.
  cv1::ResolveDriftRequest resolve;
  resolve.set_incident_id(drifts->incidents(0).incident_id());
  resolve.set_trust("nobody");
  REQUIRE(ErrorReason(Call(*f.admin, &AdminStub::ResolveDrift, resolve).status()) ==
          "INVALID_ARGUMENT");
  resolve.set_trust("kura");
  REQUIRE(Call(*f.admin, &AdminStub::ResolveDrift, resolve).ok());
  REQUIRE(offered(4));
  REQUIRE(ErrorReason(Call(*f.admin, &AdminStub::ResolveDrift, resolve).status()) ==
          "DRIFT_RESOLVED");

  // Trusting the platform adjusts kura's stock at the mapped location to match it.
  cv1::SetLocationMappingRequest location;
  location.mutable_mapping()->set_channel("ec");
  location.mutable_mapping()->set_platform_location_id("71234567890");
  location.mutable_mapping()->set_location("store-a");
  REQUIRE(Call(*f.admin, &AdminStub::SetLocationMapping, location).ok());
  sim.Post("/sim/stock", {{"item_id", "461"}, {"quantity", 8}});
  reconcile();
  REQUIRE(reconcile().opened() == 1);
  REQUIRE(offered(0));
  drifts = Call(*f.admin, &AdminStub::ListDrifts, open);
  resolve.set_incident_id(drifts->incidents(0).incident_id());
  {
    // A resolution trusting the platform that committed its intent and died before the ledger
    // call: the other way is refused; the same way again completes it.
    pqxx::connection db(f.l.dsn());
    pqxx::work tx(db);
    tx.exec_params(
        "UPDATE connector.drift_incidents SET resolving = 'platform' "
        "WHERE incident_id = $1",
        resolve.incident_id());
    tx.commit();
  }
  resolve.set_trust("kura");
  REQUIRE(ErrorReason(Call(*f.admin, &AdminStub::ResolveDrift, resolve).status()) ==
          "DRIFT_RESOLVING");
  resolve.set_trust("platform");
  REQUIRE(Call(*f.admin, &AdminStub::ResolveDrift, resolve).ok());
  REQUIRE(offered(8));
  REQUIRE(f.l.Availability("TEE", "store-a").sellable() == 8);
  REQUIRE(reconcile().opened() == 0);
  f.l.RequireConsistent();
}

TEST_CASE("Changes faster than the platform's budget: one call a turn carries all that came") {
  // The Shopify stand-in restores 50 points a second at 10 a call: 5 calls a second after a
  // burst of 10. 100 changes over 8 items in 2 s must fit in that budget and all arrive.
  ConnectorFixture f("cn_paced");
  Simulator sim("shopify", f.dir, "71234567890");
  constexpr int kItems = 8;
  auto item = [](int i) { return absl::StrCat("PACE-", i); };
  auto inventory_item = [](int i) { return absl::StrCat(7000 + i); };
  for (int i = 0; i < kItems; ++i) {
    f.l.CreateItem(item(i));
    f.l.Receive(item(i), "store-a", 1000);
  }
  f.Connect("ec", "shopify", {kShopifySecret}, sim.url());
  for (int i = 0; i < kItems; ++i) {
    f.MapItem("ec", absl::StrCat(6000 + i), item(i), inventory_item(i));
  }
  auto offered = [&](int i) { return sim.Stock(inventory_item(i)); };
  REQUIRE(kura::testing::WaitFor(
      [&] {
        for (int i = 0; i < kItems; ++i) {
          if (offered(i) != 1000) return false;
        }
        return true;
      },
      absl::Seconds(10)));
  absl::SleepFor(absl::Seconds(2));  // the bucket full again
  const int calls_before = (*sim.Get("/sim/stats"))["api_calls"].get<int>();
  const absl::Time start = absl::Now();
  std::vector<int64_t> left(kItems, 1000);
  for (int n = 0; n < 100; ++n) {
    const int i = n % kItems;
    lv1::ApplyMovementsRequest r;
    r.set_request_id(absl::StrCat("pace-", n));
    auto* m = r.add_movements();
    m->set_kind(lv1::MOVEMENT_KIND_ADJUST);
    m->set_sku(item(i));
    m->set_location("store-a");
    m->set_quantity(-1);
    REQUIRE(Call(*f.l.ledger, &lv1::LedgerService::Stub::ApplyMovements, r).ok());
    --left[i];
    absl::SleepFor(start + absl::Milliseconds(20 * (n + 1)) - absl::Now());
  }
  REQUIRE(kura::testing::WaitFor(
      [&] {
        for (int i = 0; i < kItems; ++i) {
          if (offered(i) != left[i]) return false;
        }
        return true;
      },
      absl::Seconds(5)));
  const absl::Duration took = absl::Now() - start;
  const int calls = (*sim.Get("/sim/stats"))["api_calls"].get<int>() - calls_before;
  INFO(calls << " API calls in " << absl::FormatDuration(took));
  // Within the budget (a burst of 10, then 5 a second; a few more for turns cut at the edges):
  // the pushers wait for their turn, and a turn carries every value that came meanwhile instead
  // of one call per change (which would be 100 calls).
  REQUIRE(calls <= 10 + static_cast<int>(absl::ToDoubleSeconds(took) * 5) + 3);
  f.l.RequireConsistent();
}

TEST_CASE(
    "Without polling, changes reach the platform as they commit, many items a call, and "
    "webhook orders are applied at once") {
  // The inbox and feed are polled once a minute only (the safety net): what happens within
  // seconds here is driven by events (the ledger's WatchChanges, a stored delivery).
  ConnectorFixture f("cn_event_driven", {{"KURA_INBOX_POLL_INTERVAL", "1m"}});
  Simulator sim("shopify", f.dir, "71234567890");
  constexpr int kItems = 40;
  auto item = [](int i) { return absl::StrCat("ITEM-", i); };
  auto inventory_item = [](int i) { return absl::StrCat(5000 + i); };
  for (int i = 0; i < kItems; ++i) f.l.CreateItem(item(i));
  f.Connect("ec", "shopify", {kShopifySecret}, sim.url());
  for (int i = 0; i < kItems; ++i) {
    f.MapItem("ec", absl::StrCat(4000 + i), item(i), inventory_item(i));
  }
  // One receipt of every item, one ledger commit.
  lv1::ApplyMovementsRequest receipt;
  receipt.set_request_id("receipt-1");
  for (int i = 0; i < kItems; ++i) {
    auto* m = receipt.add_movements();
    m->set_kind(lv1::MOVEMENT_KIND_RECEIVE);
    m->set_sku(item(i));
    m->set_location("store-a");
    m->set_quantity(6);
  }
  auto all_offered = [&](int64_t n) {
    for (int i = 0; i < kItems; ++i) {
      if (sim.Stock(inventory_item(i)) != n) return false;
    }
    return true;
  };
  REQUIRE(kura::testing::WaitFor([&] { return all_offered(0); }, absl::Seconds(10)));
  const int calls_before = (*sim.Get("/sim/stats"))["api_calls"].get<int>();
  const absl::Time sent = absl::Now();
  REQUIRE(Call(*f.l.ledger, &lv1::LedgerService::Stub::ApplyMovements, receipt).ok());
  REQUIRE(kura::testing::WaitFor([&] { return all_offered(6); }, absl::Seconds(5)));
  INFO("took " << absl::FormatDuration(absl::Now() - sent));
  REQUIRE(absl::Now() - sent < absl::Seconds(5));
  // 40 quantities in a few inventorySetQuantities calls (one per claim), not one call each.
  const int calls = (*sim.Get("/sim/stats"))["api_calls"].get<int>() - calls_before;
  INFO(calls << " API calls");
  REQUIRE(calls <= 6);

  // A signed order is applied as soon as it is stored.
  f.MapItem("ec", "44123456789012", "ITEM-0");
  f.l.CreateItem("MUG-WHT");
  f.l.Receive("MUG-WHT", "wh", 3);
  const absl::Time posted = absl::Now();
  REQUIRE(f.PostShopify("ec", Sample("shopify_orders_create_online.json"), "orders/create",
                        "ev-fast") == 200);
  REQUIRE(kura::testing::WaitFor(
      [&] {
        auto o = f.Get("ec", "5891234567890");
        return o.ok() && o->state() == rv1::ORDER_STATE_CONFIRMED;
      },
      absl::Seconds(5)));
  REQUIRE(absl::Now() - posted < absl::Seconds(5));
  // And the units it took leave the platform's count at once (2 of ITEM-0's 6).
  REQUIRE(
      kura::testing::WaitFor([&] { return sim.Stock(inventory_item(0)) == 4; }, absl::Seconds(5)));
  f.l.RequireConsistent();
}

TEST_CASE(
    "A quantity changed by hand on Shopify is noticed from its inventory webhook within "
    "seconds and handled by the drift rules; kura's own pushes echo harmlessly") {
  // Reconciliation is not run by hand here, and its own pass is minutes away: only the
  // webhook can tell.
  ConnectorFixture f("cn_platform_level", {{"KURA_RECONCILE_INTERVAL", "1h"}});
  Simulator sim(
      "shopify", f.dir, "71234567890",
      {absl::StrCat("--webhook-url=http://127.0.0.1:", f.webhook_port, "/webhooks/shopify/ec"),
       absl::StrCat("--webhook-secret=", kShopifySecret), "--inventory-webhooks"});
  f.l.CreateItem("TEE");
  f.Connect("ec", "shopify", {kShopifySecret}, sim.url());
  f.MapItem("ec", "441", "TEE", "461");
  f.l.Receive("TEE", "store-a", 10);
  REQUIRE(Eventually([&] { return sim.Stock("461") == 10; }));
  auto open_drifts = [&] {
    cv1::ListDriftsRequest open;
    open.set_state(cv1::DRIFT_STATE_OPEN);
    auto drifts = Call(*f.admin, &AdminStub::ListDrifts, open);
    REQUIRE(drifts.ok());
    return *drifts;
  };
  // The echoes of kura's pushes (available = what kura set) change nothing.
  f.WaitIdle();
  REQUIRE(open_drifts().incidents_size() == 0);

  // Someone sets 3 in Shopify's admin: the webhook says so, the connector reads the level,
  // suspects and (drift_confirm_after is 0 s here) confirms: the item is frozen at once.
  sim.Post("/sim/stock", {{"item_id", "461"}, {"quantity", 3}});
  REQUIRE(kura::testing::WaitFor([&] { return open_drifts().incidents_size() == 1; },
                                 absl::Seconds(5)));
  const auto incident = open_drifts().incidents(0);
  REQUIRE(incident.sku() == "TEE");
  REQUIRE(incident.platform_quantity() == 3);
  REQUIRE(incident.pushed_quantity() == 10);
  REQUIRE(Eventually([&] { return sim.Stock("461") == 0; }));
  f.l.RequireConsistent();
}

TEST_CASE(
    "A quantity changed by hand on WooCommerce or Square is noticed from the platform's own "
    "webhook and handled by the drift rules") {
  ConnectorFixture f("cn_platform_level_woo_square", {{"KURA_RECONCILE_INTERVAL", "1h"}});
  const std::string woo_hook =
      absl::StrCat("http://127.0.0.1:", f.webhook_port, "/webhooks/woocommerce/ec-woo");
  const std::string square_hook =
      absl::StrCat("http://127.0.0.1:", f.webhook_port, "/webhooks/square/ec-square");
  Simulator woo(
      "woocommerce", f.dir, "",
      {"--webhook-url=" + woo_hook, "--webhook-secret=webhook-secret-1", "--inventory-webhooks"});
  Simulator square("square", f.dir, "EF6D9SACKWBKZ",
                   {"--webhook-url=" + square_hook, "--webhook-secret=webhook-secret-1",
                    "--inventory-webhooks"});
  f.l.CreateChannel("ec-woo", {"store-a"});
  f.l.CreateChannel("ec-square", {"store-b"});
  f.l.CreateItem("MUG");
  f.l.CreateItem("CUP");
  for (const auto& [channel, platform, sim, location] :
       {std::tuple{"ec-woo", "woocommerce", &woo, ""},
        std::tuple{"ec-square", "square", &square, "EF6D9SACKWBKZ"}}) {
    cv1::SetConnectionRequest r;
    auto* c = r.mutable_connection();
    c->set_channel(channel);
    c->set_platform(platform);
    c->add_webhook_secrets("webhook-secret-1");
    c->set_notification_url(square_hook);
    c->set_api_url(sim->url());
    c->set_api_credentials("sim-token");
    c->set_push_location_id(location);
    REQUIRE(Call(*f.admin, &AdminStub::SetConnection, r).ok());
  }
  cv1::SetItemMappingRequest variation;  // a WooCommerce variation: stock id "product/variation"
  variation.mutable_mapping()->set_channel("ec-woo");
  variation.mutable_mapping()->set_platform_item_id("507");
  variation.mutable_mapping()->set_sku("MUG");
  variation.mutable_mapping()->set_platform_inventory_item_id("501/507");
  REQUIRE(Call(*f.admin, &AdminStub::SetItemMapping, variation).ok());
  f.MapItem("ec-square", "6F4K33KPNUVDWKZ43KUIFH6K", "CUP");
  f.l.Receive("MUG", "store-a", 8);
  f.l.Receive("CUP", "store-b", 9);
  REQUIRE(Eventually(
      [&] { return woo.Stock("501/507") == 8 && square.Stock("6F4K33KPNUVDWKZ43KUIFH6K") == 9; }));
  auto open_drifts = [&] {
    cv1::ListDriftsRequest open;
    open.set_state(cv1::DRIFT_STATE_OPEN);
    auto drifts = Call(*f.admin, &AdminStub::ListDrifts, open);
    REQUIRE(drifts.ok());
    std::map<std::string, cv1::DriftIncident> by_sku;
    for (const auto& d : drifts->incidents()) by_sku[d.sku()] = d;
    return by_sku;
  };
  f.WaitIdle();  // the echoes of kura's own pushes change nothing
  REQUIRE(open_drifts().empty());

  // Set by hand in each shop's admin: each platform's webhook says so within seconds.
  woo.Post("/sim/stock", {{"item_id", "501/507"}, {"quantity", 2}});
  square.Post("/sim/stock", {{"item_id", "6F4K33KPNUVDWKZ43KUIFH6K"}, {"quantity", 4}});
  REQUIRE(kura::testing::WaitFor([&] { return open_drifts().size() == 2; }, absl::Seconds(5)));
  auto drifts = open_drifts();
  REQUIRE(drifts["MUG"].channel() == "ec-woo");
  REQUIRE(drifts["MUG"].platform_quantity() == 2);
  REQUIRE(drifts["MUG"].pushed_quantity() == 8);
  REQUIRE(drifts["CUP"].channel() == "ec-square");
  REQUIRE(drifts["CUP"].platform_quantity() == 4);
  REQUIRE(drifts["CUP"].pushed_quantity() == 9);
  f.l.RequireConsistent();
}

TEST_CASE(
    "A Shopify item without a level at the location is activated there with its quantity, also "
    "after the store lost its levels") {
  ConnectorFixture f("cn_shopify_activate");
  auto sim = std::make_unique<Simulator>("shopify", f.dir, "71234567890",
                                         std::vector<std::string>{"--require-activation"});
  const int port = sim->port;
  f.l.CreateItem("TEE");
  f.Connect("ec", "shopify", {kShopifySecret}, sim->url());
  f.MapItem("ec", "441", "TEE", "461");
  f.l.Receive("TEE", "store-a", 7);
  REQUIRE(Eventually([&] { return sim->Stock("461") == 7; }));
  REQUIRE((*sim->Get("/sim/stats"))["activated"] == 1);
  REQUIRE(f.l.Move(lv1::MOVEMENT_KIND_STORE_SALE, "TEE", "store-a", 2).ok());
  REQUIRE(Eventually([&] { return sim->Stock("461") == 5; }));
  REQUIRE((*sim->Get("/sim/stats"))["activated"] == 1);  // an ordinary set

  // The store comes back without its levels: the next change activates the item again instead
  // of being refused for ever.
  sim.reset();
  sim = std::make_unique<Simulator>("shopify", f.dir, "71234567890",
                                    std::vector<std::string>{"--require-activation"}, port);
  REQUIRE(f.l.Move(lv1::MOVEMENT_KIND_STORE_SALE, "TEE", "store-a", 1).ok());
  REQUIRE(Eventually([&] { return sim->Stock("461") == 4; }));
  REQUIRE((*sim->Get("/sim/stats"))["activated"] == 1);
  REQUIRE(f.DeadLetters().empty());
}

TEST_CASE("Connections and mappings: bad input is refused; WooCommerce's ping is answered") {
  ConnectorFixture f("cn_admin");
  cv1::SetConnectionRequest bad;
  bad.mutable_connection()->set_channel("ec");
  bad.mutable_connection()->set_platform("ebay");
  bad.mutable_connection()->add_webhook_secrets("long-enough-secret");
  REQUIRE(ErrorReason(Call(*f.admin, &AdminStub::SetConnection, bad).status()) ==
          "INVALID_ARGUMENT");
  bad.mutable_connection()->set_platform("woocommerce");
  bad.mutable_connection()->set_channel("nochannel");
  REQUIRE(ErrorReason(Call(*f.admin, &AdminStub::SetConnection, bad).status()) ==
          "CHANNEL_NOT_FOUND");
  bad.mutable_connection()->set_channel("ec");
  bad.mutable_connection()->set_platform("square");  // Square needs its notification URL
  REQUIRE(ErrorReason(Call(*f.admin, &AdminStub::SetConnection, bad).status()) ==
          "INVALID_ARGUMENT");
  REQUIRE(Call(*f.admin, &AdminStub::ListConnections, cv1::ListConnectionsRequest())
              ->connections()
              .empty());
  f.Connect("ec", "woocommerce", {"wc-test-secret-9f8e7d"});
  auto got = [&] {
    cv1::GetConnectionRequest r;
    r.set_channel("ec");
    return Call(*f.admin, &AdminStub::GetConnection, r);
  }();
  REQUIRE(got.ok());
  REQUIRE(got->connection().webhook_secrets().empty());  // never returned
  REQUIRE(got->connection().webhook_secret_count() == 1);
  cv1::SetItemMappingRequest map;
  map.mutable_mapping()->set_channel("ec");
  map.mutable_mapping()->set_platform_item_id("507");
  map.mutable_mapping()->set_sku("NOPE");
  REQUIRE(ErrorReason(Call(*f.admin, &AdminStub::SetItemMapping, map).status()) ==
          "ITEM_NOT_FOUND");
  REQUIRE(f.Post("woocommerce", "ec", "webhook_id=3", {}) == 200);
  REQUIRE(f.Post("woocommerce", "ec", R"({"id":1})", {}) == 401);
}

TEST_CASE("WooCommerce and Square simulators receive the channels' availability") {
  ConnectorFixture f("cn_push_woo_square");
  Simulator woo("woocommerce", f.dir, "");
  const std::string square_url =
      absl::StrCat("http://127.0.0.1:", f.webhook_port, "/webhooks/square/ec-square");
  Simulator square("square", f.dir, "EF6D9SACKWBKZ",
                   {"--webhook-url=" + square_url, "--webhook-secret=webhook-secret-1"});
  f.l.CreateChannel("ec-woo", {"store-a"});
  f.l.CreateChannel("ec-square", {"store-b"});
  f.l.CreateItem("MUG");
  auto connect = [&](const std::string& channel, const std::string& platform, const Simulator& sim,
                     const std::string& credentials, const std::string& location) {
    cv1::SetConnectionRequest r;
    auto* c = r.mutable_connection();
    c->set_channel(channel);
    c->set_platform(platform);
    c->add_webhook_secrets("webhook-secret-1");
    c->set_notification_url(square_url);
    c->set_api_url(sim.url());
    c->set_api_credentials(credentials);
    c->set_push_location_id(location);
    auto result = Call(*f.admin, &AdminStub::SetConnection, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
  };
  // WooCommerce authenticates with key:secret (HTTP Basic; the simulator's "token" is that pair).
  connect("ec-woo", "woocommerce", woo, "sim-token", "");
  connect("ec-square", "square", square, "sim-token", "EF6D9SACKWBKZ");
  f.MapItem("ec-woo", "620", "MUG");  // a simple product
  cv1::SetItemMappingRequest variation;
  variation.mutable_mapping()->set_channel("ec-woo");
  variation.mutable_mapping()->set_platform_item_id("507");
  variation.mutable_mapping()->set_sku("MUG");
  variation.mutable_mapping()->set_platform_inventory_item_id("501/507");
  REQUIRE(Call(*f.admin, &AdminStub::SetItemMapping, variation).ok());
  f.MapItem("ec-square", "6F4K33KPNUVDWKZ43KUIFH6K", "MUG");

  f.l.Receive("MUG", "store-a", 6);
  f.l.Receive("MUG", "store-b", 9);
  REQUIRE(Eventually([&] {
    return woo.Stock("620") == 6 && woo.Stock("501/507") == 6 &&
           square.Stock("6F4K33KPNUVDWKZ43KUIFH6K") == 9;
  }));
  // 429s from WooCommerce are waited out.
  woo.Post("/sim/throttle", {{"count", 2}});
  REQUIRE(f.l.Move(lv1::MOVEMENT_KIND_STORE_SALE, "MUG", "store-a", 1).ok());
  REQUIRE(Eventually([&] { return woo.Stock("620") == 5 && woo.Stock("501/507") == 5; }));
  REQUIRE(f.l.Move(lv1::MOVEMENT_KIND_STORE_SALE, "MUG", "store-b", 4).ok());
  REQUIRE(Eventually([&] { return square.Stock("6F4K33KPNUVDWKZ43KUIFH6K") == 5; }));

  // A sale and a write-off at a Square register: Square announces the counts left, kura reads
  // what moved them from Square's history and books a store sale and an adjustment at the
  // mapped location, once each. The echo of kura's own push, and a repeated count, change
  // nothing.
  cv1::SetLocationMappingRequest square_location;
  square_location.mutable_mapping()->set_channel("ec-square");
  square_location.mutable_mapping()->set_platform_location_id("EF6D9SACKWBKZ");
  square_location.mutable_mapping()->set_location("store-b");
  REQUIRE(Call(*f.admin, &AdminStub::SetLocationMapping, square_location).ok());
  auto square_count = [&](const std::string& event_id, int64_t quantity) {
    const std::string body = absl::StrCat(
        R"({"merchant_id":"M","type":"inventory.count.updated","event_id":")", event_id,
        R"(","created_at":"2026-11-26T10:00:00Z","data":{"type":"inventory_counts","id":"x",)",
        R"("object":{"inventory_counts":[{"catalog_object_id":"6F4K33KPNUVDWKZ43KUIFH6K",)",
        R"("catalog_object_type":"ITEM_VARIATION","location_id":"EF6D9SACKWBKZ","quantity":")",
        quantity, R"(","state":"IN_STOCK"}]}}})");
    return f.Post("square", "ec-square", body,
                  {{"x-square-hmacsha256-signature", connector::Base64(connector::HmacSha256(
                                                         "webhook-secret-1", square_url + body))}});
  };
  REQUIRE(square_count("sq-echo", 5) == 200);  // kura's own value
  REQUIRE(square.Adjust("6F4K33KPNUVDWKZ43KUIFH6K", 2, "SOLD") == 200);
  REQUIRE(Eventually([&] { return f.l.Availability("MUG", "store-b").sellable() == 3; }));
  REQUIRE(square.Adjust("6F4K33KPNUVDWKZ43KUIFH6K", 1, "WASTE") == 200);
  REQUIRE(Eventually([&] { return f.l.Availability("MUG", "store-b").sellable() == 2; }));
  REQUIRE(square_count("sq-again", 2) == 200);  // a count seen again
  // A sale in kura and one at the Square register at the same moment: both count, and Square
  // ends with what kura offers.
  REQUIRE(f.l.Move(lv1::MOVEMENT_KIND_STORE_SALE, "MUG", "store-b", 1).ok());
  REQUIRE(square.Adjust("6F4K33KPNUVDWKZ43KUIFH6K", 1, "SOLD") == 200);
  REQUIRE(Eventually([&] {
    return f.l.Availability("MUG", "store-b").sellable() == 0 &&
           square.Stock("6F4K33KPNUVDWKZ43KUIFH6K") == 0;
  }));
  f.WaitIdle();
  REQUIRE(f.l.Availability("MUG", "store-b").sellable() == 0);
  int square_sales = 0, write_offs = 0;
  for (const auto& e : f.l.AllEvents()) {
    if (!e.has_movement_applied()) continue;
    const auto& m = e.movement_applied().movement();
    if (m.kind() == lv1::MOVEMENT_KIND_STORE_SALE && absl::StartsWith(m.source_ref(), "square")) {
      square_sales += m.quantity();
    }
    if (m.kind() == lv1::MOVEMENT_KIND_ADJUST) write_offs += m.quantity();
  }
  REQUIRE(square_sales == 3);
  REQUIRE(write_offs == 1);

  // An item mapped after its stock arrived is offered at once, without waiting for a change.
  f.l.CreateItem("CUP");
  f.l.Receive("CUP", "store-b", 3);
  f.WaitFeedRead();  // the receipt was seen while CUP was not mapped: no push from the feed
  f.MapItem("ec-square", "CUPCUPCUP", "CUP");
  REQUIRE(Eventually([&] { return square.Stock("CUPCUPCUP") == 3; }));
}

TEST_CASE("WooCommerce refunds of shipped orders are read from the platform and returned once") {
  ConnectorFixture f("cn_woo_refund");
  const std::string url =
      absl::StrCat("http://127.0.0.1:", f.webhook_port, "/webhooks/woocommerce/ec-woo");
  Simulator woo("woocommerce", f.dir, "", {"--webhook-url=" + url, "--webhook-secret=woo-secret"});
  f.l.CreateChannel("ec-woo", {"store-a", "store-b"});
  f.l.CreateItem("MUG");
  f.l.Receive("MUG", "store-a", 10);
  cv1::SetConnectionRequest r;
  r.mutable_connection()->set_channel("ec-woo");
  r.mutable_connection()->set_platform("woocommerce");
  r.mutable_connection()->add_webhook_secrets("woo-secret");
  r.mutable_connection()->set_api_url(woo.url());
  r.mutable_connection()->set_api_credentials("sim-token");
  REQUIRE(Call(*f.admin, &AdminStub::SetConnection, r).ok());
  f.MapItem("ec-woo", "620", "MUG");

  // An order as WooCommerce sends it (status, GMT times without a zone, refunds named only).
  auto order = [&](int id, const std::string& status, const std::string& modified, bool completed,
                   const std::string& refunds) {
    const std::string body = absl::StrCat(
        R"({"id":)", id, R"(,"status":")", status, R"(","date_modified_gmt":")", modified,
        R"(","date_completed_gmt":)", completed ? R"("2026-11-26T09:00:00")" : "null",
        R"(,"customer_id":0,"line_items":[{"id":1,"product_id":620,"variation_id":0,)",
        R"("quantity":3,"sku":""}],"refunds":)", refunds, "}");
    httplib::Client client("127.0.0.1", woo.port);
    auto res = client.Post("/sim/send?topic=order.updated", body, "application/json");
    return res ? res->status : 0;
  };
  auto get = [&](const std::string& id) { return f.Get("ec-woo", id); };

  REQUIRE(order(900, "processing", "2026-11-26T08:00:00", false, "[]") == 200);
  REQUIRE(Eventually([&] {
    auto o = get("900");
    return o.ok() && o->state() == rv1::ORDER_STATE_CONFIRMED;
  }));
  REQUIRE(order(900, "completed", "2026-11-26T09:00:00", true, "[]") == 200);
  REQUIRE(Eventually([&] { return f.l.Availability("MUG", "store-a").committed() == 0; }));
  REQUIRE(f.l.Availability("MUG", "store-a").sellable() == 7);

  // Two refunds: one restocked a unit, one gave money back only. The restocked unit comes back
  // into quality control at the channel's first location (WooCommerce has no locations).
  woo.Post("/sim/refund", {{"order_id", "900"},
                           {"refund_id", "77"},
                           {"api_restock", true},
                           {"line_items", {{{"product_id", 620}, {"quantity", -1}}}}});
  woo.Post("/sim/refund", {{"order_id", "900"},
                           {"refund_id", "78"},
                           {"api_restock", false},
                           {"line_items", {{{"product_id", 620}, {"quantity", -2}}}}});
  REQUIRE(order(900, "completed", "2026-11-26T10:00:00", true,
                R"([{"id":77,"reason":"","total":"-10"},{"id":78,"reason":"","total":"-20"}])") ==
          200);
  REQUIRE(Eventually([&] { return f.l.Availability("MUG", "store-a").quality_control() == 1; }));
  auto refund_reads = [&] { return (*woo.Get("/sim/stats"))["refund_reads"].get<int64_t>(); };
  f.WaitIdle();  // both refunds of the delivery read (77 may be applied before 78 is read)
  REQUIRE(refund_reads() == 2);
  // A later delivery names the same refunds again: they are not read or applied again.
  REQUIRE(order(900, "refunded", "2026-11-26T11:00:00", true,
                R"([{"id":77,"reason":"","total":"-10"},{"id":78,"reason":"","total":"-20"}])") ==
          200);
  f.WaitIdle();
  REQUIRE(f.l.Availability("MUG", "store-a").quality_control() == 1);
  REQUIRE(refund_reads() == 2);

  // Refunded in full before it shipped: the order is cancelled and its units are sellable again.
  REQUIRE(order(901, "processing", "2026-11-26T08:00:00", false, "[]") == 200);
  REQUIRE(Eventually([&] { return f.l.Availability("MUG", "store-a").committed() == 3; }));
  REQUIRE(order(901, "refunded", "2026-11-26T08:30:00", false,
                R"([{"id":79,"reason":"","total":"-30"}])") == 200);
  REQUIRE(Eventually([&] {
    auto o = get("901");
    return o.ok() && o->state() == rv1::ORDER_STATE_CANCELLED &&
           f.l.Availability("MUG", "store-a").sellable() == 7;
  }));
  REQUIRE(f.l.Availability("MUG", "store-a").quality_control() == 1);
  REQUIRE(f.DeadLetters().empty());
  f.l.RequireConsistent();
}

TEST_CASE(
    "Orders kura cannot cover are cancelled on the platform where the channel says so, "
    "once, and kura's order ends cancelled") {
  ConnectorFixture f("cn_platform_cancel");
  Simulator shop(
      "shopify", f.dir, "71234567890",
      {absl::StrCat("--webhook-url=http://127.0.0.1:", f.webhook_port, "/webhooks/shopify/ec"),
       absl::StrCat("--webhook-secret=", kShopifySecret)});
  Simulator woo("woocommerce", f.dir, "");
  f.l.CreateItem("RARE");
  f.l.Receive("RARE", "wh", 1);
  f.l.CreateChannel("ec-woo", {"wh"});
  // Bad settings are refused: a platform kura does not cancel on, or no API to call.
  cv1::SetConnectionRequest bad;
  bad.mutable_connection()->set_channel("ec");
  bad.mutable_connection()->set_platform("square");
  bad.mutable_connection()->add_webhook_secrets("square-secret-1");
  bad.mutable_connection()->set_notification_url("https://sync.example.com/webhooks/square/ec");
  bad.mutable_connection()->set_api_url(shop.url());
  bad.mutable_connection()->set_cancel_unfulfillable(true);
  REQUIRE(ErrorMetadata(Call(*f.admin, &AdminStub::SetConnection, bad).status()).at("field") ==
          "connection.cancel_unfulfillable");
  bad.mutable_connection()->set_platform("shopify");
  bad.mutable_connection()->clear_api_url();
  REQUIRE(ErrorMetadata(Call(*f.admin, &AdminStub::SetConnection, bad).status()).at("field") ==
          "connection.cancel_unfulfillable");

  const auto connect = [&](const std::string& channel, const std::string& platform,
                           const std::string& secret, const std::string& url) {
    cv1::SetConnectionRequest r;
    r.mutable_connection()->set_channel(channel);
    r.mutable_connection()->set_platform(platform);
    r.mutable_connection()->add_webhook_secrets(secret);
    r.mutable_connection()->set_api_url(url);
    r.mutable_connection()->set_api_credentials("sim-token");
    r.mutable_connection()->set_push_location_id(platform == "shopify" ? "71234567890" : "");
    r.mutable_connection()->set_cancel_unfulfillable(true);
    auto done = Call(*f.admin, &AdminStub::SetConnection, r);
    INFO(done.status().ToString());
    REQUIRE(done.ok());
    REQUIRE(done->connection().cancel_unfulfillable());
  };
  connect("ec", "shopify", kShopifySecret, shop.url());
  connect("ec-woo", "woocommerce", "woo-secret", woo.url());
  f.MapItem("ec", "41", "RARE");
  f.MapItem("ec-woo", "620", "RARE");

  const auto shopify_order = [&](int id) {
    const std::string body = absl::StrCat(
        R"({"id":)", id, R"(,"financial_status":"paid","source_name":"web","cancelled_at":null,)",
        R"("customer":null,"line_items":[{"id":1,"variant_id":41,"sku":"","quantity":1}]})");
    return f.PostShopify("ec", body, "orders/create", absl::StrCat("cancel-", id));
  };
  // The first order takes the unit; the second cannot be covered: kept, then cancelled on
  // Shopify, whose orders/cancelled comes back and cancels it in kura.
  REQUIRE(shopify_order(5001) == 200);
  REQUIRE(Eventually([&] {
    auto o = f.Get("ec", "5001");
    return o.ok() && o->state() == rv1::ORDER_STATE_CONFIRMED;
  }));
  REQUIRE(shopify_order(5002) == 200);
  REQUIRE(Eventually([&] {
    auto o = f.Get("ec", "5002");
    return o.ok() && o->state() == rv1::ORDER_STATE_CANCELLED;
  }));
  auto cancelled = *shop.Get("/sim/cancelled");
  INFO(cancelled.dump());
  REQUIRE(cancelled["orders"].size() == 1);
  REQUIRE(cancelled["orders"].contains("5002"));
  REQUIRE(absl::StrContains(cancelled["orders"]["5002"]["query"].get<std::string>(),
                            "reason: INVENTORY, refund: true"));
  REQUIRE(absl::StrContains(cancelled["orders"]["5002"]["staffNote"].get<std::string>(),
                            "INSUFFICIENT_STOCK"));
  // The cancel is recorded as made (once), and counted.
  pqxx::connection db(f.l.dsn());
  const auto cancel_state = [&](const std::string& channel, const std::string& order) {
    pqxx::nontransaction tx(db);
    auto rows = tx.exec_params(
        "SELECT state FROM connector.platform_cancels WHERE channel = $1 AND order_id = $2",
        channel, order);
    return rows.empty() ? -1 : rows[0][0].as<int>();
  };
  REQUIRE(Eventually([&] { return cancel_state("ec", "5002") == 1; }));
  REQUIRE(
      f.Metric(R"(kura_connector_platform_cancels_total{platform="shopify",result="cancelled"})") ==
      1);
  // The same order delivered again changes nothing, is not cancelled twice, nor counted again.
  REQUIRE(shopify_order(5002) == 200);
  f.WaitIdle();
  REQUIRE((*shop.Get("/sim/cancelled"))["orders"].size() == 1);
  REQUIRE(f.Metric(R"(kura_connector_orders_unfulfillable_total{platform="shopify"})") == 1);

  // WooCommerce: the order is set to "cancelled" through the REST API.
  const std::string woo_order =
      R"({"id":902,"status":"processing","date_modified_gmt":"2026-11-26T08:00:00",)"
      R"("date_completed_gmt":null,"customer_id":0,"line_items":[{"id":1,"product_id":620,)"
      R"("variation_id":0,"quantity":1,"sku":""}],"refunds":[]})";
  REQUIRE(f.Post("woocommerce", "ec-woo", woo_order,
                 {{"X-WC-Webhook-Topic", "order.updated"},
                  {"X-WC-Webhook-Signature",
                   connector::Base64(connector::HmacSha256("woo-secret", woo_order))},
                  {"X-WC-Webhook-Delivery-ID", "woo-902"}}) == 200);
  REQUIRE(Eventually([&] { return (*woo.Get("/sim/cancelled"))["orders"].contains("902"); }));
  REQUIRE((*woo.Get("/sim/cancelled"))["orders"]["902"]["status"] == "cancelled");
  REQUIRE(Eventually([&] { return cancel_state("ec-woo", "902") == 1; }));
  auto kept = f.Get("ec-woo", "902");
  REQUIRE(kept.ok());
  REQUIRE(kept->state() == rv1::ORDER_STATE_UNFULFILLABLE);  // until WooCommerce says cancelled
  REQUIRE(f.DeadLetters().empty());
  f.l.RequireConsistent();
}

TEST_CASE("kura-ctl manages connections, mappings, dead letters and drift") {
  ConnectorFixture f("cn_ctl");
  f.l.CreateItem("TEE");
  const std::string addr = f.connector->grpc_address();
  auto expect = [&](std::vector<std::string> args, int code, std::vector<std::string> shown) {
    auto [exit, out] = f.Ctl(std::move(args), addr);
    INFO(out);
    REQUIRE(exit == code);
    for (const auto& text : shown) REQUIRE(out.find(text) != std::string::npos);
  };
  expect({"connector", "connect", "ec", "--platform", "kura", "--secret", kKuraSecret}, 0,
         {"channel ec connected to kura"});
  expect({"connector", "connect", "ec", "--platform", "ebay", "--secret", kKuraSecret}, 1,
         {"INVALID_ARGUMENT"});
  expect({"connector", "connections"}, 0, {"ec", "kura"});
  expect({"connector", "map-item", "ec", "V-1", "TEE"}, 0, {});
  expect({"connector", "map-item", "ec", "V-2", "NOPE"}, 1, {"ITEM_NOT_FOUND"});
  expect({"connector", "items", "ec"}, 0, {"V-1", "TEE"});
  REQUIRE(f.PostKura("ec", "x-1", "order.placed", "X-1", "2026-11-26T10:00:00Z",
                     R"([{"sku":"NOPE","quantity":1}])") == 200);
  REQUIRE(Eventually([&] { return f.DeadLetters().size() == 1; }));
  expect({"connector", "dead-letters"}, 0, {"ITEM_NOT_FOUND"});
  expect({"connector", "reconcile"}, 0, {"0 items compared"});
  expect({"drift", "list"}, 0, {"ID"});
  expect({"drift", "resolve", "99", "--trust=kura"}, 1, {"DRIFT_NOT_FOUND"});
  expect({"drift", "resolve"}, 2, {});
}

}  // namespace
}  // namespace kura::reservation::testing
