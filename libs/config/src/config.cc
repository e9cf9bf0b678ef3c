#include "kura/config/config.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "kura/base/error.h"

extern char** environ;

namespace kura::config {

Environment ProcessEnvironment() {
  Environment env;
  for (char** p = environ; p != nullptr && *p != nullptr; ++p) {
    absl::string_view entry(*p);
    auto eq = entry.find('=');
    if (eq == absl::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::string EnvName(absl::string_view key) { return "KURA_" + absl::AsciiStrToUpper(key); }

absl::StatusOr<Config> Config::Load(const std::map<std::string, std::string>& defaults,
                                    absl::string_view file_path, const Environment& env) {
  Config config;
  for (const auto& [key, value] : defaults) config.values_[key] = {value, "default"};

  if (!file_path.empty()) {
    std::ifstream in{std::string(file_path)};
    if (!in) {
      return MakeError(absl::StatusCode::kNotFound, "CONFIG_FILE_NOT_FOUND",
                       absl::StrCat("config file ", file_path, ": cannot be read"));
    }
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      absl::string_view text = absl::StripAsciiWhitespace(line);
      if (text.empty() || text.front() == '#') continue;
      std::string where = absl::StrCat("file ", file_path, ":", number);
      auto eq = text.find('=');
      if (eq == absl::string_view::npos) {
        return MakeError(absl::StatusCode::kInvalidArgument, "CONFIG_INVALID",
                         absl::StrCat("config ", where, ": expected `key = value`"));
      }
      std::string key(absl::StripAsciiWhitespace(text.substr(0, eq)));
      absl::string_view value = absl::StripAsciiWhitespace(text.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      auto it = config.values_.find(key);
      if (it == config.values_.end()) {
        return MakeError(absl::StatusCode::kInvalidArgument, "CONFIG_UNKNOWN_KEY",
                         absl::StrCat("config ", where, ": unknown setting `", key, "`"),
                         {{"setting", key}});
      }
      it->second = {std::string(value), where};
    }
  }

  for (auto& [key, value] : config.values_) {
    std::string name = EnvName(key);
    if (auto it = env.find(name); it != env.end()) value = {it->second, "env " + name};
  }
  return config;
}

std::string Config::Raw(absl::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::string() : it->second.text;
}

std::string Config::Source(absl::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::string("unknown") : it->second.source;
}

absl::Status Config::Invalid(absl::string_view key, absl::string_view problem) const {
  return MakeError(absl::StatusCode::kInvalidArgument, "CONFIG_INVALID",
                   absl::StrCat("config: ", key, ": ", problem, " (from ", Source(key), ")"),
                   {{"setting", std::string(key)}});
}

absl::StatusOr<std::string> Config::GetRequiredString(absl::string_view key) const {
  std::string value = Raw(key);
  if (value.empty()) return Invalid(key, "is required");
  return value;
}

absl::StatusOr<int64_t> Config::GetInt(absl::string_view key, int64_t min, int64_t max) const {
  std::string text = Raw(key);
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return Invalid(key, absl::StrCat("\"", text, "\" is not an integer"));
  }
  if (value < min || value > max) {
    return Invalid(key, absl::StrCat(value, " is outside [", min, ", ", max, "]"));
  }
  return value;
}

absl::StatusOr<absl::Duration> Config::GetDuration(absl::string_view key, absl::Duration min,
                                                   absl::Duration max) const {
  std::string text = Raw(key);
  absl::Duration value;
  if (!absl::ParseDuration(text, &value) || value < absl::ZeroDuration()) {
    return Invalid(key, absl::StrCat("\"", text, "\" is not a duration such as 500ms or 5s"));
  }
  if (value < min || value > max) {
    return Invalid(key, absl::StrCat(text, " is outside [", absl::FormatDuration(min), ", ",
                                     absl::FormatDuration(max), "]"));
  }
  return value;
}

absl::StatusOr<std::string> Config::GetEnum(
    absl::string_view key, std::initializer_list<absl::string_view> allowed) const {
  std::string text = Raw(key);
  for (absl::string_view option : allowed) {
    if (text == option) return text;
  }
  return Invalid(key, absl::StrCat("\"", text, "\" is not one of ", absl::StrJoin(allowed, ", ")));
}

absl::StatusOr<std::string> Config::GetListenAddress(absl::string_view key) const {
  std::string text = Raw(key);
  auto colon = text.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(text).substr(colon + 1), &port) || port > 65535) {
    return Invalid(key, absl::StrCat("\"", text, "\" is not a host:port address"));
  }
  return text;
}

}  // namespace kura::config
