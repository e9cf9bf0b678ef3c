#pragma once

#include <map>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace kura::pg {

/// Describes a DSN for messages: "host:port/dbname" (user and password never appear).
/// Accepts URIs (postgresql://...) and keyword strings (host=... dbname=...). Returns
/// INVALID_ARGUMENT when libpq cannot parse it.
[[nodiscard]] absl::StatusOr<std::string> DescribeDsn(absl::string_view dsn);

/// Returns `dsn` as a keyword string with connect_timeout (whole seconds, at least 1),
/// application_name, TCP keepalives and a tcp_user_timeout of 10 s (so that a vanished server
/// is noticed instead of waited for), plus `extra` keywords — each unless the DSN sets it.
[[nodiscard]] absl::StatusOr<std::string> WithConnectOptions(
    absl::string_view dsn, int connect_timeout_seconds, absl::string_view application_name,
    const std::map<std::string, std::string>& extra = {});

}  // namespace kura::pg
