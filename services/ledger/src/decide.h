#pragma once

// The ledger's rules: one decision function per kind of mutation, each deciding one request
// against the batch's locked rows (a Draft over the Snapshot) in memory, and one Declare per
// kind naming the rows it needs loaded. No SQL, no I/O: the writer loads, decides in arrival
// order and persists.
//
// A decision either fails with the request's error and changes nothing (the writer drops its
// Draft), or changes the Draft — balances, channel usage, holds, movements, change events — and
// returns the response.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kura/ledger/v1/ledger.pb.h"
#include "snapshot.h"

namespace kura::ledger {

/// The hold sweeper's request: expire these holds if they are still pending and due. Holds that
/// are not (posted or voided meanwhile, or not due) are left alone.
struct ExpireHoldsRequest {
  std::vector<std::string> hold_ids;
};

void Declare(const v1::CreateHoldsRequest& request, Wants& wants);
void Declare(const v1::PostHoldRequest& request, Wants& wants);
void Declare(const v1::VoidHoldRequest& request, Wants& wants);
void Declare(const ExpireHoldsRequest& request, Wants& wants);
void Declare(const v1::ApplyMovementsRequest& request, Wants& wants);
void Declare(const v1::FulfilCommittedRequest& request, Wants& wants);
void Declare(const v1::CancelCommittedRequest& request, Wants& wants);
void Declare(const v1::SetSafetyStockRequest& request, Wants& wants);
void Declare(const v1::SetChannelAllocationRequest& request, Wants& wants);

/// Pending holds on sellable stock: the 90-day limit, the serving locations, hold ids not taken,
/// and per (item, location), summed over the lines, no more than sellable − held − safety stock
/// (for channels that respect it) and the channel's cap.
absl::StatusOr<v1::CreateHoldsResponse> Decide(const v1::CreateHoldsRequest& request, Draft& d);
/// A pending, unexpired hold's units (all or some) move to committed; the rest is released.
absl::StatusOr<v1::PostHoldResponse> Decide(const v1::PostHoldRequest& request, Draft& d);
/// A pending hold is released.
absl::StatusOr<v1::VoidHoldResponse> Decide(const v1::VoidHoldRequest& request, Draft& d);
/// Pending, due holds are released as expired; returns those it expired.
absl::StatusOr<v1::ListHoldsResponse> Decide(const ExpireHoldsRequest& request, Draft& d);
/// Movements, in order, each seeing the ones before: stock leaves only what is free (store
/// sales, counts and adjustments may go negative: an oversold event), balances stay far from
/// overflow.
absl::StatusOr<v1::ApplyMovementsResponse> Decide(const v1::ApplyMovementsRequest& request,
                                                  Draft& d);
/// Committed units of the channel leave to the customer.
absl::StatusOr<v1::FulfilCommittedResponse> Decide(const v1::FulfilCommittedRequest& request,
                                                   Draft& d);
/// Committed units of the channel go back to sellable.
absl::StatusOr<v1::CancelCommittedResponse> Decide(const v1::CancelCommittedRequest& request,
                                                   Draft& d);
absl::StatusOr<v1::SetSafetyStockResponse> Decide(const v1::SetSafetyStockRequest& request,
                                                  Draft& d);
absl::StatusOr<v1::SetChannelAllocationResponse> Decide(
    const v1::SetChannelAllocationRequest& request, Draft& d);

/// What a channel's cap at a location still allows, or nullopt when it has none: a quota bounds
/// the channel's held + committed units, a ratio (basis points of the sellable units) its held
/// units.
std::optional<int64_t> ChannelCapRemaining(const UsageRow& usage, int64_t sellable_on_hand);

}  // namespace kura::ledger
