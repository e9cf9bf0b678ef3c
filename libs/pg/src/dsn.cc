#include "kura/pg/dsn.h"

#include <libpq-fe.h>

#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"

namespace kura::pg {
namespace {

absl::StatusOr<std::map<std::string, std::string>> Parse(absl::string_view dsn) {
  char* error = nullptr;
  std::string text(dsn);
  PQconninfoOption* options = PQconninfoParse(text.c_str(), &error);
  if (options == nullptr) {
    std::string why = error != nullptr ? error : "out of memory";
    if (error != nullptr) PQfreemem(error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    // libpq's message quotes the offending part, which may hold the password: keep it out.
    return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_DSN",
                     "db_dsn: not a valid PostgreSQL connection string", {{"setting", "db_dsn"}});
  }
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> guard(options, PQconninfoFree);
  std::map<std::string, std::string> out;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) out[o->keyword] = o->val;
  }
  return out;
}

void AppendKeyword(std::string& out, absl::string_view key, absl::string_view value) {
  if (!out.empty()) out += ' ';
  absl::StrAppend(&out, key, "='");
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
}

}  // namespace

absl::StatusOr<std::string> DescribeDsn(absl::string_view dsn) {
  auto parsed = Parse(dsn);
  if (!parsed.ok()) return parsed.status();
  auto get = [&](const char* key, const char* fallback) {
    auto it = parsed->find(key);
    return it == parsed->end() || it->second.empty() ? std::string(fallback) : it->second;
  };
  std::string host = get("host", "");
  if (host.empty()) host = get("hostaddr", "localhost");
  return absl::StrCat(host, ":", get("port", "5432"), "/", get("dbname", get("user", "").c_str()));
}

absl::StatusOr<std::string> WithConnectOptions(absl::string_view dsn, int connect_timeout_seconds,
                                               absl::string_view application_name,
                                               const std::map<std::string, std::string>& extra) {
  auto parsed = Parse(dsn);
  if (!parsed.ok()) return parsed.status();
  parsed->try_emplace("connect_timeout", std::to_string(std::max(1, connect_timeout_seconds)));
  parsed->try_emplace("application_name", std::string(application_name));
  parsed->try_emplace("keepalives_idle", "10");
  parsed->try_emplace("keepalives_interval", "2");
  parsed->try_emplace("keepalives_count", "3");
  parsed->try_emplace("tcp_user_timeout", "10000");
  for (const auto& [key, value] : extra) parsed->try_emplace(key, value);
  std::string out;
  for (const auto& [key, value] : *parsed) AppendKeyword(out, key, value);
  return out;
}

}  // namespace kura::pg
