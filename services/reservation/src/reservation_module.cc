#include "reservation_module.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "allocation.h"
#include "kura/base/error.h"
#include "kura/base/status_macros.h"
#include "kura/log/log.h"
#include "kura/reservation/v1/allocation.grpc.pb.h"
#include "kura/reservation/v1/limits.grpc.pb.h"
#include "kura/reservation/v1/orders.grpc.pb.h"
#include "kura/reservation/v1/pickup.grpc.pb.h"
#include "kura/reservation/v1/preorders.grpc.pb.h"
#include "kura/reservation/v1/substitutes.grpc.pb.h"
#include "kura/rpc/serve.h"
#include "kura/server/periodic.h"
#include "limited_items.h"
#include "orders.h"
#include "pickup.h"
#include "preorders.h"
#include "substitutes.h"

namespace kura::reservation {
namespace {

struct ReservationMetrics {
  explicit ReservationMetrics(prometheus::Registry& registry)
      : orders(prometheus::BuildGauge()
                   .Name("kura_reservation_orders")
                   .Help("Orders by state (placing orders count as pending).")
                   .Register(registry)),
        expired(prometheus::BuildCounter()
                    .Name("kura_reservation_orders_expired_total")
                    .Help("Pending orders that expired before confirmation.")
                    .Register(registry)
                    .Add({})),
        rejections(prometheus::BuildCounter()
                       .Name("kura_reservation_order_rejections_total")
                       .Help("PlaceOrder calls refused, by reason.")
                       .Register(registry)),
        converted(prometheus::BuildCounter()
                      .Name("kura_reservation_preorders_converted_total")
                      .Help("Pre-orders moved onto received stock (now confirmed).")
                      .Register(registry)
                      .Add({})),
        allocation_writes(prometheus::BuildCounter()
                              .Name("kura_reservation_allocation_writes_total")
                              .Help("Channel caps and safety stock written to the ledger.")
                              .Register(registry)
                              .Add({})),
        allocation_failures(prometheus::BuildCounter()
                                .Name("kura_reservation_allocation_failures_total")
                                .Help("Applier passes with a write the ledger did not take.")
                                .Register(registry)
                                .Add({})) {}

  prometheus::Family<prometheus::Gauge>& orders;
  prometheus::Counter& expired;
  prometheus::Family<prometheus::Counter>& rejections;
  prometheus::Counter& converted;
  prometheus::Counter& allocation_writes;
  prometheus::Counter& allocation_failures;
};

class OrderGrpc final : public v1::OrderService::Service {
 public:
  OrderGrpc(Orders& orders, ReservationMetrics& metrics, std::string domain)
      : o_(orders), m_(metrics), d_(std::move(domain)) {}

  grpc::Status PlaceOrder(grpc::ServerContext* ctx, const v1::PlaceOrderRequest* req,
                          v1::PlaceOrderResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&]() -> absl::StatusOr<v1::PlaceOrderResponse> {
      auto order = o_.Place(*req, rpc::DeadlineOf(*ctx));
      if (!order.ok()) {
        std::string reason = ErrorReason(order.status());
        m_.rejections
            .Add({{"reason",
                   reason.empty() ? absl::StatusCodeToString(order.status().code()) : reason}})
            .Increment();
        return order.status();
      }
      return *std::move(order);
    });
  }

#define KURA_ORDER_RPC(Name, expr)                                                      \
  grpc::Status Name##Order(grpc::ServerContext* ctx, const v1::Name##OrderRequest* req, \
                           v1::Name##OrderResponse* resp) override {                    \
    return rpc::Serve(                                                                  \
        ctx, d_, resp, [&]() -> absl::StatusOr<v1::Name##OrderResponse> {               \
          auto deadline = rpc::DeadlineOf(*ctx);                                        \
          (void)deadline;                                                               \
          ASSIGN_OR_RETURN(v1::Order order, expr);                                      \
          v1::Name##OrderResponse out;                                                  \
          *out.mutable_order() = std::move(order);                                      \
          return out;                                                                   \
        });                                                                             \
  }
  KURA_ORDER_RPC(Confirm, o_.Confirm(req->channel(), req->external_order_id(), deadline))
  KURA_ORDER_RPC(Fulfil, o_.Fulfil(*req, deadline))
  KURA_ORDER_RPC(Cancel, o_.Cancel(req->channel(), req->external_order_id(), deadline))
  KURA_ORDER_RPC(Get, o_.Get(req->channel(), req->external_order_id()))
#undef KURA_ORDER_RPC

  grpc::Status ListOrders(grpc::ServerContext* ctx, const v1::ListOrdersRequest* req,
                          v1::ListOrdersResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return o_.List(*req); });
  }

  grpc::Status ResourceHolds(grpc::ServerContext* ctx, const v1::ResourceHoldsRequest* req,
                             v1::ResourceHoldsResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return o_.ResourceHolds(*req, rpc::DeadlineOf(*ctx)); });
  }

 private:
  Orders& o_;
  ReservationMetrics& m_;
  std::string d_;
};

class LimitedGrpc final : public v1::LimitedItemService::Service {
 public:
  LimitedGrpc(LimitedItems& items, std::string domain) : i_(items), d_(std::move(domain)) {}

  grpc::Status SetLimitedItem(grpc::ServerContext* ctx, const v1::SetLimitedItemRequest* req,
                              v1::SetLimitedItemResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&]() -> absl::StatusOr<v1::SetLimitedItemResponse> {
      ASSIGN_OR_RETURN(v1::LimitedItem item, i_.Set(*req));
      v1::SetLimitedItemResponse out;
      *out.mutable_item() = std::move(item);
      return out;
    });
  }
  grpc::Status GetLimitedItem(grpc::ServerContext* ctx, const v1::GetLimitedItemRequest* req,
                              v1::GetLimitedItemResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&]() -> absl::StatusOr<v1::GetLimitedItemResponse> {
      ASSIGN_OR_RETURN(v1::LimitedItem item, i_.Get(req->sku()));
      v1::GetLimitedItemResponse out;
      *out.mutable_item() = std::move(item);
      return out;
    });
  }
  grpc::Status CountStoreSale(grpc::ServerContext* ctx, const v1::CountStoreSaleRequest* req,
                              v1::CountStoreSaleResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return i_.CountStoreSale(*req); });
  }
  grpc::Status ListLimitedItems(grpc::ServerContext* ctx, const v1::ListLimitedItemsRequest*,
                                v1::ListLimitedItemsResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return i_.List(); });
  }

 private:
  LimitedItems& i_;
  std::string d_;
};

class SubstituteGrpc final : public v1::SubstituteService::Service {
 public:
  SubstituteGrpc(Substitutes& substitutes, std::string domain)
      : s_(substitutes), d_(std::move(domain)) {}

  grpc::Status SetSubstitutes(grpc::ServerContext* ctx, const v1::SetSubstitutesRequest* req,
                              v1::SetSubstitutesResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return s_.Set(*req, rpc::DeadlineOf(*ctx)); });
  }
  grpc::Status SuggestAlternatives(grpc::ServerContext* ctx,
                                   const v1::SuggestAlternativesRequest* req,
                                   v1::SuggestAlternativesResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return s_.Suggest(*req, rpc::DeadlineOf(*ctx)); });
  }

 private:
  Substitutes& s_;
  std::string d_;
};

class PreorderGrpc final : public v1::PreorderService::Service {
 public:
  PreorderGrpc(Preorders& preorders, std::string domain) : p_(preorders), d_(std::move(domain)) {}

  grpc::Status SetPreorderItem(grpc::ServerContext* ctx, const v1::SetPreorderItemRequest* req,
                               v1::SetPreorderItemResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&]() -> absl::StatusOr<v1::SetPreorderItemResponse> {
      v1::SetPreorderItemResponse out;
      ASSIGN_OR_RETURN(*out.mutable_item(), p_.Set(*req, rpc::DeadlineOf(*ctx)));
      return out;
    });
  }
  grpc::Status GetPreorderItem(grpc::ServerContext* ctx, const v1::GetPreorderItemRequest* req,
                               v1::GetPreorderItemResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&]() -> absl::StatusOr<v1::GetPreorderItemResponse> {
      v1::GetPreorderItemResponse out;
      ASSIGN_OR_RETURN(*out.mutable_item(), p_.Get(req->sku(), rpc::DeadlineOf(*ctx)));
      return out;
    });
  }
  grpc::Status ListPreorderItems(grpc::ServerContext* ctx, const v1::ListPreorderItemsRequest*,
                                 v1::ListPreorderItemsResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return p_.List(rpc::DeadlineOf(*ctx)); });
  }

 private:
  Preorders& p_;
  std::string d_;
};

class AllocationGrpc final : public v1::AllocationService::Service {
 public:
  AllocationGrpc(Allocation& allocation, std::string domain)
      : a_(allocation), d_(std::move(domain)) {}

  grpc::Status SetAllocationRule(grpc::ServerContext* ctx, const v1::SetAllocationRuleRequest* req,
                                 v1::SetAllocationRuleResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return a_.Set(*req, rpc::DeadlineOf(*ctx)); });
  }
  grpc::Status DeleteAllocationRule(grpc::ServerContext* ctx,
                                    const v1::DeleteAllocationRuleRequest* req,
                                    v1::DeleteAllocationRuleResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return a_.Delete(*req, rpc::DeadlineOf(*ctx)); });
  }
  grpc::Status ListAllocationRules(grpc::ServerContext* ctx,
                                   const v1::ListAllocationRulesRequest* req,
                                   v1::ListAllocationRulesResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return a_.List(*req); });
  }
  grpc::Status GetEffectiveAllocation(grpc::ServerContext* ctx,
                                      const v1::GetEffectiveAllocationRequest* req,
                                      v1::GetEffectiveAllocationResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return a_.Effective(*req, rpc::DeadlineOf(*ctx)); });
  }

 private:
  Allocation& a_;
  std::string d_;
};

class PickupGrpc final : public v1::PickupService::Service {
 public:
  PickupGrpc(Pickup& pickup, std::string domain) : p_(pickup), d_(std::move(domain)) {}

  grpc::Status CheckPickup(grpc::ServerContext* ctx, const v1::CheckPickupRequest* req,
                           v1::CheckPickupResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return p_.Check(*req, rpc::DeadlineOf(*ctx)); });
  }
  grpc::Status CompletePickup(grpc::ServerContext* ctx, const v1::CompletePickupRequest* req,
                              v1::CompletePickupResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&]() -> absl::StatusOr<v1::CompletePickupResponse> {
      v1::CompletePickupResponse out;
      ASSIGN_OR_RETURN(*out.mutable_order(), p_.Complete(*req, rpc::DeadlineOf(*ctx)));
      return out;
    });
  }

 private:
  Pickup& p_;
  std::string d_;
};

class ReservationModule final : public server::ServiceModule {
 public:
  ReservationModule(server::ServiceContext& context, std::string ledger_addr,
                    absl::Duration ledger_timeout, OrderTtl ttl, absl::Duration sweep_interval,
                    absl::Duration allocation_interval)
      : metrics_(context.metrics),
        ledger_(grpc::CreateChannel(ledger_addr, grpc::InsecureChannelCredentials()),
                ledger_timeout),
        orders_(context.db, context.clock, ledger_, std::move(ttl)),
        order_grpc_(orders_, metrics_, context.error_domain),
        limited_(context.db, context.clock),
        limited_grpc_(limited_, context.error_domain),
        preorders_(context.db, context.clock, ledger_),
        preorder_grpc_(preorders_, context.error_domain),
        substitutes_(context.db, ledger_, preorders_),
        substitute_grpc_(substitutes_, context.error_domain),
        allocation_(context.db, context.clock, ledger_),
        allocation_grpc_(allocation_, context.error_domain),
        pickup_(orders_, ledger_),
        pickup_grpc_(pickup_, context.error_domain),
        db_(context.db),
        sweeper_(sweep_interval, [this] { Sweep(); }),
        applier_(allocation_interval, [this] { ApplyAllocation(); }) {}

  void Register(grpc::ServerBuilder& builder) override {
    builder.RegisterService(&order_grpc_);
    builder.RegisterService(&limited_grpc_);
    builder.RegisterService(&substitute_grpc_);
    builder.RegisterService(&preorder_grpc_);
    builder.RegisterService(&allocation_grpc_);
    builder.RegisterService(&pickup_grpc_);
  }

 private:
  void Sweep() {
    for (int round = 0; round < 100; ++round) {
      auto expired = orders_.ExpireDue(200);
      if (!expired.ok()) {
        log::Warn("order sweep failed", {{"error", std::string(expired.status().message())}});
        break;
      }
      metrics_.expired.Increment(*expired);
      if (*expired < 200) break;
    }
    auto moved = orders_.ResumeMoves(100);
    if (!moved.ok()) {
      log::Warn("resuming moved holds failed", {{"error", std::string(moved.status().message())}});
    }
    auto converted = orders_.ConvertPreorders();
    if (converted.ok()) {
      metrics_.converted.Increment(*converted);
    } else {
      log::Warn("pre-order conversion failed",
                {{"error", std::string(converted.status().message())}});
    }
    auto counts = db_.Run<std::map<int, double>>(
        [](pqxx::connection& conn) -> absl::StatusOr<std::map<int, double>> {
          pqxx::nontransaction tx(conn);
          std::map<int, double> out;
          for (const auto& row : tx.exec("SELECT state, count(*) FROM orders GROUP BY 1")) {
            out[PublicOrderState(row[0].as<int>())] += row[1].as<double>();
          }
          return out;
        });
    if (!counts.ok()) return;
    for (int state = v1::ORDER_STATE_PENDING; state <= v1::OrderState_MAX; ++state) {
      std::string name =
          absl::AsciiStrToLower(v1::OrderState_Name(static_cast<v1::OrderState>(state)).substr(12));
      metrics_.orders.Add({{"state", name}}).Set((*counts)[state]);
    }
  }

  void ApplyAllocation() {
    auto pass = allocation_.Apply(std::nullopt);
    if (pass.ok()) {
      metrics_.allocation_writes.Increment(pass->writes);
      return;
    }
    metrics_.allocation_failures.Increment();
    log::Warn("allocation pass incomplete", {{"error", std::string(pass.status().message())}});
  }

  ReservationMetrics metrics_;
  LedgerClient ledger_;
  Orders orders_;
  OrderGrpc order_grpc_;
  LimitedItems limited_;
  LimitedGrpc limited_grpc_;
  Preorders preorders_;
  PreorderGrpc preorder_grpc_;
  Substitutes substitutes_;
  SubstituteGrpc substitute_grpc_;
  Allocation allocation_;
  AllocationGrpc allocation_grpc_;
  Pickup pickup_;
  PickupGrpc pickup_grpc_;
  pg::Database& db_;
  server::Periodic sweeper_;  // last: their threads use the members above
  server::Periodic applier_;
};

}  // namespace

std::map<std::string, std::string> ReservationDefaults() {
  return {{"ledger_addr", "127.0.0.1:7101"},
          {"ledger_timeout", "5s"},
          {"order_ttl", "15m"},
          {"order_ttl_by_channel", ""},
          {"order_sweep_interval", "1s"},
          {"allocation_interval", "10s"}};
}

absl::StatusOr<std::unique_ptr<server::ServiceModule>> MakeReservationModule(
    server::ServiceContext& context) {
  ASSIGN_OR_RETURN(std::string ledger_addr, context.config.GetRequiredString("ledger_addr"));
  ASSIGN_OR_RETURN(
      absl::Duration ledger_timeout,
      context.config.GetDuration("ledger_timeout", absl::Milliseconds(100), absl::Minutes(1)));
  OrderTtl ttl;
  ASSIGN_OR_RETURN(ttl.fallback,
                   context.config.GetDuration("order_ttl", absl::Seconds(1), absl::Hours(24 * 90)));
  auto parsed = ParseTtlByChannel(context.config.Raw("order_ttl_by_channel"));
  if (!parsed.ok()) {
    return MakeError(absl::StatusCode::kInvalidArgument, "CONFIG_INVALID",
                     absl::StrCat("config: order_ttl_by_channel: ", parsed.status().message(),
                                  " (from ", context.config.Source("order_ttl_by_channel"), ")"));
  }
  ttl.by_channel = *std::move(parsed);
  ASSIGN_OR_RETURN(absl::Duration sweep,
                   context.config.GetDuration("order_sweep_interval", absl::Milliseconds(50),
                                              absl::Minutes(10)));
  ASSIGN_OR_RETURN(
      absl::Duration allocation,
      context.config.GetDuration("allocation_interval", absl::Milliseconds(100), absl::Hours(1)));
  return std::make_unique<ReservationModule>(context, ledger_addr, ledger_timeout, std::move(ttl),
                                             sweep, allocation);
}

}  // namespace kura::reservation
