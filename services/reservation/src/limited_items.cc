#include "limited_items.h"

#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/pg/database.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"
#include "order_queries.h"

namespace kura::reservation {
namespace {

using Tx = pqxx::transaction_base;

constexpr int64_t kMaxUnits = 1'000'000'000;

using pg::SqlTime;

const char kSelect[] =
    "SELECT sku, (extract(epoch FROM window_start) * 1000000)::bigint, "
    "(extract(epoch FROM window_end) * 1000000)::bigint, total_cap, per_customer_limit, "
    "encode(markdowns, 'hex'), reserved FROM limited_items";

v1::LimitedItem FromRow(const pqxx::row& r, absl::Time now) {
  v1::LimitedItem item;
  item.ParseFromString(absl::HexStringToBytes(r[5].as<std::string>()));  // the markdowns
  item.set_sku(r[0].as<std::string>());
  *item.mutable_window_start() = MicrosToProto(r[1].as<int64_t>());
  *item.mutable_window_end() = MicrosToProto(r[2].as<int64_t>());
  item.set_total_cap(r[3].as<int64_t>());
  item.set_per_customer_limit(r[4].as<int64_t>());
  item.set_reserved(r[6].as<int64_t>());
  item.set_window_open(FromProto(item.window_start()) <= now && now < FromProto(item.window_end()));
  for (const auto& step : item.markdowns()) {
    if (FromProto(step.starts_at()) <= now) item.set_current_price_yen(step.price_yen());
  }
  return item;
}

absl::Status Validate(const v1::LimitedItem& item) {
  RETURN_IF_ERROR(ValidateSku("item.sku", item.sku()));
  if (!item.has_window_start() || !item.has_window_end()) {
    return InvalidArgument("item.window_start", "window_start and window_end are required");
  }
  RETURN_IF_ERROR(ValidateTimestamp("item.window_start", item.window_start()));
  RETURN_IF_ERROR(ValidateTimestamp("item.window_end", item.window_end()));
  if (FromProto(item.window_end()) <= FromProto(item.window_start())) {
    return InvalidArgument("item.window_end", "window_end must be after window_start");
  }
  if (item.total_cap() < 0 || item.total_cap() > kMaxUnits) {
    return InvalidArgument("item.total_cap", "total_cap must be between 0 and 1,000,000,000");
  }
  if (item.per_customer_limit() < 0 || item.per_customer_limit() > kMaxUnits) {
    return InvalidArgument("item.per_customer_limit",
                           "per_customer_limit must be between 0 and 1,000,000,000");
  }
  for (int i = 0; i < item.markdowns_size(); ++i) {
    const auto& step = item.markdowns(i);
    std::string at = absl::StrCat("item.markdowns[", i, "]");
    RETURN_IF_ERROR(ValidateTimestamp(at + ".starts_at", step.starts_at()));
    if (step.price_yen() <= 0) return InvalidArgument(at + ".price_yen", "price must be positive");
    if (i > 0 && FromProto(step.starts_at()) <= FromProto(item.markdowns(i - 1).starts_at())) {
      return InvalidArgument(at + ".starts_at", "markdowns must be in ascending starts_at order");
    }
    if (FromProto(step.starts_at()) >= FromProto(item.window_end())) {
      return InvalidArgument(at + ".starts_at", "a markdown must start before the window ends");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::LimitedItem> LimitedItems::Set(const v1::SetLimitedItemRequest& request) {
  const v1::LimitedItem& item = request.item();
  RETURN_IF_ERROR(Validate(item));
  v1::LimitedItem markdowns;
  *markdowns.mutable_markdowns() = item.markdowns();
  return db_.Run<v1::LimitedItem>([&](pqxx::connection& c) {
    return pg::RunInTransaction<v1::LimitedItem>(
        c, {}, [&](Tx& tx) -> absl::StatusOr<v1::LimitedItem> {
          tx.exec_params(
              "INSERT INTO limited_items (sku, window_start, window_end, total_cap, "
              "per_customer_limit, markdowns) VALUES ($1, $2, $3, $4, $5, decode($6, 'hex')) "
              "ON CONFLICT (sku) DO UPDATE SET window_start = $2, window_end = $3, "
              "total_cap = $4, per_customer_limit = $5, markdowns = decode($6, 'hex')",
              item.sku(), SqlTime(FromProto(item.window_start())),
              SqlTime(FromProto(item.window_end())), item.total_cap(), item.per_customer_limit(),
              absl::BytesToHexString(markdowns.SerializeAsString()));
          return FromRow(tx.exec_params1(std::string(kSelect) + " WHERE sku = $1", item.sku()),
                         clock_.Now());
        });
  });
}

absl::StatusOr<v1::LimitedItem> LimitedItems::Get(const std::string& sku) {
  RETURN_IF_ERROR(ValidateSku("sku", sku));
  return db_.Run<v1::LimitedItem>([&](pqxx::connection& c) -> absl::StatusOr<v1::LimitedItem> {
    pqxx::nontransaction tx(c);
    auto rows = tx.exec_params(std::string(kSelect) + " WHERE sku = $1", sku);
    if (rows.empty()) {
      return MakeError(absl::StatusCode::kNotFound, "LIMITED_ITEM_NOT_FOUND",
                       absl::StrCat(sku, " is not a limited item"), {{"sku", sku}});
    }
    return FromRow(rows[0], clock_.Now());
  });
}

absl::StatusOr<v1::ListLimitedItemsResponse> LimitedItems::List() {
  return db_.Run<v1::ListLimitedItemsResponse>(
      [&](pqxx::connection& c) -> absl::StatusOr<v1::ListLimitedItemsResponse> {
        pqxx::nontransaction tx(c);
        v1::ListLimitedItemsResponse out;
        for (const auto& row : tx.exec(std::string(kSelect) + " ORDER BY sku")) {
          *out.add_items() = FromRow(row, clock_.Now());
        }
        return out;
      });
}

absl::StatusOr<v1::CountStoreSaleResponse> LimitedItems::CountStoreSale(
    const v1::CountStoreSaleRequest& request) {
  RETURN_IF_ERROR(ValidateRef("request_id", request.request_id()));
  if (request.request_id().empty()) return InvalidArgument("request_id", "request_id is required");
  if (request.lines().empty() || request.lines_size() > 1000) {
    return InvalidArgument("lines", "lines takes 1 to 1,000 lines");
  }
  std::map<std::string, int64_t> units;  // by sku: the lock order CountLimits keeps
  for (int i = 0; i < request.lines_size(); ++i) {
    const auto& line = request.lines(i);
    RETURN_IF_ERROR(ValidateSku(absl::StrCat("lines[", i, "].sku"), line.sku()));
    if (line.quantity() == 0 || line.quantity() > kMaxUnits || line.quantity() < -kMaxUnits) {
      return InvalidArgument(absl::StrCat("lines[", i, "].quantity"),
                             "quantity must be non-zero and at most 1,000,000,000 either way");
    }
    units[line.sku()] += line.quantity();
  }
  std::vector<std::string> skus;
  for (const auto& [sku, _] : units) skus.push_back(sku);
  return pg::Transact<v1::CountStoreSaleResponse>(
      db_, {}, [&](Tx& tx) -> absl::StatusOr<v1::CountStoreSaleResponse> {
        const bool fresh = !tx.exec_params(
                                  "INSERT INTO store_sale_counts (request_id, counted_at) "
                                  "VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
                                  request.request_id(), SqlTime(clock_.Now()))
                                .empty();
        const std::string array = pg::SqlTextArray(skus);
        if (fresh) {
          tx.exec_params(
              "SELECT 1 FROM limited_items WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE",
              array);
          for (const auto& [sku, quantity] : units) {
            tx.exec_params(
                "UPDATE limited_items SET reserved = greatest(reserved + $2, 0) WHERE sku = $1",
                sku, quantity);
          }
        }
        v1::CountStoreSaleResponse out;
        for (const auto& row : tx.exec_params(
                 std::string(kSelect) + " WHERE sku = ANY($1::text[]) ORDER BY sku", array)) {
          *out.add_items() = FromRow(row, clock_.Now());
        }
        return out;
      });
}

absl::StatusOr<std::map<std::string, int64_t>> CountLimits(
    Tx& tx, const std::string& customer,
    const google::protobuf::RepeatedPtrField<v1::OrderLine>& lines, absl::Time now) {
  std::map<std::string, int64_t> wanted;  // by sku: the lock order (ReleaseLimits keeps it too)
  for (const auto& line : lines) wanted[line.sku()] += line.quantity();
  std::vector<std::string> skus;
  for (const auto& [sku, _] : wanted) skus.push_back(sku);
  const std::string array = pg::SqlTextArray(skus);
  // The items' rows first, locked in SKU order for the rest of the transaction: the cap counts
  // exactly; then each customer row.
  auto rows = pg::Exec(tx, queries::kLockLimited, array, SqlTime(now));
  std::map<std::string, int64_t> counted;  // sku → units counted against the customer's limit
  std::map<std::string, int64_t> limits;   // sku → its per-customer limit
  for (const auto& row : rows) {
    const std::string sku = row[0].as<std::string>();
    const int64_t quantity = wanted[sku], cap = row[2].as<int64_t>(),
                  reserved = row[3].as<int64_t>(), limit = row[4].as<int64_t>();
    const std::map<std::string, std::string> about = {{"sku", sku}};
    if (!row[1].as<bool>()) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "SALE_WINDOW_CLOSED",
                       absl::StrCat(sku, " is not on sale now"), about);
    }
    if (limit > 0 && customer.empty()) {
      return InvalidArgument("customer",
                             absl::StrCat(sku, " is limited per customer: a customer is required"));
    }
    if (cap > 0 && reserved + quantity > cap) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "TOTAL_CAP_REACHED",
                       absl::StrCat("the total cap of ", sku, " is reached"), about);
    }
    tx.exec_params("UPDATE limited_items SET reserved = reserved + $2 WHERE sku = $1", sku,
                   quantity);
    counted[sku] = limit > 0 ? quantity : 0;
    limits[sku] = limit;
  }
  for (const auto& [sku, quantity] : counted) {
    if (quantity == 0) continue;
    const int64_t limit = limits[sku];
    // One row per (item, customer), locked: two orders of one customer take turns here.
    auto usage = tx.exec_params(
        "INSERT INTO customer_usage (sku, customer, quantity) VALUES ($1, $2, $3) "
        "ON CONFLICT (sku, customer) DO UPDATE SET quantity = customer_usage.quantity + $3 "
        "RETURNING quantity",
        sku, customer, quantity);
    if (usage[0][0].as<int64_t>() > limit) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "PER_CUSTOMER_LIMIT",
                       absl::StrCat(sku, " is limited to ", limit, " per customer"),
                       {{"sku", sku}, {"limit", std::to_string(limit)}});
    }
  }
  return counted;
}

void ReleaseLimits(Tx& tx, int64_t order_id) {
  // Per counted line, the units not handed over go back to the item's count and — up to what
  // was counted there — to the customer's. Item rows are locked first, in SKU order, as
  // CountLimits locks them.
  // (A pre-order that waits for stock has no allocations yet: all its units go back.)
  auto back = tx.exec_params(
      "SELECT l.sku, o.customer, l.quantity - coalesce(sum(a.fulfilled), 0), l.counted_usage "
      "FROM order_lines l JOIN orders o USING (order_id) "
      "LEFT JOIN allocations a ON a.order_id = l.order_id AND a.sku = l.sku "
      "WHERE l.order_id = $1 AND l.counted "
      "GROUP BY l.sku, o.customer, l.quantity, l.counted_usage ORDER BY l.sku",
      order_id);
  if (back.empty()) return;
  std::vector<std::string> skus;
  for (const auto& row : back) skus.push_back(row[0].as<std::string>());
  tx.exec_params("SELECT 1 FROM limited_items WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE",
                 pg::SqlTextArray(skus));
  for (const auto& row : back) {
    const int64_t units = row[2].as<int64_t>();
    tx.exec_params("UPDATE limited_items SET reserved = greatest(reserved - $2, 0) WHERE sku = $1",
                   row[0].as<std::string>(), units);
    tx.exec_params(
        "UPDATE customer_usage SET quantity = greatest(quantity - $3, 0) "
        "WHERE sku = $1 AND customer = $2",
        row[0].as<std::string>(), row[1].as<std::string>(), std::min(units, row[3].as<int64_t>()));
  }
  tx.exec_params("UPDATE order_lines SET counted = false, counted_usage = 0 WHERE order_id = $1",
                 order_id);
}

}  // namespace kura::reservation
