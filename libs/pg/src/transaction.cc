#include "kura/pg/transaction.h"

#include <pqxx/except>
#include <pqxx/nontransaction>

#include <algorithm>
#include <cstdint>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"

namespace kura::pg {
namespace {

// BEGIN with the isolation level and, when there is a deadline, the statement timeout (and
// synchronous_commit off when asked): one round trip (a multi-statement simple query).
std::string BeginSql(Isolation isolation, std::optional<int64_t> timeout_ms, bool wait_for_flush) {
  const char* level = isolation == Isolation::kSerializable     ? "SERIALIZABLE"
                      : isolation == Isolation::kRepeatableRead ? "REPEATABLE READ"
                                                                : "READ COMMITTED";
  std::string sql = absl::StrCat("BEGIN ISOLATION LEVEL ", level);
  if (timeout_ms) absl::StrAppend(&sql, "; SET LOCAL statement_timeout = ", *timeout_ms);
  if (!wait_for_flush) absl::StrAppend(&sql, "; SET LOCAL synchronous_commit = off");
  return sql;
}

// Ends a failed attempt's transaction so that the connection can be used again (a connection that
// cannot even do that is broken, and its next use says so).
void RollBack(pqxx::transaction_base& tx) noexcept {
  try {
    tx.exec("ROLLBACK");
  } catch (...) {
  }
}

bool IsConnectionLoss(const std::string& sqlstate) {
  // Class 08 (connection exception) and 57P01..57P03 (admin shutdown, crash shutdown,
  // cannot connect now): the server went away, not the request's fault.
  return sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

absl::Status Unavailable(const char* what) {
  return MakeError(absl::StatusCode::kUnavailable, "DATABASE_UNAVAILABLE",
                   absl::StrCat("database unavailable: ", what));
}

}  // namespace

absl::Status StatusFromCurrentException() {
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    return MakeError(
        absl::StatusCode::kUnknown, "COMMIT_OUTCOME_UNKNOWN",
        absl::StrCat("the connection broke during commit; the outcome is unknown: ", e.what()));
  } catch (const pqxx::statement_completion_unknown& e) {
    return MakeError(absl::StatusCode::kUnknown, "COMMIT_OUTCOME_UNKNOWN", e.what());
  } catch (const pqxx::broken_connection& e) {
    return Unavailable(e.what());
  } catch (const pqxx::transaction_rollback& e) {
    return MakeError(absl::StatusCode::kAborted, "TRANSACTION_CONFLICT", e.what());
  } catch (const pqxx::unique_violation& e) {
    return MakeError(absl::StatusCode::kAlreadyExists, "ALREADY_EXISTS", e.what(),
                     {{"sqlstate", e.sqlstate()}});
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "57014") {
      return MakeError(absl::StatusCode::kDeadlineExceeded, "STATEMENT_TIMEOUT", e.what());
    }
    if (IsConnectionLoss(e.sqlstate())) return Unavailable(e.what());
    return MakeError(absl::StatusCode::kInternal, "DATABASE_ERROR", e.what(),
                     {{"sqlstate", e.sqlstate()}});
  } catch (const std::exception& e) {
    return MakeError(absl::StatusCode::kInternal, "INTERNAL", e.what());
  } catch (...) {
    return MakeError(absl::StatusCode::kInternal, "INTERNAL", "unknown exception");
  }
}

absl::Status RunInTransaction(pqxx::connection& conn, const TransactionOptions& options,
                              const std::function<absl::Status(pqxx::transaction_base&)>& body) {
  thread_local std::mt19937 random{std::random_device{}()};
  const int attempts = std::max(1, options.max_attempts);
  std::string last_conflict;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    std::optional<int64_t> timeout_ms;
    if (options.deadline) {
      absl::Duration left = *options.deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return MakeError(absl::StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED",
                         "the request's deadline passed before its transaction could run");
      }
      // Rounded up: a statement_timeout of 0 would mean no timeout at all; at most what
      // statement_timeout takes (about 24.8 days).
      timeout_ms = std::min<int64_t>(
          absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), INT32_MAX);
    }
    // A transaction begun by hand rather than by pqxx::transaction, so that BEGIN and the
    // timeout travel together; the commit below tells a commit of unknown outcome apart.
    pqxx::nontransaction tx(conn);
    try {
      tx.exec(BeginSql(options.isolation, timeout_ms, options.wait_for_flush));
      absl::Status status = body(tx);
      if (status.ok()) {
        try {
          tx.exec("COMMIT");
        } catch (const pqxx::broken_connection& e) {
          return MakeError(absl::StatusCode::kUnknown, "COMMIT_OUTCOME_UNKNOWN",
                           absl::StrCat("the connection broke during commit; the outcome is "
                                        "unknown: ",
                                        e.what()));
        }
        return absl::OkStatus();
      }
      RollBack(tx);
      // A body that caught the conflict itself and mapped it (StatusFromCurrentException) is
      // retried just the same; any other error is the answer.
      if (status.code() != absl::StatusCode::kAborted ||
          ErrorReason(status) != "TRANSACTION_CONFLICT") {
        return status;
      }
      last_conflict = std::string(status.message());
    } catch (const pqxx::serialization_failure& e) {
      RollBack(tx);
      last_conflict = e.what();
    } catch (const pqxx::deadlock_detected& e) {
      RollBack(tx);
      last_conflict = e.what();
    } catch (...) {
      // Also when BEGIN went through and the timeout did not: outside a transaction ROLLBACK
      // only warns.
      RollBack(tx);
      return StatusFromCurrentException();
    }
    if (attempt < attempts) {
      // Jittered exponential backoff, capped: 1, 2, 4 ... ms up to 50 ms.
      int cap_us = std::min(50'000, 1000 << std::min(attempt - 1, 6));
      std::this_thread::sleep_for(std::chrono::microseconds(
          std::uniform_int_distribution<int>(cap_us / 2, cap_us)(random)));
    }
  }
  return MakeError(
      absl::StatusCode::kAborted, "TRANSACTION_CONFLICT",
      absl::StrCat("transaction still conflicting after ", attempts, " attempts: ", last_conflict),
      {{"attempts", std::to_string(attempts)}});
}

}  // namespace kura::pg
