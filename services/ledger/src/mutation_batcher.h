#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "group_commit.h"
#include "kura/base/clock.h"
#include "kura/pg/database.h"
#include "store_support.h"

namespace kura::ledger {

/// Group commit for the ledger's other mutating requests (ApplyMovements): the requests that one
/// writer takes from the queue run in one transaction, each in arrival order inside its own
/// savepoint, and the transaction commits once. Before running any of them the writer locks the
/// union of the balance rows they declare, once and in the global order, so a batch never takes
/// balance locks out of order against the other writers. A request that fails (insufficient
/// stock, unknown item, reused request id, a database error of its own) is rolled back to its
/// savepoint and fails alone; the others commit. Change events are appended after the last
/// request, in arrival order, with the feed head locked once. Nothing is answered before the
/// commit. At most 60 requests per batch (kMaxSavepointBatch in the .cc). Effects must run their
/// SQL with exec_params or Prepared: a failed plain `exec` makes libpqxx 6 roll back the whole
/// transaction rather than the request's savepoint. Thread-safe; the destructor answers every
/// queued request first.
class MutationBatcher {
 public:
  /// The balance rows a request will lock (best effort: a request that cannot say, say because
  /// its item is unknown, returns what it can and fails later in its effect).
  using Accounts = std::function<std::vector<AccountKey>(Tx&, Resolver&)>;
  /// The request's effect, as for Mutate; returns the serialized response.
  using Effect = std::function<absl::StatusOr<std::string>(Tx&, Resolver&, Outbox&, absl::Time)>;

  struct Mutation {
    const char* method;
    const std::string* request_id;
    const google::protobuf::Message* request;
    Accounts accounts;
    Effect effect;
    /// The caller's deadline: a request whose deadline passes before its turn fails
    /// DEADLINE_EXCEEDED and changes nothing.
    std::optional<absl::Time> deadline;
  };

  MutationBatcher(pg::Database& db, const Clock& clock, GroupCommitMetrics& metrics,
                  GroupCommitOptions options);

  /// Queues `mutation` and waits until its batch has committed; returns the serialized response
  /// (the stored one for a repeated request_id).
  absl::StatusOr<std::string> Apply(Mutation mutation);

 private:
  struct Pending {
    Mutation mutation;
    std::function<void(absl::StatusOr<std::string>)> done;
  };
  using Result = absl::StatusOr<std::string>;
  // Applies and commits a batch; returns the work of answering its callers.
  std::function<void()> RunBatch(std::vector<Pending>&& batch);
  absl::Status ApplyBatch(Tx& tx, const std::vector<Pending>& batch, std::vector<Result>& results);

  pg::Database& db_;
  const Clock& clock_;
  GroupCommitQueue<Pending> queue_;  // last: its writer thread uses the members above
};

/// Mutate through `batcher` (group commit) when it is set, else in a transaction of its own.
/// `accounts` names the balance rows `effect` will lock.
template <typename Response>
absl::StatusOr<Response> Mutate(pg::Database& db, const Clock& clock, MutationBatcher* batcher,
                                const char* method, const std::string& request_id,
                                const google::protobuf::Message& request,
                                MutationBatcher::Accounts accounts,
                                MutationEffect<Response> effect) {
  if (batcher == nullptr) {
    return Mutate<Response>(db, clock, method, request_id, request, std::move(effect));
  }
  RETURN_IF_ERROR(ValidateRequestId(request_id));
  ASSIGN_OR_RETURN(std::string bytes,
                   batcher->Apply({method, &request_id, &request, std::move(accounts),
                                   [&](Tx& tx, Resolver& resolver, Outbox& outbox,
                                       absl::Time now) -> absl::StatusOr<std::string> {
                                     ASSIGN_OR_RETURN(Response response,
                                                      effect(tx, resolver, outbox, now));
                                     return response.SerializeAsString();
                                   },
                                   DeadlineScope::Current()}));
  return ParseResponse<Response>(bytes);
}

}  // namespace kura::ledger
