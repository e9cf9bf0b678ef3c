#pragma once

// Building blocks shared by the ledger's storage code: id resolution, idempotent requests,
// locked balances and the change-feed outbox. Internal to kura-ledger.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>
#include <pqxx/connection_base>
#include <pqxx/transaction_base>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "kura/base/clock.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "kura/ledger/v1/catalog.pb.h"
#include "kura/ledger/v1/change_feed.pb.h"
#include "kura/ledger/v1/ledger.pb.h"
#include "kura/pg/database.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"

namespace kura::ledger {

using Tx = pqxx::transaction_base;
using pg::Micros;
using pg::SqlNumberArray;
using pg::SqlTextArray;
using pg::SqlTime;
namespace v1 = ::kura::ledger::v1;

/// Bucket number of the single account of a system location (@supplier, @customer, ...).
inline constexpr int kSystemBucket = 0;

/// A channel as the books need it.
struct ChannelInfo {
  int32_t id = 0;
  std::string code;
  v1::ChannelKind kind = v1::CHANNEL_KIND_UNSPECIFIED;
  bool respects_safety_stock = true;
};

/// Resolves codes to ids within one transaction, remembering what it found. Errors: NOT_FOUND
/// with reason ITEM_NOT_FOUND / LOCATION_NOT_FOUND / CHANNEL_NOT_FOUND and the code in metadata.
class Resolver {
 public:
  explicit Resolver(Tx& tx) : tx_(tx) {}
  absl::StatusOr<int64_t> Item(const std::string& sku);
  /// A user location; system locations (@...) are refused unless `allow_system`.
  absl::StatusOr<int32_t> Location(const std::string& code, bool allow_system = false);
  absl::StatusOr<ChannelInfo> Channel(const std::string& code);
  /// The id of a system location such as "@customer".
  int32_t System(const std::string& code);
  /// Reverse look-ups for building responses.
  std::string SkuOf(int64_t item_id);
  std::string CodeOf(int32_t location_id);
  /// Records ids found by a bulk look-up, so that later look-ups need no query.
  void RememberItem(const std::string& sku, int64_t item_id);
  void RememberLocation(const std::string& code, int32_t location_id);

 private:
  Tx& tx_;
  std::map<std::string, int64_t> items_;
  std::map<int64_t, std::string> skus_;
  std::map<std::string, int32_t> locations_;
  std::map<int32_t, std::string> codes_;
  std::map<std::string, ChannelInfo> channels_;
};

/// An account: (item, location, bucket).
using AccountKey = std::tuple<int64_t, int32_t, int>;

/// A balance row, locked for the transaction.
struct BalanceRow {
  int64_t on_hand = 0;
  int64_t held = 0;
  bool dirty = false;
};

/// Locks balance rows in the one global order (item, location, bucket), creating missing rows
/// first, so that concurrent writers never deadlock on them and the first writer of an account
/// cannot race another. Holds the rows until commit; Save writes back the changed ones.
class LockedBalances {
 public:
  /// Locks `keys` (any order, duplicates allowed). Call once per transaction, before any other
  /// lock the transaction takes.
  void Lock(Tx& tx, std::vector<AccountKey> keys);
  /// The locked row of `key`, which must have been locked.
  BalanceRow& operator[](const AccountKey& key);
  /// Writes the changed rows (which stay marked changed, for the outbox).
  void Save(Tx& tx);
  /// The changed rows as array literals, for a statement that writes them with others (as
  /// Save's UPDATE does: `$n::bigint[]` items, integer locations, smallint buckets, bigint
  /// on_hands and helds).
  struct Changes {
    std::string items, locations, buckets, on_hands, helds;
  };
  Changes Changed() const;
  const std::map<AccountKey, BalanceRow>& rows() const { return rows_; }

 private:
  std::map<AccountKey, BalanceRow> rows_;
};

/// Runs `sql` with `args` as a statement prepared under `name` on the transaction's connection
/// (declared there on first use): PostgreSQL parses it once per connection and, once it settles
/// on a generic plan, plans it once too. A name always goes with the same text.
template <typename... Args>
pqxx::result Prepared(Tx& tx, const std::string& name, const std::string& sql, Args&&... args) {
  tx.conn().prepare(name, sql);  // a no-op once declared
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}
/// Prepared, for a statement that returns exactly one row.
template <typename... Args>
pqxx::row Prepared1(Tx& tx, const std::string& name, const std::string& sql, Args&&... args) {
  tx.conn().prepare(name, sql);
  return tx.exec_prepared1(name, std::forward<Args>(args)...);
}

/// FAILED_PRECONDITION INSUFFICIENT_STOCK for `requested` units of `sku` at `location` where only
/// `available` (`what`, e.g. "units available") are; metadata sku, location, requested, available.
absl::Status InsufficientStock(absl::string_view what, const std::string& sku,
                               const std::string& location, int64_t requested, int64_t available);

/// The pending hold that `line` of `request` becomes when it is created at `now`, as the API
/// and the change feed show it (expires_at at the microsecond precision it is stored with).
v1::Hold NewPendingHold(const v1::CreateHoldsRequest& request, const v1::HoldLine& line,
                        absl::Time now);

/// What a channel's cap at a location still allows, or nullopt when it has none: a quota bounds
/// the channel's held + committed units, a ratio (basis points of the sellable units) its held
/// units.
std::optional<int64_t> ChannelCapRemaining(int64_t held, int64_t committed,
                                           std::optional<int64_t> quota,
                                           std::optional<int> ratio_bp, int64_t sellable_on_hand);

/// Collects the change events of a transaction and appends them to the feed as its last step
/// (see feed_head in the schema): sequence order is commit order.
class Outbox {
 public:
  /// Adds an event (its sequence and commit time are set by Flush).
  v1::ChangeEvent& Add() { return events_.emplace_back(); }
  /// Adds an AvailabilityChanged event for every (item, sellable account) in `balances` that
  /// changed.
  void AddAvailabilityChanges(Resolver& resolver, const LockedBalances& balances);
  /// Moves `other`'s events after this one's.
  void Append(Outbox&& other);
  /// Appends the events and notifies watchers (delivered at commit).
  void Flush(Tx& tx);

 private:
  std::vector<v1::ChangeEvent> events_;
};

/// Runs `effect` once per request_id: the first request stores its bytes and response in the
/// same transaction as its effect; a retry (also a concurrent one, which waits for the first)
/// gets the stored response; the same id with a different request or method fails
/// INVALID_ARGUMENT IDEMPOTENCY_KEY_REUSED. An effect that fails stores nothing.
absl::StatusOr<std::string> RunIdempotent(
    Tx& tx, const std::string& method, const std::string& request_id,
    const google::protobuf::Message& request,
    const std::function<absl::StatusOr<std::string>()>& effect);

/// Makes `deadline` (the calling RPC's) the one Mutate and Read give their transactions on this
/// thread until the scope ends: statements time out when the caller has given up.
class DeadlineScope {
 public:
  explicit DeadlineScope(std::optional<absl::Time> deadline);
  ~DeadlineScope();
  DeadlineScope(const DeadlineScope&) = delete;
  DeadlineScope& operator=(const DeadlineScope&) = delete;
  /// The deadline of the innermost scope on this thread, if any.
  static std::optional<absl::Time> Current();

 private:
  std::optional<absl::Time> previous_;
};

/// What a mutating request does inside its transaction, at `now`: its events go to the outbox.
template <typename Response>
using MutationEffect = std::function<absl::StatusOr<Response>(Tx&, Resolver&, Outbox&, absl::Time)>;

/// Parses a response that Mutate stored or produced.
template <typename Response>
absl::StatusOr<Response> ParseResponse(const std::string& bytes) {
  Response response;
  if (!response.ParseFromString(bytes)) return absl::InternalError("stored response unreadable");
  return response;
}

/// Runs a mutating request: one transaction, idempotent on request_id, events appended last.
template <typename Response>
absl::StatusOr<Response> Mutate(pg::Database& db, const Clock& clock, const char* method,
                                const std::string& request_id,
                                const google::protobuf::Message& request,
                                MutationEffect<Response> effect) {
  RETURN_IF_ERROR(ValidateRequestId(request_id));
  // Read on the calling (gRPC) thread: the transaction runs on a DB thread.
  const pg::TransactionOptions options{.deadline = DeadlineScope::Current()};
  auto bytes = db.Run<std::string>([&](pqxx::connection& conn) {
    return pg::RunInTransaction<std::string>(
        conn, options, [&](Tx& tx) -> absl::StatusOr<std::string> {
          return RunIdempotent(
              tx, method, request_id, request, [&]() -> absl::StatusOr<std::string> {
                Resolver resolver(tx);
                Outbox outbox;
                absl::Time now = clock.Now();
                ASSIGN_OR_RETURN(Response response, effect(tx, resolver, outbox, now));
                outbox.Flush(tx);
                return response.SerializeAsString();
              });
        });
  });
  if (!bytes.ok()) return bytes.status();
  return ParseResponse<Response>(*bytes);
}

/// Runs a read-only query in one (repeatable read) transaction.
template <typename Response>
absl::StatusOr<Response> Read(pg::Database& db,
                              std::function<absl::StatusOr<Response>(Tx&, Resolver&)> body) {
  const pg::TransactionOptions options{.isolation = pg::Isolation::kRepeatableRead,
                                       .deadline = DeadlineScope::Current()};
  return db.Run<Response>([&](pqxx::connection& conn) {
    return pg::RunInTransaction<Response>(conn, options, [&](Tx& tx) -> absl::StatusOr<Response> {
      Resolver resolver(tx);
      return body(tx, resolver);
    });
  });
}

}  // namespace kura::ledger
