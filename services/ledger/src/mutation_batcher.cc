#include "mutation_batcher.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <future>
#include <memory>

#include "kura/base/error.h"
#include "kura/log/log.h"
#include "kura/pg/transaction.h"

namespace kura::ledger {
namespace {

// At most this many requests per batch: each committed request's savepoint leaves a
// subtransaction id behind until the commit, and past 64 of them PostgreSQL's per-backend cache
// overflows, which slows every other session's visibility checks while the batch is open.
constexpr int kMaxSavepointBatch = 60;

GroupCommitOptions Capped(GroupCommitOptions options) {
  options.max_batch = std::min(options.max_batch, kMaxSavepointBatch);
  return options;
}

bool IsConflict(const absl::Status& status) {
  return status.code() == absl::StatusCode::kAborted &&
         ErrorReason(status) == "TRANSACTION_CONFLICT";
}

}  // namespace

MutationBatcher::MutationBatcher(pg::Database& db, const Clock& clock, GroupCommitMetrics& metrics,
                                 GroupCommitOptions options)
    : db_(db),
      clock_(clock),
      queue_(Capped(options), metrics,
             [this](std::vector<Pending>&& batch) { return RunBatch(std::move(batch)); }) {}

absl::StatusOr<std::string> MutationBatcher::Apply(Mutation mutation) {
  auto promise = std::make_shared<std::promise<Result>>();
  auto future = promise->get_future();
  Pending pending{std::move(mutation),
                  [promise](Result result) { promise->set_value(std::move(result)); }};
  if (!queue_.Push(std::move(pending))) {
    return absl::UnavailableError("the ledger is shutting down");
  }
  return future.get();
}

absl::Status MutationBatcher::ApplyBatch(Tx& tx, const std::vector<Pending>& batch,
                                         std::vector<Result>& results) {
  results.assign(batch.size(), Result(absl::UnknownError("not run")));
  Resolver resolver(tx);  // ids do not change within the transaction
  // Every balance row of the batch, locked once, in the global order, before anything else.
  std::vector<AccountKey> keys;
  for (const Pending& p : batch) {
    std::vector<AccountKey> own = p.mutation.accounts(tx, resolver);
    keys.insert(keys.end(), own.begin(), own.end());
  }
  LockedBalances().Lock(tx, std::move(keys));

  Outbox events;  // the committed requests' events, in arrival order
  const absl::Time now = clock_.Now();
  for (size_t i = 0; i < batch.size(); ++i) {
    const Mutation& m = batch[i].mutation;
    if (m.deadline && *m.deadline <= absl::Now()) {
      results[i] = MakeError(absl::StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED",
                             "the request's deadline passed before its turn in the batch");
      continue;
    }
    Outbox outbox;
    // exec_params, not exec: in libpqxx 6 a failed plain exec rolls back the whole transaction.
    tx.exec_params("SAVEPOINT kura_request");
    try {
      results[i] = RunIdempotent(tx, m.method, *m.request_id, *m.request,
                                 [&] { return m.effect(tx, resolver, outbox, now); });
    } catch (const pqxx::transaction_rollback&) {
      throw;  // a serialization failure or deadlock: the whole batch is retried
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const pqxx::in_doubt_error&) {
      throw;
    } catch (const std::exception&) {
      // This request's own error (a constraint, a statement timeout, a bug): it fails alone.
      results[i] = pg::StatusFromCurrentException();
    }
    if (IsConflict(results[i].status())) return results[i].status();  // retry the batch
    if (results[i].ok()) {
      tx.exec_params("RELEASE SAVEPOINT kura_request");
      events.Append(std::move(outbox));
    } else {
      tx.exec_params("ROLLBACK TO SAVEPOINT kura_request");
      tx.exec_params("RELEASE SAVEPOINT kura_request");  // no nesting left behind
    }
  }
  events.Flush(tx);
  return absl::OkStatus();
}

std::function<void()> MutationBatcher::RunBatch(std::vector<Pending>&& batch) {
  // The batch's statements time out once every caller has given up.
  pg::TransactionOptions options;
  for (const Pending& p : batch) {
    if (!p.mutation.deadline) {
      options.deadline.reset();
      break;
    }
    options.deadline =
        std::max(options.deadline.value_or(absl::InfinitePast()), *p.mutation.deadline);
  }
  std::vector<Result> results;
  auto committed = db_.Run<bool>([&](pqxx::connection& conn) -> absl::StatusOr<bool> {
    RETURN_IF_ERROR(pg::RunInTransaction(conn, options,
                                         [&](Tx& tx) { return ApplyBatch(tx, batch, results); }));
    return true;
  });
  return [batch = std::move(batch), results = std::move(results),
          status = committed.status()]() mutable {
    for (size_t i = 0; i < batch.size(); ++i) {
      try {
        batch[i].done(status.ok() ? std::move(results[i]) : Result(status));
      } catch (const std::exception& e) {
        log::Error("a batched request's completion failed", {{"error", e.what()}});
      }
    }
  };
}

}  // namespace kura::ledger
