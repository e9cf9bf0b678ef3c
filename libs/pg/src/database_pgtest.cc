// Database pool and transaction helper against the real PostgreSQL that scripts/test starts.
#include <prometheus/registry.h>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <set>
#include <thread>

#include "kura/base/error.h"
#include "kura/base/remote_calls.h"
#include "kura/pg/database.h"
#include "kura/pg/query.h"
#include "kura/pg/sql.h"
#include "kura/pg/transaction.h"
#include "kura/testing/testing.h"

namespace kura::pg {
namespace {

using kura::testing::TestDatabase;

std::unique_ptr<Database> OpenPool(const TestDatabase& db, int threads) {
  auto opened = Database::Open({.dsn = db.dsn(), .threads = threads});
  REQUIRE(opened.ok());
  return *std::move(opened);
}

absl::Status Exec(Database& pool, std::string sql) {
  return pool
      .Run<bool>([sql](pqxx::connection& c) -> absl::StatusOr<bool> {
        pqxx::nontransaction tx(c);
        tx.exec(sql);
        return true;
      })
      .status();
}

TEST_CASE("The pool runs concurrent work on one connection per thread") {
  TestDatabase db("pool");
  constexpr int kThreads = 4;
  auto pool = OpenPool(db, kThreads);
  REQUIRE(Exec(*pool,
               "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL);"
               "INSERT INTO counter VALUES (1, 0)")
              .ok());

  // 8 submitters × 25 increments, each holding its connection ~2 ms so that threads overlap.
  std::mutex mu;
  std::set<int> backends;
  std::vector<std::thread> submitters;
  std::atomic<int> failures{0};
  for (int s = 0; s < 8; ++s) {
    submitters.emplace_back([&] {
      std::vector<std::future<absl::StatusOr<int>>> futures;
      for (int i = 0; i < 25; ++i) {
        futures.push_back(pool->Submit<int>([](pqxx::connection& c) {
          return RunInTransaction<int>(c, {},
                                       [](pqxx::transaction_base& tx) -> absl::StatusOr<int> {
                                         tx.exec("SELECT pg_sleep(0.002)");
                                         tx.exec("UPDATE counter SET n = n + 1 WHERE id = 1");
                                         return tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
                                       });
        }));
      }
      for (auto& f : futures) {
        absl::StatusOr<int> pid = f.get();
        if (!pid.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        backends.insert(*pid);
      }
    });
  }
  for (auto& t : submitters) t.join();

  REQUIRE(failures == 0);
  auto total = pool->Run<int>([](pqxx::connection& c) -> absl::StatusOr<int> {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT n FROM counter WHERE id = 1")[0][0].as<int>();
  });
  REQUIRE(*total == 200);
  // Every DB thread took part, and no more connections than threads were ever opened.
  REQUIRE(backends.size() == kThreads);
}

TEST_CASE("An exception escaping the work becomes INTERNAL and the pool carries on") {
  TestDatabase db("pool_err");
  auto pool = OpenPool(db, 1);
  auto failed = pool->Run<int>([](pqxx::connection& c) -> absl::StatusOr<int> {
    pqxx::nontransaction tx(c);
    tx.exec("SELECT * FROM no_such_table");
    return 1;
  });
  REQUIRE(failed.status().code() == absl::StatusCode::kInternal);
  REQUIRE(ErrorMetadata(failed.status()).at("sqlstate") == "42P01");
  auto ok = pool->Run<int>([](pqxx::connection& c) -> absl::StatusOr<int> {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT 7")[0][0].as<int>();
  });
  REQUIRE(*ok == 7);
}

TEST_CASE("A broken connection is replaced on the next task") {
  TestDatabase db("pool_heal");
  auto pool = OpenPool(db, 1);
  auto pid = pool->Run<int>([](pqxx::connection& c) -> absl::StatusOr<int> {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
  });
  REQUIRE(pid.ok());
  {
    pqxx::connection killer(db.dsn());
    pqxx::nontransaction tx(killer);
    tx.exec_params("SELECT pg_terminate_backend($1)", *pid);
  }
  auto broken = pool->Run<bool>([](pqxx::connection& c) -> absl::StatusOr<bool> {
    return RunInTransaction<bool>(c, {}, [](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
      tx.exec("SELECT 1");
      return true;
    });
  });
  REQUIRE(broken.status().code() == absl::StatusCode::kUnavailable);
  auto healed = pool->Run<int>([](pqxx::connection& c) -> absl::StatusOr<int> {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
  });
  REQUIRE(healed.ok());
  REQUIRE(*healed != *pid);
}

TEST_CASE("An unreachable server is reported with host and port, never the password") {
  int port = kura::testing::FreePort();
  auto opened =
      Database::Open({.dsn = "postgresql://kura:s3cret@127.0.0.1:" + std::to_string(port) + "/kura",
                      .threads = 1,
                      .connect_timeout = absl::Seconds(2)});
  REQUIRE(opened.status().code() == absl::StatusCode::kUnavailable);
  std::string message(opened.status().message());
  REQUIRE(message.find("127.0.0.1:" + std::to_string(port) + "/kura") != std::string::npos);
  REQUIRE(message.find("s3cret") == std::string::npos);
  REQUIRE(message.find('\n') == std::string::npos);
}

// Two SERIALIZABLE transactions each read the on-call doctors and take one off duty if at least
// two are on call (the classic write skew). Both read before either writes, so PostgreSQL must
// fail one of them with a serialization failure; RunInTransaction retries it, and on the retry it
// sees the other's commit and leaves its doctor on call.
// Lets `count` threads meet; a thread that waits 10 s in vain records it instead of hanging.
class TimedBarrier {
 public:
  explicit TimedBarrier(int count) : remaining_(count) {}
  void ArriveAndWait() {
    std::unique_lock lock(mu_);
    if (--remaining_ == 0) cv_.notify_all();
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return remaining_ <= 0; })) {
      timed_out_ = true;
    }
  }
  bool timed_out() {
    std::lock_guard lock(mu_);
    return timed_out_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int remaining_;
  bool timed_out_ = false;
};

TEST_CASE("A real serialization failure is retried to success") {
  TestDatabase db("serialize");
  auto pool = OpenPool(db, 2);
  REQUIRE(Exec(*pool,
               "CREATE TABLE doctors (name text PRIMARY KEY, on_call bool NOT NULL);"
               "INSERT INTO doctors VALUES ('alice', true), ('bob', true)")
              .ok());

  TimedBarrier both_read(2);
  std::atomic<int> attempts{0};
  auto take_off_duty = [&](std::string name) {
    return pool->Submit<bool>([&, name](pqxx::connection& c) {
      bool first_attempt = true;
      return RunInTransaction<bool>(
          c, {.isolation = Isolation::kSerializable},
          [&](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
            ++attempts;
            int on_call = tx.exec("SELECT count(*) FROM doctors WHERE on_call")[0][0].as<int>();
            if (first_attempt) {
              first_attempt = false;
              both_read.ArriveAndWait();
            }
            if (on_call < 2) return false;
            tx.exec_params("UPDATE doctors SET on_call = false WHERE name = $1", name);
            return true;
          });
    });
  };
  auto alice = take_off_duty("alice");
  auto bob = take_off_duty("bob");
  absl::StatusOr<bool> a = alice.get(), b = bob.get();
  REQUIRE_FALSE(both_read.timed_out());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(attempts >= 3);  // at least one of the two ran again
  REQUIRE((*a != *b));     // exactly one went off duty
  auto on_call = pool->Run<int>([](pqxx::connection& c) -> absl::StatusOr<int> {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT count(*) FROM doctors WHERE on_call")[0][0].as<int>();
  });
  REQUIRE(*on_call == 1);
}

TEST_CASE("Conflicts beyond the attempt limit end in ABORTED") {
  TestDatabase db("conflict");
  auto pool = OpenPool(db, 1);
  int calls = 0;
  auto result = pool->Run<bool>([&](pqxx::connection& c) {
    return RunInTransaction<bool>(c, {.max_attempts = 3},
                                  [&](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
                                    ++calls;
                                    // Raises SQLSTATE 40001 as PostgreSQL does on conflict.
                                    tx.exec(
                                        "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING "
                                        "ERRCODE = 'serialization_failure'; END $$");
                                    return true;
                                  });
  });
  REQUIRE(calls == 3);
  REQUIRE(result.status().code() == absl::StatusCode::kAborted);
  REQUIRE(ErrorReason(result.status()) == "TRANSACTION_CONFLICT");
}

TEST_CASE("A conflict the body caught and returned as a status is retried too") {
  TestDatabase db("conflict_status");
  auto pool = OpenPool(db, 1);
  int calls = 0;
  auto result = pool->Run<int>([&](pqxx::connection& c) {
    return RunInTransaction<int>(c, {}, [&](pqxx::transaction_base& tx) -> absl::StatusOr<int> {
      ++calls;
      if (calls == 1) {
        try {
          tx.exec(
              "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'deadlock_detected'; "
              "END $$");
        } catch (...) {
          return StatusFromCurrentException();
        }
      }
      return tx.exec("SELECT 42")[0][0].as<int>();
    });
  });
  REQUIRE(calls == 2);
  REQUIRE(*result == 42);
}

TEST_CASE("A body's error rolls back and is returned unchanged") {
  TestDatabase db("rollback");
  auto pool = OpenPool(db, 1);
  REQUIRE(Exec(*pool, "CREATE TABLE t (v int)").ok());
  auto result = pool->Run<bool>([](pqxx::connection& c) {
    return RunInTransaction<bool>(c, {}, [](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
      tx.exec("INSERT INTO t VALUES (1)");
      return MakeError(absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_STOCK", "no");
    });
  });
  REQUIRE(ErrorReason(result.status()) == "INSUFFICIENT_STOCK");
  auto rows = pool->Run<int>([](pqxx::connection& c) -> absl::StatusOr<int> {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT count(*) FROM t")[0][0].as<int>();
  });
  REQUIRE(*rows == 0);
}

TEST_CASE("Database errors map to the documented codes") {
  TestDatabase db("errors");
  auto pool = OpenPool(db, 1);
  REQUIRE(Exec(*pool, "CREATE TABLE u (k int PRIMARY KEY); INSERT INTO u VALUES (1)").ok());
  auto duplicate = pool->Run<bool>([](pqxx::connection& c) {
    return RunInTransaction<bool>(c, {}, [](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
      tx.exec("INSERT INTO u VALUES (1)");
      return true;
    });
  });
  REQUIRE(duplicate.status().code() == absl::StatusCode::kAlreadyExists);

  auto slow = pool->Run<bool>([](pqxx::connection& c) {
    return RunInTransaction<bool>(c, {.deadline = absl::Now() + absl::Milliseconds(100)},
                                  [](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
                                    tx.exec("SELECT pg_sleep(2)");
                                    return true;
                                  });
  });
  REQUIRE(slow.status().code() == absl::StatusCode::kDeadlineExceeded);

  auto late = pool->Run<bool>([](pqxx::connection& c) {
    return RunInTransaction<bool>(c, {.deadline = absl::Now() - absl::Seconds(1)},
                                  [](pqxx::transaction_base&) -> absl::StatusOr<bool> {
                                    FAIL("must not run after the deadline");
                                    return true;
                                  });
  });
  REQUIRE(late.status().code() == absl::StatusCode::kDeadlineExceeded);
}

TEST_CASE("A transaction gets its isolation level and the time left as its statement timeout") {
  TestDatabase db("begin");
  auto pool = OpenPool(db, 1);
  auto seen = pool->Run<std::string>([](pqxx::connection& c) {
    return RunInTransaction<std::string>(
        c, {.isolation = Isolation::kRepeatableRead, .deadline = absl::Now() + absl::Seconds(30)},
        [](pqxx::transaction_base& tx) -> absl::StatusOr<std::string> {
          return tx
              .exec1(
                  "SELECT current_setting('transaction_isolation') || ' ' || "
                  "current_setting('statement_timeout')")[0]
              .as<std::string>();
        });
  });
  REQUIRE(seen.ok());
  // 30 s less the moment it took to begin, rounded up to milliseconds: "29999ms" or "30s".
  INFO(*seen);
  REQUIRE((*seen == "repeatable read 30s" || *seen == "repeatable read 29999ms"));
  // A deadline further out than statement_timeout can say is capped, not an error.
  auto far = pool->Run<bool>([](pqxx::connection& c) {
    return RunInTransaction<bool>(c, {.deadline = absl::Now() + absl::Hours(24 * 100)},
                                  [](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
                                    return tx.exec1("SELECT true")[0].as<bool>();
                                  });
  });
  INFO(far.status().ToString());
  REQUIRE(far.ok());
  // SET LOCAL: the next transaction on the connection has no timeout.
  auto after = pool->Run<std::string>([](pqxx::connection& c) -> absl::StatusOr<std::string> {
    pqxx::nontransaction tx(c);
    return tx.exec1("SHOW statement_timeout")[0].as<std::string>();
  });
  REQUIRE(*after == "0");
}

TEST_CASE("A session runs on the caller's thread with its settings, and reopens when it broke") {
  TestDatabase db("session");
  auto pool = OpenPool(db, 1);
  Session session(*pool, {{"statement_timeout", "1234"}, {"application_name", "kura-session"}});
  const std::thread::id caller = std::this_thread::get_id();
  auto first = session.Run<int>([&](pqxx::connection& c) -> absl::StatusOr<int> {
    REQUIRE(std::this_thread::get_id() == caller);
    pqxx::nontransaction tx(c);
    REQUIRE(tx.exec1("SHOW statement_timeout")[0].as<std::string>() == "1234ms");
    return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
  });
  REQUIRE(first.ok());
  // Another session ends this one's backend: the next use reports it, the one after reconnects.
  REQUIRE(Exec(*pool, "SELECT pg_terminate_backend(" + std::to_string(*first) + ")").ok());
  auto broken = session.Run<int>([](pqxx::connection& c) -> absl::StatusOr<int> {
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT 1")[0].as<int>();
  });
  REQUIRE(broken.status().code() == absl::StatusCode::kUnavailable);
  auto again = session.Run<int>([](pqxx::connection& c) -> absl::StatusOr<int> {
    pqxx::nontransaction tx(c);
    REQUIRE(tx.exec1("SHOW application_name")[0].as<std::string>() == "kura-session");
    return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
  });
  REQUIRE(again.ok());
  REQUIRE(*again != *first);
}

TEST_CASE("No remote call may be made while work holds a connection (docs/decisions/005)") {
  TestDatabase db("no_remote");
  auto pool = OpenPool(db, 1);
  REQUIRE(base::RemoteCallAllowed("a call").ok());
  auto in_pool = pool->Run<absl::Status>([](pqxx::connection&) -> absl::StatusOr<absl::Status> {
    return base::RemoteCallAllowed("a call");
  });
  REQUIRE(in_pool.ok());
  REQUIRE(in_pool->code() == absl::StatusCode::kInternal);
  REQUIRE(std::string(in_pool->message()).find("a call made while holding") == 0);
  Session session(*pool, {});
  auto in_session =
      session.Run<absl::Status>([](pqxx::connection&) -> absl::StatusOr<absl::Status> {
        return base::RemoteCallAllowed("a call");
      });
  REQUIRE(in_session.ok());
  REQUIRE(in_session->code() == absl::StatusCode::kInternal);
  REQUIRE(base::RemoteCallAllowed("a call").ok());  // the caller's thread is free again
}

constexpr Query kEcho{"test_echo",
                      "SELECT $1::text[] AS texts, $2::bigint[] AS numbers, "
                      "$3::boolean[] AS flags, $4::text[] AS plain"};

TEST_CASE("Named queries are prepared once per connection, timed, and take array parameters") {
  TestDatabase db("named");
  auto pool = OpenPool(db, 1);
  prometheus::Registry registry;
  SetQueryMetrics(registry);
  auto rows = pool->Run<std::vector<std::string>>(
      [](pqxx::connection& c) -> absl::StatusOr<std::vector<std::string>> {
        pqxx::nontransaction tx(c);
        std::vector<std::string> out;
        for (int i = 0; i < 2; ++i) {
          pqxx::row r = Exec1(
              tx, kEcho, SqlNullableTextArray({std::string("a"), std::nullopt, "q\"u\\ote,{}"}),
              SqlNullableNumberArray(std::vector<std::optional<int64_t>>{7, std::nullopt}),
              SqlBoolArray({true, false}), SqlTextArray({"x y", ""}));
          out = {r["texts"].as<std::string>(), r["numbers"].as<std::string>(),
                 r["flags"].as<std::string>(), r["plain"].as<std::string>()};
        }
        out.push_back(tx.exec1("SELECT count(*) FROM pg_prepared_statements WHERE name = "
                               "'test_echo'")[0]
                          .as<std::string>());
        return out;
      });
  REQUIRE(rows.ok());
  // PostgreSQL prints the arrays back: NULLs as NULL, the quote and backslash escaped.
  REQUIRE((*rows)[0] == "{a,NULL,\"q\\\"u\\\\ote,{}\"}");
  REQUIRE((*rows)[1] == "{7,NULL}");
  REQUIRE((*rows)[2] == "{t,f}");
  REQUIRE((*rows)[3] == "{\"x y\",\"\"}");
  REQUIRE((*rows)[4] == "1");
  uint64_t observed = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != "kura_db_query_seconds") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "query" && label.value == "test_echo") {
          observed = metric.histogram.sample_count;
        }
      }
    }
  }
  REQUIRE(observed == 2);
}

}  // namespace
}  // namespace kura::pg
