#pragma once

// How the ledger's RPCs outside the batch writer run their transactions: reads in one
// repeatable-read transaction, the catalog's mutations one transaction each, idempotent on their
// request id; both with the calling RPC's deadline.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <pqxx/transaction_base>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/base/clock.h"
#include "kura/ledger/v1/change_feed.pb.h"
#include "kura/pg/database.h"
#include "kura/rpc/status.h"

namespace kura::ledger {

/// Runs a read-only body in one repeatable-read transaction.
template <typename Response>
absl::StatusOr<Response> Read(
    pg::Database& db,
    const std::function<absl::StatusOr<Response>(pqxx::transaction_base&)>& body) {
  const pg::TransactionOptions options{.isolation = pg::Isolation::kRepeatableRead,
                                       .deadline = rpc::CurrentDeadline()};
  return pg::Transact<Response>(db, options, body);
}

/// What a mutation does in its transaction at `now`; its change events go to `events`.
using Effect = std::function<absl::StatusOr<std::string>(
    pqxx::transaction_base&, std::vector<v1::ChangeEvent>& events, absl::Time now)>;

/// Runs `effect` once per request id, in a transaction of its own: the first request stores
/// its bytes and (serialized) response in the same transaction as its effect, a retry (also a
/// concurrent one, which waits for the first) gets the stored response, the same id with another
/// request or method fails IDEMPOTENCY_KEY_REUSED; an effect that fails stores nothing. The
/// events are appended to the feed as the last step.
absl::StatusOr<std::string> MutateOnce(pg::Database& db, const Clock& clock, const char* method,
                                       const google::protobuf::Message& request,
                                       const std::string& request_id, const Effect& effect);

/// MutateOnce, parsing the response.
template <typename Response>
absl::StatusOr<Response> MutateOnce(
    pg::Database& db, const Clock& clock, const char* method,
    const google::protobuf::Message& request, const std::string& request_id,
    const std::function<absl::StatusOr<Response>(
        pqxx::transaction_base&, std::vector<v1::ChangeEvent>&, absl::Time)>& effect) {
  auto bytes = MutateOnce(db, clock, method, request, request_id,
                          [&](pqxx::transaction_base& tx, std::vector<v1::ChangeEvent>& events,
                              absl::Time now) -> absl::StatusOr<std::string> {
                            auto response = effect(tx, events, now);
                            if (!response.ok()) return response.status();
                            return response->SerializeAsString();
                          });
  if (!bytes.ok()) return bytes.status();
  Response response;
  if (!response.ParseFromString(*bytes)) return absl::InternalError("stored response unreadable");
  return response;
}

}  // namespace kura::ledger
