#pragma once

// The sale being rung up.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kura/pos/receipt.h"
#include "kura/pos/tax.h"

namespace kura::pos_terminal {

/// One line of the cart.
struct CartLine {
  std::string sku;
  std::string name;
  /// Tax-inclusive yen a unit.
  int64_t unit_price = 0;
  int64_t quantity = 1;
  pos::TaxClass tax_class = pos::TaxClass::kStandard;
  pos::LineDiscount discount;
};

/// Lines, then tenders. Every change is checked with pos::ComputeTax and refused (the cart left
/// as it was) when the amounts would be invalid. Once a tender is taken the lines are fixed
/// until the sale completes or is cancelled. Not thread-safe.
class Cart {
 public:
  const std::vector<CartLine>& lines() const { return lines_; }
  const std::vector<pos::Tender>& tenders() const { return tenders_; }
  bool empty() const { return lines_.empty(); }

  /// Adds a line and returns its number (from 1).
  [[nodiscard]] absl::StatusOr<int> Add(CartLine line);
  /// Sets the quantity of the last line.
  [[nodiscard]] absl::Status SetLastQuantity(int64_t quantity);
  /// Removes line `line` (from 1; 0: the last) and returns it.
  [[nodiscard]] absl::StatusOr<CartLine> Void(int line);
  /// Sets the discount of line `line` (from 1).
  [[nodiscard]] absl::Status SetDiscount(int line, pos::LineDiscount discount);

  /// The amounts: each line after its discount, per-rate tax, the total.
  [[nodiscard]] absl::StatusOr<pos::ReceiptTax> Totals() const;
  /// What the tenders add up to.
  int64_t paid() const;

  /// Takes a tender of `amount` yen (nullopt: what is still due) and returns it. Only cash may
  /// exceed what is due. Errors: FAILED_PRECONDITION for an empty cart or nothing due;
  /// INVALID_ARGUMENT for a card, e-money or QR amount above what is due.
  [[nodiscard]] absl::StatusOr<pos::Tender> Pay(pos::TenderKind kind,
                                                std::optional<int64_t> amount);
  /// Whether the tenders cover the total (the sale can complete).
  bool Covered() const;

  /// Drops the tenders (the lines can change again).
  void ClearTenders() { tenders_.clear(); }
  /// Empties the cart.
  void Clear() {
    lines_.clear();
    tenders_.clear();
  }

 private:
  // Replaces the lines by `lines` when their amounts are valid.
  absl::Status Replace(std::vector<CartLine> lines);
  absl::Status CheckNotPaying() const;

  std::vector<CartLine> lines_;
  std::vector<pos::Tender> tenders_;
};

/// The tax lines of `lines`, for pos::ComputeTax and pos::MakeReceipt.
std::vector<pos::TaxLine> TaxLinesOf(const std::vector<CartLine>& lines);

}  // namespace kura::pos_terminal
