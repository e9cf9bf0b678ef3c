// The connectors against the signed reference samples (services/connector/testdata, copied from
// the platform reference with their published signatures) and the negative cases its README
// lists.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "absl/strings/str_replace.h"
#include "call_bucket.h"
#include "connector.h"
#include "crypto.h"
#include "json_util.h"
#include "kura/base/error.h"

namespace kura::connector {
namespace {

const char kShopifySecret[] = "shpss_test_5e4a1c0ffee0123456789abcdef";
const char kWooSecret[] = "wc-test-secret-9f8e7d";
const char kSquareKey[] = "sq0wss-TEST-signature-key-123";
const char kSquareUrl[] = "https://sync.example.com/webhooks/square";

std::string Read(const std::string& name) {
  std::ifstream in(std::string(KURA_CONNECTOR_TESTDATA) + "/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

WebhookRequest Request(const std::string& file, std::map<std::string, std::string> headers,
                       std::string url = "") {
  return {std::move(url), std::move(headers), Read(file)};
}

using Kind = CanonicalEvent::Kind;

TEST_CASE("Every signed reference sample verifies with its platform's secret") {
  const Connector& shopify = *FindConnector("shopify");
  const Connector& woo = *FindConnector("woocommerce");
  const Connector& square = *FindConnector("square");
  const std::vector<std::tuple<const Connector*, std::string, std::string, std::string>> samples = {
      {&shopify, "shopify_orders_create_online.json", "x-shopify-hmac-sha256",
       "9FfqTUokb/U0QPISmQiYRXV/G02L9GJEkIcFYuyKM0I="},
      {&shopify, "shopify_orders_create_pos.json", "x-shopify-hmac-sha256",
       "w0m4NmKkNYfIAqcjkte+H5UVU4nmo9yanMVnOpcDFdA="},
      {&shopify, "shopify_refunds_create.json", "x-shopify-hmac-sha256",
       "Dy0HVyyrxIDESnRcEgCMlrXJ9HgVk34V4QkhRyDoJeU="},
      {&shopify, "shopify_inventory_levels_update.json", "x-shopify-hmac-sha256",
       "Qn+4n+UWqkNh3Q4lmTp0c/LjWik1huqzKIBdZxSggmc="},
      {&woo, "woocommerce_order_created.json", "x-wc-webhook-signature",
       "jox8JZ8m/fgRIBW8c/+7dgSHaKWTCDRu3RC0j3VM9Zg="},
      {&woo, "woocommerce_order_updated_cancelled.json", "x-wc-webhook-signature",
       "3Iwcw5H1+0iKzWxRkAmFq7YAfwP+bDhpvH111DbuTZk="},
      {&woo, "woocommerce_order_updated_partial_refund.json", "x-wc-webhook-signature",
       "qtKyY2mR72Yy/GYRVHTrln1Ega9kXDpt+TeVkbkWh6Q="},
      {&square, "square_inventory_count_updated_sale.json", "x-square-hmacsha256-signature",
       "OG+ZRfygcjHgn7XxPQB7Yk3mswA0+ml/SORl60eAqGI="},
      {&square, "square_inventory_count_updated_state_change.json", "x-square-hmacsha256-signature",
       "D8s0/jlR83gdWtpbm8j+M0tX/vp1bV8mpGsneTRxiqU="},
      {&square, "square_inventory_count_updated_bulk.json", "x-square-hmacsha256-signature",
       "Ha1vbciI962OJ/I1OngTY3mLYnQdo3wYCvXW9yylVnM="}};
  for (const auto& [connector, file, header, signature] : samples) {
    INFO(file);
    const std::string secret = connector == &shopify ? kShopifySecret
                               : connector == &woo   ? kWooSecret
                                                     : kSquareKey;
    WebhookRequest r = Request(file, {{header, signature}}, connector == &square ? kSquareUrl : "");
    REQUIRE(connector->Verify(r, {secret}));
    // Also with the secret second of two (a rotation), and never with another secret.
    REQUIRE(connector->Verify(r, {"some-other-secret", secret}));
    REQUIRE(!connector->Verify(r, {"some-other-secret"}));
    REQUIRE(!connector->Verify(r, {}));
    // One flipped byte of the body.
    WebhookRequest flipped = r;
    flipped.body[flipped.body.size() / 2] ^= 0x01;
    REQUIRE(!connector->Verify(flipped, {secret}));
    // No signature header.
    WebhookRequest unsigned_request = r;
    unsigned_request.headers.clear();
    REQUIRE(!connector->Verify(unsigned_request, {secret}));
  }
}

TEST_CASE("The negative cases of the samples' README are rejected") {
  const Connector& shopify = *FindConnector("shopify");
  const Connector& woo = *FindConnector("woocommerce");
  const Connector& square = *FindConnector("square");

  // Shopify: the HMAC as hex instead of base64.
  std::string body = Read("shopify_orders_create_online.json");
  std::string hex;
  for (unsigned char c : HmacSha256(kShopifySecret, body)) {
    static const char* kDigits = "0123456789abcdef";
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  REQUIRE(!shopify.Verify({"", {{"x-shopify-hmac-sha256", hex}}, body}, {kShopifySecret}));
  // Shopify: a secret that has just been rotated still signs for a while: accepted with both.
  const std::string old_signature = Base64(HmacSha256("shpss_old_secret", body));
  REQUIRE(shopify.Verify({"", {{"x-shopify-hmac-sha256", old_signature}}, body},
                         {kShopifySecret, "shpss_old_secret"}));
  REQUIRE(
      !shopify.Verify({"", {{"x-shopify-hmac-sha256", old_signature}}, body}, {kShopifySecret}));

  // WooCommerce: pretty-printed, or with its \/ and \uXXXX escapes undone.
  WebhookRequest woo_request =
      Request("woocommerce_order_created.json",
              {{"x-wc-webhook-signature", "jox8JZ8m/fgRIBW8c/+7dgSHaKWTCDRu3RC0j3VM9Zg="}});
  REQUIRE(woo.Verify(woo_request, {kWooSecret}));
  WebhookRequest pretty = woo_request;
  pretty.body = Json::parse(woo_request.body).dump(2);
  REQUIRE(!woo.Verify(pretty, {kWooSecret}));
  WebhookRequest unescaped = woo_request;
  unescaped.body = Json::parse(woo_request.body).dump();  // '/' plain, UTF-8 unescaped
  REQUIRE(unescaped.body != woo_request.body);
  REQUIRE(!woo.Verify(unescaped, {kWooSecret}));
  WebhookRequest slashes = woo_request;
  slashes.body = absl::StrReplaceAll(woo_request.body, {{"\\/", "/"}});
  REQUIRE(slashes.body != woo_request.body);
  REQUIRE(!woo.Verify(slashes, {kWooSecret}));

  // Square: signed for http:// or with a trailing slash on the URL.
  WebhookRequest sq =
      Request("square_inventory_count_updated_sale.json",
              {{"x-square-hmacsha256-signature", "OG+ZRfygcjHgn7XxPQB7Yk3mswA0+ml/SORl60eAqGI="}},
              kSquareUrl);
  REQUIRE(square.Verify(sq, {kSquareKey}));
  WebhookRequest http = sq;
  http.url = "http://sync.example.com/webhooks/square";
  REQUIRE(!square.Verify(http, {kSquareKey}));
  WebhookRequest slash = sq;
  slash.url = std::string(kSquareUrl) + "/";
  REQUIRE(!square.Verify(slash, {kSquareKey}));
}

TEST_CASE("Deliveries are identified for dedupe and parsed into canonical events") {
  const Connector& shopify = *FindConnector("shopify");
  WebhookRequest online = Request("shopify_orders_create_online.json",
                                  {{"x-shopify-topic", "orders/create"},
                                   {"x-shopify-event-id", "ev-1"},
                                   {"x-shopify-triggered-at", "2025-03-14T01:22:31.123456Z"}});
  auto info = shopify.Identify(online);
  REQUIRE(info.ok());
  REQUIRE(info->event_id == "ev-1");
  REQUIRE(info->topic == "orders/create");
  REQUIRE(!info->order_id.empty());
  REQUIRE(info->platform_time == absl::FromUnixMicros(1741915351123456));
  auto events = shopify.Parse(online);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 2);  // placed and paid
  REQUIRE((*events)[0].kind == Kind::kOrderPlaced);
  REQUIRE((*events)[0].lines.size() == 2);
  REQUIRE(!(*events)[0].lines[0].item_ref.empty());
  REQUIRE((*events)[1].kind == Kind::kOrderPaid);

  // A POS order is a store sale at its location.
  WebhookRequest pos = Request("shopify_orders_create_pos.json",
                               {{"x-shopify-topic", "orders/create"}, {"x-shopify-event-id", "e"}});
  events = shopify.Parse(pos);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 1);
  REQUIRE((*events)[0].kind == Kind::kStoreSale);
  REQUIRE((*events)[0].lines[0].location_ref == "71234567890");
  REQUIRE((*events)[0].lines[0].item_ref == "44123456789012");
  REQUIRE((*events)[0].lines[0].sku == "TSHIRT-BLK-M");

  // A refund restocks only its "return" lines, at their location.
  WebhookRequest refund =
      Request("shopify_refunds_create.json",
              {{"x-shopify-topic", "refunds/create"}, {"x-shopify-event-id", "r"}});
  REQUIRE(shopify.Identify(refund)->order_id == "5891234567890");
  events = shopify.Parse(refund);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 1);
  REQUIRE((*events)[0].kind == Kind::kReturned);
  REQUIRE((*events)[0].lines.size() == 1);
  REQUIRE((*events)[0].lines[0].location_ref == "71234567890");

  // Ids beyond 2^53 stay exact.
  WebhookRequest big{"",
                     {{"x-shopify-topic", "orders/cancelled"}, {"x-shopify-event-id", "b"}},
                     R"({"id":820982911946154508,"cancelled_at":"2025-01-01T00:00:00Z",)"
                     R"("line_items":[{"variant_id":820982911946154509,"quantity":1}]})"};
  REQUIRE(shopify.Identify(big)->order_id == "820982911946154508");
  events = shopify.Parse(big);
  REQUIRE(events.ok());
  REQUIRE(events->back().kind == Kind::kOrderCancelled);
  REQUIRE(events->back().lines[0].item_ref == "820982911946154509");

  // WooCommerce: status-driven, named by (topic, id, date_modified_gmt, status).
  const Connector& woo = *FindConnector("woocommerce");
  WebhookRequest created =
      Request("woocommerce_order_created.json", {{"x-wc-webhook-topic", "order.created"}});
  info = woo.Identify(created);
  REQUIRE(info.ok());
  REQUIRE(info->event_id == "order.created:1287:2025-03-14T01:25:13:processing");
  REQUIRE(info->platform_time == absl::FromUnixSeconds(1741915513));
  events = woo.Parse(created);
  REQUIRE(events->size() == 2);                      // processing: placed and paid
  REQUIRE((*events)[0].lines[0].item_ref == "507");  // the variation
  REQUIRE((*events)[0].lines[1].item_ref == "620");  // a simple product
  WebhookRequest cancelled = Request("woocommerce_order_updated_cancelled.json",
                                     {{"x-wc-webhook-topic", "order.updated"}});
  events = woo.Parse(cancelled);
  REQUIRE(events->size() == 1);
  REQUIRE((*events)[0].kind == Kind::kOrderCancelled);
  // A refund of an unshipped order (the sample: a size exchange while processing) is not a
  // return; the refunds of a shipped one are named for reading from the platform; refunded in
  // full before shipping is a cancel.
  events = woo.Parse(Request("woocommerce_order_updated_partial_refund.json",
                             {{"x-wc-webhook-topic", "order.updated"}}));
  REQUIRE(events->size() == 2);
  REQUIRE(events->back().kind == Kind::kOrderPaid);
  auto woo_order = [&](const std::string& status, const std::string& completed) {
    return woo.Parse({"",
                      {{"x-wc-webhook-topic", "order.updated"}},
                      R"({"id":9,"status":")" + status + R"(","date_completed_gmt":)" + completed +
                          R"(,"line_items":[{"product_id":620,"quantity":1}],)"
                          R"("refunds":[{"id":1301,"reason":"","total":"-3300"}]})"});
  };
  events = woo_order("completed", R"("2025-03-15T00:00:00")");
  REQUIRE(events->back().kind == Kind::kRefundIssued);
  REQUIRE(events->back().ref == "1301");
  events = woo_order("refunded", "null");
  REQUIRE(events->size() == 1);
  REQUIRE((*events)[0].kind == Kind::kOrderCancelled);
  REQUIRE(woo.IsPing({"", {}, "webhook_id=3"}));
  REQUIRE(!woo.IsPing(created));

  // Square: counts in stock, fractions rounded down.
  const Connector& square = *FindConnector("square");
  WebhookRequest bulk = Request("square_inventory_count_updated_bulk.json", {});
  REQUIRE(!square.Identify(bulk)->event_id.empty());
  events = square.Parse(bulk);
  REQUIRE(events.ok());
  REQUIRE((*events)[0].kind == Kind::kStockCount);
  bool fraction = false;
  for (const auto& line : (*events)[0].lines) fraction |= line.quantity == 12;
  REQUIRE(fraction);

  // Malformed bodies: INVALID_ARGUMENT.
  REQUIRE(ErrorReason(
              shopify
                  .Identify({"",
                             {{"x-shopify-topic", "orders/create"}, {"x-shopify-event-id", "x"}},
                             "not json"})
                  .status()) == "INVALID_ARGUMENT");
  REQUIRE(ErrorReason(shopify.Parse({"", {{"x-shopify-topic", "orders/create"}}, R"({"id":1})"})
                          .status()) == "INVALID_ARGUMENT");
  const Connector& kura = *FindConnector("kura");
  REQUIRE(ErrorReason(kura.Identify({"", {}, R"({"event_id":"1","type":"nope"})"}).status()) ==
          "INVALID_ARGUMENT");
  auto generic = kura.Parse({"",
                             {},
                             R"({"event_id":"e1","type":"order.placed","order_id":"A-1",)"
                             R"("occurred_at":"2026-11-26T10:00:00+09:00",)"
                             R"("lines":[{"sku":"TEE","quantity":2}]})"});
  REQUIRE(generic.ok());
  REQUIRE((*generic)[0].kind == Kind::kOrderPlaced);
  REQUIRE((*generic)[0].lines[0].sku == "TEE");
}

}  // namespace
TEST_CASE("A channel's calls are paced by a bucket, then by the budget the platform reports") {
  const absl::Time t0 = absl::FromUnixSeconds(1'000'000);
  const RateLimit configured{5, 10};  // 10 at once, then 5 a second
  CallBucket bucket(configured, t0);
  for (int i = 0; i < 10; ++i) REQUIRE(bucket.Take(configured, t0) == absl::ZeroDuration());
  REQUIRE(bucket.Take(configured, t0) == absl::Milliseconds(200));
  REQUIRE(bucket.Take(configured, t0) == absl::Milliseconds(400));  // callers queue
  // A second later five calls came back: the two waiting, and three more.
  const absl::Time t1 = t0 + absl::Seconds(1);
  for (int i = 0; i < 3; ++i) REQUIRE(bucket.Take(configured, t1) == absl::ZeroDuration());
  REQUIRE(bucket.Take(configured, t1) > absl::ZeroDuration());

  // A plan with a larger budget (1,000 points, 100 restored a second, 10 a call), as the
  // platform reports it: followed from then on.
  CallBucket plus(configured, t0);
  plus.Learn({.burst = 100, .available = 90, .per_second = 10}, configured, t0);
  for (int i = 0; i < 90; ++i) REQUIRE(plus.Take(configured, t0) == absl::ZeroDuration());
  REQUIRE(plus.Take(configured, t0) == absl::Milliseconds(100));
  // A report that is no budget (nothing restored) changes nothing.
  CallBucket odd(configured, t0);
  odd.Learn({.burst = 0, .available = 0, .per_second = 0}, configured, t0);
  REQUIRE(odd.Take(configured, t0) == absl::ZeroDuration());

  // Two pushers keep the bucket empty, and each answer reports the platform's budget while the
  // other waits: the refill they wait for still comes at the platform's rate (5 calls a second),
  // it is not lost each time an answer is learned.
  CallBucket busy(configured, t0);
  absl::Time now = t0;
  int calls = 0;
  absl::Time ready[2] = {t0, t0};
  double points = 10;  // the platform's own bucket, in calls
  absl::Time points_at = t0;
  while (now < t0 + absl::Seconds(10)) {
    const int caller = ready[0] <= ready[1] ? 0 : 1;
    now = std::max(now, ready[caller]);
    now += busy.Take(configured, now);
    ++calls;
    const absl::Time answered = now + absl::Milliseconds(10);
    points = std::min(10.0, points + 5 * absl::ToDoubleSeconds(answered - points_at)) - 1;
    points_at = answered;
    REQUIRE(points >= 0);  // never throttled
    busy.Learn({.burst = 10, .available = points, .per_second = 5}, configured, answered);
    ready[caller] = answered;
  }
  // 10 at once, then 5 a second for 10 seconds.
  REQUIRE(calls >= 55);
  REQUIRE(calls <= 62);
}

}  // namespace kura::connector
