#pragma once

// kura-reservation's calls to kura-ledger: each with a deadline (the served call's or the one
// given, at most `timeout`: rpc::TimedCalls), the trace id passed on and the ledger's status
// mapped back to absl.

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
#include "kura/base/ttl_cache.h"
#include "kura/ledger/v1/catalog.grpc.pb.h"
#include "kura/ledger/v1/ledger.grpc.pb.h"
#include "kura/rpc/client.h"

namespace kura::reservation {

namespace ledger_v1 = ::kura::ledger::v1;

using rpc::RequestDigest;

class LedgerClient : public rpc::TimedCalls {
 public:
  LedgerClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
      : TimedCalls(timeout),
        catalog_(ledger_v1::CatalogService::NewStub(channel)),
        ledger_(ledger_v1::LedgerService::NewStub(channel)) {}

  ledger_v1::CatalogService::Stub& catalog() const { return *catalog_; }
  ledger_v1::LedgerService::Stub& ledger() const { return *ledger_; }

  /// A channel as the ledger describes it, read at most once a second per channel (every order
  /// placed is sourced from its channel's locations: a change of them takes effect within a
  /// second; the ledger checks each hold against the channel as it stands).
  /// Drops what was read of a channel: the next Channel reads it afresh.
  void ForgetChannel(const std::string& code) const { channels_.Forget(code); }
  absl::StatusOr<ledger_v1::Channel> Channel(const std::string& code,
                                             std::optional<absl::Time> deadline) const {
    return channels_.Get(code, [&]() -> absl::StatusOr<ledger_v1::Channel> {
      ledger_v1::GetChannelRequest get;
      get.set_code(code);
      auto got = Call(catalog(), &ledger_v1::CatalogService::Stub::GetChannel, get, deadline);
      if (!got.ok()) return got.status();
      return got->channel();
    });
  }

 private:
  mutable TtlCache<std::string, ledger_v1::Channel> channels_{RealClock::Instance(),
                                                              absl::Seconds(1)};
  std::unique_ptr<ledger_v1::CatalogService::Stub> catalog_;
  std::unique_ptr<ledger_v1::LedgerService::Stub> ledger_;
};

}  // namespace kura::reservation
