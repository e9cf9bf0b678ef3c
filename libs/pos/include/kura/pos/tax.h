#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace kura::pos {

/// Japanese consumption-tax class of an item.
enum class TaxClass {
  /// Standard rate, 10 %.
  kStandard,
  /// Reduced rate (軽減税率), 8 %: food and drink except alcohol and dining in; newspapers by
  /// subscription.
  kReduced,
  /// Exempt or outside the tax (非課税・不課税): no tax.
  kExempt,
};

/// Returns the rate of `tax_class` in percent: 10, 8 or 0.
int TaxRatePercent(TaxClass tax_class);

/// How the one rounding per rate per receipt is done; the merchant chooses (税の丸め方式).
enum class Rounding {
  /// 切捨て, the usual choice.
  kFloor,
  /// 四捨五入: halves go up.
  kHalfUp,
  /// 切上げ.
  kCeil,
};

/// Largest amount in yen a line or a receipt may reach (¥1 trillion): far beyond any sale, small
/// enough that no sum or product of the arithmetic below can overflow int64.
inline constexpr int64_t kMaxYen = 1'000'000'000'000;
/// Largest quantity on one line.
inline constexpr int64_t kMaxLineQuantity = 1'000'000;

/// A discount on one line, taken off the line total before tax.
struct LineDiscount {
  enum class Kind { kNone, kAmount, kPercent };
  Kind kind = Kind::kNone;
  /// kAmount: yen off the line total (0 up to the line total). kPercent: percent off (0–100); the
  /// yen off are floor(line total × percent / 100), so the customer never gets more than the
  /// stated percent off (10 % off ¥105 takes ¥10 off, leaving ¥95).
  int64_t value = 0;
};

/// One line of a sale. Prices are tax-inclusive (内税) yen.
struct TaxLine {
  int64_t unit_price = 0;
  int64_t quantity = 1;
  TaxClass tax_class = TaxClass::kStandard;
  LineDiscount discount;
};

/// The tax of one rate on a receipt.
struct RateTotal {
  TaxClass tax_class = TaxClass::kStandard;
  int rate_percent = 10;
  /// The tax-inclusive total of the lines at this rate (対象).
  int64_t taxable = 0;
  /// The tax contained in `taxable` (内消費税), rounded once.
  int64_t tax = 0;
  /// taxable − tax.
  int64_t net = 0;
};

/// The amounts of a receipt, as printed and as booked.
struct ReceiptTax {
  /// Each input line's amount after its discount, in input order.
  std::vector<int64_t> line_amounts;
  /// One entry per tax class present on the receipt, in the order standard, reduced, exempt.
  std::vector<RateTotal> rates;
  /// The sum of all line amounts (tax included).
  int64_t total = 0;
  /// The sum of the per-rate taxes.
  int64_t tax = 0;
};

/// Computes the consumption tax of a receipt ONCE PER RATE (新消費税法施行令第70条の10): for each
/// rate, tax = round(Σ inclusive amounts × rate / (100 + rate)) with `rounding`, never a sum of
/// per-line taxes (three ¥105 items at 10 % contain ¥28, not 3 × ¥9). Errors: INVALID_ARGUMENT
/// for a negative price, a quantity outside 1..kMaxLineQuantity, a bad discount, or a line or
/// total above kMaxYen.
[[nodiscard]] absl::StatusOr<ReceiptTax> ComputeTax(const std::vector<TaxLine>& lines,
                                                    Rounding rounding = Rounding::kFloor);

/// The refund of `quantity` units of a sale line that sold `sold` units for `paid` yen (after
/// its discount), when `returned` units of it came back before: the yen paid for units returned
/// + 1 .. returned + quantity, each part floored so that the refunds of all the line's units add
/// up to exactly `paid` however the returns are split (3 units for ¥100 refund ¥33, ¥33, ¥34).
/// Errors: INVALID_ARGUMENT when the quantities do not fit the line.
[[nodiscard]] absl::StatusOr<int64_t> RefundOf(int64_t paid, int64_t sold, int64_t returned,
                                               int64_t quantity);

/// The tax line that refunds `refund` yen for `quantity` units of `tax_class`: the unit price
/// rounded up, the difference as an amount discount.
TaxLine RefundLine(int64_t refund, int64_t quantity, TaxClass tax_class);

}  // namespace kura::pos
