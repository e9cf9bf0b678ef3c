#pragma once

// kura-reservation's calls to kura-ledger: each with a deadline (the caller's, at most
// `timeout`), the trace id passed on and the ledger's status mapped back to absl.

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kura/ledger/v1/catalog.grpc.pb.h"
#include "kura/ledger/v1/ledger.grpc.pb.h"
#include "kura/rpc/client.h"

namespace kura::reservation {

namespace ledger_v1 = ::kura::ledger::v1;

using rpc::RequestDigest;

class LedgerClient {
 public:
  LedgerClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
      : catalog_(ledger_v1::CatalogService::NewStub(channel)),
        ledger_(ledger_v1::LedgerService::NewStub(channel)),
        timeout_(timeout) {}

  /// Calls `method` of the catalog or ledger stub.
  template <typename Stub, typename Req, typename Resp>
  absl::StatusOr<Resp> Call(Stub& stub,
                            grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                            const Req& request, std::optional<absl::Time> deadline) const {
    absl::Time until = absl::Now() + timeout_;
    if (deadline && *deadline < until) until = *deadline;
    return rpc::CallUnary(stub, method, request, until);
  }

  ledger_v1::CatalogService::Stub& catalog() const { return *catalog_; }
  ledger_v1::LedgerService::Stub& ledger() const { return *ledger_; }

 private:
  std::unique_ptr<ledger_v1::CatalogService::Stub> catalog_;
  std::unique_ptr<ledger_v1::LedgerService::Stub> ledger_;
  absl::Duration timeout_;
};

}  // namespace kura::reservation
