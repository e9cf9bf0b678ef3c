// The registered connectors: a new platform is one class (like shopify.cc) and one line here.
#include "absl/strings/ascii.h"
#include "connector.h"

namespace kura::connector {

const Connector& ShopifyConnector();
const Connector& WooCommerceConnector();
const Connector& SquareConnector();
const Connector& KuraJsonConnector();

namespace {

const std::vector<const Connector*>& All() {
  static const auto* all = new std::vector<const Connector*>{
      &ShopifyConnector(), &WooCommerceConnector(), &SquareConnector(), &KuraJsonConnector()};
  return *all;
}

}  // namespace

std::string WebhookRequest::Header(absl::string_view lower_case_name) const {
  auto it = headers.find(std::string(lower_case_name));
  return it == headers.end() ? "" : it->second;
}

const Connector* FindConnector(absl::string_view platform) {
  for (const Connector* c : All()) {
    if (c->platform() == platform) return c;
  }
  return nullptr;
}

std::vector<std::string> Platforms() {
  std::vector<std::string> out;
  for (const Connector* c : All()) out.push_back(c->platform());
  return out;
}

}  // namespace kura::connector
