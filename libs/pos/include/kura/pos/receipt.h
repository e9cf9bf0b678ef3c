#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kura/pos/tax.h"

namespace kura::pos {

/// How a customer paid (or, on a return, was refunded).
enum class TenderKind { kCash, kCard, kEMoney, kQr };

/// One payment.
struct Tender {
  TenderKind kind = TenderKind::kCash;
  /// Yen, positive.
  int64_t amount = 0;
};

/// Who issued the receipt, where and when.
struct ReceiptHeader {
  std::string store_name;
  std::string address;
  std::string phone;
  /// The invoice registration number (登録番号): "T" + 13 digits.
  std::string registration_number;
  std::string terminal_id;
  std::string transaction_id;
  /// The time of issue as printed, in the store's time zone (see FormatIssuedAt).
  std::string issued_at;
  /// A return (返品): the receipt is marked so and its tenders are refunds.
  bool is_return = false;
};

/// One printed item line.
struct ReceiptLine {
  std::string name;
  int64_t quantity = 1;
  /// Tax-inclusive yen.
  int64_t unit_price = 0;
  /// unit_price × quantity less the line's discount.
  int64_t amount = 0;
  /// kReduced lines are marked ※ (軽減税率対象).
  TaxClass tax_class = TaxClass::kStandard;
};

/// A receipt that is an 適格簡易請求書: issuer and registration number, date, items with the
/// reduced-rate ones marked, and the total and tax per rate. Build it with MakeReceipt so that
/// the printed amounts are the booked ones.
struct Receipt {
  ReceiptHeader header;
  std::vector<ReceiptLine> lines;
  /// Per-rate totals (対象) and taxes (内消費税), from ComputeTax.
  std::vector<RateTotal> rates;
  int64_t total = 0;
  std::vector<Tender> tenders;
  /// Cash handed back (お釣り); 0 on a return.
  int64_t change = 0;
};

/// One item sold: its name and its tax line.
struct SaleItem {
  std::string name;
  TaxLine line;
};

/// Checks an invoice registration number: "T" followed by 13 ASCII digits. Only the form is
/// checked: the number of a sole proprietor is not a 法人番号, so no check digit is assumed.
[[nodiscard]] absl::Status ValidateRegistrationNumber(absl::string_view number);

/// Builds a receipt: line amounts, per-rate tax (ComputeTax with `rounding`), total and change.
/// Errors: INVALID_ARGUMENT for a bad registration number, an empty store name or item name, a
/// ComputeTax error, tenders that are not positive, tenders short of the total, non-cash tenders
/// above the total (only cash gives change), or, on a return, refunds that differ from the total.
[[nodiscard]] absl::StatusOr<Receipt> MakeReceipt(ReceiptHeader header,
                                                  const std::vector<SaleItem>& items,
                                                  std::vector<Tender> tenders,
                                                  Rounding rounding = Rounding::kFloor);

/// Formats `t` in `zone` as a receipt prints it: "2025年04月01日(火) 10:23".
std::string FormatIssuedAt(absl::Time t, absl::TimeZone zone);

/// Formats yen with thousands separators: "¥1,234", "-¥10".
std::string FormatYen(int64_t yen);

/// Renders `receipt` as UTF-8 text for a screen, `columns` wide (a full-width character takes
/// two columns; fewer than 16 columns count as 16), lines ending in '\n'. Reduced-rate items
/// carry ※ and the footnote "※は軽減税率対象商品" follows; each rate's line reads
/// "(8%対象  ¥290 … 内消費税  ¥21)", the tax flush right.
std::string RenderText(const Receipt& receipt, int columns);

}  // namespace kura::pos
