#include "journal.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"

namespace kura::pos_terminal {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  transaction_id TEXT NOT NULL UNIQUE,
  entry BLOB NOT NULL,  -- a serialized kura.pos.v1.JournalEntry
  state INTEGER NOT NULL,  -- EntryState: 0 pending, 1 synced, 2 refused
  oversold INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  printed INTEGER NOT NULL DEFAULT 0,  -- its receipt was printed (or shown without a printer)
  labels BLOB NOT NULL DEFAULT x'',  -- a serialized kura.pos.v1.Receipt: the lines' labels
  original_transaction_id TEXT NOT NULL DEFAULT ''  -- a return's sale
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
-- The gateway's last UNAUTHENTICATED or PERMISSION_DENIED answer, while it refuses the terminal.
CREATE TABLE IF NOT EXISTS terminal_refusal (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  code INTEGER NOT NULL,  -- absl::StatusCode
  reason TEXT NOT NULL,  -- google.rpc.ErrorInfo reason, or empty
  message TEXT NOT NULL
);
)sql";

// Columns added after the journal table was first released to testers: a database written
// before them gets them here. Rows from before the printed flag count as printed, so that an
// upgrade does not reprint every old sale.
constexpr struct {
  const char* name;
  const char* add;
} kAddedColumns[] = {
    {"printed", "ALTER TABLE journal ADD COLUMN printed INTEGER NOT NULL DEFAULT 1"},
    {"labels", "ALTER TABLE journal ADD COLUMN labels BLOB NOT NULL DEFAULT x''"},
    {"original_transaction_id",
     "ALTER TABLE journal ADD COLUMN original_transaction_id TEXT NOT NULL DEFAULT ''"},
};
constexpr char kColumns[] = "SELECT name FROM pragma_table_info('journal')";
constexpr char kSelectReturnsToIndex[] =
    "SELECT seq, entry FROM journal WHERE original_transaction_id = ''";
constexpr char kSetOriginal[] = "UPDATE journal SET original_transaction_id = ?2 WHERE seq = ?1";
constexpr char kIndexByOriginal[] =
    "CREATE INDEX IF NOT EXISTS journal_by_original ON journal (original_transaction_id, seq)";

constexpr char kIncrementCounter[] =
    "UPDATE transaction_counter SET last = last + 1 WHERE id = 1 RETURNING last, series";
constexpr char kInsertEntry[] =
    "INSERT INTO journal (transaction_id, entry, state, printed, labels, original_transaction_id) "
    "VALUES (?1, ?2, 0, 0, ?3, ?4)";
constexpr char kSelectColumns[] =
    "SELECT seq, transaction_id, entry, state, oversold, error, printed, labels FROM journal ";
constexpr char kSelectPending[] = "WHERE state = 0 ORDER BY seq LIMIT ?1";
constexpr char kSelectById[] = "WHERE transaction_id = ?2 LIMIT ?1";
constexpr char kSelectNewest[] = "ORDER BY seq DESC LIMIT ?1";
constexpr char kSelectUnprinted[] = "WHERE printed = 0 AND state <> 2 ORDER BY seq LIMIT ?1";
constexpr char kSelectReturnsOf[] = "WHERE original_transaction_id = ?2 ORDER BY seq LIMIT ?1";
constexpr char kUpdateState[] =
    "UPDATE journal SET state = ?2, oversold = ?3, error = ?4 "
    "WHERE transaction_id = ?1 AND state = 0";
constexpr char kSetLabels[] = "UPDATE journal SET labels = ?2 WHERE transaction_id = ?1";
constexpr char kMarkPrinted[] = "UPDATE journal SET printed = 1 WHERE transaction_id = ?1";
constexpr char kCountStates[] = "SELECT state, count(*) FROM journal GROUP BY state";
constexpr char kSelectRefusal[] = "SELECT code, reason, message FROM terminal_refusal WHERE id = 1";
constexpr char kSetRefusal[] =
    "INSERT OR REPLACE INTO terminal_refusal (id, code, reason, message) VALUES (1, ?1, ?2, ?3)";
constexpr char kClearRefusal[] = "DELETE FROM terminal_refusal";

// Brings a journal written by an earlier build up to the current columns (inside the opening
// transaction).
absl::Status Migrate(SqliteDb& db) {
  std::set<std::string> columns;
  {
    absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(db, kColumns);
    if (!stmt.ok()) return stmt.status();
    while (true) {
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      columns.insert(stmt->Text(0));
    }
  }
  bool index_returns = false;
  for (const auto& column : kAddedColumns) {
    if (columns.count(column.name)) continue;
    if (absl::Status s = db.Exec(column.add); !s.ok()) return s;
    index_returns |= std::string(column.name) == "original_transaction_id";
  }
  if (index_returns) {
    // Returns written before the column: their sale is in the entry.
    std::vector<std::pair<int64_t, std::string>> returns;
    {
      absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(db, kSelectReturnsToIndex);
      if (!stmt.ok()) return stmt.status();
      while (true) {
        absl::StatusOr<bool> row = stmt->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        v1::JournalEntry entry;
        if (entry.ParseFromString(stmt->Blob(1)) && entry.has_return_() &&
            !entry.return_().original_transaction_id().empty()) {
          returns.emplace_back(stmt->Int(0), entry.return_().original_transaction_id());
        }
      }
    }
    absl::StatusOr<SqliteStatement> update = SqliteStatement::Prepare(db, kSetOriginal);
    if (!update.ok()) return update.status();
    for (const auto& [seq, original] : returns) {
      update->Reset();
      update->Bind(1, seq).Bind(2, original);
      if (absl::Status s = update->Run(); !s.ok()) return s;
    }
  }
  return db.Exec(kIndexByOriginal);
}

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
  if (absl::Status s = handle.Transaction([&]() -> absl::Status {
        if (absl::Status created = handle.Exec(kSchema); !created.ok()) return created;
        return Migrate(handle);
      });
      !s.ok()) {
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

absl::Status Journal::Append(const v1::JournalEntry& entry, const v1::Receipt& labels) {
  const std::string id = TransactionIdOf(entry);
  if (id.empty()) return absl::InvalidArgumentError("a journal entry needs a transaction id");
  // The gateway takes a sale or a return only with the time it happened.
  if (entry.has_sale() ? !entry.sale().has_occurred_at() : !entry.return_().has_occurred_at()) {
    return absl::InvalidArgumentError(
        absl::StrCat("journal entry ", id, " needs the time it happened (occurred_at)"));
  }
  std::string bytes, label_bytes;
  if (!entry.SerializeToString(&bytes) || !labels.SerializeToString(&label_bytes)) {
    return absl::InternalError("cannot serialize the entry");
  }
  const std::string original =
      entry.has_return_() ? entry.return_().original_transaction_id() : std::string();
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transaction([&]() -> absl::Status {
    absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(*db_, kInsertEntry);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, id).BindBlob(2, bytes).BindBlob(3, label_bytes).Bind(4, original);
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
    r.printed = stmt->Int(6) != 0;
    if (!r.labels.ParseFromString(stmt->Blob(7))) r.labels.Clear();  // only labels: not fatal
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

absl::StatusOr<std::vector<JournalRecord>> Journal::Unprinted(int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  return Select(kSelectUnprinted, limit, "");
}

absl::StatusOr<std::vector<JournalRecord>> Journal::ReturnsOf(
    absl::string_view original_transaction_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (original_transaction_id.empty()) return std::vector<JournalRecord>();
  return Select(kSelectReturnsOf, -1, original_transaction_id);  // LIMIT -1: all
}

absl::Status Journal::SetLabels(absl::string_view transaction_id, const v1::Receipt& labels) {
  std::string bytes;
  if (!labels.SerializeToString(&bytes)) return absl::InternalError("cannot serialize the labels");
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transaction([&]() -> absl::Status {
    absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(*db_, kSetLabels);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, transaction_id).BindBlob(2, bytes);
    return stmt->Run();
  });
}

absl::Status Journal::MarkPrinted(absl::string_view transaction_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transaction([&]() -> absl::Status {
    absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(*db_, kMarkPrinted);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, transaction_id);
    return stmt->Run();
  });
}

absl::Status Journal::SetRefusal(const absl::Status& refusal) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->Transaction([&]() -> absl::Status {
    if (refusal.ok()) return db_->Exec(kClearRefusal);
    absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(*db_, kSetRefusal);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, static_cast<int64_t>(refusal.code()))
        .Bind(2, ErrorReason(refusal))
        .Bind(3, refusal.message());
    return stmt->Run();
  });
}

absl::StatusOr<std::optional<absl::Status>> Journal::Refusal() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<SqliteStatement> stmt = SqliteStatement::Prepare(*db_, kSelectRefusal);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  const auto code = static_cast<absl::StatusCode>(stmt->Int(0));
  const std::string reason = stmt->Text(1);
  const std::string message = stmt->Text(2);
  if (code == absl::StatusCode::kOk) return std::nullopt;
  // Wrapped: a bare absl::Status would make the StatusOr an error.
  return std::optional<absl::Status>(reason.empty() ? absl::Status(code, message)
                                                    : MakeError(code, reason, message));
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
