#include "canceller.h"

#include <algorithm>
#include <random>

#include "kura/base/status_macros.h"
#include "kura/log/log.h"

namespace kura::connector {

absl::StatusOr<bool> Canceller::CancelNext() {
  // Longer than the platform call may take (kHttpTimeout); a worker that dies leaves it to lapse.
  constexpr absl::Duration kLease = absl::Minutes(2);
  ASSIGN_OR_RETURN(std::optional<ClaimedCancel> claim, store_.Claim(clock_.Now(), kLease));
  if (!claim) return false;
  const Connector* connector = FindConnector(claim->platform);
  const absl::Status cancelled =
      connector == nullptr ? absl::FailedPreconditionError("unknown platform")
                           : connector->CancelOrder(claim->api, claim->order_id, claim->reason);
  CancelOutcome outcome;
  std::string result = "cancelled";
  if (!cancelled.ok()) {
    outcome.error = std::string(cancelled.message());
    if (absl::IsUnavailable(cancelled)) {
      thread_local std::mt19937 random(std::random_device{}());
      const absl::Duration backoff =
          std::min(absl::Seconds(1) * (1 << std::min(claim->attempts, 9)), absl::Minutes(5));
      outcome.kind = CancelOutcome::Kind::kRetry;
      outcome.retry_at =
          clock_.Now() + backoff * std::uniform_real_distribution<double>(0.5, 1.0)(random);
      result = "retry";
    } else {
      outcome.kind = CancelOutcome::Kind::kFailed;
      result = "failed";
      log::Warn(
          "order not cancelled on the platform",
          {{"channel", claim->channel}, {"order", claim->order_id}, {"error", outcome.error}});
    }
  } else {
    log::Info("unfulfillable order cancelled on the platform",
              {{"channel", claim->channel}, {"order", claim->order_id}});
  }
  ASSIGN_OR_RETURN(const bool recorded, store_.Record(*claim, outcome, clock_.Now()));
  if (recorded) counted_(claim->platform, result);
  return true;
}

}  // namespace kura::connector
