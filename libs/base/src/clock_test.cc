#include "kura/base/clock.h"

#include <catch2/catch.hpp>

namespace kura {
namespace {

TEST_CASE("ManualClock moves only when told") {
  ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  REQUIRE(clock.Now() == absl::FromUnixSeconds(1'700'000'000));
  clock.Advance(absl::Seconds(90));
  REQUIRE(clock.Now() == absl::FromUnixSeconds(1'700'000'090));
  clock.Set(absl::FromUnixSeconds(5));
  REQUIRE(clock.Now() == absl::FromUnixSeconds(5));
}

TEST_CASE("RealClock follows the system clock") {
  absl::Time before = absl::Now();
  absl::Time now = RealClock::Instance().Now();
  REQUIRE(now >= before);
  REQUIRE(now - before < absl::Seconds(5));
}

}  // namespace
}  // namespace kura
