#pragma once

#include <map>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients.h"
#include "kura/base/clock.h"
#include "kura/pg/database.h"

namespace kura::connector {

/// Counts the pusher reports to metrics.
class PushObserver {
 public:
  virtual ~PushObserver() = default;
  virtual void Pushed(const std::string& platform, const std::string& result) = 0;
  /// Ledger commit to platform acknowledgement.
  virtual void SyncLag(absl::Duration lag) = 0;
};

/// Availability out: follows the ledger's change feed from a durable cursor, works out each
/// connected channel's available to promise for the items that changed, and pushes it to the
/// platform, coalesced per (channel, item), newest value only, within the platform's rate
/// limit, retrying throttling and failures with backoff and jitter. Thread-safe; replicas share
/// the work through row locks (SKIP LOCKED).
class Pusher {
 public:
  Pusher(pg::Database& db, const Clock& clock, const Clients& clients, PushObserver& observer)
      : db_(db), clock_(clock), clients_(clients), observer_(observer) {}

  /// Reads the next page of the feed and records what changed. Returns how many events it read.
  absl::StatusOr<int> Follow();
  /// Pushes the next due (channel, item), if any. Returns whether there was one.
  absl::StatusOr<bool> PushNext();

 private:
  // Waits for the channel's rate limit.
  void Pace(const std::string& channel, double requests_per_second);

  pg::Database& db_;
  const Clock& clock_;
  const Clients& clients_;
  PushObserver& observer_;
  std::mutex pace_mu_;
  std::map<std::string, absl::Time> next_slot_;  // per channel
};

}  // namespace kura::connector
