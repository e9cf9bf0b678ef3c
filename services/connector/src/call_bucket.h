#pragma once

// Pacing of one channel's platform calls: a bucket of calls refilled at a steady rate, as the
// platforms meter their APIs (Shopify's cost points, WooCommerce's and Square's request rates).
// It starts from the connector's configured limit and, where the platform reports its budget
// with each answer (Shopify's throttleStatus), follows what the platform says.

#include <algorithm>
#include <optional>

#include "absl/time/time.h"
#include "connector.h"

namespace kura::connector {

class CallBucket {
 public:
  CallBucket(const RateLimit& limit, absl::Time now) : calls_(limit.burst), at_(now) {}

  /// Takes a call at `now`; returns how long the caller must wait before making it (callers
  /// queue: each takes the next refill).
  absl::Duration Take(const RateLimit& configured, absl::Time now) {
    Refill(configured, now);
    calls_ -= 1;
    return calls_ < 0 ? absl::Seconds(-calls_ / Rate(configured)) : absl::ZeroDuration();
  }

  /// The platform's own account of the budget after a call answered at `now`.
  void Learn(const CallBudget& budget, const RateLimit& configured, absl::Time now) {
    if (budget.per_second <= 0 || budget.burst < 1) return;  // not a budget to go by
    // What refilled until now counts either way: callers waiting for refills are owed it.
    Refill(configured, now);
    learned_ = budget;
    // What the platform holds now, unless callers are already waiting for refills (their calls
    // stay taken).
    if (calls_ >= 0) calls_ = std::min(budget.available, budget.burst);
  }

 private:
  double Rate(const RateLimit& configured) const {
    return learned_ ? learned_->per_second : configured.requests_per_second;
  }
  void Refill(const RateLimit& configured, absl::Time now) {
    const double burst = learned_ ? learned_->burst : configured.burst;
    if (now > at_) {
      calls_ = std::min(burst, calls_ + Rate(configured) * absl::ToDoubleSeconds(now - at_));
      at_ = now;
    }
  }

  double calls_;  // left; below zero, calls reserved ahead of the refill
  absl::Time at_;
  std::optional<CallBudget> learned_;
};

}  // namespace kura::connector
