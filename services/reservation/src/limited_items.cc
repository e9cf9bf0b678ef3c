#include "limited_items.h"

#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/pg/transaction.h"

namespace kura::reservation {
namespace {

using Tx = pqxx::transaction_base;

constexpr int64_t kMaxUnits = 1'000'000'000;

std::string SqlTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

google::protobuf::Timestamp MicrosToProto(int64_t micros) {
  google::protobuf::Timestamp t;
  t.set_seconds(micros / 1'000'000);
  t.set_nanos(static_cast<int32_t>(micros % 1'000'000) * 1000);
  return t;
}

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

absl::StatusOr<std::set<std::string>> CountLimits(
    Tx& tx, const std::string& customer,
    const google::protobuf::RepeatedPtrField<v1::OrderLine>& lines, absl::Time now) {
  std::set<std::string> counted;
  for (const auto& line : lines) {
    // The item's row is locked for the rest of the transaction: the cap counts exactly.
    auto rows = tx.exec_params(
        "UPDATE limited_items SET reserved = reserved + $2 WHERE sku = $1 "
        "RETURNING window_start <= $3 AND $3 < window_end, "
        "total_cap = 0 OR reserved <= total_cap, per_customer_limit",
        line.sku(), line.quantity(), SqlTime(now));
    if (rows.empty()) continue;  // not a limited item
    const std::map<std::string, std::string> about = {{"sku", line.sku()}};
    if (!rows[0][0].as<bool>()) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "SALE_WINDOW_CLOSED",
                       absl::StrCat(line.sku(), " is not on sale now"), about);
    }
    const int64_t limit = rows[0][2].as<int64_t>();
    if (limit > 0 && customer.empty()) {
      return InvalidArgument(
          "customer", absl::StrCat(line.sku(), " is limited per customer: a customer is required"));
    }
    if (!rows[0][1].as<bool>()) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "TOTAL_CAP_REACHED",
                       absl::StrCat("the total cap of ", line.sku(), " is reached"), about);
    }
    if (limit > 0) {
      // One row per (item, customer), locked: two orders of one customer take turns here.
      auto usage = tx.exec_params(
          "INSERT INTO customer_usage (sku, customer, quantity) VALUES ($1, $2, $3) "
          "ON CONFLICT (sku, customer) DO UPDATE SET quantity = customer_usage.quantity + $3 "
          "RETURNING quantity",
          line.sku(), customer, line.quantity());
      if (usage[0][0].as<int64_t>() > limit) {
        return MakeError(absl::StatusCode::kFailedPrecondition, "PER_CUSTOMER_LIMIT",
                         absl::StrCat(line.sku(), " is limited to ", limit, " per customer"),
                         {{"sku", line.sku()}, {"limit", std::to_string(limit)}});
      }
    }
    counted.insert(line.sku());
  }
  return counted;
}

void ReleaseLimits(Tx& tx, int64_t order_id) {
  // The counted lines' units not handed over, per SKU, given back to the item and the customer.
  tx.exec_params(
      "WITH back AS (SELECT l.sku, o.customer, sum(a.quantity - a.fulfilled) AS units "
      "  FROM order_lines l JOIN orders o USING (order_id) "
      "  JOIN allocations a ON a.order_id = l.order_id AND a.sku = l.sku "
      "  WHERE l.order_id = $1 AND l.counted GROUP BY l.sku, o.customer), "
      "items AS (UPDATE limited_items i SET reserved = greatest(i.reserved - back.units, 0) "
      "  FROM back WHERE i.sku = back.sku) "
      "UPDATE customer_usage u SET quantity = greatest(u.quantity - back.units, 0) "
      "FROM back WHERE u.sku = back.sku AND u.customer = back.customer",
      order_id);
  tx.exec_params("UPDATE order_lines SET counted = false WHERE order_id = $1", order_id);
}

}  // namespace kura::reservation
