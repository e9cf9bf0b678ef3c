#include "json_util.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "kura/base/error.h"

namespace kura::connector {

absl::StatusOr<Json> ParseObject(const std::string& body) {
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return InvalidArgument("body", "the body is not a JSON object");
  }
  return json;
}

std::string IdText(const Json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return "";
}

std::string Text(const Json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::optional<int64_t> Quantity(const Json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  double value = 0;
  if (it->is_number_float()) {
    value = it->get<double>();
  } else if (!it->is_string() || !absl::SimpleAtod(it->get<std::string>(), &value)) {
    return std::nullopt;
  }
  if (!std::isfinite(value)) return std::nullopt;
  return static_cast<int64_t>(std::floor(value));
}

std::optional<absl::Time> Timestamp(const std::string& text) {
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return t;
  if (absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", text, absl::UTCTimeZone(), &t, &error)) return t;
  return std::nullopt;
}

}  // namespace kura::connector
