#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/base/clock.h"
#include "kura/ledger/v1/ledger.pb.h"
#include "kura/pg/database.h"

namespace kura::ledger {

/// Group commit for CreateHolds. Requests queue; one writer takes what is waiting (up to
/// `max_batch`, waiting at most `window` for more), applies the batch in one transaction — each
/// request in arrival order against balances locked once, with a handful of set-based
/// statements for the whole batch — commits once and answers every request with its own result.
/// A request that fails (insufficient stock, unknown item, reused request id, ...) fails alone;
/// the others commit. Nothing is answered before the commit, so a crash loses no acknowledged
/// hold. Thread-safe.
class HoldBatcher {
 public:
  struct Options {
    int max_batch = 256;
    absl::Duration window = absl::Microseconds(500);
  };
  HoldBatcher(pg::Database& db, const Clock& clock, prometheus::Registry& metrics, Options options);
  /// Drains the queue, then stops the writer.
  ~HoldBatcher();

  using Done = std::function<void(absl::StatusOr<v1::CreateHoldsResponse>)>;

  /// Queues a validated request; `done` runs on the writer thread once the request's batch has
  /// committed (or failed). `request` must stay valid until then. `done` must not block.
  void SubmitAsync(const v1::CreateHoldsRequest& request, Done done);
  /// Queues a validated request and waits for its result.
  absl::StatusOr<v1::CreateHoldsResponse> Submit(const v1::CreateHoldsRequest& request);

 private:
  struct Pending {
    const v1::CreateHoldsRequest* request;
    Done done;
    absl::Time enqueued;
  };

  void Loop();
  void RunBatch(std::vector<std::unique_ptr<Pending>>& batch);

  pg::Database& db_;
  const Clock& clock_;
  const Options options_;
  prometheus::Histogram& batch_size_;
  prometheus::Histogram& queue_wait_;
  prometheus::Histogram& commit_seconds_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Pending>> queue_;
  bool stop_ = false;
  size_t last_batch_size_ = 0;  // guarded by mu_
  std::thread writer_;
};

}  // namespace kura::ledger
