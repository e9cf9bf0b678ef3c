#pragma once

// The offline catalog: items, barcodes, prices and the store's settings as last synced from the
// gateway, for selling and printing while it is unreachable.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway.h"
#include "kura/pos/barcode.h"
#include "kura/pos/v1/pos.pb.h"
#include "sqlite.h"

namespace kura::pos_terminal {

/// One item as the register sells it offline.
struct CatalogEntry {
  std::string sku;
  std::string name;
  /// Tax-inclusive price now (markdowns applied when synced).
  int64_t price_yen = 0;
  v1::TaxRate tax_rate = v1::TAX_RATE_STANDARD;
};

/// How much of a catalog there is.
struct CatalogInfo {
  int64_t items = 0;
  /// When it was last synced; nullopt: never.
  std::optional<absl::Time> synced_at;
};

/// Returns the store's in-store code layout: `settings.in_store_layout`, or the default layout
/// when it is empty, unknown (nullopt) or unparsable.
pos::InStoreLayout LayoutOf(const std::optional<v1::StoreSettings>& settings);

/// The catalog in SQLite (its own connection to the register's database). Thread-safe.
class Catalog {
 public:
  /// Opens the catalog in the database at `path`, creating its tables if needed.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Catalog>> Open(const std::string& path);

  /// Finds the item with barcode `code` (as stored, or as ParseScan's lookup key of a stored
  /// barcode), or nullopt.
  [[nodiscard]] absl::StatusOr<std::optional<CatalogEntry>> FindByBarcode(absl::string_view code)
      ABSL_LOCKS_EXCLUDED(mu_);
  /// Finds the item `sku`, or nullopt.
  [[nodiscard]] absl::StatusOr<std::optional<CatalogEntry>> FindBySku(absl::string_view sku)
      ABSL_LOCKS_EXCLUDED(mu_);
  /// Returns the store's settings as last synced, or nullopt before the first sync.
  std::optional<v1::StoreSettings> settings() const ABSL_LOCKS_EXCLUDED(mu_);
  /// Returns the store the register acts for (the synced settings' location), for the `store`
  /// field of every request; empty before the first sync (the gateway takes the terminal's own).
  std::string store() const ABSL_LOCKS_EXCLUDED(mu_);
  /// Returns the number of items and when they were synced.
  [[nodiscard]] absl::StatusOr<CatalogInfo> Info() ABSL_LOCKS_EXCLUDED(mu_);

  /// Replaces the whole catalog and the settings in one transaction.
  [[nodiscard]] absl::Status Replace(const std::vector<v1::CatalogItem>& items,
                                     const v1::StoreSettings& settings, absl::Time synced_at)
      ABSL_LOCKS_EXCLUDED(mu_);
  /// Pages through the gateway's GetCatalog (500 items a page, for store()) and Replaces the
  /// catalog with the result; when any page fails, or `cancelled` returns true before one, the
  /// catalog stays as it was (CANCELLED). One refresh runs at a time. Returns the number of items.
  [[nodiscard]] absl::StatusOr<int64_t> RefreshFrom(
      Gateway& gateway, const std::function<bool()>& cancelled = [] { return false; })
      ABSL_LOCKS_EXCLUDED(refresh_mu_, mu_);

 private:
  explicit Catalog(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::StatusOr<std::optional<CatalogEntry>> Find(absl::string_view sql, absl::string_view key)
      ABSL_LOCKS_EXCLUDED(mu_);

  std::mutex refresh_mu_;
  mutable std::mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  std::optional<v1::StoreSettings> settings_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kura::pos_terminal
