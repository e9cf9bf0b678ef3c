#pragma once

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "decide.h"
#include "kura/base/clock.h"
#include "kura/batch/group_commit.h"
#include "kura/ledger/v1/ledger.pb.h"
#include "kura/pg/database.h"

namespace kura::ledger {

/// A mutating request for the Writer (valid until it is answered).
using MutationRequest =
    std::variant<const v1::CreateHoldsRequest*, const v1::PostHoldRequest*,
                 const v1::VoidHoldRequest*, const ExpireHoldsRequest*,
                 const v1::ApplyMovementsRequest*, const v1::FulfilCommittedRequest*,
                 const v1::CancelCommittedRequest*, const v1::SetSafetyStockRequest*,
                 const v1::SetChannelAllocationRequest*>;

/// The serialized response (the stored one for a repeated request id), or the request's error.
using MutationResult = absl::StatusOr<std::string>;

/// One request and what to do with its result. `done` runs on the writer's answer thread once
/// the request's batch has committed (or failed), and must not block.
struct Mutation {
  MutationRequest request;
  std::function<void(MutationResult)> done;
  /// The caller's deadline: a request whose deadline passes before its turn fails
  /// DEADLINE_EXCEEDED and changes nothing; a batch's statements time out once every caller in
  /// it has given up.
  std::optional<absl::Time> deadline;
};

/// Every mutation of the books goes through here, in one shape: requests queue (group commit,
/// kura/batch/group_commit.h); one writer takes what is waiting and, in one transaction, loads
/// and locks what the batch touches (two queries), decides each request in arrival order in
/// memory (decide.h), writes everything it decided in one query, commits once and answers.
/// A request that fails fails alone and changes nothing; a request id takes effect once (a
/// repeat gets the stored response, the same id with other contents IDEMPOTENCY_KEY_REUSED);
/// nothing is answered before the commit. With max_batch 1 every request is a batch of one (the
/// benchmarks' baseline). Thread-safe; the destructor answers every queued request first.
class Writer {
 public:
  Writer(pg::Database& db, const Clock& clock, batch::GroupCommitMetrics* metrics,
         batch::GroupCommitOptions options);

  /// Queues `mutation`.
  void Submit(Mutation mutation);

 private:
  batch::GroupCommit<Mutation>::Answer RunBatch(std::vector<Mutation>& batch);

  const Clock& clock_;
  // The writer thread's own connection: no hop to a DB thread per batch. Its statements are
  // planned once, generically (they are written for it): no planning per batch.
  pg::Session session_;
  batch::GroupCommit<Mutation> queue_;  // last: its writer thread uses the members above
};

}  // namespace kura::ledger
