// Test helper: migrates one schema with a fixed set of migrations, as a service does at start.
// Usage: migrate_probe DSN SCHEMA.
// Prints the applied versions and exits 0 on success, 1 on error.
#include <cstdio>

#include "kura/pg/migrations.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: migrate_probe DSN SCHEMA\n");
    return 2;
  }
  auto migrations = kura::pg::ParseMigrations({
      {"0001_create_counters.sql", "CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL);"},
      {"0002_seed.sql", "INSERT INTO counters VALUES (1, 0);"},
      {"0003_add_note.sql", "ALTER TABLE counters ADD COLUMN note text;"},
  });
  try {
    pqxx::connection conn(argv[1]);
    auto report = kura::pg::Migrate(conn, argv[2], *migrations);
    if (!report.ok()) {
      std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
      return 1;
    }
    std::printf("applied=%zu version=%d\n", report->applied.size(), report->version);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
