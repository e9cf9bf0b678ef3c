#include "gateway.h"

#include <pqxx/pqxx>

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/log/log.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"
#include "kura/pos/barcode.h"
#include "kura/pos/receipt.h"
#include "kura/pos/wire.h"

namespace kura::pos {
namespace {

using Tx = pqxx::transaction_base;
using ledger_v1::CatalogService;
using ledger_v1::LedgerService;

constexpr int kSale = 1, kReturn = 2;

TaxClass TaxClassOf(ledger_v1::TaxClass c) {
  return c == ledger_v1::TAX_CLASS_REDUCED ? TaxClass::kReduced : TaxClass::kStandard;
}
v1::TaxRate RateOf(ledger_v1::TaxClass c) {
  return c == ledger_v1::TAX_CLASS_REDUCED ? v1::TAX_RATE_REDUCED : v1::TAX_RATE_STANDARD;
}

absl::StatusOr<pos::TenderKind> TenderKindOf(v1::TenderKind k) {
  std::optional<pos::TenderKind> kind = TenderKindFromProto(k);
  if (!kind) {
    return InvalidArgument("tenders.kind", "a tender needs its kind: cash, card, emoney or qr");
  }
  return *kind;
}

// The wire form of a receipt built by MakeReceipt; `skus` runs along its lines.
v1::Receipt ToProto(const pos::Receipt& r, const std::vector<std::string>& skus, absl::Time at,
                    const std::string& original) {
  v1::Receipt out;
  out.set_store_name(r.header.store_name);
  out.set_store_address(r.header.address);
  out.set_store_phone(r.header.phone);
  out.set_invoice_number(r.header.registration_number);
  out.set_terminal_id(r.header.terminal_id);
  out.set_transaction_id(r.header.transaction_id);
  *out.mutable_occurred_at() = kura::ToProto(at);
  out.set_local_time(r.header.issued_at);
  for (size_t i = 0; i < r.lines.size(); ++i) {
    const auto& l = r.lines[i];
    auto* line = out.add_lines();
    line->set_sku(skus[i]);
    line->set_name(l.name);
    line->set_quantity(l.quantity);
    line->set_unit_price_yen(l.unit_price);
    line->set_amount_yen(l.amount);
    line->set_discount_yen(l.unit_price * l.quantity - l.amount);
    line->set_reduced_rate(l.tax_class == TaxClass::kReduced);
  }
  for (const auto& rate : r.rates) {
    auto* t = out.add_taxes();
    t->set_rate(rate.tax_class == TaxClass::kReduced ? v1::TAX_RATE_REDUCED
                                                     : v1::TAX_RATE_STANDARD);
    t->set_taxable_yen(rate.taxable);
    t->set_tax_yen(rate.tax);
  }
  out.set_total_yen(r.total);
  for (const auto& t : r.tenders) {
    auto* tender = out.add_tenders();
    tender->set_kind(pos::ToProto(t.kind));
    tender->set_amount_yen(t.amount);
  }
  out.set_change_yen(r.change);
  out.set_is_return(r.header.is_return);
  out.set_original_transaction_id(original);
  return out;
}

// A journal entry that, as sent, can never be booked (malformed, its id used by another
// transaction, an item or sale that does not exist, more returned than sold). Anything else (an
// unreachable service, a store not configured yet) passes: the entry is sent again later.
bool Rejected(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
      return true;
    case absl::StatusCode::kFailedPrecondition:
      return ErrorReason(s) != "STORE_NOT_CONFIGURED";
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<Gateway::PricedItem> Gateway::Priced(const std::string& sku) {
  ASSIGN_OR_RETURN(ledger_v1::Item item, Item(sku));
  PricedItem out{item, item.price_yen()};
  ASSIGN_OR_RETURN(auto limited, Limited(sku));
  if (limited && limited->current_price_yen() > 0) out.price = limited->current_price_yen();
  return out;
}

absl::StatusOr<std::optional<reservation_v1::LimitedItem>> Gateway::Limited(
    const std::string& sku) {
  using Out = std::optional<reservation_v1::LimitedItem>;
  return limited_.Get(sku, [&]() -> absl::StatusOr<Out> {
    reservation_v1::GetLimitedItemRequest get;
    get.set_sku(sku);
    auto got = clients_.Call(*clients_.limits,
                             &reservation_v1::LimitedItemService::Stub::GetLimitedItem, get);
    if (absl::IsNotFound(got.status())) return std::nullopt;  // not a limited item
    if (!got.ok()) return got.status();
    return got->item();
  });
}

absl::StatusOr<Gateway::Places> Gateway::KnownPlaces() {
  return places_.Get(0, [&] { return LoadPlaces(); });
}

absl::StatusOr<Gateway::Places> Gateway::LoadPlaces() {
  Places places;
  ledger_v1::ListLocationsRequest locations;
  locations.set_page_size(1000);
  do {
    ASSIGN_OR_RETURN(auto page, clients_.Call(*clients_.catalog,
                                              &CatalogService::Stub::ListLocations, locations));
    for (const auto& l : page.locations()) {
      if (l.kind() == ledger_v1::LOCATION_KIND_STORE) places.stores.push_back(l);
    }
    locations.set_page_token(page.next_page_token());
  } while (!locations.page_token().empty());
  ledger_v1::ListChannelsRequest channels;
  channels.set_page_size(1000);
  do {
    ASSIGN_OR_RETURN(
        auto page, clients_.Call(*clients_.catalog, &CatalogService::Stub::ListChannels, channels));
    for (const auto& c : page.channels()) {
      if (c.kind() == ledger_v1::CHANNEL_KIND_EC_SITE) places.ec_channels.push_back(c);
    }
    channels.set_page_token(page.next_page_token());
  } while (!channels.page_token().empty());
  return places;
}

absl::Status Gateway::FillStock(const std::string& sku, const std::string& store, int64_t* here,
                                google::protobuf::RepeatedPtrField<v1::StockAt>* stores,
                                google::protobuf::RepeatedPtrField<v1::StockAt>* online) {
  ASSIGN_OR_RETURN(Places places, KnownPlaces());
  ledger_v1::GetAvailabilityRequest all;
  all.add_skus(sku);
  ASSIGN_OR_RETURN(auto rows,
                   clients_.Call(*clients_.ledger, &LedgerService::Stub::GetAvailability, all));
  std::map<std::string, int64_t> by_location;
  for (const auto& r : rows.rows()) by_location[r.location()] += r.available_to_promise();
  *here = by_location[store];
  for (const auto& s : places.stores) {
    if (s.code() == store) continue;
    auto* at = stores->Add();
    at->set_place(s.code());
    at->set_name(s.name());
    at->set_available(by_location[s.code()]);
  }
  if (places.ec_channels.empty()) return absl::OkStatus();
  ledger_v1::GetAvailabilityRequest ec;
  ec.add_skus(sku);
  for (const auto& c : places.ec_channels) ec.add_channels(c.code());
  ASSIGN_OR_RETURN(auto ec_rows,
                   clients_.Call(*clients_.ledger, &LedgerService::Stub::GetAvailability, ec));
  std::map<std::string, int64_t> by_channel;
  for (const auto& r : ec_rows.rows()) by_channel[r.channel()] += r.available_to_promise();
  for (const auto& c : places.ec_channels) {
    auto* at = online->Add();
    at->set_place(c.code());
    at->set_name(c.name());
    at->set_available(by_channel[c.code()]);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::LookupResponse> Gateway::Lookup(const TerminalIdentity& who,
                                                   const v1::LookupRequest& request) {
  ASSIGN_OR_RETURN(v1::StoreSettings settings, registers_.Settings(who.location));
  ASSIGN_OR_RETURN(InStoreLayout layout, ParseInStoreLayout(settings.in_store_layout()));
  if (settings.in_store_layout().empty()) layout = DefaultInStoreLayout();
  ASSIGN_OR_RETURN(ScannedCode code, ParseScan(request.barcode(), layout));
  v1::LookupResponse out;
  static const std::map<CodeKind, v1::CodeKind> kinds = {
      {CodeKind::kJan13, v1::CODE_KIND_EAN13},
      {CodeKind::kEan8, v1::CODE_KIND_EAN8},
      {CodeKind::kUpcA, v1::CODE_KIND_UPCA},
      {CodeKind::kInStorePlu, v1::CODE_KIND_IN_STORE},
      {CodeKind::kInStorePrice, v1::CODE_KIND_IN_STORE_PRICE},
      {CodeKind::kInStoreWeight, v1::CODE_KIND_IN_STORE_WEIGHT},
      {CodeKind::kIsbn, v1::CODE_KIND_ISBN},
      {CodeKind::kBook, v1::CODE_KIND_ISBN},
      {CodeKind::kBookPriceCode, v1::CODE_KIND_BOOK_PRICE}};
  out.set_kind(kinds.at(code.kind));
  // A book's list price is without tax; books are sold at the standard rate.
  const bool has_book_price = code.book_price_yen.has_value();
  const int64_t book_price = has_book_price ? *code.book_price_yen * 110 / 100 : 0;
  if (code.kind == CodeKind::kBookPriceCode) {
    out.set_price_yen(book_price);
    out.set_list_price_yen(out.price_yen());
    out.set_tax_rate(v1::TAX_RATE_STANDARD);
    return out;
  }
  ledger_v1::LookupBarcodeRequest find;
  find.set_barcode(code.lookup_code);
  auto found = clients_.Call(*clients_.catalog, &CatalogService::Stub::LookupBarcode, find);
  if (!found.ok() && absl::IsNotFound(found.status()) && code.lookup_code != code.code) {
    find.set_barcode(code.code);  // stored as scanned (a UPC-A as 12 digits, say)
    found = clients_.Call(*clients_.catalog, &CatalogService::Stub::LookupBarcode, find);
  }
  if (absl::IsNotFound(found.status())) {
    return MakeError(absl::StatusCode::kNotFound, "UNKNOWN_BARCODE",
                     absl::StrCat("no item has barcode ", code.code));
  }
  RETURN_IF_ERROR(found.status());
  ASSIGN_OR_RETURN(PricedItem priced, Priced(found->item().sku()));
  RETURN_IF_ERROR(CheckLimitedAtScan(priced.item.sku()));
  out.set_sku(priced.item.sku());
  out.set_name(priced.item.name());
  out.set_list_price_yen(priced.item.price_yen());
  out.set_price_yen(priced.price);
  out.set_tax_rate(RateOf(priced.item.tax_class()));
  if (code.price_yen) out.set_price_yen(*code.price_yen);
  if (code.weight_grams) {
    // Weighed goods are priced per kilogram in the catalog.
    out.set_weight_grams(*code.weight_grams);
    out.set_price_yen(priced.price * *code.weight_grams / 1000);
  }
  if (has_book_price) out.set_price_yen(book_price);
  int64_t here = 0;
  RETURN_IF_ERROR(FillStock(priced.item.sku(), who.location, &here, out.mutable_other_stores(),
                            out.mutable_online()));
  out.set_stock_here(here);
  return out;
}

// A limited item is refused when scanned outside its sale window or once its total cap is
// counted (orders and register sales), so the cashier learns it before payment.
absl::Status Gateway::CheckLimitedAtScan(const std::string& sku) {
  ASSIGN_OR_RETURN(auto limited, Limited(sku));
  if (!limited) return absl::OkStatus();
  const absl::Time now = clock_.Now();
  if (now < FromProto(limited->window_start()) || now >= FromProto(limited->window_end())) {
    return MakeError(absl::StatusCode::kFailedPrecondition, "SALE_WINDOW_CLOSED",
                     absl::StrCat(sku, " is a limited item outside its sale window"),
                     {{"sku", sku}});
  }
  if (limited->total_cap() > 0 && limited->reserved() >= limited->total_cap()) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, "TOTAL_CAP_REACHED",
        absl::StrCat("the total cap of ", sku, " (", limited->total_cap(), ") is sold or reserved"),
        {{"sku", sku}});
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::StockCheckResponse> Gateway::StockCheck(const TerminalIdentity& who,
                                                           const v1::StockCheckRequest& request) {
  std::string sku = request.sku();
  if (sku.empty()) {
    if (request.barcode().empty()) return InvalidArgument("sku", "a sku or a barcode is required");
    v1::LookupRequest lookup;
    lookup.set_barcode(request.barcode());
    ASSIGN_OR_RETURN(auto found, Lookup(who, lookup));
    if (found.sku().empty()) return InvalidArgument("barcode", "a book price code names no item");
    sku = found.sku();
  }
  RETURN_IF_ERROR(ValidateSku("sku", sku));
  ledger_v1::GetItemRequest get;
  get.set_sku(sku);
  ASSIGN_OR_RETURN(auto item,
                   clients_.Call(*clients_.catalog, &CatalogService::Stub::GetItem, get));
  v1::StockCheckResponse out;
  out.set_sku(sku);
  out.set_name(item.item().name());
  int64_t here = 0;
  RETURN_IF_ERROR(
      FillStock(sku, who.location, &here, out.mutable_other_stores(), out.mutable_online()));
  out.set_here(here);
  return out;
}

absl::StatusOr<v1::SaleResponse> Gateway::Sale(const TerminalIdentity& who,
                                               const v1::SaleRequest& request) {
  ASSIGN_OR_RETURN(Recorded r, RecordSale(who, request, false));
  if (!r.duplicate) {
    observer_.Sale(false);
    if (r.oversold) observer_.Oversold();
  }
  v1::SaleResponse out;
  *out.mutable_receipt() = std::move(r.receipt);
  out.set_oversold(r.oversold);
  std::vector<std::string> warnings;
  for (auto& h : r.held_orders) {
    warnings.push_back(absl::StrCat(
        h.quantity(), " × ", h.sku(), " were held for ", h.channel(), " order ",
        h.external_order_id(), ": ",
        h.moved_to().empty() ? "no other location has them, the order is unfulfillable"
                             : absl::StrCat("now held at ", absl::StrJoin(h.moved_to(), ", "))));
    *out.add_held_orders() = std::move(h);
  }
  if (r.held_orders_pending) {
    out.set_held_orders_pending(true);
    warnings.push_back("units held for online orders were sold; their orders are being moved");
  }
  out.set_warning(absl::StrJoin(warnings, "\n"));
  return out;
}

absl::StatusOr<v1::ReturnResponse> Gateway::Return(const TerminalIdentity& who,
                                                   const v1::ReturnRequest& request) {
  ASSIGN_OR_RETURN(Recorded r, RecordReturn(who, request, false));
  if (!r.duplicate) observer_.Return(false);
  v1::ReturnResponse out;
  *out.mutable_receipt() = std::move(r.receipt);
  return out;
}

// A transaction is recorded in three steps, none holding a transaction across the ledger call:
// 1. under a lock on its (store, id), a repeat gets the stored receipt; a new one is prepared
//    (`prepare`: the receipt, the ledger request, a return's units counted against its sale) and
//    recorded as an intent (applied = false) with its ledger request;
// 2. the ledger is called (idempotent on the transaction's request id);
// 3. the intent is marked applied (with any oversold incident), or removed with what it counted
//    when the ledger refuses for good. A transient failure leaves the intent: the register's
//    retry (or a repeat from another call) finds it and resumes at step 2.
// A transaction id is unique within the store, so that a return names one sale.
absl::StatusOr<Gateway::Recorded> Gateway::Once(
    const TerminalIdentity& who, const std::string& id, int kind, const std::string& digest,
    const std::string& original, absl::Time at, bool from_journal,
    const std::function<absl::StatusOr<Intent>(Tx&)>& prepare) {
  std::optional<Recorded> done;
  // The intent's commit does not wait for the WAL flush: the result's commit (step 3) waits for
  // it, and nothing is answered before that. Lost with a crash before step 3, the intent is
  // made again by the register's retry, and the ledger answers the same request id alike.
  ASSIGN_OR_RETURN(
      Intent intent,
      pg::Transact<Intent>(db_, {.wait_for_flush = false}, [&](Tx& tx) -> absl::StatusOr<Intent> {
        done.reset();
        tx.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))",
                       absl::StrCat(who.location, "/", id));
        auto seen = tx.exec_params(
            "SELECT terminal_id, request_digest, encode(receipt, 'hex'), oversold, applied, "
            "encode(ledger_request, 'hex') FROM transactions WHERE location = $1 AND "
            "transaction_id = $2",
            who.location, id);
        if (seen.empty()) {
          ASSIGN_OR_RETURN(Intent fresh, prepare(tx));
          tx.exec_params(
              "INSERT INTO transactions (terminal_id, transaction_id, location, kind, "
              "request_digest, receipt, oversold, original_transaction_id, occurred_at, "
              "recorded_at, from_journal, applied, ledger_request) VALUES ($1, $2, $3, $4, $5, "
              "decode($6, 'hex'), false, $7, $8, $9, $10, false, decode($11, 'hex'))",
              who.terminal_id, id, who.location, kind, digest,
              absl::BytesToHexString(DeterministicBytes(fresh.receipt)), original, pg::SqlTime(at),
              pg::SqlTime(clock_.Now()), from_journal,
              absl::BytesToHexString(DeterministicBytes(fresh.moves)));
          return fresh;
        }
        if (seen[0][0].as<std::string>() != who.terminal_id ||
            seen[0][1].as<std::string>() != digest) {
          return MakeError(absl::StatusCode::kAlreadyExists, "TRANSACTION_ID_REUSED",
                           absl::StrCat("transaction ", id, " was recorded with other contents"));
        }
        Intent stored;
        stored.receipt.ParseFromString(absl::HexStringToBytes(seen[0][2].as<std::string>()));
        if (seen[0][4].as<bool>()) {
          done = Recorded{stored.receipt, seen[0][3].as<bool>(), true};
          return stored;
        }
        // Recorded, the ledger call not known to be done: resume it.
        stored.moves.ParseFromString(absl::HexStringToBytes(seen[0][5].as<std::string>()));
        stored.check_oversold = kind == kSale;
        return stored;
      }));
  if (done) return *done;
  return Apply(who, id, original, at, std::move(intent));
}

absl::StatusOr<Gateway::Recorded> Gateway::Apply(const TerminalIdentity& who, const std::string& id,
                                                 const std::string& original, absl::Time at,
                                                 Intent intent) {
  auto applied =
      clients_.Call(*clients_.ledger, &LedgerService::Stub::ApplyMovements, intent.moves);
  const absl::Status called = applied.status();
  const bool refused = absl::IsInvalidArgument(called) || absl::IsNotFound(called) ||
                       absl::IsFailedPrecondition(called) || absl::IsOutOfRange(called);
  if (!called.ok() && !refused) return called;  // the intent stays; a retry resumes
  // Oversold: an item whose shelf count is below zero after the sale (it happened: it stays
  // applied, and is reported), as the ledger's answer names them.
  // Held units taken: the shelf no longer covers what is held there for online orders.
  std::vector<std::string> oversold, short_of_holds;
  if (called.ok() && intent.check_oversold) {
    oversold.assign(applied->below_zero_skus().begin(), applied->below_zero_skus().end());
    short_of_holds.assign(applied->short_of_holds_skus().begin(),
                          applied->short_of_holds_skus().end());
  }
  // Limited items sold or returned are counted against their caps once the sale is recorded.
  bool count_limits = false;
  if (called.ok()) {
    auto counts = LimitedCounts(who.location, id, intent.moves);
    count_limits = !counts.ok() || !counts->lines().empty();  // unknown yet: the retry looks
  }
  bool withdrawn = false, duplicate = false;
  int64_t incident = 0;
  RETURN_IF_ERROR(pg::Transact<bool>(db_, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
                    withdrawn = duplicate = false;
                    incident = 0;
                    tx.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))",
                                   absl::StrCat(who.location, "/", id));
                    if (refused) {
                      // Undo the intent and the units it counted against its sale.
                      auto gone = tx.exec_params(
                          "DELETE FROM transactions WHERE location = $1 AND transaction_id = $2 "
                          "AND NOT applied RETURNING 1",
                          who.location, id);
                      if (!gone.empty() && !original.empty()) {
                        for (const auto& m : intent.moves.movements()) {
                          if (m.kind() != ledger_v1::MOVEMENT_KIND_RETURN) continue;
                          tx.exec_params(
                              "UPDATE returned_units SET quantity = quantity - $4 WHERE "
                              "location = $1 AND sale_transaction_id = $2 AND sku = $3",
                              who.location, original, m.sku(), m.quantity());
                        }
                      }
                      return true;
                    }
                    auto marked = tx.exec_params(
                        "UPDATE transactions SET applied = true, oversold = $3, "
                        "limits_pending = $4 WHERE location = $1 AND transaction_id = $2 "
                        "AND NOT applied RETURNING 1",
                        who.location, id, !oversold.empty(), count_limits);
                    if (marked.empty()) {
                      // Marked by a concurrent repeat (a duplicate), or withdrawn by a repeat
                      // the ledger refused: then the register sends it again.
                      auto row = tx.exec_params(
                          "SELECT 1 FROM transactions WHERE location = $1 AND transaction_id = $2",
                          who.location, id);
                      withdrawn = row.empty();
                      duplicate = !withdrawn;
                      return true;
                    }
                    if (!oversold.empty() || !short_of_holds.empty()) {
                      incident =
                          tx.exec_params1(
                                "INSERT INTO oversold_incidents (terminal_id, transaction_id, "
                                "location, skus, occurred_at, recorded_at, held_skus, resourced) "
                                "VALUES ($1, $2, $3, $4::text[], $5, $6, $7::text[], $8) "
                                "RETURNING incident_id",
                                who.terminal_id, id, who.location, pg::SqlTextArray(oversold),
                                pg::SqlTime(at), pg::SqlTime(clock_.Now()),
                                pg::SqlTextArray(short_of_holds), short_of_holds.empty())[0]
                              .as<int64_t>();
                    }
                    return true;
                  }).status());
  if (refused) return called;
  if (withdrawn) {
    return MakeError(absl::StatusCode::kAborted, "TRANSACTION_CONFLICT",
                     absl::StrCat("transaction ", id, " was withdrawn meanwhile: send it again"));
  }
  if (count_limits && !withdrawn && !duplicate) {
    if (absl::Status counted = CountLimited(who.location, id, intent.moves); !counted.ok()) {
      log::Warn("limited items sold; counted against their caps later",
                {{"location", who.location},
                 {"transaction_id", id},
                 {"error", std::string(counted.message())}});
    }
  }
  Recorded recorded{std::move(intent.receipt), !oversold.empty(), duplicate};
  if (!short_of_holds.empty() && incident != 0) {
    auto moved = MoveHeldOrders(incident, who.location, short_of_holds);
    if (moved.ok()) {
      recorded.held_orders = *std::move(moved);
    } else {
      recorded.held_orders_pending = true;  // the retry loop moves them (ResumeHeldOrders)
      log::Warn("held units sold; the orders' holds are moved later",
                {{"location", who.location},
                 {"transaction_id", id},
                 {"error", std::string(moved.status().message())}});
    }
  }
  return recorded;
}

// The reservation moves the holds off the shelf (idempotent: a shelf that covers its holds
// moves nothing); then the incident names the orders and is marked done.
absl::StatusOr<std::vector<v1::HeldOrder>> Gateway::MoveHeldOrders(
    int64_t incident, const std::string& location, const std::vector<std::string>& skus) {
  // A repeat answers every move made under its request id; at most 100 items a call.
  reservation_v1::ResourceHoldsResponse moved;
  for (size_t from = 0, part = 0; from < skus.size(); from += 100, ++part) {
    reservation_v1::ResourceHoldsRequest request;
    request.set_request_id(absl::StrCat("pos-held-", location, "-", incident, "-", part));
    request.set_location(location);
    for (size_t i = from; i < std::min(skus.size(), from + 100); ++i) request.add_skus(skus[i]);
    ASSIGN_OR_RETURN(auto answered,
                     clients_.Call(*clients_.orders,
                                   &reservation_v1::OrderService::Stub::ResourceHolds, request));
    moved.MergeFrom(answered);
  }
  std::vector<v1::HeldOrder> out;
  std::vector<std::string> parts;
  for (const auto& m : moved.moved()) {
    v1::HeldOrder& h = out.emplace_back();
    h.set_channel(m.channel());
    h.set_external_order_id(m.external_order_id());
    h.set_sku(m.sku());
    h.set_quantity(m.quantity());
    h.mutable_moved_to()->CopyFrom(m.to_locations());
    parts.push_back(absl::StrCat(
        m.channel(), " order ", m.external_order_id(), ": ", m.quantity(), " × ", m.sku(), " ",
        m.to_locations().empty()
            ? "not held anywhere else (unfulfillable)"
            : absl::StrCat("now held at ", absl::StrJoin(m.to_locations(), ", "))));
  }
  RETURN_IF_ERROR(pg::Transact<bool>(db_, {}, [&](Tx& tx) -> absl::StatusOr<bool> {
                    tx.exec_params(
                        "UPDATE oversold_incidents SET resourced = true, detail = $2 "
                        "WHERE incident_id = $1",
                        incident, absl::StrJoin(parts, "; "));
                    return true;
                  }).status());
  return out;
}

absl::StatusOr<reservation_v1::CountStoreSaleRequest> Gateway::LimitedCounts(
    const std::string& location, const std::string& id,
    const ledger_v1::ApplyMovementsRequest& moves) {
  reservation_v1::CountStoreSaleRequest out;
  // Within the reservation's 128-character request ids whatever the lengths of the store's
  // code and the transaction id.
  out.set_request_id(
      absl::StrCat("pos-sale-", rpc::RequestDigest(absl::StrCat(location, "/", id))));
  for (const auto& m : moves.movements()) {
    const bool sold = m.kind() == ledger_v1::MOVEMENT_KIND_STORE_SALE;
    if (!sold && m.kind() != ledger_v1::MOVEMENT_KIND_RETURN) continue;
    ASSIGN_OR_RETURN(auto limited, Limited(m.sku()));
    if (!limited) continue;
    auto* line = out.add_lines();
    line->set_sku(m.sku());
    line->set_quantity(sold ? m.quantity() : -m.quantity());
  }
  return out;
}

absl::Status Gateway::CountLimited(const std::string& location, const std::string& id,
                                   const ledger_v1::ApplyMovementsRequest& moves) {
  ASSIGN_OR_RETURN(auto counts, LimitedCounts(location, id, moves));
  if (!counts.lines().empty()) {
    RETURN_IF_ERROR(clients_
                        .Call(*clients_.limits,
                              &reservation_v1::LimitedItemService::Stub::CountStoreSale, counts)
                        .status());
    for (const auto& line : counts.lines()) limited_.Forget(line.sku());  // its count moved
  }
  return pg::Transact<bool>(
             db_, {},
             [&](Tx& tx) -> absl::StatusOr<bool> {
               tx.exec_params(
                   "UPDATE transactions SET limits_pending = false WHERE location = $1 AND "
                   "transaction_id = $2",
                   location, id);
               return true;
             })
      .status();
}

absl::StatusOr<int> Gateway::ResumeIntents() {
  // Intents older than a register's retries would be (a gateway that crashed after the ledger
  // call, a register that never came back): the ledger is called again with the same request
  // (idempotent) and the result recorded, as the register's retry would.
  struct Stored {
    TerminalIdentity who;
    std::string id, original;
    absl::Time at;
    Intent intent;
  };
  using Found = std::vector<Stored>;
  ASSIGN_OR_RETURN(
      Found found, pg::ReadEach<Found>(db_, [&](Tx& tx) -> absl::StatusOr<Found> {
        Found out;
        for (const auto& r :
             tx.exec_params("SELECT terminal_id, location, transaction_id, "
                            "original_transaction_id, "
                            "(extract(epoch FROM occurred_at) * 1000000)::bigint, kind, "
                            "encode(receipt, 'hex'), encode(ledger_request, 'hex') "
                            "FROM transactions WHERE NOT applied AND recorded_at < $1 "
                            "ORDER BY recorded_at LIMIT 100",
                            pg::SqlTime(clock_.Now() - absl::Seconds(30)))) {
          Stored st;
          st.who = {r[0].as<std::string>(), r[1].as<std::string>()};
          st.id = r[2].as<std::string>();
          st.original = r[3].as<std::string>();
          st.at = absl::FromUnixMicros(r[4].as<int64_t>());
          st.intent.check_oversold = r[5].as<int>() == kSale;
          if (!st.intent.receipt.ParseFromString(absl::HexStringToBytes(r[6].as<std::string>())) ||
              !st.intent.moves.ParseFromString(absl::HexStringToBytes(r[7].as<std::string>()))) {
            return absl::InternalError("a stored intent is unreadable");
          }
          out.push_back(std::move(st));
        }
        return out;
      }));
  int done = 0;
  for (Stored& st : found) {
    auto applied = Apply(st.who, st.id, st.original, st.at, std::move(st.intent));
    if (!applied.ok() && !absl::IsInvalidArgument(applied.status()) &&
        !absl::IsNotFound(applied.status()) && !absl::IsFailedPrecondition(applied.status()) &&
        !absl::IsOutOfRange(applied.status()) && !absl::IsAborted(applied.status())) {
      return applied.status();  // unreachable still: the next round tries again
    }
    ++done;
  }
  return done;
}

absl::StatusOr<int> Gateway::ResumeFollowUps() {
  using Sales = std::vector<std::tuple<std::string, std::string, std::string>>;
  ASSIGN_OR_RETURN(Sales sales, pg::ReadEach<Sales>(db_, [&](Tx& tx) {
                     Sales out;
                     for (const auto& r :
                          tx.exec("SELECT location, transaction_id, encode(ledger_request, 'hex') "
                                  "FROM transactions WHERE limits_pending ORDER BY location, "
                                  "transaction_id LIMIT 100")) {
                       out.emplace_back(r[0].as<std::string>(), r[1].as<std::string>(),
                                        absl::HexStringToBytes(r[2].as<std::string>()));
                     }
                     return out;
                   }));
  int done = 0;
  // Each follow-up on its own: one that keeps failing holds up none of the others.
  auto settled = [&](const absl::Status& status, const char* what, const std::string& which) {
    if (status.ok()) return;
    log::Warn("a sale's follow-up not done yet",
              {{"what", what}, {"which", which}, {"error", std::string(status.message())}});
  };
  for (const auto& [location, id, bytes] : sales) {
    ledger_v1::ApplyMovementsRequest moves;
    absl::Status counted = moves.ParseFromString(bytes)
                               ? CountLimited(location, id, moves)
                               : absl::InternalError("a stored sale is unreadable");
    if (counted.ok()) ++done;
    settled(counted, "limited items counted", absl::StrCat(location, "/", id));
  }
  auto held = ResumeHeldOrders();
  if (held.ok()) done += *held;
  settled(held.status(), "held orders moved", "");
  auto intents = ResumeIntents();
  if (intents.ok()) done += *intents;
  settled(intents.status(), "intents finished", "");
  return done;
}

absl::StatusOr<int> Gateway::ResumeHeldOrders() {
  using Pending = std::vector<std::tuple<int64_t, std::string, std::vector<std::string>>>;
  ASSIGN_OR_RETURN(Pending pending, pg::ReadEach<Pending>(db_, [&](Tx& tx) {
                     Pending out;
                     for (const auto& r : tx.exec_params(
                              "SELECT incident_id, location, array_to_string(held_skus, ',') "
                              "FROM oversold_incidents WHERE NOT resourced ORDER BY incident_id "
                              "LIMIT 100")) {
                       out.emplace_back(r[0].as<int64_t>(), r[1].as<std::string>(),
                                        absl::StrSplit(r[2].as<std::string>(), ','));
                     }
                     return out;
                   }));
  int done = 0;
  for (const auto& [incident, location, skus] : pending) {
    if (absl::Status moved = MoveHeldOrders(incident, location, skus).status(); !moved.ok()) {
      log::Warn("held orders not moved yet",
                {{"incident", std::to_string(incident)}, {"error", std::string(moved.message())}});
      continue;
    }
    ++done;
  }
  return done;
}

// The cheap check first, before any lookup: one line at least, and at most kMaxLines (a return's
// line makes up to two ledger movements, and the ledger takes 1,000 a request).
static absl::Status CheckLineCount(int lines, const char* what) {
  constexpr int kMaxLines = 500;
  if (lines == 0) return InvalidArgument("lines", absl::StrCat(what, " needs at least one line"));
  if (lines > kMaxLines) {
    return InvalidArgument("lines", absl::StrCat(what, " has at most ", kMaxLines, " lines"));
  }
  return absl::OkStatus();
}

// What every sale and return needs before it is recorded: a valid id and the register's time
// (required, so that a retry sends the ledger the very same request), the store's settings.
absl::StatusOr<Gateway::Context> Gateway::Prepare(const TerminalIdentity& who,
                                                  const std::string& id, bool has_time,
                                                  const google::protobuf::Timestamp& time) {
  RETURN_IF_ERROR(ValidateCode("transaction_id", id));
  if (!has_time) {
    return InvalidArgument("occurred_at", "the register's time of the transaction is required");
  }
  RETURN_IF_ERROR(ValidateTimestamp("occurred_at", time));
  Context out;
  out.at = FromProto(time);
  ASSIGN_OR_RETURN(out.settings, registers_.Settings(who.location));
  if (!absl::LoadTimeZone(out.settings.time_zone(), &out.zone)) out.zone = absl::UTCTimeZone();
  return out;
}

absl::StatusOr<ledger_v1::Item> Gateway::Item(const std::string& sku) {
  RETURN_IF_ERROR(ValidateSku("lines.sku", sku));
  return items_.Get(sku, [&]() -> absl::StatusOr<ledger_v1::Item> {
    ledger_v1::GetItemRequest get;
    get.set_sku(sku);
    ASSIGN_OR_RETURN(auto got,
                     clients_.Call(*clients_.catalog, &CatalogService::Stub::GetItem, get));
    return got.item();
  });
}

absl::StatusOr<Gateway::Recorded> Gateway::RecordSale(const TerminalIdentity& who,
                                                      const v1::SaleRequest& request,
                                                      bool from_journal) {
  RETURN_IF_ERROR(CheckLineCount(request.lines_size(), "a sale"));
  ASSIGN_OR_RETURN(Context ctx, Prepare(who, request.transaction_id(), request.has_occurred_at(),
                                        request.occurred_at()));
  // Everything read from other services comes before the transaction.
  std::vector<SaleItem> items;
  std::vector<std::string> skus;
  ledger_v1::ApplyMovementsRequest moves;
  moves.set_request_id(absl::StrCat("pos-", who.terminal_id, "-", request.transaction_id()));
  for (const auto& line : request.lines()) {
    ASSIGN_OR_RETURN(ledger_v1::Item item, Item(line.sku()));
    if (!from_journal) {
      // A limited item sells in its window (at the register's time, so a retry decides alike);
      // a journaled sale happened and is recorded whatever the window.
      ASSIGN_OR_RETURN(auto limited, Limited(line.sku()));
      if (limited && (ctx.at < FromProto(limited->window_start()) ||
                      ctx.at >= FromProto(limited->window_end()))) {
        return MakeError(absl::StatusCode::kFailedPrecondition, "SALE_WINDOW_CLOSED",
                         absl::StrCat(line.sku(), " is a limited item outside its sale window"));
      }
    }
    const auto& d = line.discount();
    if (d.amount_yen() != 0 && d.percent() != 0) {
      return InvalidArgument("lines.discount", "a discount is an amount or a percent, not both");
    }
    LineDiscount discount;
    if (d.amount_yen() != 0) discount = {LineDiscount::Kind::kAmount, d.amount_yen()};
    if (d.percent() != 0) discount = {LineDiscount::Kind::kPercent, d.percent()};
    items.push_back(
        {item.name(),
         {line.unit_price_yen(), line.quantity(), TaxClassOf(item.tax_class()), discount}});
    skus.push_back(line.sku());
    auto* m = moves.add_movements();
    m->set_kind(ledger_v1::MOVEMENT_KIND_STORE_SALE);
    m->set_sku(line.sku());
    m->set_location(who.location);
    m->set_quantity(line.quantity());
    *m->mutable_occurred_at() = kura::ToProto(ctx.at);
    m->set_source_ref(absl::StrCat("register ", who.terminal_id, " ", request.transaction_id()));
  }
  std::vector<pos::Tender> tenders;
  for (const auto& t : request.tenders()) {
    ASSIGN_OR_RETURN(pos::TenderKind kind, TenderKindOf(t.kind()));
    tenders.push_back({kind, t.amount_yen()});
  }
  ASSIGN_OR_RETURN(pos::Receipt receipt,
                   MakeReceipt(Header(ctx, who, request.transaction_id(), false), items, tenders));
  const std::string digest = rpc::RequestDigest(DeterministicBytes(request));
  return Once(who, request.transaction_id(), kSale, digest, "", ctx.at, from_journal,
              [&](Tx&) -> absl::StatusOr<Intent> {
                return Intent{ToProto(receipt, skus, ctx.at, ""), moves, true};
              });
}

absl::StatusOr<Gateway::Recorded> Gateway::RecordReturn(const TerminalIdentity& who,
                                                        const v1::ReturnRequest& request,
                                                        bool from_journal) {
  RETURN_IF_ERROR(CheckLineCount(request.lines_size(), "a return"));
  ASSIGN_OR_RETURN(Context ctx, Prepare(who, request.transaction_id(), request.has_occurred_at(),
                                        request.occurred_at()));
  const std::string& original = request.original_transaction_id();
  if (!original.empty()) RETURN_IF_ERROR(ValidateCode("original_transaction_id", original));
  if (original.empty() && !ctx.settings.returns_without_receipt()) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, "RETURN_NEEDS_RECEIPT",
        absl::StrCat("store ", who.location, " takes returns only against an original sale"));
  }
  ASSIGN_OR_RETURN(pos::TenderKind refund_kind,
                   TenderKindOf(request.refund_tender() == v1::TENDER_KIND_UNSPECIFIED
                                    ? v1::TENDER_KIND_CASH
                                    : request.refund_tender()));
  std::map<std::string, ledger_v1::Item> items;
  for (const auto& line : request.lines()) {
    RETURN_IF_ERROR(ValidateQuantity("lines.quantity", line.quantity()));
    ASSIGN_OR_RETURN(items[line.sku()], Item(line.sku()));
  }
  const std::string digest = rpc::RequestDigest(DeterministicBytes(request));
  return Once(
      who, request.transaction_id(), kReturn, digest, original, ctx.at, from_journal,
      [&](Tx& tx) -> absl::StatusOr<Intent> {
        // What the original sale sold of each item: units, yen paid and tax rate.
        struct Sold {
          int64_t quantity = 0, paid = 0;
          bool reduced = false;
        };
        std::map<std::string, Sold> sold;
        if (!original.empty()) {
          auto rows = tx.exec_params(
              "SELECT encode(receipt, 'hex') FROM transactions WHERE location = $1 AND "
              "transaction_id = $2 AND kind = $3 AND applied",
              who.location, original, kSale);
          if (rows.empty()) {
            return MakeError(absl::StatusCode::kNotFound, "SALE_NOT_FOUND",
                             absl::StrCat("store ", who.location, " recorded no sale ", original));
          }
          v1::Receipt receipt;
          receipt.ParseFromString(absl::HexStringToBytes(rows[0][0].as<std::string>()));
          for (const auto& l : receipt.lines()) {
            Sold& s = sold[l.sku()];
            s.quantity += l.quantity();
            s.paid += l.amount_yen();
            s.reduced = l.reduced_rate();
          }
        }
        std::vector<SaleItem> lines;
        std::vector<std::string> skus;
        ledger_v1::ApplyMovementsRequest moves;
        moves.set_request_id(absl::StrCat("pos-", who.terminal_id, "-", request.transaction_id()));
        for (const auto& line : request.lines()) {
          const ledger_v1::Item& item = items[line.sku()];
          TaxLine tax_line{
              line.unit_price_yen(), line.quantity(), TaxClassOf(item.tax_class()), {}};
          if (!original.empty()) {
            // Locked: returns of one sale from several registers take turns.
            const int64_t returned =
                tx.exec_params1(
                      "INSERT INTO returned_units VALUES ($1, $2, $3, 0) ON CONFLICT (location, "
                      "sale_transaction_id, sku) DO UPDATE SET quantity = "
                      "returned_units.quantity RETURNING quantity",
                      who.location, original, line.sku())[0]
                    .as<int64_t>();
            auto it = sold.find(line.sku());
            const Sold s = it == sold.end() ? Sold{} : it->second;
            if (returned + line.quantity() > s.quantity) {
              return MakeError(absl::StatusCode::kFailedPrecondition, "RETURN_EXCEEDS_SALE",
                               absl::StrCat("sale ", original, " sold ", s.quantity, " of ",
                                            line.sku(), "; ", returned, " already returned"));
            }
            // The yen paid for these units (discounts included), at the sale's tax rate.
            ASSIGN_OR_RETURN(int64_t refund,
                             RefundOf(s.paid, s.quantity, returned, line.quantity()));
            tax_line = RefundLine(refund, line.quantity(),
                                  s.reduced ? TaxClass::kReduced : TaxClass::kStandard);
            tx.exec_params(
                "UPDATE returned_units SET quantity = quantity + $4 WHERE location = $1 AND "
                "sale_transaction_id = $2 AND sku = $3",
                who.location, original, line.sku(), line.quantity());
          }
          lines.push_back({item.name(), tax_line});
          skus.push_back(line.sku());
          auto add = [&](ledger_v1::MovementKind kind) {
            auto* m = moves.add_movements();
            m->set_kind(kind);
            m->set_sku(line.sku());
            m->set_location(who.location);
            m->set_quantity(line.quantity());
            *m->mutable_occurred_at() = kura::ToProto(ctx.at);
            m->set_source_ref(
                absl::StrCat("register ", who.terminal_id, " return ", request.transaction_id()));
          };
          add(ledger_v1::MOVEMENT_KIND_RETURN);  // into quality control ...
          if (line.disposition() == v1::DISPOSITION_SELLABLE) {
            add(ledger_v1::MOVEMENT_KIND_INSPECT_PASS);  // ... and back on the shelf
          } else if (line.disposition() == v1::DISPOSITION_DAMAGED) {
            add(ledger_v1::MOVEMENT_KIND_INSPECT_FAIL);  // ... or damaged
          }
        }
        std::vector<TaxLine> tax_lines;
        for (const auto& l : lines) tax_lines.push_back(l.line);
        ASSIGN_OR_RETURN(ReceiptTax tax, ComputeTax(tax_lines));
        std::vector<pos::Tender> refund;
        if (tax.total > 0) refund.push_back({refund_kind, tax.total});
        ASSIGN_OR_RETURN(
            pos::Receipt receipt,
            MakeReceipt(Header(ctx, who, request.transaction_id(), true), lines, refund));
        return Intent{ToProto(receipt, skus, ctx.at, original), moves, false};
      });
}

ReceiptHeader Gateway::Header(const Context& ctx, const TerminalIdentity& who,
                              const std::string& id, bool is_return) {
  return {ctx.settings.name(),
          ctx.settings.address(),
          ctx.settings.phone(),
          ctx.settings.invoice_number(),
          who.terminal_id,
          id,
          FormatIssuedAt(ctx.at, ctx.zone),
          is_return};
}

absl::StatusOr<v1::ListPickupsResponse> Gateway::ListPickups(const TerminalIdentity& who) {
  v1::ListPickupsResponse out;
  // Orders still to hand over: pending (not paid yet) and confirmed (ready).
  for (auto state : {reservation_v1::ORDER_STATE_CONFIRMED, reservation_v1::ORDER_STATE_PENDING}) {
    reservation_v1::ListOrdersRequest list;
    list.set_pickup_store(who.location);
    list.set_state(state);
    list.set_page_size(500);
    do {
      ASSIGN_OR_RETURN(
          auto page,
          clients_.Call(*clients_.orders, &reservation_v1::OrderService::Stub::ListOrders, list));
      for (const auto& o : page.orders()) {
        auto* p = out.add_pickups();
        p->set_channel(o.channel());
        p->set_external_order_id(o.external_order_id());
        p->set_customer(o.customer());
        for (const auto& l : o.lines()) {
          auto* line = p->add_lines();
          line->set_sku(l.sku());
          line->set_quantity(l.quantity());
        }
        p->set_ready(state == reservation_v1::ORDER_STATE_CONFIRMED);
      }
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty());
  }
  return out;
}

absl::StatusOr<v1::CompletePickupResponse> Gateway::CompletePickup(
    const TerminalIdentity& who, const v1::CompletePickupRequest& request) {
  RETURN_IF_ERROR(ValidateCode("transaction_id", request.transaction_id()));
  reservation_v1::CompletePickupRequest done;
  done.set_request_id(absl::StrCat("pos-", who.terminal_id, "-", request.transaction_id()));
  done.set_channel(request.channel());
  done.set_external_order_id(request.external_order_id());
  done.set_store(who.location);
  ASSIGN_OR_RETURN(
      auto handed,
      clients_.Call(*clients_.pickup, &reservation_v1::PickupService::Stub::CompletePickup, done));
  v1::CompletePickupResponse out;
  auto* p = out.mutable_pickup();
  p->set_channel(handed.order().channel());
  p->set_external_order_id(handed.order().external_order_id());
  p->set_customer(handed.order().customer());
  for (const auto& l : handed.order().lines()) {
    auto* line = p->add_lines();
    line->set_sku(l.sku());
    line->set_quantity(l.quantity());
  }
  p->set_ready(true);
  return out;
}

absl::StatusOr<v1::SyncJournalResponse> Gateway::SyncJournal(
    const TerminalIdentity& who, const v1::SyncJournalRequest& request) {
  if (request.entries_size() > 500) {
    return InvalidArgument("entries", "at most 500 entries per call");
  }
  for (const auto& entry : request.entries()) {
    const std::string& store = entry.has_sale() ? entry.sale().store() : entry.return_().store();
    if (!store.empty() && store != who.location) {
      return MakeError(absl::StatusCode::kPermissionDenied, "WRONG_STORE",
                       absl::StrCat("a journal entry of store ", store, " sent by terminal ",
                                    who.terminal_id, " of store ", who.location));
    }
  }
  v1::SyncJournalResponse out;
  for (const auto& entry : request.entries()) {
    absl::StatusOr<Recorded> recorded;
    std::string id;
    if (entry.has_sale()) {
      id = entry.sale().transaction_id();
      recorded = RecordSale(who, entry.sale(), true);
    } else if (entry.has_return_()) {
      id = entry.return_().transaction_id();
      recorded = RecordReturn(who, entry.return_(), true);
    } else {
      recorded = InvalidArgument("entries", "an entry is a sale or a return");
    }
    if (!recorded.ok() && !Rejected(recorded.status())) {
      // Entries apply in order: stop here; the register sends this one and the rest again.
      if (out.results().empty()) return recorded.status();
      return out;
    }
    auto* result = out.add_results();
    result->set_transaction_id(id);
    if (!recorded.ok()) {
      // It happened at the register but cannot be booked as sent: kept for an operator, never
      // dropped silently.
      result->set_error(
          absl::StrCat(ErrorReason(recorded.status()), ": ", recorded.status().message()));
      RETURN_IF_ERROR(KeepRejected(who, id, entry, recorded.status()));
      observer_.JournalEntry("rejected");
      continue;
    }
    result->set_applied(!recorded->duplicate);
    result->set_duplicate(recorded->duplicate);
    result->set_oversold(recorded->oversold);
    observer_.JournalEntry(recorded->duplicate ? "duplicate" : "applied");
    if (!recorded->duplicate) {
      if (entry.has_sale()) observer_.Sale(true);
      if (entry.has_return_()) observer_.Return(true);
      if (recorded->oversold) observer_.Oversold();
    }
  }
  return out;
}

absl::Status Gateway::KeepRejected(const TerminalIdentity& who, const std::string& id,
                                   const v1::JournalEntry& entry, const absl::Status& why) {
  log::Warn("journal entry rejected; kept for follow-up", {{"terminal", who.terminal_id},
                                                           {"transaction", id},
                                                           {"reason", ErrorReason(why)},
                                                           {"error", std::string(why.message())}});
  return db_
      .Run<bool>([&](pqxx::connection& c) -> absl::StatusOr<bool> {
        pqxx::nontransaction tx(c);
        tx.exec_params(
            "INSERT INTO journal_rejections (terminal_id, transaction_id, location, entry, "
            "reason, detail, recorded_at) VALUES ($1, $2, $3, decode($4, 'hex'), $5, $6, $7) "
            "ON CONFLICT DO NOTHING",
            who.terminal_id, id, who.location, absl::BytesToHexString(DeterministicBytes(entry)),
            ErrorReason(why), std::string(why.message()), pg::SqlTime(clock_.Now()));
        return true;
      })
      .status();
}

absl::StatusOr<v1::GetCatalogResponse> Gateway::GetCatalog(const TerminalIdentity& who,
                                                           const v1::GetCatalogRequest& request) {
  if (request.page_size() < 0 || request.page_size() > 1000) {
    return InvalidArgument("page_size", "page_size must be between 0 and 1000");
  }
  v1::GetCatalogResponse out;
  ASSIGN_OR_RETURN(*out.mutable_store(), registers_.Settings(who.location));
  ledger_v1::ListItemsRequest list;
  list.set_page_size(request.page_size() == 0 ? 500 : request.page_size());
  list.set_page_token(request.page_token());
  ASSIGN_OR_RETURN(auto page,
                   clients_.Call(*clients_.catalog, &CatalogService::Stub::ListItems, list));
  ASSIGN_OR_RETURN(
      auto limited,
      clients_.Call(*clients_.limits, &reservation_v1::LimitedItemService::Stub::ListLimitedItems,
                    reservation_v1::ListLimitedItemsRequest()));
  std::map<std::string, int64_t> markdowns;
  for (const auto& l : limited.items()) {
    if (l.current_price_yen() > 0) markdowns[l.sku()] = l.current_price_yen();
  }
  for (const auto& item : page.items()) {
    auto* c = out.add_items();
    c->set_sku(item.sku());
    c->set_name(item.name());
    *c->mutable_barcodes() = item.barcodes();
    auto markdown = markdowns.find(item.sku());
    c->set_price_yen(markdown == markdowns.end() ? item.price_yen() : markdown->second);
    c->set_tax_rate(RateOf(item.tax_class()));
  }
  out.set_next_page_token(page.next_page_token());
  return out;
}

}  // namespace kura::pos
