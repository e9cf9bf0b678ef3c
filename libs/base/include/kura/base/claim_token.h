#pragma once

#include <random>
#include <string>

#include "absl/strings/str_cat.h"

namespace kura {

/// A new claim's token: 128 random bits in hex, unique among the claims of every replica.
inline std::string NewClaimToken() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrCat(absl::Hex(random(), absl::kZeroPad16), absl::Hex(random(), absl::kZeroPad16));
}

}  // namespace kura
