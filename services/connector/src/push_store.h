#pragma once

// The pusher's storage: the feed cursor, the values to offer per (channel, item), and the claims
// under which pushers call the platforms. Each call here is one short transaction (or a plain
// read); none is held while a platform or the ledger is called.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connector.h"
#include "kura/pg/database.h"

namespace kura::connector {

/// A request to work an item out afresh (its mapping or connection changed, an order of it was
/// applied): each request is its own row.
struct RefreshRequest {
  std::string channel, sku;
  int64_t request_id = 0;
};

/// What one pass of the feed follower worked out: the values to offer as of feed position `to`.
struct FollowPlan {
  int64_t from = 0, to = 0;  // the cursor read, and where it moves
  std::vector<RefreshRequest> refreshed;
  struct Value {
    std::string channel, sku;
    int64_t available = 0;
    absl::Time at;  // the ledger commit that made it so
  };
  std::vector<Value> values;
};

/// A (channel, item) whose value a pusher has claimed to set on the platform.
struct ClaimedPush {
  std::string sku;
  int64_t sequence = 0;  // the feed position of the value
  absl::Time as_of;      // its ledger commit
  int64_t quantity = 0;  // what to offer (0 while a drift incident is open, capped after stale)
  std::optional<int64_t> platform_quantity;  // the platform's, as last known
  int attempts = 0;
  std::vector<std::string> targets;  // the platform's stock ids mapped to the item
};

/// Due pushes of one channel, claimed for a while (`token` names the claim).
struct PushClaim {
  std::string token;
  std::string channel, platform;
  ApiEndpoint api;
  std::vector<ClaimedPush> pushes;
};

/// What became of one claimed push.
struct PushRecord {
  enum class Kind {
    kApplied,  // the platform holds `quantity`
    kStale,    // the platform showed `quantity` instead of what kura believed: offer no more
    kLater,    // try again at `retry_at`
    kSettled,  // nothing to push to: done
    kUnknown,  // the platform has no level for the item: set it again without compare-and-set
  };
  std::string sku;
  Kind kind = Kind::kLater;
  int64_t sequence = 0;
  int64_t quantity = 0;
  absl::Time retry_at;
  bool count_attempt = true;
  std::string error;
};

class PushStore {
 public:
  explicit PushStore(pg::Database& db) : db_(db) {}

  /// The feed position the follower has recorded.
  absl::StatusOr<int64_t> Cursor();
  /// The items waiting to be worked out afresh.
  absl::StatusOr<std::vector<RefreshRequest>> Refreshes();
  /// The items mapped on `channel`.
  absl::StatusOr<std::vector<std::string>> MappedSkus(const std::string& channel);
  /// Per item among `skus`: the connected channels that map it.
  absl::StatusOr<std::map<std::string, std::set<std::string>>> ConnectedChannels(
      const std::vector<std::string>& skus);
  /// Records a plan unless another follower moved the cursor since `plan.from` (then false):
  /// the values replace older ones, refreshed items are set on the platform again even if
  /// unchanged, and the requests read are done (those made meanwhile stay).
  absl::StatusOr<bool> Commit(const FollowPlan& plan, absl::Time now);

  /// Claims, until now + `lease`, the most overdue channel's due pushes (up to
  /// `batch(platform)` of them), passing over `skip_channels`. None when nothing is due.
  absl::StatusOr<std::optional<PushClaim>> Claim(
      absl::Time now, absl::Duration lease, const std::function<int(const std::string&)>& batch,
      const std::vector<std::string>& skip_channels = {});
  /// Brings a claim up to date after a wait for the platform's budget: its pushes with the
  /// values they have now, and the channel's pushes that came due meanwhile (up to `batch` in
  /// all), under the same token until now + `lease`. A claim that lapsed (taken over by another
  /// pusher) keeps only the channel's pushes that came due since.
  absl::Status Renew(PushClaim& claim, absl::Time now, absl::Duration lease, int batch);
  /// Gives a claim back unworked: its pushes are due again at `due`.
  absl::Status Release(const PushClaim& claim, absl::Time due);
  /// When the next push waiting (for a retry, or a lapsing claim) comes due; none when none waits.
  absl::StatusOr<std::optional<absl::Time>> NextDue();
  /// Records what became of a claim's pushes and releases it. A claim that lapsed and was taken
  /// by another pusher records nothing.
  absl::Status Record(const PushClaim& claim, const std::vector<PushRecord>& records,
                      absl::Time now);

 private:
  pg::Database& db_;
};

}  // namespace kura::connector
