#pragma once

// The register: scans, the cart, tenders, returns and the gateway-only commands, answering each
// input line with "OK …" or "ERR …".

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cart.h"
#include "catalog.h"
#include "commands.h"
#include "console.h"
#include "gateway.h"
#include "journal.h"
#include "kura/base/clock.h"
#include "kura/pos/receipt.h"
#include "printer.h"
#include "receipts.h"
#include "replayer.h"
#include "scanner.h"

namespace kura::pos_terminal {

/// How the register prints.
struct RegisterSettings {
  /// The terminal id (the prefix of its transaction ids).
  std::string terminal;
  /// Printer columns; the screen rendering uses the same.
  int columns = 48;
  PrinterTarget printer;
  /// Longest a print job may take.
  absl::Duration print_timeout = absl::Seconds(3);
};

/// Handles input lines one at a time; completes sales and returns exactly once: each is written
/// to the journal (durably) before its receipt prints, then sent to the gateway straight away
/// when it is reachable and nothing older is pending, else left to the Replayer. Not
/// thread-safe: the command loop owns it.
class Register {
 public:
  Register(RegisterSettings settings, Journal& journal, Catalog& catalog, Gateway& gateway,
           Replayer& replayer, Console& console, const Clock& clock);

  /// Handles one line; returns false when the register is to quit.
  bool Handle(const InputLine& input);

 private:
  // How a new journal entry sent straight to the gateway fared.
  struct Direct {
    enum class Outcome { kSynced, kRefused, kPending } outcome = Outcome::kPending;
    v1::Receipt receipt;
    bool oversold = false;
    absl::Status status;
  };

  void Scan(absl::string_view text);
  void Execute(const Command& command);
  void Quantity(int64_t quantity);
  void Void(int line);
  void Discount(int line, pos::LineDiscount discount);
  void Subtotal();
  void Pay(pos::TenderKind kind, std::optional<int64_t> amount);
  void CompleteSale();
  void Return(const Command& command);
  void Stock(const std::string& code_or_sku);
  void Pickups();
  void Pickup(const std::string& channel, const std::string& order_id);
  void Sync();
  void RefreshCatalog();
  void Status();
  void Reprint(const std::string& transaction_id);
  void Quit();

  // Sends `entry`, just journaled, to the gateway when it is online and nothing older is
  // pending; marks it synced or refused accordingly.
  Direct SendDirect(const v1::JournalEntry& entry);
  // The names, tax classes and refund prices a local receipt of `entry` needs.
  ItemLabels LabelsFor(const v1::JournalEntry& entry);
  // Shows `receipt` on the screen, sends it to the printer and keeps it for reprint.
  void Print(const pos::Receipt& receipt);
  // Builds `entry`'s receipt locally and prints it.
  void PrintLocal(const v1::JournalEntry& entry, const ItemLabels& labels);
  std::string CartSummary();
  std::string Pending();

  void Ok(absl::string_view text) { console_.Line(absl::StrCat("OK ", text)); }
  void Err(absl::string_view text) { console_.Line(absl::StrCat("ERR ", text)); }

  const RegisterSettings settings_;
  Journal& journal_;
  Catalog& catalog_;
  Gateway& gateway_;
  Replayer& replayer_;
  Console& console_;
  const Clock& clock_;
  Cart cart_;
  std::optional<pos::Receipt> last_receipt_;
};

}  // namespace kura::pos_terminal
