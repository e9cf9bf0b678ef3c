#include "commands.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "kura/base/validation.h"

namespace kura::pos_terminal {
namespace {

const char kHelp[] =
    "commands (one per line; answers start with OK or ERR):\n"
    "  CODE                       scan a barcode (digits; a book's two codes may be separated\n"
    "                             by a space); scans from --scanner need no command\n"
    "  qty N                      set the last line's quantity\n"
    "  void [LINE]                remove a line (default: the last)\n"
    "  discount LINE N%|N         take N percent or N yen off a line\n"
    "  subtotal                   show the lines, the total, what is paid and what is due\n"
    "  pay cash [YEN]             cash handed over (default: what is due); change is given\n"
    "  pay card|emoney|qr [YEN]   charge (default: what is due; never more)\n"
    "                             the sale completes when the tenders cover the total\n"
    "  cancel                     empty the cart\n"
    "  return TXN SKU=QTY[:sellable|qc|damaged] ...\n"
    "                             return goods of sale TXN (refunded in cash; default qc)\n"
    "  return - SKU=QTY@YEN[:sellable|qc|damaged] ...\n"
    "                             return without a receipt, at YEN a unit\n"
    "  stock CODE|SKU             stock here, in other stores and online (needs the gateway)\n"
    "  pickups                    pickup orders waiting at this store (needs the gateway)\n"
    "  pickup CHANNEL ORDER_ID    hand a pickup order over (needs the gateway)\n"
    "  sync                       replay the journal now and report what is pending\n"
    "  catalog                    refresh the offline catalog now\n"
    "  status                     online or offline, journal and catalog\n"
    "  reprint [TXN]              print the last receipt (or TXN's) again\n"
    "  help                       this text\n"
    "  quit                       exit (pending journal entries are sent after the next start)\n";

absl::Status Usage(absl::string_view usage) {
  return absl::InvalidArgumentError(absl::StrCat("usage: ", usage));
}

bool ParsePositive(absl::string_view text, int64_t max, int64_t* out) {
  return !text.empty() && std::all_of(text.begin(), text.end(), absl::ascii_isdigit) &&
         absl::SimpleAtoi(text, out) && *out >= 1 && *out <= max;
}

// No command starts with a digit: such a line is a scan, good or bad (ParseScan says why).
bool IsScan(absl::string_view line) { return !line.empty() && absl::ascii_isdigit(line[0]); }

// SKU=QTY[@YEN][:DISPOSITION]
absl::StatusOr<ReturnItem> ParseReturnItem(absl::string_view text, bool with_receipt) {
  const absl::string_view usage = with_receipt ? "return TXN SKU=QTY[:sellable|qc|damaged] ..."
                                               : "return - SKU=QTY@YEN[:sellable|qc|damaged] ...";
  ReturnItem item;
  std::vector<absl::string_view> sku_rest = absl::StrSplit(text, absl::MaxSplits('=', 1));
  if (sku_rest.size() != 2) return Usage(usage);
  item.sku = std::string(sku_rest[0]);
  if (absl::Status s = ValidateSku("sku", item.sku); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bad SKU '", item.sku, "': ", s.message()));
  }
  std::vector<absl::string_view> amount_disposition =
      absl::StrSplit(sku_rest[1], absl::MaxSplits(':', 1));
  if (amount_disposition.size() == 2) {
    const absl::string_view d = amount_disposition[1];
    if (d == "sellable") {
      item.disposition = v1::DISPOSITION_SELLABLE;
    } else if (d == "qc") {
      item.disposition = v1::DISPOSITION_QUALITY_CONTROL;
    } else if (d == "damaged") {
      item.disposition = v1::DISPOSITION_DAMAGED;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("where returned goods go must be sellable, qc or damaged, not '", d, "'"));
    }
  }
  std::vector<absl::string_view> quantity_price =
      absl::StrSplit(amount_disposition[0], absl::MaxSplits('@', 1));
  if (!ParsePositive(quantity_price[0], pos::kMaxLineQuantity, &item.quantity)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad quantity in '", text, "': 1 to ", pos::kMaxLineQuantity));
  }
  if (quantity_price.size() == 2) {
    if (with_receipt) {
      return absl::InvalidArgumentError(
          "a price is given only for a return without a receipt (return - ...): otherwise the "
          "sale's price is refunded");
    }
    int64_t price = 0;
    if (!ParsePositive(quantity_price[1], pos::kMaxYen, &price)) {
      return absl::InvalidArgumentError(absl::StrCat("bad price in '", text, "'"));
    }
    item.unit_price_yen = price;
  } else if (!with_receipt) {
    return Usage(usage);
  }
  return item;
}

}  // namespace

const char* CommandHelp() { return kHelp; }

absl::StatusOr<Command> ParseCommand(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  Command c;
  if (IsScan(line)) {
    c.kind = CommandKind::kScan;
    c.text = std::string(line);
    return c;
  }
  std::vector<std::string> words = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (words.empty()) return absl::InvalidArgumentError("empty command");
  const std::string verb = absl::AsciiStrToLower(words[0]);
  const size_t args = words.size() - 1;

  if (verb == "qty") {
    c.kind = CommandKind::kQuantity;
    if (args != 1 || !ParsePositive(words[1], pos::kMaxLineQuantity, &c.quantity)) {
      return Usage(absl::StrCat("qty N (1 to ", pos::kMaxLineQuantity, ")"));
    }
  } else if (verb == "void") {
    c.kind = CommandKind::kVoid;
    int64_t n = 0;
    if (args > 1 || (args == 1 && !ParsePositive(words[1], 10'000, &n))) {
      return Usage("void [LINE]");
    }
    c.line = static_cast<int>(n);
  } else if (verb == "discount") {
    c.kind = CommandKind::kDiscount;
    int64_t n = 0;
    if (args != 2 || !ParsePositive(words[1], 10'000, &n)) return Usage("discount LINE N%|N");
    c.line = static_cast<int>(n);
    absl::string_view value = words[2];
    if (absl::ConsumeSuffix(&value, "%")) {
      c.discount.kind = pos::LineDiscount::Kind::kPercent;
      if (!ParsePositive(value, 100, &c.discount.value)) {
        return absl::InvalidArgumentError("a percent discount is 1% to 100%");
      }
    } else {
      c.discount.kind = pos::LineDiscount::Kind::kAmount;
      if (!ParsePositive(value, pos::kMaxYen, &c.discount.value)) {
        return Usage("discount LINE N%|N (N yen, at least 1)");
      }
    }
  } else if (verb == "pay") {
    c.kind = CommandKind::kPay;
    if (args < 1 || args > 2) return Usage("pay cash|card|emoney|qr [YEN]");
    const std::string kind = absl::AsciiStrToLower(words[1]);
    if (kind == "cash") {
      c.tender = pos::TenderKind::kCash;
    } else if (kind == "card") {
      c.tender = pos::TenderKind::kCard;
    } else if (kind == "emoney") {
      c.tender = pos::TenderKind::kEMoney;
    } else if (kind == "qr") {
      c.tender = pos::TenderKind::kQr;
    } else {
      return Usage("pay cash|card|emoney|qr [YEN]");
    }
    if (args == 2) {
      int64_t amount = 0;
      if (!ParsePositive(words[2], pos::kMaxYen, &amount)) {
        return absl::InvalidArgumentError(absl::StrCat("bad amount '", words[2], "'"));
      }
      c.amount = amount;
    }
  } else if (verb == "return") {
    c.kind = CommandKind::kReturn;
    if (args < 2) {
      return Usage("return TXN|- SKU=QTY[@YEN][:sellable|qc|damaged] ...");
    }
    const bool with_receipt = words[1] != "-";
    if (with_receipt) {
      if (absl::Status s = ValidateRequestId(words[1]); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("bad transaction id '", words[1], "'"));
      }
      c.original_transaction_id = words[1];
    }
    for (size_t i = 2; i < words.size(); ++i) {
      absl::StatusOr<ReturnItem> item = ParseReturnItem(words[i], with_receipt);
      if (!item.ok()) return item.status();
      c.return_items.push_back(*std::move(item));
    }
  } else if (verb == "stock") {
    c.kind = CommandKind::kStock;
    if (args != 1) return Usage("stock CODE|SKU");
    c.text = words[1];
  } else if (verb == "pickup") {
    c.kind = CommandKind::kPickup;
    if (args != 2) return Usage("pickup CHANNEL ORDER_ID");
    c.text = words[1];
    c.order_id = words[2];
  } else if (verb == "reprint") {
    c.kind = CommandKind::kReprint;
    if (args > 1) return Usage("reprint [TXN]");
    if (args == 1) c.text = words[1];
  } else {
    static const struct {
      const char* word;
      CommandKind kind;
    } kBare[] = {{"subtotal", CommandKind::kSubtotal}, {"cancel", CommandKind::kCancel},
                 {"pickups", CommandKind::kPickups},   {"sync", CommandKind::kSync},
                 {"catalog", CommandKind::kCatalog},   {"status", CommandKind::kStatus},
                 {"help", CommandKind::kHelp},         {"quit", CommandKind::kQuit},
                 {"exit", CommandKind::kQuit}};
    for (const auto& bare : kBare) {
      if (verb != bare.word) continue;
      if (args != 0) return Usage(bare.word);
      c.kind = bare.kind;
      return c;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("unknown command '", words[0], "' (help lists the commands)"));
  }
  return c;
}

}  // namespace kura::pos_terminal
