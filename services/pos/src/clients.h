#pragma once

// kura-pos-gateway's calls to kura-ledger and kura-reservation, each with a deadline.

#include <grpcpp/channel.h>

#include <memory>

#include "absl/time/clock.h"
#include "kura/ledger/v1/catalog.grpc.pb.h"
#include "kura/ledger/v1/ledger.grpc.pb.h"
#include "kura/pos/v1/pos.pb.h"
#include "kura/reservation/v1/limits.grpc.pb.h"
#include "kura/reservation/v1/orders.grpc.pb.h"
#include "kura/reservation/v1/pickup.grpc.pb.h"
#include "kura/rpc/client.h"

namespace kura::pos {

namespace ledger_v1 = ::kura::ledger::v1;
namespace reservation_v1 = ::kura::reservation::v1;

struct Clients : rpc::TimedCalls {
  Clients(std::shared_ptr<grpc::Channel> ledger, std::shared_ptr<grpc::Channel> reservation,
          absl::Duration timeout)
      : TimedCalls(timeout),
        catalog(ledger_v1::CatalogService::NewStub(ledger)),
        ledger(ledger_v1::LedgerService::NewStub(ledger)),
        limits(reservation_v1::LimitedItemService::NewStub(reservation)),
        orders(reservation_v1::OrderService::NewStub(reservation)),
        pickup(reservation_v1::PickupService::NewStub(reservation)) {}

  std::unique_ptr<ledger_v1::CatalogService::Stub> catalog;
  std::unique_ptr<ledger_v1::LedgerService::Stub> ledger;
  std::unique_ptr<reservation_v1::LimitedItemService::Stub> limits;
  std::unique_ptr<reservation_v1::OrderService::Stub> orders;
  std::unique_ptr<reservation_v1::PickupService::Stub> pickup;
};

}  // namespace kura::pos
