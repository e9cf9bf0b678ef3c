#pragma once

// Building SQL parameters and expressions.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace kura::pg {

/// Formats a time for a timestamptz parameter.
std::string SqlTime(absl::Time t);
/// SQL expression giving a timestamptz column as microseconds since the epoch.
std::string Micros(const std::string& column);
/// A PostgreSQL array literal of `values`, each quoted and escaped, for a `$n::text[]` parameter.
std::string SqlTextArray(const std::vector<std::string>& values);
/// A PostgreSQL array literal of numbers, for a `$n::bigint[]` (or integer, smallint) parameter.
template <typename T>
std::string SqlNumberArray(const std::vector<T>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

/// SqlTextArray with NULL for the missing values.
std::string SqlNullableTextArray(const std::vector<std::optional<std::string>>& values);
/// SqlNumberArray with NULL for the missing values.
template <typename T>
std::string SqlNullableNumberArray(const std::vector<std::optional<T>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += values[i] ? absl::StrCat(*values[i]) : "NULL";
  }
  return out + "}";
}
/// A PostgreSQL boolean array literal, for a `$n::boolean[]` parameter.
std::string SqlBoolArray(const std::vector<bool>& values);

}  // namespace kura::pg
