#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace kura::log {

/// Severity of a log line, in increasing order.
enum class Level { kDebug, kInfo, kWarn, kError };

/// Parses "debug", "info", "warn" or "error".
std::optional<Level> ParseLevel(absl::string_view text);

/// One extra key of a log line. Numbers are written as JSON numbers, text as JSON strings.
struct Field {
  Field(absl::string_view k, absl::string_view v) : key(k), value(v), quoted(true) {}
  Field(absl::string_view k, const char* v) : key(k), value(v), quoted(true) {}
  Field(absl::string_view k, const std::string& v) : key(k), value(v), quoted(true) {}
  Field(absl::string_view k, int64_t v) : key(k), value(std::to_string(v)), quoted(false) {}
  Field(absl::string_view k, int v) : key(k), value(std::to_string(v)), quoted(false) {}
  Field(absl::string_view k, double v) : key(k), value(std::to_string(v)), quoted(false) {}
  std::string key;
  std::string value;
  bool quoted;
};

/// Sets the service name written on every line, the lowest level written and the stream
/// (stderr by default). Call once at start-up, before other threads log.
void Init(absl::string_view service, Level min_level, std::FILE* out = stderr);

/// Whether lines of `level` are written: lets a caller skip building fields nobody reads.
bool Enabled(Level level);

/// Writes one JSON object on one line: ts, level, service, msg, trace_id, then `fields`.
/// The trace id is the one of the current TraceScope. Thread-safe; lines never interleave.
void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields = {});

inline void Debug(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, msg, f);
}
inline void Info(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, msg, f);
}
inline void Warn(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, msg, f);
}
inline void Error(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kError, msg, f);
}

/// Formats one log line (without the newline); exposed for tests.
std::string FormatLine(absl::string_view ts, Level level, absl::string_view service,
                       absl::string_view msg, absl::string_view trace_id,
                       std::initializer_list<Field> fields);

/// Appends `text` to `out` as the body of a JSON string (without quotes).
void AppendJsonEscaped(std::string& out, absl::string_view text);

/// A W3C Trace Context `traceparent` header, parsed.
struct TraceParent {
  std::string trace_id;   ///< 32 lowercase hex digits, not all zero.
  std::string parent_id;  ///< 16 lowercase hex digits, not all zero.
  uint8_t flags = 0;
};

/// Parses a `traceparent` value ("00-<trace-id>-<parent-id>-<flags>"); nullopt when invalid,
/// as the specification requires a receiver to ignore a malformed header.
std::optional<TraceParent> ParseTraceParent(absl::string_view header);

/// Makes `trace_id` the one logged by this thread until the scope ends (scopes nest).
class TraceScope {
 public:
  explicit TraceScope(std::string trace_id);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  std::string previous_;
};

/// Returns the trace id of the current thread's innermost TraceScope, or empty.
const std::string& CurrentTraceId();

}  // namespace kura::log
