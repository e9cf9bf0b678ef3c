#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cancel_store.h"
#include "kura/base/clock.h"

namespace kura::connector {

/// Cancels unfulfillable orders on their platforms, where the channel says so (connection
/// cancel_unfulfillable): claim → call → record, one order at a time. Thread-safe.
class Canceller {
 public:
  /// `counted` is told each outcome: cancelled, retry or failed.
  Canceller(pg::Database& db, const Clock& clock,
            std::function<void(const std::string& platform, const std::string& result)> counted)
      : store_(db), clock_(clock), counted_(std::move(counted)) {}

  /// Cancels the next due order, if any; returns whether there was one. The platform's refusal
  /// ends it as a dead letter (PLATFORM_CANCEL_FAILED); while the platform cannot be reached it
  /// is retried, backing off to 5 minutes, without limit.
  absl::StatusOr<bool> CancelNext();
  /// When the next waiting cancellation comes due (none: nothing waits).
  absl::StatusOr<std::optional<absl::Time>> NextDue() { return store_.NextDue(); }

 private:
  CancelStore store_;
  const Clock& clock_;
  std::function<void(const std::string&, const std::string&)> counted_;
};

}  // namespace kura::connector
