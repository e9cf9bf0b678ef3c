#pragma once

// Reading typed values out of the storage layer's result rows.

#include <optional>

#include <pqxx/field>

#include "absl/time/time.h"

namespace kura::ledger::storage {

/// The field's value, or nullopt when it is NULL.
template <typename T>
std::optional<T> Optional(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<T>(f.as<T>());
}

/// A time the query returned as microseconds since the epoch.
inline absl::Time FromMicros(const pqxx::field& f) { return absl::FromUnixMicros(f.as<int64_t>()); }

}  // namespace kura::ledger::storage
