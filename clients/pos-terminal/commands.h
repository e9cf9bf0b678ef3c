#pragma once

// The register's command language: one command per line on standard input.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kura/pos/receipt.h"
#include "kura/pos/tax.h"
#include "kura/pos/v1/pos.pb.h"

namespace kura::pos_terminal {

namespace v1 = ::kura::pos::v1;

/// What a command line asks for.
enum class CommandKind {
  kScan,
  kQuantity,
  kVoid,
  kDiscount,
  kSubtotal,
  kPay,
  kCancel,
  kReturn,
  kStock,
  kPickups,
  kPickup,
  kSync,
  kCatalog,
  kStatus,
  kReprint,
  kHelp,
  kQuit,
};

/// One line of a return.
struct ReturnItem {
  std::string sku;
  int64_t quantity = 0;
  v1::Disposition disposition = v1::DISPOSITION_QUALITY_CONTROL;
  /// Without a receipt only: the unit price refunded, tax included.
  std::optional<int64_t> unit_price_yen;
};

/// A parsed command line.
struct Command {
  CommandKind kind = CommandKind::kHelp;
  /// kScan: the line as typed (a book's two codes may be separated by a space); kStock: a
  /// barcode or SKU; kPickup: the channel; kReprint: a transaction id, or empty for the last.
  std::string text;
  /// kPickup: the channel's order id.
  std::string order_id;
  /// kQuantity: the new quantity of the last line.
  int64_t quantity = 0;
  /// kVoid and kDiscount: the line, from 1; 0 (kVoid only) means the last line.
  int line = 0;
  /// kDiscount.
  pos::LineDiscount discount;
  /// kPay: the method, and the amount (nullopt: what is still due).
  pos::TenderKind tender = pos::TenderKind::kCash;
  std::optional<int64_t> amount;
  /// kReturn: the original sale's transaction id; empty for a return without a receipt.
  std::string original_transaction_id;
  std::vector<ReturnItem> return_items;
};

/// Parses one command line (see CommandHelp). A line starting with a digit is a scan; command
/// words are case-insensitive. Errors: INVALID_ARGUMENT with a one-line message showing the
/// command's usage.
[[nodiscard]] absl::StatusOr<Command> ParseCommand(absl::string_view line);

/// The command language, one command per line, for `help` and --help.
const char* CommandHelp();

}  // namespace kura::pos_terminal
