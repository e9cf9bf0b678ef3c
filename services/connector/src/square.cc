// Square: x-square-hmacsha256-signature = base64(HMAC-SHA256(subscription signature key,
// notification URL as registered + raw body)); dedupe on the body's event_id.
// inventory.count.updated carries resulting totals per (variation, location, state), not what
// moved them: it is a cue to read the inventory history (BatchRetrieveInventoryChanges), where
// each ADJUSTMENT says what happened (IN_STOCK → SOLD: a register sale; IN_STOCK → WASTE: a
// write-off) under its own id. kura's pushes are PHYSICAL_COUNTs and never read as movements.
#include "absl/strings/escaping.h"
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

class Square final : public Connector {
 public:
  std::string platform() const override { return "square"; }

  bool Verify(const WebhookRequest& request,
              const std::vector<std::string>& secrets) const override {
    return VerifyHmacBase64(request.Header("x-square-hmacsha256-signature"), secrets,
                            request.url + request.body);
  }

  absl::StatusOr<DeliveryInfo> Identify(const WebhookRequest& request) const override {
    ASSIGN_OR_RETURN(Json body, ParseObject(request.body));
    DeliveryInfo info;
    info.event_id = Text(body, "event_id");
    info.topic = Text(body, "type");
    if (info.event_id.empty() || info.topic.empty()) {
      return InvalidArgument("event_id", "the notification has no event_id or type");
    }
    if (auto when = Timestamp(Text(body, "created_at"))) info.platform_time = *when;
    return info;
  }

  absl::StatusOr<std::vector<CanonicalEvent>> Parse(const WebhookRequest& request) const override {
    ASSIGN_OR_RETURN(Json body, ParseObject(request.body));
    std::vector<CanonicalEvent> events;
    if (Text(body, "type") != "inventory.count.updated") return events;
    auto data = body.find("data");
    const Json* counts = nullptr;
    if (data != body.end() && data->is_object()) {
      auto object = data->find("object");
      if (object != data->end() && object->is_object()) {
        auto found = object->find("inventory_counts");
        if (found != object->end() && found->is_array()) counts = &*found;
      }
    }
    if (counts == nullptr) {
      return InvalidArgument("data", "the notification has no data.object.inventory_counts");
    }
    CanonicalEvent report{Kind::kStockCount, "", "", {}};
    for (const auto& count : *counts) {
      auto quantity = count.is_object() ? Quantity(count, "quantity") : std::nullopt;
      if (!quantity) return InvalidArgument("inventory_counts", "a count has no quantity");
      if (Text(count, "state") != "IN_STOCK") continue;
      report.lines.push_back(
          {Text(count, "catalog_object_id"), "", Text(count, "location_id"), *quantity});
    }
    if (!report.lines.empty()) events.push_back(std::move(report));
    return events;
  }

  // BatchChangeInventory with a PHYSICAL_COUNT as of kura's commit time: Square orders changes
  // by that time, so a late older count never overwrites a newer one.
  std::vector<PushResult> Push(const ApiEndpoint& api,
                               const std::vector<StockUpdate>& updates) const override {
    Json changes = Json::array();
    std::string keys;
    for (const StockUpdate& update : updates) {
      Json count = {
          {"reference_id", absl::StrCat("kura-", update.idempotency_key)},
          {"catalog_object_id", update.item_id},
          {"location_id", api.location_id},
          {"state", "IN_STOCK"},
          {"quantity", std::to_string(update.quantity)},
          {"occurred_at", absl::FormatTime(absl::RFC3339_full, update.as_of, absl::UTCTimeZone())}};
      changes.push_back({{"type", "PHYSICAL_COUNT"}, {"physical_count", std::move(count)}});
      absl::StrAppend(&keys, update.idempotency_key, "|");
    }
    // The same batch retried carries the same key (a digest of its updates' keys).
    Json request = {{"idempotency_key", absl::BytesToHexString(HmacSha256("kura", keys))},
                    {"changes", std::move(changes)},
                    {"ignore_unchanged_counts", true}};
    HttpReply reply = HttpCall(api.base_url, "POST", "/v2/inventory/changes/batch-create",
                               Headers(api), request.dump());
    if (reply.status != 200) return std::vector<PushResult>(updates.size(), FailureOf(reply));
    std::vector<PushResult> results;
    for (const StockUpdate& update : updates) {
      results.push_back({.outcome = PushResult::Outcome::kApplied, .current = update.quantity});
    }
    return results;
  }

  absl::StatusOr<std::map<std::string, int64_t>> ReadStock(
      const ApiEndpoint& api, const std::vector<std::string>& item_ids) const override {
    Json request = {{"catalog_object_ids", item_ids},
                    {"location_ids", Json::array({api.location_id})},
                    {"states", Json::array({"IN_STOCK"})}};
    HttpReply reply = HttpCall(api.base_url, "POST", "/v2/inventory/counts/batch-retrieve",
                               Headers(api), request.dump());
    if (reply.status != 200) {
      return absl::UnavailableError(absl::StrCat("Square: ", FailureOf(reply).detail));
    }
    Json body = Json::parse(reply.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return absl::UnavailableError("Square: unexpected answer to the count read");
    }
    std::map<std::string, int64_t> out;
    if (body.contains("counts") && body["counts"].is_array()) {
      for (const auto& c : body["counts"]) {
        if (auto n = Quantity(c, "quantity")) out[Text(c, "catalog_object_id")] = *n;
      }
    }
    return out;
  }

  absl::StatusOr<std::vector<PlatformMovement>> ReadMovements(
      const ApiEndpoint& api, const std::vector<std::string>& item_ids,
      absl::Time after) const override {
    std::vector<PlatformMovement> out;
    Json request = {
        {"catalog_object_ids", item_ids},
        {"location_ids", Json::array({api.location_id})},
        {"types", Json::array({"ADJUSTMENT"})},
        {"updated_after", absl::FormatTime(absl::RFC3339_full, after, absl::UTCTimeZone())},
        {"limit", 1000}};
    for (int page = 0; page < 100; ++page) {
      HttpReply reply = HttpCall(api.base_url, "POST", "/v2/inventory/changes/batch-retrieve",
                                 Headers(api), request.dump());
      if (reply.status != 200) {
        return absl::UnavailableError(absl::StrCat("Square: ", FailureOf(reply).detail));
      }
      Json body = Json::parse(reply.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        return absl::UnavailableError("Square: unexpected answer to the history read");
      }
      for (const auto& change : body.value("changes", Json::array())) {
        if (!change.is_object() || Text(change, "type") != "ADJUSTMENT") continue;
        const Json& a = change.value("adjustment", Json::object());
        const std::string to = Text(a, "to_state");
        if (Text(a, "from_state") != "IN_STOCK" || (to != "SOLD" && to != "WASTE")) continue;
        auto quantity = Quantity(a, "quantity");
        auto at = Timestamp(Text(a, "created_at"));
        if (Text(a, "id").empty() || !quantity || !at) {
          return absl::UnavailableError("Square: an adjustment lacks id, quantity or created_at");
        }
        out.push_back(
            {to == "SOLD" ? PlatformMovement::Kind::kSale : PlatformMovement::Kind::kWriteOff,
             Text(a, "id"), Text(a, "catalog_object_id"), Text(a, "location_id"), *quantity, *at});
      }
      const std::string cursor = Text(body, "cursor");
      if (cursor.empty()) return out;
      request["cursor"] = cursor;
    }
    return absl::UnavailableError("Square: the history read did not end");
  }

  // BatchChangeInventory takes up to 100 changes a call.
  RateLimit Limits() const override { return {10, 10, 100}; }

 private:
  static std::map<std::string, std::string> Headers(const ApiEndpoint& api) {
    return {{"Authorization", absl::StrCat("Bearer ", api.credentials)},
            {"Square-Version", "2025-01-23"}};
  }
};

}  // namespace

const Connector& SquareConnector() {
  static const Square instance;
  return instance;
}

}  // namespace kura::connector
