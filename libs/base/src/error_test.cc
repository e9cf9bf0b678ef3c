#include "kura/base/error.h"

#include <catch2/catch.hpp>

#include "kura/base/status_macros.h"

namespace kura {
namespace {

TEST_CASE("MakeError carries reason and metadata") {
  absl::Status s = MakeError(absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_STOCK",
                             "only 2 left", {{"sku", "A-1"}, {"available", "2"}});
  REQUIRE(s.code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(s.message() == "only 2 left");
  REQUIRE(ErrorReason(s) == "INSUFFICIENT_STOCK");
  REQUIRE(ErrorMetadata(s) ==
          std::map<std::string, std::string>{{"available", "2"}, {"sku", "A-1"}});
  REQUIRE(ErrorDomain(s).empty());
}

TEST_CASE("A plain status has no reason") {
  REQUIRE(ErrorReason(absl::InternalError("x")).empty());
  REQUIRE(ErrorMetadata(absl::OkStatus()).empty());
}

absl::StatusOr<int> Half(int v) {
  if (v % 2 != 0) return InvalidArgument("value", "odd");
  return v / 2;
}

absl::StatusOr<int> Quarter(int v) {
  ASSIGN_OR_RETURN(int half, Half(v));
  ASSIGN_OR_RETURN(half, Half(half));
  return half;
}

absl::Status CheckEven(int v) {
  RETURN_IF_ERROR(Half(v).status());
  return absl::OkStatus();
}

TEST_CASE("RETURN_IF_ERROR and ASSIGN_OR_RETURN propagate the first error") {
  REQUIRE(*Quarter(8) == 2);
  absl::StatusOr<int> odd = Quarter(6);
  REQUIRE(odd.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(ErrorMetadata(odd.status()).at("field") == "value");
  REQUIRE(CheckEven(4).ok());
  REQUIRE(ErrorReason(CheckEven(3)) == "INVALID_ARGUMENT");
}

}  // namespace
}  // namespace kura
