#include "journal.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace kura::pos_terminal {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  transaction_id TEXT NOT NULL UNIQUE,
  entry BLOB NOT NULL,  -- a serialized kura.pos.v1.JournalEntry
  state INTEGER NOT NULL,  -- EntryState: 0 pending, 1 synced, 2 refused
  oversold INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS journal_by_state ON journal (state, seq);
CREATE TABLE IF NOT EXISTS transaction_counter (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last INTEGER NOT NULL,
  -- Random per journal database: a register whose data directory was lost starts a new series
  -- of ids rather than reusing ids the gateway has recorded.
  series TEXT NOT NULL
);
INSERT OR IGNORE INTO transaction_counter (id, last, series)
  VALUES (1, 0, lower(hex(randomblob(4))));
)sql";

constexpr char kIncrementCounter[] =
    "UPDATE transaction_counter SET last = last + 1 WHERE id = 1 RETURNING last, series";
constexpr char kInsertEntry[] =
    "INSERT INTO journal (transaction_id, entry, state) VALUES (?1, ?2, 0)";
constexpr char kSelectColumns[] =
    "SELECT seq, transaction_id, entry, state, oversold, error FROM journal ";
constexpr char kSelectPending[] = "WHERE state = 0 ORDER BY seq LIMIT ?1";
constexpr char kSelectById[] = "WHERE transaction_id = ?2 LIMIT ?1";
constexpr char kSelectNewest[] = "ORDER BY seq DESC LIMIT ?1";
constexpr char kUpdateState[] =
    "UPDATE journal SET state = ?2, oversold = ?3, error = ?4 "
    "WHERE transaction_id = ?1 AND state = 0";
constexpr char kCountStates[] = "SELECT state, count(*) FROM journal GROUP BY state";

}  // namespace

std::string TransactionIdOf(const v1::JournalEntry& entry) {
  switch (entry.entry_case()) {
    case v1::JournalEntry::kSale:
      return entry.sale().transaction_id();
    case v1::JournalEntry::kReturn:
      return entry.return_().transaction_id();
    case v1::JournalEntry::ENTRY_NOT_SET:
      break;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<Journal>> Journal::Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open(path);
  if (!db.ok()) return db.status();
  SqliteDb& handle = **db;
  if (absl::Status s = handle.Transaction([&] { return handle.Exec(kSchema); }); !s.ok()) {
    return s;
  }
  return std::unique_ptr<Journal>(new Journal(*std::move(db)));
}

absl::StatusOr<std::string> Journal::NextTransactionId(absl::string_view terminal) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t number = 0;
  std::string series;
  absl::Status status = db_->Transaction([&]() -> absl::Status {
    absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(*db_, kIncrementCounter);
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::InternalError("the transaction counter is missing");
    number = stmt->Int(0);
    series = stmt->Text(1);
    return stmt->Run();
  });
  if (!status.ok()) return status;
  return absl::StrCat(terminal, "-", series, "-", number);
}

absl::Status Journal::Append(const v1::JournalEntry& entry) {
  const std::string id = TransactionIdOf(entry);
  if (id.empty()) return absl::InvalidArgumentError("a journal entry needs a transaction id");
  std::string bytes;
  if (!entry.SerializeToString(&bytes)) return absl::InternalError("cannot serialize the entry");
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transaction([&]() -> absl::Status {
    absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(*db_, kInsertEntry);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, id).BindBlob(2, bytes);
    return stmt->Run();
  });
}

absl::StatusOr<std::vector<JournalRecord>> Journal::Select(absl::string_view where, int limit,
                                                           absl::string_view key) {
  absl::StatusOr<SqliteStatement> stmt =
      SqliteStatement::Prepare(*db_, absl::StrCat(kSelectColumns, where));
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, int64_t{limit});
  if (!key.empty()) stmt->Bind(2, key);
  std::vector<JournalRecord> records;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    JournalRecord& r = records.emplace_back();
    r.seq = stmt->Int(0);
    r.transaction_id = stmt->Text(1);
    if (!r.entry.ParseFromString(stmt->Blob(2))) {
      return absl::DataLossError(absl::StrCat("journal entry ", r.transaction_id, " is corrupt"));
    }
    r.state = static_cast<EntryState>(stmt->Int(3));
    r.oversold = stmt->Int(4) != 0;
    r.error = stmt->Text(5);
  }
  return records;
}

absl::StatusOr<std::vector<JournalRecord>> Journal::Pending(int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  return Select(kSelectPending, limit, "");
}

absl::StatusOr<std::optional<JournalRecord>> Journal::Find(absl::string_view transaction_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (transaction_id.empty()) return std::nullopt;
  absl::StatusOr<std::vector<JournalRecord>> found = Select(kSelectById, 1, transaction_id);
  if (!found.ok()) return found.status();
  if (found->empty()) return std::nullopt;
  return std::move(found->front());
}

absl::StatusOr<std::optional<JournalRecord>> Journal::Newest() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::vector<JournalRecord>> found = Select(kSelectNewest, 1, "");
  if (!found.ok()) return found.status();
  if (found->empty()) return std::nullopt;
  return std::move(found->front());
}

absl::Status Journal::SetState(absl::string_view transaction_id, EntryState state, bool oversold,
                               absl::string_view error) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transaction([&]() -> absl::Status {
    absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(*db_, kUpdateState);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, transaction_id)
        .Bind(2, static_cast<int64_t>(state))
        .Bind(3, int64_t{oversold})
        .Bind(4, error);
    return stmt->Run();
  });
}

absl::Status Journal::MarkSynced(absl::string_view transaction_id, bool oversold) {
  return SetState(transaction_id, EntryState::kSynced, oversold, "");
}

absl::Status Journal::MarkRefused(absl::string_view transaction_id, absl::string_view error) {
  return SetState(transaction_id, EntryState::kRefused, false, error);
}

absl::StatusOr<JournalCounts> Journal::Counts() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(*db_, kCountStates);
  if (!stmt.ok()) return stmt.status();
  JournalCounts counts;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return counts;
    switch (static_cast<EntryState>(stmt->Int(0))) {
      case EntryState::kPending:
        counts.pending = stmt->Int(1);
        break;
      case EntryState::kSynced:
        counts.synced = stmt->Int(1);
        break;
      case EntryState::kRefused:
        counts.refused = stmt->Int(1);
        break;
    }
  }
}

}  // namespace kura::pos_terminal
