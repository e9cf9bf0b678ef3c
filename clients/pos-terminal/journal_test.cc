#include "journal.h"

#include <catch2/catch.hpp>

#include "catalog.h"
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

}  // namespace
}  // namespace kura::pos_terminal
