#pragma once

// Replay of the journal: pending entries go to the gateway through SyncJournal, oldest first,
// until none is left; a background thread does it every --sync-interval and keeps the offline
// catalog fresh.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "catalog.h"
#include "console.h"
#include "gateway.h"
#include "journal.h"

namespace kura::pos_terminal {

/// What one replay did.
struct ReplayReport {
  int64_t applied = 0;
  int64_t duplicates = 0;
  int64_t refused = 0;
  int64_t oversold = 0;
  /// Entries still pending afterwards.
  int64_t pending = 0;
  /// OK when nothing is left to send; otherwise why the replay stopped.
  absl::Status status;

  int64_t sent() const { return applied + duplicates + refused; }
};

/// Sends pending journal entries through SyncJournal in batches of up to 50, oldest first.
/// Each entry the gateway applied (now or before) is marked synced; one it refused is marked
/// refused, its error printed ("REFUSED <id> …") and never resent; one it reports oversold is
/// printed ("OVERSOLD <id> …"). Thread-safe: one replay runs at a time.
class Replayer {
 public:
  /// Batch size of one SyncJournal call.
  static constexpr int kBatch = 50;

  /// Sends for the store of `catalog` (Catalog::store).
  Replayer(Journal& journal, const Catalog& catalog, Gateway& gateway, Console& console)
      : journal_(journal), catalog_(catalog), gateway_(gateway), console_(console) {}

  /// Replays until nothing is pending, or the gateway does not answer, or a batch makes no
  /// progress, or `cancelled` returns true (checked before each batch; status CANCELLED).
  ReplayReport ReplayNow(const std::function<bool()>& cancelled = [] { return false; })
      ABSL_LOCKS_EXCLUDED(send_mu_);

  /// Held while journal entries are being sent. The register holds it too when it sends a new
  /// entry straight to the gateway, so that an entry never races its own replay.
  std::mutex& send_mutex() { return send_mu_; }

 private:
  Journal& journal_;
  const Catalog& catalog_;
  Gateway& gateway_;
  Console& console_;
  std::mutex send_mu_;
};

/// A thread that, every `interval` from its start: replays the journal while entries are
/// pending; refreshes the offline catalog at start and then every `catalog_interval` while the
/// gateway answers; and, while the gateway is unreachable with nothing to replay, probes it (one
/// small GetCatalog) so that the register notices when it is back. While the gateway refuses the
/// terminal, the replay (or, with nothing pending, the catalog refresh) asks it again each time;
/// the refusal itself is the LOCKED notice's to report. Errors are printed once each, not at
/// every retry.
class BackgroundSync {
 public:
  BackgroundSync(Replayer& replayer, Journal& journal, Catalog& catalog, Gateway& gateway,
                 Console& console, absl::Duration interval, absl::Duration catalog_interval);
  /// Stops the thread, after the call in flight (if any) returns, and joins it: at most one
  /// call timeout.
  ~BackgroundSync();
  BackgroundSync(const BackgroundSync&) = delete;
  BackgroundSync& operator=(const BackgroundSync&) = delete;

 private:
  void Run();
  void RunOnce();
  bool Stopping() ABSL_LOCKS_EXCLUDED(mu_);
  // Prints `line` unless it is the same as the last one printed.
  void Report(const std::string& line);

  Replayer& replayer_;
  Journal& journal_;
  Catalog& catalog_;
  Gateway& gateway_;
  Console& console_;
  const absl::Duration interval_;
  const absl::Duration catalog_interval_;
  // Used by the thread only.
  absl::Time next_catalog_ = absl::InfinitePast();
  bool catalog_synced_ = false;
  std::string last_report_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kura::pos_terminal
