#pragma once

#include <cstdint>
#include <map>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kura::config {

/// Environment variables as name → value (tests pass their own; services pass the process's).
using Environment = std::map<std::string, std::string, std::less<>>;

/// Returns the variables of the running process.
Environment ProcessEnvironment();

/// Returns the environment variable that overrides `key`: "db_dsn" → "KURA_DB_DSN".
std::string EnvName(absl::string_view key);

/// A layered set of settings: defaults < config file < environment variables. Every key must
/// have a default (so typos in a file are rejected); each value remembers where it came from so
/// that errors name the setting and its source. Immutable after Load; safe to share.
class Config {
 public:
  /// Loads `defaults`, then the file at `file_path` (skipped when empty), then `KURA_<KEY>`
  /// variables of `env`. Errors: NOT_FOUND for a missing file, INVALID_ARGUMENT for a malformed
  /// line or a key without a default. The file holds `key = value` lines; `#` starts a comment;
  /// a value may be wrapped in double quotes.
  [[nodiscard]] static absl::StatusOr<Config> Load(
      const std::map<std::string, std::string>& defaults, absl::string_view file_path,
      const Environment& env);

  /// Returns the raw value of `key` (empty when unknown).
  std::string Raw(absl::string_view key) const;
  /// Returns where `key`'s value came from: "default", "file PATH:LINE" or "env KURA_KEY".
  std::string Source(absl::string_view key) const;

  /// Returns the value, INVALID_ARGUMENT when it is empty.
  [[nodiscard]] absl::StatusOr<std::string> GetRequiredString(absl::string_view key) const;
  /// Returns the value as an integer in [min, max].
  [[nodiscard]] absl::StatusOr<int64_t> GetInt(absl::string_view key, int64_t min,
                                               int64_t max) const;
  /// Returns the value as a duration such as "250ms", "5s" or "1m", within [min, max].
  [[nodiscard]] absl::StatusOr<absl::Duration> GetDuration(absl::string_view key,
                                                           absl::Duration min,
                                                           absl::Duration max) const;
  /// Returns the value, which must be one of `allowed`.
  [[nodiscard]] absl::StatusOr<std::string> GetEnum(
      absl::string_view key, std::initializer_list<absl::string_view> allowed) const;
  /// Returns a "host:port" listen address; the port may be 0 (any free port).
  [[nodiscard]] absl::StatusOr<std::string> GetListenAddress(absl::string_view key) const;

 private:
  struct Value {
    std::string text;
    std::string source;
  };
  absl::Status Invalid(absl::string_view key, absl::string_view problem) const;

  std::map<std::string, Value, std::less<>> values_;
};

}  // namespace kura::config
