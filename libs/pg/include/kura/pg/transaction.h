#pragma once

#include <functional>
#include <optional>
#include <string>

#include <pqxx/connection>
#include <pqxx/transaction_base>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kura::pg {

/// Isolation level of a transaction.
enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

/// How RunInTransaction runs its body.
struct TransactionOptions {
  Isolation isolation = Isolation::kReadCommitted;
  /// Attempts in all, the first included, when PostgreSQL reports a serialization failure or
  /// a deadlock; then ABORTED with reason TRANSACTION_CONFLICT.
  int max_attempts = 5;
  /// When set, the statements get a statement_timeout of the time left, and a deadline that has
  /// already passed fails with DEADLINE_EXCEEDED before the database is touched.
  std::optional<absl::Time> deadline;
  /// When false, the commit does not wait for the WAL flush (synchronous_commit off, one
  /// statement with BEGIN): for state that is derived and worked out again if a crash loses it,
  /// or that a later commit on the same server waits for before anything is answered.
  bool wait_for_flush = true;
};

/// Maps the exception being handled (inside a catch block) to a status: unique violation →
/// ALREADY_EXISTS, broken connection → UNAVAILABLE, commit of unknown outcome → UNKNOWN,
/// statement timeout → DEADLINE_EXCEEDED, serialization failure / deadlock → ABORTED, any other
/// error → INTERNAL. Each carries an ErrorInfo reason.
absl::Status StatusFromCurrentException();

/// Runs `body` in one transaction on `conn` and commits it when the body returns OK; a non-OK
/// result rolls back and is returned as is. BEGIN and the statement timeout go in one round trip.
/// A body must not swallow a database error and return OK (PostgreSQL would roll the failed
/// transaction back on COMMIT). The whole transaction is retried (bounded, with
/// jittered backoff) on serialization failure or deadlock — thrown by the body or the commit, or
/// returned by the body as ABORTED with reason TRANSACTION_CONFLICT — so `body` must have no
/// effect outside the transaction. Errors are mapped by StatusFromCurrentException; nothing
/// throws.
absl::Status RunInTransaction(pqxx::connection& conn, const TransactionOptions& options,
                              const std::function<absl::Status(pqxx::transaction_base&)>& body);

/// Like RunInTransaction, returning the value the body produced in the committed attempt.
template <typename T>
absl::StatusOr<T> RunInTransaction(
    pqxx::connection& conn, const TransactionOptions& options,
    const std::function<absl::StatusOr<T>(pqxx::transaction_base&)>& body) {
  std::optional<T> value;
  absl::Status status = RunInTransaction(conn, options, [&](pqxx::transaction_base& tx) {
    absl::StatusOr<T> result = body(tx);
    if (!result.ok()) return result.status();
    value = *std::move(result);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return *std::move(value);
}

}  // namespace kura::pg
