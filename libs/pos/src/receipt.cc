#include "kura/pos/receipt.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "japanese_text.h"
#include "kura/base/error.h"
#include "receipt_layout.h"

namespace kura::pos {

absl::Status ValidateRegistrationNumber(absl::string_view number) {
  if (number.size() != 14 || number[0] != 'T' ||
      !std::all_of(number.begin() + 1, number.end(), absl::ascii_isdigit)) {
    return MakeError(
        absl::StatusCode::kInvalidArgument, "INVALID_REGISTRATION_NUMBER",
        absl::StrCat("registration number \"", number, "\" must be T followed by 13 digits"),
        {{"field", "registration_number"}});
  }
  return absl::OkStatus();
}

absl::StatusOr<Receipt> MakeReceipt(ReceiptHeader header, const std::vector<SaleItem>& items,
                                    std::vector<Tender> tenders, Rounding rounding) {
  if (absl::Status s = ValidateRegistrationNumber(header.registration_number); !s.ok()) return s;
  if (header.store_name.empty()) return InvalidArgument("store_name", "store_name is required");
  std::vector<TaxLine> tax_lines;
  for (const SaleItem& item : items) {
    if (item.name.empty()) return InvalidArgument("items", "every item needs a name");
    tax_lines.push_back(item.line);
  }
  absl::StatusOr<ReceiptTax> tax = ComputeTax(tax_lines, rounding);
  if (!tax.ok()) return tax.status();

  int64_t paid = 0;
  int64_t non_cash = 0;
  for (const Tender& tender : tenders) {
    if (tender.amount <= 0 || tender.amount > kMaxYen) {
      return InvalidArgument(
          "tenders", absl::StrCat("tender amount ", tender.amount, " is outside 1..", kMaxYen));
    }
    paid += tender.amount;
    if (paid > kMaxYen) return InvalidArgument("tenders", "the tenders add up to too much");
    if (tender.kind != TenderKind::kCash) non_cash += tender.amount;
  }
  if (header.is_return && paid != tax->total) {
    return InvalidArgument("tenders",
                           absl::StrCat("refunds ", FormatYen(paid), " differ from the total ",
                                        FormatYen(tax->total)));
  }
  if (paid < tax->total) {
    return InvalidArgument("tenders",
                           absl::StrCat("tenders ", FormatYen(paid), " fall short of the total ",
                                        FormatYen(tax->total)));
  }
  if (non_cash > tax->total) {
    return InvalidArgument(
        "tenders", absl::StrCat("non-cash tenders ", FormatYen(non_cash), " exceed the total ",
                                FormatYen(tax->total), "; only cash gives change"));
  }

  Receipt receipt;
  receipt.header = std::move(header);
  receipt.rates = std::move(tax->rates);
  receipt.total = tax->total;
  receipt.tenders = std::move(tenders);
  receipt.change = paid - tax->total;
  for (size_t i = 0; i < items.size(); ++i) {
    receipt.lines.push_back({.name = items[i].name,
                             .quantity = items[i].line.quantity,
                             .unit_price = items[i].line.unit_price,
                             .amount = tax->line_amounts[i],
                             .tax_class = items[i].line.tax_class});
  }
  return receipt;
}

std::string FormatIssuedAt(absl::Time t, absl::TimeZone zone) {
  // absl::Weekday runs from monday to sunday.
  static constexpr const char* kWeekdays[] = {"月", "火", "水", "木", "金", "土", "日"};
  const auto weekday = static_cast<int>(absl::GetWeekday(absl::ToCivilDay(t, zone)));
  return absl::StrCat(absl::FormatTime("%Y年%m月%d日", t, zone), "(", kWeekdays[weekday], ") ",
                      absl::FormatTime("%H:%M", t, zone));
}

std::string FormatYen(int64_t yen) {
  // Unsigned, so that the magnitude of INT64_MIN fits.
  uint64_t magnitude = yen < 0 ? 0 - static_cast<uint64_t>(yen) : static_cast<uint64_t>(yen);
  std::string digits = absl::StrCat(magnitude);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return absl::StrCat(yen < 0 ? "-" : "", "¥", grouped);
}

std::string RenderText(const Receipt& receipt, int columns) {
  columns = std::max(columns, 16);
  std::string out;
  for (const layout::Row& row : layout::LayOutReceipt(receipt, columns, /*double_size=*/false)) {
    const int indent =
        row.align == layout::Align::kCenter ? (columns - text::DisplayWidth(row.text)) / 2 : 0;
    absl::StrAppend(&out, std::string(std::max(indent, 0), ' '), row.text, "\n");
  }
  return out;
}

}  // namespace kura::pos
