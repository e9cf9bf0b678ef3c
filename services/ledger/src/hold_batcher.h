#pragma once

#include <functional>
#include <future>
#include <vector>

#include "absl/status/statusor.h"
#include "group_commit.h"
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
/// hold. Thread-safe; the destructor answers every queued request first.
class HoldBatcher {
 public:
  HoldBatcher(pg::Database& db, const Clock& clock, GroupCommitMetrics& metrics,
              GroupCommitOptions options);

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
  };
  // Applies and commits a batch; returns the work of answering its callers.
  std::function<void()> RunBatch(std::vector<Pending>&& batch);

  pg::Database& db_;
  const Clock& clock_;
  GroupCommitQueue<Pending> queue_;  // last: its writer thread uses the members above
};

}  // namespace kura::ledger
