#include "ledger_module.h"

#include <functional>
#include <memory>

#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <pqxx/pqxx>

#include "books.h"
#include "catalog.h"
#include "change_notifier.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/batch/group_commit.h"
#include "kura/ledger/v1/catalog.grpc.pb.h"
#include "kura/ledger/v1/change_feed.grpc.pb.h"
#include "kura/ledger/v1/ledger.grpc.pb.h"
#include "kura/log/log.h"
#include "kura/pg/dsn.h"
#include "kura/rpc/serve.h"
#include "kura/rpc/status.h"
#include "kura/server/periodic.h"
#include "transactions.h"
#include "writer.h"

namespace kura::ledger {
namespace {

using rpc::DeadlineOf;
using rpc::Serve;

// Counters of what the books did, for dashboards and alerts.
struct LedgerMetrics {
  explicit LedgerMetrics(prometheus::Registry& registry)
      : holds_created(prometheus::BuildCounter()
                          .Name("kura_ledger_holds_created_total")
                          .Help("Holds created.")
                          .Register(registry)
                          .Add({})),
        hold_failures(prometheus::BuildCounter()
                          .Name("kura_ledger_hold_failures_total")
                          .Help("CreateHolds calls that failed, by ErrorInfo reason.")
                          .Register(registry)),
        movements(prometheus::BuildCounter()
                      .Name("kura_ledger_movements_applied_total")
                      .Help("Movements recorded, by kind.")
                      .Register(registry)),
        oversold(prometheus::BuildCounter()
                     .Name("kura_ledger_oversold_total")
                     .Help("Store sales that drove availability below zero.")
                     .Register(registry)
                     .Add({})),
        holds_expired(prometheus::BuildCounter()
                          .Name("kura_ledger_holds_expired_total")
                          .Help("Holds expired by the sweeper.")
                          .Register(registry)
                          .Add({})),
        sweeper_lag(prometheus::BuildGauge()
                        .Name("kura_ledger_sweeper_lag_seconds")
                        .Help("How long the oldest due pending hold has been past expiry.")
                        .Register(registry)
                        .Add({})),
        feed_delivery(prometheus::BuildHistogram()
                          .Name("kura_ledger_change_feed_lag_seconds")
                          .Help("From an event's commit to its delivery on WatchChanges.")
                          .Register(registry)
                          .Add({}, prometheus::Histogram::BucketBoundaries{
                                       0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                       2.5, 5, 10, 60})) {}

  void CountMovements(const google::protobuf::RepeatedPtrField<v1::Movement>& list) {
    for (const auto& m : list)
      movements.Add({{"kind", v1::MovementKind_Name(m.kind())}}).Increment();
  }

  prometheus::Counter& holds_created;
  prometheus::Family<prometheus::Counter>& hold_failures;
  prometheus::Family<prometheus::Counter>& movements;
  prometheus::Counter& oversold;
  prometheus::Counter& holds_expired;
  prometheus::Gauge& sweeper_lag;
  prometheus::Histogram& feed_delivery;
};

class CatalogGrpc final : public v1::CatalogService::Service {
 public:
  CatalogGrpc(Catalog& catalog, std::string domain) : c_(catalog), d_(std::move(domain)) {}

#define KURA_CATALOG_RPC(Name)                                              \
  grpc::Status Name(grpc::ServerContext* ctx, const v1::Name##Request* req, \
                    v1::Name##Response* resp) override {                    \
    return Serve(ctx, d_, resp, [&] { return c_.Name(*req); });             \
  }
  KURA_CATALOG_RPC(CreateItem)
  KURA_CATALOG_RPC(GetItem)
  KURA_CATALOG_RPC(ListItems)
  KURA_CATALOG_RPC(UpdateItem)
  KURA_CATALOG_RPC(LookupBarcode)
  KURA_CATALOG_RPC(CreateLocation)
  KURA_CATALOG_RPC(GetLocation)
  KURA_CATALOG_RPC(ListLocations)
  KURA_CATALOG_RPC(UpdateLocation)
  KURA_CATALOG_RPC(CreateChannel)
  KURA_CATALOG_RPC(GetChannel)
  KURA_CATALOG_RPC(ListChannels)
  KURA_CATALOG_RPC(UpdateChannel)
#undef KURA_CATALOG_RPC

 private:
  Catalog& c_;
  std::string d_;
};

// CreateHolds and ApplyMovements are served on gRPC's callback API: the writer completes the
// call after its batch commits, and no thread waits per call in flight. The other RPCs are
// synchronous.
class LedgerGrpc final
    : public v1::LedgerService::WithCallbackMethod_CreateHolds<
          v1::LedgerService::WithCallbackMethod_ApplyMovements<v1::LedgerService::Service>> {
 public:
  LedgerGrpc(Books& books, LedgerMetrics& metrics, std::string domain)
      : b_(books), m_(metrics), d_(std::move(domain)) {}

  grpc::ServerUnaryReactor* CreateHolds(grpc::CallbackServerContext* ctx,
                                        const v1::CreateHoldsRequest* req,
                                        v1::CreateHoldsResponse* resp) override {
    return Async(ctx, req, resp, [this](const absl::StatusOr<v1::CreateHoldsResponse>& result) {
      if (result.ok()) {
        m_.holds_created.Increment(result->holds_size());
        return;
      }
      std::string reason = ErrorReason(result.status());
      m_.hold_failures
          .Add({{"reason",
                 reason.empty() ? absl::StatusCodeToString(result.status().code()) : reason}})
          .Increment();
    });
  }
  grpc::ServerUnaryReactor* ApplyMovements(grpc::CallbackServerContext* ctx,
                                           const v1::ApplyMovementsRequest* req,
                                           v1::ApplyMovementsResponse* resp) override {
    return Async(ctx, req, resp, [this](const absl::StatusOr<v1::ApplyMovementsResponse>& result) {
      if (!result.ok()) return;
      m_.CountMovements(result->movements());
      if (result->oversold()) m_.oversold.Increment();
    });
  }
  grpc::Status PostHold(grpc::ServerContext* ctx, const v1::PostHoldRequest* req,
                        v1::PostHoldResponse* resp) override {
    return Serve(ctx, d_, resp, [&] {
      auto result = b_.PostHold(*req);
      if (result.ok()) m_.movements.Add({{"kind", "MOVEMENT_KIND_COMMIT"}}).Increment();
      return result;
    });
  }
  grpc::Status FulfilCommitted(grpc::ServerContext* ctx, const v1::FulfilCommittedRequest* req,
                               v1::FulfilCommittedResponse* resp) override {
    return Serve(ctx, d_, resp, [&] {
      auto result = b_.FulfilCommitted(*req);
      if (result.ok()) m_.movements.Add({{"kind", "MOVEMENT_KIND_FULFIL"}}).Increment();
      return result;
    });
  }
  grpc::Status CancelCommitted(grpc::ServerContext* ctx, const v1::CancelCommittedRequest* req,
                               v1::CancelCommittedResponse* resp) override {
    return Serve(ctx, d_, resp, [&] {
      auto result = b_.CancelCommitted(*req);
      if (result.ok()) m_.movements.Add({{"kind", "MOVEMENT_KIND_CANCEL_COMMITTED"}}).Increment();
      return result;
    });
  }
  grpc::Status VoidHold(grpc::ServerContext* ctx, const v1::VoidHoldRequest* req,
                        v1::VoidHoldResponse* resp) override {
    return Serve(ctx, d_, resp, [&] { return b_.VoidHold(*req); });
  }
  grpc::Status GetHold(grpc::ServerContext* ctx, const v1::GetHoldRequest* req,
                       v1::GetHoldResponse* resp) override {
    return Serve(ctx, d_, resp, [&] { return b_.GetHold(*req); });
  }
  grpc::Status ListHolds(grpc::ServerContext* ctx, const v1::ListHoldsRequest* req,
                         v1::ListHoldsResponse* resp) override {
    return Serve(ctx, d_, resp, [&] { return b_.ListHolds(*req); });
  }
  grpc::Status SetSafetyStock(grpc::ServerContext* ctx, const v1::SetSafetyStockRequest* req,
                              v1::SetSafetyStockResponse* resp) override {
    return Serve(ctx, d_, resp, [&] { return b_.SetSafetyStock(*req); });
  }
  grpc::Status SetChannelAllocation(grpc::ServerContext* ctx,
                                    const v1::SetChannelAllocationRequest* req,
                                    v1::SetChannelAllocationResponse* resp) override {
    return Serve(ctx, d_, resp, [&] { return b_.SetChannelAllocation(*req); });
  }
  grpc::Status GetAvailability(grpc::ServerContext* ctx, const v1::GetAvailabilityRequest* req,
                               v1::GetAvailabilityResponse* resp) override {
    return Serve(ctx, d_, resp, [&] { return b_.GetAvailability(*req); });
  }
  grpc::Status ListIncoming(grpc::ServerContext* ctx, const v1::ListIncomingRequest* req,
                            v1::ListIncomingResponse* resp) override {
    return Serve(ctx, d_, resp, [&] { return b_.ListIncoming(*req); });
  }
  grpc::Status VerifyInvariants(grpc::ServerContext* ctx, const v1::VerifyInvariantsRequest*,
                                v1::VerifyInvariantsResponse* resp) override {
    return Serve(ctx, d_, resp, [&] { return b_.VerifyInvariants(); });
  }

 private:
  // Submits `req` to the books with the call's deadline; the reactor finishes once the writer
  // answers (on its answer thread), after `count` has counted the result.
  template <typename Request, typename Response, typename Count>
  grpc::ServerUnaryReactor* Async(grpc::CallbackServerContext* ctx, const Request* req,
                                  Response* resp, Count count) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    auto trace = rpc::ServerTraceScope(*ctx);
    rpc::DeadlineScope deadline(DeadlineOf(*ctx));
    // Runs once; nothing may escape it.
    auto finish = [this, reactor, resp, count](absl::StatusOr<Response> result) {
      try {
        count(result);
        if (!result.ok()) {
          reactor->Finish(rpc::ToGrpcStatus(result.status(), d_));
          return;
        }
        *resp = *std::move(result);
        reactor->Finish(grpc::Status::OK);
      } catch (const std::exception& e) {
        reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, "internal error"));
      }
    };
    if constexpr (std::is_same_v<Request, v1::CreateHoldsRequest>) {
      b_.CreateHolds(*req, finish);
    } else {
      b_.ApplyMovements(*req, finish);
    }
    return reactor;
  }

  Books& b_;
  LedgerMetrics& m_;
  std::string d_;
};

class ChangeFeedGrpc final : public v1::ChangeFeedService::Service {
 public:
  ChangeFeedGrpc(Books& books, ChangeNotifier& notifier, LedgerMetrics& metrics, std::string domain,
                 absl::Duration poll_interval)
      : b_(books), n_(notifier), m_(metrics), d_(std::move(domain)), poll_(poll_interval) {}

  grpc::Status ListChanges(grpc::ServerContext* ctx, const v1::ListChangesRequest* req,
                           v1::ListChangesResponse* resp) override {
    return Serve(ctx, d_, resp, [&] { return b_.ListChanges(*req); });
  }

  // Pages through the feed from the cursor, then sleeps until the notifier reports a newer
  // commit (or change_feed_poll_interval passes, as a safety net) and pages again. Ends when the
  // client cancels or the server drains (UNAVAILABLE: reconnect, to this or another replica, from
  // the last sequence received).
  grpc::Status WatchChanges(grpc::ServerContext* ctx, const v1::WatchChangesRequest* req,
                            grpc::ServerWriter<v1::WatchChangesResponse>* writer) override {
    auto trace = rpc::ServerTraceScope(*ctx);
    if (req->after_sequence() < 0) {
      return rpc::ToGrpcStatus(
          InvalidArgument("after_sequence", "after_sequence must not be negative"), d_);
    }
    int64_t cursor = req->after_sequence();
    constexpr int kPage = 500;
    while (!ctx->IsCancelled()) {
      v1::ListChangesRequest list;
      list.set_after_sequence(cursor);
      list.set_page_size(kPage);
      absl::StatusOr<v1::ListChangesResponse> page;
      try {
        page = b_.ListChanges(list);
      } catch (const std::exception& e) {
        page = absl::InternalError(e.what());
      }
      if (!page.ok()) return rpc::ToGrpcStatus(page.status(), d_);
      absl::Time now = absl::Now();
      for (auto& event : *page->mutable_events()) {
        m_.feed_delivery.Observe(absl::ToDoubleSeconds(now - FromProto(event.commit_time())));
        v1::WatchChangesResponse out;
        cursor = event.sequence();
        *out.mutable_event() = std::move(event);
        if (!writer->Write(out)) return grpc::Status::OK;  // the client went away
      }
      if (page->events_size() == kPage) continue;
      if (!n_.WaitAfter(cursor, poll_)) {
        return rpc::ToGrpcStatus(
            MakeError(absl::StatusCode::kUnavailable, "SHUTTING_DOWN",
                      "the server is shutting down; reconnect from the last sequence"),
            d_);
      }
    }
    return grpc::Status::OK;
  }

 private:
  Books& b_;
  ChangeNotifier& n_;
  LedgerMetrics& m_;
  std::string d_;
  absl::Duration poll_;
};

// Expires due holds every `interval` and reports how far behind it is.
class HoldSweeper {
 public:
  HoldSweeper(Books& books, LedgerMetrics& metrics, absl::Duration interval)
      : books_(books), metrics_(metrics), periodic_(interval, [this] { Sweep(); }) {}

 private:
  void Sweep() {
    try {
      auto lag = books_.SweeperLagSeconds();
      if (lag.ok()) metrics_.sweeper_lag.Set(*lag);
      for (int round = 0; round < 100; ++round) {
        auto expired = books_.ExpireDueHolds(200);
        if (!expired.ok()) {
          log::Warn("hold sweep failed", {{"error", std::string(expired.status().message())}});
          break;
        }
        metrics_.holds_expired.Increment(*expired);
        if (*expired < 200) break;
      }
    } catch (const std::exception& e) {
      log::Warn("hold sweep failed", {{"error", e.what()}});
    }
  }

  Books& books_;
  LedgerMetrics& metrics_;
  server::Periodic periodic_;  // last: its thread uses the members above
};

class LedgerModule final : public server::ServiceModule {
 public:
  LedgerModule(server::ServiceContext& context, std::string notify_conninfo,
               absl::Duration sweep_interval, absl::Duration poll_interval,
               batch::GroupCommitOptions batching)
      : metrics_(context.metrics),
        writer_metrics_(context.metrics, "kura_ledger", "books"),
        writer_(std::make_unique<Writer>(context.db, context.clock, &writer_metrics_, batching)),
        catalog_(context.db, context.clock),
        books_(context.db, context.clock, *writer_),
        notifier_(std::move(notify_conninfo)),
        catalog_grpc_(catalog_, context.error_domain),
        ledger_grpc_(books_, metrics_, context.error_domain),
        feed_grpc_(books_, notifier_, metrics_, context.error_domain, poll_interval),
        sweeper_(std::make_unique<HoldSweeper>(books_, metrics_, sweep_interval)) {}

  void Register(grpc::ServerBuilder& builder) override {
    builder.RegisterService(&catalog_grpc_);
    builder.RegisterService(&ledger_grpc_);
    builder.RegisterService(&feed_grpc_);
  }
  void Draining() override { notifier_.Stop(); }
  void Stop() override {
    sweeper_.reset();  // no more expiries
    writer_.reset();   // after the drain: every queued request has been answered
  }

 private:
  LedgerMetrics metrics_;
  batch::GroupCommitMetrics writer_metrics_;
  std::unique_ptr<Writer> writer_;
  Catalog catalog_;
  Books books_;
  ChangeNotifier notifier_;
  CatalogGrpc catalog_grpc_;
  LedgerGrpc ledger_grpc_;
  ChangeFeedGrpc feed_grpc_;
  std::unique_ptr<HoldSweeper> sweeper_;
};

}  // namespace

std::map<std::string, std::string> LedgerDefaults() {
  return {{"hold_sweep_interval", "1s"},
          {"change_feed_poll_interval", "1s"},
          {"coalescing", "on"},
          {"batch_max", "256"},
          {"batch_window", "500us"}};
}

absl::StatusOr<std::unique_ptr<server::ServiceModule>> MakeLedgerModule(
    server::ServiceContext& context) {
  ASSIGN_OR_RETURN(
      absl::Duration sweep,
      context.config.GetDuration("hold_sweep_interval", absl::Milliseconds(50), absl::Minutes(10)));
  ASSIGN_OR_RETURN(absl::Duration poll,
                   context.config.GetDuration("change_feed_poll_interval", absl::Milliseconds(100),
                                              absl::Minutes(10)));
  ASSIGN_OR_RETURN(std::string dsn, context.config.GetRequiredString("db_dsn"));
  ASSIGN_OR_RETURN(std::string conninfo, pg::WithConnectOptions(dsn, 5, "kura-ledger-listen"));
  ASSIGN_OR_RETURN(std::string coalescing, context.config.GetEnum("coalescing", {"on", "off"}));
  // Off: every request is a batch of one (the benchmarks' baseline).
  batch::GroupCommitOptions batching{.max_batch = 1, .window = absl::ZeroDuration()};
  if (coalescing == "on") {
    ASSIGN_OR_RETURN(int64_t max_batch, context.config.GetInt("batch_max", 1, 10000));
    batching.max_batch = static_cast<int>(max_batch);
    ASSIGN_OR_RETURN(
        batching.window,
        context.config.GetDuration("batch_window", absl::ZeroDuration(), absl::Milliseconds(100)));
  }
  return std::make_unique<LedgerModule>(context, std::move(conninfo), sweep, poll, batching);
}

}  // namespace kura::ledger
