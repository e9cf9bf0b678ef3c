#pragma once

// Building SQL parameters and expressions.

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

}  // namespace kura::pg
