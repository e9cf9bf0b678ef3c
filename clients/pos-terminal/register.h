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
/// when it is reachable and nothing older is pending, else left to the Replayer. Each entry is
/// marked printed once its receipt was printed. While the gateway refuses the terminal
/// (Gateway::refusal) the register is locked: it takes no sale or return, not even offline.
/// Not thread-safe: the command loop owns it.
class Register {
 public:
  Register(RegisterSettings settings, Journal& journal, Catalog& catalog, Gateway& gateway,
           Replayer& replayer, Console& console, const Clock& clock);

  /// Handles one line; returns false when the register is to quit.
  bool Handle(const InputLine& input);

  /// For start-up: for every journaled entry (not refused) whose receipt was never printed —
  /// kura-pos was killed in between, or the printer failed — prints the notice
  /// `UNPRINTED <id>: <total> — the sale was recorded; reprinting` and the receipt, rebuilt
  /// from the journal as `reprint` does, then marks it printed.
  void PrintUnprinted();

 private:
  // How a new journal entry sent straight to the gateway fared.
  struct Direct {
    // kUnauthorised: the gateway refuses the terminal; the entry is marked refused (it was not
    // applied).
    enum class Outcome { kSynced, kRefused, kUnauthorised, kPending } outcome = Outcome::kPending;
    v1::Receipt receipt;
    bool oversold = false;
    std::string warning;  // the gateway's (a sale that took units held for online orders)
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

  // Returns OK when the gateway takes this terminal. When it refused it last, asks it once more
  // (the refusal may be from before a restart with a new token) and returns its refusal, or
  // the old one when it does not answer.
  absl::Status Authorised();
  // Sends `entry`, just journaled, to the gateway when it is online and nothing older is
  // pending; marks it synced or refused accordingly.
  Direct SendDirect(const v1::JournalEntry& entry);
  // The labels of `record`'s lines: as journaled with it, else (older entries) rebuilt from the
  // journal and the catalog.
  LineLabels LabelsFor(const JournalRecord& record);
  // The labels of a return's lines. Against a sale in this journal: its names and tax rates,
  // and each refund by pos::RefundOf over the units returned by earlier returns of the sale in
  // this journal (not refused; written before `before_seq` when given), as the gateway computes
  // it. Against another register's sale: names from the catalog, refunds unknown. Without a
  // receipt: the unit price given × units at the catalog's rate. Errors: FAILED_PRECONDITION
  // when a line asks for more than is left to return.
  absl::StatusOr<LineLabels> ReturnLabels(const v1::ReturnRequest& request,
                                          std::optional<int64_t> before_seq);
  // Shows `receipt` on the screen, sends it to the printer and keeps it for reprint. Returns
  // whether it was printed (or, without a printer, shown), and then marks its entry printed.
  bool Print(const pos::Receipt& receipt);
  // Builds `entry`'s receipt locally and prints it; returns whether it was printed.
  bool PrintLocal(const v1::JournalEntry& entry, const LineLabels& labels);
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
