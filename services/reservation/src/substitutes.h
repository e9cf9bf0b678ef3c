#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/pg/database.h"
#include "kura/reservation/v1/substitutes.pb.h"
#include "ledger_client.h"

namespace kura::reservation {

/// Explicit substitutes (stored here) and suggestions of in-stock alternatives, from the
/// ledger's catalog and availability. Thread-safe.
class Substitutes {
 public:
  Substitutes(pg::Database& db, const LedgerClient& ledger) : db_(db), ledger_(ledger) {}

  absl::StatusOr<v1::SetSubstitutesResponse> Set(const v1::SetSubstitutesRequest& request,
                                                 std::optional<absl::Time> deadline);
  absl::StatusOr<v1::SuggestAlternativesResponse> Suggest(
      const v1::SuggestAlternativesRequest& request, std::optional<absl::Time> deadline);

 private:
  pg::Database& db_;
  const LedgerClient& ledger_;
};

}  // namespace kura::reservation
