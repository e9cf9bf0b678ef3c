// Square: x-square-hmacsha256-signature = base64(HMAC-SHA256(subscription signature key,
// notification URL as registered + raw body)); dedupe on the body's event_id.
// inventory.count.updated carries resulting totals per (variation, location, state): they are
// stock reports, for reconciliation.
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
    const std::string signature = request.Header("x-square-hmacsha256-signature");
    bool ok = false;
    for (const auto& secret : secrets) {
      ok |= !signature.empty() && VerifyHmacBase64(signature, secret, request.url + request.body);
    }
    return ok;
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
  PushResult Push(const ApiEndpoint& api, const StockUpdate& update) const override {
    Json count = {
        {"reference_id", absl::StrCat("kura-", update.idempotency_key)},
        {"catalog_object_id", update.item_id},
        {"location_id", api.location_id},
        {"state", "IN_STOCK"},
        {"quantity", std::to_string(update.quantity)},
        {"occurred_at", absl::FormatTime(absl::RFC3339_full, update.as_of, absl::UTCTimeZone())}};
    Json request = {
        {"idempotency_key", update.idempotency_key},
        {"changes", Json::array({{{"type", "PHYSICAL_COUNT"}, {"physical_count", count}}})},
        {"ignore_unchanged_counts", true}};
    HttpReply reply = HttpCall(api.base_url, "POST", "/v2/inventory/changes/batch-create",
                               Headers(api), request.dump());
    if (reply.status != 200) return FailureOf(reply);
    return {PushResult::Outcome::kApplied, update.quantity, absl::ZeroDuration(), ""};
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

  RateLimit Limits() const override { return {10}; }

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
