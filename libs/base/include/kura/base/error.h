#pragma once

#include <map>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace kura {

/// The machine-readable part of an error: google.rpc.ErrorInfo without the domain, which the
/// service adds when the error leaves it.
struct ErrorDetail {
  std::string reason;
  std::map<std::string, std::string> metadata;
};

/// The absl::Status payload type URL under which an ErrorDetail travels inside a process.
inline constexpr absl::string_view kErrorInfoTypeUrl = "type.googleapis.com/google.rpc.ErrorInfo";

/// Builds a status with `code`, `message` and a google.rpc.ErrorInfo payload carrying `reason`
/// (UPPER_SNAKE_CASE, e.g. "INSUFFICIENT_STOCK") and `metadata`. `domain` may be left empty; the
/// gRPC mapping fills in the service's own.
[[nodiscard]] absl::Status MakeError(absl::StatusCode code, absl::string_view reason,
                                     absl::string_view message,
                                     std::map<std::string, std::string> metadata = {},
                                     absl::string_view domain = {});

/// Shorthand for INVALID_ARGUMENT with reason INVALID_ARGUMENT and the offending field.
[[nodiscard]] absl::Status InvalidArgument(absl::string_view field, absl::string_view message);

/// INVALID_ARGUMENT with reason IDEMPOTENCY_KEY_REUSED: `request_id` was already used for a
/// different request (metadata request_id).
[[nodiscard]] absl::Status IdempotencyKeyReused(absl::string_view request_id);

/// Returns the reason of `status`, or empty when it carries no ErrorInfo.
std::string ErrorReason(const absl::Status& status);

/// Returns the domain of `status`'s ErrorInfo, or empty when it has none.
std::string ErrorDomain(const absl::Status& status);

/// Returns the metadata of `status`'s ErrorInfo (empty when it has none).
std::map<std::string, std::string> ErrorMetadata(const absl::Status& status);

}  // namespace kura
