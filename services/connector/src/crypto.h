#pragma once

// Webhook signatures: HMAC-SHA256 (OpenSSL), base64, and constant-time comparison.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace kura::connector {

/// HMAC-SHA256 of `message` under `key`, as raw bytes.
std::string HmacSha256(absl::string_view key, absl::string_view message);

/// Standard base64 (RFC 4648, with padding).
std::string Base64(absl::string_view bytes);

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

/// Whether `signature` (base64, not empty) is the HMAC-SHA256 of `message` under one of `keys`
/// (two during a rotation).
bool VerifyHmacBase64(absl::string_view signature, const std::vector<std::string>& keys,
                      absl::string_view message);

}  // namespace kura::connector
