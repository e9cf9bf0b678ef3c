// The migration runner against the real PostgreSQL that scripts/test starts.
#include <catch2/catch.hpp>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/pg/migrations.h"
#include "kura/testing/testing.h"

namespace kura::pg {
namespace {

using kura::testing::Subprocess;
using kura::testing::TestDatabase;

std::vector<Migration> Parse(std::vector<MigrationFile> files) {
  auto parsed = ParseMigrations(files);
  REQUIRE(parsed.ok());
  return *parsed;
}

int Count(pqxx::connection& conn, const std::string& sql) {
  pqxx::nontransaction tx(conn);
  return tx.exec(sql)[0][0].as<int>();
}

TEST_CASE("Migrations apply in order, once, into their own schema") {
  TestDatabase db("migrate");
  pqxx::connection conn(db.dsn());
  auto v1 = Parse({{"0001_items.sql", "CREATE TABLE items (sku text PRIMARY KEY);"},
                   {"0002_seed.sql", "INSERT INTO items VALUES ('A-1');"}});
  auto first = Migrate(conn, "stock", v1);
  REQUIRE(first.ok());
  REQUIRE(first->applied == std::vector<int>{1, 2});
  REQUIRE(first->version == 2);
  // Unqualified names went into the schema, not public.
  REQUIRE(Count(conn, "SELECT count(*) FROM stock.items") == 1);

  auto again = Migrate(conn, "stock", v1);
  REQUIRE(again.ok());
  REQUIRE(again->applied.empty());
  REQUIRE(Count(conn, "SELECT count(*) FROM stock.items") == 1);

  auto v2 = v1;
  v2.push_back({3, "more", "INSERT INTO items VALUES ('B-2');", "0003_more.sql"});
  auto third = Migrate(conn, "stock", v2);
  REQUIRE(third.ok());
  REQUIRE(third->applied == std::vector<int>{3});
  REQUIRE(Count(conn, "SELECT count(*) FROM stock.schema_migrations") == 3);

  // An older binary (knowing versions 1 and 2) against the newer schema is told about it.
  auto older = Migrate(conn, "stock", v1);
  REQUIRE(older.ok());
  REQUIRE(older->applied.empty());
  REQUIRE(older->unknown == std::vector<int>{3});
  REQUIRE(older->version == 3);
}

TEST_CASE("A failing migration applies nothing and names its file") {
  TestDatabase db("migrate_fail");
  pqxx::connection conn(db.dsn());
  auto files = Parse({{"0001_ok.sql", "CREATE TABLE a (x int);"},
                      {"0002_broken.sql", "CREATE TABLE b (x no_such_type);"}});
  auto result = Migrate(conn, "s", files);
  REQUIRE_FALSE(result.ok());
  REQUIRE(ErrorReason(result.status()) == "MIGRATION_FAILED");
  REQUIRE(ErrorMetadata(result.status()).at("file") == "0002_broken.sql");
  REQUIRE(Count(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = 's'") == 0);
}

TEST_CASE("An applied migration whose text changed is refused") {
  TestDatabase db("migrate_changed");
  pqxx::connection conn(db.dsn());
  REQUIRE(Migrate(conn, "s", Parse({{"0001_a.sql", "CREATE TABLE a (x int);"}})).ok());
  auto changed = Migrate(conn, "s", Parse({{"0001_a.sql", "CREATE TABLE a (x bigint);"}}));
  REQUIRE(changed.status().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(ErrorReason(changed.status()) == "MIGRATION_CHANGED");
}

TEST_CASE("A schema name that is not a plain identifier is refused") {
  TestDatabase db("migrate_name");
  pqxx::connection conn(db.dsn());
  REQUIRE(Migrate(conn, "x; DROP TABLE y", {}).status().code() ==
          absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Processes migrating the same schema at once wait for each other; one applies it") {
  TestDatabase db("migrate_race");
  std::string dir = kura::testing::MakeTempDir("migrate_race");
  pqxx::connection conn(db.dsn());

  // Hold the schema's migration lock, start three migrating processes, and see all three
  // queue behind it: without the lock they would run into each other instead.
  std::vector<std::unique_ptr<Subprocess>> procs;
  {
    pqxx::work holder(conn);
    holder.exec("SELECT pg_advisory_xact_lock(hashtext('kura.migrate'), hashtext('race'))");
    for (int i = 0; i < 3; ++i) {
      procs.push_back(std::make_unique<Subprocess>(
          std::vector<std::string>{KURA_MIGRATE_PROBE, db.dsn(), "race"},
          std::map<std::string, std::string>{}, absl::StrCat(dir, "/migrate_probe_", i, ".log")));
    }
    pqxx::connection observer(db.dsn());
    bool all_waiting = kura::testing::WaitFor(
        [&] {
          return Count(observer,
                       "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                       "AND database = (SELECT oid FROM pg_database WHERE datname = "
                       "current_database())") == 3;
        },
        absl::Seconds(20));
    REQUIRE(all_waiting);
    holder.commit();  // releases the lock: the three now go one after another
  }

  int applied_all = 0, applied_none = 0;
  for (auto& p : procs) {
    std::optional<int> code = p->Wait(absl::Seconds(30));
    INFO(p->Output());
    REQUIRE(code == 0);
    if (p->Output().find("applied=3 version=3") != std::string::npos) ++applied_all;
    if (p->Output().find("applied=0 version=3") != std::string::npos) ++applied_none;
  }
  REQUIRE(applied_all == 1);
  REQUIRE(applied_none == 2);
  REQUIRE(Count(conn, "SELECT count(*) FROM race.schema_migrations") == 3);
  REQUIRE(Count(conn, "SELECT count(*) FROM race.counters") == 1);
}

}  // namespace
}  // namespace kura::pg
