#pragma once

// The register API's enums (kura.pos.v1) as libs/pos knows them, for the gateway and kura-pos
// alike.

#include <optional>

#include "kura/pos/receipt.h"
#include "kura/pos/tax.h"
#include "kura/pos/v1/pos.pb.h"

namespace kura::pos {

/// The API's form of a tender kind.
v1::TenderKind ToProto(TenderKind kind);
/// A tender kind from the API; nullopt for TENDER_KIND_UNSPECIFIED or an unknown value.
std::optional<TenderKind> TenderKindFromProto(v1::TenderKind kind);
/// The tax class of an API tax rate (the reduced rate, else the standard one).
TaxClass TaxClassOf(v1::TaxRate rate);
/// The API's tax rate of a tax class (exempt has none: TAX_RATE_UNSPECIFIED).
v1::TaxRate ToProto(TaxClass tax_class);

}  // namespace kura::pos
