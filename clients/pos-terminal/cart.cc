#include "cart.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace kura::pos_terminal {

std::vector<pos::TaxLine> TaxLinesOf(const std::vector<CartLine>& lines) {
  std::vector<pos::TaxLine> out;
  out.reserve(lines.size());
  for (const CartLine& line : lines) {
    out.push_back({.unit_price = line.unit_price,
                   .quantity = line.quantity,
                   .tax_class = line.tax_class,
                   .discount = line.discount});
  }
  return out;
}

absl::Status Cart::CheckNotPaying() const {
  if (tenders_.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "payment has started: pay the rest, or cancel to start over");
}

absl::Status Cart::Replace(std::vector<CartLine> lines) {
  if (absl::StatusOr<pos::ReceiptTax> tax = pos::ComputeTax(TaxLinesOf(lines)); !tax.ok()) {
    return tax.status();
  }
  lines_ = std::move(lines);
  return absl::OkStatus();
}

absl::StatusOr<int> Cart::Add(CartLine line) {
  if (absl::Status s = CheckNotPaying(); !s.ok()) return s;
  std::vector<CartLine> next = lines_;
  next.push_back(std::move(line));
  if (absl::Status s = Replace(std::move(next)); !s.ok()) return s;
  return static_cast<int>(lines_.size());
}

absl::Status Cart::SetLastQuantity(int64_t quantity) {
  if (absl::Status s = CheckNotPaying(); !s.ok()) return s;
  if (lines_.empty()) return absl::FailedPreconditionError("the cart is empty");
  std::vector<CartLine> next = lines_;
  next.back().quantity = quantity;
  return Replace(std::move(next));
}

absl::StatusOr<CartLine> Cart::Void(int line) {
  if (absl::Status s = CheckNotPaying(); !s.ok()) return s;
  if (lines_.empty()) return absl::FailedPreconditionError("the cart is empty");
  if (line == 0) line = static_cast<int>(lines_.size());
  if (line < 1 || line > static_cast<int>(lines_.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("no line ", line, " (the cart has ", lines_.size(), ")"));
  }
  CartLine removed = lines_[line - 1];
  lines_.erase(lines_.begin() + (line - 1));
  return removed;
}

absl::Status Cart::SetDiscount(int line, pos::LineDiscount discount) {
  if (absl::Status s = CheckNotPaying(); !s.ok()) return s;
  if (line < 1 || line > static_cast<int>(lines_.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("no line ", line, " (the cart has ", lines_.size(), ")"));
  }
  std::vector<CartLine> next = lines_;
  next[line - 1].discount = discount;
  return Replace(std::move(next));
}

absl::StatusOr<pos::ReceiptTax> Cart::Totals() const { return pos::ComputeTax(TaxLinesOf(lines_)); }

int64_t Cart::paid() const {
  int64_t paid = 0;
  for (const pos::Tender& t : tenders_) paid += t.amount;
  return paid;
}

absl::StatusOr<pos::Tender> Cart::Pay(pos::TenderKind kind, std::optional<int64_t> amount) {
  if (lines_.empty()) return absl::FailedPreconditionError("the cart is empty");
  absl::StatusOr<pos::ReceiptTax> totals = Totals();
  if (!totals.ok()) return totals.status();
  const int64_t due = totals->total - paid();
  if (due <= 0) return absl::FailedPreconditionError("nothing is due");
  pos::Tender tender{kind, amount.value_or(due)};
  if (kind != pos::TenderKind::kCash && tender.amount > due) {
    return absl::InvalidArgumentError(absl::StrCat(pos::FormatYen(tender.amount),
                                                   " is more than the ", pos::FormatYen(due),
                                                   " due: only cash gives change"));
  }
  tenders_.push_back(tender);
  return tender;
}

bool Cart::Covered() const {
  absl::StatusOr<pos::ReceiptTax> totals = Totals();
  return !lines_.empty() && totals.ok() && paid() >= totals->total;
}

}  // namespace kura::pos_terminal
