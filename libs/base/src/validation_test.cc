#include "kura/base/validation.h"

#include <catch2/catch.hpp>

#include "kura/base/error.h"

namespace kura {
namespace {

TEST_CASE("Barcodes with correct GS1 check digits are accepted") {
  // Published examples: a JAN (EAN-13), an EAN-8 and a UPC-A.
  for (const char* code : {"4901234567894", "96385074", "036000291452", "4902102072618"}) {
    INFO(code);
    REQUIRE(ValidateBarcode("barcode", code).ok());
  }
}

TEST_CASE("Barcodes with a wrong check digit, length or character are refused") {
  absl::Status wrong = ValidateBarcode("barcode", "4901234567890");
  REQUIRE(wrong.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(ErrorReason(wrong) == "INVALID_BARCODE");
  REQUIRE(std::string(wrong.message()).find("expected 4") != std::string::npos);
  for (const char* code : {"", "1234567", "12345678901234", "49012345678A4", "9638507 "}) {
    INFO(code);
    REQUIRE(ErrorReason(ValidateBarcode("barcode", code)) == "INVALID_BARCODE");
  }
}

TEST_CASE("Identifiers and quantities are checked") {
  REQUIRE(ValidateSku("sku", "TEE-NAVY-M/2026.1_a").ok());
  REQUIRE_FALSE(ValidateSku("sku", "").ok());
  REQUIRE_FALSE(ValidateSku("sku", "has space").ok());
  REQUIRE_FALSE(ValidateSku("sku", std::string(65, 'A')).ok());
  REQUIRE(ValidateCode("location", "shibuya-1").ok());
  REQUIRE_FALSE(ValidateCode("location", "Shibuya").ok());
  REQUIRE_FALSE(ValidateCode("location", "@customer").ok());
  REQUIRE(ValidateRequestId("order:123.4-a_b").ok());
  REQUIRE_FALSE(ValidateRequestId(std::string(129, 'x')).ok());
  REQUIRE(ValidateQuantity("quantity", 1).ok());
  REQUIRE(ValidateQuantity("quantity", kMaxQuantity).ok());
  for (int64_t bad : {int64_t{0}, int64_t{-1}, kMaxQuantity + 1, INT64_MAX, INT64_MIN}) {
    INFO(bad);
    absl::Status s = ValidateQuantity("quantity", bad);
    REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
    REQUIRE(ErrorMetadata(s).at("field") == "quantity");
  }
}

}  // namespace
}  // namespace kura
