#pragma once

#include <set>

#include <string>

#include "absl/status/statusor.h"
#include "clients.h"
#include "kura/base/clock.h"
#include "kura/connector/v1/admin.pb.h"
#include "kura/pg/database.h"

namespace kura::connector {

namespace v1 = ::kura::connector::v1;

/// Reconciliation: reads each platform's stock for every mapped item and compares it with what
/// kura last pushed there (both are the sellable "available" quantity). A mismatch seen on two
/// passes in a row opens a drift incident and freezes the item on that channel (offered as 0)
/// until an operator resolves it. Thread-safe.
class Reconciler {
 public:
  /// A mismatch opens an incident when it has been seen for `confirm_after` (and again).
  Reconciler(pg::Database& db, const Clock& clock, const Clients& clients,
             absl::Duration confirm_after)
      : db_(db), clock_(clock), clients_(clients), confirm_after_(confirm_after) {}

  /// Every connection (or `channel`'s), every settled item (or those of `skus`).
  absl::StatusOr<v1::ReconcileResponse> Reconcile(const std::string& channel,
                                                  const std::set<std::string>& skus = {});
  absl::StatusOr<v1::ListDriftsResponse> List(v1::DriftState state);
  absl::StatusOr<v1::DriftIncident> Resolve(const v1::ResolveDriftRequest& request);

 private:
  pg::Database& db_;
  const Clock& clock_;
  const Clients& clients_;
  const absl::Duration confirm_after_;
};

}  // namespace kura::connector
