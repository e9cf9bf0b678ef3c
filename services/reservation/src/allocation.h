#pragma once

#include <optional>
#include <string>

#include <pqxx/connection>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/base/clock.h"
#include "kura/pg/database.h"
#include "kura/reservation/v1/allocation.pb.h"
#include "ledger_client.h"

namespace kura::reservation {

/// Channel allocation rules (AllocationService) and the applier that writes what applies into the
/// ledger's caps and safety stock. Every "now" comes from the clock, so tests move schedules'
/// boundaries. Thread-safe.
class Allocation {
 public:
  Allocation(pg::Database& db, const Clock& clock, const LedgerClient& ledger)
      : db_(db), clock_(clock), ledger_(ledger) {}

  /// Stores the rule, then runs an applier pass.
  absl::StatusOr<v1::SetAllocationRuleResponse> Set(const v1::SetAllocationRuleRequest& request,
                                                    std::optional<absl::Time> deadline);
  /// Deletes the rule, then runs an applier pass.
  absl::StatusOr<v1::DeleteAllocationRuleResponse> Delete(
      const v1::DeleteAllocationRuleRequest& request, std::optional<absl::Time> deadline);
  absl::StatusOr<v1::ListAllocationRulesResponse> List(const v1::ListAllocationRulesRequest& r);
  absl::StatusOr<v1::GetEffectiveAllocationResponse> Effective(
      const v1::GetEffectiveAllocationRequest& request, std::optional<absl::Time> deadline);

  /// What an applier pass did: `ran` is false when another replica's pass was running.
  struct Pass {
    bool ran = false;
    int writes = 0;
  };
  /// One applier pass: works out what applies now for every (item, location, channel) a rule
  /// covers or the ledger was told about, and writes the changes to the ledger. Each write is
  /// recorded as pending before it is made and as done after, so a write cut off by a crash is
  /// made again. Replicas take turns (a lease row, renewed with every write; no connection is
  /// held across the ledger calls). On a failed write the others
  /// still land and the first error is returned.
  absl::StatusOr<Pass> Apply(std::optional<absl::Time> deadline);

 private:
  absl::StatusOr<Pass> RunPass(const std::string& holder, std::optional<absl::Time> deadline);

  pg::Database& db_;
  const Clock& clock_;
  const LedgerClient& ledger_;
};

}  // namespace kura::reservation
