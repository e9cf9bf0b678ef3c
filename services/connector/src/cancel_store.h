#pragma once

// Storage of the platform cancellations of unfulfillable orders: recorded as intents with the
// delivery that found the order short (InboxStore), claimed one at a time under a lease, the
// platform called with no transaction open, the result recorded under the claim.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connector.h"
#include "kura/pg/database.h"

namespace kura::connector {

/// A cancellation claimed to be made on the platform.
struct ClaimedCancel {
  std::string channel, order_id, reason, platform, token;
  int attempts = 0;
  ApiEndpoint api;
};

/// How a cancellation went this time.
struct CancelOutcome {
  enum class Kind { kDone, kRetry, kFailed };
  Kind kind = Kind::kDone;
  std::string error;    // kRetry, kFailed
  absl::Time retry_at;  // kRetry
};

class CancelStore {
 public:
  explicit CancelStore(pg::Database& db) : db_(db) {}

  /// Claims the most overdue waiting cancellation until now + `lease`, if any.
  absl::StatusOr<std::optional<ClaimedCancel>> Claim(absl::Time now, absl::Duration lease);
  /// Records how the claimed cancellation went (a failure also as a dead letter, for the
  /// operator). False when the claim lapsed and another worker took it.
  absl::StatusOr<bool> Record(const ClaimedCancel& c, const CancelOutcome& outcome, absl::Time now);
  /// When the next waiting cancellation comes due (none: nothing waits).
  absl::StatusOr<std::optional<absl::Time>> NextDue();

 private:
  pg::Database& db_;
};

}  // namespace kura::connector
