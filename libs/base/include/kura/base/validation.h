#pragma once

#include <cstdint>
#include <string>

#include <google/protobuf/timestamp.pb.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kura {

/// Largest quantity a single request may name: far beyond any real stock, small enough that
/// sums of many never overflow int64.
inline constexpr int64_t kMaxQuantity = 1'000'000'000'000;

/// Checks an idempotency key: 1 to 128 characters of A-Z a-z 0-9 - _ . :
[[nodiscard]] absl::Status ValidateRequestId(absl::string_view request_id);
/// Checks a sku: 1 to 64 characters of A-Z a-z 0-9 - _ . /
[[nodiscard]] absl::Status ValidateSku(absl::string_view field, absl::string_view sku);
/// Checks a location or channel code: 1 to 64 characters of a-z 0-9 - _
[[nodiscard]] absl::Status ValidateCode(absl::string_view field, absl::string_view code);
/// Checks a hold id: 1 to 128 characters of A-Z a-z 0-9 - _ . :
[[nodiscard]] absl::Status ValidateHoldId(absl::string_view field, absl::string_view hold_id);
/// Checks a free-text reference (order, customer, source): at most 128 bytes, no control
/// characters; empty is allowed.
[[nodiscard]] absl::Status ValidateRef(absl::string_view field, absl::string_view value);
/// Checks that 0 < quantity <= kMaxQuantity.
[[nodiscard]] absl::Status ValidateQuantity(absl::string_view field, int64_t quantity);
/// Checks a JAN/EAN-13, EAN-8 or UPC-A barcode: digits only, right length, right check digit.
[[nodiscard]] absl::Status ValidateBarcode(absl::string_view field, absl::string_view barcode);
/// Checks that a timestamp lies in years 0001-9999 and has valid nanos.
[[nodiscard]] absl::Status ValidateTimestamp(absl::string_view field,
                                             const google::protobuf::Timestamp& t);
/// Returns the GS1 check digit (mod 10, weights 3 and 1 from the right) of `digits`, which hold
/// every digit but the check digit.
int Gs1CheckDigit(absl::string_view digits);

}  // namespace kura
