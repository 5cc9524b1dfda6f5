// The Mann-Whitney U test against values computed independently: a Python
// script that counts U pair by pair (ties 1/2), takes the tie correction from
// the tie groups' sizes and the one-sided p from the normal approximation
// with continuity correction (math.erfc) — not the ranking method of
// mann_whitney.cpp. Its outputs are the constants below.
#include "runner/mann_whitney.hpp"

#include <catch2/catch.hpp>

using gantry::agent::mann_whitney_greater;
using gantry::agent::median;

TEST_CASE("Mann-Whitney U, z and one-sided p match an independent computation", "[mann_whitney]") {
  struct Case {
    std::vector<double> baseline, canary;
    double u, z, p;
  };
  for (const Case& c : std::vector<Case>{
           {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
            {6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
            87.5,
            2.8022093709233373,
            0.002537696157636963},
           {{10, 10, 11, 12, 12, 12, 13, 14},
            {12, 12, 13, 13, 14, 15, 15, 16, 17},
            61.5,
            2.446440787142922,
            0.00721372469070231},
           {{5, 3, 8, 1, 9, 2}, {4, 6, 7, 10}, 17.0, 0.9594032236002469, 0.16867782588818078},
       }) {
    auto mw = mann_whitney_greater(c.baseline, c.canary);
    REQUIRE(mw.valid);
    CHECK(mw.u == Approx(c.u).epsilon(1e-12));
    CHECK(mw.z == Approx(c.z).epsilon(1e-9));
    CHECK(mw.p == Approx(c.p).epsilon(1e-9));
  }
}

TEST_CASE("Mann-Whitney: empty or constant samples give no verdict", "[mann_whitney]") {
  CHECK_FALSE(mann_whitney_greater({}, {1, 2}).valid);
  CHECK_FALSE(mann_whitney_greater({3, 3, 3}, {3, 3}).valid);
  CHECK(median({}) == 0);
  CHECK(median({5, 1, 3}) == 3);
  CHECK(median({4, 1, 3, 2}) == 2.5);
}
