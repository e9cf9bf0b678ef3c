#include "change_notifier.h"

#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "kura/log/log.h"
#include "storage/feed_store.h"

namespace kura::ledger {
namespace {

constexpr const char* kChannel = "kura_ledger_changes";

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, std::function<void(int64_t)> on_head)
      : pqxx::notification_receiver(conn, kChannel), on_head_(std::move(on_head)) {}
  void operator()(const std::string& payload, int) override {
    int64_t head = 0;
    if (absl::SimpleAtoi(payload, &head)) on_head_(head);
  }

 private:
  std::function<void(int64_t)> on_head_;
};

}  // namespace

ChangeNotifier::ChangeNotifier(std::string conninfo)
    : conninfo_(std::move(conninfo)), thread_([this] { Loop(); }) {}

ChangeNotifier::~ChangeNotifier() {
  Stop();
  thread_.join();
}

void ChangeNotifier::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  changed_.notify_all();
}

bool ChangeNotifier::WaitAfter(int64_t sequence, absl::Duration timeout) {
  std::unique_lock lock(mu_);
  changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                    [&] { return stopped_ || head_ > sequence; });
  return !stopped_;
}

void ChangeNotifier::Loop() {
  auto publish = [this](int64_t head) {
    {
      std::lock_guard lock(mu_);
      head_ = std::max(head_, head);
    }
    changed_.notify_all();
  };
  bool warned = false;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
    }
    try {
      pqxx::connection conn(conninfo_);
      Receiver receiver(conn, publish);
      // Anything committed before LISTEN took effect is found by the streams' own query; tell
      // them where the feed stands now.
      {
        pqxx::nontransaction tx(conn);
        publish(storage::FeedHead(tx));
      }
      if (warned) log::Info("change notifications listening again");
      warned = false;
      while (true) {
        {
          std::lock_guard lock(mu_);
          if (stopped_) return;
        }
        conn.await_notification(0, 200'000);
      }
    } catch (const std::exception& e) {
      if (!warned) log::Warn("change notifications lost; retrying", {{"error", e.what()}});
      warned = true;
      std::unique_lock lock(mu_);
      changed_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopped_; });
    }
  }
}

}  // namespace kura::ledger
