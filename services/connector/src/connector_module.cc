#include "connector_module.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <pqxx/pqxx>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "admin.h"
#include "canceller.h"
#include "inbox.h"
#include "kura/base/error.h"
#include "kura/base/status_macros.h"
#include "kura/connector/v1/admin.grpc.pb.h"
#include "kura/log/log.h"
#include "kura/rpc/serve.h"
#include "kura/server/periodic.h"
#include "pusher.h"
#include "reconciler.h"

namespace kura::connector {
namespace {

struct ConnectorMetrics final : InboxObserver, PushObserver {
  explicit ConnectorMetrics(prometheus::Registry& registry)
      : webhooks(prometheus::BuildCounter()
                     .Name("kura_connector_webhooks_total")
                     .Help("Webhook deliveries received, by platform and result (accepted, "
                           "duplicate, ping, bad_signature, malformed, unknown_webhook, error).")
                     .Register(registry)),
        inbox_depth(prometheus::BuildGauge()
                        .Name("kura_connector_inbox_depth")
                        .Help("Deliveries waiting to be applied.")
                        .Register(registry)
                        .Add({})),
        inbox_oldest(prometheus::BuildGauge()
                         .Name("kura_connector_inbox_oldest_seconds")
                         .Help("Age of the oldest delivery waiting to be applied.")
                         .Register(registry)
                         .Add({})),
        processing(
            prometheus::BuildHistogram()
                .Name("kura_connector_processing_seconds")
                .Help("Time to apply one delivery (reservation and ledger calls).")
                .Register(registry)
                .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                 0.05, 0.1, 0.25, 0.5, 1, 2.5})),
        dead_letters(prometheus::BuildCounter()
                         .Name("kura_connector_dead_letters_total")
                         .Help("Deliveries that could not be applied, by reason.")
                         .Register(registry)),
        pushes(prometheus::BuildCounter()
                   .Name("kura_connector_pushes_total")
                   .Help("Availability pushes, by platform and result (applied, stale, "
                         "throttled, failed, rejected, skipped).")
                   .Register(registry)),
        drifts_open(prometheus::BuildGauge()
                        .Name("kura_connector_drift_incidents_open")
                        .Help("Open drift incidents (items frozen on a channel).")
                        .Register(registry)
                        .Add({})),
        drifts_opened(prometheus::BuildCounter()
                          .Name("kura_connector_drift_incidents_opened_total")
                          .Help("Drift incidents opened by reconciliation.")
                          .Register(registry)
                          .Add({})),
        sync_lag(prometheus::BuildHistogram()
                     .Name("kura_connector_sync_lag_seconds")
                     .Help("Ledger commit to platform acknowledgement of the new quantity, by "
                           "platform.")
                     .Register(registry)),
        received_to_applied(prometheus::BuildHistogram()
                                .Name("kura_connector_webhook_to_applied_seconds")
                                .Help("From a delivery's arrival until it was applied (or ended), "
                                      "by platform.")
                                .Register(registry)),
        unfulfillable(prometheus::BuildCounter()
                          .Name("kura_connector_orders_unfulfillable_total")
                          .Help("Orders the platform accepted that the stock could not cover, "
                                "kept as UNFULFILLABLE, by platform.")
                          .Register(registry)),
        platform_cancels(prometheus::BuildCounter()
                             .Name("kura_connector_platform_cancels_total")
                             .Help("Unfulfillable orders cancelled on their platform, by platform "
                                   "and result (cancelled, retry, failed).")
                             .Register(registry)) {}

  void DeadLettered(const std::string& reason) override {
    dead_letters.Add({{"reason", reason}}).Increment();
  }
  void Processed(const std::string& platform, absl::Duration took,
                 absl::Duration since_received) override {
    processing.Observe(absl::ToDoubleSeconds(took));
    static const prometheus::Histogram::BucketBoundaries kBuckets{
        0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
    received_to_applied.Add({{"platform", platform}}, kBuckets)
        .Observe(absl::ToDoubleSeconds(since_received));
  }
  void Unfulfillable(const std::string& platform) override {
    unfulfillable.Add({{"platform", platform}}).Increment();
  }
  void Pushed(const std::string& platform, const std::string& result) override {
    pushes.Add({{"platform", platform}, {"result", result}}).Increment();
  }
  void SyncLag(const std::string& platform, absl::Duration lag) override {
    static const prometheus::Histogram::BucketBoundaries kBuckets{
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    sync_lag.Add({{"platform", platform}}, kBuckets).Observe(absl::ToDoubleSeconds(lag));
  }

  prometheus::Family<prometheus::Counter>& webhooks;
  prometheus::Gauge& inbox_depth;
  prometheus::Gauge& inbox_oldest;
  prometheus::Histogram& processing;
  prometheus::Family<prometheus::Counter>& dead_letters;
  prometheus::Family<prometheus::Counter>& pushes;
  prometheus::Gauge& drifts_open;
  prometheus::Counter& drifts_opened;
  prometheus::Family<prometheus::Histogram>& sync_lag;
  prometheus::Family<prometheus::Histogram>& received_to_applied;
  prometheus::Family<prometheus::Counter>& unfulfillable;
  prometheus::Family<prometheus::Counter>& platform_cancels;
};

class AdminGrpc final : public v1::ConnectorAdminService::Service {
 public:
  // `changed` is called after a request that may have given the workers something to do (a
  // mapping to push, a delivery to retry, a drift resolved).
  AdminGrpc(Admin& admin, Reconciler& reconciler, std::string domain, std::function<void()> changed)
      : a_(admin), r_(reconciler), d_(std::move(domain)), changed_(std::move(changed)) {}

#define KURA_ADMIN_RPC(Name, Field, expr)                                   \
  grpc::Status Name(grpc::ServerContext* ctx, const v1::Name##Request* req, \
                    v1::Name##Response* resp) override {                    \
    return Changed(rpc::Serve(                                              \
        ctx, d_, resp, [&]() -> absl::StatusOr<v1::Name##Response> {        \
          v1::Name##Response out;                                           \
          ASSIGN_OR_RETURN(*out.mutable_##Field(), expr);                   \
          return out;                                                       \
        }));                                                                \
  }
  KURA_ADMIN_RPC(SetConnection, connection, a_.SetConnection(*req))
  KURA_ADMIN_RPC(GetConnection, connection, a_.GetConnection(req->channel()))
  KURA_ADMIN_RPC(SetItemMapping, mapping, a_.SetItemMapping(*req))
  KURA_ADMIN_RPC(SetLocationMapping, mapping, a_.SetLocationMapping(*req))
  KURA_ADMIN_RPC(ResolveDrift, incident, r_.Resolve(*req))
#undef KURA_ADMIN_RPC

  grpc::Status Reconcile(grpc::ServerContext* ctx, const v1::ReconcileRequest* req,
                         v1::ReconcileResponse* resp) override {
    return Changed(rpc::Serve(ctx, d_, resp, [&] { return r_.Reconcile(req->channel()); }));
  }
  grpc::Status ListDrifts(grpc::ServerContext* ctx, const v1::ListDriftsRequest* req,
                          v1::ListDriftsResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return r_.List(req->state()); });
  }
  grpc::Status ListConnections(grpc::ServerContext* ctx, const v1::ListConnectionsRequest*,
                               v1::ListConnectionsResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return a_.ListConnections(); });
  }
  grpc::Status ListItemMappings(grpc::ServerContext* ctx, const v1::ListItemMappingsRequest* req,
                                v1::ListItemMappingsResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return a_.ListItemMappings(req->channel()); });
  }
  grpc::Status ListLocationMappings(grpc::ServerContext* ctx,
                                    const v1::ListLocationMappingsRequest* req,
                                    v1::ListLocationMappingsResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return a_.ListLocationMappings(req->channel()); });
  }
  grpc::Status ListDeadLetters(grpc::ServerContext* ctx, const v1::ListDeadLettersRequest* req,
                               v1::ListDeadLettersResponse* resp) override {
    return rpc::Serve(ctx, d_, resp, [&] { return a_.ListDeadLetters(*req); });
  }
  grpc::Status DeleteItemMapping(grpc::ServerContext* ctx, const v1::DeleteItemMappingRequest* req,
                                 v1::DeleteItemMappingResponse* resp) override {
    return Changed(
        rpc::Serve(ctx, d_, resp, [&]() -> absl::StatusOr<v1::DeleteItemMappingResponse> {
          RETURN_IF_ERROR(a_.DeleteItemMapping(*req));
          return v1::DeleteItemMappingResponse();
        }));
  }
  grpc::Status RetryDeadLetter(grpc::ServerContext* ctx, const v1::RetryDeadLetterRequest* req,
                               v1::RetryDeadLetterResponse* resp) override {
    return Changed(rpc::Serve(ctx, d_, resp, [&]() -> absl::StatusOr<v1::RetryDeadLetterResponse> {
      RETURN_IF_ERROR(a_.RetryDeadLetter(req->dead_letter_id()));
      return v1::RetryDeadLetterResponse();
    }));
  }

 private:
  grpc::Status Changed(grpc::Status status) {
    if (status.ok()) changed_();
    return status;
  }

  Admin& a_;
  Reconciler& r_;
  std::string d_;
  std::function<void()> changed_;
};

constexpr int kWebhookThreads = 64;

// cpp-httplib (as Debian builds it) listens with a backlog of 5: a burst of platform deliveries
// overflows it and connections hang until the sender times out. Linux lets a listening socket
// be given a larger backlog by calling listen() again, so find ours and do that.
void WidenBacklog(int port) {
  for (int fd = 0; fd < 1024; ++fd) {
    int listening = 0;
    socklen_t size = sizeof(listening);
    sockaddr_storage address{};
    socklen_t address_size = sizeof(address);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || !listening ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_size) != 0) {
      continue;
    }
    int bound = -1;
    if (address.ss_family == AF_INET) {
      bound = ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
    } else if (address.ss_family == AF_INET6) {
      bound = ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
    }
    if (bound == port) ::listen(fd, SOMAXCONN);
  }
}

class ConnectorModule final : public server::ServiceModule {
 public:
  ConnectorModule(server::ServiceContext& context, const std::string& reservation_addr,
                  const std::string& ledger_addr, absl::Duration call_timeout, int workers,
                  int max_attempts, absl::Duration poll_interval, int push_workers,
                  absl::Duration reconcile_interval, absl::Duration drift_confirm_after)
      : metrics_(context.metrics),
        clients_(grpc::CreateChannel(reservation_addr, grpc::InsecureChannelCredentials()),
                 grpc::CreateChannel(ledger_addr, grpc::InsecureChannelCredentials()),
                 call_timeout),
        inbox_(context.db, context.clock, clients_, max_attempts, metrics_),
        admin_(context.db, context.clock, clients_),
        reconciler_(context.db, context.clock, clients_, drift_confirm_after),
        admin_grpc_(admin_, reconciler_, context.error_domain, [this] { WakeAll(); }),
        pusher_(context.db, context.clock, clients_, metrics_),
        canceller_(context.db, context.clock,
                   [this](const std::string& platform, const std::string& result) {
                     metrics_.platform_cancels.Add({{"platform", platform}, {"result", result}})
                         .Increment();
                   }),
        db_(context.db),
        poll_interval_(poll_interval),
        push_workers_(push_workers),
        confirm_after_(drift_confirm_after) {
    inbox_.OnLevelChanged([this](const std::string& channel, const std::set<std::string>& skus) {
      ScheduleCheck({channel, skus, 0}, absl::ZeroDuration());
    });
    inbox_.OnUnfulfillable([this] { Notify(cancel_wake_, 1); });
    workers_.emplace_back([this] {
      Loop([this] { return canceller_.CancelNext(); }, "cancel", cancel_wake_,
           [this] { return canceller_.NextDue(); });
    });
    for (int i = 0; i < workers; ++i) {
      workers_.emplace_back([this] {
        Loop(
            [this]() -> absl::StatusOr<bool> {
              ASSIGN_OR_RETURN(bool processed, inbox_.ProcessNext());
              if (processed) Notify(feed_wake_, 1);  // its items are pushed afresh
              return processed;
            },
            "inbox", inbox_wake_, [this] { return inbox_.NextDue(); });
      });
    }
    workers_.emplace_back([this] {
      Loop(
          [this]() -> absl::StatusOr<bool> {
            ASSIGN_OR_RETURN(int events, pusher_.Follow());
            if (events > 0) Notify(push_wake_, push_workers_);  // values to push, perhaps
            return events > 0;
          },
          "feed", feed_wake_);
    });
    for (int i = 0; i < push_workers; ++i) {
      workers_.emplace_back([this] {
        Loop([this] { return pusher_.PushNext(); }, "push", push_wake_,
             [this] { return pusher_.NextDue(); });
      });
    }
    workers_.emplace_back([this] { WatchFeed(); });
    workers_.emplace_back([this] { CheckLevels(); });
    gauges_ = std::make_unique<server::Periodic>(absl::Seconds(1), [this] { UpdateGauges(); });
    reconcile_ = std::make_unique<server::Periodic>(reconcile_interval, [this] {
      auto pass = reconciler_.Reconcile("");
      if (pass.ok() && pass->opened() > 0) Notify(push_wake_, push_workers_);
      if (!pass.ok()) {
        log::Warn("reconciliation failed", {{"error", std::string(pass.status().message())}});
      } else {
        metrics_.drifts_opened.Increment(pass->opened());
      }
    });
  }

  ~ConnectorModule() override { Stop(); }

  /// Binds the webhook listener; fails start-up when the port is taken.
  absl::Status Listen(const std::string& listen) {
    std::pair<std::string, std::string> hp = absl::StrSplit(listen, absl::MaxSplits(':', 1));
    int port = 0;
    if (!absl::SimpleAtoi(hp.second, &port) || port < 0 || port > 65535) {
      return MakeError(absl::StatusCode::kInvalidArgument, "CONFIG_INVALID",
                       "config: webhook_listen must be HOST:PORT");
    }
    http_.Post(R"(/webhooks/([a-z0-9_-]+)/([a-z0-9_-]+))",
               [this](const httplib::Request& req, httplib::Response& res) { Webhook(req, res); });
    http_.set_payload_max_length(4 << 20);
    // A connection keeps its thread while it is kept alive: enough threads for the platforms'
    // concurrent deliveries, each answered as soon as it is stored.
    http_.new_task_queue = [] { return new httplib::ThreadPool(kWebhookThreads); };
    http_.set_keep_alive_timeout(5);
    http_.set_tcp_nodelay(true);  // else Nagle and delayed ACKs add ~40 ms to an answer
    // Port 0 takes any free port (tests).
    const int bound = port == 0                            ? http_.bind_to_any_port(hp.first)
                      : http_.bind_to_port(hp.first, port) ? port
                                                           : -1;
    if (bound <= 0) {
      return MakeError(absl::StatusCode::kUnavailable, "LISTEN_FAILED",
                       absl::StrCat("cannot listen for webhooks on ", listen));
    }
    WidenBacklog(bound);
    http_thread_ = std::thread([this] { http_.listen_after_bind(); });
    // stop() has no effect before the server runs: wait for it, so that Stop never hangs.
    for (int i = 0; i < 500 && !http_.is_running(); ++i) absl::SleepFor(absl::Milliseconds(10));
    log::Info("webhooks listening", {{"address", absl::StrCat(hp.first, ":", bound)}});
    return absl::OkStatus();
  }

  void Register(grpc::ServerBuilder& builder) override { builder.RegisterService(&admin_grpc_); }

  void Draining() override { http_.stop(); }

  void Stop() override {
    http_.stop();
    if (http_thread_.joinable()) http_thread_.join();
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      if (watch_ != nullptr) watch_->TryCancel();
    }
    for (Wakeup* w : {&inbox_wake_, &feed_wake_, &push_wake_, &cancel_wake_}) w->cv.notify_all();
    checks_cv_.notify_all();
    watch_cv_.notify_all();
    for (auto& t : workers_) {
      if (t.joinable()) t.join();
    }
    workers_.clear();
    gauges_.reset();
    reconcile_.reset();
  }

 private:
  void Webhook(const httplib::Request& req, httplib::Response& res) {
    WebhookRequest request;
    for (const auto& [name, value] : req.headers)
      request.headers[absl::AsciiStrToLower(name)] = value;
    request.body = req.body;
    const std::string platform = req.matches[1], channel = req.matches[2];
    Reception reception = inbox_.Receive(platform, channel, std::move(request));
    metrics_.webhooks.Add({{"platform", platform}, {"result", reception.result}}).Increment();
    res.status = reception.http_status;
    res.set_content(reception.result + "\n", "text/plain");
    if (reception.result == "accepted") Notify(inbox_wake_, 1);
  }

  // The workers of one kind wait here when they found nothing to do. A wake-up given while none
  // waits is kept for the next to wait, so that none is lost between a step and its wait.
  struct Wakeup {
    std::condition_variable cv;
    int pending = 0;  // guarded by mu_
  };

  // Wakes `n` workers waiting on `w` (all of them when n > 1).
  void Notify(Wakeup& w, int n) {
    {
      std::lock_guard lock(mu_);
      w.pending = std::min(w.pending + n, 64);
    }
    if (n > 1) {
      w.cv.notify_all();
    } else {
      w.cv.notify_one();
    }
  }

  // Wakes every worker: an operator's change may have given any of them work.
  void WakeAll() {
    Notify(inbox_wake_, 1);
    Notify(feed_wake_, 1);
    Notify(push_wake_, push_workers_);
  }

  // Runs `step` until stopped. When it found nothing, waits for a wake-up on `w` (the event that
  // gives it work: a webhook stored, the ledger's feed moved, values to push), for what waits to
  // come due (`next_due`, retries), or, as a safety net, the poll interval.
  void Loop(const std::function<absl::StatusOr<bool>()>& step, const char* name, Wakeup& w,
            const std::function<absl::StatusOr<std::optional<absl::Time>>()>& next_due = {}) {
    while (true) {
      auto processed = step();
      if (!processed.ok()) {
        log::Warn("connector worker",
                  {{"worker", name}, {"error", std::string(processed.status().message())}});
      }
      if (processed.ok() && *processed) {
        std::lock_guard lock(mu_);
        if (stop_) return;
        continue;
      }
      absl::Duration wait = poll_interval_;
      if (next_due && processed.ok()) {
        auto due = next_due();
        if (due.ok() && due->has_value()) {
          wait = std::clamp(**due - absl::Now(), absl::Milliseconds(5), poll_interval_);
        }
      }
      std::unique_lock lock(mu_);
      if (stop_) return;
      w.cv.wait_for(lock, absl::ToChronoNanoseconds(wait), [&] { return stop_ || w.pending > 0; });
      if (stop_) return;
      if (w.pending > 0) --w.pending;
    }
  }

  // Items of a channel to check against the platform (their level there was reported changed).
  struct LevelCheck {
    std::string channel;
    std::set<std::string> skus;
    int round;  // checks made so far
  };

  void ScheduleCheck(LevelCheck check, absl::Duration after) {
    {
      std::lock_guard lock(mu_);
      checks_.emplace(absl::Now() + after, std::move(check));
    }
    checks_cv_.notify_one();
  }

  // Checks items whose level an inventory webhook reported changed (Shopify
  // inventory_levels/update) against the platform at once, under the drift rules: a mismatch is
  // suspected, then checked again when it may be confirmed (drift_confirm_after), up to 20
  // times while it stays only suspected (a platform sale's order on its way looks the same).
  void CheckLevels() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (checks_.empty()) {
        checks_cv_.wait(lock);
        continue;
      }
      const absl::Time due = checks_.begin()->first;
      if (due > absl::Now()) {
        checks_cv_.wait_for(lock, absl::ToChronoNanoseconds(due - absl::Now()));
        continue;
      }
      LevelCheck check = std::move(checks_.begin()->second);
      checks_.erase(checks_.begin());
      lock.unlock();
      auto pass = reconciler_.Reconcile(check.channel, check.skus);
      if (!pass.ok()) {
        log::Warn("checking a platform's reported level failed",
                  {{"channel", check.channel}, {"error", std::string(pass.status().message())}});
      } else {
        if (pass->opened() > 0) Notify(push_wake_, push_workers_);
        if (pass->suspected() > 0 && ++check.round < 20) {
          ScheduleCheck(std::move(check), confirm_after_ + absl::Milliseconds(100));
        }
      }
      lock.lock();
    }
  }

  // Follows the ledger's change feed as it commits (ChangeFeedService.WatchChanges, which the
  // ledger drives from PostgreSQL notifications) and wakes the feed follower for each event; the
  // follower reads and records them from its durable cursor. Reconnects after a second when the
  // stream ends (the ledger restarting, say); meanwhile the follower's poll keeps the feed read.
  void WatchFeed() {
    int64_t after = -1;
    bool warned = false;
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      std::string error;
      if (after < 0) {
        auto cursor = pusher_.Cursor();
        if (cursor.ok()) {
          after = *cursor;
        } else {
          error = std::string(cursor.status().message());
        }
      }
      if (after >= 0) {
        grpc::ClientContext context;
        {
          std::lock_guard lock(mu_);
          if (stop_) return;
          watch_ = &context;
        }
        ledger_v1::WatchChangesRequest request;
        request.set_after_sequence(after);
        auto stream = clients_.feed->WatchChanges(&context, request);
        ledger_v1::WatchChangesResponse event;
        while (stream->Read(&event)) {
          after = event.event().sequence();
          if (warned) log::Info("following the ledger's change feed again");
          warned = false;
          Notify(feed_wake_, 1);
        }
        const grpc::Status status = stream->Finish();
        std::lock_guard lock(mu_);
        watch_ = nullptr;
        if (stop_) return;
        error = status.error_message();
      }
      if (!warned)
        log::Warn("watching the ledger's change feed failed; retrying", {{"error", error}});
      warned = true;
      std::unique_lock lock(mu_);
      if (watch_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; })) return;
    }
  }

  void UpdateGauges() {
    auto depth = db_.Run<std::tuple<double, double, double>>(
        [](pqxx::connection& c) -> absl::StatusOr<std::tuple<double, double, double>> {
          pqxx::nontransaction tx(c);
          auto r = tx.exec1(
              "SELECT count(*), coalesce(extract(epoch FROM now() - min(received_at)), 0), "
              "(SELECT count(*) FROM drift_incidents WHERE state = 0) "
              "FROM inbox WHERE state = 0");
          return std::make_tuple(r[0].as<double>(), r[1].as<double>(), r[2].as<double>());
        });
    if (!depth.ok()) return;
    metrics_.inbox_depth.Set(std::get<0>(*depth));
    metrics_.inbox_oldest.Set(std::get<1>(*depth));
    metrics_.drifts_open.Set(std::get<2>(*depth));
  }

  ConnectorMetrics metrics_;
  Clients clients_;
  Inbox inbox_;
  Admin admin_;
  Reconciler reconciler_;
  AdminGrpc admin_grpc_;
  Pusher pusher_;
  Canceller canceller_;
  pg::Database& db_;
  const absl::Duration poll_interval_;
  const int push_workers_;
  const absl::Duration confirm_after_;
  std::multimap<absl::Time, LevelCheck> checks_;  // by when due, guarded by mu_
  std::condition_variable checks_cv_;
  httplib::Server http_;
  std::thread http_thread_;
  std::mutex mu_;
  bool stop_ = false;
  Wakeup inbox_wake_, feed_wake_, push_wake_, cancel_wake_;
  grpc::ClientContext* watch_ = nullptr;  // the feed watch under way, guarded by mu_
  std::condition_variable watch_cv_;      // its wait before reconnecting
  std::vector<std::thread> workers_;
  std::unique_ptr<server::Periodic> gauges_;
  std::unique_ptr<server::Periodic> reconcile_;
};

}  // namespace

std::map<std::string, std::string> ConnectorDefaults() {
  return {{"webhook_listen", "0.0.0.0:8080"},
          {"reservation_addr", "127.0.0.1:7102"},
          {"ledger_addr", "127.0.0.1:7101"},
          {"call_timeout", "5s"},
          {"inbox_workers", "16"},
          {"inbox_max_attempts", "12"},
          {"inbox_poll_interval", "200ms"},
          {"push_workers", "2"},
          {"reconcile_interval", "5m"},
          {"drift_confirm_after", "2m"}};
}

absl::StatusOr<std::unique_ptr<server::ServiceModule>> MakeConnectorModule(
    server::ServiceContext& context) {
  ASSIGN_OR_RETURN(std::string reservation, context.config.GetRequiredString("reservation_addr"));
  ASSIGN_OR_RETURN(std::string ledger, context.config.GetRequiredString("ledger_addr"));
  ASSIGN_OR_RETURN(std::string listen, context.config.GetRequiredString("webhook_listen"));
  ASSIGN_OR_RETURN(
      absl::Duration timeout,
      context.config.GetDuration("call_timeout", absl::Milliseconds(100), absl::Minutes(1)));
  ASSIGN_OR_RETURN(int64_t workers, context.config.GetInt("inbox_workers", 1, 256));
  ASSIGN_OR_RETURN(int64_t attempts, context.config.GetInt("inbox_max_attempts", 1, 100));
  ASSIGN_OR_RETURN(
      absl::Duration poll,
      context.config.GetDuration("inbox_poll_interval", absl::Milliseconds(10), absl::Minutes(1)));
  ASSIGN_OR_RETURN(int64_t push_workers, context.config.GetInt("push_workers", 1, 64));
  ASSIGN_OR_RETURN(
      absl::Duration reconcile,
      context.config.GetDuration("reconcile_interval", absl::Seconds(1), absl::Hours(24)));
  ASSIGN_OR_RETURN(
      absl::Duration confirm,
      context.config.GetDuration("drift_confirm_after", absl::ZeroDuration(), absl::Hours(24)));
  auto module = std::make_unique<ConnectorModule>(
      context, reservation, ledger, timeout, static_cast<int>(workers), static_cast<int>(attempts),
      poll, static_cast<int>(push_workers), reconcile, confirm);
  RETURN_IF_ERROR(module->Listen(listen));
  return module;
}

}  // namespace kura::connector
