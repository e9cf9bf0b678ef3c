#pragma once

// kura-reservation as a real process in front of a real kura-ledger process on a real
// PostgreSQL, with the stubs and seeding helpers the reservation suites share.
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "kura/base/error.h"
#include "kura/reservation/v1/allocation.grpc.pb.h"
#include "kura/reservation/v1/limits.grpc.pb.h"
#include "kura/reservation/v1/orders.grpc.pb.h"
#include "kura/reservation/v1/pickup.grpc.pb.h"
#include "kura/reservation/v1/preorders.grpc.pb.h"
#include "kura/reservation/v1/substitutes.grpc.pb.h"
#include "ledger_fixture.h"

namespace kura::reservation::testing {

using ledger::testing::Call;
using ledger::testing::LedgerFixture;
using ledger::testing::NewId;
namespace rv1 = ::kura::reservation::v1;
using Stub = rv1::OrderService::Stub;

// A ledger with stores "store-a" and "store-b" and warehouse "wh" serving channel "ec" in the
// order wh, store-a, store-b; a channel "flash" (1 s TTL) served by store-a; and a
// kura-reservation process in front of it.
struct Fixture {
  explicit Fixture(const std::string& name, std::map<std::string, std::string> env = {})
      : l(name), dir(kura::testing::MakeTempDir(name + "_rsv")) {
    CreateStore("store-a", 35.6580, 139.7016);  // Shibuya
    CreateStore("store-b", 35.6896, 139.7006);  // Shinjuku
    l.CreateLocation("wh", ledger::v1::LOCATION_KIND_WAREHOUSE);
    l.CreateChannel("ec", {"wh", "store-a", "store-b"});
    l.CreateChannel("flash", {"store-a"});
    reservation = std::make_unique<kura::testing::ServiceProcess>(
        absl::StrCat(KURA_SERVICES_DIR, "/kura-reservation"), l.dsn(), dir,
        Env(std::move(env), {{"KURA_LEDGER_ADDR", l.address()},
                             {"KURA_ORDER_TTL_BY_CHANNEL", "flash=1s"},
                             {"KURA_ORDER_SWEEP_INTERVAL", "100ms"}}));
    auto channel =
        grpc::CreateChannel(reservation->grpc_address(), grpc::InsecureChannelCredentials());
    orders = rv1::OrderService::NewStub(channel);
    limited = rv1::LimitedItemService::NewStub(channel);
    substitutes = rv1::SubstituteService::NewStub(channel);
    preorders = rv1::PreorderService::NewStub(channel);
    allocation = rv1::AllocationService::NewStub(channel);
    pickup = rv1::PickupService::NewStub(channel);
  }

  static std::map<std::string, std::string> Env(std::map<std::string, std::string> given,
                                                std::map<std::string, std::string> defaults) {
    given.merge(defaults);  // the given ones win
    return given;
  }

  // A store that takes pickups, at the given coordinates.
  void CreateStore(const std::string& code, double latitude, double longitude) {
    ledger::v1::CreateLocationRequest r;
    r.set_request_id(NewId());
    auto* location = r.mutable_location();
    location->set_code(code);
    location->set_name(code);
    location->set_kind(ledger::v1::LOCATION_KIND_STORE);
    location->set_time_zone("Asia/Tokyo");
    location->set_pickup_enabled(true);
    location->mutable_coordinates()->set_latitude(latitude);
    location->mutable_coordinates()->set_longitude(longitude);
    auto result = Call(*l.catalog, &ledger::v1::CatalogService::Stub::CreateLocation, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
  }

  // An item of a product group with variant attributes.
  void CreateVariant(const std::string& sku, const std::string& group,
                     std::map<std::string, std::string> attributes) {
    ledger::v1::CreateItemRequest r;
    r.set_request_id(NewId());
    r.mutable_item()->set_sku(sku);
    r.mutable_item()->set_name(sku);
    r.mutable_item()->set_product_group(group);
    r.mutable_item()->set_price_yen(2980);
    r.mutable_item()->set_tax_class(ledger::v1::TAX_CLASS_STANDARD);
    for (auto& [k, v] : attributes) (*r.mutable_item()->mutable_attributes())[k] = v;
    auto result = Call(*l.catalog, &ledger::v1::CatalogService::Stub::CreateItem, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
  }

  absl::StatusOr<rv1::SuggestAlternativesResponse> Suggest(const std::string& sku,
                                                           const std::string& channel,
                                                           const std::string& store,
                                                           int64_t quantity) {
    rv1::SuggestAlternativesRequest r;
    r.set_sku(sku);
    r.set_channel(channel);
    r.set_store(store);
    r.set_quantity(quantity);
    return Call(*substitutes, &rv1::SubstituteService::Stub::SuggestAlternatives, r);
  }

  // Makes `sku` a limited item on sale from now + `opens` to now + `closes`.
  absl::StatusOr<rv1::LimitedItem> Limit(
      const std::string& sku, absl::Duration opens, absl::Duration closes, int64_t cap,
      int64_t per_customer, std::vector<std::pair<absl::Duration, int64_t>> steps = {}) {
    rv1::SetLimitedItemRequest r;
    auto* item = r.mutable_item();
    item->set_sku(sku);
    item->mutable_window_start()->set_seconds(absl::ToUnixSeconds(absl::Now() + opens));
    item->mutable_window_end()->set_seconds(absl::ToUnixSeconds(absl::Now() + closes));
    item->set_total_cap(cap);
    item->set_per_customer_limit(per_customer);
    for (auto& [at, price] : steps) {
      auto* step = item->add_markdowns();
      step->mutable_starts_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + at));
      step->set_price_yen(price);
    }
    auto result = Call(*limited, &rv1::LimitedItemService::Stub::SetLimitedItem, r);
    if (!result.ok()) return result.status();
    return result->item();
  }

  absl::StatusOr<rv1::Order> Place(const std::string& channel, const std::string& id,
                                   std::vector<std::pair<std::string, int64_t>> lines,
                                   const std::string& pickup_store = "",
                                   const std::string& customer = "cust-1", bool preorder = false,
                                   bool record_unfulfillable = false) {
    rv1::PlaceOrderRequest r;
    r.set_record_unfulfillable(record_unfulfillable);
    r.set_channel(channel);
    r.set_external_order_id(id);
    r.set_customer(customer);
    r.set_pickup_store(pickup_store);
    r.set_preorder(preorder);
    for (auto& [sku, quantity] : lines) {
      auto* line = r.add_lines();
      line->set_sku(sku);
      line->set_quantity(quantity);
    }
    auto result = Call(*orders, &Stub::PlaceOrder, r);
    if (!result.ok()) return result.status();
    return result->order();
  }

  template <typename Req, typename Resp>
  absl::StatusOr<rv1::Order> Act(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&,
                                                              Resp*),
                                 const std::string& channel, const std::string& id) {
    Req r;
    r.set_channel(channel);
    r.set_external_order_id(id);
    auto result = Call(*orders, method, r);
    if (!result.ok()) return result.status();
    return result->order();
  }
  absl::StatusOr<rv1::Order> Confirm(const std::string& c, const std::string& id) {
    return Act(&Stub::ConfirmOrder, c, id);
  }
  absl::StatusOr<rv1::Order> Cancel(const std::string& c, const std::string& id) {
    return Act(&Stub::CancelOrder, c, id);
  }
  absl::StatusOr<rv1::Order> Get(const std::string& c, const std::string& id) {
    return Act(&Stub::GetOrder, c, id);
  }
  absl::StatusOr<rv1::Order> Fulfil(const std::string& c, const std::string& id,
                                    std::vector<std::pair<std::string, int64_t>> lines,
                                    const std::string& request_id = NewId("ful")) {
    rv1::FulfilOrderRequest r;
    r.set_request_id(request_id);
    r.set_channel(c);
    r.set_external_order_id(id);
    for (auto& [sku, quantity] : lines) {
      auto* line = r.add_lines();
      line->set_sku(sku);
      line->set_quantity(quantity);
    }
    auto result = Call(*orders, &Stub::FulfilOrder, r);
    if (!result.ok()) return result.status();
    return result->order();
  }

  // Runs kura-ctl against the reservation service (or `addr`): its exit code and output.
  std::pair<int, std::string> Ctl(std::vector<std::string> args, std::string addr = "") {
    args.insert(args.begin(), KURA_CTL);
    args.push_back("--addr=" + (addr.empty() ? reservation->grpc_address() : addr));
    kura::testing::Subprocess p(args, {}, absl::StrCat(dir, "/ctl-", ++ctl_runs, ".log"));
    std::optional<int> code = p.Wait(absl::Seconds(30));
    REQUIRE(code.has_value());
    return {*code, p.Output()};
  }

  LedgerFixture l;
  std::string dir;
  int ctl_runs = 0;
  std::unique_ptr<kura::testing::ServiceProcess> reservation;
  std::unique_ptr<Stub> orders;
  std::unique_ptr<rv1::LimitedItemService::Stub> limited;
  std::unique_ptr<rv1::SubstituteService::Stub> substitutes;
  std::unique_ptr<rv1::PreorderService::Stub> preorders;
  std::unique_ptr<rv1::AllocationService::Stub> allocation;
  std::unique_ptr<rv1::PickupService::Stub> pickup;
};

// Runs `n` calls of `place` at once; returns how many ended how ("OK" or the error's reason).
inline std::map<std::string, int> PlaceAtOnce(
    int n, const std::function<absl::StatusOr<rv1::Order>(int)>& place) {
  std::mutex mu;
  std::map<std::string, int> outcomes;
  std::vector<std::thread> callers;
  for (int i = 0; i < n; ++i) {
    callers.emplace_back([&, i] {
      auto o = place(i);
      std::string outcome = o.ok() ? "OK" : ErrorReason(o.status());
      std::lock_guard lock(mu);
      ++outcomes[outcome.empty() ? o.status().ToString() : outcome];
    });
  }
  for (auto& t : callers) t.join();
  return outcomes;
}

inline int64_t Allocated(const rv1::Order& o, const std::string& location) {
  int64_t n = 0;
  for (const auto& a : o.allocations()) {
    if (a.location() == location) n += a.quantity();
  }
  return n;
}

}  // namespace kura::reservation::testing
