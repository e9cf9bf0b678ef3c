#include "preorders.h"

#include <pqxx/pqxx>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"
#include "order_queries.h"

namespace kura::reservation {
namespace {

using Tx = pqxx::transaction_base;
using pg::SqlTime;

// What pre-orders may take in all: the incoming units plus the overbooking share.
int64_t Room(int64_t incoming, int overbook_percent) {
  return incoming + incoming * overbook_percent / 100;
}

v1::PreorderItem ToItem(const pqxx::row& r, const IncomingLots& lots) {
  v1::PreorderItem item;
  item.set_sku(r[0].as<std::string>());
  item.set_enabled(r[1].as<bool>());
  item.set_overbook_percent(r[2].as<int>());
  item.set_preordered(r[3].as<int64_t>());
  *item.mutable_update_time() = MicrosToProto(r[4].as<int64_t>());
  item.set_incoming(TotalUnits(lots));
  item.set_available(
      std::max<int64_t>(0, Room(item.incoming(), item.overbook_percent()) - item.preordered()));
  if (auto at = ExpectedBy(lots, item.preordered() + 1)) {
    *item.mutable_expected_at() = MicrosToProto(absl::ToUnixMicros(*at));
  }
  return item;
}

const char kSelect[] =
    "SELECT sku, enabled, overbook_percent, preordered, "
    "(extract(epoch FROM update_time) * 1000000)::bigint FROM preorder_items";

absl::Status NotPreorderable(const std::string& sku) {
  return MakeError(absl::StatusCode::kFailedPrecondition, "NOT_PREORDERABLE",
                   absl::StrCat(sku, " does not take pre-orders"), {{"sku", sku}});
}

}  // namespace

absl::StatusOr<std::map<std::string, IncomingLots>> FetchIncoming(
    const LedgerClient& ledger, const std::vector<std::string>& skus,
    const std::vector<std::string>& locations, std::optional<absl::Time> deadline) {
  std::map<std::string, IncomingLots> out;
  constexpr size_t kChunk = 1000;  // the ledger's limit per call
  for (size_t from = 0; from < skus.size(); from += kChunk) {
    ledger_v1::ListIncomingRequest request;
    for (size_t i = from; i < std::min(skus.size(), from + kChunk); ++i) {
      request.add_skus(skus[i]);
      out[skus[i]];
    }
    for (const auto& location : locations) request.add_locations(location);
    ASSIGN_OR_RETURN(auto response,
                     ledger.Call(ledger.ledger(), &ledger_v1::LedgerService::Stub::ListIncoming,
                                 request, deadline));
    for (const auto& lot : response.lots()) {
      out[lot.sku()].push_back({FromProto(lot.expected_at()), lot.quantity()});
    }
  }
  for (auto& [_, lots] : out) std::stable_sort(lots.begin(), lots.end());
  return out;
}

int64_t TotalUnits(const IncomingLots& lots) {
  int64_t total = 0;
  for (const auto& [_, units] : lots) total += units;
  return total;
}

std::optional<absl::Time> CoveredBy(const IncomingLots& lots, int64_t units) {
  int64_t running = 0;
  for (const auto& [at, quantity] : lots) {
    running += quantity;
    if (running >= units) return at;
  }
  return std::nullopt;
}

std::optional<absl::Time> ExpectedBy(const IncomingLots& lots, int64_t units) {
  if (auto at = CoveredBy(lots, units)) return at;
  if (lots.empty()) return std::nullopt;
  return lots.back().first;
}

absl::StatusOr<v1::PreorderItem> Preorders::Set(const v1::SetPreorderItemRequest& request,
                                                std::optional<absl::Time> deadline) {
  const v1::PreorderItem& item = request.item();
  RETURN_IF_ERROR(ValidateSku("item.sku", item.sku()));
  if (item.overbook_percent() < 0 || item.overbook_percent() > 100) {
    return InvalidArgument("item.overbook_percent", "overbook_percent must be between 0 and 100");
  }
  ASSIGN_OR_RETURN(auto incoming,
                   FetchIncoming(ledger_, {item.sku()}, {}, deadline));  // known item?
  return db_.Run<v1::PreorderItem>([&](pqxx::connection& c) {
    return pg::RunInTransaction<v1::PreorderItem>(
        c, {.deadline = deadline}, [&](Tx& tx) -> absl::StatusOr<v1::PreorderItem> {
          tx.exec_params(
              "INSERT INTO preorder_items (sku, enabled, overbook_percent, update_time) "
              "VALUES ($1, $2, $3, $4) ON CONFLICT (sku) DO UPDATE SET enabled = $2, "
              "overbook_percent = $3, update_time = $4",
              item.sku(), item.enabled(), item.overbook_percent(), SqlTime(clock_.Now()));
          return ToItem(tx.exec_params1(std::string(kSelect) + " WHERE sku = $1", item.sku()),
                        incoming[item.sku()]);
        });
  });
}

absl::StatusOr<v1::PreorderItem> Preorders::Get(const std::string& sku,
                                                std::optional<absl::Time> deadline) {
  RETURN_IF_ERROR(ValidateSku("sku", sku));
  auto row = db_.Run<std::optional<pqxx::row>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::optional<pqxx::row>> {
        pqxx::nontransaction tx(c);
        auto rows = tx.exec_params(std::string(kSelect) + " WHERE sku = $1", sku);
        if (rows.empty()) return std::nullopt;
        return rows[0];
      });
  if (!row.ok()) return row.status();
  if (!*row) {
    return MakeError(absl::StatusCode::kNotFound, "PREORDER_ITEM_NOT_FOUND",
                     absl::StrCat(sku, " has no pre-order settings"), {{"sku", sku}});
  }
  ASSIGN_OR_RETURN(auto incoming, FetchIncoming(ledger_, {sku}, {}, deadline));
  return ToItem(**row, incoming[sku]);
}

absl::StatusOr<v1::ListPreorderItemsResponse> Preorders::List(std::optional<absl::Time> deadline) {
  auto rows = db_.Run<pqxx::result>([&](pqxx::connection& c) -> absl::StatusOr<pqxx::result> {
    pqxx::nontransaction tx(c);
    return tx.exec(std::string(kSelect) + " ORDER BY sku");
  });
  if (!rows.ok()) return rows.status();
  std::vector<std::string> skus;
  for (const auto& row : *rows) skus.push_back(row[0].as<std::string>());
  ASSIGN_OR_RETURN(auto incoming, FetchIncoming(ledger_, skus, {}, deadline));
  v1::ListPreorderItemsResponse out;
  for (const auto& row : *rows) *out.add_items() = ToItem(row, incoming[row[0].as<std::string>()]);
  return out;
}

absl::StatusOr<std::optional<absl::Time>> CountPreorders(
    Tx& tx, const google::protobuf::RepeatedPtrField<v1::OrderLine>& lines,
    const std::map<std::string, IncomingLots>& incoming) {
  std::map<std::string, int64_t> wanted;  // by sku: the lock order
  for (const auto& line : lines) wanted[line.sku()] += line.quantity();
  std::vector<std::string> skus;
  for (const auto& [sku, _] : wanted) skus.push_back(sku);
  auto rows = tx.exec_params(
      "SELECT sku, enabled, overbook_percent, preordered FROM preorder_items "
      "WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE",
      pg::SqlTextArray(skus));
  std::map<std::string, pqxx::row> found;
  for (const auto& row : rows) found.emplace(row[0].as<std::string>(), row);
  std::optional<absl::Time> expected;
  for (const auto& [sku, quantity] : wanted) {
    auto it = found.find(sku);
    if (it == found.end() || !it->second[1].as<bool>()) return NotPreorderable(sku);
    const auto lots = incoming.count(sku) ? incoming.at(sku) : IncomingLots();
    const int64_t preordered = it->second[3].as<int64_t>();
    const int64_t room = Room(TotalUnits(lots), it->second[2].as<int>()) - preordered;
    if (quantity > room) {
      return MakeError(absl::StatusCode::kFailedPrecondition, "PREORDER_CAP_REACHED",
                       absl::StrCat("only ", std::max<int64_t>(0, room), " of ", sku,
                                    " can still be pre-ordered, ", quantity, " ordered"),
                       {{"sku", sku}, {"available", std::to_string(std::max<int64_t>(0, room))}});
    }
    tx.exec_params("UPDATE preorder_items SET preordered = preordered + $2 WHERE sku = $1", sku,
                   quantity);
    auto at = ExpectedBy(lots, preordered + quantity);
    if (at && (!expected || *at > *expected)) expected = at;
  }
  return expected;
}

absl::StatusOr<std::map<std::string, int64_t>> WaitingPreorders(
    Tx& tx, const std::vector<std::string>& skus) {
  std::map<std::string, int64_t> out;
  for (const auto& row : pg::Exec(tx, queries::kPreorderedOf, pg::SqlTextArray(skus))) {
    out[row[0].as<std::string>()] = row[1].as<int64_t>();
  }
  return out;
}

void ReleasePreorders(Tx& tx, int64_t order_id) {
  tx.exec_params(
      "WITH lines AS (SELECT sku, quantity FROM order_lines WHERE order_id = $1), "
      "locked AS (SELECT p.sku FROM preorder_items p JOIN lines USING (sku) ORDER BY p.sku "
      "FOR UPDATE OF p) "
      "UPDATE preorder_items p SET preordered = greatest(p.preordered - lines.quantity, 0) "
      "FROM lines, locked WHERE p.sku = lines.sku AND locked.sku = p.sku",
      order_id);
}

}  // namespace kura::reservation
