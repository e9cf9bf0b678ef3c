#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "call_bucket.h"
#include "clients.h"
#include "connector.h"
#include "kura/base/clock.h"
#include "kura/pg/database.h"
#include "push_store.h"

namespace kura::connector {

/// Counts the pusher reports to metrics.
class PushObserver {
 public:
  virtual ~PushObserver() = default;
  virtual void Pushed(const std::string& platform, const std::string& result) = 0;
  /// Ledger commit to platform acknowledgement.
  virtual void SyncLag(const std::string& platform, absl::Duration lag) = 0;
};

/// Availability out: follows the ledger's change feed from a durable cursor, works out each
/// connected channel's available to promise for the items that changed, and pushes it to the
/// platform, coalesced per (channel, item), newest value only, many items a call, within the
/// platform's rate limit, retrying throttling and failures with backoff and jitter. No
/// transaction is open while the ledger or a platform is called: the follower reads, calls, then
/// commits what it worked out if the cursor has not moved; a pusher claims due pushes (a lease),
/// calls, then records the results under its claim. Thread-safe; replicas share the work.
class Pusher {
 public:
  Pusher(pg::Database& db, const Clock& clock, const Clients& clients, PushObserver& observer)
      : store_(db), clock_(clock), clients_(clients), observer_(observer) {}

  /// The sequence of the last feed event recorded.
  absl::StatusOr<int64_t> Cursor() { return store_.Cursor(); }
  /// Reads the next page of the feed and records what changed. Returns how many events (and
  /// refresh requests) it recorded.
  absl::StatusOr<int> Follow();
  /// Pushes the next due batch of one channel, if any. Returns whether there was one.
  absl::StatusOr<bool> PushNext();
  /// When the next push waiting for a retry comes due (none: nothing waits); not before the
  /// earliest turn of a pusher waiting for a channel's budget.
  absl::StatusOr<std::optional<absl::Time>> NextDue();

 private:
  // Takes a call from the channel's bucket: how long until its turn (callers queue in order).
  absl::Duration Reserve(const std::string& channel, const RateLimit& limit);
  // For a claim's first call: how long until its turn — unless another pusher already waits for
  // the channel's next turn: then `waiter_turn` is when that comes (that pusher takes on this
  // claim's values then). A pusher that gets a wait is the channel's waiter until Waited.
  struct FirstTurn {
    absl::Duration wait;
    std::optional<absl::Time> waiter_turn;
  };
  FirstTurn ReserveFirst(const std::string& channel, const RateLimit& limit);
  void Waited(const std::string& channel);
  // Reserve, then wait for the turn.
  void Pace(const std::string& channel, const RateLimit& limit);
  // Follows the budget a platform reported with its answer.
  void Learn(const std::string& channel, const RateLimit& limit,
             const std::vector<PushResult>& answered);

  PushStore store_;
  const Clock& clock_;
  const Clients& clients_;
  PushObserver& observer_;
  std::mutex pace_mu_;
  std::map<std::string, CallBucket> buckets_;  // per channel
  std::map<std::string, absl::Time> waiting_;  // channel → when its waiting pusher's turn comes
};

}  // namespace kura::connector
