#include "kura/pg/sql.h"

namespace kura::pg {

std::string SqlTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

std::string Micros(const std::string& column) {
  return absl::StrCat("(extract(epoch FROM ", column, ") * 1000000)::bigint");
}

std::string SqlTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace kura::pg
