#include "gateway.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/client_interceptor.h>

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "kura/pos/v1/pos.grpc.pb.h"
#include "kura/rpc/client.h"

namespace kura::pos_terminal {
namespace {

namespace ix = ::grpc::experimental;

// Adds the terminal's token to every call's initial metadata.
class BearerTokenInterceptor final : public ix::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string& header) : header_(header) {}
  void Intercept(ix::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            ix::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  const std::string& header_;
};

class BearerTokenInterceptorFactory final : public ix::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(std::string token)
      : header_("Bearer " + std::move(token)) {}
  ix::Interceptor* CreateClientInterceptor(ix::ClientRpcInfo* /*info*/) override {
    return new BearerTokenInterceptor(header_);
  }

 private:
  // Lives as long as the channel, which owns this factory.
  const std::string header_;
};

class GrpcGateway final : public Gateway {
 public:
  using Stub = v1::PosGatewayService::Stub;

  GrpcGateway(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout,
              ReachabilityListener listener, absl::Status refusal,
              AuthorisationListener authorisation)
      : stub_(v1::PosGatewayService::NewStub(channel)),
        timeout_(timeout),
        listener_(std::move(listener)),
        authorisation_(std::move(authorisation)),
        refusal_(std::move(refusal)) {}

  absl::StatusOr<v1::LookupResponse> Lookup(const v1::LookupRequest& r) override {
    return Call(&Stub::Lookup, r);
  }
  absl::StatusOr<v1::SaleResponse> Sale(const v1::SaleRequest& r) override {
    return Call(&Stub::Sale, r);
  }
  absl::StatusOr<v1::ReturnResponse> Return(const v1::ReturnRequest& r) override {
    return Call(&Stub::Return, r);
  }
  absl::StatusOr<v1::StockCheckResponse> StockCheck(const v1::StockCheckRequest& r) override {
    return Call(&Stub::StockCheck, r);
  }
  absl::StatusOr<v1::ListPickupsResponse> ListPickups(const v1::ListPickupsRequest& r) override {
    return Call(&Stub::ListPickups, r);
  }
  absl::StatusOr<v1::CompletePickupResponse> CompletePickup(
      const v1::CompletePickupRequest& r) override {
    return Call(&Stub::CompletePickup, r);
  }
  absl::StatusOr<v1::SyncJournalResponse> SyncJournal(const v1::SyncJournalRequest& r) override {
    return Call(&Stub::SyncJournal, r);
  }
  absl::StatusOr<v1::GetCatalogResponse> GetCatalog(const v1::GetCatalogRequest& r) override {
    return Call(&Stub::GetCatalog, r);
  }
  bool online() const override { return online_.load(); }
  absl::Status refusal() const override {
    std::lock_guard<std::mutex> lock(refusal_mu_);
    return refusal_;
  }

 private:
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                            const Req& request) {
    absl::StatusOr<Resp> response = rpc::CallUnary(*stub_, method, request, absl::Now() + timeout_);
    const bool reached = !IsUnreachable(response.status());
    if (online_.exchange(reached) != reached && listener_) listener_(reached, response.status());
    if (response.ok() || IsUnauthorised(response.status())) Authorisation(response.status());
    return response;
  }

  // Locks the register on a refusal, unlocks it on a success; other answers (NOT_FOUND, …)
  // change nothing.
  void Authorisation(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(refusal_mu_);
    const bool was_refused = !refusal_.ok();
    if (status.ok() && !was_refused) return;
    // A new refusal replaces an older one (the reason may have changed) without a second notice.
    refusal_ = status;
    if (was_refused != !status.ok() && authorisation_) authorisation_(status);
  }

  std::unique_ptr<Stub> stub_;
  const absl::Duration timeout_;
  const ReachabilityListener listener_;
  const AuthorisationListener authorisation_;
  std::atomic<bool> online_{true};
  // Held while the listener runs, so that the recorded refusal follows the in-memory one.
  mutable std::mutex refusal_mu_;
  absl::Status refusal_ ABSL_GUARDED_BY(refusal_mu_);
};

}  // namespace

bool IsUnreachable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

bool IsUnauthorised(const absl::Status& status) {
  return absl::IsUnauthenticated(status) || absl::IsPermissionDenied(status);
}

std::unique_ptr<Gateway> ConnectGateway(const std::string& address, const std::string& token,
                                        absl::Duration timeout, ReachabilityListener listener,
                                        absl::Status refusal, AuthorisationListener authorisation) {
  grpc::ChannelArguments args;
  // gRPC's default backoff grows to two minutes: far too long for a register waiting to replay
  // its journal once the gateway is back.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  std::vector<std::unique_ptr<ix::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerTokenInterceptorFactory>(token));
  auto channel = ix::CreateCustomChannelWithInterceptors(
      address, grpc::InsecureChannelCredentials(), args, std::move(interceptors));
  return std::make_unique<GrpcGateway>(std::move(channel), timeout, std::move(listener),
                                       std::move(refusal), std::move(authorisation));
}

}  // namespace kura::pos_terminal
