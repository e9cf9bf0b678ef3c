#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/pg/database.h"
#include "kura/reservation/v1/substitutes.pb.h"
#include "ledger_client.h"
#include "preorders.h"

namespace kura::reservation {

/// Explicit substitutes (stored here) and suggestions of in-stock alternatives, from the
/// ledger's catalog and availability, and of the item as a pre-order. Thread-safe.
class Substitutes {
 public:
  Substitutes(pg::Database& db, const LedgerClient& ledger, Preorders& preorders)
      : db_(db), ledger_(ledger), preorders_(preorders) {}

  absl::StatusOr<v1::SetSubstitutesResponse> Set(const v1::SetSubstitutesRequest& request,
                                                 std::optional<absl::Time> deadline);
  absl::StatusOr<v1::SuggestAlternativesResponse> Suggest(
      const v1::SuggestAlternativesRequest& request, std::optional<absl::Time> deadline);

 private:
  // Appends the explicit substitutes and variants with the quantity available where asked.
  absl::Status AddInStock(const v1::SuggestAlternativesRequest& request,
                          const ledger_v1::Item& item,
                          const std::map<std::string, ledger_v1::Item>& candidates,
                          const std::vector<std::string>& explicit_skus,
                          std::optional<absl::Time> deadline,
                          v1::SuggestAlternativesResponse* response);

  pg::Database& db_;
  const LedgerClient& ledger_;
  Preorders& preorders_;
};

}  // namespace kura::reservation
