#pragma once

// kura-connector's calls to kura-reservation and kura-ledger, each with a deadline.

#include <grpcpp/channel.h>

#include <memory>

#include "absl/time/clock.h"
#include "kura/ledger/v1/catalog.grpc.pb.h"
#include "kura/ledger/v1/change_feed.grpc.pb.h"
#include "kura/ledger/v1/ledger.grpc.pb.h"
#include "kura/reservation/v1/orders.grpc.pb.h"
#include "kura/rpc/client.h"

namespace kura::connector {

namespace ledger_v1 = ::kura::ledger::v1;
namespace reservation_v1 = ::kura::reservation::v1;

struct Clients : rpc::TimedCalls {
  Clients(std::shared_ptr<grpc::Channel> reservation, std::shared_ptr<grpc::Channel> ledger,
          absl::Duration timeout)
      : TimedCalls(timeout),
        orders(reservation_v1::OrderService::NewStub(reservation)),
        ledger(ledger_v1::LedgerService::NewStub(ledger)),
        catalog(ledger_v1::CatalogService::NewStub(ledger)),
        feed(ledger_v1::ChangeFeedService::NewStub(ledger)) {}

  std::unique_ptr<reservation_v1::OrderService::Stub> orders;
  std::unique_ptr<ledger_v1::LedgerService::Stub> ledger;
  std::unique_ptr<ledger_v1::CatalogService::Stub> catalog;
  std::unique_ptr<ledger_v1::ChangeFeedService::Stub> feed;
};

}  // namespace kura::connector
