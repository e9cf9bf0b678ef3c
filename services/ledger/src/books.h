#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "kura/base/clock.h"
#include "kura/ledger/v1/change_feed.pb.h"
#include "kura/ledger/v1/ledger.pb.h"
#include "kura/pg/database.h"
#include "writer.h"

namespace kura::ledger {

/// The books' API: movements, holds, safety stock, channel caps (decided by the Writer, in one
/// shape for all of them), and the reads: holds, availability, incoming stock, invariants and
/// the change feed. Mutations are checked here (bad input never reaches the writer) and carry
/// the calling RPC's deadline (rpc::DeadlineScope). Thread-safe.
class Books {
 public:
  Books(pg::Database& db, const Clock& clock, Writer& writer)
      : db_(db), clock_(clock), writer_(writer) {}

  template <typename Response>
  using Done = std::function<void(absl::StatusOr<Response>)>;

  /// For gRPC's callback API: `done` gets the result on the writer's answer thread once the
  /// request's batch has committed (or at once for bad input), without blocking the caller, and
  /// must not block. `request` must stay valid until then.
  void CreateHolds(const v1::CreateHoldsRequest& r, Done<v1::CreateHoldsResponse> done);
  void ApplyMovements(const v1::ApplyMovementsRequest& r, Done<v1::ApplyMovementsResponse> done);

  absl::StatusOr<v1::CreateHoldsResponse> CreateHolds(const v1::CreateHoldsRequest& r);
  absl::StatusOr<v1::ApplyMovementsResponse> ApplyMovements(const v1::ApplyMovementsRequest& r);
  absl::StatusOr<v1::PostHoldResponse> PostHold(const v1::PostHoldRequest& r);
  absl::StatusOr<v1::VoidHoldResponse> VoidHold(const v1::VoidHoldRequest& r);
  absl::StatusOr<v1::FulfilCommittedResponse> FulfilCommitted(const v1::FulfilCommittedRequest& r);
  absl::StatusOr<v1::CancelCommittedResponse> CancelCommitted(const v1::CancelCommittedRequest& r);
  absl::StatusOr<v1::SetSafetyStockResponse> SetSafetyStock(const v1::SetSafetyStockRequest& r);
  absl::StatusOr<v1::SetChannelAllocationResponse> SetChannelAllocation(
      const v1::SetChannelAllocationRequest& r);
  /// Expires up to `limit` pending holds whose expires_at has passed; returns how many it
  /// expired. A hold that another call posted or voided first is left alone.
  absl::StatusOr<int> ExpireDueHolds(int limit);

  absl::StatusOr<v1::GetHoldResponse> GetHold(const v1::GetHoldRequest& r);
  absl::StatusOr<v1::ListHoldsResponse> ListHolds(const v1::ListHoldsRequest& r);
  absl::StatusOr<v1::GetAvailabilityResponse> GetAvailability(const v1::GetAvailabilityRequest& r);
  absl::StatusOr<v1::ListIncomingResponse> ListIncoming(const v1::ListIncomingRequest& r);
  absl::StatusOr<v1::VerifyInvariantsResponse> VerifyInvariants();
  absl::StatusOr<v1::ListChangesResponse> ListChanges(const v1::ListChangesRequest& r);
  /// How long the oldest due pending hold has been past expiry (0 when none is).
  absl::StatusOr<double> SweeperLagSeconds();

 private:
  template <typename Response, typename Request>
  void Submit(const Request& request, Done<Response> done);
  template <typename Response, typename Request>
  absl::StatusOr<Response> Call(const Request& request);

  pg::Database& db_;
  const Clock& clock_;
  Writer& writer_;
};

}  // namespace kura::ledger
