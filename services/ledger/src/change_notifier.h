#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace kura::ledger {

/// Listens for the ledger's change notifications (PostgreSQL LISTEN on a connection of its own,
/// reconnecting when it breaks) and wakes the change-feed streams waiting for new events.
/// Thread-safe.
class ChangeNotifier {
 public:
  /// Starts listening with `conninfo`.
  explicit ChangeNotifier(std::string conninfo);
  /// Stops listening and wakes every waiter.
  ~ChangeNotifier();

  /// Waits until an event after `sequence` may exist, `timeout` passes or Stop is called;
  /// returns false once stopped.
  bool WaitAfter(int64_t sequence, absl::Duration timeout);
  /// Wakes all waiters for good (the server is draining).
  void Stop();

 private:
  void Loop();

  const std::string conninfo_;
  std::mutex mu_;
  std::condition_variable changed_;
  int64_t head_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kura::ledger
