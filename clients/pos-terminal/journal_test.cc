#include "journal.h"

#include <catch2/catch.hpp>

#include "catalog.h"
#include "kura/base/error.h"
#include "receipts.h"
#include "sqlite.h"
#include "test_support.h"

namespace kura::pos_terminal {
namespace {

std::unique_ptr<Journal> OpenJournal(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Journal>> journal = Journal::Open(path);
  INFO(journal.status().ToString());
  REQUIRE(journal.ok());
  return *std::move(journal);
}

v1::JournalEntry SaleEntry(const std::string& id, int64_t seconds) {
  v1::JournalEntry entry;
  v1::SaleRequest& sale = *entry.mutable_sale();
  sale.set_transaction_id(id);
  sale.mutable_occurred_at()->set_seconds(seconds);
  v1::SaleLine& line = *sale.add_lines();
  line.set_sku("SKU-1");
  line.set_quantity(1);
  line.set_unit_price_yen(150);
  return entry;
}

std::vector<std::string> PendingIds(Journal& journal, int limit = 100) {
  absl::StatusOr<std::vector<JournalRecord>> pending = journal.Pending(limit);
  REQUIRE(pending.ok());
  std::vector<std::string> ids;
  for (const JournalRecord& r : *pending) ids.push_back(r.transaction_id);
  return ids;
}

TEST_CASE("transaction ids count up and never repeat, across reopening or a lost database") {
  testing::TempDir dir;
  const std::string path = dir.File("kura-pos.db");
  std::string first;
  {
    auto journal = OpenJournal(path);
    first = *journal->NextTransactionId("reg-1");
    REQUIRE(first.size() == std::string("reg-1-0123abcd-1").size());
    CHECK(first.substr(first.size() - 2) == "-1");
    const std::string series = first.substr(0, first.size() - 1);  // "reg-1-<series>-"
    CHECK(*journal->NextTransactionId("reg-1") == series + "2");
  }
  auto journal = OpenJournal(path);
  CHECK(*journal->NextTransactionId("reg-1") == first.substr(0, first.size() - 1) + "3");
  // A new database (the data directory lost): another series, never the same ids.
  auto other = OpenJournal(dir.File("other.db"));
  CHECK(*other->NextTransactionId("reg-1") != first);
}

TEST_CASE("entries are pending in the order written until synced or refused") {
  testing::TempDir dir;
  auto journal = OpenJournal(dir.File("kura-pos.db"));
  REQUIRE(journal->Append(SaleEntry("t-1", 100)).ok());
  v1::JournalEntry ret;
  ret.mutable_return_()->set_transaction_id("t-2");
  ret.mutable_return_()->set_original_transaction_id("t-1");
  ret.mutable_return_()->mutable_occurred_at()->set_seconds(101);
  REQUIRE(journal->Append(ret).ok());
  REQUIRE(journal->Append(SaleEntry("t-3", 50)).ok());  // an earlier clock does not reorder

  CHECK(PendingIds(*journal) == std::vector<std::string>{"t-1", "t-2", "t-3"});
  CHECK(PendingIds(*journal, 2) == std::vector<std::string>{"t-1", "t-2"});

  // The entry comes back as written, with its time.
  absl::StatusOr<std::vector<JournalRecord>> first = journal->Pending(1);
  REQUIRE(first.ok());
  CHECK(first->front().entry.sale().occurred_at().seconds() == 100);
  CHECK(first->front().entry.sale().lines(0).unit_price_yen() == 150);
  CHECK(TransactionIdOf(ret) == "t-2");

  // The same transaction twice is refused: a sale exists once.
  CHECK(journal->Append(SaleEntry("t-1", 100)).code() == absl::StatusCode::kAlreadyExists);
  CHECK(journal->Append(v1::JournalEntry()).code() == absl::StatusCode::kInvalidArgument);
  // The gateway takes no sale or return without the time it happened.
  v1::JournalEntry timeless = SaleEntry("t-8", 1);
  timeless.mutable_sale()->clear_occurred_at();
  CHECK(journal->Append(timeless).code() == absl::StatusCode::kInvalidArgument);

  REQUIRE(journal->MarkSynced("t-1", true).ok());
  REQUIRE(journal->MarkRefused("t-2", "unknown sku").ok());
  CHECK(PendingIds(*journal) == std::vector<std::string>{"t-3"});
  // A settled entry stays settled.
  REQUIRE(journal->MarkRefused("t-1", "late").ok());
  absl::StatusOr<std::optional<JournalRecord>> t1 = journal->Find("t-1");
  REQUIRE((t1.ok() && t1->has_value()));
  CHECK((*t1)->state == EntryState::kSynced);
  CHECK((*t1)->oversold);
  absl::StatusOr<std::optional<JournalRecord>> t2 = journal->Find("t-2");
  CHECK((*t2)->state == EntryState::kRefused);
  CHECK((*t2)->error == "unknown sku");
  CHECK_FALSE(journal->Find("t-9")->has_value());
  CHECK((*journal->Newest())->transaction_id == "t-3");

  absl::StatusOr<JournalCounts> counts = journal->Counts();
  REQUIRE(counts.ok());
  CHECK(counts->pending == 1);
  CHECK(counts->synced == 1);
  CHECK(counts->refused == 1);
}

TEST_CASE("what was written survives reopening, pending stays pending") {
  testing::TempDir dir;
  const std::string path = dir.File("kura-pos.db");
  {
    auto journal = OpenJournal(path);
    REQUIRE(journal->Append(SaleEntry("t-1", 1)).ok());
    REQUIRE(journal->Append(SaleEntry("t-2", 2)).ok());
    REQUIRE(journal->MarkSynced("t-1", false).ok());
  }
  auto journal = OpenJournal(path);
  CHECK(PendingIds(*journal) == std::vector<std::string>{"t-2"});
}

TEST_CASE("the catalog is replaced as a whole and found by barcode, UPC-A too") {
  testing::TempDir dir;
  const std::string path = dir.File("kura-pos.db");
  // The journal and the catalog share the file, each with its own connection.
  auto journal = OpenJournal(path);
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(path);
  REQUIRE(catalog.ok());
  CHECK_FALSE((*catalog)->settings().has_value());

  std::vector<v1::CatalogItem> items(2);
  items[0].set_sku("TEA");
  items[0].set_name("お茶");
  items[0].set_price_yen(150);
  items[0].set_tax_rate(v1::TAX_RATE_REDUCED);
  items[0].add_barcodes("4901234567894");
  items[1].set_sku("PEN");
  items[1].set_name("ボールペン");
  items[1].set_price_yen(110);
  items[1].add_barcodes("036000291452");  // UPC-A
  v1::StoreSettings settings;
  settings.set_name("渋谷店");
  settings.set_invoice_number("T1234567890123");
  REQUIRE((*catalog)->Replace(items, settings, absl::FromUnixSeconds(1000)).ok());

  auto tea = (*catalog)->FindByBarcode("4901234567894");
  REQUIRE((tea.ok() && tea->has_value()));
  CHECK((*tea)->sku == "TEA");
  CHECK((*tea)->price_yen == 150);
  CHECK((*tea)->tax_rate == v1::TAX_RATE_REDUCED);
  // A scan of the UPC-A is looked up by its EAN-13 form.
  auto pen = (*catalog)->FindByBarcode("0036000291452");
  REQUIRE((pen.ok() && pen->has_value()));
  CHECK((*pen)->sku == "PEN");
  CHECK((*(*catalog)->FindBySku("PEN"))->name == "ボールペン");

  REQUIRE((*catalog)->Replace({items[1]}, settings, absl::FromUnixSeconds(2000)).ok());
  CHECK_FALSE((*catalog)->FindByBarcode("4901234567894")->has_value());
  absl::StatusOr<CatalogInfo> info = (*catalog)->Info();
  CHECK(info->items == 1);
  CHECK(info->synced_at == absl::FromUnixSeconds(2000));

  // The settings come back after a restart, for printing offline.
  catalog = Catalog::Open(path);
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->settings().has_value());
  CHECK((*catalog)->settings()->name() == "渋谷店");
}

TEST_CASE("the printed flag survives reopening; unprinted entries come back, refused ones not") {
  testing::TempDir dir;
  const std::string path = dir.File("kura-pos.db");
  {
    auto journal = OpenJournal(path);
    for (const char* id : {"t-1", "t-2", "t-3", "t-4"}) {
      REQUIRE(journal->Append(SaleEntry(id, 1)).ok());
    }
    REQUIRE(journal->MarkPrinted("t-1").ok());
    REQUIRE(journal->MarkSynced("t-3", false).ok());       // synced, receipt never printed
    REQUIRE(journal->MarkRefused("t-4", "bad sku").ok());  // never happened: nothing to print
    CHECK_FALSE((*journal->Find("t-2"))->printed);
  }
  // Killed here: after a restart the same entries are still unprinted, oldest first.
  auto journal = OpenJournal(path);
  absl::StatusOr<std::vector<JournalRecord>> unprinted = journal->Unprinted(-1);
  REQUIRE(unprinted.ok());
  std::vector<std::string> ids;
  for (const JournalRecord& r : *unprinted) ids.push_back(r.transaction_id);
  CHECK(ids == std::vector<std::string>{"t-2", "t-3"});
  CHECK((*journal->Find("t-1"))->printed);
  REQUIRE(journal->MarkPrinted("t-2").ok());
  REQUIRE(journal->MarkPrinted("t-3").ok());
  CHECK(journal->Unprinted(-1)->empty());
  journal = OpenJournal(path);
  CHECK(journal->Unprinted(-1)->empty());
}

TEST_CASE("labels are kept with an entry, and the returns of a sale are found") {
  testing::TempDir dir;
  auto journal = OpenJournal(dir.File("kura-pos.db"));
  v1::JournalEntry sale = SaleEntry("t-1", 1);
  const LineLabels labels = {{.name = "お茶", .tax_class = pos::TaxClass::kReduced, .refund = {}}};
  REQUIRE(journal->Append(sale, LabelsToProto(sale, labels)).ok());
  std::optional<LineLabels> kept = LabelsFromProto(sale, (*journal->Find("t-1"))->labels);
  REQUIRE(kept.has_value());
  CHECK((*kept)[0].name == "お茶");
  CHECK((*kept)[0].tax_class == pos::TaxClass::kReduced);

  auto add_return = [&](const std::string& id, const std::string& original) {
    v1::JournalEntry ret;
    ret.mutable_return_()->set_transaction_id(id);
    ret.mutable_return_()->set_original_transaction_id(original);
    ret.mutable_return_()->mutable_occurred_at()->set_seconds(2);
    v1::ReturnLine& line = *ret.mutable_return_()->add_lines();
    line.set_sku("SKU-1");
    line.set_quantity(1);
    REQUIRE(journal->Append(ret).ok());
  };
  add_return("r-1", "t-1");
  add_return("r-2", "other-9");
  add_return("r-3", "t-1");
  std::vector<std::string> ids;
  absl::StatusOr<std::vector<JournalRecord>> returns = journal->ReturnsOf("t-1");
  REQUIRE(returns.ok());
  for (const JournalRecord& r : *returns) ids.push_back(r.transaction_id);
  CHECK(ids == std::vector<std::string>{"r-1", "r-3"});
  CHECK(journal->ReturnsOf("")->empty());
  // Labels of a return only once its refunds are known.
  v1::JournalEntry ret = (*journal->Find("r-1"))->entry;
  CHECK(LabelsToProto(ret, {{.name = "x", .tax_class = {}, .refund = {}}}).lines().empty());
  CHECK(LabelsToProto(ret, {{.name = "x", .tax_class = {}, .refund = 33}}).lines(0).amount_yen() ==
        33);
  REQUIRE(journal->SetLabels("r-1", LabelsToProto(ret, {{.name = "x", .refund = 33}})).ok());
  CHECK((*LabelsFromProto(ret, (*journal->Find("r-1"))->labels))[0].refund == 33);
}

TEST_CASE("the gateway's refusal of the terminal is kept across reopening until it is lifted") {
  testing::TempDir dir;
  const std::string path = dir.File("kura-pos.db");
  {
    auto journal = OpenJournal(path);
    CHECK_FALSE(journal->Refusal()->has_value());
    REQUIRE(journal
                ->SetRefusal(MakeError(absl::StatusCode::kUnauthenticated, "TOKEN_INVALID",
                                       "unknown or revoked token"))
                .ok());
  }
  auto journal = OpenJournal(path);
  absl::StatusOr<std::optional<absl::Status>> refusal = journal->Refusal();
  REQUIRE(refusal.ok());
  REQUIRE(refusal->has_value());
  CHECK((*refusal)->code() == absl::StatusCode::kUnauthenticated);
  CHECK(ErrorReason(**refusal) == "TOKEN_INVALID");
  CHECK((*refusal)->message() == "unknown or revoked token");
  REQUIRE(journal->SetRefusal(absl::OkStatus()).ok());
  CHECK_FALSE(OpenJournal(path)->Refusal()->has_value());
}

TEST_CASE("a journal written before the printed flag opens with its entries printed") {
  testing::TempDir dir;
  const std::string path = dir.File("kura-pos.db");
  {
    // The first released schema.
    auto db = SqliteDb::Open(path);
    REQUIRE(db.ok());
    REQUIRE((*db)
                ->Exec("CREATE TABLE journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                       "transaction_id TEXT NOT NULL UNIQUE, entry BLOB NOT NULL, state INTEGER "
                       "NOT NULL, oversold INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL "
                       "DEFAULT '')")
                .ok());
    v1::JournalEntry ret;
    ret.mutable_return_()->set_transaction_id("r-1");
    ret.mutable_return_()->set_original_transaction_id("t-1");
    auto insert = SqliteStatement::Prepare(
        **db, "INSERT INTO journal (transaction_id, entry, state) VALUES (?1, ?2, 0)");
    REQUIRE(insert.ok());
    insert->Bind(1, "t-1").BindBlob(2, SaleEntry("t-1", 1).SerializeAsString());
    REQUIRE(insert->Run().ok());
    insert->Reset();
    insert->Bind(1, "r-1").BindBlob(2, ret.SerializeAsString());
    REQUIRE(insert->Run().ok());
  }
  auto journal = OpenJournal(path);
  CHECK(journal->Unprinted(-1)->empty());  // an upgrade reprints nothing
  CHECK(PendingIds(*journal) == std::vector<std::string>{"t-1", "r-1"});
  REQUIRE(journal->ReturnsOf("t-1")->size() == 1);
  REQUIRE(journal->Append(SaleEntry("t-2", 3)).ok());
  CHECK(journal->Unprinted(-1)->size() == 1);
}

TEST_CASE("a discount is an amount or a percent, never both, on the wire and on the receipt") {
  CHECK(DiscountToProto({pos::LineDiscount::Kind::kPercent, 10}).percent() == 10);
  CHECK(DiscountToProto({pos::LineDiscount::Kind::kPercent, 10}).amount_yen() == 0);
  CHECK(DiscountToProto({pos::LineDiscount::Kind::kAmount, 50}).percent() == 0);
  CHECK(DiscountToProto({pos::LineDiscount::Kind::kAmount, 50}).amount_yen() == 50);
  v1::SaleLine line;
  line.set_sku("SKU-1");
  line.mutable_discount()->set_percent(10);
  CHECK(DiscountFromProto(line)->kind == pos::LineDiscount::Kind::kPercent);
  line.mutable_discount()->set_amount_yen(50);
  CHECK(DiscountFromProto(line).status().code() == absl::StatusCode::kInvalidArgument);

  v1::StoreSettings settings;
  settings.set_name("渋谷店");
  v1::JournalEntry sale = SaleEntry("t-1", 1);
  *sale.mutable_sale()->mutable_lines(0)->mutable_discount() = line.discount();
  CHECK_FALSE(LocalReceipt(sale, {{.name = "x"}}, settings, "reg-1").ok());
}

TEST_CASE("a local return receipt refunds the refund at the original line's rate") {
  v1::StoreSettings settings;
  settings.set_name("渋谷店");
  settings.set_invoice_number("T1234567890123");
  v1::JournalEntry ret;
  ret.mutable_return_()->set_transaction_id("r-1");
  ret.mutable_return_()->mutable_occurred_at()->set_seconds(1);
  v1::ReturnLine& line = *ret.mutable_return_()->add_lines();
  line.set_sku("TEA");
  line.set_quantity(2);
  absl::StatusOr<pos::Receipt> receipt = LocalReceipt(
      ret, {{.name = "お茶", .tax_class = pos::TaxClass::kReduced, .refund = 67}}, settings, "r");
  INFO(receipt.status().ToString());
  REQUIRE(receipt.ok());
  CHECK(receipt->total == 67);
  REQUIRE(receipt->rates.size() == 1);
  CHECK(receipt->rates[0].tax_class == pos::TaxClass::kReduced);
  CHECK(receipt->rates[0].tax == 4);  // 67 × 8 / 108, floored
  REQUIRE(receipt->tenders.size() == 1);
  CHECK(receipt->tenders[0].amount == 67);
  // Another register's sale: the refund is the gateway's to say.
  CHECK(LocalReceipt(ret, {{.name = "お茶"}}, settings, "r").status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kura::pos_terminal
