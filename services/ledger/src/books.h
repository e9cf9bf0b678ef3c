#pragma once

#include "absl/status/statusor.h"
#include "hold_batcher.h"
#include "kura/base/clock.h"
#include "kura/ledger/v1/change_feed.pb.h"
#include "kura/ledger/v1/ledger.pb.h"
#include "kura/pg/database.h"
#include "mutation_batcher.h"

namespace kura::ledger {

/// The books: movements, holds, safety stock, channel caps, availability, invariants and the
/// change feed, over PostgreSQL. Every mutating call runs in one transaction that takes its locks
/// in one global order (the channel row; balances by item, location, bucket; channel usage rows;
/// holds; the feed head), is idempotent on its request_id and appends its change events in the
/// same transaction. With group commit, CreateHolds runs in its HoldBatcher batch's transaction
/// and ApplyMovements in a savepoint of its MutationBatcher batch's transaction. Thread-safe;
/// each call blocks until its transaction ends (CreateHoldsAsync excepted).
class Books {
 public:
  Books(pg::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  /// Sends CreateHolds through `batcher` (group commit) from now on; nullptr: one transaction
  /// per request. Not synchronised: call before the server starts or after it has drained. The
  /// batcher must outlive its use.
  void SetHoldBatcher(HoldBatcher* batcher) { batcher_ = batcher; }
  /// Sends ApplyMovements through `batcher` (group commit) from now on; nullptr: one transaction
  /// per request. Same rules as SetHoldBatcher.
  void SetMutationBatcher(MutationBatcher* batcher) { mutations_ = batcher; }

  absl::StatusOr<v1::ApplyMovementsResponse> ApplyMovements(const v1::ApplyMovementsRequest& r);
  absl::StatusOr<v1::CreateHoldsResponse> CreateHolds(const v1::CreateHoldsRequest& r);
  /// CreateHolds for gRPC's callback API: `done` gets the result, on the batch writer's thread
  /// when group commit is on (without blocking the caller), else before this returns. `r` must
  /// stay valid until `done` runs.
  void CreateHoldsAsync(const v1::CreateHoldsRequest& r, HoldBatcher::Done done);
  /// Checks a CreateHolds request's own fields (no database).
  static absl::Status ValidateCreateHolds(const v1::CreateHoldsRequest& r);
  absl::StatusOr<v1::PostHoldResponse> PostHold(const v1::PostHoldRequest& r);
  absl::StatusOr<v1::VoidHoldResponse> VoidHold(const v1::VoidHoldRequest& r);
  absl::StatusOr<v1::GetHoldResponse> GetHold(const v1::GetHoldRequest& r);
  absl::StatusOr<v1::ListHoldsResponse> ListHolds(const v1::ListHoldsRequest& r);
  absl::StatusOr<v1::FulfilCommittedResponse> FulfilCommitted(const v1::FulfilCommittedRequest& r);
  absl::StatusOr<v1::CancelCommittedResponse> CancelCommitted(const v1::CancelCommittedRequest& r);
  absl::StatusOr<v1::SetSafetyStockResponse> SetSafetyStock(const v1::SetSafetyStockRequest& r);
  absl::StatusOr<v1::SetChannelAllocationResponse> SetChannelAllocation(
      const v1::SetChannelAllocationRequest& r);
  absl::StatusOr<v1::GetAvailabilityResponse> GetAvailability(const v1::GetAvailabilityRequest& r);
  absl::StatusOr<v1::ListIncomingResponse> ListIncoming(const v1::ListIncomingRequest& r);
  absl::StatusOr<v1::VerifyInvariantsResponse> VerifyInvariants();
  absl::StatusOr<v1::ListChangesResponse> ListChanges(const v1::ListChangesRequest& r);

  /// Expires up to `limit` pending holds whose expires_at has passed; returns how many it
  /// expired. A hold that another call posted or voided first is left alone.
  absl::StatusOr<int> ExpireDueHolds(int limit);

 private:
  pg::Database& db_;
  const Clock& clock_;
  HoldBatcher* batcher_ = nullptr;
  MutationBatcher* mutations_ = nullptr;
};

}  // namespace kura::ledger
