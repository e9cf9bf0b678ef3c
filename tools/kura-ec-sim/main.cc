// kura-ec-sim: a stand-in for one EC platform's stock API and webhooks, for tests and the demo.
// It follows the documented behaviour in ../shared/reference/ec-platforms.md:
//   shopify      POST /admin/api/<version>/graphql.json: inventorySetQuantities ("available",
//                changeFromQuantity compare-and-set, CHANGE_FROM_QUANTITY_STALE), a nodes()
//                read of inventory levels, orderCancel (an order cancelled twice answers
//                orderCancelUserErrors ORDER_ALREADY_CANCELLED; with --webhook-url a signed
//                orders/cancelled follows); X-Shopify-Access-Token; a cost bucket, 10 points
//                a call, answered THROTTLED with extensions.cost: by default 100 points restored
//                at 50 a second (what older stores reported); --shopify-plan=standard|advanced|
//                plus|enterprise restores 100/200/1000/2000 a second as documented, from a
//                bucket of 1000 points (the capacity older stores reported; not documented).
//   woocommerce  POST /wp-json/wc/v3/products/batch, PUT .../products/<p>/variations/<v>,
//                GET .../products/<id> and .../variations/<v>,
//                GET /wp-json/wc/v3/orders/<o>/refunds/<r>, PUT /wp-json/wc/v3/orders/<o>
//                ({"status": "cancelled"}); HTTP Basic; absolute only.
//   square       POST /v2/inventory/changes/batch-create (idempotency_key; PHYSICAL_COUNTs
//                ordered by occurred_at: an older count than the last is ignored),
//                POST /v2/inventory/counts/batch-retrieve, POST /v2/inventory/changes/
//                batch-retrieve (the history: counts and adjustments, oldest first, paged);
//                Bearer token.
// With --inventory-webhooks (and --webhook-url) every change of a quantity, by the API or by hand
// (/sim/stock), is sent as the platform's signed webhook, as it does for a subscribed app:
// Shopify inventory_levels/update, WooCommerce product.updated, Square inventory.count.updated
// (kura's own pushes come back as such echoes too).
// With --require-activation (shopify) an item the store has no level for is refused by
// inventorySetQuantities (ITEM_NOT_STOCKED_AT_LOCATION) until inventoryActivate stocks it at the
// location, as a real store does for an item never stocked there or a level it lost.
// With --state-file=F the quantities outlive a restart (as a platform's do): read from F at start,
// F rewritten on every change.
// Control endpoints for tests (not part of any platform):
//   POST /sim/stock {"item_id","quantity"}  set a quantity directly (drift, sales there)
//   GET  /sim/stock/<item_id>               {"quantity": N}
//   GET  /sim/wait?item_id=X[&not=Q][&timeout_ms=T]  waits (default 5 s) until X has a quantity,
//                                            other than Q when given: {"quantity": N,
//                                            "changed_at_us": when it was set, Unix µs}; 408
//                                            when the time runs out (scripts/bench propagation);
//                                            with &since_us=U instead of &not: until X changed
//                                            after U, answering also "changes": every change
//                                            after U, [quantity, changed_at_us], oldest first
//   POST /sim/fail {"count": N, "status": S}  the next N API calls answer S
//   POST /sim/throttle {"count": N}          the next N API calls are rate-limited
//   GET  /sim/stats                          {"api_calls", "applied" (calls), "items" (with a
//                                            quantity), "stale", "refused",
//                                            "refund_reads"}
//   GET  /sim/cancelled                      {"orders": {"<order id>": {the cancel's
//                                            arguments}}}: the orders cancelled through the API
//   POST /sim/send?topic=T                   signs the body like the platform and posts it to
//                                            --webhook-url (answers with its HTTP status)
//   POST /sim/refund {"order_id","refund_id","api_restock","line_items"}  (woocommerce) a
//                                            refund as GET .../refunds/<r> will show it
//   POST /sim/adjust {"item_id","quantity","to_state"}  (square) a register sale (SOLD) or a
//                                            write-off (WASTE) made in Square: the history
//                                            records it and inventory.count.updated is sent
//                                            (answers with the webhook's HTTP status)
#include <httplib.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crypto.h"

namespace {

using Json = nlohmann::json;
using kura::connector::Base64;
using kura::connector::HmacSha256;

struct Options {
  std::string platform = "shopify";
  int port = 0;
  std::string token = "sim-token";
  std::string location = "71234567890";
  std::string webhook_url;
  std::string webhook_secret;
  std::string state_file;  // where the quantities are kept across restarts, as a platform does
  bool inventory_webhooks = false;
  bool require_activation = false;  // shopify: an item without a level must be activated first
  double bucket_points = 100, restore_per_second = 50;  // shopify's cost bucket
};

class Simulator {
 public:
  explicit Simulator(Options o)
      : o_(std::move(o)), points_(o_.bucket_points), bucket_at_(absl::Now()) {}

  // Reads the quantities --state-file kept; false when it exists but cannot be read.
  bool Load() {
    if (o_.state_file.empty()) return true;
    std::ifstream in(o_.state_file);
    if (!in) return true;  // the first start
    Json state = Json::parse(in, nullptr, false);
    if (state.is_discarded() || !state.contains("stock") || !state["stock"].is_object()) {
      return false;
    }
    for (const auto& [item, quantity] : state["stock"].items()) {
      if (!quantity.is_number_integer()) return false;
      stock_[item] = quantity.get<int64_t>();
    }
    return true;
  }

  void Install(httplib::Server& http) {
    http.Post(R"(/admin/api/[0-9a-z-]+/graphql\.json)",
              [this](const auto& req, auto& res) { Api(req, res, &Simulator::Shopify); });
    http.Post("/wp-json/wc/v3/products/batch",
              [this](const auto& req, auto& res) { Api(req, res, &Simulator::WooBatch); });
    http.Put(R"(/wp-json/wc/v3/products/(\d+)/variations/(\d+))",
             [this](const auto& req, auto& res) { Api(req, res, &Simulator::WooVariation); });
    http.Get(R"(/wp-json/wc/v3/products/(\d+)(?:/variations/(\d+))?)",
             [this](const auto& req, auto& res) { Api(req, res, &Simulator::WooRead); });
    http.Post("/v2/inventory/changes/batch-create",
              [this](const auto& req, auto& res) { Api(req, res, &Simulator::SquareChange); });
    http.Post("/v2/inventory/counts/batch-retrieve",
              [this](const auto& req, auto& res) { Api(req, res, &Simulator::SquareRead); });
    http.Post("/v2/inventory/changes/batch-retrieve",
              [this](const auto& req, auto& res) { Api(req, res, &Simulator::SquareHistory); });
    http.Put(R"(/wp-json/wc/v3/orders/(\d+))",
             [this](const auto& req, auto& res) { Api(req, res, &Simulator::WooOrder); });
    http.Get("/sim/cancelled", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mu_);
      res.set_content(Json({{"orders", cancelled_}}).dump(), "application/json");
    });
    http.Get(R"(/wp-json/wc/v3/orders/(\d+)/refunds/(\d+))",
             [this](const auto& req, auto& res) { Api(req, res, &Simulator::WooRefund); });
    http.Post("/sim/refund", [this](const httplib::Request& req, httplib::Response& res) {
      Json body = Json::parse(req.body, nullptr, false);
      std::lock_guard lock(mu_);
      refunds_[{body.value("order_id", ""), body.value("refund_id", "")}] = body;
      res.set_content("{}", "application/json");
    });
    http.Post("/sim/adjust", [this](const httplib::Request& req, httplib::Response& res) {
      res.status = Adjust(Json::parse(req.body, nullptr, false));
    });
    http.Post("/sim/stock", [this](const httplib::Request& req, httplib::Response& res) {
      Json body = Json::parse(req.body, nullptr, false);
      std::lock_guard lock(mu_);
      const std::string item = body.value("item_id", "");
      Set(item, body.value("quantity", int64_t{0}));
      counted_at_[item] = absl::Now();  // a count made on the platform now
      res.set_content("{}", "application/json");
    });
    http.Get(R"(/sim/stock/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      auto it = stock_.find(req.matches[1]);
      if (it == stock_.end()) {
        res.status = 404;
        return;
      }
      res.set_content(Json({{"quantity", it->second}}).dump(), "application/json");
    });
    http.Get("/sim/wait", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string item = req.get_param_value("item_id");
      const bool has_not = req.has_param("not");
      int64_t not_quantity = 0, timeout_ms = 5000;
      if (item.empty() ||
          (has_not && !absl::SimpleAtoi(req.get_param_value("not"), &not_quantity)) ||
          (req.has_param("timeout_ms") &&
           !absl::SimpleAtoi(req.get_param_value("timeout_ms"), &timeout_ms))) {
        res.status = 400;
        return;
      }
      int64_t since_us = 0;
      const bool has_since = req.has_param("since_us");
      if (has_since && !absl::SimpleAtoi(req.get_param_value("since_us"), &since_us)) {
        res.status = 400;
        return;
      }
      std::unique_lock lock(mu_);
      if (!changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
            auto it = stock_.find(item);
            if (it == stock_.end()) return false;
            if (has_since) return absl::ToUnixMicros(changed_at_[item]) > since_us;
            return !has_not || it->second != not_quantity;
          })) {
        res.status = 408;
        return;
      }
      Json out = {{"quantity", stock_[item]},
                  {"changed_at_us", absl::ToUnixMicros(changed_at_[item])}};
      if (has_since) {  // every change after since_us, oldest first: [quantity, changed_at_us]
        Json changes = Json::array();
        for (const auto& [quantity, at] : set_history_[item]) {
          if (absl::ToUnixMicros(at) > since_us) {
            changes.push_back(Json::array({quantity, absl::ToUnixMicros(at)}));
          }
        }
        out["changes"] = std::move(changes);
      }
      res.set_content(out.dump(), "application/json");
    });
    http.Post("/sim/fail", [this](const httplib::Request& req, httplib::Response& res) {
      Json body = Json::parse(req.body, nullptr, false);
      std::lock_guard lock(mu_);
      fail_count_ = body.value("count", 0);
      fail_status_ = body.value("status", 503);
      res.set_content("{}", "application/json");
    });
    http.Post("/sim/throttle", [this](const httplib::Request& req, httplib::Response& res) {
      Json body = Json::parse(req.body, nullptr, false);
      std::lock_guard lock(mu_);
      throttle_count_ = body.value("count", 0);
      res.set_content("{}", "application/json");
    });
    http.Get("/sim/stats", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mu_);
      res.set_content(Json({{"api_calls", api_calls_},
                            {"applied", applied_},
                            {"items", stock_.size()},
                            {"stale", stale_},
                            {"refused", refused_},
                            {"refund_reads", refund_reads_},
                            {"activated", activated_}})
                          .dump(),
                      "application/json");
    });
    http.Post("/sim/send", [this](const httplib::Request& req, httplib::Response& res) {
      res.status = Send(req.get_param_value("topic"), req.body);
    });
  }

 private:
  using Handler = void (Simulator::*)(const httplib::Request&, httplib::Response&);

  // Every API call: authentication, then the injected failures and rate limits, then `handler`.
  void Api(const httplib::Request& req, httplib::Response& res, Handler handler) {
    std::lock_guard lock(mu_);
    ++api_calls_;
    if (!Authorized(req)) {
      ++refused_;
      res.status = 401;
      res.set_content(R"({"errors":"[API] Invalid API key or access token"})", "application/json");
      return;
    }
    if (fail_count_ > 0) {
      --fail_count_;
      res.status = fail_status_;
      res.set_content(R"({"errors":"injected failure"})", "application/json");
      return;
    }
    const bool forced = throttle_count_ > 0;
    if (forced) --throttle_count_;
    if (o_.platform == "shopify") {
      // Cost bucket: 10 points a call.
      const absl::Time now = absl::Now();
      points_ = std::min(o_.bucket_points,
                         points_ + o_.restore_per_second * absl::ToDoubleSeconds(now - bucket_at_));
      bucket_at_ = now;
      if (forced || points_ < 10) {
        res.set_content(Json({{"errors", Json::array({{{"message", "Throttled"},
                                                       {"extensions", {{"code", "THROTTLED"}}}}})},
                              {"extensions", Cost(10)}})
                            .dump(),
                        "application/json");
        return;
      }
      points_ -= 10;
    } else if (forced) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      res.set_content(R"({"errors":[{"category":"RATE_LIMIT_ERROR","code":"RATE_LIMITED"}]})",
                      "application/json");
      return;
    }
    (this->*handler)(req, res);
  }

  bool Authorized(const httplib::Request& req) const {
    if (o_.platform == "shopify") return req.get_header_value("X-Shopify-Access-Token") == o_.token;
    if (o_.platform == "square") {
      return req.get_header_value("Authorization") == absl::StrCat("Bearer ", o_.token);
    }
    return req.get_header_value("Authorization") == absl::StrCat("Basic ", Base64(o_.token));
  }

  Json Cost(int requested) const {
    return {{"cost",
             {{"requestedQueryCost", requested},
              {"actualQueryCost", nullptr},
              {"throttleStatus",
               {{"maximumAvailable", static_cast<int>(o_.bucket_points)},
                {"currentlyAvailable", static_cast<int>(points_)},
                {"restoreRate", static_cast<int>(o_.restore_per_second)}}}}}};
  }

  static std::string Strip(const std::string& gid, const std::string& prefix) {
    return absl::StartsWith(gid, prefix) ? gid.substr(prefix.size()) : "";
  }

  void Shopify(const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.contains("query")) {
      res.status = 400;
      return;
    }
    const std::string query = body["query"].get<std::string>();
    const Json& variables = body.value("variables", Json::object());
    if (absl::StrContains(query, "inventorySetQuantities")) {
      const Json& input = variables.value("input", Json::object());
      Json errors = Json::array();
      std::vector<std::pair<std::string, int64_t>> sets;
      const Json& quantities = input.value("quantities", Json::array());
      for (size_t i = 0; i < quantities.size(); ++i) {
        const Json& q = quantities[i];
        const std::string field = std::to_string(i);
        const std::string item =
            Strip(q.value("inventoryItemId", ""), "gid://shopify/InventoryItem/");
        if (input.value("name", "") != "available" ||
            Strip(q.value("locationId", ""), "gid://shopify/Location/") != o_.location ||
            item.empty() || !q.contains("quantity")) {
          errors.push_back({{"field", {"input", "quantities", field}},
                            {"message", "invalid inventory item, location or name"},
                            {"code", "INVALID"}});
          continue;
        }
        if (!q.contains("changeFromQuantity")) {
          errors.push_back({{"field", {"input", "quantities", field, "changeFromQuantity"}},
                            {"message", "changeFromQuantity is required"},
                            {"code", "INVALID"}});
          continue;
        }
        auto it = stock_.find(item);
        if (it == stock_.end() && o_.require_activation) {
          errors.push_back({{"field", {"input", "quantities", field}},
                            {"message", "The item is not stocked at the location"},
                            {"code", "ITEM_NOT_STOCKED_AT_LOCATION"}});
          continue;
        }
        const int64_t current = it == stock_.end() ? 0 : it->second;
        if (!q["changeFromQuantity"].is_null() &&
            q["changeFromQuantity"].get<int64_t>() != current) {
          ++stale_;
          errors.push_back({{"field", {"input", "quantities", field, "changeFromQuantity"}},
                            {"message", "The specified compare quantity does not match"},
                            {"code", "CHANGE_FROM_QUANTITY_STALE"}});
          continue;
        }
        sets.push_back({item, q["quantity"].get<int64_t>()});
      }
      Json payload = {{"userErrors", errors}, {"inventoryAdjustmentGroup", nullptr}};
      if (errors.empty()) {  // all or nothing
        for (const auto& [item, quantity] : sets) Set(item, quantity);
        ++applied_;
        payload["inventoryAdjustmentGroup"] = {
            {"id", absl::StrCat("gid://shopify/InventoryAdjustmentGroup/", api_calls_)}};
      }
      res.set_content(
          Json({{"data", {{"inventorySetQuantities", payload}}}, {"extensions", Cost(10)}}).dump(),
          "application/json");
      return;
    }
    if (absl::StrContains(query, "inventoryActivate(")) {
      const std::string item =
          Strip(variables.value("inventoryItemId", ""), "gid://shopify/InventoryItem/");
      Json errors = Json::array();
      if (item.empty() ||
          Strip(variables.value("locationId", ""), "gid://shopify/Location/") != o_.location) {
        errors.push_back({{"field", {"locationId"}}, {"message", "Location not found"}});
      } else {
        ++activated_;
        if (!stock_.contains(item)) Set(item, variables.value("available", int64_t{0}));
      }
      Json payload = {{"userErrors", errors}, {"inventoryLevel", nullptr}};
      if (errors.empty()) {
        payload["inventoryLevel"] = {{"id", absl::StrCat("gid://shopify/InventoryLevel/", item)}};
      }
      res.set_content(
          Json({{"data", {{"inventoryActivate", payload}}}, {"extensions", Cost(10)}}).dump(),
          "application/json");
      return;
    }
    if (absl::StrContains(query, "orderCancel(")) {
      const std::string order = Strip(variables.value("orderId", ""), "gid://shopify/Order/");
      Json errors = Json::array();
      if (order.empty()) {
        errors.push_back(
            {{"field", {"orderId"}}, {"message", "Order does not exist"}, {"code", "NOT_FOUND"}});
      } else if (cancelled_.contains(order)) {
        errors.push_back({{"field", {"orderId"}},
                          {"message", "Order has already been cancelled"},
                          {"code", "ORDER_ALREADY_CANCELLED"}});
      } else {
        cancelled_[order] = {{"query", query}, {"staffNote", variables.value("staffNote", "")}};
        if (!o_.webhook_url.empty()) {  // Shopify tells its subscribers, as for any cancel
          int64_t id = 0;
          const Json order_id = absl::SimpleAtoi(order, &id) ? Json(id) : Json(order);
          const std::string webhook =
              Json({{"id", order_id},
                    {"cancelled_at",
                     absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone())},
                    {"cancel_reason", "inventory"},
                    {"financial_status", "refunded"},
                    {"updated_at",
                     absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone())},
                    {"line_items", Json::array()}})
                  .dump();
          std::thread([this, webhook] { Send("orders/cancelled", webhook); }).detach();
        }
      }
      Json payload = {{"orderCancelUserErrors", errors}, {"job", nullptr}};
      if (errors.empty()) {
        payload["job"] = {{"id", absl::StrCat("gid://shopify/Job/", api_calls_)}, {"done", false}};
      }
      res.set_content(Json({{"data", {{"orderCancel", payload}}}, {"extensions", Cost(10)}}).dump(),
                      "application/json");
      return;
    }
    if (absl::StrContains(query, "nodes(")) {
      Json nodes = Json::array();
      for (const auto& id : variables.value("ids", Json::array())) {
        const std::string item = Strip(id.get<std::string>(), "gid://shopify/InventoryItem/");
        auto it = stock_.find(item);
        if (it == stock_.end()) {
          nodes.push_back(nullptr);
          continue;
        }
        nodes.push_back(
            {{"id", id},
             {"inventoryLevel",
              {{"quantities", Json::array({{{"name", "available"}, {"quantity", it->second}}})}}}});
      }
      res.set_content(Json({{"data", {{"nodes", nodes}}}, {"extensions", Cost(10)}}).dump(),
                      "application/json");
      return;
    }
    res.status = 400;
  }

  void WooBatch(const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.contains("update")) {
      res.status = 400;
      return;
    }
    Json out = Json::array();
    for (const auto& u : body["update"]) {
      const std::string id = std::to_string(u.value("id", int64_t{0}));
      Set(id, u.value("stock_quantity", int64_t{0}));
      out.push_back({{"id", u.value("id", int64_t{0})},
                     {"manage_stock", true},
                     {"stock_quantity", stock_[id]}});
    }
    ++applied_;
    res.set_content(Json({{"update", out}}).dump(), "application/json");
  }

  void WooVariation(const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body, nullptr, false);
    const std::string id =
        absl::StrCat(std::string(req.matches[1]), "/", std::string(req.matches[2]));
    Set(id, body.value("stock_quantity", int64_t{0}));
    ++applied_;
    res.set_content(
        Json({{"id", std::stoll(req.matches[2])}, {"stock_quantity", stock_[id]}}).dump(),
        "application/json");
  }

  void WooOrder(const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body, nullptr, false);
    const std::string id = req.matches[1];
    if (body.is_discarded() || !body.is_object()) {
      res.status = 400;
      res.set_content(R"({"code":"rest_invalid_json","message":"Invalid JSON body passed."})",
                      "application/json");
      return;
    }
    if (body.value("status", "") == "cancelled") cancelled_[id] = body;
    res.set_content(
        Json({{"id", std::stoll(id)}, {"status", body.value("status", "processing")}}).dump(),
        "application/json");
  }

  void WooRead(const httplib::Request& req, httplib::Response& res) {
    std::string id = req.matches[1];
    if (req.matches.size() > 2 && req.matches[2].length() > 0) {
      id = absl::StrCat(id, "/", std::string(req.matches[2]));
    }
    auto it = stock_.find(id);
    if (it == stock_.end()) {
      res.status = 404;
      return;
    }
    res.set_content(Json({{"manage_stock", true}, {"stock_quantity", it->second}}).dump(),
                    "application/json");
  }

  void SquareChange(const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || body.value("idempotency_key", "").empty()) {
      res.status = 400;
      res.set_content(
          R"({"errors":[{"category":"INVALID_REQUEST_ERROR","code":"MISSING_REQUIRED_PARAMETER","field":"idempotency_key"}]})",
          "application/json");
      return;
    }
    const std::string key = body["idempotency_key"];
    if (auto seen = answers_.find(key); seen != answers_.end()) {
      res.set_content(seen->second, "application/json");  // the original result
      return;
    }
    Json counts = Json::array();
    for (const auto& change : body.value("changes", Json::array())) {
      if (change.value("type", "") != "PHYSICAL_COUNT") continue;
      const Json& c = change["physical_count"];
      if (c.value("location_id", "") != o_.location) {
        res.status = 400;
        return;
      }
      const std::string item = c.value("catalog_object_id", "");
      absl::Time at;
      std::string error;
      if (!absl::ParseTime(absl::RFC3339_full, c.value("occurred_at", ""), &at, &error)) {
        res.status = 400;
        return;
      }
      int64_t quantity = 0;
      absl::SimpleAtoi(c.value("quantity", "0"), &quantity);
      if (!counted_at_.count(item) || counted_at_[item] <= at) {  // an older count is history
        Set(item, quantity);
        counted_at_[item] = at;
        ++applied_;
      }
      Json recorded = c;
      recorded["id"] = absl::StrCat("PC", history_.size() + 1);
      recorded["created_at"] =
          absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone());
      history_.push_back({"PHYSICAL_COUNT", recorded, absl::Now()});
      counts.push_back({{"catalog_object_id", item},
                        {"location_id", o_.location},
                        {"state", "IN_STOCK"},
                        {"quantity", std::to_string(stock_[item])}});
    }
    answers_[key] = Json({{"counts", counts}}).dump();
    res.set_content(answers_[key], "application/json");
  }

  void SquareRead(const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body, nullptr, false);
    Json counts = Json::array();
    for (const auto& id : body.value("catalog_object_ids", Json::array())) {
      auto it = stock_.find(id.get<std::string>());
      if (it == stock_.end()) continue;
      counts.push_back({{"catalog_object_id", it->first},
                        {"location_id", o_.location},
                        {"state", "IN_STOCK"},
                        {"quantity", std::to_string(it->second)}});
    }
    res.set_content(Json({{"counts", counts}}).dump(), "application/json");
  }

  void WooRefund(const httplib::Request& req, httplib::Response& res) {
    ++refund_reads_;
    auto it = refunds_.find({req.matches[1], req.matches[2]});
    if (it == refunds_.end()) {
      res.status = 404;
      res.set_content(R"({"code":"woocommerce_rest_invalid_id","message":"Invalid ID."})",
                      "application/json");
      return;
    }
    const Json& r = it->second;
    Json lines = Json::array();
    for (const auto& line : r.value("line_items", Json::array())) {
      lines.push_back({{"product_id", line.value("product_id", int64_t{0})},
                       {"variation_id", line.value("variation_id", int64_t{0})},
                       {"quantity", -std::abs(line.value("quantity", int64_t{0}))}});
    }
    Json out = {
        {"id", std::stoll(r.value("refund_id", "0"))}, {"reason", ""}, {"line_items", lines}};
    if (r.contains("api_restock")) out["api_restock"] = r["api_restock"];
    res.set_content(out.dump(), "application/json");
  }

  // BatchRetrieveInventoryChanges: the history filtered by item, location, type and
  // created_at > updated_after, oldest first, `limit` a page (cursor = the next index).
  void SquareHistory(const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded()) {
      res.status = 400;
      return;
    }
    auto listed = [&](const char* field, const std::string& value) {
      if (!body.contains(field)) return true;
      for (const auto& v : body[field]) {
        if (v == value) return true;
      }
      return false;
    };
    absl::Time after = absl::UnixEpoch();
    std::string error;
    if (body.contains("updated_after") &&
        !absl::ParseTime(absl::RFC3339_full, body["updated_after"].get<std::string>(), &after,
                         &error)) {
      res.status = 400;
      return;
    }
    const size_t limit = std::clamp<int64_t>(body.value("limit", 100), 1, 1000);
    size_t start = 0;
    if (body.contains("cursor")) start = std::stoul(body["cursor"].get<std::string>());
    Json changes = Json::array();
    size_t i = start;
    for (; i < history_.size() && changes.size() < limit; ++i) {
      const auto& [type, change, created] = history_[i];
      if (created <= after || !listed("types", type) ||
          !listed("catalog_object_ids", change.value("catalog_object_id", "")) ||
          !listed("location_ids", change.value("location_id", ""))) {
        continue;
      }
      changes.push_back(
          {{"type", type}, {type == "ADJUSTMENT" ? "adjustment" : "physical_count", change}});
    }
    Json out = {{"changes", changes}};
    if (i < history_.size()) out["cursor"] = std::to_string(i);
    res.set_content(out.dump(), "application/json");
  }

  // A change made in Square itself, recorded in the history and announced with
  // inventory.count.updated: the IN_STOCK total, and for a write-off also the WASTE total.
  // The platform's own webhook for a changed quantity (--inventory-webhooks), sent after the
  // change from its own thread (mu_ is held here, and the receiver may call the API back):
  // Shopify inventory_levels/update, WooCommerce product.updated, Square
  // inventory.count.updated.
  void Notify(const std::string& item, int64_t quantity) {
    auto id = [](const std::string& text) -> Json {  // ids are 64-bit numbers in JSON
      int64_t n = 0;
      return absl::SimpleAtoi(text, &n) ? Json(n) : Json(text);
    };
    const absl::Time now = absl::Now();
    const std::string at = absl::FormatTime(absl::RFC3339_full, now, absl::UTCTimeZone());
    std::string topic, body;
    if (o_.platform == "shopify") {
      topic = "inventory_levels/update";
      body = Json({{"inventory_item_id", id(item)},
                   {"location_id", id(o_.location)},
                   {"available", quantity},
                   {"updated_at", at}})
                 .dump();
    } else if (o_.platform == "woocommerce") {  // item "product" or "product/variation"
      std::pair<std::string, std::string> ids = absl::StrSplit(item, absl::MaxSplits('/', 1));
      const bool variation = !ids.second.empty();
      topic = "product.updated";
      body = Json({{"id", id(variation ? ids.second : ids.first)},
                   {"parent_id", variation ? id(ids.first) : Json(0)},
                   {"type", variation ? "variation" : "simple"},
                   {"manage_stock", true},
                   {"stock_quantity", quantity},
                   {"date_modified_gmt",
                    absl::FormatTime("%Y-%m-%dT%H:%M:%E6S", now, absl::UTCTimeZone())}})
                 .dump();
    } else {
      static std::atomic<int> sequence = 0;
      const int n = ++sequence;
      body = Json({{"merchant_id", "SIMMERCHANT"},
                   {"type", "inventory.count.updated"},
                   {"event_id", absl::StrCat("sim-set-", n)},
                   {"created_at", at},
                   {"data",
                    {{"type", "inventory_counts"},
                     {"id", absl::StrCat("sim-set-", n)},
                     {"object",
                      {{"inventory_counts", Json::array({{{"calculated_at", at},
                                                          {"catalog_object_id", item},
                                                          {"catalog_object_type", "ITEM_VARIATION"},
                                                          {"location_id", o_.location},
                                                          {"quantity", std::to_string(quantity)},
                                                          {"state", "IN_STOCK"}}})}}}}}})
                 .dump();
    }
    std::thread([this, topic, body] { Send(topic, body); }).detach();
  }

  int Adjust(const Json& body) {
    std::string notification;
    {
      std::lock_guard lock(mu_);
      const std::string item = body.value("item_id", "");
      const std::string to = body.value("to_state", "SOLD");
      const int64_t quantity = body.value("quantity", int64_t{0});
      if (item.empty() || quantity <= 0 || (to != "SOLD" && to != "WASTE")) return 400;
      const absl::Time now = absl::Now();
      const std::string at = absl::FormatTime(absl::RFC3339_full, now, absl::UTCTimeZone());
      Set(item, stock_[item] - quantity, false);  // its own notification follows
      if (to == "WASTE") waste_[item] += quantity;
      history_.push_back({"ADJUSTMENT",
                          {{"id", absl::StrCat("ADJ", history_.size() + 1)},
                           {"from_state", "IN_STOCK"},
                           {"to_state", to},
                           {"location_id", o_.location},
                           {"catalog_object_id", item},
                           {"catalog_object_type", "ITEM_VARIATION"},
                           {"quantity", std::to_string(quantity)},
                           {"occurred_at", at},
                           {"created_at", at}},
                          now});
      auto count = [&](const std::string& state, int64_t n) {
        return Json({{"calculated_at", at},
                     {"catalog_object_id", item},
                     {"catalog_object_type", "ITEM_VARIATION"},
                     {"location_id", o_.location},
                     {"quantity", std::to_string(n)},
                     {"state", state}});
      };
      Json counts = Json::array({count("IN_STOCK", stock_[item])});
      if (to == "WASTE") counts.push_back(count("WASTE", waste_[item]));
      static std::atomic<int> sequence = 0;
      notification = Json({{"merchant_id", "SIMMERCHANT"},
                           {"type", "inventory.count.updated"},
                           {"event_id", absl::StrCat("sim-count-", ++sequence)},
                           {"created_at", at},
                           {"data",
                            {{"type", "inventory_counts"},
                             {"id", absl::StrCat("sim-", sequence.load())},
                             {"object", {{"inventory_counts", counts}}}}}})
                         .dump();
    }
    return Send("", notification);
  }

  // Signs `body` the way the platform does and posts it to the connector.
  int Send(const std::string& topic, const std::string& body) {
    if (o_.webhook_url.empty()) return 412;
    std::pair<std::string, std::string> split = absl::StrSplit(
        o_.webhook_url.substr(o_.webhook_url.find("://") + 3), absl::MaxSplits('/', 1));
    const std::string base = o_.webhook_url.substr(0, o_.webhook_url.find("://") + 3) + split.first;
    const std::string path = "/" + split.second;
    httplib::Headers headers;
    static std::atomic<int> sequence = 0;
    const std::string event_id =
        absl::StrCat("sim-", absl::ToUnixNanos(absl::Now()), "-", ++sequence);
    if (o_.platform == "shopify") {
      headers = {{"X-Shopify-Topic", topic},
                 {"X-Shopify-Hmac-Sha256", Base64(HmacSha256(o_.webhook_secret, body))},
                 {"X-Shopify-Event-Id", event_id},
                 {"X-Shopify-Triggered-At",
                  absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone())}};
    } else if (o_.platform == "woocommerce") {
      headers = {{"X-WC-Webhook-Topic", topic},
                 {"X-WC-Webhook-Signature", Base64(HmacSha256(o_.webhook_secret, body))}};
    } else {
      headers = {{"x-square-hmacsha256-signature",
                  Base64(HmacSha256(o_.webhook_secret, o_.webhook_url + body))}};
    }
    httplib::Client client(base);
    auto result = client.Post(path.c_str(), headers, body, "application/json");
    return result ? result->status : 502;
  }

  // Every write of a quantity goes through here (with mu_ held): /sim/wait watches them.
  // `notify`: false when the caller sends its own webhook for the change.
  void Set(const std::string& item, int64_t quantity, bool notify = true) {
    auto [it, added] = stock_.try_emplace(item, quantity);
    if (!added && it->second == quantity) return;  // rewritten unchanged: not a change
    it->second = quantity;
    changed_at_[item] = absl::Now();
    auto& history = set_history_[item];
    history.emplace_back(quantity, changed_at_[item]);
    if (history.size() > 10000) history.pop_front();
    changed_.notify_all();
    if (notify && o_.inventory_webhooks && !o_.webhook_url.empty()) Notify(item, quantity);
    if (!o_.state_file.empty()) {  // written whole and renamed over: never half a file
      const std::string tmp = o_.state_file + ".tmp";
      std::ofstream(tmp) << Json({{"stock", stock_}}).dump();
      std::rename(tmp.c_str(), o_.state_file.c_str());
    }
  }

  const Options o_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, int64_t> stock_;
  std::map<std::string, absl::Time> changed_at_;
  std::map<std::string, std::deque<std::pair<int64_t, absl::Time>>> set_history_;  // last 10,000
  std::map<std::string, absl::Time> counted_at_;
  std::map<std::string, std::string> answers_;
  std::map<std::pair<std::string, std::string>, Json> refunds_;  // (order, refund)
  Json cancelled_ = Json::object();  // order id → the cancel's arguments
  struct Change {
    std::string type;  // ADJUSTMENT or PHYSICAL_COUNT
    Json change;
    absl::Time created;
  };
  std::vector<Change> history_;
  std::map<std::string, int64_t> waste_;
  double points_ = 0;  // filled to the bucket in the constructor
  absl::Time bucket_at_;
  int fail_count_ = 0, fail_status_ = 503, throttle_count_ = 0;
  int64_t api_calls_ = 0, applied_ = 0, stale_ = 0, refused_ = 0, refund_reads_ = 0, activated_ = 0;
};

httplib::Server* server = nullptr;

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      std::string prefix = absl::StrCat("--", name, "=");
      return absl::StartsWith(arg, prefix) ? argv[i] + prefix.size() : nullptr;
    };
    if (auto v = value("platform")) {
      o.platform = v;
    } else if (auto p = value("port")) {
      if (!absl::SimpleAtoi(p, &o.port)) o.port = -1;
    } else if (auto t = value("token")) {
      o.token = t;
    } else if (auto l = value("location")) {
      o.location = l;
    } else if (auto u = value("webhook-url")) {
      o.webhook_url = u;
    } else if (auto s = value("webhook-secret")) {
      o.webhook_secret = s;
    } else if (auto f = value("state-file")) {
      o.state_file = f;
    } else if (auto plan = value("shopify-plan")) {
      static const std::map<std::string, double> kRestore = {
          {"standard", 100}, {"advanced", 200}, {"plus", 1000}, {"enterprise", 2000}};
      auto it = kRestore.find(plan);
      if (it == kRestore.end()) {
        o.port = -1;
      } else {
        o.restore_per_second = it->second;
        o.bucket_points = 1000;
      }
    } else if (arg == "--inventory-webhooks") {
      o.inventory_webhooks = true;
    } else if (arg == "--require-activation") {
      o.require_activation = true;
    } else {
      o.port = -1;
    }
  }
  if (o.port <= 0 ||
      (o.platform != "shopify" && o.platform != "woocommerce" && o.platform != "square")) {
    std::fprintf(stderr,
                 "usage: kura-ec-sim --platform=shopify|woocommerce|square --port=N "
                 "[--token=T] [--location=L] [--webhook-url=U --webhook-secret=S] "
                 "[--inventory-webhooks] [--require-activation] [--state-file=F] "
                 "[--shopify-plan=standard|advanced|plus|enterprise]\n");
    return 2;
  }
  Simulator sim(o);
  if (!sim.Load()) {
    std::fprintf(stderr, "kura-ec-sim: %s is not a state file of kura-ec-sim\n",
                 o.state_file.c_str());
    return 2;
  }
  httplib::Server http;
  // Enough threads that long polls (/sim/wait, a watcher per item in the benches) never make the
  // API calls queue behind them (httplib's default is 8).
  http.new_task_queue = [] { return new httplib::ThreadPool(64); };
  sim.Install(http);
  server = &http;
  signal(SIGTERM, [](int) { server->stop(); });
  signal(SIGINT, [](int) { server->stop(); });
  if (!http.bind_to_port("127.0.0.1", o.port)) {
    std::fprintf(stderr, "kura-ec-sim: cannot listen on 127.0.0.1:%d\n", o.port);
    return 1;
  }
  std::printf("kura-ec-sim %s listening on 127.0.0.1:%d\n", o.platform.c_str(), o.port);
  std::fflush(stdout);
  http.listen_after_bind();
  return 0;
}
