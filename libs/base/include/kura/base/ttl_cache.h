#pragma once

// A read-through cache whose entries live for a fixed time: for what another service or the
// database answers the same for a while (a channel's locations, an item's name and tax class, a
// connection's webhook secrets), read on hot paths. A change of the source takes effect within
// the time to live. Thread-safe.

#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/base/clock.h"

namespace kura {

template <typename K, typename V>
class TtlCache {
 public:
  /// Entries live `ttl` by `clock`; past `max_entries` the expired ones are dropped, and if
  /// that is not enough, all.
  TtlCache(const Clock& clock, absl::Duration ttl, size_t max_entries = 100'000)
      : clock_(clock), ttl_(ttl), max_entries_(max_entries) {}

  /// Drops `key`'s entry: the next Get loads it (a change made through this process is seen at
  /// once here; other processes see it within the time to live).
  void Forget(const K& key) {
    std::lock_guard lock(mu_);
    entries_.erase(key);
  }

  /// The value of `key`: the cached one while it lives, else what `load` answers (called
  /// without the lock; an error is returned and not cached).
  absl::StatusOr<V> Get(const K& key, const std::function<absl::StatusOr<V>()>& load) {
    const absl::Time now = clock_.Now();
    {
      std::lock_guard lock(mu_);
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second.first > now) return it->second.second;
    }
    absl::StatusOr<V> loaded = load();
    if (!loaded.ok()) return loaded.status();
    std::lock_guard lock(mu_);
    if (entries_.size() >= max_entries_) {
      for (auto it = entries_.begin(); it != entries_.end();) {
        it = it->second.first <= now ? entries_.erase(it) : std::next(it);
      }
      if (entries_.size() >= max_entries_) entries_.clear();
    }
    entries_.insert_or_assign(key, std::make_pair(now + ttl_, *loaded));
    return loaded;
  }

 private:
  const Clock& clock_;
  const absl::Duration ttl_;
  const size_t max_entries_;
  std::mutex mu_;
  std::map<K, std::pair<absl::Time, V>> entries_;  // key → (expiry, value)
};

}  // namespace kura
