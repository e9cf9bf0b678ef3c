#include "receipts.h"

#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kura/base/proto_util.h"

namespace kura::pos_terminal {

pos::TaxClass TaxClassOf(v1::TaxRate rate) {
  return rate == v1::TAX_RATE_REDUCED ? pos::TaxClass::kReduced : pos::TaxClass::kStandard;
}

v1::TenderKind TenderKindToProto(pos::TenderKind kind) {
  switch (kind) {
    case pos::TenderKind::kCash:
      return v1::TENDER_KIND_CASH;
    case pos::TenderKind::kCard:
      return v1::TENDER_KIND_CARD;
    case pos::TenderKind::kEMoney:
      return v1::TENDER_KIND_EMONEY;
    case pos::TenderKind::kQr:
      return v1::TENDER_KIND_QR;
  }
  return v1::TENDER_KIND_UNSPECIFIED;
}

pos::TenderKind TenderKindFromProto(v1::TenderKind kind) {
  switch (kind) {
    case v1::TENDER_KIND_CARD:
      return pos::TenderKind::kCard;
    case v1::TENDER_KIND_EMONEY:
      return pos::TenderKind::kEMoney;
    case v1::TENDER_KIND_QR:
      return pos::TenderKind::kQr;
    default:
      return pos::TenderKind::kCash;
  }
}

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
    rate.tax_class = TaxClassOf(tax.rate());
    rate.rate_percent = pos::TaxRatePercent(rate.tax_class);
    rate.taxable = size(tax.taxable_yen());
    rate.tax = size(tax.tax_yen());
    rate.net = rate.taxable - rate.tax;
    out.rates.push_back(rate);
  }
  out.total = size(r.total_yen());
  for (const v1::Tender& tender : r.tenders()) {
    out.tenders.push_back({TenderKindFromProto(tender.kind()), std::llabs(tender.amount_yen())});
  }
  out.change = r.change_yen();
  return out;
}

absl::StatusOr<pos::Receipt> LocalReceipt(const v1::JournalEntry& entry, const ItemLabels& labels,
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

  auto label = [&labels](const std::string& sku) -> absl::StatusOr<const ItemLabel*> {
    auto it = labels.find(sku);
    if (it == labels.end()) {
      return absl::FailedPreconditionError(absl::StrCat("no name or price known for ", sku));
    }
    return &it->second;
  };
  std::vector<pos::SaleItem> items;
  std::vector<pos::Tender> tenders;
  if (is_return) {
    for (const v1::ReturnLine& line : entry.return_().lines()) {
      absl::StatusOr<const ItemLabel*> l = label(line.sku());
      if (!l.ok()) return l.status();
      const int64_t price =
          line.unit_price_yen() > 0 ? line.unit_price_yen() : (*l)->refund_unit_price;
      items.push_back({(*l)->name,
                       {.unit_price = price,
                        .quantity = line.quantity(),
                        .tax_class = (*l)->tax_class,
                        .discount = {}}});
    }
    absl::StatusOr<pos::ReceiptTax> tax = pos::ComputeTax([&] {
      std::vector<pos::TaxLine> lines;
      for (const pos::SaleItem& item : items) lines.push_back(item.line);
      return lines;
    }());
    if (!tax.ok()) return tax.status();
    if (tax->total > 0) tenders.push_back({pos::TenderKind::kCash, tax->total});
  } else {
    for (const v1::SaleLine& line : entry.sale().lines()) {
      absl::StatusOr<const ItemLabel*> l = label(line.sku());
      if (!l.ok()) return l.status();
      pos::LineDiscount discount;
      if (line.discount().percent() > 0) {
        discount = {pos::LineDiscount::Kind::kPercent, line.discount().percent()};
      } else if (line.discount().amount_yen() > 0) {
        discount = {pos::LineDiscount::Kind::kAmount, line.discount().amount_yen()};
      }
      items.push_back({(*l)->name,
                       {.unit_price = line.unit_price_yen(),
                        .quantity = line.quantity(),
                        .tax_class = (*l)->tax_class,
                        .discount = discount}});
    }
    for (const v1::Tender& tender : entry.sale().tenders()) {
      tenders.push_back({TenderKindFromProto(tender.kind()), tender.amount_yen()});
    }
  }
  return pos::MakeReceipt(std::move(header), items, std::move(tenders));
}

}  // namespace kura::pos_terminal
