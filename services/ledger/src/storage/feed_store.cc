#include "storage/feed_store.h"

#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "storage/queries.h"

namespace kura::ledger::storage {

std::vector<EventRow> ListEvents(Tx& tx, int64_t after_sequence, int limit) {
  std::vector<EventRow> out;
  for (const pqxx::row& r : pg::Exec(tx, queries::kListEvents, after_sequence, limit)) {
    out.push_back({r["sequence"].as<int64_t>(), absl::FromUnixMicros(r["commit_us"].as<int64_t>()),
                   absl::HexStringToBytes(r["payload_hex"].as<std::string>())});
  }
  return out;
}

void AppendEvents(pqxx::transaction_base& tx,
                  const std::vector<kura::ledger::v1::ChangeEvent>& events) {
  if (events.empty()) return;
  // Stored without their sequence and commit time, which the feed's columns carry.
  std::vector<std::string> payloads;
  for (const auto& event : events) {
    payloads.push_back(absl::BytesToHexString(event.SerializeAsString()));
  }
  pg::Exec(tx, queries::kAppendEvents, pg::SqlTextArray(payloads));
}

int64_t FeedHead(Tx& tx) { return pg::Exec1(tx, queries::kFeedHead)["last"].as<int64_t>(); }

}  // namespace kura::ledger::storage
