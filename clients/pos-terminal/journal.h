#pragma once

// The register's durable journal of sales and returns, its transaction counter, and whether the
// gateway refuses the terminal.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kura/pos/v1/pos.pb.h"
#include "sqlite.h"

namespace kura::pos_terminal {

namespace v1 = ::kura::pos::v1;

/// Where a journal entry stands.
enum class EntryState {
  /// Written, not yet confirmed by the gateway: replayed until it is.
  kPending,
  /// The gateway has it (applied now or before).
  kSynced,
  /// The gateway refused it for good (its error is kept); never resent.
  kRefused,
};

/// One journal row.
struct JournalRecord {
  /// Order of writing: replay goes by it.
  int64_t seq = 0;
  std::string transaction_id;
  v1::JournalEntry entry;
  EntryState state = EntryState::kPending;
  /// The gateway reported that the entry drove some stock below zero.
  bool oversold = false;
  /// Why the gateway refused it.
  std::string error;
  /// Its receipt was printed (or, without a printer, shown on the screen).
  bool printed = false;
  /// What the register showed for each line of the entry, in order, as a receipt holding only
  /// lines: sku, name, quantity, reduced_rate and, on a return, the line's refund as
  /// amount_yen (see receipts.h, LabelsToProto). Empty when none was kept.
  v1::Receipt labels;
};

/// How many entries are in each state.
struct JournalCounts {
  int64_t pending = 0;
  int64_t synced = 0;
  int64_t refused = 0;
};

/// Returns the transaction id of a sale or return entry (empty for an empty entry).
std::string TransactionIdOf(const v1::JournalEntry& entry);

/// The journal in SQLite (its own connection to the register's database). Every write is one
/// transaction that is on disk when the call returns, so a process killed at any instant keeps
/// every entry it reported written, and no other. Thread-safe.
class Journal {
 public:
  /// Opens the journal in the database at `path`, creating its tables if needed. Errors:
  /// UNAVAILABLE or INTERNAL from SQLite.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Journal>> Open(const std::string& path);

  /// Allocates the next transaction id, `<terminal>-<series>-<n>`: the counter's increment is
  /// committed before the id is returned, so no id is ever handed out twice, even across
  /// restarts (one may be skipped when the process dies before using it). The series is random
  /// per journal database, so a register that lost its data directory cannot reuse an id.
  [[nodiscard]] absl::StatusOr<std::string> NextTransactionId(absl::string_view terminal)
      ABSL_LOCKS_EXCLUDED(mu_);
  /// Writes `entry` as pending and not printed, with the `labels` of its lines. Errors:
  /// INVALID_ARGUMENT for an entry without a transaction id or without occurred_at,
  /// ALREADY_EXISTS when that id is in the journal already.
  [[nodiscard]] absl::Status Append(const v1::JournalEntry& entry,
                                    const v1::Receipt& labels = v1::Receipt())
      ABSL_LOCKS_EXCLUDED(mu_);
  /// Returns up to `limit` pending entries, oldest first.
  [[nodiscard]] absl::StatusOr<std::vector<JournalRecord>> Pending(int limit)
      ABSL_LOCKS_EXCLUDED(mu_);
  /// Marks a pending entry synced. An entry not pending is left as it is.
  [[nodiscard]] absl::Status MarkSynced(absl::string_view transaction_id, bool oversold)
      ABSL_LOCKS_EXCLUDED(mu_);
  /// Marks a pending entry refused with `error`. An entry not pending is left as it is.
  [[nodiscard]] absl::Status MarkRefused(absl::string_view transaction_id, absl::string_view error)
      ABSL_LOCKS_EXCLUDED(mu_);
  /// Replaces the labels of `transaction_id` (with the gateway's, once it booked the entry).
  [[nodiscard]] absl::Status SetLabels(absl::string_view transaction_id, const v1::Receipt& labels)
      ABSL_LOCKS_EXCLUDED(mu_);
  /// Records that the receipt of `transaction_id` was printed.
  [[nodiscard]] absl::Status MarkPrinted(absl::string_view transaction_id) ABSL_LOCKS_EXCLUDED(mu_);
  /// Returns up to `limit` (all when negative) entries whose receipt was never printed, oldest
  /// first; refused entries (nothing happened) are left out.
  [[nodiscard]] absl::StatusOr<std::vector<JournalRecord>> Unprinted(int limit)
      ABSL_LOCKS_EXCLUDED(mu_);
  /// Returns the return entries naming `original_transaction_id` as their sale, in every state,
  /// oldest first.
  [[nodiscard]] absl::StatusOr<std::vector<JournalRecord>> ReturnsOf(
      absl::string_view original_transaction_id) ABSL_LOCKS_EXCLUDED(mu_);
  /// Returns the number of entries in each state.
  [[nodiscard]] absl::StatusOr<JournalCounts> Counts() ABSL_LOCKS_EXCLUDED(mu_);
  /// Returns the entry of `transaction_id`, or nullopt.
  [[nodiscard]] absl::StatusOr<std::optional<JournalRecord>> Find(absl::string_view transaction_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  /// Returns the newest entry, or nullopt when the journal is empty.
  [[nodiscard]] absl::StatusOr<std::optional<JournalRecord>> Newest() ABSL_LOCKS_EXCLUDED(mu_);

  /// Records that the gateway refuses this terminal (`refusal`: its UNAUTHENTICATED or
  /// PERMISSION_DENIED answer), or takes it again (OK), so that a restart keeps a refused
  /// register locked until the gateway answers a call.
  [[nodiscard]] absl::Status SetRefusal(const absl::Status& refusal) ABSL_LOCKS_EXCLUDED(mu_);
  /// Returns the refusal recorded by SetRefusal (code, ErrorInfo reason and message), or nullopt
  /// when the gateway took the terminal last (or never refused it).
  [[nodiscard]] absl::StatusOr<std::optional<absl::Status>> Refusal() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit Journal(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::StatusOr<std::vector<JournalRecord>> Select(absl::string_view where, int limit,
                                                    absl::string_view key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SetState(absl::string_view transaction_id, EntryState state, bool oversold,
                        absl::string_view error) ABSL_LOCKS_EXCLUDED(mu_);

  std::mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kura::pos_terminal
