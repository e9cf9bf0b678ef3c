// kura-load: a load generator for kura-ledger's gRPC API.
//
//   kura-load seed  --addr A --items N [--first F] --stock Q    catalog + stock for a benchmark
//   kura-load holds --addr A --items N [--first F] --callers C [--requests R | --duration D]
//                   [--quantity Q]
//   kura-load sales ... (the same options)
//   kura-load mixed ... (the same options)
//   kura-load propagate --addr A --sim HOST:PORT --items N [--first F] --inventory-first I
//                   [--rounds R] [--interval 250ms] | [--rate R --duration D]
//
// Benchmark items are BENCH-F .. BENCH-(F+N-1). `holds` runs C closed-loop callers on gRPC's
// callback API, each keeping one CreateHolds in flight (EC channel bench-ec), each hold on one of
// those items picked uniformly; `sales` does the same with store sales (ApplyMovements with one
// STORE_SALE at bench-store); `mixed` alternates the two (even request numbers holds, odd ones
// sales). Each prints one line: RESULT callers=.. items=.. ok=.. failed=..
// seconds=.. per_second=.. p50_ms=.. p99_ms=.. plus the failures by reason.
//
// `register` drives kura-pos-gateway's PosGatewayService.Sale as registers would (--addr is the
// gateway): one register per terminal token in --tokens FILE (a line each), each sale one unit
// of a random item at 1,000 yen paid in cash. Without --rate each register waits for its answer
// before the next sale (closed loop); with --rate R sales go out at R a second in all, round
// robin over the registers, whether or not earlier ones were answered, and each latency counts
// from the time its sale was due (no coordinated omission).
//
// `propagate` measures a store's stock change until an EC platform shows it: kura-ec-sim stands
// in for the platform, connected to channel bench-ec with BENCH-(F+k) mapped to its inventory
// item I+k. R rounds, one at a time and paced at --interval (the platform's rate limit is not
// what is measured): each adjusts one item by ±1 at bench-store (ApplyMovements ADJUST) and
// waits on the simulator (/sim/wait) until that item's quantity there changes. Two lines:
// RESULT run=NAME-commit (sent → the ledger's answer, the baseline) and RESULT run=NAME
// (sent → the platform's quantity changed, by the simulator's clock). With --rate, see
// PropagateAtRate.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kura/base/error.h"
#include "kura/ledger/v1/catalog.grpc.pb.h"
#include "kura/ledger/v1/ledger.grpc.pb.h"
#include "kura/pos/v1/pos.grpc.pb.h"
#include "kura/rpc/status.h"

namespace {

namespace v1 = ::kura::ledger::v1;

struct Options {
  std::string command;
  std::string addr = "127.0.0.1:7101";
  int items = 1;
  int first = 0;
  int callers = 1;
  int64_t requests = 0;
  absl::Duration duration = absl::Seconds(5);
  int64_t quantity = 1;
  int64_t stock = 1'000'000;
  std::string run = "run";
  std::string sim;  // propagate: kura-ec-sim's host:port
  int64_t inventory_first = 0;
  int rounds = 100;
  absl::Duration interval = absl::Milliseconds(250);
  std::string tokens;  // register: a file of terminal tokens
  double rate = 0;     // register: sales a second in all (0: closed loop)
};

int Usage() {
  std::fprintf(stderr,
               "usage: kura-load seed --addr A --items N [--first F] [--stock Q]\n"
               "       kura-load holds|sales|mixed --addr A --items N [--first F] --callers C "
               "[--requests R | --duration 5s] [--quantity Q] [--run NAME]\n"
               "       kura-load propagate --addr A --sim HOST:PORT --items N [--first F] "
               "--inventory-first I [--rounds R] [--interval 250ms | --rate R --duration D] "
               "[--run NAME]\n"
               "       kura-load register --addr GATEWAY --tokens FILE --items N [--first F] "
               "[--duration 5s] [--rate R] [--run NAME]\n");
  return 2;
}

std::string Sku(int i) { return absl::StrCat("BENCH-", i); }

// The p-th quantile of sorted latencies.
double Quantile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  return sorted[std::min(sorted.size() - 1,
                         static_cast<size_t>(p * static_cast<double>(sorted.size())))];
}

void PrintResult(const std::string& run, int callers, int items, int64_t ok, int64_t failed,
                 double seconds, std::vector<double> latencies_ms) {
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf(
      "RESULT run=%s callers=%d items=%d ok=%lld failed=%lld seconds=%.2f per_second=%.0f "
      "p50_ms=%.2f p99_ms=%.2f\n",
      run.c_str(), callers, items, static_cast<long long>(ok), static_cast<long long>(failed),
      seconds, static_cast<double>(ok + failed) / seconds, Quantile(latencies_ms, 0.50),
      Quantile(latencies_ms, 0.99));
}

// The outcomes of a run's calls: counts, latencies and failures by reason. Thread-safe.
class Tally {
 public:
  void Add(double ms, const grpc::Status& status) {
    std::string reason;
    if (!status.ok()) {
      reason = kura::ErrorReason(kura::rpc::FromGrpcStatus(status));
      if (reason.empty()) reason = std::to_string(status.error_code());
    }
    std::lock_guard lock(mu_);
    latencies_ms_.push_back(ms);
    if (reason.empty()) {
      ++ok_;
    } else {
      ++failed_;
      ++failures_[reason];
    }
  }
  // The RESULT line, then a FAILURES line per reason.
  void Print(const std::string& run, int callers, int items, double seconds) {
    std::lock_guard lock(mu_);
    PrintResult(run, callers, items, ok_, failed_, seconds, latencies_ms_);
    for (const auto& [reason, count] : failures_) {
      std::printf("FAILURES reason=%s count=%lld\n", reason.c_str(), static_cast<long long>(count));
    }
  }

 private:
  std::mutex mu_;
  int64_t ok_ = 0, failed_ = 0;
  std::vector<double> latencies_ms_;
  std::map<std::string, int64_t> failures_;
};

template <typename Stub, typename Req, typename Resp>
bool Call(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
          const Req& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  Resp response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok() && status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
    std::fprintf(stderr, "seed: %s\n", status.error_message().c_str());
    return false;
  }
  return true;
}

int Seed(const Options& o, std::shared_ptr<grpc::Channel> channel) {
  auto catalog = v1::CatalogService::NewStub(channel);
  auto ledger = v1::LedgerService::NewStub(channel);
  v1::CreateLocationRequest loc;
  loc.set_request_id("bench-location");
  loc.mutable_location()->set_code("bench-store");
  loc.mutable_location()->set_name("Benchmark store");
  loc.mutable_location()->set_kind(v1::LOCATION_KIND_STORE);
  loc.mutable_location()->set_time_zone("Asia/Tokyo");
  if (!Call(*catalog, &v1::CatalogService::Stub::CreateLocation, loc)) return 1;
  v1::CreateChannelRequest ch;
  ch.set_request_id("bench-channel");
  ch.mutable_channel()->set_code("bench-ec");
  ch.mutable_channel()->set_name("Benchmark EC");
  ch.mutable_channel()->set_kind(v1::CHANNEL_KIND_EC_SITE);
  ch.mutable_channel()->add_location_codes("bench-store");
  if (!Call(*catalog, &v1::CatalogService::Stub::CreateChannel, ch)) return 1;
  // Items in parallel: one CreateItem each.
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&] {
      for (int i = o.first + next++; i < o.first + o.items && !failed; i = o.first + next++) {
        v1::CreateItemRequest item;
        item.set_request_id(absl::StrCat("bench-item-", i));
        item.mutable_item()->set_sku(Sku(i));
        item.mutable_item()->set_name(Sku(i));
        item.mutable_item()->set_price_yen(1000);
        item.mutable_item()->set_tax_class(v1::TAX_CLASS_STANDARD);
        if (!Call(*catalog, &v1::CatalogService::Stub::CreateItem, item)) failed = true;
      }
    });
  }
  for (auto& t : workers) t.join();
  if (failed) return 1;
  for (int start = o.first; start < o.first + o.items; start += 1000) {
    v1::ApplyMovementsRequest batch;
    batch.set_request_id(absl::StrCat("bench-receive-", start, "-", o.stock));
    for (int i = start; i < std::min(o.first + o.items, start + 1000); ++i) {
      auto* m = batch.add_movements();
      m->set_kind(v1::MOVEMENT_KIND_RECEIVE);
      m->set_sku(Sku(i));
      m->set_location("bench-store");
      m->set_quantity(o.stock);
    }
    if (!Call(*ledger, &v1::LedgerService::Stub::ApplyMovements, batch)) return 1;
  }
  std::printf("seeded %d items with %lld units each\n", o.items, static_cast<long long>(o.stock));
  return 0;
}

// Closed-loop callers on the callback API.
class Load {
 public:
  Load(const Options& o, std::shared_ptr<grpc::Channel> channel)
      : o_(o), stub_(v1::LedgerService::NewStub(channel)) {}

  int Run() {
    start_ = absl::Now();
    deadline_ = o_.requests > 0 ? absl::InfiniteFuture() : start_ + o_.duration;
    for (int c = 0; c < o_.callers; ++c) Next(c);
    {
      std::unique_lock lock(mu_);
      done_cv_.wait(lock, [&] { return active_ == 0 && started_callers_ == o_.callers; });
    }
    tally_.Print(o_.run, o_.callers, o_.items, absl::ToDoubleSeconds(absl::Now() - start_));
    return 0;
  }

 private:
  struct InFlight {
    grpc::ClientContext context;
    v1::CreateHoldsRequest hold;
    v1::CreateHoldsResponse hold_response;
    v1::ApplyMovementsRequest sale;
    v1::ApplyMovementsResponse sale_response;
    absl::Time sent;
  };

  // Starts caller `c`'s next request, or retires the caller when the run is over.
  void Next(int c) {
    {
      std::lock_guard lock(mu_);
      if (c >= 0 && started_callers_ < o_.callers && !caller_started_[c]) {
        caller_started_[c] = true;
        ++started_callers_;
      }
      bool more = o_.requests > 0 ? issued_ < o_.requests : absl::Now() < deadline_;
      if (!more) {
        done_cv_.notify_all();
        return;
      }
      ++issued_;
      ++active_;
    }
    thread_local std::mt19937_64 random{std::random_device{}()};
    auto* call = new InFlight();
    int64_t n = next_id_.fetch_add(1);
    std::string request_id = absl::StrCat("load-", start_id_, "-", n);
    std::string sku = Sku(o_.first + static_cast<int>(random() % static_cast<uint64_t>(o_.items)));
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    auto done = [this, call, c](grpc::Status status) {
      Finish(call, status);
      Next(c);
    };
    if (o_.command == "sales" || (o_.command == "mixed" && n % 2 == 1)) {
      call->sale.set_request_id(request_id);
      auto* m = call->sale.add_movements();
      m->set_kind(v1::MOVEMENT_KIND_STORE_SALE);
      m->set_sku(sku);
      m->set_location("bench-store");
      m->set_quantity(o_.quantity);
      call->sent = absl::Now();
      stub_->async()->ApplyMovements(&call->context, &call->sale, &call->sale_response, done);
      return;
    }
    call->hold.set_request_id(request_id);
    call->hold.set_channel("bench-ec");
    auto* line = call->hold.add_lines();
    line->set_hold_id(absl::StrCat("load-hold-", start_id_, "-", n));
    line->set_sku(sku);
    line->set_location("bench-store");
    line->set_quantity(o_.quantity);
    call->hold.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    call->sent = absl::Now();
    stub_->async()->CreateHolds(&call->context, &call->hold, &call->hold_response, done);
  }

  void Finish(InFlight* call, const grpc::Status& status) {
    tally_.Add(absl::ToDoubleMilliseconds(absl::Now() - call->sent), status);
    delete call;
    std::lock_guard lock(mu_);
    --active_;
  }

  const Options o_;
  std::unique_ptr<v1::LedgerService::Stub> stub_;
  const int64_t start_id_ = absl::ToUnixMicros(absl::Now());
  std::atomic<int64_t> next_id_{0};
  absl::Time start_, deadline_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  std::map<int, bool> caller_started_;
  int started_callers_ = 0;
  int64_t issued_ = 0, active_ = 0;
  Tally tally_;
};

// Register sales through the POS gateway; see the top of the file.
class Registers {
 public:
  Registers(const Options& o, std::shared_ptr<grpc::Channel> channel,
            std::vector<std::string> tokens)
      : o_(o),
        stub_(kura::pos::v1::PosGatewayService::NewStub(channel)),
        tokens_(std::move(tokens)) {}

  int Run() {
    start_ = absl::Now();
    const absl::Time end = start_ + o_.duration;
    if (o_.rate <= 0) {
      for (size_t r = 0; r < tokens_.size(); ++r) Send(r, absl::Now(), end);
    } else {
      // Open loop: the i-th sale is due at start + i / rate.
      for (int64_t i = 0;; ++i) {
        const absl::Time due = start_ + absl::Seconds(static_cast<double>(i) / o_.rate);
        if (due >= end) break;
        absl::SleepFor(due - absl::Now());
        Send(static_cast<size_t>(i) % tokens_.size(), due, absl::InfinitePast());
      }
    }
    {
      std::unique_lock lock(mu_);
      done_cv_.wait(lock, [&] { return active_ == 0; });
    }
    tally_.Print(o_.run, static_cast<int>(tokens_.size()), o_.items,
                 absl::ToDoubleSeconds(absl::Now() - start_));
    return 0;
  }

 private:
  struct Sale {
    grpc::ClientContext context;
    kura::pos::v1::SaleRequest request;
    kura::pos::v1::SaleResponse response;
    absl::Time due;
  };

  // Register `r`'s sale, due at `due`; in a closed loop (`until` in the future) the register's
  // next sale follows its answer until then.
  void Send(size_t r, absl::Time due, absl::Time until) {
    {
      std::lock_guard lock(mu_);
      ++active_;
    }
    thread_local std::mt19937_64 random{std::random_device{}()};
    auto* sale = new Sale();
    sale->due = due;
    sale->request.set_transaction_id(absl::StrCat("load-", start_id_, "-", next_id_++));
    sale->request.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    auto* line = sale->request.add_lines();
    line->set_sku(Sku(o_.first + static_cast<int>(random() % static_cast<uint64_t>(o_.items))));
    line->set_quantity(1);
    line->set_unit_price_yen(1000);
    auto* tender = sale->request.add_tenders();
    tender->set_kind(kura::pos::v1::TENDER_KIND_CASH);
    tender->set_amount_yen(10000);
    sale->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    sale->context.AddMetadata("authorization", "Bearer " + tokens_[r]);
    stub_->async()->Sale(&sale->context, &sale->request, &sale->response,
                         [this, sale, r, until](grpc::Status status) {
                           tally_.Add(absl::ToDoubleMilliseconds(absl::Now() - sale->due), status);
                           delete sale;
                           if (absl::Now() < until) Send(r, absl::Now(), until);
                           std::lock_guard lock(mu_);
                           if (--active_ == 0) done_cv_.notify_all();
                         });
  }

  const Options o_;
  std::unique_ptr<kura::pos::v1::PosGatewayService::Stub> stub_;
  const std::vector<std::string> tokens_;
  const int64_t start_id_ = absl::ToUnixMicros(absl::Now());
  std::atomic<int64_t> next_id_{0};
  absl::Time start_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  int64_t active_ = 0;
  Tally tally_;
};

// `propagate --rate R`: store changes at R a second for --duration, whether or not earlier ones
// have reached the platform (open loop), each one unit off one of the items in turn (so that an
// item's quantity only falls): a change has reached the platform when the item's quantity there
// is at most what it leaves. One watcher per item follows the platform's quantity (/sim/wait).
int PropagateAtRate(const Options& o, v1::LedgerService::Stub& ledger,
                    const std::vector<int64_t>& initial, int64_t run_id) {
  struct Seen {
    int64_t quantity, at_us;
  };
  std::mutex mu;
  std::vector<std::vector<Seen>> seen(initial.size());
  std::atomic<bool> watching = true;
  const absl::Time watch_from = absl::Now();
  std::vector<std::thread> watchers;
  for (size_t k = 0; k < initial.size(); ++k) {
    watchers.emplace_back([&, k] {
      httplib::Client sim(absl::StrCat("http://", o.sim));
      sim.set_read_timeout(std::chrono::seconds(5));
      // Every change the platform made after the start, each with its own time (a watcher
      // that polls late still learns when each value was set).
      int64_t since_us = absl::ToUnixMicros(watch_from);
      while (watching) {
        auto res =
            sim.Get(absl::StrCat("/sim/wait?item_id=", o.inventory_first + static_cast<int64_t>(k),
                                 "&since_us=", since_us, "&timeout_ms=500")
                        .c_str());
        if (!res || res->status != 200) continue;
        auto body = nlohmann::json::parse(res->body, nullptr, false);
        if (body.is_discarded() || !body.contains("changes")) continue;
        std::lock_guard lock(mu);
        for (const auto& change : body["changes"]) {
          seen[k].push_back({change[0].get<int64_t>(), change[1].get<int64_t>()});
          since_us = std::max(since_us, change[1].get<int64_t>());
        }
      }
    });
  }
  struct Change {
    size_t item;
    int64_t leaves;  // the item's quantity once this change (and those before it) applied
    absl::Time sent, committed;
    bool ok = false;
  };
  std::vector<Change> changes;
  std::vector<int64_t> sent_per_item(initial.size(), 0);
  const absl::Time start = absl::Now();
  for (int64_t i = 0;; ++i) {
    const absl::Time due = start + absl::Seconds(static_cast<double>(i) / o.rate);
    if (due >= start + o.duration) break;
    absl::SleepFor(due - absl::Now());
    const size_t k = static_cast<size_t>(i) % initial.size();
    v1::ApplyMovementsRequest request;
    request.set_request_id(absl::StrCat("propagate-", run_id, "-", i));
    auto* m = request.add_movements();
    m->set_kind(v1::MOVEMENT_KIND_ADJUST);
    m->set_sku(Sku(o.first + static_cast<int>(k)));
    m->set_location("bench-store");
    m->set_quantity(-1);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ApplyMovementsResponse response;
    Change change{k, initial[k] - ++sent_per_item[k], due, {}};
    change.ok = ledger.ApplyMovements(&context, request, &response).ok();
    change.committed = absl::Now();
    changes.push_back(change);
  }
  // Until every change has shown (or 10 s have passed).
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    {
      std::lock_guard lock(mu);
      bool all = true;
      for (size_t k = 0; k < initial.size(); ++k) {
        const int64_t target = initial[k] - sent_per_item[k];
        all = all && !seen[k].empty() && seen[k].back().quantity <= target;
      }
      if (all) break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  watching = false;
  for (auto& t : watchers) t.join();
  std::vector<double> commit_ms, shown_ms;
  int64_t failed = 0;
  for (const Change& c : changes) {
    const auto& item = seen[c.item];
    auto shown = std::find_if(item.begin(), item.end(),
                              [&](const Seen& s) { return s.quantity <= c.leaves; });
    if (!c.ok || shown == item.end()) {
      ++failed;
      continue;
    }
    commit_ms.push_back(absl::ToDoubleMilliseconds(c.committed - c.sent));
    shown_ms.push_back(absl::ToDoubleMilliseconds(absl::FromUnixMicros(shown->at_us) - c.sent));
  }
  const double seconds = absl::ToDoubleSeconds(o.duration);
  const auto ok = static_cast<int64_t>(shown_ms.size());
  PrintResult(o.run + "-commit", 1, static_cast<int>(initial.size()), ok, failed, seconds,
              commit_ms);
  PrintResult(o.run, 1, static_cast<int>(initial.size()), ok, failed, seconds, shown_ms);
  return failed == 0 ? 0 : 1;
}

// A store's stock change → the platform shows it; see the top of the file.
int Propagate(const Options& o, std::shared_ptr<grpc::Channel> channel) {
  auto ledger = v1::LedgerService::NewStub(channel);
  httplib::Client sim(absl::StrCat("http://", o.sim));
  sim.set_read_timeout(std::chrono::seconds(40));
  // GET /sim/wait: the item's quantity on the platform once it has one (other than `not_q`).
  auto wait = [&](int64_t inventory_item, const int64_t* not_q, int timeout_ms, int64_t* quantity,
                  int64_t* changed_at_us) {
    std::string path =
        absl::StrCat("/sim/wait?item_id=", inventory_item, "&timeout_ms=", timeout_ms);
    if (not_q != nullptr) absl::StrAppend(&path, "&not=", *not_q);
    auto res = sim.Get(path.c_str());
    if (!res || res->status != 200) return false;
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    if (body.is_discarded()) return false;
    *quantity = body.value("quantity", int64_t{0});
    *changed_at_us = body.value("changed_at_us", int64_t{0});
    return true;
  };
  std::vector<int64_t> shown(static_cast<size_t>(o.items));
  for (int k = 0; k < o.items; ++k) {  // the first push of every item
    int64_t at = 0;
    if (!wait(o.inventory_first + k, nullptr, 30000, &shown[static_cast<size_t>(k)], &at)) {
      std::fprintf(stderr, "propagate: the platform never showed inventory item %lld\n",
                   static_cast<long long>(o.inventory_first + k));
      return 1;
    }
  }
  const int64_t run_id = absl::ToUnixMicros(absl::Now());
  if (o.rate > 0) return PropagateAtRate(o, *ledger, shown, run_id);
  std::vector<double> commit_ms, shown_ms;
  int64_t failed = 0;
  const absl::Time start = absl::Now();
  for (int r = 0; r < o.rounds; ++r) {
    const int k = r % o.items;
    const int64_t before = shown[static_cast<size_t>(k)];
    v1::ApplyMovementsRequest request;
    request.set_request_id(absl::StrCat("propagate-", run_id, "-", r));
    auto* m = request.add_movements();
    m->set_kind(v1::MOVEMENT_KIND_ADJUST);
    m->set_sku(Sku(o.first + k));
    m->set_location("bench-store");
    m->set_quantity((r / o.items) % 2 == 0 ? 1 : -1);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ApplyMovementsResponse response;
    const absl::Time sent = absl::Now();
    grpc::Status status = ledger->ApplyMovements(&context, request, &response);
    const absl::Time committed = absl::Now();
    int64_t changed_at_us = 0;
    if (!status.ok() || !wait(o.inventory_first + k, &before, 5000, &shown[static_cast<size_t>(k)],
                              &changed_at_us)) {
      std::fprintf(
          stderr, "propagate: round %d failed (%s)\n", r,
          status.ok() ? "the platform did not change within 5 s" : status.error_message().c_str());
      ++failed;
    } else {
      commit_ms.push_back(absl::ToDoubleMilliseconds(committed - sent));
      shown_ms.push_back(absl::ToDoubleMilliseconds(absl::FromUnixMicros(changed_at_us) - sent));
    }
    absl::SleepFor(sent + o.interval - absl::Now());
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const auto ok = static_cast<int64_t>(shown_ms.size());
  PrintResult(o.run + "-commit", 1, o.items, ok, failed, seconds, commit_ms);
  PrintResult(o.run, 1, o.items, ok, failed, seconds, shown_ms);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  Options o;
  o.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    std::string v = argv[++i];
    bool ok = true;
    if (a == "--addr") {
      o.addr = v;
    } else if (a == "--items") {
      ok = absl::SimpleAtoi(v, &o.items) && o.items > 0;
    } else if (a == "--first") {
      ok = absl::SimpleAtoi(v, &o.first) && o.first >= 0;
    } else if (a == "--callers") {
      ok = absl::SimpleAtoi(v, &o.callers) && o.callers > 0;
    } else if (a == "--requests") {
      ok = absl::SimpleAtoi(v, &o.requests) && o.requests > 0;
    } else if (a == "--duration") {
      ok = absl::ParseDuration(v, &o.duration) && o.duration > absl::ZeroDuration();
    } else if (a == "--quantity") {
      ok = absl::SimpleAtoi(v, &o.quantity) && o.quantity > 0;
    } else if (a == "--stock") {
      ok = absl::SimpleAtoi(v, &o.stock) && o.stock > 0;
    } else if (a == "--run") {
      o.run = v;
    } else if (a == "--sim") {
      o.sim = v;
    } else if (a == "--inventory-first") {
      ok = absl::SimpleAtoi(v, &o.inventory_first) && o.inventory_first > 0;
    } else if (a == "--rounds") {
      ok = absl::SimpleAtoi(v, &o.rounds) && o.rounds > 0;
    } else if (a == "--tokens") {
      o.tokens = v;
    } else if (a == "--rate") {
      ok = absl::SimpleAtod(v, &o.rate) && o.rate >= 0;
    } else if (a == "--interval") {
      ok = absl::ParseDuration(v, &o.interval) && o.interval >= absl::ZeroDuration();
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "kura-load: bad option %s %s\n", a.c_str(), v.c_str());
      return Usage();
    }
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1000);
  auto channel = grpc::CreateCustomChannel(o.addr, grpc::InsecureChannelCredentials(), args);
  if (o.command == "seed") return Seed(o, channel);
  if (o.command == "holds" || o.command == "sales" || o.command == "mixed") {
    return Load(o, channel).Run();
  }
  if (o.command == "register" && !o.tokens.empty()) {
    std::ifstream in(o.tokens);
    std::vector<std::string> tokens;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) tokens.push_back(line);
    }
    if (tokens.empty()) {
      std::fprintf(stderr, "kura-load: no terminal tokens in %s\n", o.tokens.c_str());
      return 2;
    }
    return Registers(o, channel, std::move(tokens)).Run();
  }
  if (o.command == "propagate" && !o.sim.empty() && o.inventory_first > 0) {
    return Propagate(o, channel);
  }
  return Usage();
}
