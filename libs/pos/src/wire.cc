#include "kura/pos/wire.h"

namespace kura::pos {

v1::TenderKind ToProto(TenderKind kind) {
  switch (kind) {
    case TenderKind::kCash:
      return v1::TENDER_KIND_CASH;
    case TenderKind::kCard:
      return v1::TENDER_KIND_CARD;
    case TenderKind::kEMoney:
      return v1::TENDER_KIND_EMONEY;
    case TenderKind::kQr:
      return v1::TENDER_KIND_QR;
  }
  return v1::TENDER_KIND_UNSPECIFIED;
}

std::optional<TenderKind> TenderKindFromProto(v1::TenderKind kind) {
  switch (kind) {
    case v1::TENDER_KIND_CASH:
      return TenderKind::kCash;
    case v1::TENDER_KIND_CARD:
      return TenderKind::kCard;
    case v1::TENDER_KIND_EMONEY:
      return TenderKind::kEMoney;
    case v1::TENDER_KIND_QR:
      return TenderKind::kQr;
    default:
      return std::nullopt;
  }
}

TaxClass TaxClassOf(v1::TaxRate rate) {
  return rate == v1::TAX_RATE_REDUCED ? TaxClass::kReduced : TaxClass::kStandard;
}

v1::TaxRate ToProto(TaxClass tax_class) {
  switch (tax_class) {
    case TaxClass::kStandard:
      return v1::TAX_RATE_STANDARD;
    case TaxClass::kReduced:
      return v1::TAX_RATE_REDUCED;
    case TaxClass::kExempt:
      break;
  }
  return v1::TAX_RATE_UNSPECIFIED;
}

}  // namespace kura::pos
