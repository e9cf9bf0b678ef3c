#include "register.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "kura/base/proto_util.h"
#include "kura/pos/barcode.h"
#include "kura/pos/escpos.h"

namespace kura::pos_terminal {
namespace {

// Answers that mean the gateway will never take this transaction as it is (as opposed to not
// now): the entry is refused rather than kept for replay.
bool IsRefusal(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
      return true;
    default:
      return false;
  }
}

std::string DigitsOf(absl::string_view text) {
  std::string digits;
  for (char c : text) {
    if (absl::ascii_isdigit(c)) digits += c;
  }
  return digits;
}

const char* TenderName(pos::TenderKind kind) {
  switch (kind) {
    case pos::TenderKind::kCash:
      return "cash";
    case pos::TenderKind::kCard:
      return "card";
    case pos::TenderKind::kEMoney:
      return "emoney";
    case pos::TenderKind::kQr:
      return "qr";
  }
  return "cash";
}

std::string LineText(int number, const CartLine& line, int64_t amount) {
  std::string text = absl::StrCat("line ", number, " ", line.sku, " ", line.name,
                                  line.tax_class == pos::TaxClass::kReduced ? " ※" : "", " ",
                                  pos::FormatYen(line.unit_price), " x", line.quantity, " = ",
                                  pos::FormatYen(amount));
  if (const int64_t off = line.unit_price * line.quantity - amount; off != 0) {
    absl::StrAppend(&text, " (", pos::FormatYen(-off), ")");
  }
  return text;
}

// The answer to a sale, return or scan while the gateway refuses the terminal.
std::string NotAuthorised(const absl::Status& refusal, absl::string_view what) {
  return absl::StrCat("terminal not authorised by the gateway (", Describe(refusal), "): ", what);
}

}  // namespace

Register::Register(RegisterSettings settings, Journal& journal, Catalog& catalog, Gateway& gateway,
                   Replayer& replayer, Console& console, const Clock& clock)
    : settings_(std::move(settings)),
      journal_(journal),
      catalog_(catalog),
      gateway_(gateway),
      replayer_(replayer),
      console_(console),
      clock_(clock) {}

bool Register::Handle(const InputLine& input) {
  switch (input.source) {
    case InputLine::Source::kEndOfKeyboard:
      Quit();
      return false;
    case InputLine::Source::kScanner:
      Scan(input.text);
      return true;
    case InputLine::Source::kKeyboard:
      break;
  }
  absl::StatusOr<Command> command = ParseCommand(input.text);
  if (!command.ok()) {
    Err(command.status().message());
    return true;
  }
  if (command->kind == CommandKind::kQuit) {
    Quit();
    return false;
  }
  Execute(*command);
  return true;
}

void Register::Execute(const Command& c) {
  switch (c.kind) {
    case CommandKind::kScan:
      return Scan(c.text);
    case CommandKind::kQuantity:
      return Quantity(c.quantity);
    case CommandKind::kVoid:
      return Void(c.line);
    case CommandKind::kDiscount:
      return Discount(c.line, c.discount);
    case CommandKind::kSubtotal:
      return Subtotal();
    case CommandKind::kPay:
      return Pay(c.tender, c.amount);
    case CommandKind::kCancel:
      cart_.Clear();
      return Ok("cancelled; the cart is empty");
    case CommandKind::kReturn:
      return Return(c);
    case CommandKind::kStock:
      return Stock(c.text);
    case CommandKind::kPickups:
      return Pickups();
    case CommandKind::kPickup:
      return Pickup(c.text, c.order_id);
    case CommandKind::kSync:
      return Sync();
    case CommandKind::kCatalog:
      return RefreshCatalog();
    case CommandKind::kStatus:
      return Status();
    case CommandKind::kReprint:
      return Reprint(c.text);
    case CommandKind::kHelp:
      console_.Text(CommandHelp());
      return Ok("help");
    case CommandKind::kQuit:
      return Quit();
  }
}

// ------------------------------------------------------------------------------ the cart

std::string Register::CartSummary() {
  absl::StatusOr<pos::ReceiptTax> totals = cart_.Totals();
  return absl::StrCat("subtotal ", pos::FormatYen(totals.ok() ? totals->total : 0));
}

void Register::Scan(absl::string_view text) {
  absl::StatusOr<pos::ScannedCode> scan = pos::ParseScan(text, LayoutOf(catalog_.settings()));
  if (!scan.ok()) {
    return Err(absl::StrCat("bad scan '", absl::StripAsciiWhitespace(text),
                            "': ", scan.status().message()));
  }
  if (scan->kind == pos::CodeKind::kBookPriceCode) {
    return Ok(absl::StrCat("book price code ", scan->code,
                           ": nothing added (scan the book's ISBN, its upper code)"));
  }
  CartLine line;
  bool found = false;
  // A refused terminal asks the gateway even when it seemed unreachable: only its answer
  // unlocks the register.
  if (gateway_.online() || !gateway_.refusal().ok()) {
    v1::LookupRequest request;
    request.set_barcode(DigitsOf(text));
    request.set_store(catalog_.store());
    absl::StatusOr<v1::LookupResponse> item = gateway_.Lookup(request);
    if (item.ok()) {
      if (item->sku().empty()) return Err(absl::StrCat("code ", scan->code, " names no item"));
      line.sku = item->sku();
      line.name = item->name().empty() ? item->sku() : item->name();
      line.unit_price = item->price_yen();
      line.tax_class = pos::TaxClassOf(item->tax_rate());
      found = true;
    } else if (absl::IsNotFound(item.status()) || absl::IsInvalidArgument(item.status()) ||
               absl::IsFailedPrecondition(item.status())) {
      // The gateway's word on this code (unknown, malformed, or an item it may not sell now: a
      // limited item outside its window or at its cap): the catalog cannot know better.
      return Err(absl::StrCat("lookup ", scan->code, ": ", Describe(item.status())));
    } else if (IsUnauthorised(item.status())) {
      // Never the offline catalog for a register the gateway refuses.
      return Err(NotAuthorised(item.status(), "nothing added"));
    } else if (!IsUnreachable(item.status())) {
      console_.Line(absl::StrCat("GATEWAY lookup failed: ", Describe(item.status()),
                                 "; using the offline catalog"));
    }
  }
  if (!found) {
    if (absl::Status refusal = gateway_.refusal(); !refusal.ok()) {
      return Err(NotAuthorised(refusal, "nothing added"));
    }
    // Offline (or the gateway failing): the catalog as last synced.
    if (scan->kind == pos::CodeKind::kInStoreWeight) {
      return Err(
          absl::StrCat("code ", scan->code, ": items priced by weight need the gateway (offline)"));
    }
    absl::StatusOr<std::optional<CatalogEntry>> entry = catalog_.FindByBarcode(scan->lookup_code);
    if (entry.ok() && !*entry && scan->code != scan->lookup_code) {
      entry = catalog_.FindByBarcode(scan->code);
    }
    if (!entry.ok()) return Err(absl::StrCat("catalog: ", Describe(entry.status())));
    if (!*entry) return Err(absl::StrCat("unknown item ", scan->code, " (offline catalog)"));
    line.sku = (*entry)->sku;
    line.name = (*entry)->name;
    line.unit_price = scan->price_yen.value_or((*entry)->price_yen);
    line.tax_class = pos::TaxClassOf((*entry)->tax_rate);
  }
  absl::StatusOr<int> number = cart_.Add(line);
  if (!number.ok()) return Err(number.status().message());
  absl::StatusOr<pos::ReceiptTax> totals = cart_.Totals();
  Ok(absl::StrCat(LineText(*number, line, totals->line_amounts.back()), "; ", CartSummary(),
                  found ? "" : " (offline catalog)"));
}

void Register::Quantity(int64_t quantity) {
  if (absl::Status s = cart_.SetLastQuantity(quantity); !s.ok()) return Err(s.message());
  absl::StatusOr<pos::ReceiptTax> totals = cart_.Totals();
  const int n = static_cast<int>(cart_.lines().size());
  Ok(absl::StrCat(LineText(n, cart_.lines().back(), totals->line_amounts.back()), "; ",
                  CartSummary()));
}

void Register::Void(int line) {
  absl::StatusOr<CartLine> removed = cart_.Void(line);
  if (!removed.ok()) return Err(removed.status().message());
  Ok(absl::StrCat("voided ", removed->sku, " ", removed->name, "; ", CartSummary()));
}

void Register::Discount(int line, pos::LineDiscount discount) {
  if (absl::Status s = cart_.SetDiscount(line, discount); !s.ok()) return Err(s.message());
  absl::StatusOr<pos::ReceiptTax> totals = cart_.Totals();
  Ok(absl::StrCat(LineText(line, cart_.lines()[line - 1], totals->line_amounts[line - 1]), "; ",
                  CartSummary()));
}

void Register::Subtotal() {
  absl::StatusOr<pos::ReceiptTax> totals = cart_.Totals();
  if (!totals.ok()) return Err(totals.status().message());
  std::string details;
  for (size_t i = 0; i < cart_.lines().size(); ++i) {
    absl::StrAppend(&details, "  ",
                    LineText(static_cast<int>(i + 1), cart_.lines()[i], totals->line_amounts[i]),
                    "\n");
  }
  std::vector<std::string> rates;
  for (const pos::RateTotal& rate : totals->rates) {
    rates.push_back(absl::StrCat(rate.rate_percent, "% ", pos::FormatYen(rate.taxable), " tax ",
                                 pos::FormatYen(rate.tax)));
  }
  for (const pos::Tender& tender : cart_.tenders()) {
    absl::StrAppend(&details, "  paid ", TenderName(tender.kind), " ",
                    pos::FormatYen(tender.amount), "\n");
  }
  console_.Text(details);
  Ok(absl::StrCat("subtotal ", pos::FormatYen(totals->total), " (", cart_.lines().size(), " lines",
                  rates.empty() ? "" : "; ", absl::StrJoin(rates, "; "), ") paid ",
                  pos::FormatYen(cart_.paid()), " due ",
                  pos::FormatYen(std::max<int64_t>(totals->total - cart_.paid(), 0))));
}

void Register::Pay(pos::TenderKind kind, std::optional<int64_t> amount) {
  if (absl::Status refusal = Authorised(); !refusal.ok()) {
    return Err(NotAuthorised(refusal, "nothing was sold; the cart is kept"));
  }
  // A cart whose total is ¥0 (everything discounted) completes without a tender.
  if (!cart_.Covered()) {
    absl::StatusOr<pos::Tender> tender = cart_.Pay(kind, amount);
    if (!tender.ok()) return Err(tender.status().message());
    if (!cart_.Covered()) {
      absl::StatusOr<pos::ReceiptTax> totals = cart_.Totals();
      return Ok(absl::StrCat("paid ", TenderName(kind), " ", pos::FormatYen(tender->amount),
                             "; due ", pos::FormatYen(totals->total - cart_.paid())));
    }
  }
  CompleteSale();
}

// ------------------------------------------------------------------------------ sales

void Register::CompleteSale() {
  absl::StatusOr<pos::ReceiptTax> totals = cart_.Totals();
  if (!totals.ok()) return Err(totals.status().message());
  absl::StatusOr<std::string> id = journal_.NextTransactionId(settings_.terminal);
  if (!id.ok()) {
    cart_.ClearTenders();
    return Err(absl::StrCat("journal: ", Describe(id.status()),
                            "; nothing was sold, the tenders are cleared"));
  }
  v1::JournalEntry entry;
  v1::SaleRequest& sale = *entry.mutable_sale();
  sale.set_transaction_id(*id);
  sale.set_store(catalog_.store());
  *sale.mutable_occurred_at() = ToProto(clock_.Now());
  LineLabels labels;
  for (const CartLine& line : cart_.lines()) {
    v1::SaleLine& out = *sale.add_lines();
    out.set_sku(line.sku);
    out.set_quantity(line.quantity);
    out.set_unit_price_yen(line.unit_price);
    // One kind per line (the cart keeps one), so the request and the local receipt agree.
    if (line.discount.kind != pos::LineDiscount::Kind::kNone) {
      *out.mutable_discount() = DiscountToProto(line.discount);
    }
    // As rung up: a reprint and a later return use these, whatever the catalog says then.
    labels.push_back({.name = line.name, .tax_class = line.tax_class, .refund = std::nullopt});
  }
  for (const pos::Tender& tender : cart_.tenders()) {
    v1::Tender& out = *sale.add_tenders();
    out.set_kind(pos::ToProto(tender.kind));
    out.set_amount_yen(tender.amount);
  }
  // The sale happens here: once this commit returns it is on disk, and it will reach the
  // gateway exactly once (directly or by replay; the transaction id makes a repeat harmless).
  if (absl::Status s = journal_.Append(entry, LabelsToProto(entry, labels)); !s.ok()) {
    cart_.ClearTenders();
    return Err(
        absl::StrCat("journal: ", Describe(s), "; nothing was sold, the tenders are cleared"));
  }
  const std::string summary = absl::StrCat("sale ", *id, " total ", pos::FormatYen(totals->total),
                                           " paid ", pos::FormatYen(cart_.paid()), " change ",
                                           pos::FormatYen(cart_.paid() - totals->total));
  Cart sold = std::move(cart_);
  cart_.Clear();

  Direct direct = SendDirect(entry);
  switch (direct.outcome) {
    case Direct::Outcome::kSynced:
      Print(ReceiptFromProto(direct.receipt, ZoneOf(catalog_.settings())));
      if (direct.oversold) {
        console_.Line(absl::StrCat("OVERSOLD ", *id,
                                   ": it drove stock below zero; the gateway recorded an "
                                   "oversold incident"));
      }
      for (absl::string_view line : absl::StrSplit(direct.warning, '\n', absl::SkipEmpty())) {
        console_.Line(absl::StrCat("HELD FOR ONLINE ", *id, ": ", line));
      }
      return Ok(summary);
    case Direct::Outcome::kRefused:
      // Nothing was sold: give the cart back to be corrected.
      cart_ = std::move(sold);
      cart_.ClearTenders();
      return Err(absl::StrCat("sale ", *id, " refused by the gateway: ", Describe(direct.status),
                              "; nothing was sold, the cart is kept and the tenders cleared"));
    case Direct::Outcome::kUnauthorised:
      cart_ = std::move(sold);
      cart_.ClearTenders();
      return Err(NotAuthorised(direct.status, absl::StrCat("sale ", *id,
                                                           " was not recorded; nothing was sold, "
                                                           "the cart is kept and the tenders "
                                                           "cleared")));
    case Direct::Outcome::kPending:
      PrintLocal(entry, labels);
      return Ok(absl::StrCat(summary, " (journaled for replay; ", Pending(), ")"));
  }
}

Register::Direct Register::SendDirect(const v1::JournalEntry& entry) {
  Direct direct;
  const std::string id = TransactionIdOf(entry);
  // Never wait for a replay in flight: the replayer sends this entry after the older ones.
  std::unique_lock<std::mutex> sending(replayer_.send_mutex(), std::try_to_lock);
  if (!sending.owns_lock() || !gateway_.online()) return direct;
  absl::StatusOr<std::vector<JournalRecord>> oldest = journal_.Pending(1);
  if (!oldest.ok() || oldest->empty() || oldest->front().transaction_id != id) return direct;

  if (entry.has_sale()) {
    absl::StatusOr<v1::SaleResponse> response = gateway_.Sale(entry.sale());
    direct.status = response.status();
    if (response.ok()) {
      direct.receipt = response->receipt();
      direct.oversold = response->oversold();
      direct.warning = response->warning();
    }
  } else {
    absl::StatusOr<v1::ReturnResponse> response = gateway_.Return(entry.return_());
    direct.status = response.status();
    if (response.ok()) direct.receipt = response->receipt();
  }
  if (direct.status.ok()) {
    if (absl::Status s = journal_.MarkSynced(id, direct.oversold); !s.ok()) {
      // The replayer will send it again and learn it is a duplicate.
      console_.Line(absl::StrCat("JOURNAL ", id, " not marked synced: ", Describe(s)));
    }
    // What the gateway booked (its rates; a return's refunds) is what reprints and later
    // refunds go by. Failing that, the register's own labels stay: the same but for returns
    // taken at other registers.
    if (std::optional<v1::Receipt> booked = BookedLabels(entry, direct.receipt)) {
      if (absl::Status s = journal_.SetLabels(id, *booked); !s.ok()) {
        console_.Line(absl::StrCat("JOURNAL ", id, " labels not kept: ", Describe(s)));
      }
    }
    direct.outcome = Direct::Outcome::kSynced;
  } else if (IsRefusal(direct.status)) {
    if (absl::Status s = journal_.MarkRefused(id, Describe(direct.status)); !s.ok()) {
      console_.Line(absl::StrCat("JOURNAL ", id, " not marked refused: ", Describe(s)));
    }
    direct.outcome = Direct::Outcome::kRefused;
  } else if (IsUnauthorised(direct.status)) {
    // Refused before it was looked at: it never happened, and must never be replayed. Unless
    // that is on disk it stays a pending sale (the replay would book it once unlocked).
    if (absl::Status s = journal_.MarkRefused(id, Describe(direct.status)); !s.ok()) {
      console_.Line(absl::StrCat("JOURNAL ", id, " not marked refused: ", Describe(s)));
    } else {
      direct.outcome = Direct::Outcome::kUnauthorised;
    }
  } else if (!IsUnreachable(direct.status)) {
    // Say why it is kept (a revoked token, an internal error): the replayer keeps trying.
    console_.Line(
        absl::StrCat("GATEWAY ", Describe(direct.status), "; ", id, " stays in the journal"));
  }
  return direct;
}

// ------------------------------------------------------------------------------ returns

void Register::Return(const Command& c) {
  if (absl::Status refusal = Authorised(); !refusal.ok()) {
    return Err(NotAuthorised(refusal, "nothing was returned"));
  }
  const std::optional<v1::StoreSettings> settings = catalog_.settings();
  const bool with_receipt = !c.original_transaction_id.empty();
  if (!with_receipt && settings && !settings->returns_without_receipt()) {
    return Err("this store takes no returns without a receipt");
  }
  bool in_journal = false;
  if (with_receipt) {
    absl::StatusOr<std::optional<JournalRecord>> found = journal_.Find(c.original_transaction_id);
    if (!found.ok()) return Err(absl::StrCat("journal: ", Describe(found.status())));
    in_journal = *found && (*found)->entry.has_sale();
    if (in_journal && (*found)->state == EntryState::kRefused) {
      return Err(absl::StrCat("sale ", c.original_transaction_id,
                              " was refused by the gateway: nothing was sold, nothing comes back"));
    }
    if (!in_journal && !gateway_.online()) {
      return Err(absl::StrCat("sale ", c.original_transaction_id,
                              " is not in this register's journal: returns against other "
                              "registers' sales need the gateway (offline)"));
    }
    if (!in_journal) {
      // Only the gateway knows what was paid: the return must reach it straight away, not
      // behind older entries, so that its receipt shows the refund the gateway books.
      absl::StatusOr<JournalCounts> counts = journal_.Counts();
      if (counts.ok() && counts->pending > 0) {
        const ReplayReport report = replayer_.ReplayNow();
        if (report.pending > 0) {
          return Err(absl::StrCat(
              "sale ", c.original_transaction_id,
              " is not in this register's journal, and its return must go straight to the "
              "gateway: ",
              report.pending, " older entries are still waiting to be sent (",
              report.status.ok() ? std::string("sync") : Describe(report.status),
              "); nothing was returned"));
        }
      }
    }
  }
  v1::JournalEntry entry;
  v1::ReturnRequest& request = *entry.mutable_return_();
  request.set_original_transaction_id(c.original_transaction_id);
  request.set_store(catalog_.store());
  for (const ReturnItem& item : c.return_items) {
    v1::ReturnLine& line = *request.add_lines();
    line.set_sku(item.sku);
    line.set_quantity(item.quantity);
    line.set_disposition(item.disposition);
    if (item.unit_price_yen) line.set_unit_price_yen(*item.unit_price_yen);
  }
  // Checked and priced before an id is taken: a refused return skips none.
  absl::StatusOr<LineLabels> labels = ReturnLabels(request, std::nullopt);
  if (!labels.ok()) return Err(labels.status().message());
  absl::StatusOr<std::string> id = journal_.NextTransactionId(settings_.terminal);
  if (!id.ok()) return Err(absl::StrCat("journal: ", Describe(id.status())));
  request.set_transaction_id(*id);
  *request.mutable_occurred_at() = ToProto(clock_.Now());
  if (absl::Status s = journal_.Append(entry, LabelsToProto(entry, *labels)); !s.ok()) {
    return Err(absl::StrCat("journal: ", Describe(s), "; nothing was returned"));
  }
  Direct direct = SendDirect(entry);
  switch (direct.outcome) {
    case Direct::Outcome::kSynced: {
      pos::Receipt receipt = ReceiptFromProto(direct.receipt, ZoneOf(settings));
      Print(receipt);
      return Ok(absl::StrCat("return ", *id, " refund ", pos::FormatYen(receipt.total)));
    }
    case Direct::Outcome::kRefused:
      return Err(absl::StrCat("return ", *id, " refused by the gateway: ", Describe(direct.status),
                              "; nothing was returned"));
    case Direct::Outcome::kUnauthorised:
      return Err(NotAuthorised(
          direct.status, absl::StrCat("return ", *id, " was not recorded; nothing was returned")));
    case Direct::Outcome::kPending: {
      int64_t refund = 0;
      for (const LineLabel& label : *labels) {
        if (!label.refund) {
          // The gateway stopped answering mid-call: the return is kept and will be booked, at
          // the refund only the gateway knows.
          return Ok(absl::StrCat("return ", *id, " journaled for replay (", Pending(),
                                 "); refund unknown here: sale ", c.original_transaction_id,
                                 " is not in this register's journal, the gateway decides it"));
        }
        refund += *label.refund;
      }
      PrintLocal(entry, *labels);
      return Ok(absl::StrCat("return ", *id, " refund ", pos::FormatYen(refund),
                             " (journaled for replay; ", Pending(), ")"));
    }
  }
}

absl::StatusOr<LineLabels> Register::ReturnLabels(const v1::ReturnRequest& request,
                                                  std::optional<int64_t> before_seq) {
  auto from_catalog = [this](const std::string& sku) {
    LineLabel label{.name = sku, .tax_class = pos::TaxClass::kStandard, .refund = std::nullopt};
    absl::StatusOr<std::optional<CatalogEntry>> item = catalog_.FindBySku(sku);
    if (item.ok() && *item) {
      label.name = (*item)->name;
      label.tax_class = pos::TaxClassOf((*item)->tax_rate);
    }
    return label;
  };
  LineLabels labels;
  const std::string& sale_id = request.original_transaction_id();
  if (sale_id.empty()) {
    // Without a receipt: the price given, at the item's rate (the gateway's catalog decides).
    for (const v1::ReturnLine& line : request.lines()) {
      LineLabel label = from_catalog(line.sku());
      label.refund = line.unit_price_yen() * line.quantity();
      labels.push_back(std::move(label));
    }
    return labels;
  }
  absl::StatusOr<std::optional<JournalRecord>> found = journal_.Find(sale_id);
  if (!found.ok()) return found.status();
  if (!*found || !(*found)->entry.has_sale() || (*found)->state == EntryState::kRefused) {
    // Another register's sale: only the gateway knows what was paid.
    for (const v1::ReturnLine& line : request.lines()) labels.push_back(from_catalog(line.sku()));
    return labels;
  }
  const JournalRecord& original = **found;
  const v1::SaleRequest& sale = original.entry.sale();
  absl::StatusOr<std::vector<int64_t>> amounts = LineAmounts(sale);
  if (!amounts.ok()) return amounts.status();
  const std::optional<LineLabels> sold_labels = LabelsFromProto(original.entry, original.labels);
  // Per item, as the gateway reads the sale's receipt: units sold, yen paid after discounts, and
  // the name and tax rate the sale line had.
  struct Sold {
    int64_t quantity = 0;
    int64_t paid = 0;
    std::optional<LineLabel> label;
  };
  std::map<std::string, Sold> sold;
  for (int i = 0; i < sale.lines_size(); ++i) {
    Sold& item = sold[sale.lines(i).sku()];
    item.quantity += sale.lines(i).quantity();
    item.paid += (*amounts)[i];
    if (!item.label && sold_labels) item.label = (*sold_labels)[i];
  }
  // Units of each item given back before, by returns of the sale in this journal that the
  // gateway did not refuse.
  std::map<std::string, int64_t> returned;
  absl::StatusOr<std::vector<JournalRecord>> earlier = journal_.ReturnsOf(sale_id);
  if (!earlier.ok()) return earlier.status();
  for (const JournalRecord& r : *earlier) {
    if (r.state == EntryState::kRefused || !r.entry.has_return_()) continue;
    if (r.transaction_id == request.transaction_id()) continue;
    if (before_seq && r.seq >= *before_seq) continue;
    for (const v1::ReturnLine& line : r.entry.return_().lines()) {
      returned[line.sku()] += line.quantity();
    }
  }
  for (const v1::ReturnLine& line : request.lines()) {
    auto it = sold.find(line.sku());
    const int64_t units = it == sold.end() ? 0 : it->second.quantity;
    int64_t& back = returned[line.sku()];
    if (back + line.quantity() > units) {
      return absl::FailedPreconditionError(
          absl::StrCat("sale ", sale_id, " sold ", units, " of ", line.sku(),
                       back > 0 ? absl::StrCat(" (", back, " returned already)") : "", ", not ",
                       line.quantity(), back > 0 ? " more" : ""));
    }
    // The gateway's rule: each part floored, so that all refunds of the item add up to what was
    // paid for it.
    absl::StatusOr<int64_t> refund =
        pos::RefundOf(it->second.paid, it->second.quantity, back, line.quantity());
    if (!refund.ok()) return refund.status();
    LineLabel label = it->second.label ? *it->second.label : from_catalog(line.sku());
    label.refund = *refund;
    labels.push_back(std::move(label));
    back += line.quantity();
  }
  return labels;
}

LineLabels Register::LabelsFor(const JournalRecord& record) {
  if (std::optional<LineLabels> kept = LabelsFromProto(record.entry, record.labels)) {
    return *std::move(kept);
  }
  // Journaled without labels (by an older build, or a return whose refund only the gateway
  // knows): rebuilt as they would have been then.
  LineLabels labels;
  if (record.entry.has_return_()) {
    absl::StatusOr<LineLabels> rebuilt = ReturnLabels(record.entry.return_(), record.seq);
    if (rebuilt.ok()) return *std::move(rebuilt);
    return labels;  // LocalReceipt says the labels are missing.
  }
  for (const v1::SaleLine& line : record.entry.sale().lines()) {
    LineLabel& label = labels.emplace_back();
    label.name = line.sku();
    absl::StatusOr<std::optional<CatalogEntry>> item = catalog_.FindBySku(line.sku());
    if (item.ok() && *item) {
      label.name = (*item)->name;
      label.tax_class = pos::TaxClassOf((*item)->tax_rate);
    }
  }
  return labels;
}

// ------------------------------------------------------------------------------ gateway only

void Register::Stock(const std::string& code_or_sku) {
  v1::StockCheckRequest request;
  request.set_store(catalog_.store());
  const bool barcode = std::all_of(code_or_sku.begin(), code_or_sku.end(), absl::ascii_isdigit) &&
                       pos::ParseScan(code_or_sku, LayoutOf(catalog_.settings())).ok();
  if (barcode) {
    request.set_barcode(code_or_sku);
  } else {
    request.set_sku(code_or_sku);
  }
  absl::StatusOr<v1::StockCheckResponse> stock = gateway_.StockCheck(request);
  if (!stock.ok()) {
    return Err(IsUnreachable(stock.status()) ? std::string("offline: stock checks need the gateway")
               : IsUnauthorised(stock.status())
                   ? NotAuthorised(stock.status(), absl::StrCat("no stock of ", code_or_sku))
                   : absl::StrCat("stock ", code_or_sku, ": ", Describe(stock.status())));
  }
  std::string details;
  for (const v1::StockAt& at : stock->other_stores()) {
    absl::StrAppend(&details, "  store ", at.place(), " ", at.name(), " ", at.available(), "\n");
  }
  for (const v1::StockAt& at : stock->online()) {
    absl::StrAppend(&details, "  online ", at.place(), " ", at.name(), " ", at.available(), "\n");
  }
  console_.Text(details);
  Ok(absl::StrCat("stock ", stock->sku(), " ", stock->name(), ": here ", stock->here()));
}

void Register::Pickups() {
  v1::ListPickupsRequest request;
  request.set_store(catalog_.store());
  absl::StatusOr<v1::ListPickupsResponse> pickups = gateway_.ListPickups(request);
  if (!pickups.ok()) {
    return Err(IsUnreachable(pickups.status()) ? std::string("offline: pickups need the gateway")
               : IsUnauthorised(pickups.status())
                   ? NotAuthorised(pickups.status(), "no pickups")
                   : absl::StrCat("pickups: ", Describe(pickups.status())));
  }
  std::string details;
  for (const v1::Pickup& p : pickups->pickups()) {
    std::vector<std::string> lines;
    for (const v1::SaleLine& line : p.lines()) {
      lines.push_back(absl::StrCat(line.sku(), " x", line.quantity()));
    }
    absl::StrAppend(&details, "  ", p.channel(), " ", p.external_order_id(), " ",
                    p.ready() ? "ready" : "not-ready", " ", p.customer(), ": ",
                    absl::StrJoin(lines, ", "), "\n");
  }
  console_.Text(details);
  Ok(absl::StrCat(pickups->pickups_size(), " pickup orders waiting"));
}

void Register::Pickup(const std::string& channel, const std::string& order_id) {
  absl::StatusOr<std::string> id = journal_.NextTransactionId(settings_.terminal);
  if (!id.ok()) return Err(absl::StrCat("journal: ", Describe(id.status())));
  v1::CompletePickupRequest request;
  request.set_transaction_id(*id);
  request.set_channel(channel);
  request.set_external_order_id(order_id);
  request.set_store(catalog_.store());
  absl::StatusOr<v1::CompletePickupResponse> done = gateway_.CompletePickup(request);
  if (!done.ok()) {
    return Err(
        IsUnreachable(done.status()) ? absl::StrCat("offline: pickups need the gateway (", channel,
                                                    " ", order_id, " not handed over)")
        : IsUnauthorised(done.status())
            ? NotAuthorised(done.status(), absl::StrCat(channel, " ", order_id, " not handed over"))
            : absl::StrCat("pickup ", channel, " ", order_id, ": ", Describe(done.status())));
  }
  std::vector<std::string> lines;
  for (const v1::SaleLine& line : done->pickup().lines()) {
    lines.push_back(absl::StrCat(line.sku(), " x", line.quantity()));
  }
  Ok(absl::StrCat("picked up ", channel, " ", order_id, " (", *id,
                  "): ", absl::StrJoin(lines, ", ")));
}

// ------------------------------------------------------------------------------ journal, catalog

std::string Register::Pending() {
  absl::StatusOr<JournalCounts> counts = journal_.Counts();
  if (!counts.ok()) return "journal unreadable";
  return absl::StrCat(counts->pending, " pending");
}

void Register::Sync() {
  ReplayReport report = replayer_.ReplayNow();
  const std::string done = absl::StrCat(
      report.sent(), " sent (", report.applied, " applied, ", report.duplicates, " duplicate, ",
      report.refused, " refused, ", report.oversold, " oversold); ", report.pending, " pending");
  if (!report.status.ok()) {
    return Err(absl::StrCat("sync: ", Describe(report.status), "; ", done));
  }
  Ok(absl::StrCat("sync: ", done));
}

void Register::RefreshCatalog() {
  absl::StatusOr<int64_t> items = catalog_.RefreshFrom(gateway_);
  if (!items.ok()) {
    return Err(absl::StrCat("catalog: ", Describe(items.status()), " (the old catalog stays)"));
  }
  const std::optional<v1::StoreSettings> settings = catalog_.settings();
  Ok(absl::StrCat("catalog: ", *items, " items; store ", settings ? settings->name() : ""));
}

void Register::Status() {
  absl::StatusOr<JournalCounts> counts = journal_.Counts();
  absl::StatusOr<CatalogInfo> info = catalog_.Info();
  const std::optional<v1::StoreSettings> settings = catalog_.settings();
  std::string journal = "journal unreadable";
  if (counts.ok()) {
    journal = absl::StrCat("journal ", counts->pending, " pending, ", counts->refused, " refused, ",
                           counts->synced, " synced");
  }
  std::string catalog = "catalog unreadable";
  if (info.ok()) {
    catalog = absl::StrCat("catalog ", info->items, " items, synced ",
                           info->synced_at ? absl::FormatTime("%Y-%m-%d %H:%M:%S %Z",
                                                              *info->synced_at, ZoneOf(settings))
                                           : "never");
  }
  const absl::Status refusal = gateway_.refusal();
  Ok(absl::StrCat("status: ", gateway_.online() ? "online" : "offline",
                  refusal.ok() ? "" : absl::StrCat("; locked: ", Describe(refusal)), "; ", journal,
                  "; ", catalog, "; terminal ", settings_.terminal, "; printer ",
                  settings_.printer.ToString()));
}

// ------------------------------------------------------------------------------ printing

bool Register::Print(const pos::Receipt& receipt) {
  last_receipt_ = receipt;
  console_.Text(pos::RenderText(receipt, settings_.columns));
  if (settings_.printer.kind != PrinterTarget::Kind::kNone) {
    absl::StatusOr<std::string> bytes = pos::RenderEscPos(receipt, {.columns = settings_.columns});
    absl::Status sent = bytes.ok()
                            ? SendToPrinter(settings_.printer, *bytes, settings_.print_timeout)
                            : bytes.status();
    if (!sent.ok()) {
      console_.Line(absl::StrCat("PRINTER ", settings_.printer.ToString(), ": ", Describe(sent),
                                 " (nothing is lost: reprint prints it again)"));
      return false;
    }
  }
  // Without a printer the screen is the receipt.
  if (absl::Status s = journal_.MarkPrinted(receipt.header.transaction_id); !s.ok()) {
    console_.Line(absl::StrCat("JOURNAL ", receipt.header.transaction_id,
                               " not marked printed: ", Describe(s)));
  }
  return true;
}

bool Register::PrintLocal(const v1::JournalEntry& entry, const LineLabels& labels) {
  absl::StatusOr<pos::Receipt> receipt =
      LocalReceipt(entry, labels, catalog_.settings(), settings_.terminal);
  if (!receipt.ok()) {
    console_.Line(absl::StrCat("PRINTER no receipt for ", TransactionIdOf(entry), ": ",
                               Describe(receipt.status())));
    return false;
  }
  return Print(*receipt);
}

void Register::Reprint(const std::string& transaction_id) {
  if (transaction_id.empty() && last_receipt_) {
    pos::Receipt receipt = *last_receipt_;
    Print(receipt);
    return Ok(absl::StrCat("reprinted ", receipt.header.transaction_id));
  }
  // After a restart, or another transaction: rebuilt from the journal.
  absl::StatusOr<std::optional<JournalRecord>> record =
      transaction_id.empty() ? journal_.Newest() : journal_.Find(transaction_id);
  if (!record.ok()) return Err(absl::StrCat("journal: ", Describe(record.status())));
  if (!*record) {
    return Err(transaction_id.empty() ? std::string("nothing to reprint")
                                      : absl::StrCat(transaction_id, " is not in the journal"));
  }
  absl::StatusOr<pos::Receipt> receipt =
      LocalReceipt((*record)->entry, LabelsFor(**record), catalog_.settings(), settings_.terminal);
  if (!receipt.ok()) return Err(absl::StrCat("reprint: ", Describe(receipt.status())));
  Print(*receipt);
  Ok(absl::StrCat("reprinted ", (*record)->transaction_id));
}

void Register::PrintUnprinted() {
  absl::StatusOr<std::vector<JournalRecord>> unprinted = journal_.Unprinted(-1);
  if (!unprinted.ok()) {
    console_.Line(
        absl::StrCat("JOURNAL unprinted receipts unreadable: ", Describe(unprinted.status())));
    return;
  }
  for (const JournalRecord& record : *unprinted) {
    const LineLabels labels = LabelsFor(record);
    absl::StatusOr<pos::Receipt> receipt =
        LocalReceipt(record.entry, labels, catalog_.settings(), settings_.terminal);
    // The total as the receipt has it; without one, as the entry gives it.
    std::string total = "total unknown";
    if (receipt.ok()) {
      total = pos::FormatYen(receipt->total);
    } else if (record.entry.has_sale()) {
      if (absl::StatusOr<std::vector<int64_t>> amounts = LineAmounts(record.entry.sale());
          amounts.ok()) {
        int64_t sum = 0;
        for (int64_t amount : *amounts) sum += amount;
        total = pos::FormatYen(sum);
      }
    }
    console_.Line(absl::StrCat("UNPRINTED ", record.transaction_id, ": ", total, " — the ",
                               record.entry.has_sale() ? "sale" : "return",
                               " was recorded; reprinting"));
    if (receipt.ok()) {
      Print(*receipt);
      continue;
    }
    console_.Line(absl::StrCat("PRINTER no receipt for ", record.transaction_id, ": ",
                               Describe(receipt.status())));
    // With the store's settings synced nothing will make a receipt later (a refund only the
    // gateway knows): said once, not at every start. Without them, the next start tries again.
    if (catalog_.settings()) {
      if (absl::Status s = journal_.MarkPrinted(record.transaction_id); !s.ok()) {
        console_.Line(
            absl::StrCat("JOURNAL ", record.transaction_id, " not marked printed: ", Describe(s)));
      }
    }
  }
}

absl::Status Register::Authorised() {
  if (gateway_.refusal().ok()) return absl::OkStatus();
  v1::GetCatalogRequest probe;
  probe.set_page_size(1);
  probe.set_store(catalog_.store());
  (void)gateway_.GetCatalog(probe);
  return gateway_.refusal();
}

void Register::Quit() {
  Ok(absl::StrCat("bye; ", Pending(), " in the journal (sent after the next start)"));
}

}  // namespace kura::pos_terminal
