#pragma once

// A thin layer over the SQLite C API for the register's local database.

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kura::pos_terminal {

/// One connection to a database file in WAL mode with synchronous=FULL, so that a transaction
/// is on disk when its COMMIT returns; other connections to the same file wait up to 10 s for a
/// lock. Not thread-safe: the owner serializes its use.
class SqliteDb {
 public:
  /// Opens (creating it if needed) the database at `path`. Errors: UNAVAILABLE.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  /// Runs SQL without parameters (several statements allowed).
  [[nodiscard]] absl::Status Exec(absl::string_view sql);
  /// Runs `body` inside BEGIN IMMEDIATE … COMMIT, rolling back when `body` fails.
  [[nodiscard]] absl::Status Transaction(const std::function<absl::Status()>& body);

  sqlite3* handle() { return db_; }
  /// The status for the connection's last error, `what` naming the operation.
  absl::Status Error(absl::string_view what);

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

/// A prepared statement; parameters and columns count from 1 and 0 as in SQLite.
class SqliteStatement {
 public:
  /// Prepares `sql` on `db`. Errors: INTERNAL.
  [[nodiscard]] static absl::StatusOr<SqliteStatement> Prepare(SqliteDb& db, absl::string_view sql);
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  ~SqliteStatement();

  /// Binds parameter `index` (copies the value). A bind error is returned by the next Step.
  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, absl::string_view text);
  SqliteStatement& BindBlob(int index, absl::string_view bytes);
  /// Runs one step: true when a row is ready to read, false when the statement is done.
  [[nodiscard]] absl::StatusOr<bool> Step();
  /// Steps until done, ignoring rows.
  [[nodiscard]] absl::Status Run();
  /// Makes the statement ready to be bound and run again.
  void Reset();

  int64_t Int(int column);
  std::string Text(int column);
  std::string Blob(int column);
  bool IsNull(int column);

 private:
  SqliteStatement(SqliteDb& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  int bind_error_ = SQLITE_OK;
};

}  // namespace kura::pos_terminal
