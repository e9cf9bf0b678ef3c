#pragma once

// Reading platform JSON: ids that may be numbers beyond 2^53 or strings, quantities as numbers
// or decimal strings, timestamps in the platforms' formats.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kura::connector {

using Json = nlohmann::json;

/// Parses a body; INVALID_ARGUMENT when it is not a JSON object.
absl::StatusOr<Json> ParseObject(const std::string& body);
/// An id as text: integers exactly (never through a double), strings as they are; empty when
/// missing or null.
std::string IdText(const Json& object, const char* field);
/// A text field, or empty when missing or null.
std::string Text(const Json& object, const char* field);
/// A whole quantity from a number or a decimal string (fractions rounded down); nullopt when
/// missing or not a number.
std::optional<int64_t> Quantity(const Json& object, const char* field);
/// A timestamp: RFC 3339 with an offset, or (WooCommerce's *_gmt) without one, taken as UTC.
std::optional<absl::Time> Timestamp(const std::string& text);

}  // namespace kura::connector
