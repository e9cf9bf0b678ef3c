#include "receipt_layout.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "japanese_text.h"

namespace kura::pos::layout {
namespace {

std::string Spaces(int n) { return std::string(std::max(n, 0), ' '); }

// Splits `text` into pieces at most `width` columns wide, never inside a character.
std::vector<std::string> Wrap(absl::string_view text, int width) {
  std::vector<std::string> pieces(1);
  int used = 0;
  while (!text.empty()) {
    absl::string_view c = text.substr(0, text::CharLength(text));
    text.remove_prefix(c.size());
    const int w = text::DisplayWidth(c);
    if (used + w > width && used > 0) {
      pieces.emplace_back();
      used = 0;
    }
    absl::StrAppend(&pieces.back(), c);
    used += w;
  }
  return pieces;
}

// `left` flush left and `right` flush right on one line, or on several when they do not fit.
std::vector<std::string> LeftRight(absl::string_view left, absl::string_view right, int width) {
  const int right_width = text::DisplayWidth(right);
  std::vector<std::string> lines = Wrap(left, width);
  const int last_width = text::DisplayWidth(lines.back());
  if (last_width + 1 + right_width <= width) {
    absl::StrAppend(&lines.back(), Spaces(width - last_width - right_width), right);
  } else if (right_width <= width) {
    lines.push_back(absl::StrCat(Spaces(width - right_width), right));
  } else {
    for (auto& piece : Wrap(right, width)) lines.push_back(std::move(piece));
  }
  return lines;
}

std::string TenderLabel(TenderKind kind, bool is_return) {
  std::string name;
  switch (kind) {
    case TenderKind::kCash:
      if (!is_return) return "お預り";
      name = "現金";
      break;
    case TenderKind::kCard:
      name = "クレジット";
      break;
    case TenderKind::kEMoney:
      name = "電子マネー";
      break;
    case TenderKind::kQr:
      name = "QRコード決済";
      break;
  }
  return is_return ? absl::StrCat("ご返金(", name, ")") : name;
}

}  // namespace

std::vector<Row> LayOutReceipt(const Receipt& receipt, int columns, bool double_size) {
  const ReceiptHeader& header = receipt.header;
  const int big_columns = double_size ? columns / 2 : columns;
  std::vector<Row> rows;
  auto add = [&rows](std::vector<std::string> texts, Align align, bool big = false) {
    for (auto& text : texts) rows.push_back({std::move(text), align, big, big});
  };
  auto add_amount = [&](absl::string_view label, int64_t yen, bool big = false) {
    add(LeftRight(label, FormatYen(yen), big ? big_columns : columns), Align::kLeft, big);
  };

  if (header.is_return) add(Wrap("【返品】", big_columns), Align::kCenter, double_size);
  add(Wrap(header.store_name, big_columns), Align::kCenter, double_size);
  if (!header.address.empty()) add(Wrap(header.address, columns), Align::kCenter);
  if (!header.phone.empty()) add(Wrap(absl::StrCat("TEL ", header.phone), columns), Align::kCenter);
  add(Wrap(absl::StrCat("登録番号 ", header.registration_number), columns), Align::kCenter);
  add(Wrap(header.issued_at, columns), Align::kLeft);
  add(LeftRight(absl::StrCat("レジ#", header.terminal_id),
                absl::StrCat("No.", header.transaction_id), columns),
      Align::kLeft);
  const std::string rule(columns, '-');
  add({rule}, Align::kLeft);

  bool any_reduced = false;
  for (const ReceiptLine& line : receipt.lines) {
    const bool reduced = line.tax_class == TaxClass::kReduced;
    any_reduced |= reduced;
    // On paper (double_size: the printer's layout) a name's unprintable characters become 〓.
    const std::string name = double_size ? text::Printable(line.name) : line.name;
    add_amount(reduced ? absl::StrCat(name, " ※") : name, line.amount);
    if (line.quantity != 1) {
      add({absl::StrCat("  ", FormatYen(line.unit_price), " × ", line.quantity)}, Align::kLeft);
    }
    if (const int64_t off = line.unit_price * line.quantity - line.amount; off != 0) {
      add_amount("  値引", -off);
    }
  }
  add({rule}, Align::kLeft);

  add_amount("小計", receipt.total);
  for (const RateTotal& rate : receipt.rates) {
    if (rate.tax_class == TaxClass::kExempt) {
      add(LeftRight("(非課税対象", absl::StrCat(FormatYen(rate.taxable), ")"), columns),
          Align::kLeft);
    } else {
      add(LeftRight(absl::StrCat("(", rate.rate_percent, "%対象  ", FormatYen(rate.taxable)),
                    absl::StrCat("内消費税  ", FormatYen(rate.tax), ")"), columns),
          Align::kLeft);
    }
  }
  add_amount("合計", receipt.total, double_size);
  bool cash = false;
  for (const Tender& tender : receipt.tenders) {
    cash |= tender.kind == TenderKind::kCash;
    add_amount(TenderLabel(tender.kind, header.is_return), tender.amount);
  }
  if (cash && !header.is_return) add_amount("お釣り", receipt.change);
  if (any_reduced) add({"※は軽減税率対象商品"}, Align::kLeft);
  return rows;
}

}  // namespace kura::pos::layout
