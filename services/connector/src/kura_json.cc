// kura's own signed JSON webhook, for integrators who do not write C++ (docs/connectors.md):
//   POST /webhooks/kura/{channel}
//   Kura-Signature: base64(HMAC-SHA256(channel secret, raw body))
//   {"event_id": "...", "type": "order.placed" | "order.paid" | "order.fulfilled" |
//    "order.cancelled" | "return" | "store_sale", "occurred_at": RFC 3339,
//    "order_id": "...", "customer": "...",
//    "lines": [{"sku": "...", "quantity": N, "location": "<kura location code>"}]}
#include <map>

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

const std::map<std::string, Kind>& Types() {
  static const auto* types =
      new std::map<std::string, Kind>{{"order.placed", Kind::kOrderPlaced},
                                      {"order.paid", Kind::kOrderPaid},
                                      {"order.fulfilled", Kind::kOrderFulfilled},
                                      {"order.cancelled", Kind::kOrderCancelled},
                                      {"return", Kind::kReturned},
                                      {"store_sale", Kind::kStoreSale}};
  return *types;
}

class KuraJson final : public Connector {
 public:
  std::string platform() const override { return "kura"; }

  bool Verify(const WebhookRequest& request,
              const std::vector<std::string>& secrets) const override {
    return VerifyHmacBase64(request.Header("kura-signature"), secrets, request.body);
  }

  absl::StatusOr<DeliveryInfo> Identify(const WebhookRequest& request) const override {
    ASSIGN_OR_RETURN(Json body, ParseObject(request.body));
    DeliveryInfo info;
    info.event_id = Text(body, "event_id");
    info.topic = Text(body, "type");
    info.order_id = Text(body, "order_id");
    if (info.event_id.empty()) return InvalidArgument("event_id", "event_id is required");
    if (!Types().count(info.topic)) {
      return InvalidArgument("type",
                             "type must be order.placed, order.paid, order.fulfilled, "
                             "order.cancelled, return or store_sale");
    }
    auto when = Timestamp(Text(body, "occurred_at"));
    if (!when) return InvalidArgument("occurred_at", "occurred_at must be an RFC 3339 time");
    info.platform_time = *when;
    return info;
  }

  absl::StatusOr<std::vector<CanonicalEvent>> Parse(const WebhookRequest& request) const override {
    ASSIGN_OR_RETURN(DeliveryInfo info, Identify(request));
    ASSIGN_OR_RETURN(Json body, ParseObject(request.body));
    CanonicalEvent event{Types().at(info.topic), info.order_id, Text(body, "customer"), {}};
    auto lines = body.find("lines");
    if (lines != body.end()) {
      if (!lines->is_array()) return InvalidArgument("lines", "lines must be an array");
      for (const auto& line : *lines) {
        auto quantity = line.is_object() ? Quantity(line, "quantity") : std::nullopt;
        if (!quantity || *quantity <= 0 || Text(line, "sku").empty()) {
          return InvalidArgument("lines", "each line needs a sku and a positive quantity");
        }
        event.lines.push_back({"", Text(line, "sku"), Text(line, "location"), *quantity});
      }
    }
    return std::vector<CanonicalEvent>{std::move(event)};
  }

  // Outbound: POST {api_url}/kura/v1/stock {"item_id", "quantity", "as_of", "idempotency_key"}
  // with Kura-Signature over the body (the credentials are the signing secret); GET
  // {api_url}/kura/v1/stock/{item_id} answers {"quantity": N}.
  std::vector<PushResult> Push(const ApiEndpoint& api,
                               const std::vector<StockUpdate>& updates) const override {
    std::vector<PushResult> results;
    for (const StockUpdate& update : updates) results.push_back(PushOne(api, update));
    return results;
  }

  static PushResult PushOne(const ApiEndpoint& api, const StockUpdate& update) {
    const std::string body =
        Json({{"item_id", update.item_id},
              {"quantity", update.quantity},
              {"as_of", absl::FormatTime(absl::RFC3339_full, update.as_of, absl::UTCTimeZone())},
              {"idempotency_key", update.idempotency_key}})
            .dump();
    HttpReply reply =
        HttpCall(api.base_url, "POST", "/kura/v1/stock",
                 {{"Kura-Signature", Base64(HmacSha256(api.credentials, body))}}, body);
    if (reply.status != 200) return FailureOf(reply);
    return {PushResult::Outcome::kApplied, update.quantity, absl::ZeroDuration(), ""};
  }

  absl::StatusOr<std::map<std::string, int64_t>> ReadStock(
      const ApiEndpoint& api, const std::vector<std::string>& item_ids) const override {
    std::map<std::string, int64_t> out;
    for (const auto& id : item_ids) {
      HttpReply reply = HttpCall(api.base_url, "GET", absl::StrCat("/kura/v1/stock/", id), {}, "");
      if (reply.status == 404) continue;
      if (reply.status != 200) {
        return absl::UnavailableError(absl::StrCat("stock read: ", FailureOf(reply).detail));
      }
      Json body = Json::parse(reply.body, nullptr, false);
      if (!body.is_discarded() && body.is_object()) {
        if (auto n = Quantity(body, "quantity")) out[id] = *n;
      }
    }
    return out;
  }

  RateLimit Limits() const override { return {20, 20}; }
};

}  // namespace

const Connector& KuraJsonConnector() {
  static const KuraJson instance;
  return instance;
}

}  // namespace kura::connector
