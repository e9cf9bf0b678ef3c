#include "kura/pg/database.h"

#include <pqxx/nontransaction>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "kura/base/error.h"
#include "kura/pg/dsn.h"

namespace kura::pg {
namespace {

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...");
// logs and start-up errors want one line.
std::string OneLine(absl::string_view text) {
  std::string out = absl::StrReplaceAll(text, {{"\n", " "}, {"\t", " "}});
  absl::RemoveExtraAsciiWhitespace(&out);
  return out;
}

absl::Status Unreachable(const std::string& description, absl::string_view why) {
  return MakeError(
      absl::StatusCode::kUnavailable, "DATABASE_UNAVAILABLE",
      absl::StrCat("cannot connect to PostgreSQL at ", description, ": ", OneLine(why)),
      {{"database", description}});
}

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> Database::Open(DatabaseOptions options) {
  auto description = DescribeDsn(options.dsn);
  if (!description.ok()) return description.status();
  auto conninfo = WithConnectOptions(
      options.dsn, static_cast<int>(absl::ToInt64Seconds(options.connect_timeout)),
      options.application_name);
  if (!conninfo.ok()) return conninfo.status();
  try {
    pqxx::connection probe(*conninfo);
  } catch (const std::exception& e) {
    return Unreachable(*description, e.what());
  }
  std::unique_ptr<Database> db(
      new Database(*std::move(conninfo), *std::move(description), options.search_path));
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    db->threads_.emplace_back([raw = db.get()] { raw->ThreadMain(); });
  }
  return db;
}

Database::Database(std::string conninfo, std::string description, std::string search_path)
    : conninfo_(std::move(conninfo)),
      description_(std::move(description)),
      search_path_(std::move(search_path)) {}

Database::~Database() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_or_stop_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void Database::Enqueue(Task task) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(task));
      work_or_stop_.notify_one();
      return;
    }
  }
  task(MakeError(absl::StatusCode::kUnavailable, "SHUTTING_DOWN",
                 "the database pool is shutting down"))
      .IgnoreError();
}

void Database::ThreadMain() {
  std::unique_ptr<pqxx::connection> conn;
  while (true) {
    Task task;
    {
      std::unique_lock lock(mu_);
      work_or_stop_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and all queued work is done
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    if (conn == nullptr || !conn->is_open()) {
      auto opened = Connect();
      if (!opened.ok()) {
        conn.reset();
        task(opened.status()).IgnoreError();
        continue;
      }
      conn = *std::move(opened);
    }
    absl::Status status = task(conn.get());
    if (status.code() == absl::StatusCode::kUnavailable ||
        status.code() == absl::StatusCode::kUnknown) {
      conn.reset();  // broken, or in an unknown state: start afresh next time
    }
  }
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Database::Connect() const {
  try {
    auto conn = std::make_unique<pqxx::connection>(conninfo_);
    if (!search_path_.empty()) {
      pqxx::nontransaction tx(*conn);
      tx.exec("SET search_path TO " + conn->quote_name(search_path_) + ", public");
    }
    return conn;
  } catch (const std::exception& e) {
    return Unreachable(description_, e.what());
  }
}

absl::Status Session::Open() {
  if (conn_ != nullptr && conn_->is_open()) return absl::OkStatus();
  conn_.reset();
  auto opened = db_.Connect();
  if (!opened.ok()) return opened.status();
  try {
    pqxx::nontransaction tx(**opened);
    for (const auto& [name, value] : settings_) {
      tx.exec("SET " + tx.quote_name(name) + " TO " + tx.quote(value));
    }
  } catch (...) {
    return StatusFromCurrentException();
  }
  conn_ = *std::move(opened);
  return absl::OkStatus();
}

}  // namespace kura::pg
