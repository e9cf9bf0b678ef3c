#pragma once

// kura-pos-gateway as a real process in front of the reservation fixture's kura-reservation and
// kura-ledger processes: stores store-a and store-b with register settings, and a terminal token
// for each.
#include <signal.h>

#include "kura/pos/v1/pos.grpc.pb.h"
#include "reservation_fixture.h"

namespace kura::pos::testing {

using ledger::testing::Call;
using ledger::testing::NewId;
using reservation::testing::Fixture;
namespace lv1 = ::kura::ledger::v1;
namespace pv1 = ::kura::pos::v1;
using Gateway = pv1::PosGatewayService::Stub;
using Admin = pv1::PosAdminService::Stub;

struct PosFixture : Fixture {
  explicit PosFixture(const std::string& name) : Fixture(name) {
    StartGateway();
    gateway = pv1::PosGatewayService::NewStub(
        grpc::CreateChannel(gateway_process->grpc_address(), grpc::InsecureChannelCredentials()));
    admin = pv1::PosAdminService::NewStub(
        grpc::CreateChannel(admin_address(), grpc::InsecureChannelCredentials()));
    Configure("store-a", "渋谷店", false);
    Configure("store-b", "新宿店", true);
    token_a = Issue("a-01", "store-a");
    token_b = Issue("b-01", "store-b");
  }

  // The gateway process, on the same port every time (registers keep its address).
  void StartGateway() {
    gateway_process = std::make_unique<kura::testing::ServiceProcess>(
        absl::StrCat(KURA_SERVICES_DIR, "/kura-pos-gateway"), l.dsn(), dir,
        std::map<std::string, std::string>{
            {"KURA_LEDGER_ADDR", l.address()},
            {"KURA_RESERVATION_ADDR", reservation->grpc_address()},
            {"KURA_GRPC_LISTEN", absl::StrCat("127.0.0.1:", gateway_port)},
            {"KURA_ADMIN_LISTEN", admin_address()}});
  }
  std::string admin_address() const { return absl::StrCat("127.0.0.1:", admin_port); }
  void StopGateway() {
    gateway_process->process().Signal(SIGTERM);
    REQUIRE(gateway_process->process().Wait(absl::Seconds(10)).has_value());
  }

  void Configure(const std::string& store, const std::string& name, bool returns_without_receipt,
                 const std::string& layout = "20-24:price:4,25-29:weight:5:3") {
    pv1::SetStoreSettingsRequest r;
    auto* s = r.mutable_settings();
    s->set_location(store);
    s->set_name(name);
    s->set_address("東京都渋谷区道玄坂1-2-3");
    s->set_phone("03-1234-5678");
    s->set_invoice_number("T1234567890123");
    s->set_in_store_layout(layout);
    s->set_returns_without_receipt(returns_without_receipt);
    auto result = Call(*admin, &Admin::SetStoreSettings, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
  }

  std::string Issue(const std::string& terminal, const std::string& store) {
    pv1::IssueTerminalRequest r;
    r.mutable_terminal()->set_terminal_id(terminal);
    r.mutable_terminal()->set_location(store);
    r.mutable_terminal()->set_name("レジ " + terminal);
    auto result = Call(*admin, &Admin::IssueTerminal, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
    return result->token();
  }

  // A register call with `token`.
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> As(const std::string& token,
                          grpc::Status (Gateway::*method)(grpc::ClientContext*, const Req&, Resp*),
                          const Req& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    Resp response;
    grpc::Status status = ((*gateway).*method)(&context, request, &response);
    if (!status.ok()) return rpc::FromGrpcStatus(status);
    return response;
  }

  // An item with a price, tax class and barcodes.
  void Item(const std::string& sku, int64_t price, lv1::TaxClass tax,
            std::vector<std::string> barcodes = {}) {
    lv1::CreateItemRequest r;
    r.set_request_id(NewId());
    r.mutable_item()->set_sku(sku);
    r.mutable_item()->set_name(sku);
    r.mutable_item()->set_price_yen(price);
    r.mutable_item()->set_tax_class(tax);
    for (auto& b : barcodes) r.mutable_item()->add_barcodes(b);
    auto result = Call(*l.catalog, &lv1::CatalogService::Stub::CreateItem, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
  }

  static pv1::SaleRequest SaleOf(const std::string& id,
                                 std::vector<std::tuple<std::string, int64_t, int64_t>> lines,
                                 int64_t cash, const std::string& store = "store-a") {
    pv1::SaleRequest r;
    r.set_transaction_id(id);
    r.set_store(store);
    r.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    for (auto& [sku, quantity, price] : lines) {
      auto* line = r.add_lines();
      line->set_sku(sku);
      line->set_quantity(quantity);
      line->set_unit_price_yen(price);
    }
    auto* tender = r.add_tenders();
    tender->set_kind(pv1::TENDER_KIND_CASH);
    tender->set_amount_yen(cash);
    return r;
  }

  int gateway_port = kura::testing::FreePort();
  int admin_port = kura::testing::FreePort();
  std::unique_ptr<kura::testing::ServiceProcess> gateway_process;
  std::unique_ptr<Gateway> gateway;
  std::unique_ptr<Admin> admin;
  std::string token_a, token_b;
};

}  // namespace kura::pos::testing
