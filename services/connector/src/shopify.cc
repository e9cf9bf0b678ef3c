// Shopify: X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(app client secret, raw body));
// dedupe on X-Shopify-Event-Id; stale deliveries by X-Shopify-Triggered-At. Topics acted on:
// orders/create|updated|paid|cancelled|fulfilled (web orders; POS orders are store sales) and
// refunds/create (restock_type "return" → a return at the refund's location).
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connector.h"
#include "crypto.h"
#include "http_call.h"
#include "json_util.h"
#include "kura/base/error.h"
#include "kura/base/status_macros.h"

namespace kura::connector {
namespace {

using Kind = CanonicalEvent::Kind;

std::string OrderIdOf(const std::string& topic, const Json& body) {
  if (absl::StartsWith(topic, "orders/")) return IdText(body, "id");
  if (absl::StartsWith(topic, "refunds/")) return IdText(body, "order_id");
  return "";
}

absl::StatusOr<std::vector<CanonicalEvent::Line>> OrderLines(const Json& order,
                                                             const std::string& location) {
  std::vector<CanonicalEvent::Line> lines;
  auto items = order.find("line_items");
  if (items == order.end() || !items->is_array()) {
    return InvalidArgument("line_items", "the order has no line_items array");
  }
  for (const auto& item : *items) {
    auto quantity = item.is_object() ? Quantity(item, "quantity") : std::nullopt;
    if (!quantity) return InvalidArgument("line_items", "a line item has no quantity");
    if (*quantity <= 0) continue;
    lines.push_back({IdText(item, "variant_id"), Text(item, "sku"), location, *quantity});
  }
  return lines;
}

class Shopify final : public Connector {
 public:
  bool SnapshotsOrders() const override { return true; }
  std::string platform() const override { return "shopify"; }

  bool Verify(const WebhookRequest& request,
              const std::vector<std::string>& secrets) const override {
    return VerifyHmacBase64(request.Header("x-shopify-hmac-sha256"), secrets, request.body);
  }

  absl::StatusOr<DeliveryInfo> Identify(const WebhookRequest& request) const override {
    DeliveryInfo info;
    info.topic = request.Header("x-shopify-topic");
    info.event_id = request.Header("x-shopify-event-id");
    if (info.event_id.empty()) info.event_id = request.Header("x-shopify-webhook-id");
    if (info.topic.empty() || info.event_id.empty()) {
      return InvalidArgument("headers", "X-Shopify-Topic and X-Shopify-Event-Id are required");
    }
    ASSIGN_OR_RETURN(Json body, ParseObject(request.body));
    info.order_id = OrderIdOf(info.topic, body);
    auto when = Timestamp(request.Header("x-shopify-triggered-at"));
    if (!when) when = Timestamp(Text(body, "updated_at"));
    if (when) info.platform_time = *when;
    return info;
  }

  absl::StatusOr<std::vector<CanonicalEvent>> Parse(const WebhookRequest& request) const override {
    const std::string topic = request.Header("x-shopify-topic");
    ASSIGN_OR_RETURN(Json body, ParseObject(request.body));
    std::vector<CanonicalEvent> events;
    const std::string order_id = OrderIdOf(topic, body);
    if (absl::StartsWith(topic, "orders/")) {
      if (order_id.empty()) return InvalidArgument("id", "the order has no id");
      std::string customer;
      if (auto c = body.find("customer"); c != body.end() && c->is_object()) {
        customer = IdText(*c, "id");
      }
      if (Text(body, "source_name") == "pos") {
        // Sold over the counter at a Shopify POS location: already handed over.
        ASSIGN_OR_RETURN(auto lines, OrderLines(body, IdText(body, "location_id")));
        if (Text(body, "cancelled_at").empty()) {
          events.push_back({Kind::kStoreSale, order_id, customer, std::move(lines)});
        }
        return events;
      }
      ASSIGN_OR_RETURN(auto lines, OrderLines(body, ""));
      events.push_back({Kind::kOrderPlaced, order_id, customer, lines});
      // The order's state comes from the signed body, never from the (unsigned) topic.
      const std::string paid = Text(body, "financial_status");
      if (paid == "paid" || paid == "partially_refunded" || paid == "refunded") {
        events.push_back({Kind::kOrderPaid, order_id, customer, {}});
      }
      if (Text(body, "fulfillment_status") == "fulfilled") {
        events.push_back({Kind::kOrderFulfilled, order_id, customer, {}});
      }
      if (!Text(body, "cancelled_at").empty()) {
        events.push_back({Kind::kOrderCancelled, order_id, customer, lines});
      }
      return events;
    }
    if (topic == "refunds/create") {
      CanonicalEvent returned{
          Kind::kReturned, order_id, "", {}, absl::StrCat("refund-", IdText(body, "id"))};
      auto items = body.find("refund_line_items");
      if (items == body.end() || !items->is_array()) {
        return InvalidArgument("refund_line_items", "the refund has no refund_line_items array");
      }
      for (const auto& item : *items) {
        if (!item.is_object() || Text(item, "restock_type") != "return") continue;
        auto quantity = Quantity(item, "quantity");
        auto line = item.find("line_item");
        if (!quantity || line == item.end() || !line->is_object()) {
          return InvalidArgument("refund_line_items", "a refund line lacks quantity or line_item");
        }
        returned.lines.push_back({IdText(*line, "variant_id"), Text(*line, "sku"),
                                  IdText(item, "location_id"), *quantity});
      }
      if (!returned.lines.empty()) events.push_back(std::move(returned));
    }
    if (topic == "inventory_levels/update") {
      // Shopify sends the level as it is when the payload is made (two quick changes can both
      // show the last): a cue to compare, not an event log.
      auto available = Quantity(body, "available");
      const std::string item = IdText(body, "inventory_item_id");
      if (item.empty() || !available) {
        return InvalidArgument("inventory_item_id",
                               "an inventory level needs inventory_item_id and available");
      }
      events.push_back(
          {Kind::kLevelChanged, "", "", {{item, "", IdText(body, "location_id"), *available}}});
    }
    return events;  // other topics: nothing to do
  }

  // GraphQL Admin API: inventorySetQuantities ("available") with compare-and-set
  // (changeFromQuantity, required from 2026-04; null opts out).
  // One inventorySetQuantities call for the batch. The mutation is all or nothing: when some
  // quantities are refused (a stale compare-and-set, an unknown item), none is set, so the rest
  // are sent again without them.
  std::vector<PushResult> Push(const ApiEndpoint& api,
                               const std::vector<StockUpdate>& updates) const override {
    std::vector<PushResult> results(updates.size());
    std::optional<CallBudget> budget;  // as the last answer reported it
    std::vector<size_t> pending(updates.size());
    for (size_t i = 0; i < updates.size(); ++i) pending[i] = i;
    while (!pending.empty()) {
      Json quantities = Json::array();
      for (size_t i : pending) {
        const StockUpdate& update = updates[i];
        Json quantity = {
            {"inventoryItemId", absl::StrCat("gid://shopify/InventoryItem/", update.item_id)},
            {"locationId", absl::StrCat("gid://shopify/Location/", api.location_id)},
            {"quantity", update.quantity},
            {"changeFromQuantity", nullptr}};
        if (update.expected) quantity["changeFromQuantity"] = *update.expected;
        quantities.push_back(std::move(quantity));
      }
      Json request = {
          {"query",
           "mutation SetAvailable($input: InventorySetQuantitiesInput!) { inventorySetQuantities("
           "input: $input) { inventoryAdjustmentGroup { id } userErrors { field message code } } "
           "}"},
          {"variables",
           {{"input",
             {{"name", "available"},
              {"reason", "correction"},
              {"referenceDocumentUri",
               absl::StrCat("gid://kura/StockPush/", updates[pending[0]].idempotency_key)},
              {"quantities", quantities}}}}}};
      const auto all = [&](const PushResult& r) {
        for (size_t i : pending) results[i] = r;
        return WithBudget(std::move(results), budget);
      };
      HttpReply reply = Graphql(api, request);
      if (reply.status != 200) return all(FailureOf(reply));
      Json body = Json::parse(reply.body, nullptr, false);
      if (body.is_discarded()) return all({.detail = "the answer is not JSON"});  // kRetry
      budget = BudgetOf(body);
      if (auto throttled = Throttled(body)) return all(*throttled);
      if (!body.contains("data") || !body["data"].is_object() ||
          !body["data"].contains("inventorySetQuantities") ||
          !body["data"]["inventorySetQuantities"].is_object()) {
        return all({.outcome = PushResult::Outcome::kRejected,
                    .detail = absl::StrCat("unexpected answer: ", reply.body.substr(0, 200))});
      }
      const Json& payload = body["data"]["inventorySetQuantities"];
      const Json no_errors = Json::array();
      const Json& errors = payload.contains("userErrors") && payload["userErrors"].is_array()
                               ? payload["userErrors"]
                               : no_errors;
      if (errors.empty()) {
        for (size_t i : pending) {
          results[i] = {.outcome = PushResult::Outcome::kApplied, .current = updates[i].quantity};
        }
        return WithBudget(std::move(results), budget);
      }
      // Each error names its quantity: ["input", "quantities", "<index>", ...].
      std::vector<bool> refused(pending.size(), false);
      for (const auto& e : errors) {
        PushResult r{.outcome = e.is_object() && Text(e, "code") == "CHANGE_FROM_QUANTITY_STALE"
                                    ? PushResult::Outcome::kStale
                                    : PushResult::Outcome::kRejected,
                     .detail = e.is_object() ? Text(e, "message") : "userErrors"};
        size_t index = 0;
        const bool named = e.is_object() && e.contains("field") && e["field"].is_array() &&
                           e["field"].size() >= 3 && e["field"][2].is_string() &&
                           absl::SimpleAtoi(e["field"][2].get<std::string>(), &index) &&
                           index < pending.size();
        if (!named) return all(r);  // not about one quantity: the call as a whole was refused
        if (Text(e, "code") == "ITEM_NOT_STOCKED_AT_LOCATION") {
          // The item has no level at the location (never stocked there, or the shop lost it):
          // activate it there with the quantity, which sets it.
          const StockUpdate& update = updates[pending[index]];
          absl::Status activated = Activate(api, update.item_id, update.quantity);
          r = activated.ok()
                  ? PushResult{.outcome = PushResult::Outcome::kApplied, .current = update.quantity}
                  : PushResult{
                        .outcome = absl::IsUnavailable(activated) ? PushResult::Outcome::kRetry
                                                                  : PushResult::Outcome::kRejected,
                        .detail = absl::StrCat("the item cannot be stocked at the location: ",
                                               activated.message())};
        }
        results[pending[index]] = r;
        refused[index] = true;
      }
      std::vector<size_t> rest;
      for (size_t k = 0; k < pending.size(); ++k) {
        if (!refused[k]) rest.push_back(pending[k]);
      }
      pending = std::move(rest);
    }
    return WithBudget(std::move(results), budget);
  }

  absl::StatusOr<std::map<std::string, int64_t>> ReadStock(
      const ApiEndpoint& api, const std::vector<std::string>& item_ids) const override {
    Json ids = Json::array();
    for (const auto& id : item_ids) ids.push_back(absl::StrCat("gid://shopify/InventoryItem/", id));
    Json request = {
        {"query",
         "query Levels($ids: [ID!]!, $locationId: ID!) { nodes(ids: $ids) { ... on InventoryItem "
         "{ id inventoryLevel(locationId: $locationId) { quantities(names: [\"available\"]) "
         "{ name quantity } } } } }"},
        {"variables",
         {{"ids", ids}, {"locationId", absl::StrCat("gid://shopify/Location/", api.location_id)}}}};
    HttpReply reply = Graphql(api, request);
    if (reply.status != 200) {
      return absl::UnavailableError(absl::StrCat("Shopify: ", FailureOf(reply).detail));
    }
    Json body = Json::parse(reply.body, nullptr, false);
    if (body.is_discarded() || !body.contains("data") || !body["data"].contains("nodes") ||
        !body["data"]["nodes"].is_array()) {
      return absl::UnavailableError("Shopify: unexpected answer to the stock query");
    }
    std::map<std::string, int64_t> out;
    for (const auto& node : body["data"]["nodes"]) {
      if (!node.is_object() || !node.contains("inventoryLevel") ||
          !node["inventoryLevel"].is_object()) {
        continue;
      }
      const std::string gid = Text(node, "id");
      const std::string prefix = "gid://shopify/InventoryItem/";
      if (!absl::StartsWith(gid, prefix)) continue;
      for (const auto& q : node["inventoryLevel"]["quantities"]) {
        if (Text(q, "name") == "available") {
          if (auto n = Quantity(q, "quantity")) out[gid.substr(prefix.size())] = *n;
        }
      }
    }
    return out;
  }

  // GraphQL orderCancel: reason INVENTORY, the payment refunded, the platform's own stock not
  // restocked (kura's next push sets it), the customer notified. An order already cancelled
  // there is done.
  bool CancelsOrders() const override { return true; }
  absl::Status CancelOrder(const ApiEndpoint& api, const std::string& order_id,
                           const std::string& detail) const override {
    Json request = {
        {"query",
         "mutation Cancel($orderId: ID!, $staffNote: String) { orderCancel(orderId: $orderId, "
         "reason: INVENTORY, refund: true, restock: false, notifyCustomer: true, staffNote: "
         "$staffNote) { job { id done } orderCancelUserErrors { field message code } } }"},
        {"variables",
         {{"orderId", absl::StrCat("gid://shopify/Order/", order_id)},
          {"staffNote", absl::StrCat("kura: ", detail).substr(0, 255)}}}};
    ASSIGN_OR_RETURN(Json errors, Mutation(api, request, "orderCancel", "orderCancelUserErrors"));
    for (const auto& e : errors) {
      if (!e.is_object()) continue;
      if (Text(e, "code") == "ORDER_ALREADY_CANCELLED") return absl::OkStatus();
      return absl::FailedPreconditionError(
          absl::StrCat("Shopify refused orderCancel: ", Text(e, "code"), " ", Text(e, "message")));
    }
    return absl::OkStatus();
  }

  // GraphQL calculated cost: a bucket of points restored every second, about 10 points a
  // mutation. Kept to kura-ec-sim's bucket (100 points, 50 restored a second): 10 calls at
  // once, then 5 a second (a standard plan restores 100 points a second). One
  // inventorySetQuantities call takes up to 250 quantities.
  RateLimit Limits() const override { return {5, 10, 250}; }

 private:
  // GraphQL inventoryActivate: stocks an item at the endpoint's location with `available`.
  static absl::Status Activate(const ApiEndpoint& api, const std::string& item_id,
                               int64_t available) {
    Json request = {
        {"query",
         "mutation Activate($inventoryItemId: ID!, $locationId: ID!, $available: Int) { "
         "inventoryActivate(inventoryItemId: $inventoryItemId, locationId: $locationId, "
         "available: $available) { inventoryLevel { id } userErrors { field message } } }"},
        {"variables",
         {{"inventoryItemId", absl::StrCat("gid://shopify/InventoryItem/", item_id)},
          {"locationId", absl::StrCat("gid://shopify/Location/", api.location_id)},
          {"available", available}}}};
    ASSIGN_OR_RETURN(Json errors, Mutation(api, request, "inventoryActivate", "userErrors"));
    if (!errors.empty()) {
      const Json& e = errors[0];
      return absl::FailedPreconditionError(e.is_object() ? Text(e, "message") : "userErrors");
    }
    return absl::OkStatus();
  }

  // Runs a GraphQL mutation and returns its user errors (`errors_field` of the `name` payload):
  // UNAVAILABLE when waiting may mend the failure (transport, 5xx, 429, THROTTLED, an answer
  // that is not the mutation's), FAILED_PRECONDITION for another HTTP refusal.
  static absl::StatusOr<Json> Mutation(const ApiEndpoint& api, const Json& request,
                                       const std::string& name, const std::string& errors_field) {
    HttpReply reply = Graphql(api, request);
    if (reply.status != 200) return CallFailed("Shopify", reply.status, FailureOf(reply).detail);
    Json body = Json::parse(reply.body, nullptr, false);
    if (!body.is_discarded() && Throttled(body))
      return absl::UnavailableError("Shopify: throttled");
    if (body.is_discarded() || !body.contains("data") || !body["data"].is_object() ||
        !body["data"].contains(name) || !body["data"][name].is_object()) {
      return absl::UnavailableError(absl::StrCat("Shopify: unexpected answer to ", name));
    }
    const Json& payload = body["data"][name];
    auto errors = payload.find(errors_field);
    if (errors == payload.end() || !errors->is_array()) return Json::array();
    return *errors;
  }

  static HttpReply Graphql(const ApiEndpoint& api, const Json& request) {
    return HttpCall(api.base_url, "POST", "/admin/api/2026-04/graphql.json",
                    {{"X-Shopify-Access-Token", api.credentials}}, request.dump());
  }

  // The cost budget an answer reports (extensions.cost): the bucket's points, those left and
  // the restore rate, in calls of this one's cost.
  static std::optional<CallBudget> BudgetOf(const Json& body) {
    if (!body.is_object() || !body.contains("extensions") || !body["extensions"].is_object() ||
        !body["extensions"].contains("cost") || !body["extensions"]["cost"].is_object()) {
      return std::nullopt;
    }
    const Json& cost = body["extensions"]["cost"];
    auto requested = Quantity(cost, "requestedQueryCost");
    auto actual = Quantity(cost, "actualQueryCost");
    const int64_t points = actual && *actual > 0 ? *actual : requested.value_or(0);
    if (points <= 0 || !cost.contains("throttleStatus") || !cost["throttleStatus"].is_object()) {
      return std::nullopt;
    }
    const Json& status = cost["throttleStatus"];
    auto maximum = Quantity(status, "maximumAvailable");
    auto available = Quantity(status, "currentlyAvailable");
    auto restore = Quantity(status, "restoreRate");
    if (!maximum || !available || !restore) return std::nullopt;
    const double per_call = static_cast<double>(points);
    return CallBudget{static_cast<double>(*maximum) / per_call,
                      static_cast<double>(*available) / per_call,
                      static_cast<double>(*restore) / per_call};
  }

  static std::vector<PushResult> WithBudget(std::vector<PushResult> results,
                                            const std::optional<CallBudget>& budget) {
    for (auto& r : results) r.budget = budget;
    return results;
  }

  // GraphQL throttling: errors[].extensions.code THROTTLED, waiting for the points it lacks.
  static std::optional<PushResult> Throttled(const Json& body) {
    if (!body.contains("errors") || !body["errors"].is_array()) return std::nullopt;
    for (const auto& e : body["errors"]) {
      if (!e.is_object() || !e.contains("extensions") ||
          Text(e["extensions"], "code") != "THROTTLED") {
        continue;
      }
      PushResult r;
      r.outcome = PushResult::Outcome::kThrottled;
      r.detail = "THROTTLED";
      r.retry_after = absl::Seconds(1);
      if (body.contains("extensions") && body["extensions"].contains("cost")) {
        const Json& cost = body["extensions"]["cost"];
        auto requested = Quantity(cost, "requestedQueryCost");
        if (cost.contains("throttleStatus") && requested) {
          auto available = Quantity(cost["throttleStatus"], "currentlyAvailable");
          auto restore = Quantity(cost["throttleStatus"], "restoreRate");
          if (available && restore && *restore > 0) {
            r.retry_after = absl::Seconds(std::max<double>(
                0.1, static_cast<double>(*requested - *available) / static_cast<double>(*restore)));
          }
        }
      }
      return r;
    }
    return std::nullopt;
  }
};

}  // namespace

const Connector& ShopifyConnector() {
  static const Shopify instance;
  return instance;
}

}  // namespace kura::connector
