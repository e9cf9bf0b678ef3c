#pragma once

// Receipts: the gateway's (kura.pos.v1.Receipt) made printable, and the register's own, built
// with pos::MakeReceipt from a journal entry when the gateway is unreachable.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kura/pos/receipt.h"
#include "kura/pos/tax.h"
#include "kura/pos/v1/pos.pb.h"
#include "kura/pos/wire.h"

namespace kura::pos_terminal {

namespace v1 = ::kura::pos::v1;

/// What a receipt line needs that a journal entry's line does not hold.
struct LineLabel {
  std::string name;
  /// A sale line: the item's rate when it was sold. A return line: the rate of the original sale
  /// line (a return without a receipt: the item's rate), the one the refund is taxed at.
  pos::TaxClass tax_class = pos::TaxClass::kStandard;
  /// A return line: the yen refunded for it (pos::RefundOf against the original sale line, or
  /// the unit price given × units without a receipt); nullopt when only the gateway knows it
  /// (a sale of another register).
  std::optional<int64_t> refund;
};

/// One label per line of a journal entry, in the entry's order.
using LineLabels = std::vector<LineLabel>;

/// Returns `labels` as the journal keeps them: a receipt holding only lines, each with the sku
/// and quantity of `entry`'s line, the name, reduced_rate and, on a return, the refund as
/// amount_yen. Empty when a refund is unknown (nothing worth keeping).
v1::Receipt LabelsToProto(const v1::JournalEntry& entry, const LineLabels& labels);
/// Returns the labels kept by LabelsToProto for `entry`, or nullopt when none were kept (or
/// they do not match the entry's lines).
std::optional<LineLabels> LabelsFromProto(const v1::JournalEntry& entry, const v1::Receipt& stored);

/// Returns the labels the gateway's `receipt` of `entry` gives its lines (names, rates and, on a
/// return, the refunds it booked), kept as LabelsToProto keeps them; nullopt when its lines do
/// not match the entry's.
std::optional<v1::Receipt> BookedLabels(const v1::JournalEntry& entry, const v1::Receipt& receipt);

/// Returns a sale line's discount as the API carries it: the amount or the percent, never both
/// (nothing for none).
v1::Discount DiscountToProto(const pos::LineDiscount& discount);
/// Returns the discount a sale line carries. Errors: INVALID_ARGUMENT when it sets both an
/// amount and a percent (the gateway refuses such a line).
[[nodiscard]] absl::StatusOr<pos::LineDiscount> DiscountFromProto(const v1::SaleLine& line);
/// Returns each line's amount after its discount, in order, as pos::ComputeTax gives them.
[[nodiscard]] absl::StatusOr<std::vector<int64_t>> LineAmounts(const v1::SaleRequest& sale);

/// Returns the store's time zone (`settings.time_zone`), or the machine's when it is unknown.
absl::TimeZone ZoneOf(const std::optional<v1::StoreSettings>& settings);

/// Converts the gateway's receipt for printing. The API signs a return's amounts negative; the
/// printed return receipt (【返品】) shows them as positive refunds. `zone` formats the time
/// when the receipt carries no local_time.
pos::Receipt ReceiptFromProto(const v1::Receipt& receipt, absl::TimeZone zone);

/// Builds the receipt of a journal entry with pos::MakeReceipt: the store header from
/// `settings`, names and tax classes from `labels` (one per line of the entry), the time from
/// the entry's occurred_at. A return line refunds its label's refund at its tax class
/// (pos::RefundLine), in cash. Errors: FAILED_PRECONDITION when the store's settings were never
/// synced, the labels do not match the lines or a refund is unknown; INVALID_ARGUMENT from
/// MakeReceipt or for a discount with both an amount and a percent.
[[nodiscard]] absl::StatusOr<pos::Receipt> LocalReceipt(
    const v1::JournalEntry& entry, const LineLabels& labels,
    const std::optional<v1::StoreSettings>& settings, absl::string_view terminal);

}  // namespace kura::pos_terminal
