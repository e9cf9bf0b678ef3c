#include "pos_module.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server_builder.h>
#include <prometheus/counter.h>

#include "gateway.h"
#include "kura/base/error.h"
#include "kura/base/status_macros.h"
#include "kura/log/log.h"
#include "kura/pos/v1/pos.grpc.pb.h"
#include "kura/rpc/serve.h"
#include "kura/server/periodic.h"
#include "registers.h"

namespace kura::pos {
namespace {

class PosMetrics final : public GatewayObserver {
 public:
  explicit PosMetrics(prometheus::Registry& registry)
      : sales_(prometheus::BuildCounter()
                   .Name("kura_pos_sales_total")
                   .Help("Register sales recorded, by how they arrived (online, journal).")
                   .Register(registry)),
        returns_(prometheus::BuildCounter()
                     .Name("kura_pos_returns_total")
                     .Help("Register returns recorded, by how they arrived (online, journal).")
                     .Register(registry)),
        journal_(prometheus::BuildCounter()
                     .Name("kura_pos_journal_entries_total")
                     .Help("Offline journal entries replayed, by result (applied, duplicate, "
                           "rejected).")
                     .Register(registry)),
        oversold_(prometheus::BuildCounter()
                      .Name("kura_pos_oversold_incidents_total")
                      .Help("Register sales that drove stock below zero (applied all the same).")
                      .Register(registry)
                      .Add({})) {}

  void Sale(bool from_journal) override {
    sales_.Add({{"via", from_journal ? "journal" : "online"}}).Increment();
  }
  void Return(bool from_journal) override {
    returns_.Add({{"via", from_journal ? "journal" : "online"}}).Increment();
  }
  void JournalEntry(const std::string& result) override {
    journal_.Add({{"result", result}}).Increment();
  }
  void Oversold() override { oversold_.Increment(); }

 private:
  prometheus::Family<prometheus::Counter>& sales_;
  prometheus::Family<prometheus::Counter>& returns_;
  prometheus::Family<prometheus::Counter>& journal_;
  prometheus::Counter& oversold_;
};

// Every register call: the terminal authenticated (and acting for its own store), then `call`.
class GatewayGrpc final : public v1::PosGatewayService::Service {
 public:
  GatewayGrpc(Gateway& gateway, Registers& registers, std::string domain)
      : g_(gateway), r_(registers), d_(std::move(domain)) {}

#define KURA_POS_RPC(Name, expr)                                                       \
  grpc::Status Name(grpc::ServerContext* ctx, const v1::Name##Request* req,            \
                    v1::Name##Response* resp) override {                               \
    return rpc::Serve(                                                                 \
        ctx, d_, resp, [&]() -> absl::StatusOr<v1::Name##Response> {                   \
          ASSIGN_OR_RETURN(TerminalIdentity who, r_.Authenticate(*ctx, req->store())); \
          return expr;                                                                 \
        });                                                                            \
  }
  KURA_POS_RPC(Lookup, g_.Lookup(who, *req))
  KURA_POS_RPC(Sale, g_.Sale(who, *req))
  KURA_POS_RPC(Return, g_.Return(who, *req))
  KURA_POS_RPC(StockCheck, g_.StockCheck(who, *req))
  KURA_POS_RPC(ListPickups, g_.ListPickups(who))
  KURA_POS_RPC(CompletePickup, g_.CompletePickup(who, *req))
  KURA_POS_RPC(SyncJournal, g_.SyncJournal(who, *req))
  KURA_POS_RPC(GetCatalog, g_.GetCatalog(who, *req))
#undef KURA_POS_RPC

 private:
  Gateway& g_;
  Registers& r_;
  const std::string d_;
};

class AdminGrpc final : public v1::PosAdminService::Service {
 public:
  AdminGrpc(Registers& registers, std::string domain) : r_(registers), d_(std::move(domain)) {}

  grpc::Status IssueTerminal(grpc::ServerContext* ctx, const v1::IssueTerminalRequest* req,
                             v1::IssueTerminalResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return r_.Issue(req->terminal()); });
  }
  grpc::Status RevokeTerminal(grpc::ServerContext* ctx, const v1::RevokeTerminalRequest* req,
                              v1::RevokeTerminalResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&]() -> absl::StatusOr<v1::RevokeTerminalResponse> {
      v1::RevokeTerminalResponse out;
      ASSIGN_OR_RETURN(*out.mutable_terminal(), r_.Revoke(req->terminal_id()));
      return out;
    });
  }
  grpc::Status ListTerminals(grpc::ServerContext* ctx, const v1::ListTerminalsRequest* req,
                             v1::ListTerminalsResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return r_.List(req->location()); });
  }
  grpc::Status SetStoreSettings(grpc::ServerContext* ctx, const v1::SetStoreSettingsRequest* req,
                                v1::SetStoreSettingsResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&]() -> absl::StatusOr<v1::SetStoreSettingsResponse> {
      v1::SetStoreSettingsResponse out;
      ASSIGN_OR_RETURN(*out.mutable_settings(), r_.SetSettings(req->settings()));
      return out;
    });
  }
  grpc::Status ListIncidents(grpc::ServerContext* ctx, const v1::ListIncidentsRequest* req,
                             v1::ListIncidentsResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return r_.Incidents(*req); });
  }
  grpc::Status GetStoreSettings(grpc::ServerContext* ctx, const v1::GetStoreSettingsRequest* req,
                                v1::GetStoreSettingsResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&]() -> absl::StatusOr<v1::GetStoreSettingsResponse> {
      v1::GetStoreSettingsResponse out;
      ASSIGN_OR_RETURN(*out.mutable_settings(), r_.Settings(req->location()));
      return out;
    });
  }

 private:
  Registers& r_;
  const std::string d_;
};

// The register API is served on the gateway's gRPC port, which registers reach; the
// administration (token issue, store settings) on a listener of its own, `admin_listen`, kept on
// the operators' network (127.0.0.1 by default).
class PosModule final : public server::ServiceModule {
 public:
  PosModule(server::ServiceContext& context, const std::string& ledger_addr,
            const std::string& reservation_addr, absl::Duration timeout)
      : metrics_(context.metrics),
        clients_(grpc::CreateChannel(ledger_addr, grpc::InsecureChannelCredentials()),
                 grpc::CreateChannel(reservation_addr, grpc::InsecureChannelCredentials()),
                 timeout),
        registers_(context.db, context.clock, clients_),
        gateway_(context.db, context.clock, clients_, registers_, metrics_),
        gateway_grpc_(gateway_, registers_, context.error_domain),
        admin_grpc_(registers_, context.error_domain),
        follow_ups_(absl::Seconds(5), [this] {
          if (auto done = gateway_.ResumeFollowUps(); !done.ok()) {
            log::Warn("a sale's follow-up in the reservation failed",
                      {{"error", std::string(done.status().message())}});
          }
        }) {}

  void Register(grpc::ServerBuilder& builder) override { builder.RegisterService(&gateway_grpc_); }

  absl::Status StartAdmin(const std::string& listen) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&admin_grpc_);
    admin_server_ = builder.BuildAndStart();
    if (admin_server_ == nullptr || port == 0) {
      return MakeError(absl::StatusCode::kInvalidArgument, "CONFIG_INVALID",
                       absl::StrCat("admin_listen: cannot listen on ", listen));
    }
    log::Info("admin serving", {{"admin_port", std::to_string(port)}});
    return absl::OkStatus();
  }

  void Draining() override {
    if (admin_server_) admin_server_->Shutdown(std::chrono::system_clock::now());
  }

 private:
  PosMetrics metrics_;
  Clients clients_;
  Registers registers_;
  Gateway gateway_;
  GatewayGrpc gateway_grpc_;
  AdminGrpc admin_grpc_;
  std::unique_ptr<grpc::Server> admin_server_;
  server::Periodic follow_ups_;  // last: its thread uses the members above
};

}  // namespace

std::map<std::string, std::string> PosDefaults() {
  return {{"ledger_addr", "127.0.0.1:7101"},
          {"reservation_addr", "127.0.0.1:7102"},
          {"call_timeout", "5s"},
          {"admin_listen", "127.0.0.1:7105"}};
}

absl::StatusOr<std::unique_ptr<server::ServiceModule>> MakePosModule(
    server::ServiceContext& context) {
  ASSIGN_OR_RETURN(std::string ledger_addr, context.config.GetRequiredString("ledger_addr"));
  ASSIGN_OR_RETURN(std::string reservation_addr,
                   context.config.GetRequiredString("reservation_addr"));
  ASSIGN_OR_RETURN(
      absl::Duration timeout,
      context.config.GetDuration("call_timeout", absl::Milliseconds(100), absl::Minutes(1)));
  ASSIGN_OR_RETURN(std::string admin_listen, context.config.GetListenAddress("admin_listen"));
  auto module = std::make_unique<PosModule>(context, ledger_addr, reservation_addr, timeout);
  RETURN_IF_ERROR(module->StartAdmin(admin_listen));
  return module;
}

}  // namespace kura::pos
