#pragma once

// A kura-ledger process on its own fresh database, with gRPC stubs and seeding helpers, for the
// ledger's black-box tests.

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kura/ledger/v1/catalog.grpc.pb.h"
#include "kura/ledger/v1/change_feed.grpc.pb.h"
#include "kura/ledger/v1/ledger.grpc.pb.h"
#include "kura/rpc/status.h"
#include "kura/testing/testing.h"

namespace kura::ledger::testing {

namespace v1 = ::kura::ledger::v1;

/// Calls a unary RPC with a 60 s deadline and maps the result to absl.
template <typename Stub, typename Req, typename Resp>
absl::StatusOr<Resp> Call(Stub& stub,
                          grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                          const Req& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  Resp response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return rpc::FromGrpcStatus(status);
  return response;
}

/// A unique request id.
inline std::string NewId(const std::string& prefix = "req") {
  static std::atomic<int64_t> counter{0};
  return absl::StrCat(prefix, "-", ++counter);
}

class LedgerFixture {
 public:
  explicit LedgerFixture(const std::string& name, std::map<std::string, std::string> env = {})
      : db_(name), dir_(kura::testing::MakeTempDir(name)), env_(std::move(env)) {
    Start();
  }

  /// (Re)starts the process, on the same gRPC port when it ran before.
  void Start() {
    auto env = env_;
    if (port_ != 0) env["KURA_GRPC_LISTEN"] = absl::StrCat("127.0.0.1:", port_);
    process_ = std::make_unique<kura::testing::ServiceProcess>(
        absl::StrCat(KURA_SERVICES_DIR, "/kura-ledger"), db_.dsn(), dir_, env);
    port_ = process_->grpc_port();
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
    channel_ = grpc::CreateCustomChannel(process_->grpc_address(),
                                         grpc::InsecureChannelCredentials(), args);
    catalog = v1::CatalogService::NewStub(channel_);
    ledger = v1::LedgerService::NewStub(channel_);
    feed = v1::ChangeFeedService::NewStub(channel_);
  }

  /// Stops the process with SIGTERM and checks it exits 0.
  void Stop() {
    process_->process().Signal(SIGTERM);
    REQUIRE(process_->process().Wait(absl::Seconds(10)) == 0);
  }

  /// Kills the process with SIGKILL, as a crash would.
  void Kill() {
    process_->process().Signal(SIGKILL);
    process_->process().Wait(absl::Seconds(10));
  }

  /// Starts another kura-ledger process on the same database (a second replica) and returns a
  /// LedgerService stub for it; it runs until the fixture ends.
  std::unique_ptr<v1::LedgerService::Stub> StartReplica() {
    replicas_.push_back(std::make_unique<kura::testing::ServiceProcess>(
        absl::StrCat(KURA_SERVICES_DIR, "/kura-ledger"), db_.dsn(),
        kura::testing::MakeTempDir("replica"), env_));
    return v1::LedgerService::NewStub(
        grpc::CreateChannel(replicas_.back()->grpc_address(), grpc::InsecureChannelCredentials()));
  }

  const std::string& dsn() const { return db_.dsn(); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  std::string Log() { return process_->process().Output(); }

  // ----- seeding

  void CreateLocation(const std::string& code, v1::LocationKind kind = v1::LOCATION_KIND_STORE) {
    v1::CreateLocationRequest r;
    r.set_request_id(NewId());
    r.mutable_location()->set_code(code);
    r.mutable_location()->set_name(code);
    r.mutable_location()->set_kind(kind);
    r.mutable_location()->set_time_zone("Asia/Tokyo");
    auto result = Call(*catalog, &v1::CatalogService::Stub::CreateLocation, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
  }

  void CreateChannel(const std::string& code, std::vector<std::string> locations,
                     v1::ChannelKind kind = v1::CHANNEL_KIND_EC_SITE,
                     bool respects_safety_stock = true) {
    v1::CreateChannelRequest r;
    r.set_request_id(NewId());
    r.mutable_channel()->set_code(code);
    r.mutable_channel()->set_name(code);
    r.mutable_channel()->set_kind(kind);
    r.mutable_channel()->set_respects_safety_stock(respects_safety_stock);
    for (auto& l : locations) r.mutable_channel()->add_location_codes(l);
    auto result = Call(*catalog, &v1::CatalogService::Stub::CreateChannel, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
  }

  void CreateItem(const std::string& sku, std::vector<std::string> barcodes = {}) {
    v1::CreateItemRequest r;
    r.set_request_id(NewId());
    r.mutable_item()->set_sku(sku);
    r.mutable_item()->set_name("Item " + sku);
    r.mutable_item()->set_price_yen(1980);
    r.mutable_item()->set_tax_class(v1::TAX_CLASS_STANDARD);
    for (auto& b : barcodes) r.mutable_item()->add_barcodes(b);
    auto result = Call(*catalog, &v1::CatalogService::Stub::CreateItem, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
  }

  /// A store "store-a", a warehouse "wh", an EC channel "ec" served by both and a register
  /// channel "pos-a" served by the store.
  void SeedTopology() {
    CreateLocation("store-a");
    CreateLocation("wh", v1::LOCATION_KIND_WAREHOUSE);
    CreateChannel("ec", {"store-a", "wh"});
    CreateChannel("pos-a", {"store-a"}, v1::CHANNEL_KIND_STORE_REGISTER, false);
  }

  absl::StatusOr<v1::ApplyMovementsResponse> Move(v1::MovementKind kind, const std::string& sku,
                                                  const std::string& location, int64_t quantity,
                                                  const std::string& request_id = NewId()) {
    v1::ApplyMovementsRequest r;
    r.set_request_id(request_id);
    auto* m = r.add_movements();
    m->set_kind(kind);
    m->set_sku(sku);
    m->set_location(location);
    if (kind == v1::MOVEMENT_KIND_COUNT) {
      m->set_counted_quantity(quantity);
    } else {
      m->set_quantity(quantity);
    }
    return Call(*ledger, &v1::LedgerService::Stub::ApplyMovements, r);
  }

  void Receive(const std::string& sku, const std::string& location, int64_t quantity) {
    auto result = Move(v1::MOVEMENT_KIND_RECEIVE, sku, location, quantity);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
  }

  absl::StatusOr<v1::CreateHoldsResponse> Hold(const std::string& sku, const std::string& location,
                                               int64_t quantity,
                                               absl::Duration ttl = absl::Minutes(15),
                                               const std::string& channel = "ec",
                                               const std::string& hold_id = NewId("hold")) {
    v1::CreateHoldsRequest r;
    r.set_request_id(NewId());
    r.set_channel(channel);
    auto* line = r.add_lines();
    line->set_hold_id(hold_id);
    line->set_sku(sku);
    line->set_location(location);
    line->set_quantity(quantity);
    int64_t expires = absl::ToUnixMicros(absl::Now() + ttl);
    r.mutable_expires_at()->set_seconds(expires / 1000000);
    r.mutable_expires_at()->set_nanos(static_cast<int>(expires % 1000000) * 1000);
    return Call(*ledger, &v1::LedgerService::Stub::CreateHolds, r);
  }

  v1::Availability Availability(const std::string& sku, const std::string& location,
                                const std::string& channel = "") {
    v1::GetAvailabilityRequest r;
    r.add_skus(sku);
    r.add_locations(location);
    if (!channel.empty()) r.add_channels(channel);
    auto result = Call(*ledger, &v1::LedgerService::Stub::GetAvailability, r);
    INFO(result.status().ToString());
    REQUIRE(result.ok());
    REQUIRE(result->rows_size() == 1);
    return result->rows(0);
  }

  /// Requires the books to be consistent (invariant 1 and held = pending holds).
  void RequireConsistent() {
    auto result =
        Call(*ledger, &v1::LedgerService::Stub::VerifyInvariants, v1::VerifyInvariantsRequest());
    REQUIRE(result.ok());
    INFO(result->DebugString());
    REQUIRE(result->violations().empty());
  }

  /// Every event of the feed, paged with ListChanges.
  std::vector<v1::ChangeEvent> AllEvents() {
    std::vector<v1::ChangeEvent> out;
    v1::ListChangesRequest r;
    r.set_page_size(1000);
    while (true) {
      auto page = Call(*feed, &v1::ChangeFeedService::Stub::ListChanges, r);
      REQUIRE(page.ok());
      for (auto& e : page->events()) out.push_back(e);
      if (page->events().empty()) return out;
      r.set_after_sequence(page->last_sequence());
    }
  }

  std::unique_ptr<v1::CatalogService::Stub> catalog;
  std::unique_ptr<v1::LedgerService::Stub> ledger;
  std::unique_ptr<v1::ChangeFeedService::Stub> feed;

 private:
  kura::testing::TestDatabase db_;
  std::string dir_;
  std::map<std::string, std::string> env_;
  int port_ = 0;
  std::unique_ptr<kura::testing::ServiceProcess> process_;
  std::vector<std::unique_ptr<kura::testing::ServiceProcess>> replicas_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace kura::ledger::testing
