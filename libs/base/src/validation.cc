#include "kura/base/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "kura/base/error.h"

namespace kura {
namespace {

template <typename Allowed>
absl::Status CheckChars(absl::string_view field, absl::string_view value, size_t max_size,
                        absl::string_view what, Allowed allowed) {
  if (value.empty()) return InvalidArgument(field, absl::StrCat(field, " is required"));
  if (value.size() > max_size) {
    return InvalidArgument(field, absl::StrCat(field, " is longer than ", max_size, " characters"));
  }
  for (char c : value) {
    if (!allowed(c)) {
      return InvalidArgument(field,
                             absl::StrCat(field, " \"", value, "\" may only contain ", what));
    }
  }
  return absl::OkStatus();
}

bool IsIdChar(char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
}

}  // namespace

absl::Status ValidateRequestId(absl::string_view request_id) {
  return CheckChars("request_id", request_id, 128, "A-Z a-z 0-9 - _ . :", IsIdChar);
}

absl::Status ValidateSku(absl::string_view field, absl::string_view sku) {
  return CheckChars(field, sku, 64, "A-Z a-z 0-9 - _ . /", [](char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/';
  });
}

absl::Status ValidateCode(absl::string_view field, absl::string_view code) {
  return CheckChars(field, code, 64, "a-z 0-9 - _", [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '_';
  });
}

absl::Status ValidateHoldId(absl::string_view field, absl::string_view hold_id) {
  return CheckChars(field, hold_id, 128, "A-Z a-z 0-9 - _ . :", IsIdChar);
}

absl::Status ValidateQuantity(absl::string_view field, int64_t quantity) {
  if (quantity <= 0) {
    return InvalidArgument(field, absl::StrCat(field, " must be positive, not ", quantity));
  }
  if (quantity > kMaxQuantity) {
    return InvalidArgument(field, absl::StrCat(field, " ", quantity, " exceeds ", kMaxQuantity));
  }
  return absl::OkStatus();
}

absl::Status ValidateTimestamp(absl::string_view field, const google::protobuf::Timestamp& t) {
  constexpr int64_t kMinSeconds = -62'135'596'800;  // 0001-01-01T00:00:00Z
  constexpr int64_t kMaxSeconds = 253'402'300'799;  // 9999-12-31T23:59:59Z
  if (t.seconds() < kMinSeconds || t.seconds() > kMaxSeconds || t.nanos() < 0 ||
      t.nanos() > 999'999'999) {
    return InvalidArgument(field, absl::StrCat(field, " is not a valid time"));
  }
  return absl::OkStatus();
}

int Gs1CheckDigit(absl::string_view digits) {
  int sum = 0;
  int weight = 3;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    sum += (*it - '0') * weight;
    weight = weight == 3 ? 1 : 3;
  }
  return (10 - sum % 10) % 10;
}

absl::Status ValidateBarcode(absl::string_view field, absl::string_view barcode) {
  if (barcode.size() != 8 && barcode.size() != 12 && barcode.size() != 13) {
    return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_BARCODE",
                     absl::StrCat(field, " \"", barcode,
                                  "\" must have 13 (JAN/EAN-13), 8 (EAN-8) or 12 (UPC-A) digits"),
                     {{"field", std::string(field)}});
  }
  for (char c : barcode) {
    if (!absl::ascii_isdigit(c)) {
      return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_BARCODE",
                       absl::StrCat(field, " \"", barcode, "\" must be digits only"),
                       {{"field", std::string(field)}});
    }
  }
  int expected = Gs1CheckDigit(barcode.substr(0, barcode.size() - 1));
  if (barcode.back() - '0' != expected) {
    return MakeError(
        absl::StatusCode::kInvalidArgument, "INVALID_BARCODE",
        absl::StrCat(field, " \"", barcode, "\" has a wrong check digit (expected ", expected, ")"),
        {{"field", std::string(field)}});
  }
  return absl::OkStatus();
}

absl::Status ValidateRef(absl::string_view field, absl::string_view value) {
  if (value.size() > 128) return InvalidArgument(field, absl::StrCat(field, " exceeds 128 bytes"));
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgument(field, absl::StrCat(field, " may not contain control characters"));
    }
  }
  return absl::OkStatus();
}

}  // namespace kura
