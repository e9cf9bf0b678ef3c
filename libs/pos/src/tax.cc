#include "kura/pos/tax.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"

namespace kura::pos {
namespace {

// Returns numerator / denominator rounded by `rounding`; both are non-negative.
int64_t Divide(int64_t numerator, int64_t denominator, Rounding rounding) {
  switch (rounding) {
    case Rounding::kFloor:
      return numerator / denominator;
    case Rounding::kHalfUp:
      return (2 * numerator + denominator) / (2 * denominator);
    case Rounding::kCeil:
      return (numerator + denominator - 1) / denominator;
  }
  return numerator / denominator;
}

// Returns the amount of `line` after its discount.
absl::StatusOr<int64_t> LineAmount(const TaxLine& line, size_t index) {
  const std::string field = absl::StrCat("lines[", index, "]");
  if (line.unit_price < 0 || line.unit_price > kMaxYen) {
    return InvalidArgument(
        field, absl::StrCat(field, ": unit price ", line.unit_price, " is outside 0..", kMaxYen));
  }
  if (line.quantity < 1 || line.quantity > kMaxLineQuantity) {
    return InvalidArgument(field, absl::StrCat(field, ": quantity ", line.quantity,
                                               " is outside 1..", kMaxLineQuantity));
  }
  // Cannot overflow: at most 10^12 × 10^6.
  const int64_t gross = line.unit_price * line.quantity;
  if (gross > kMaxYen) {
    return InvalidArgument(field, absl::StrCat(field, ": amount ", gross, " exceeds ", kMaxYen));
  }
  const LineDiscount& discount = line.discount;
  switch (discount.kind) {
    case LineDiscount::Kind::kNone:
      return gross;
    case LineDiscount::Kind::kAmount:
      if (discount.value < 0 || discount.value > gross) {
        return InvalidArgument(
            field, absl::StrCat(field, ": discount ", discount.value, " is outside 0..", gross));
      }
      return gross - discount.value;
    case LineDiscount::Kind::kPercent:
      if (discount.value < 0 || discount.value > 100) {
        return InvalidArgument(
            field, absl::StrCat(field, ": discount ", discount.value, "% is outside 0..100%"));
      }
      return gross - gross * discount.value / 100;
  }
  return gross;
}

}  // namespace

int TaxRatePercent(TaxClass tax_class) {
  switch (tax_class) {
    case TaxClass::kStandard:
      return 10;
    case TaxClass::kReduced:
      return 8;
    case TaxClass::kExempt:
      return 0;
  }
  return 0;
}

absl::StatusOr<ReceiptTax> ComputeTax(const std::vector<TaxLine>& lines, Rounding rounding) {
  constexpr std::array kClasses = {TaxClass::kStandard, TaxClass::kReduced, TaxClass::kExempt};
  std::array<bool, kClasses.size()> present{};
  std::array<int64_t, kClasses.size()> taxable{};
  ReceiptTax out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto c = static_cast<size_t>(lines[i].tax_class);
    if (c >= kClasses.size()) {
      return InvalidArgument("lines", absl::StrCat("lines[", i, "]: unknown tax class ", c));
    }
    absl::StatusOr<int64_t> amount = LineAmount(lines[i], i);
    if (!amount.ok()) return amount.status();
    out.total += *amount;
    if (out.total > kMaxYen) {
      return InvalidArgument("lines", absl::StrCat("the receipt total exceeds ", kMaxYen));
    }
    present[c] = true;
    taxable[c] += *amount;
    out.line_amounts.push_back(*amount);
  }
  for (size_t c = 0; c < kClasses.size(); ++c) {
    if (!present[c]) continue;
    const int rate = TaxRatePercent(kClasses[c]);
    const int64_t tax = Divide(taxable[c] * rate, 100 + rate, rounding);
    out.rates.push_back({.tax_class = kClasses[c],
                         .rate_percent = rate,
                         .taxable = taxable[c],
                         .tax = tax,
                         .net = taxable[c] - tax});
    out.tax += tax;
  }
  return out;
}

absl::StatusOr<int64_t> RefundOf(int64_t paid, int64_t sold, int64_t returned, int64_t quantity) {
  if (sold <= 0 || sold > kMaxLineQuantity || paid < 0 || paid > kMaxYen || returned < 0 ||
      quantity <= 0 || returned + quantity > sold) {
    return absl::InvalidArgumentError(absl::StrCat("cannot refund ", quantity, " of ", sold,
                                                   " units (", returned, " returned before)"));
  }
  // paid × units < 10^12 × 10^6: no overflow.
  return paid * (returned + quantity) / sold - paid * returned / sold;
}

TaxLine RefundLine(int64_t refund, int64_t quantity, TaxClass tax_class) {
  const int64_t unit = (refund + quantity - 1) / quantity;
  return {unit, quantity, tax_class, {LineDiscount::Kind::kAmount, unit * quantity - refund}};
}

}  // namespace kura::pos
