#include "kura/base/clock.h"

namespace kura {

RealClock& RealClock::Instance() {
  static auto* clock = new RealClock();
  return *clock;
}

absl::Time ManualClock::Now() const {
  std::lock_guard lock(mu_);
  return now_;
}

void ManualClock::Set(absl::Time t) {
  std::lock_guard lock(mu_);
  now_ = t;
}

void ManualClock::Advance(absl::Duration d) {
  std::lock_guard lock(mu_);
  now_ += d;
}

}  // namespace kura
