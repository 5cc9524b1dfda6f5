#include "gantry/pipelines/results.hpp"

#include <catch2/catch.hpp>

using namespace gantry::pipelines;

namespace {

constexpr Result S = Result::Success;
constexpr Result U = Result::Unstable;
constexpr Result F = Result::Failure;
constexpr Result N = Result::NotBuilt;
constexpr Result A = Result::Aborted;

}  // namespace

TEST_CASE("result names round-trip and unknown names are refused", "[results]") {
  for (Result r : {S, U, F, N, A}) CHECK(parse_result(result_name(r)) == r);
  CHECK(std::string(result_name(N)) == "NOT_BUILT");
  CHECK_FALSE(parse_result("success"));
  CHECK_FALSE(parse_result(""));
  CHECK_FALSE(parse_result("FAILED"));
}

TEST_CASE("worse follows Jenkins' order", "[results]") {
  CHECK(worse(S, U) == U);
  CHECK(worse(F, U) == F);
  CHECK(worse(F, N) == N);
  CHECK(worse(A, F) == A);
  CHECK(worse(S, S) == S);
}

TEST_CASE("post_applies truth table", "[results]") {
  using C = PostCondition;
  struct Row {
    C condition;
    Result current;
    std::optional<Result> previous;
    bool runs;
  };
  const Row rows[] = {
      {C::Always, S, std::nullopt, true},
      {C::Always, A, S, true},
      {C::Cleanup, F, std::nullopt, true},
      {C::Changed, S, std::nullopt, false},
      {C::Changed, S, S, false},
      {C::Changed, F, S, true},
      {C::Changed, S, U, true},
      {C::Fixed, S, F, true},
      {C::Fixed, S, U, true},
      {C::Fixed, S, A, false},
      {C::Fixed, S, S, false},
      {C::Fixed, U, F, false},
      {C::Fixed, S, std::nullopt, false},
      {C::Regression, F, S, true},
      {C::Regression, U, S, true},
      {C::Regression, A, S, true},
      {C::Regression, N, S, false},
      {C::Regression, F, F, false},
      {C::Regression, F, std::nullopt, false},
      {C::Aborted, A, std::nullopt, true},
      {C::Aborted, F, std::nullopt, false},
      {C::Success, S, F, true},
      {C::Success, U, std::nullopt, false},
      {C::Unsuccessful, U, std::nullopt, true},
      {C::Unsuccessful, A, std::nullopt, true},
      {C::Unsuccessful, S, F, false},
      {C::Unstable, U, std::nullopt, true},
      {C::Unstable, F, std::nullopt, false},
      {C::Failure, F, std::nullopt, true},
      {C::Failure, A, std::nullopt, false},
      {C::NotBuilt, N, std::nullopt, true},
      {C::NotBuilt, S, std::nullopt, false},
  };
  for (const Row& r : rows) {
    INFO(post_condition_name(r.condition) << " current=" << result_name(r.current) << " previous="
                                          << (r.previous ? result_name(*r.previous) : "none"));
    CHECK(post_applies(r.condition, r.current, r.previous) == r.runs);
  }
}
