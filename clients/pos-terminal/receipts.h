#pragma once

// Receipts: the gateway's (kura.pos.v1.Receipt) made printable, and the register's own, built
// with pos::MakeReceipt from a journal entry when the gateway is unreachable.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kura/pos/receipt.h"
#include "kura/pos/tax.h"
#include "kura/pos/v1/pos.pb.h"

namespace kura::pos_terminal {

namespace v1 = ::kura::pos::v1;

/// What a receipt line needs that a journal entry does not hold.
struct ItemLabel {
  std::string name;
  pos::TaxClass tax_class = pos::TaxClass::kStandard;
  /// Returns: the unit price refunded (tax included).
  int64_t refund_unit_price = 0;
};

/// Labels by SKU.
using ItemLabels = std::map<std::string, ItemLabel>;

pos::TaxClass TaxClassOf(v1::TaxRate rate);
v1::TenderKind TenderKindToProto(pos::TenderKind kind);
pos::TenderKind TenderKindFromProto(v1::TenderKind kind);

/// Returns the store's time zone (`settings.time_zone`), or the machine's when it is unknown.
absl::TimeZone ZoneOf(const std::optional<v1::StoreSettings>& settings);

/// Converts the gateway's receipt for printing. The API signs a return's amounts negative; the
/// printed return receipt (【返品】) shows them as positive refunds. `zone` formats the time
/// when the receipt carries no local_time.
pos::Receipt ReceiptFromProto(const v1::Receipt& receipt, absl::TimeZone zone);

/// Builds the receipt of a journal entry with pos::MakeReceipt: the store header from
/// `settings`, names and tax classes (and, for returns, refund prices) from `labels`, the time
/// from the entry's occurred_at. A return is refunded in cash. Errors: FAILED_PRECONDITION when
/// the store's settings were never synced or an SKU has no label; INVALID_ARGUMENT from
/// MakeReceipt.
[[nodiscard]] absl::StatusOr<pos::Receipt> LocalReceipt(
    const v1::JournalEntry& entry, const ItemLabels& labels,
    const std::optional<v1::StoreSettings>& settings, absl::string_view terminal);

}  // namespace kura::pos_terminal
