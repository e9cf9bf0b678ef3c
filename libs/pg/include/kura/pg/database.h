#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pqxx/connection>
#include <pqxx/nontransaction>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/base/remote_calls.h"
#include "kura/pg/transaction.h"

namespace kura::pg {

/// Settings of a Database.
struct DatabaseOptions {
  std::string dsn;  ///< libpq URI or keyword string.
  int threads = 4;  ///< DB threads, each with its own connection.
  absl::Duration connect_timeout = absl::Seconds(5);
  std::string application_name = "kura";
  /// When set, every connection starts with `SET search_path TO <search_path>, public`, so
  /// that a service's SQL names its own schema's tables unqualified.
  std::string search_path;
};

/// A pool of DB threads, each owning one PostgreSQL connection. Work submitted from any thread
/// runs on the next free DB thread with that thread's connection, so a connection is never used
/// by two threads at once. A connection that breaks is dropped and reopened on its thread's next
/// task, so the pool heals by itself when the server comes back. Thread-safe.
class Database {
 public:
  /// Starts `options.threads` DB threads after checking that the server is reachable with one
  /// connection. Errors: INVALID_ARGUMENT for a malformed DSN, UNAVAILABLE (naming host, port and
  /// database, never the password) when the server cannot be reached.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Database>> Open(DatabaseOptions options);

  /// Finishes the queued work, then stops the threads and closes the connections.
  ~Database();

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs `fn` on a DB thread with its open connection and returns its result through the
  /// future. When no connection can be opened, `fn` is not called and the result is
  /// UNAVAILABLE. A result of UNAVAILABLE (see RunInTransaction) drops the connection. An
  /// exception escaping `fn` becomes INTERNAL.
  template <typename T>
  std::future<absl::StatusOr<T>> Submit(std::function<absl::StatusOr<T>(pqxx::connection&)> fn) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<T>>>();
    std::future<absl::StatusOr<T>> future = promise->get_future();
    Enqueue([fn = std::move(fn), promise](absl::StatusOr<pqxx::connection*> conn) {
      absl::StatusOr<T> result = conn.ok() ? Guarded<T>(fn, **conn) : conn.status();
      absl::Status status = result.status();
      promise->set_value(std::move(result));
      return status;
    });
    return future;
  }

  /// Runs `fn` like Submit and waits for its result.
  template <typename T>
  absl::StatusOr<T> Run(std::function<absl::StatusOr<T>(pqxx::connection&)> fn) {
    return Submit<T>(std::move(fn)).get();
  }

  /// Opens a new connection with the pool's settings (search_path), outside the pool. Errors:
  /// UNAVAILABLE naming the server.
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect() const;

  /// Returns "host:port/dbname" of the server, for messages.
  const std::string& description() const { return description_; }
  /// Returns the number of DB threads (and connections).
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  // Runs with the thread's connection, or the reason none could be opened; returns the
  // status of the work so the thread can drop a broken connection.
  using Task = std::function<absl::Status(absl::StatusOr<pqxx::connection*>)>;

  Database(std::string conninfo, std::string description, std::string search_path);
  void Enqueue(Task task) ABSL_LOCKS_EXCLUDED(mu_);
  void ThreadMain() ABSL_LOCKS_EXCLUDED(mu_);

  template <typename T>
  static absl::StatusOr<T> Guarded(const std::function<absl::StatusOr<T>(pqxx::connection&)>& fn,
                                   pqxx::connection& conn) {
    base::NoRemoteCalls no_remote_calls;
    try {
      return fn(conn);
    } catch (...) {
      return StatusFromCurrentException();
    }
  }

  const std::string conninfo_;
  const std::string description_;
  const std::string search_path_;
  std::mutex mu_;  // std::mutex, not absl::Mutex: see docs/decisions/001
  std::condition_variable work_or_stop_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

/// A connection for one thread's own use, such as a writer that runs its transactions itself
/// rather than handing them to a DB thread: opened on first use with the pool's settings plus
/// `settings` (name → value, applied with SET), reopened after it breaks. Not thread-safe.
class Session {
 public:
  Session(const Database& db, std::vector<std::pair<std::string, std::string>> settings)
      : db_(db), settings_(std::move(settings)) {}

  /// Runs `fn` with the open connection, on this thread. As Database::Run: UNAVAILABLE when no
  /// connection can be opened, an exception becomes INTERNAL, UNAVAILABLE or UNKNOWN from `fn`
  /// drops the connection.
  template <typename T>
  absl::StatusOr<T> Run(const std::function<absl::StatusOr<T>(pqxx::connection&)>& fn) {
    absl::Status open = Open();
    if (!open.ok()) return open;
    absl::StatusOr<T> result;
    try {
      base::NoRemoteCalls no_remote_calls;
      result = fn(*conn_);
    } catch (...) {
      result = StatusFromCurrentException();
    }
    if (result.status().code() == absl::StatusCode::kUnavailable ||
        result.status().code() == absl::StatusCode::kUnknown) {
      conn_.reset();  // broken, or in an unknown state: start afresh next time
    }
    return result;
  }

 private:
  absl::Status Open();

  const Database& db_;
  const std::vector<std::pair<std::string, std::string>> settings_;
  std::unique_ptr<pqxx::connection> conn_;
};

/// Runs a read-only `body` on one of `db`'s connections with no transaction (each statement
/// commits on its own), waiting for the result.
template <typename T>
absl::StatusOr<T> ReadEach(Database& db,
                           const std::function<absl::StatusOr<T>(pqxx::transaction_base&)>& body) {
  return db.Run<T>([&](pqxx::connection& c) -> absl::StatusOr<T> {
    pqxx::nontransaction tx(c);
    return body(tx);
  });
}

/// RunInTransaction on one of `db`'s connections, waiting for the result.
template <typename T>
absl::StatusOr<T> Transact(Database& db, const TransactionOptions& options,
                           const std::function<absl::StatusOr<T>(pqxx::transaction_base&)>& body) {
  return db.Run<T>([&](pqxx::connection& c) { return RunInTransaction<T>(c, options, body); });
}

}  // namespace kura::pg
