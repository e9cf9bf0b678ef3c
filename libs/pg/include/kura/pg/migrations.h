#pragma once

#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include <pqxx/connection>

#include "absl/status/statusor.h"

namespace kura::pg {

/// One SQL file as shipped in a service's sql/ folder: "0001_create_items.sql" and its text.
struct MigrationFile {
  std::string filename;
  std::string sql;
};

/// A validated migration.
struct Migration {
  int version = 0;   ///< From the file name's leading number; versions run 1, 2, 3, ...
  std::string name;  ///< The rest of the file name, without ".sql".
  std::string sql;
  std::string filename;  ///< As shipped, e.g. "0001_create_items.sql"; named in errors.
};

/// Orders `files` by version and validates them: names must be NNNN_name.sql, versions unique
/// and contiguous from 1. Returns INVALID_ARGUMENT naming the offending file otherwise.
[[nodiscard]] absl::StatusOr<std::vector<Migration>> ParseMigrations(
    const std::vector<MigrationFile>& files);

/// What Migrate did.
struct MigrationReport {
  std::vector<int> applied;  ///< Versions applied by this call, in order.
  int version = 0;           ///< The schema's version afterwards.
  /// Versions recorded in the database that this binary does not know: a newer release has
  /// migrated the schema (normal during a rolling upgrade, worth a warning otherwise).
  std::vector<int> unknown;
};

/// Brings `schema` up to the last of `migrations` in one transaction: creates the schema and its
/// schema_migrations table when missing, then applies each missing version in order with the
/// schema first on the search_path, recording version, name and an md5 checksum. A
/// transaction-level advisory lock per schema makes concurrent callers (several replicas
/// starting at once) wait for each other: one applies, the others find nothing to do.
/// Errors: FAILED_PRECONDITION (MIGRATION_CHANGED) when an applied file's text has changed since,
/// INVALID_ARGUMENT for a bad schema name, and the mapped database error of a failing file, whose
/// name is in the message; on any error nothing is applied.
[[nodiscard]] absl::StatusOr<MigrationReport> Migrate(pqxx::connection& conn,
                                                      absl::string_view schema,
                                                      const std::vector<Migration>& migrations);

}  // namespace kura::pg
