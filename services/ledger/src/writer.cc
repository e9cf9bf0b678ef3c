#include "writer.h"

#include <pqxx/pqxx>

#include <map>

#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/pg/transaction.h"
#include "storage/batch_store.h"

namespace kura::ledger {
namespace {

const char* MethodOf(const v1::CreateHoldsRequest*) { return "CreateHolds"; }
const char* MethodOf(const v1::PostHoldRequest*) { return "PostHold"; }
const char* MethodOf(const v1::VoidHoldRequest*) { return "VoidHold"; }
const char* MethodOf(const ExpireHoldsRequest*) { return "ExpireHolds"; }
const char* MethodOf(const v1::ApplyMovementsRequest*) { return "ApplyMovements"; }
const char* MethodOf(const v1::FulfilCommittedRequest*) { return "FulfilCommitted"; }
const char* MethodOf(const v1::CancelCommittedRequest*) { return "CancelCommitted"; }
const char* MethodOf(const v1::SetSafetyStockRequest*) { return "SetSafetyStock"; }
const char* MethodOf(const v1::SetChannelAllocationRequest*) { return "SetChannelAllocation"; }

// A request as the idempotency rules see it.
struct Identity {
  const char* method;
  std::string request_id;  // empty: internal, not idempotent (the hold sweeper's)
  std::string bytes;       // deterministic serialization, compared with a stored request's
};

Identity IdentityOf(const MutationRequest& request) {
  return std::visit(
      [](const auto* r) -> Identity {
        using R = std::decay_t<decltype(*r)>;
        if constexpr (std::is_same_v<R, ExpireHoldsRequest>) {
          return {MethodOf(r), "", ""};
        } else {
          return {MethodOf(r), r->request_id(), DeterministicBytes(*r)};
        }
      },
      request);
}

// Decides `request` in `draft`; the serialized response. A bug surfacing as an exception fails
// this request alone.
MutationResult DecideOne(const MutationRequest& request, Draft& draft) {
  try {
    return std::visit(
        [&](const auto* r) -> MutationResult {
          ASSIGN_OR_RETURN(auto response, Decide(*r, draft));
          return response.SerializeAsString();
        },
        request);
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("deciding the request failed: ") + e.what());
  }
}

// AvailabilityChanged for every sellable account the batch changed, with its final values.
void AnnounceAvailability(const Snapshot& s, Changes& changes) {
  for (const auto& [item, location] : changes.announce) {
    auto balance = s.balances.find({item, location, v1::BUCKET_SELLABLE});
    v1::ChangeEvent& event = changes.events.emplace_back();
    auto* changed = event.mutable_availability_changed();
    changed->set_sku(s.skus.at(item));
    changed->set_location(s.location_codes.at(location));
    if (balance != s.balances.end()) {
      changed->set_sellable(balance->second.on_hand);
      changed->set_held(balance->second.held);
    }
  }
}

// One attempt at the batch in `tx`: load and lock, decide each request in arrival order, write.
// A request id takes effect once, as if the requests came one after the other: a stored id gets
// its stored answer (or IDEMPOTENCY_KEY_REUSED for other contents); an id that an earlier request
// of the batch committed gets that request's answer (or IDEMPOTENCY_KEY_REUSED); an id whose
// earlier request failed stored nothing and is decided afresh.
absl::Status DecideAndWrite(pqxx::transaction_base& tx, const Clock& clock,
                            const std::vector<Mutation>& batch, const std::vector<Identity>& ids,
                            std::vector<MutationResult>& results) {
  const size_t n = batch.size();
  results.assign(n, MutationResult(absl::UnknownError("not decided")));
  Wants wants;
  for (const Mutation& m : batch) std::visit([&](const auto* r) { Declare(*r, wants); }, m.request);
  Snapshot snapshot = storage::LoadBatch(tx, wants);
  Changes changes;
  std::map<std::string, size_t> committed;  // request id → the request of the batch that took it
  const absl::Time now = clock.Now();
  for (size_t i = 0; i < n; ++i) {
    const Identity& id = ids[i];
    if (!id.request_id.empty()) {
      auto stored = snapshot.requests.find(id.request_id);
      if (stored != snapshot.requests.end()) {
        results[i] = stored->second.method == id.method && stored->second.request == id.bytes
                         ? MutationResult(stored->second.response)
                         : MutationResult(IdempotencyKeyReused(id.request_id));
        continue;
      }
      if (auto earlier = committed.find(id.request_id); earlier != committed.end()) {
        const Identity& first = ids[earlier->second];
        results[i] = std::string(first.method) == id.method && first.bytes == id.bytes
                         ? results[earlier->second]
                         : MutationResult(IdempotencyKeyReused(id.request_id));
        continue;
      }
    }
    Draft draft(snapshot, changes, now);
    results[i] = DecideOne(batch[i].request, draft);
    if (!results[i].ok()) continue;  // dropped: the request changed nothing
    draft.Commit();
    if (!id.request_id.empty()) {
      committed[id.request_id] = i;
      changes.requests.push_back({id.request_id, id.method, id.bytes, *results[i]});
    }
  }
  AnnounceAvailability(snapshot, changes);
  if (changes.requests.empty() && changes.events.empty() && changes.balances.empty() &&
      changes.usage.empty() && changes.safety.empty() && changes.new_holds.empty() &&
      changes.ended_holds.empty() && changes.movements.empty()) {
    return absl::OkStatus();  // every request failed or was answered from storage
  }
  if (!storage::WriteBatch(tx, snapshot, changes, now)) {
    // Another transaction created a row, took a hold id or stored a request id first: the next
    // attempt sees it (and refuses that request or answers it from what was stored).
    return MakeError(absl::StatusCode::kAborted, "TRANSACTION_CONFLICT",
                     "a row of the batch was written concurrently");
  }
  return absl::OkStatus();
}

// The batch's statements time out once every caller in it has given up.
pg::TransactionOptions OptionsFor(const std::vector<Mutation>& batch) {
  pg::TransactionOptions options;
  for (const Mutation& m : batch) {
    if (!m.deadline) return pg::TransactionOptions();
    options.deadline = std::max(options.deadline.value_or(absl::InfinitePast()), *m.deadline);
  }
  return options;
}

}  // namespace

Writer::Writer(pg::Database& db, const Clock& clock, batch::GroupCommitMetrics* metrics,
               batch::GroupCommitOptions options)
    : clock_(clock),
      // Every statement of the writer is a keyed look-up or write of a few rows (storage/
      // queries.h): planned once per connection, generically, and always as index look-ups,
      // whatever the tables' statistics said when the plan was made (an empty table's plan must
      // not stay a sequential scan once the table has grown).
      session_(db, {{"plan_cache_mode", "force_generic_plan"},
                    {"enable_seqscan", "off"},
                    {"enable_hashjoin", "off"},
                    {"enable_mergejoin", "off"},
                    {"jit", "off"}}),
      queue_(
          options, metrics, clock, [this](std::vector<Mutation>& batch) { return RunBatch(batch); },
          [](Mutation&& m, absl::Status why) {
            if (why.code() == absl::StatusCode::kDeadlineExceeded) {
              why = MakeError(absl::StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED",
                              "the request's deadline passed before its turn in the batch");
            }
            m.done(std::move(why));
          }) {}

void Writer::Submit(Mutation mutation) {
  std::optional<absl::Time> deadline = mutation.deadline;
  queue_.Push(std::move(mutation), deadline);
}

batch::GroupCommit<Mutation>::Answer Writer::RunBatch(std::vector<Mutation>& batch) {
  std::vector<Identity> ids;
  ids.reserve(batch.size());
  for (const Mutation& m : batch) ids.push_back(IdentityOf(m.request));
  const pg::TransactionOptions options = OptionsFor(batch);
  std::vector<MutationResult> results;
  const absl::Status status =
      session_
          .Run<bool>([&](pqxx::connection& conn) -> absl::StatusOr<bool> {
            RETURN_IF_ERROR(pg::RunInTransaction(conn, options, [&](pqxx::transaction_base& tx) {
              return DecideAndWrite(tx, clock_, batch, ids, results);
            }));
            return true;
          })
          .status();
  return [batch = std::move(batch), results = std::move(results), status]() mutable {
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i].done(status.ok() ? std::move(results[i]) : MutationResult(status));
    }
  };
}

}  // namespace kura::ledger
