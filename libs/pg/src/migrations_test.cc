#include "kura/pg/migrations.h"

#include <catch2/catch.hpp>

#include "kura/base/error.h"

namespace kura::pg {
namespace {

TEST_CASE("Migrations are ordered by version, not by the order they were found in") {
  auto parsed = ParseMigrations({{"0003_add_index.sql", "c"},
                                 {"0001_create_items.sql", "a"},
                                 {"0002_add_barcodes.sql", "b"}});
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 3);
  REQUIRE((*parsed)[0].version == 1);
  REQUIRE((*parsed)[0].name == "create_items");
  REQUIRE((*parsed)[1].sql == "b");
  REQUIRE((*parsed)[2].name == "add_index");
}

TEST_CASE("Numbers are compared as numbers") {
  std::vector<MigrationFile> files;
  for (int v = 1; v <= 10; ++v) files.push_back({std::to_string(v) + "_m.sql", ""});
  auto parsed = ParseMigrations(files);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->back().version == 10);
  REQUIRE((*parsed)[8].version == 9);
}

TEST_CASE("Bad migration sets are rejected with the file named") {
  auto duplicate = ParseMigrations({{"0001_a.sql", ""}, {"001_b.sql", ""}});
  REQUIRE(duplicate.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(ErrorReason(duplicate.status()) == "INVALID_MIGRATION");
  REQUIRE(std::string(duplicate.status().message()) ==
          "migration 001_b.sql: version 1 is also used by 0001_a.sql");

  auto gap = ParseMigrations({{"0001_a.sql", ""}, {"0003_c.sql", ""}});
  REQUIRE(ErrorMetadata(gap.status()).at("file") == "0003_c.sql");

  for (const char* name :
       {"create.sql", "0001_a.txt", "x001_a.sql", "0000_zero.sql", "0001_.sql", "_a.sql"}) {
    INFO(name);
    REQUIRE(ParseMigrations({{name, ""}}).status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("An empty set is valid") { REQUIRE(ParseMigrations({})->empty()); }

}  // namespace
}  // namespace kura::pg
