#include "kura/pg/migrations.h"

#include <algorithm>
#include <map>

#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/pg/transaction.h"

namespace kura::pg {
namespace {

absl::Status BadFile(absl::string_view filename, absl::string_view problem) {
  return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_MIGRATION",
                   absl::StrCat("migration ", filename, ": ", problem),
                   {{"file", std::string(filename)}});
}

bool IsIdentifier(absl::string_view name) {
  if (name.empty() || name.size() > 63 || absl::ascii_isdigit(name.front())) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || absl::ascii_isdigit(c) || c == '_';
  });
}

}  // namespace

absl::StatusOr<std::vector<Migration>> ParseMigrations(const std::vector<MigrationFile>& files) {
  std::map<int, Migration> by_version;
  for (const MigrationFile& file : files) {
    absl::string_view name = file.filename;
    auto underscore = name.find('_');
    if (name.size() < 4 || name.substr(name.size() - 4) != ".sql" ||
        underscore == absl::string_view::npos || underscore == 0) {
      return BadFile(name, "name must look like 0001_what_it_does.sql");
    }
    int version = 0;
    absl::string_view digits = name.substr(0, underscore);
    if (!std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(digits, &version) || version <= 0) {
      return BadFile(name, "name must start with a positive version number");
    }
    std::string stem(name.substr(underscore + 1, name.size() - underscore - 5));
    if (stem.empty()) return BadFile(name, "name must describe the change after the number");
    auto [it, inserted] =
        by_version.emplace(version, Migration{version, stem, file.sql, file.filename});
    if (!inserted) {
      return BadFile(name,
                     absl::StrCat("version ", version, " is also used by ", it->second.filename));
    }
  }
  std::vector<Migration> out;
  for (auto& [version, migration] : by_version) {
    int expected = static_cast<int>(out.size()) + 1;
    if (version != expected) {
      return BadFile(
          migration.filename,
          absl::StrCat("versions must run 1, 2, 3, ... without gaps; expected ", expected));
    }
    out.push_back(std::move(migration));
  }
  return out;
}

absl::StatusOr<MigrationReport> Migrate(pqxx::connection& conn, absl::string_view schema,
                                        const std::vector<Migration>& migrations) {
  if (!IsIdentifier(schema)) {
    return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_SCHEMA",
                     absl::StrCat("schema name \"", schema, "\" is not a lower-case identifier"));
  }
  const std::string quoted = conn.quote_name(std::string(schema));
  return RunInTransaction<MigrationReport>(
      conn, TransactionOptions{},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<MigrationReport> {
        // Held until commit: a second process starting now waits here, then finds the schema
        // complete. Taken before CREATE SCHEMA, which itself races under IF NOT EXISTS.
        tx.exec_params("SELECT pg_advisory_xact_lock(hashtext('kura.migrate'), hashtext($1))",
                       std::string(schema));
        tx.exec("CREATE SCHEMA IF NOT EXISTS " + quoted);
        tx.exec("CREATE TABLE IF NOT EXISTS " + quoted +
                ".schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
        std::map<int, std::pair<std::string, std::string>> applied;  // version → name, checksum
        for (const auto& row :
             tx.exec("SELECT version, name, checksum FROM " + quoted + ".schema_migrations")) {
          applied[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
        }
        MigrationReport report;
        tx.exec("SET LOCAL search_path TO " + quoted + ", public");
        for (const Migration& m : migrations) {
          const std::string& file = m.filename;
          if (auto it = applied.find(m.version); it != applied.end()) {
            auto same = tx.exec_params("SELECT md5($1) = $2", m.sql, it->second.second);
            if (!same[0][0].as<bool>()) {
              return MakeError(absl::StatusCode::kFailedPrecondition, "MIGRATION_CHANGED",
                               absl::StrCat("migration ", file, " of schema ", schema,
                                            " was changed after it was applied; add a new "
                                            "migration instead"),
                               {{"file", file}, {"schema", std::string(schema)}});
            }
            continue;
          }
          try {
            tx.exec(m.sql);
          } catch (const pqxx::sql_error& e) {
            absl::Status mapped = StatusFromCurrentException();
            return MakeError(
                mapped.code(), "MIGRATION_FAILED",
                absl::StrCat("migration ", file, " of schema ", schema, " failed: ", e.what()),
                {{"file", file}, {"schema", std::string(schema)}});
          }
          tx.exec_params("INSERT INTO " + quoted +
                             ".schema_migrations (version, name, checksum) "
                             "VALUES ($1, $2, md5($3))",
                         m.version, m.name, m.sql);
          report.applied.push_back(m.version);
        }
        report.version = migrations.empty() ? 0 : migrations.back().version;
        for (const auto& [version, name_and_checksum] : applied) {
          if (version > report.version) report.unknown.push_back(version);
        }
        if (!report.unknown.empty()) report.version = report.unknown.back();
        return report;
      });
}

}  // namespace kura::pg
