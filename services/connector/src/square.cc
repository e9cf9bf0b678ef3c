// Square: x-square-hmacsha256-signature = base64(HMAC-SHA256(subscription signature key,
// notification URL as registered + raw body)); dedupe on the body's event_id.
// inventory.count.updated carries resulting totals per (variation, location, state): they are
// stock reports, for reconciliation.
#include "connector.h"
#include "crypto.h"
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
};

}  // namespace

const Connector& SquareConnector() {
  static const Square instance;
  return instance;
}

}  // namespace kura::connector
