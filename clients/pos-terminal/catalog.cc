#include "catalog.h"

#include <utility>

#include "absl/time/clock.h"

namespace kura::pos_terminal {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS catalog_item (
  sku TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  price_yen INTEGER NOT NULL,
  tax_rate INTEGER NOT NULL  -- kura.pos.v1.TaxRate
);
CREATE TABLE IF NOT EXISTS catalog_barcode (
  barcode TEXT PRIMARY KEY,
  sku TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS catalog_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  settings BLOB NOT NULL,  -- a serialized kura.pos.v1.StoreSettings
  synced_at_us INTEGER NOT NULL
);
)sql";

constexpr char kFindByBarcode[] =
    "SELECT i.sku, i.name, i.price_yen, i.tax_rate FROM catalog_barcode b "
    "JOIN catalog_item i ON i.sku = b.sku WHERE b.barcode = ?1";
constexpr char kFindBySku[] =
    "SELECT sku, name, price_yen, tax_rate FROM catalog_item WHERE sku = ?1";
constexpr char kSelectState[] = "SELECT settings, synced_at_us FROM catalog_state WHERE id = 1";
constexpr char kCountItems[] = "SELECT count(*) FROM catalog_item";
constexpr char kClear[] = "DELETE FROM catalog_barcode; DELETE FROM catalog_item;";
constexpr char kInsertItem[] =
    "INSERT OR REPLACE INTO catalog_item (sku, name, price_yen, tax_rate) VALUES (?1, ?2, ?3, ?4)";
constexpr char kInsertBarcode[] =
    "INSERT OR IGNORE INTO catalog_barcode (barcode, sku) VALUES (?1, ?2)";
constexpr char kUpsertState[] =
    "INSERT OR REPLACE INTO catalog_state (id, settings, synced_at_us) VALUES (1, ?1, ?2)";

constexpr int kPageSize = 500;

}  // namespace

pos::InStoreLayout LayoutOf(const std::optional<v1::StoreSettings>& settings) {
  if (settings && !settings->in_store_layout().empty()) {
    absl::StatusOr<pos::InStoreLayout> layout =
        pos::ParseInStoreLayout(settings->in_store_layout());
    if (layout.ok()) return *std::move(layout);
  }
  return pos::DefaultInStoreLayout();
}

absl::StatusOr<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open(path);
  if (!db.ok()) return db.status();
  SqliteDb& handle = **db;
  if (absl::Status s = handle.Transaction([&] { return handle.Exec(kSchema); }); !s.ok()) {
    return s;
  }
  std::unique_ptr<Catalog> catalog(new Catalog(*std::move(db)));
  absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(handle, kSelectState);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (*row) {
    v1::StoreSettings settings;
    if (!settings.ParseFromString(stmt->Blob(0))) {
      return absl::DataLossError("the stored store settings are corrupt");
    }
    std::lock_guard<std::mutex> lock(catalog->mu_);
    catalog->settings_ = std::move(settings);
  }
  return catalog;
}

absl::StatusOr<std::optional<CatalogEntry>> Catalog::Find(absl::string_view sql,
                                                          absl::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(*db_, sql);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, key);
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  CatalogEntry entry;
  entry.sku = stmt->Text(0);
  entry.name = stmt->Text(1);
  entry.price_yen = stmt->Int(2);
  const int64_t rate = stmt->Int(3);
  entry.tax_rate = v1::TaxRate_IsValid(static_cast<int>(rate)) ? static_cast<v1::TaxRate>(rate)
                                                               : v1::TAX_RATE_STANDARD;
  return entry;
}

absl::StatusOr<std::optional<CatalogEntry>> Catalog::FindByBarcode(absl::string_view code) {
  return Find(kFindByBarcode, code);
}

absl::StatusOr<std::optional<CatalogEntry>> Catalog::FindBySku(absl::string_view sku) {
  return Find(kFindBySku, sku);
}

std::optional<v1::StoreSettings> Catalog::settings() const {
  std::lock_guard<std::mutex> lock(mu_);
  return settings_;
}

std::string Catalog::store() const {
  std::lock_guard<std::mutex> lock(mu_);
  return settings_ ? settings_->location() : std::string();
}

absl::StatusOr<CatalogInfo> Catalog::Info() {
  std::lock_guard<std::mutex> lock(mu_);
  CatalogInfo info;
  absl::StatusOr<SqliteStatement> count = SqliteStatement::Prepare(*db_, kCountItems);
  if (!count.ok()) return count.status();
  absl::StatusOr<bool> row = count->Step();
  if (!row.ok()) return row.status();
  info.items = *row ? count->Int(0) : 0;
  absl::StatusOr<SqliteStatement> state = SqliteStatement::Prepare(*db_, kSelectState);
  if (!state.ok()) return state.status();
  row = state->Step();
  if (!row.ok()) return row.status();
  if (*row) info.synced_at = absl::FromUnixMicros(state->Int(1));
  return info;
}

absl::Status Catalog::Replace(const std::vector<v1::CatalogItem>& items,
                              const v1::StoreSettings& settings, absl::Time synced_at) {
  const pos::InStoreLayout layout = LayoutOf(settings);
  std::string settings_bytes;
  if (!settings.SerializeToString(&settings_bytes)) {
    return absl::InternalError("cannot serialize the store settings");
  }
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status status = db_->Transaction([&]() -> absl::Status {
    if (absl::Status s = db_->Exec(kClear); !s.ok()) return s;
    absl::StatusOr<SqliteStatement> item = SqliteStatement::Prepare(*db_, kInsertItem);
    if (!item.ok()) return item.status();
    absl::StatusOr<SqliteStatement> barcode = SqliteStatement::Prepare(*db_, kInsertBarcode);
    if (!barcode.ok()) return barcode.status();
    auto add_barcode = [&](absl::string_view code, absl::string_view sku) {
      barcode->Reset();
      barcode->Bind(1, code).Bind(2, sku);
      return barcode->Run();
    };
    for (const v1::CatalogItem& it : items) {
      item->Reset();
      item->Bind(1, it.sku())
          .Bind(2, it.name())
          .Bind(3, it.price_yen())
          .Bind(4, static_cast<int64_t>(it.tax_rate()));
      if (absl::Status s = item->Run(); !s.ok()) return s;
      for (const std::string& code : it.barcodes()) {
        if (absl::Status s = add_barcode(code, it.sku()); !s.ok()) return s;
        // Also under the key a scan of it is looked up by (a UPC-A's EAN-13 form, an in-store
        // code with its value digits zeroed).
        absl::StatusOr<pos::ScannedCode> scan = pos::ParseScan(code, layout);
        if (scan.ok() && !scan->lookup_code.empty() && scan->lookup_code != code) {
          if (absl::Status s = add_barcode(scan->lookup_code, it.sku()); !s.ok()) return s;
        }
      }
    }
    absl::StatusOr<SqliteStatement> state = SqliteStatement::Prepare(*db_, kUpsertState);
    if (!state.ok()) return state.status();
    state->BindBlob(1, settings_bytes).Bind(2, absl::ToUnixMicros(synced_at));
    return state->Run();
  });
  if (status.ok()) settings_ = settings;
  return status;
}

absl::StatusOr<int64_t> Catalog::RefreshFrom(Gateway& gateway,
                                             const std::function<bool()>& cancelled) {
  std::lock_guard<std::mutex> refresh(refresh_mu_);
  std::vector<v1::CatalogItem> items;
  v1::StoreSettings settings;
  v1::GetCatalogRequest request;
  request.set_page_size(kPageSize);
  request.set_store(store());
  while (true) {
    if (cancelled()) return absl::CancelledError("the catalog refresh was cancelled");
    absl::StatusOr<v1::GetCatalogResponse> page = gateway.GetCatalog(request);
    if (!page.ok()) return page.status();
    for (v1::CatalogItem& item : *page->mutable_items()) items.push_back(std::move(item));
    if (page->has_store()) settings = page->store();
    if (page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
  }
  if (absl::Status s = Replace(items, settings, absl::Now()); !s.ok()) return s;
  return static_cast<int64_t>(items.size());
}

}  // namespace kura::pos_terminal
