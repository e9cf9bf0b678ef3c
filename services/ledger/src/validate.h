#pragma once

// Checks of the ledger's mutating requests' own fields, before they reach the writer (no
// database): INVALID_ARGUMENT naming the field.

#include "absl/status/status.h"
#include "kura/ledger/v1/ledger.pb.h"

namespace kura::ledger {

namespace v1 = ::kura::ledger::v1;

absl::Status Validate(const v1::CreateHoldsRequest& request);
absl::Status Validate(const v1::PostHoldRequest& request);
absl::Status Validate(const v1::VoidHoldRequest& request);
absl::Status Validate(const v1::ApplyMovementsRequest& request);
absl::Status Validate(const v1::FulfilCommittedRequest& request);
absl::Status Validate(const v1::CancelCommittedRequest& request);
absl::Status Validate(const v1::SetSafetyStockRequest& request);
absl::Status Validate(const v1::SetChannelAllocationRequest& request);

}  // namespace kura::ledger
