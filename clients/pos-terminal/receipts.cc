#include "receipts.h"

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kura/base/proto_util.h"

namespace kura::pos_terminal {

absl::TimeZone ZoneOf(const std::optional<v1::StoreSettings>& settings) {
  absl::TimeZone zone;
  if (settings && !settings->time_zone().empty() &&
      absl::LoadTimeZone(settings->time_zone(), &zone)) {
    return zone;
  }
  return absl::LocalTimeZone();
}

pos::Receipt ReceiptFromProto(const v1::Receipt& r, absl::TimeZone zone) {
  // A return's amounts come negative; an exchange's new lines positive. Printed, all are sizes.
  auto size = [&r](int64_t v) { return r.is_return() ? std::llabs(v) : v; };
  pos::Receipt out;
  out.header.store_name = r.store_name();
  out.header.address = r.store_address();
  out.header.phone = r.store_phone();
  out.header.registration_number = r.invoice_number();
  out.header.terminal_id = r.terminal_id();
  out.header.transaction_id = r.transaction_id();
  out.header.issued_at = r.local_time().empty()
                             ? pos::FormatIssuedAt(FromProto(r.occurred_at()), zone)
                             : r.local_time();
  out.header.is_return = r.is_return();
  for (const v1::ReceiptLine& line : r.lines()) {
    out.lines.push_back(
        {.name = line.name(),
         .quantity = size(line.quantity()),
         .unit_price = line.unit_price_yen(),
         .amount = size(line.amount_yen()),
         .tax_class = line.reduced_rate() ? pos::TaxClass::kReduced : pos::TaxClass::kStandard});
  }
  for (const v1::TaxBreakdown& tax : r.taxes()) {
    pos::RateTotal rate;
    rate.tax_class = pos::TaxClassOf(tax.rate());
    rate.rate_percent = pos::TaxRatePercent(rate.tax_class);
    rate.taxable = size(tax.taxable_yen());
    rate.tax = size(tax.tax_yen());
    rate.net = rate.taxable - rate.tax;
    out.rates.push_back(rate);
  }
  out.total = size(r.total_yen());
  for (const v1::Tender& tender : r.tenders()) {
    out.tenders.push_back({pos::TenderKindFromProto(tender.kind()).value_or(pos::TenderKind::kCash),
                           std::llabs(tender.amount_yen())});
  }
  out.change = r.change_yen();
  return out;
}

v1::Receipt LabelsToProto(const v1::JournalEntry& entry, const LineLabels& labels) {
  v1::Receipt out;
  auto add = [&](size_t i, const std::string& sku, int64_t quantity) {
    v1::ReceiptLine& line = *out.add_lines();
    line.set_sku(sku);
    line.set_quantity(quantity);
    line.set_name(labels[i].name);
    line.set_reduced_rate(labels[i].tax_class == pos::TaxClass::kReduced);
    if (labels[i].refund) line.set_amount_yen(*labels[i].refund);
  };
  if (entry.has_sale() && static_cast<size_t>(entry.sale().lines_size()) == labels.size()) {
    for (size_t i = 0; i < labels.size(); ++i) {
      add(i, entry.sale().lines(i).sku(), entry.sale().lines(i).quantity());
    }
  } else if (entry.has_return_() &&
             static_cast<size_t>(entry.return_().lines_size()) == labels.size() &&
             std::all_of(labels.begin(), labels.end(),
                         [](const LineLabel& l) { return l.refund.has_value(); })) {
    for (size_t i = 0; i < labels.size(); ++i) {
      add(i, entry.return_().lines(i).sku(), entry.return_().lines(i).quantity());
    }
  }
  return out;
}

std::optional<LineLabels> LabelsFromProto(const v1::JournalEntry& entry,
                                          const v1::Receipt& stored) {
  std::vector<std::pair<std::string, int64_t>> lines;
  if (entry.has_sale()) {
    for (const v1::SaleLine& l : entry.sale().lines()) lines.emplace_back(l.sku(), l.quantity());
  } else {
    for (const v1::ReturnLine& l : entry.return_().lines()) {
      lines.emplace_back(l.sku(), l.quantity());
    }
  }
  if (lines.empty() || stored.lines_size() != static_cast<int>(lines.size())) return std::nullopt;
  LineLabels labels;
  for (size_t i = 0; i < lines.size(); ++i) {
    const v1::ReceiptLine& line = stored.lines(static_cast<int>(i));
    if (line.sku() != lines[i].first || line.quantity() != lines[i].second) return std::nullopt;
    LineLabel& label = labels.emplace_back();
    label.name = line.name();
    label.tax_class = line.reduced_rate() ? pos::TaxClass::kReduced : pos::TaxClass::kStandard;
    if (entry.has_return_()) label.refund = line.amount_yen();
  }
  return labels;
}

std::optional<v1::Receipt> BookedLabels(const v1::JournalEntry& entry, const v1::Receipt& receipt) {
  v1::Receipt labels;
  for (const v1::ReceiptLine& line : receipt.lines()) {
    v1::ReceiptLine& out = *labels.add_lines();
    out.set_sku(line.sku());
    out.set_name(line.name());
    out.set_reduced_rate(line.reduced_rate());
    // A return's receipt signs its amounts negative; the labels keep sizes.
    out.set_quantity(std::llabs(line.quantity()));
    if (entry.has_return_()) out.set_amount_yen(std::llabs(line.amount_yen()));
  }
  if (!LabelsFromProto(entry, labels)) return std::nullopt;
  return labels;
}

v1::Discount DiscountToProto(const pos::LineDiscount& discount) {
  v1::Discount out;
  switch (discount.kind) {
    case pos::LineDiscount::Kind::kPercent:
      out.set_percent(static_cast<int32_t>(discount.value));
      break;
    case pos::LineDiscount::Kind::kAmount:
      out.set_amount_yen(discount.value);
      break;
    case pos::LineDiscount::Kind::kNone:
      break;
  }
  return out;
}

absl::StatusOr<pos::LineDiscount> DiscountFromProto(const v1::SaleLine& line) {
  const v1::Discount& d = line.discount();
  if (d.amount_yen() != 0 && d.percent() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the discount of ", line.sku(), " sets both an amount and a percent"));
  }
  if (d.percent() != 0) return pos::LineDiscount{pos::LineDiscount::Kind::kPercent, d.percent()};
  if (d.amount_yen() != 0) {
    return pos::LineDiscount{pos::LineDiscount::Kind::kAmount, d.amount_yen()};
  }
  return pos::LineDiscount{};
}

absl::StatusOr<std::vector<int64_t>> LineAmounts(const v1::SaleRequest& sale) {
  std::vector<pos::TaxLine> lines;
  for (const v1::SaleLine& line : sale.lines()) {
    absl::StatusOr<pos::LineDiscount> discount = DiscountFromProto(line);
    if (!discount.ok()) return discount.status();
    lines.push_back({.unit_price = line.unit_price_yen(),
                     .quantity = line.quantity(),
                     .tax_class = pos::TaxClass::kStandard,  // amounts do not depend on it
                     .discount = *discount});
  }
  absl::StatusOr<pos::ReceiptTax> tax = pos::ComputeTax(lines);
  if (!tax.ok()) return tax.status();
  return std::move(tax->line_amounts);
}

absl::StatusOr<pos::Receipt> LocalReceipt(const v1::JournalEntry& entry, const LineLabels& labels,
                                          const std::optional<v1::StoreSettings>& settings,
                                          absl::string_view terminal) {
  if (!settings) {
    return absl::FailedPreconditionError(
        "the store's receipt header was never synced from the gateway");
  }
  const bool is_return = entry.has_return_();
  const google::protobuf::Timestamp& occurred_at =
      is_return ? entry.return_().occurred_at() : entry.sale().occurred_at();
  pos::ReceiptHeader header;
  header.store_name = settings->name();
  header.address = settings->address();
  header.phone = settings->phone();
  header.registration_number = settings->invoice_number();
  header.terminal_id = std::string(terminal);
  header.transaction_id =
      is_return ? entry.return_().transaction_id() : entry.sale().transaction_id();
  header.issued_at = pos::FormatIssuedAt(FromProto(occurred_at), ZoneOf(settings));
  header.is_return = is_return;

  const size_t count =
      static_cast<size_t>(is_return ? entry.return_().lines_size() : entry.sale().lines_size());
  if (labels.size() != count) {
    return absl::FailedPreconditionError(
        absl::StrCat("no names or tax rates known for the lines of ", header.transaction_id));
  }
  std::vector<pos::SaleItem> items;
  std::vector<pos::Tender> tenders;
  if (is_return) {
    int64_t refunded = 0;
    for (size_t i = 0; i < count; ++i) {
      const v1::ReturnLine& line = entry.return_().lines(static_cast<int>(i));
      if (!labels[i].refund) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the refund of ", line.sku(), " is known only to the gateway (sale ",
            entry.return_().original_transaction_id(), " is not in this register's journal)"));
      }
      // The gateway's own rule: the refund as a unit price rounded up less an amount discount,
      // taxed at the original line's rate.
      items.push_back({labels[i].name,
                       pos::RefundLine(*labels[i].refund, line.quantity(), labels[i].tax_class)});
      refunded += *labels[i].refund;
    }
    if (refunded > 0) tenders.push_back({pos::TenderKind::kCash, refunded});
  } else {
    for (size_t i = 0; i < count; ++i) {
      const v1::SaleLine& line = entry.sale().lines(static_cast<int>(i));
      // The same discount the request carries, so that the receipt shows what is booked.
      absl::StatusOr<pos::LineDiscount> discount = DiscountFromProto(line);
      if (!discount.ok()) return discount.status();
      items.push_back({labels[i].name,
                       {.unit_price = line.unit_price_yen(),
                        .quantity = line.quantity(),
                        .tax_class = labels[i].tax_class,
                        .discount = *discount}});
    }
    for (const v1::Tender& tender : entry.sale().tenders()) {
      tenders.push_back({pos::TenderKindFromProto(tender.kind()).value_or(pos::TenderKind::kCash),
                         tender.amount_yen()});
    }
  }
  return pos::MakeReceipt(std::move(header), items, std::move(tenders));
}

}  // namespace kura::pos_terminal
