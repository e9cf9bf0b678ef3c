#include "kura/pos/tax.h"

#include <catch2/catch.hpp>
#include <cstdint>

#include "kura/base/error.h"

namespace kura::pos {
namespace {

TaxLine Line(int64_t unit_price, TaxClass tax_class = TaxClass::kStandard, int64_t quantity = 1) {
  TaxLine line;
  line.unit_price = unit_price;
  line.quantity = quantity;
  line.tax_class = tax_class;
  return line;
}

TaxLine Discounted(int64_t unit_price, int64_t quantity, LineDiscount::Kind kind, int64_t value) {
  TaxLine line = Line(unit_price, TaxClass::kStandard, quantity);
  line.discount.kind = kind;
  line.discount.value = value;
  return line;
}

ReceiptTax Compute(const std::vector<TaxLine>& lines, Rounding rounding = Rounding::kFloor) {
  absl::StatusOr<ReceiptTax> tax = ComputeTax(lines, rounding);
  INFO(tax.status().ToString());
  REQUIRE(tax.ok());
  return *tax;
}

TEST_CASE("Tax is rounded once per rate per receipt, not per line") {
  // The reference's contrast: three ¥105 items at 10 %; per line 9 + 9 + 9 = 27 is not allowed.
  ReceiptTax tax = Compute({Line(105), Line(105), Line(105)});
  REQUIRE(tax.rates.size() == 1);
  CHECK(tax.rates[0].tax_class == TaxClass::kStandard);
  CHECK(tax.rates[0].rate_percent == 10);
  CHECK(tax.rates[0].taxable == 315);
  CHECK(tax.rates[0].tax == 28);
  CHECK(tax.rates[0].net == 287);
  CHECK(tax.total == 315);
  CHECK(tax.tax == 28);
  CHECK(tax.line_amounts == std::vector<int64_t>{105, 105, 105});
  // One line of three gives the same.
  CHECK(Compute({Line(105, TaxClass::kStandard, 3)}).tax == 28);
}

TEST_CASE("A mixed 8 % and 10 % receipt has one tax per rate") {
  // The reference's receipt: おにぎり ※ ¥150, お茶 ※ ¥140, ボールペン ¥110.
  ReceiptTax tax = Compute({Line(150, TaxClass::kReduced), Line(140, TaxClass::kReduced),
                            Line(110, TaxClass::kStandard)});
  REQUIRE(tax.rates.size() == 2);
  CHECK(tax.rates[0].rate_percent == 10);
  CHECK(tax.rates[0].taxable == 110);
  CHECK(tax.rates[0].tax == 10);
  CHECK(tax.rates[1].tax_class == TaxClass::kReduced);
  CHECK(tax.rates[1].rate_percent == 8);
  CHECK(tax.rates[1].taxable == 290);
  CHECK(tax.rates[1].tax == 21);  // 290 × 8 / 108 = 21.48
  CHECK(tax.rates[1].net == 269);
  CHECK(tax.total == 400);
  CHECK(tax.tax == 31);
}

TEST_CASE("Exempt lines carry no tax") {
  ReceiptTax tax = Compute({Line(500, TaxClass::kExempt), Line(108, TaxClass::kReduced)});
  REQUIRE(tax.rates.size() == 2);
  CHECK(tax.rates[0].tax_class == TaxClass::kReduced);
  CHECK(tax.rates[0].tax == 8);
  CHECK(tax.rates[1].tax_class == TaxClass::kExempt);
  CHECK(tax.rates[1].rate_percent == 0);
  CHECK(tax.rates[1].tax == 0);
  CHECK(tax.rates[1].net == 500);
  CHECK(tax.total == 608);
  CHECK(tax.tax == 8);
}

TEST_CASE("The rounding mode is the merchant's") {
  // 315 × 10 / 110 = 28.63; 100 × 10 / 110 = 9.09.
  CHECK(Compute({Line(315)}, Rounding::kFloor).tax == 28);
  CHECK(Compute({Line(315)}, Rounding::kHalfUp).tax == 29);
  CHECK(Compute({Line(315)}, Rounding::kCeil).tax == 29);
  CHECK(Compute({Line(100)}, Rounding::kHalfUp).tax == 9);
  CHECK(Compute({Line(100)}, Rounding::kCeil).tax == 10);
  CHECK(Compute({Line(110)}, Rounding::kCeil).tax == 10);  // Exact: nothing to round.
}

TEST_CASE("Line discounts come off before tax") {
  using Kind = LineDiscount::Kind;
  ReceiptTax tax = Compute({Discounted(200, 2, Kind::kAmount, 50),   // 400 − 50
                            Discounted(105, 1, Kind::kPercent, 10),  // 105 − floor(10.5)
                            Discounted(300, 1, Kind::kPercent, 100)});
  CHECK(tax.line_amounts == std::vector<int64_t>{350, 95, 0});
  CHECK(tax.total == 445);
  CHECK(tax.tax == 40);  // 445 × 10 / 110 = 40.45
}

TEST_CASE("Bad lines and absurd amounts are refused") {
  using Kind = LineDiscount::Kind;
  const std::vector<std::vector<TaxLine>> bad = {
      {Line(-1)},
      {Line(kMaxYen + 1)},
      {Line(INT64_MAX)},
      {Line(100, TaxClass::kStandard, 0)},
      {Line(100, TaxClass::kStandard, kMaxLineQuantity + 1)},
      {Line(kMaxYen, TaxClass::kStandard, 2)},
      {Line(kMaxYen), Line(1)},
      {Discounted(100, 1, Kind::kAmount, 101)},
      {Discounted(100, 1, Kind::kAmount, -1)},
      {Discounted(100, 1, Kind::kPercent, 101)},
      {Line(100, static_cast<TaxClass>(7))},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    INFO("case " << i);
    absl::StatusOr<ReceiptTax> tax = ComputeTax(bad[i]);
    REQUIRE_FALSE(tax.ok());
    CHECK(tax.status().code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(Compute({Line(kMaxYen)}).tax == 90'909'090'909);
  CHECK(Compute({}).rates.empty());
}

TEST_CASE("Refunds of a line add up to what was paid, however the returns are split") {
  // 3 units for ¥100: one at a time refunds ¥33, ¥33, ¥34; all at once ¥100.
  CHECK(*RefundOf(100, 3, 0, 1) == 33);
  CHECK(*RefundOf(100, 3, 1, 1) == 33);
  CHECK(*RefundOf(100, 3, 2, 1) == 34);
  CHECK(*RefundOf(100, 3, 0, 3) == 100);
  CHECK(*RefundOf(299, 3, 0, 2) + *RefundOf(299, 3, 2, 1) == 299);
  CHECK(!RefundOf(100, 3, 2, 2).ok());  // more than is left
  CHECK(!RefundOf(100, 0, 0, 1).ok());
  const TaxLine line = RefundLine(199, 2, TaxClass::kReduced);
  auto tax = ComputeTax({line});
  REQUIRE(tax.ok());
  CHECK(tax->total == 199);
  CHECK(tax->rates[0].tax_class == TaxClass::kReduced);
}

}  // namespace
}  // namespace kura::pos
