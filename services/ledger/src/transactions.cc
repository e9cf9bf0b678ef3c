#include "transactions.h"

#include "kura/base/error.h"
#include "kura/base/proto_util.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"
#include "storage/feed_store.h"
#include "storage/requests_store.h"

namespace kura::ledger {
absl::StatusOr<std::string> MutateOnce(pg::Database& db, const Clock& clock, const char* method,
                                       const google::protobuf::Message& request,
                                       const std::string& request_id, const Effect& effect) {
  RETURN_IF_ERROR(ValidateRequestId(request_id));
  const std::string bytes = DeterministicBytes(request);
  const pg::TransactionOptions options{.deadline = rpc::CurrentDeadline()};
  return pg::Transact<std::string>(
      db, options, [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::string> {
        if (!storage::ClaimRequest(tx, request_id, method, bytes)) {
          storage::StoredAnswer stored = storage::StoredRequest(tx, request_id, method, bytes);
          if (!stored.same) return IdempotencyKeyReused(request_id);
          return stored.response;
        }
        std::vector<v1::ChangeEvent> events;
        ASSIGN_OR_RETURN(std::string response, effect(tx, events, clock.Now()));
        storage::StoreResponse(tx, request_id, response);
        storage::AppendEvents(tx, events);
        return response;
      });
}

}  // namespace kura::ledger
