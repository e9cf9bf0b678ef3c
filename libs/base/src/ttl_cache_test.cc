#include "kura/base/ttl_cache.h"

#include <catch2/catch.hpp>
#include <string>

namespace kura {
namespace {

TEST_CASE("TtlCache answers from the cache while an entry lives, and loads again after") {
  ManualClock clock(absl::FromUnixSeconds(1000));
  TtlCache<std::string, int> cache(clock, absl::Seconds(1), 2);
  int loads = 0;
  auto load = [&]() -> absl::StatusOr<int> { return ++loads; };
  REQUIRE(*cache.Get("a", load) == 1);
  REQUIRE(*cache.Get("a", load) == 1);  // cached
  clock.Advance(absl::Milliseconds(999));
  REQUIRE(*cache.Get("a", load) == 1);
  clock.Advance(absl::Milliseconds(1));
  REQUIRE(*cache.Get("a", load) == 2);  // expired: loaded again
  // A failed load is answered and not kept.
  auto failing = []() -> absl::StatusOr<int> { return absl::UnavailableError("down"); };
  REQUIRE(absl::IsUnavailable(cache.Get("b", failing).status()));
  REQUIRE(*cache.Get("b", load) == 3);
  // Full (2 entries, both alive): a new key clears the rest rather than grow without bound.
  REQUIRE(*cache.Get("c", load) == 4);
  REQUIRE(*cache.Get("a", load) == 5);
  cache.Forget("a");
  REQUIRE(*cache.Get("a", load) == 6);
}

}  // namespace
}  // namespace kura
