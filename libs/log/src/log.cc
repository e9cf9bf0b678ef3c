#include "kura/log/log.h"

#include <atomic>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kura::log {
namespace {

struct Sink {
  std::mutex mu;
  std::string service = "kura";
  std::atomic<Level> min_level{Level::kInfo};
  std::FILE* out = stderr;
};

Sink& TheSink() {
  static auto* sink = new Sink();
  return *sink;
}

thread_local std::string current_trace_id;

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(absl::string_view s) { return s.find_first_not_of('0') == absl::string_view::npos; }

void AppendQuoted(std::string& out, absl::string_view key, absl::string_view value) {
  out += ",\"";
  AppendJsonEscaped(out, key);
  out += "\":\"";
  AppendJsonEscaped(out, value);
  out += '"';
}

}  // namespace

std::optional<Level> ParseLevel(absl::string_view text) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == LevelName(l)) return l;
  }
  return std::nullopt;
}

void Init(absl::string_view service, Level min_level, std::FILE* out) {
  Sink& sink = TheSink();
  std::lock_guard lock(sink.mu);
  sink.service = std::string(service);
  sink.min_level = min_level;
  sink.out = out;
}

bool Enabled(Level level) { return level >= TheSink().min_level.load(std::memory_order_relaxed); }

void AppendJsonEscaped(std::string& out, absl::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

std::string FormatLine(absl::string_view ts, Level level, absl::string_view service,
                       absl::string_view msg, absl::string_view trace_id,
                       std::initializer_list<Field> fields) {
  std::string line = "{\"ts\":\"";
  line.append(ts.data(), ts.size());
  line += '"';
  AppendQuoted(line, "level", LevelName(level));
  AppendQuoted(line, "service", service);
  AppendQuoted(line, "msg", msg);
  AppendQuoted(line, "trace_id", trace_id);
  for (const Field& f : fields) {
    if (f.quoted) {
      AppendQuoted(line, f.key, f.value);
    } else {
      line += ",\"";
      AppendJsonEscaped(line, f.key);
      line += "\":";
      line += f.value;
    }
  }
  line += '}';
  return line;
}

void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields) {
  Sink& sink = TheSink();
  if (level < sink.min_level.load(std::memory_order_relaxed)) return;
  std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::lock_guard lock(sink.mu);
  std::string line = FormatLine(ts, level, sink.service, msg, current_trace_id, fields);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), sink.out);
  std::fflush(sink.out);
}

std::optional<TraceParent> ParseTraceParent(absl::string_view header) {
  header = absl::StripAsciiWhitespace(header);
  // version(2) '-' trace-id(32) '-' parent-id(16) '-' flags(2); later versions may append
  // more after another '-', which a version-00 reader ignores.
  if (header.size() < 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') {
    return std::nullopt;
  }
  absl::string_view version = header.substr(0, 2);
  absl::string_view trace_id = header.substr(3, 32);
  absl::string_view parent_id = header.substr(36, 16);
  absl::string_view flags = header.substr(53, 2);
  if (!IsLowerHex(version) || version == "ff") return std::nullopt;
  if (version == "00" && header.size() != 55) return std::nullopt;
  if (version != "00" && header.size() > 55 && header[55] != '-') return std::nullopt;
  if (!IsLowerHex(trace_id) || AllZero(trace_id)) return std::nullopt;
  if (!IsLowerHex(parent_id) || AllZero(parent_id)) return std::nullopt;
  if (!IsLowerHex(flags)) return std::nullopt;
  uint32_t flag_bits = 0;
  absl::SimpleHexAtoi(flags, &flag_bits);
  return TraceParent{std::string(trace_id), std::string(parent_id),
                     static_cast<uint8_t>(flag_bits)};
}

TraceScope::TraceScope(std::string trace_id) : previous_(std::move(current_trace_id)) {
  current_trace_id = std::move(trace_id);
}

TraceScope::~TraceScope() { current_trace_id = std::move(previous_); }

const std::string& CurrentTraceId() { return current_trace_id; }

}  // namespace kura::log
