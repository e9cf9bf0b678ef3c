// WooCommerce: X-WC-Webhook-Signature = base64(HMAC-SHA256(webhook secret, raw body)). There is
// no stable event id and deliveries coalesce (the payload is built at send time), so a delivery
// is named by (order id, date_modified_gmt, status) and acted on by the order's status:
// pending → hold; processing, on-hold, completed → hold and confirm; completed → hand over;
// cancelled, failed → cancel; refunded before it was completed → cancel (the goods never left).
// The order names its refunds only ({id, reason, total}); once the order was completed (shipped)
// each refund's lines are read with GET /orders/<id>/refunds/<id> and what it restocked comes
// back as a return. The creation ping (form-encoded webhook_id=N, unsigned) is
// answered and ignored.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connector.h"
#include "crypto.h"
#include "http_call.h"
#include "json_util.h"
#include "kura/base/error.h"
#include "kura/base/status_macros.h"

namespace kura::connector {
namespace {

using Kind = CanonicalEvent::Kind;

// WooCommerce ids are numbers; order and refund ids go into API paths (refund reads).
bool Numeric(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), absl::ascii_isdigit);
}

class WooCommerce final : public Connector {
 public:
  bool SnapshotsOrders() const override { return true; }
  std::string platform() const override { return "woocommerce"; }

  bool Verify(const WebhookRequest& request,
              const std::vector<std::string>& secrets) const override {
    return VerifyHmacBase64(request.Header("x-wc-webhook-signature"), secrets, request.body);
  }

  bool IsPing(const WebhookRequest& request) const override {
    return request.Header("x-wc-webhook-signature").empty() &&
           absl::StartsWith(request.body, "webhook_id=") && request.body.size() < 64;
  }

  absl::StatusOr<DeliveryInfo> Identify(const WebhookRequest& request) const override {
    DeliveryInfo info;
    info.topic = request.Header("x-wc-webhook-topic");
    if (info.topic.empty()) return InvalidArgument("headers", "X-WC-Webhook-Topic is required");
    ASSIGN_OR_RETURN(Json body, ParseObject(request.body));
    const std::string id = IdText(body, "id");
    if (id.empty()) return InvalidArgument("id", "the resource has no id");
    const std::string modified = Text(body, "date_modified_gmt");
    info.event_id = absl::StrCat(info.topic, ":", id, ":", modified, ":", Text(body, "status"));
    if (absl::StartsWith(info.topic, "order.")) info.order_id = id;
    if (auto when = Timestamp(modified)) info.platform_time = *when;
    return info;
  }

  absl::StatusOr<std::vector<CanonicalEvent>> Parse(const WebhookRequest& request) const override {
    const std::string topic = request.Header("x-wc-webhook-topic");
    std::vector<CanonicalEvent> events;
    if (topic == "product.updated") {
      // A product's (or variation's) stock as the shop holds it now: changed by hand, or by a
      // sale kura has not heard of. A variation's stock id is "product/variation".
      ASSIGN_OR_RETURN(Json body, ParseObject(request.body));
      const std::string id = IdText(body, "id");
      if (!Numeric(id)) return InvalidArgument("id", "the product's id is not a number");
      auto manage = body.find("manage_stock");
      auto quantity = Quantity(body, "stock_quantity");
      if (manage == body.end() || !manage->is_boolean() || !manage->get<bool>() || !quantity) {
        return events;  // stock not managed there: nothing to compare
      }
      const std::string parent = IdText(body, "parent_id");
      const std::string item = parent.empty() || parent == "0" ? id : absl::StrCat(parent, "/", id);
      events.push_back({Kind::kLevelChanged, "", "", {{item, "", "", *quantity}}});
      return events;
    }
    if (topic != "order.created" && topic != "order.updated") return events;
    ASSIGN_OR_RETURN(Json body, ParseObject(request.body));
    const std::string order_id = IdText(body, "id");
    if (!Numeric(order_id)) return InvalidArgument("id", "the order's id is not a number");
    const std::string customer =
        IdText(body, "customer_id") == "0" ? "" : IdText(body, "customer_id");
    std::vector<CanonicalEvent::Line> lines;
    auto items = body.find("line_items");
    if (items == body.end() || !items->is_array()) {
      return InvalidArgument("line_items", "the order has no line_items array");
    }
    for (const auto& item : *items) {
      auto quantity = item.is_object() ? Quantity(item, "quantity") : std::nullopt;
      if (!quantity) return InvalidArgument("line_items", "a line item has no quantity");
      if (*quantity <= 0) continue;
      std::string ref = IdText(item, "variation_id");
      if (ref.empty() || ref == "0") ref = IdText(item, "product_id");
      lines.push_back({ref, Text(item, "sku"), "", *quantity});
    }
    const std::string status = Text(body, "status");
    const bool shipped = !Text(body, "date_completed_gmt").empty();
    if (status == "cancelled" || status == "failed" || (status == "refunded" && !shipped)) {
      events.push_back({Kind::kOrderCancelled, order_id, customer, lines});
      return events;
    }
    if (status == "pending" || status == "processing" || status == "on-hold" ||
        status == "completed") {
      events.push_back({Kind::kOrderPlaced, order_id, customer, lines});
    }
    if (status == "processing" || status == "on-hold" || status == "completed") {
      events.push_back({Kind::kOrderPaid, order_id, customer, {}});
    }
    if (status == "completed") events.push_back({Kind::kOrderFulfilled, order_id, customer, {}});
    // Refunds of a shipped order may bring goods back. (A refund before shipping changes what
    // is to ship, like an edit: not applied; a full one cancels, above.)
    auto refunds = body.find("refunds");
    if (shipped && refunds != body.end() && refunds->is_array()) {
      for (const auto& refund : *refunds) {
        const std::string id = refund.is_object() ? IdText(refund, "id") : "";
        if (!Numeric(id)) return InvalidArgument("refunds", "a refund's id is not a number");
        events.push_back({Kind::kRefundIssued, order_id, customer, {}, id});
      }
    }
    return events;
  }

  // REST v3: absolute stock_quantity only (no compare-and-set). A variation's item id is
  // "product/variation".
  // Products in one call to the batch endpoint (it answers 200 with an "error" per item it could
  // not update); variations one PUT each.
  std::vector<PushResult> Push(const ApiEndpoint& api,
                               const std::vector<StockUpdate>& updates) const override {
    std::vector<PushResult> results(updates.size());
    std::vector<size_t> products;
    Json batch = Json::array();
    for (size_t i = 0; i < updates.size(); ++i) {
      const StockUpdate& update = updates[i];
      std::pair<std::string, std::string> ids =
          absl::StrSplit(update.item_id, absl::MaxSplits('/', 1));
      if (!ids.second.empty()) {
        HttpReply reply = HttpCall(
            api.base_url, "PUT",
            absl::StrCat("/wp-json/wc/v3/products/", ids.first, "/variations/", ids.second),
            Auth(api), Json({{"manage_stock", true}, {"stock_quantity", update.quantity}}).dump());
        results[i] = reply.status == 200 ? PushResult{.outcome = PushResult::Outcome::kApplied,
                                                      .current = update.quantity}
                                         : FailureOf(reply);
        continue;
      }
      int64_t id = 0;
      if (!absl::SimpleAtoi(ids.first, &id)) {
        results[i] = {.outcome = PushResult::Outcome::kRejected,
                      .detail = "a WooCommerce item id is a product id or product/variation"};
        continue;
      }
      batch.push_back({{"id", id}, {"manage_stock", true}, {"stock_quantity", update.quantity}});
      products.push_back(i);
    }
    if (products.empty()) return results;
    HttpReply reply = HttpCall(api.base_url, "POST", "/wp-json/wc/v3/products/batch", Auth(api),
                               Json({{"update", batch}}).dump());
    if (reply.status != 200) {
      for (size_t i : products) results[i] = FailureOf(reply);
      return results;
    }
    Json body = Json::parse(reply.body, nullptr, false);
    const bool listed = !body.is_discarded() && body.is_object() && body.contains("update") &&
                        body["update"].is_array() && body["update"].size() == products.size();
    for (size_t k = 0; k < products.size(); ++k) {
      const size_t i = products[k];
      const Json* item = listed ? &body["update"][k] : nullptr;
      if (item != nullptr && item->is_object() && item->contains("error")) {
        results[i] = {.outcome = PushResult::Outcome::kRejected,
                      .detail = absl::StrCat("WooCommerce: ", (*item)["error"].dump())};
      } else {
        results[i] = {.outcome = PushResult::Outcome::kApplied, .current = updates[i].quantity};
      }
    }
    return results;
  }

  absl::StatusOr<std::map<std::string, int64_t>> ReadStock(
      const ApiEndpoint& api, const std::vector<std::string>& item_ids) const override {
    std::map<std::string, int64_t> out;
    for (const auto& item_id : item_ids) {
      std::pair<std::string, std::string> ids = absl::StrSplit(item_id, absl::MaxSplits('/', 1));
      const std::string path =
          ids.second.empty()
              ? absl::StrCat("/wp-json/wc/v3/products/", ids.first)
              : absl::StrCat("/wp-json/wc/v3/products/", ids.first, "/variations/", ids.second);
      HttpReply reply = HttpCall(api.base_url, "GET", path, Auth(api), "");
      if (reply.status == 404) continue;
      if (reply.status != 200) {
        return absl::UnavailableError(absl::StrCat("WooCommerce: ", FailureOf(reply).detail));
      }
      Json body = Json::parse(reply.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        return absl::UnavailableError("WooCommerce: unexpected answer to the stock read");
      }
      if (auto n = Quantity(body, "stock_quantity")) out[item_id] = *n;
    }
    return out;
  }

  // A refund's lines have negative quantities; api_restock (default true on REST refunds) says
  // whether they went back to stock.
  absl::StatusOr<CanonicalEvent> ReadRefund(const ApiEndpoint& api, const std::string& order_id,
                                            const std::string& refund_id) const override {
    HttpReply reply = HttpCall(
        api.base_url, "GET",
        absl::StrCat("/wp-json/wc/v3/orders/", order_id, "/refunds/", refund_id), Auth(api), "");
    if (reply.status == 404) {
      return absl::NotFoundError(
          absl::StrCat("WooCommerce has no refund ", refund_id, " of order ", order_id));
    }
    if (reply.status != 200) {
      return absl::UnavailableError(absl::StrCat("WooCommerce: ", FailureOf(reply).detail));
    }
    ASSIGN_OR_RETURN(Json body, ParseObject(reply.body));
    CanonicalEvent event{Kind::kReturned, order_id, "", {}, absl::StrCat("refund-", refund_id)};
    auto restock = body.find("api_restock");
    if (restock != body.end() && restock->is_boolean() && !restock->get<bool>()) return event;
    auto items = body.find("line_items");
    if (items == body.end() || !items->is_array()) {
      return InvalidArgument("line_items", "the refund has no line_items array");
    }
    for (const auto& item : *items) {
      auto quantity = item.is_object() ? Quantity(item, "quantity") : std::nullopt;
      if (!quantity) return InvalidArgument("line_items", "a refund line has no quantity");
      if (*quantity == 0) continue;
      std::string ref = IdText(item, "variation_id");
      if (ref.empty() || ref == "0") ref = IdText(item, "product_id");
      event.lines.push_back({ref, Text(item, "sku"), "", *quantity < 0 ? -*quantity : *quantity});
    }
    return event;
  }

  // PUT /orders/<id> {"status": "cancelled"}: WooCommerce restores its own stock for the order
  // (the connector then pushes the order's items afresh) and does not refund by itself: the
  // shop refunds through its payment gateway. `detail` is not sent: WooCommerce has no field for
  // it that the customer would not see as their own note.
  bool CancelsOrders() const override { return true; }
  absl::Status CancelOrder(const ApiEndpoint& api, const std::string& order_id,
                           const std::string& /*detail*/) const override {
    if (order_id.empty() || order_id.find_first_not_of("0123456789") != std::string::npos) {
      return absl::FailedPreconditionError(
          absl::StrCat("WooCommerce order ids are numbers, not \"", order_id, "\""));
    }
    const Json request = {{"status", "cancelled"}};
    HttpReply reply =
        HttpCall(api.base_url, "PUT", absl::StrCat("/wp-json/wc/v3/orders/", order_id), Auth(api),
                 request.dump());
    if (reply.status == 200) return absl::OkStatus();
    return CallFailed("WooCommerce", reply.status, FailureOf(reply).detail);
  }

  // The products batch endpoint takes up to 100 items, but a variation is a call of its own
  // (made one after another within the claim): 20 a batch.
  RateLimit Limits() const override { return {5, 5, 20}; }

 private:
  static std::map<std::string, std::string> Auth(const ApiEndpoint& api) {
    return {{"Authorization", absl::StrCat("Basic ", Base64(api.credentials))}};
  }
};

}  // namespace

const Connector& WooCommerceConnector() {
  static const WooCommerce instance;
  return instance;
}

}  // namespace kura::connector
