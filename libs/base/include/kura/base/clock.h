#pragma once

#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kura {

/// The source of "now" for domain code, so that tests control time. Implementations are
/// thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Returns the current time.
  virtual absl::Time Now() const = 0;
};

/// Reads the system clock.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  /// Returns a process-wide instance that lives forever.
  static RealClock& Instance();
};

/// A clock that only moves when told to. Starts at `start`.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::UnixEpoch()) : now_(start) {}
  absl::Time Now() const override ABSL_LOCKS_EXCLUDED(mu_);
  /// Sets the current time; time may move backwards, as a badly set source clock can.
  void Set(absl::Time t) ABSL_LOCKS_EXCLUDED(mu_);
  /// Moves the current time forward by `d`.
  void Advance(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable std::mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kura
